"""plait.core.files: atomic, durable, private writes."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from plait.core.files import write_file_atomically


def test_writes_with_the_mode_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "key"
    write_file_atomically(path, b"one")
    assert path.read_bytes() == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_file_atomically(path, b"two" * 100_000, 0o644)
    assert path.read_bytes() == b"two" * 100_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["key"]          # no temporary file left


def test_no_overwrite_keeps_the_first(tmp_path: Path) -> None:
    path = tmp_path / "host_key"
    write_file_atomically(path, b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        write_file_atomically(path, b"second", overwrite=False)
    assert path.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["host_key"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_file_atomically(tmp_path / "missing-dir" / "f", b"x")
    assert os.listdir(tmp_path) == []
