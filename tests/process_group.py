"""Stopping a peer daemon the tests started, with whatever it forked.

Why shared: sshd, dropbear and nsd fork children into the process group of the daemon the
test started (its own session); SIGTERM asks it to stop, SIGKILL to the group makes sure
nothing of it outlives the test.
"""
from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM ``proc``, wait up to ``timeout``, then SIGKILL its whole group and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(timeout)
