"""Tests for plait.vertex.authorize: allow-list patterns, matching and the file."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from plait.vertex.authorize import AllowList, check_pattern


@pytest.mark.parametrize(
    ("text", "normal"),
    [("bob@Example.TEST", "bob@example.test"), ("*@example.test", "*@example.test"),
     ("example.test", "*@example.test"), ("  bob@x.test ", "bob@x.test")],
)
def test_patterns(text: str, normal: str) -> None:
    assert check_pattern(text) == normal


@pytest.mark.parametrize("bad", ["", "bob@", "@", "b*b@x.test", "bob@x/y", "a b@x", "*", "a@*"])
def test_bad_patterns(bad: str) -> None:
    with pytest.raises(ValueError, match="bad peer pattern"):
        check_pattern(bad)


def test_open_until_the_first_entry(tmp_path: Path) -> None:
    allow = AllowList(tmp_path)
    assert allow.allows("alice@example.test", "mallory@evil.test")
    assert allow.add("alice@example.test", "bob@example.test")
    assert not allow.add("alice@example.test", "bob@EXAMPLE.test")  # already there
    assert allow.allows("alice@example.test", "bob@example.test/laptop")
    assert not allow.allows("alice@example.test", "carol@example.test")
    assert not allow.allows("alice@example.test", "mallory@evil.test")
    assert allow.allows("carol@example.test", "mallory@evil.test")  # another address: open
    assert allow.add("alice@example.test", "other.test")
    assert allow.allows("alice@example.test", "anyone@other.test")
    assert allow.entries("alice@example.test") == ["bob@example.test", "*@other.test"]
    assert allow.remove("alice@example.test", "bob@example.test")
    assert not allow.remove("alice@example.test", "bob@example.test")
    assert allow.remove("alice@example.test", "*@other.test")
    assert allow.allows("alice@example.test", "mallory@evil.test")
    mode = stat.S_IMODE((tmp_path / "authorized.json").stat().st_mode)
    assert mode == 0o600
    assert json.loads((tmp_path / "authorized.json").read_text()) == {}


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "authorized.json").write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        AllowList(tmp_path).entries("a@b.test")
    (tmp_path / "authorized.json").write_text('{"a@b.test": "x"}')
    with pytest.raises(ValueError, match="does not hold allow lists"):
        AllowList(tmp_path).entries("a@b.test")


def test_local_address_must_be_a_user(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a user@domain"):
        AllowList(tmp_path).add("example.test", "bob@example.test")
