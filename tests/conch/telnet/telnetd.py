"""inetutils telnetd as a peer: a private acceptor that runs ``telnetd -E PROGRAM`` per client.

telnetd is an inetd-style server (the connection is its stdin/stdout), so the acceptor
listens on 127.0.0.1 at a free port, and for every connection it accepts starts telnetd in
its own session with the socket as stdin/stdout and ``--exec-login`` pointing at a test
program (no real login, no user needed). ``stop()`` ends every telnetd it started, by PID
(SIGTERM, then SIGKILL to the process group). A missing binary fails loudly (``make peers``).
"""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

TELNETD = "/usr/sbin/telnetd"
HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0
MAX_CLIENTS = 16
ACCEPT_POLL = 0.1

#: The default program: report the terminal, then echo lines ("size" prints the size again).
SHELL_PROGRAM = """#!/bin/sh
trap 'echo INTERRUPTED; interrupted=1' INT
echo "TERM=$TERM SIZE=$(stty size)"
while :; do
  interrupted=
  if ! IFS= read -r line; then
    [ -n "$interrupted" ] && continue
    exit 0
  fi
  case "$line" in
    size) echo "SIZE=$(stty size)" ;;
    exit) exit 0 ;;
    *) echo "got:$line" ;;
  esac
done
"""


class Telnetd:
    """``with Telnetd() as d: ... d.port``: telnetd behind a private acceptor."""

    def __init__(self, program: str = SHELL_PROGRAM) -> None:
        if not os.access(TELNETD, os.X_OK):
            raise RuntimeError(f"{TELNETD} is missing: run `make peers` (Debian telnetd)")
        self._dir = tempfile.TemporaryDirectory(prefix="plait-telnetd-")
        self.program = Path(self._dir.name) / "program"
        self.program.write_text(program)
        self.program.chmod(0o755)
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(MAX_CLIENTS)
        self.port: int = self._sock.getsockname()[1]
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set() and len(self.processes) < MAX_CLIENTS:
            ready, _, _ = select.select([self._sock], [], [], ACCEPT_POLL)
            if not ready:
                continue
            conn, _ = self._sock.accept()
            with conn:
                self.processes.append(subprocess.Popen(
                    [TELNETD, "--no-hostinfo", f"--exec-login={self.program}"],
                    stdin=conn, stdout=conn, stderr=subprocess.DEVNULL,
                    start_new_session=True))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(STOP_TIMEOUT)
        self._sock.close()
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT)
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
