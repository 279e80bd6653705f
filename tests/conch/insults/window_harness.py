"""Drive a widget tree the way a remote user would, and look at the resulting screen.

Keys go in as bytes through ``ServerProtocol`` (native ``KeyParser``), the tree paints
through ``ServerProtocol``'s escape sequences, and those bytes are parsed by the native
``TerminalParser`` into a ``TerminalBuffer``: the screen a real terminal would show.
"""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.insults.server import ServerProtocol
from plait.conch.insults.window import TopWindow, WindowProtocol

MAX_PAINT_ROUNDS = 100
TMUX_SECONDS = 20.0


class Wire:
    """A transport that keeps what was written."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.data = bytes(self.data), bytearray()
        return data


class CallRecorder:
    """A terminal that records every call ``TerminalParser`` makes on it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def text(self) -> str:
        return "".join(args[0] for name, args in self.calls if name == "write")


def recorded(data: bytes) -> CallRecorder:
    """What a terminal is told to do by ``data``."""
    recorder = CallRecorder()
    TerminalParser(recorder).feed(data)
    return recorder


class Harness(WindowProtocol):
    """A ``WindowProtocol`` on an in-memory terminal of ``width`` x ``height``."""

    def __init__(self, build: Callable[[TopWindow], object], width: int = 40,
                 height: int = 10, **options: Any) -> None:
        self.scheduled: list[Callable[[], None]] = []
        super().__init__(self.scheduled.append, **options)
        self._build = build
        self.wire = Wire()
        self.buffer = TerminalBuffer(width, height)
        self.parser = TerminalParser(self.buffer)
        self.server = ServerProtocol(lambda: self)
        self.server.terminal_size(width, height)
        self.server.make_connection(self.wire)
        self.last_output = b""

    def build(self, window: TopWindow) -> None:
        self._build(window)

    def settle(self) -> bytes:
        """Run the scheduled paints; feed what they wrote to the screen; return it."""
        for _ in range(MAX_PAINT_ROUNDS):
            if not self.scheduled:
                break
            pending, self.scheduled[:] = list(self.scheduled), []
            for callback in pending:
                callback()
        else:
            raise AssertionError("painting never settles")
        self.last_output = self.wire.take()
        self.parser.feed(self.last_output)
        return self.last_output

    def screen(self) -> list[str]:
        self.settle()
        return str(self.buffer).split("\n")

    def send(self, data: bytes | str) -> None:
        """Bytes from the user's keyboard."""
        self.server.data_received(data.encode() if isinstance(data, str) else data)

    def resize(self, width: int, height: int) -> None:
        self.buffer.resize(width, height)
        self.server.terminal_size(width, height)


# Keys as a terminal sends them (normal cursor-key mode).
UP = b"\x1b[A"
DOWN = b"\x1b[B"
RIGHT = b"\x1b[C"
LEFT = b"\x1b[D"
HOME = b"\x1b[H"
END = b"\x1b[F"
DELETE = b"\x1b[3~"
PGUP = b"\x1b[5~"
PGDN = b"\x1b[6~"
TAB = b"\t"
SHIFT_TAB = b"\x1b[Z"
ENTER = b"\r"
BACKSPACE = b"\x7f"


def tmux_screen(data: bytes, width: int, height: int, workdir: Path) -> tuple[list[str], tuple[int, int]]:
    """What a real terminal (a private tmux server) shows after ``data``: the pane's text
    (``capture-pane -p``, so DEC line drawing shows as its letters) and cursor."""
    name = f"plait-window-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    conf = workdir / "tmux.conf"
    conf.write_text("set -g status off\n")
    stream = workdir / f"{name}.bin"
    stream.write_bytes(data)
    done = f"done-{name}"
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-u", "-L", name, "-f", str(conf), *args], env=env,
                              capture_output=True, text=True, timeout=30, check=True).stdout

    # the title is set after the data, so once tmux shows it every byte has been processed
    tmux("new-session", "-d", "-x", str(width), "-y", str(height),
         f"stty raw -echo; cat {stream}; printf '\\033]2;{done}\\033\\\\'; exec sleep 600")
    try:
        deadline = time.monotonic() + TMUX_SECONDS
        while tmux("display", "-p", "#{pane_title}").strip() != done:
            if time.monotonic() > deadline:
                raise TimeoutError("tmux did not take the data in time")
            time.sleep(0.01)
        x, y = tmux("display", "-p", "#{cursor_x} #{cursor_y}").split()
        lines = tmux("capture-pane", "-p").split("\n")[:height]
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=30,
                       check=False)
    return [line.rstrip() for line in lines], (int(x), int(y))
