"""Start and stop a real `plait serve` process for tests."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STARTUP_TIMEOUT = 30.0


def plait(*args: str, data: Path | None = None, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run the `plait` command line and capture its output."""
    argv = [sys.executable, "-m", "plait.cli", *args]
    if data is not None:
        argv += ["--data", str(data)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


class ServerProcess:
    """`plait serve` in a subprocess, its banner read, its AMP port known."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.data = data
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plait.cli", "serve", "--data", str(data),
             "--listen", "amp=tcp:0:interface=127.0.0.1",
             "--listen", "dns=tcp:0:interface=127.0.0.1",
             "--listen", "ssh=tcp:0:interface=127.0.0.1",
             "--listen", "q2q=tcp:0:interface=127.0.0.1",
             "--listen", "telnet=tcp:0:interface=127.0.0.1", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[str] = []
        self._banner_done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "plait stop" in line:
                self._banner_done.set()
        self._banner_done.set()

    def wait_ready(self) -> str:
        """The banner, once printed; fails with the server's stderr if it exits first."""
        if not self._banner_done.wait(STARTUP_TIMEOUT) or self.proc.poll() is not None:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"plait serve did not start: {err}")
        return "\n".join(self.lines)

    @property
    def amp_port(self) -> int:
        match = re.search(r"amp\s+tcp:127\.0\.0\.1:(\d+)", "\n".join(self.lines))
        assert match, self.lines
        return int(match.group(1))

    def port_of(self, service: str) -> int:
        """The TCP port the banner gives for ``service`` (ssh, telnet, ...)."""
        match = re.search(rf"{service}\s+tcp:127\.0\.0\.1:(\d+)", "\n".join(self.lines))
        assert match, self.lines
        return int(match.group(1))

    @property
    def q2q_port(self) -> int:
        match = re.search(r"q2q\s+tcp:127\.0\.0\.1:(\d+)", "\n".join(self.lines))
        assert match, self.lines
        return int(match.group(1))

    def signal(self, signum: int = signal.SIGTERM) -> None:
        os.kill(self.proc.pid, signum)

    def wait(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def ensure_stopped(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
