"""Transfer progress: a bar with rate and ETA for long `vertex` transfers.

The bar is written to a text stream (stderr in the CLI) only when that stream is a tty or the
user asked for it, so scripts and logs stay clean.  The clock and the stream are parameters so
tests can drive it without a terminal and without sleeping.
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol, TextIO

__all__ = [
    "NullProgress",
    "Progress",
    "ProgressBar",
    "format_duration",
    "format_size",
    "make_progress",
]

#: Seconds of history the rate is averaged over (a moving window, so it follows changes).
RATE_WINDOW = 5.0
#: Minimum seconds between two redraws (a redraw per chunk would cost more than the transfer).
REDRAW_INTERVAL = 0.1
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


class Progress(Protocol):
    """What a transfer reports to: the total once, the bytes done as they grow, then the end."""

    def start(self, total: int, label: str = "") -> None: ...

    def update(self, done: int) -> None: ...

    def finish(self, ok: bool = True) -> None: ...


class NullProgress:
    """Reports nothing (not a tty and not asked for)."""

    def start(self, total: int, label: str = "") -> None:
        pass

    def update(self, done: int) -> None:
        pass

    def finish(self, ok: bool = True) -> None:
        pass


def format_size(n: float) -> str:
    """Bytes in binary units with one decimal, e.g. ``12.5 MiB``."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024.0 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024.0
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float | None) -> str:
    """``M:SS`` or ``H:MM:SS``; ``--:--`` when unknown."""
    if seconds is None or math.isnan(seconds) or seconds < 0 or seconds > 99 * 3600:
        return "--:--"
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class ProgressBar:
    """A one-line bar redrawn in place with carriage returns: percent, sizes, rate, ETA."""

    def __init__(
        self,
        stream: TextIO,
        *,
        width: int = 30,
        clock: Callable[[], float] = time.monotonic,
        interval: float = REDRAW_INTERVAL,
    ) -> None:
        self.stream = stream
        self.width = max(5, width)
        self.clock = clock
        self.interval = interval
        self.total = 0
        self.done = 0
        self.label = ""
        self._started = 0.0
        self._last_draw: float | None = None
        self._samples: deque[tuple[float, int]] = deque()
        self._line_len = 0

    def start(self, total: int, label: str = "") -> None:
        self.total = max(0, total)
        self.label = label
        self.done = 0
        self._started = self.clock()
        self._samples.clear()
        self._samples.append((self._started, 0))
        self._last_draw = None
        self._draw(self._started)

    def update(self, done: int) -> None:
        now = self.clock()
        self.done = done
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        if self._last_draw is None or now - self._last_draw >= self.interval:
            self._draw(now)

    def finish(self, ok: bool = True) -> None:
        now = self.clock()
        self._draw(now, final=True, ok=ok)
        self.stream.write("\n")
        self.stream.flush()

    def rate(self, now: float | None = None) -> float | None:
        """Bytes per second over the recent window, None before there is any time elapsed."""
        if len(self._samples) < 2:
            return None
        t0, b0 = self._samples[0]
        t1, b1 = self._samples[-1]
        if t1 - t0 <= 0:
            return None
        return (b1 - b0) / (t1 - t0)

    def eta(self) -> float | None:
        """Seconds left at the current rate, None when unknown."""
        rate = self.rate()
        if not rate or rate <= 0:
            return None
        return max(0, self.total - self.done) / rate

    def render(self, final: bool = False, now: float | None = None) -> str:
        """The text of the line (without the carriage return)."""
        total = self.total
        fraction = 1.0 if total == 0 else min(1.0, self.done / total)
        filled = int(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        head = f"{self.label} " if self.label else ""
        sizes = f"{format_size(self.done)}/{format_size(total)}"
        if final:
            elapsed = (now if now is not None else self.clock()) - self._started
            avg = self.done / elapsed if elapsed > 0 else None
            speed = f"{format_size(avg)}/s" if avg is not None else "-- B/s"
            tail = f"in {format_duration(elapsed)}"
        else:
            rate = self.rate()
            speed = f"{format_size(rate)}/s" if rate is not None else "-- B/s"
            tail = f"ETA {format_duration(self.eta())}"
        return f"{head}{fraction * 100:3.0f}% [{bar}] {sizes} {speed} {tail}"

    def _draw(self, now: float, final: bool = False, ok: bool = True) -> None:
        self._last_draw = now
        line = self.render(final=final, now=now)
        if final and not ok:
            line += " (failed)"
        pad = " " * max(0, self._line_len - len(line))
        self._line_len = len(line)
        self.stream.write("\r" + line + pad)
        self.stream.flush()


def make_progress(mode: str = "auto", stream: TextIO | None = None) -> Progress:
    """The CLI's choice: ``always``, ``never``, or ``auto`` (a bar only when stream is a tty)."""
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"progress mode must be auto, always or never, not {mode!r}")
    out = stream if stream is not None else sys.stderr
    if mode == "never":
        return NullProgress()
    if mode == "always":
        return ProgressBar(out)
    isatty = getattr(out, "isatty", None)
    return ProgressBar(out) if isatty is not None and isatty() else NullProgress()
