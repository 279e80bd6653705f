"""Tests for plait.vertex.progress: the bar's text, rate, ETA and when it is shown."""
from __future__ import annotations

import io

import pytest

from plait.vertex.progress import (
    NullProgress,
    ProgressBar,
    format_duration,
    format_size,
    make_progress,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_size() -> None:
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1024) == "1.0 KiB"
    assert format_size(5 * 1024 * 1024 + 512 * 1024) == "5.5 MiB"
    assert format_size(3 * 1024**4) == "3.0 TiB"
    assert format_size(2048 * 1024**4) == "2048.0 TiB"


def test_format_duration() -> None:
    assert format_duration(None) == "--:--"
    assert format_duration(-1) == "--:--"
    assert format_duration(float("nan")) == "--:--"
    assert format_duration(0) == "0:00"
    assert format_duration(65) == "1:05"
    assert format_duration(3600 + 62) == "1:01:02"
    assert format_duration(100 * 3600) == "--:--"


def test_bar_rate_and_eta() -> None:
    clock = FakeClock()
    out = io.StringIO()
    bar = ProgressBar(out, width=10, clock=clock, interval=0.0)
    bar.start(1000, "f.bin")
    assert out.getvalue().startswith("\rf.bin   0% [..........] 0 B/1000 B -- B/s ETA --:--")
    clock.now += 1.0
    bar.update(250)
    assert bar.rate() == 250.0
    assert bar.eta() == 3.0
    line = out.getvalue().rsplit("\r", 1)[1]
    assert line == "f.bin  25% [##........] 250 B/1000 B 250 B/s ETA 0:03"
    clock.now += 3.0
    bar.update(1000)
    bar.finish()
    final = out.getvalue().rsplit("\r", 1)[1]
    assert final.startswith("f.bin 100% [##########] 1000 B/1000 B 250 B/s in 0:04")
    assert final.endswith("\n")


def test_rate_follows_a_moving_window() -> None:
    clock = FakeClock()
    bar = ProgressBar(io.StringIO(), clock=clock, interval=0.0)
    bar.start(10**9)
    for i in range(1, 21):  # 1 kB/s for 20 s ...
        clock.now += 1.0
        bar.update(i * 1000)
    for i in range(1, 11):  # ... then 100 kB/s for 10 s: the window forgets the slow start
        clock.now += 1.0
        bar.update(20_000 + i * 100_000)
    rate = bar.rate()
    assert rate is not None and rate == pytest.approx(100_000, rel=0.01)


def test_redraws_are_throttled() -> None:
    clock = FakeClock()
    out = io.StringIO()
    bar = ProgressBar(out, clock=clock, interval=0.5)
    bar.start(100)
    for i in range(10):
        clock.now += 0.01
        bar.update(i)
    assert out.getvalue().count("\r") == 1  # only the start
    clock.now += 0.5
    bar.update(50)
    assert out.getvalue().count("\r") == 2


def test_shorter_line_erases_the_longer_one() -> None:
    clock = FakeClock()
    out = io.StringIO()
    bar = ProgressBar(out, clock=clock, interval=0.0)
    bar.start(10**12, "x" * 40)
    bar.label = ""
    clock.now += 1
    bar.update(1)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) >= len(first)


def test_failed_finish_says_so() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, clock=FakeClock())
    bar.start(10)
    bar.finish(ok=False)
    assert "(failed)" in out.getvalue()


def test_empty_file_is_complete() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, clock=FakeClock())
    bar.start(0)
    bar.finish()
    assert "100%" in out.getvalue()


def test_make_progress_modes() -> None:
    assert isinstance(make_progress("auto", io.StringIO()), NullProgress)
    assert isinstance(make_progress("auto", TtyStream()), ProgressBar)
    assert isinstance(make_progress("always", io.StringIO()), ProgressBar)
    assert isinstance(make_progress("never", TtyStream()), NullProgress)
    with pytest.raises(ValueError, match="auto, always or never"):
        make_progress("sometimes", io.StringIO())
