"""Client keepalives, as OpenSSH's ServerAliveInterval / ServerAliveCountMax: when nothing
has come from the server for ``interval`` seconds, send keepalive@openssh.com (wanting a
reply); any packet from the server resets the count; once more than ``count_max`` probes
went unanswered in a row, the server is taken for gone and the connection is dropped.

Sans-IO: the caller passes ``now`` and keeps one timer at :meth:`get_timer`. A dead
network gives no error for a long time (TCP retransmits for many minutes); this notices it
within about ``interval * (count_max + 1)`` seconds.
"""
from __future__ import annotations

import enum

__all__ = ["Keepalive", "KeepaliveAction"]


class KeepaliveAction(enum.Enum):
    PROBE = "probe"         # send keepalive@openssh.com with want_reply
    TIMEOUT = "timeout"     # the server did not answer: disconnect


class Keepalive:
    """The ServerAlive state of one connection (``interval`` > 0, ``count_max`` >= 0)."""

    def __init__(self, interval: float, count_max: int = 3) -> None:
        if not interval > 0:
            raise ValueError("keepalive interval must be positive")
        if count_max < 0:
            raise ValueError("keepalive count_max must be 0 or more")
        self.interval = float(interval)
        self.count_max = count_max
        self.unanswered = 0        # probes sent since the server was last heard from
        self.probes_sent = 0       # in all
        self._deadline: float | None = None

    def start(self, now: float) -> None:
        """Begin watching (after authentication, as OpenSSH's client loop does)."""
        self._deadline = now + self.interval

    def stop(self) -> None:
        self._deadline = None

    def received(self, now: float) -> None:
        """Something came from the server: it is alive."""
        self.unanswered = 0
        if self._deadline is not None:
            self._deadline = now + self.interval

    def get_timer(self) -> float | None:
        return self._deadline

    def handle_timer(self, now: float) -> KeepaliveAction | None:
        """What to do at ``now``: probe again, give up, or nothing (not due yet)."""
        if self._deadline is None or now < self._deadline:
            return None
        if self.unanswered >= self.count_max:
            self._deadline = None
            return KeepaliveAction.TIMEOUT
        self.unanswered += 1
        self.probes_sent += 1
        self._deadline = now + self.interval
        return KeepaliveAction.PROBE
