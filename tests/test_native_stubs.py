"""``python/plait/_native.pyi`` matches the built extension, and typed code can use it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / "mypy-cache"))
    return subprocess.run(
        [sys.executable, "-m", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_stubtest_passes(tmp_path: Path) -> None:
    result = _run(["mypy.stubtest", "plait._native"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stubs_type_check_typical_use(tmp_path: Path) -> None:
    sample = tmp_path / "use_native.py"
    sample.write_text(
        textwrap.dedent(
            """
            from plait._native import BoxDecoder, JuiceError, encode_box, encode_boxes

            decoder = BoxDecoder(max_box_size=1 << 20, max_keys=64)
            boxes: list[dict[bytes, bytes]] = decoder.feed(b"\\x00\\x00")
            boxes += decoder.feed(bytearray()) + decoder.feed(memoryview(b""))
            held: int = decoder.buffered
            wire: bytes = encode_box({"_command": "Sum", b"a": b"1"})
            wire += encode_boxes([{b"k": "v"}, {}])
            raw: dict[bytes, bytes] = {b"k": b"v"}
            text: dict[str, str] = {"k": "v"}
            wire += encode_box(raw) + encode_box(text) + encode_boxes([raw, raw])
            try:
                decoder.feed(wire)
            except JuiceError as err:
                lost: list[dict[bytes, bytes]] = err.boxes
            """
        )
    )
    ok = _run(["mypy", "--strict", "--no-incremental", str(sample)], tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    bad = tmp_path / "misuse_native.py"
    bad.write_text("from plait._native import BoxDecoder\nBoxDecoder().feed('text')\n")
    wrong = _run(["mypy", "--strict", "--no-incremental", str(bad)], tmp_path)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert 'incompatible type "str"' in wrong.stdout
