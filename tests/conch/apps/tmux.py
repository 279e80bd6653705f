"""A private tmux server running one client program (ssh -tt, telnet) for screen tests:
send keys, read the pane with capture-pane, resize the window, kill it all at the end."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Self

WAIT_SECONDS = 20.0


class Tmux:
    """``Tmux(command, width, height, workdir)``; always ``kill()`` (or use ``with``)."""

    def __init__(self, command: str, width: int, height: int, workdir: Path) -> None:
        self.name = f"plait-apps-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.conf = workdir / f"{self.name}.conf"
        self.conf.write_text("set -g status off\nset -g remain-on-exit on\n"
                             "set -g default-terminal xterm-256color\n")
        self.env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                  command)
        self.socket = Path(self.tmux("display", "-p", "#{socket_path}").strip())

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-u", "-L", self.name, "-f", str(self.conf), *args],
                              env=self.env, capture_output=True, text=True, timeout=30,
                              check=True).stdout

    def send(self, *keys: str, literal: bool = False) -> None:
        """``tmux send-keys``: key names (Enter, Up, C-a) or, with ``literal``, text."""
        self.tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def type(self, text: str) -> None:
        self.send(text, literal=True)

    def screen(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.name)

    def wait_for(self, check: str | Callable[[str], bool], timeout: float = WAIT_SECONDS,
                 escapes: bool = False) -> str:
        """Poll the pane until ``check`` (text it contains, or a predicate) holds."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(escapes)
            if (check in screen) if isinstance(check, str) else check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"pane never showed {check!r}; it shows:\n{screen}")
            time.sleep(0.05)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def pane_dead(self) -> bool:
        return self.tmux("display", "-p", "-t", self.name, "#{pane_dead}").strip() == "1"

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True,
                       timeout=30, check=False)
        self.socket.unlink(missing_ok=True)        # tmux leaves the socket file behind

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
