#!/usr/bin/env python3
"""Capture vttest's output through a pty, for the tmux oracle corpus.

    .venv/bin/python tests/conch/insults/corpus/capture_vttest.py MENU KEYS... -o NAME

runs ``vttest`` at 80x24 under a pty, types ``MENU`` + Return at the main menu, then each of
``KEYS`` (``\\r`` is Return) whenever vttest has gone quiet, and writes every byte vttest drew to
``NAME.bin`` and the offsets where it waited for a key (one screen each) to ``NAME.screens``.
Reports vttest asks for (cursor position, device attributes) are answered by a plait
``TerminalBuffer`` fed the same bytes, as a terminal would.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser

QUIET = 0.4          # seconds without output: vttest waits for a key
MAX_SECONDS = 120.0  # the whole run


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("keys", nargs="+", help="keys to type, one per screen ('\\r' is Return)")
    ap.add_argument("-o", "--output", required=True, help="output path without extension")
    args = ap.parse_args(argv)
    keys = [k.encode().decode("unicode_escape").encode("latin-1") for k in args.keys]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "vt100"
        os.execvp("vttest", ["vttest", "24x80.80"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    buf = TerminalBuffer(80, 24)
    parser = TerminalParser(buf)
    out = bytearray()
    screens: list[int] = []
    deadline = time.monotonic() + MAX_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], QUIET)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
                parser.feed(data)
                if reports := buf.take_reports():
                    os.write(fd, reports)
                continue
            if not keys:
                break
            screens.append(len(out))
            os.write(fd, keys.pop(0))
    finally:
        try:
            os.kill(pid, signal.SIGKILL)  # vttest catches SIGTERM
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    Path(args.output + ".bin").write_bytes(bytes(out))
    Path(args.output + ".screens").write_text("".join(f"{n}\n" for n in screens))
    print(f"{args.output}: {len(out)} bytes, {len(screens)} screens")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
