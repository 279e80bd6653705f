"""Viewport, scrollbars and ScrolledArea on the native screen buffer."""
from __future__ import annotations

import pytest

from conch.insults.window_harness import DOWN, LEFT, RIGHT, UP, Harness
from plait.conch.insults.terminal import RED
from plait.conch.insults.window import (
    HorizontalScrollbar,
    ScrolledArea,
    TextOutputArea,
    VerticalScrollbar,
    Viewport,
    Widget,
)


def content(rows: int = 8) -> TextOutputArea:
    """20x``rows``: line n is "na nb nc ... nj" without spaces, so any window onto it
    shows which line and column it starts at."""
    area = TextOutputArea(size=(20, rows), long_lines=TextOutputArea.TRUNCATE)
    area.set_text("\n".join("".join(f"{n}{c}" for c in "abcdefghij") for n in range(rows)))
    return area


def single(widget: Widget, width: int, height: int) -> Harness:
    return Harness(lambda window: window.add_child(widget), width, height)


def test_viewport_shows_the_part_at_its_offsets() -> None:
    viewport = Viewport(content())
    harness = single(viewport, 6, 3)
    assert harness.screen() == ["0a0b0c", "1a1b1c", "2a2b2c"]
    viewport.x_offset = 4
    viewport.y_offset = 5
    assert harness.screen() == ["5c5d5e", "6c6d6e", "7c7d7e"]
    viewport.y_offset = 7  # past the end: blank below
    assert harness.screen() == ["7c7d7e", "", ""]


def test_viewport_uses_its_content_size_when_the_widget_has_no_hint() -> None:
    area = TextOutputArea()
    area.set_text("x" * 50)
    viewport = Viewport(area, content_size=(30, 2))
    assert viewport.content_extent() == (30, 2)
    harness = single(viewport, 40, 2)
    assert harness.screen() == ["x" * 30, "x" * 20]  # wrapped at the content width
    with pytest.raises(ValueError):
        Viewport(area, content_size=(0, 5))


def test_horizontal_scrollbar_draws_its_slider_and_reports_arrows() -> None:
    steps: list[int] = []

    def on_scroll(step: int) -> float:
        steps.append(step)
        return 0.5 if step > 0 else -3.0  # out of range: clamped to 0.0

    bar = HorizontalScrollbar(on_scroll)
    harness = single(bar, 8, 1)
    assert harness.screen() == ["\u25c0\u2593" + "\u2591" * 5 + "\u25b6"]
    harness.send(RIGHT)
    assert harness.screen() == ["\u25c0\u2591\u2591\u2593\u2591\u2591\u2591\u25b6"]
    harness.send(LEFT)
    assert bar.percent == 0.0
    assert steps == [1, -1]


def test_vertical_scrollbar_draws_its_slider_and_reports_arrows() -> None:
    bar = VerticalScrollbar(lambda step: 1.0 if step > 0 else 0.0)
    harness = single(bar, 1, 5)
    assert harness.screen() == ["\u25b2", "\u2593", "\u2591", "\u2591", "\u25bc"]
    harness.send(DOWN)
    assert harness.screen() == ["\u25b2", "\u2591", "\u2591", "\u2593", "\u25bc"]
    harness.send(UP)
    assert bar.percent == 0.0


def frame_top(width: int) -> str:
    return " " + "\u2500" * (width - 2) + "\u25b2"


def test_scrolled_area_scrolls_with_the_arrows_and_moves_its_scrollbars() -> None:
    area = ScrolledArea(content())
    harness = single(area, 12, 6)
    bar, slider, light = "\u2502", "\u2593", "\u2591"
    assert harness.screen() == [
        frame_top(12),
        bar + "0a0b0c0d0e" + slider,
        bar + "1a1b1c1d1e" + light,
        bar + "2a2b2c2d2e" + light,
        bar + "3a3b3c3d3e" + "\u25bc",
        "\u25c0" + slider + light * 9 + "\u25b6",
    ]
    assert harness.buffer.cell(1, 0).fg == RED  # focused

    harness.send(DOWN * 2 + RIGHT * 3)
    assert harness.screen() == [
        frame_top(12),
        bar + "b2c2d2e2f2" + light,
        bar + "b3c3d3e3f3" + slider,
        bar + "b4c4d4e4f4" + light,
        bar + "b5c5d5e5f5" + "\u25bc",
        "\u25c0" + light * 2 + slider + light * 7 + "\u25b6",
    ]

    harness.send(DOWN * 10 + LEFT * 10)  # clamped at the ends
    screen = harness.screen()
    assert screen[1:5] == [bar + "4a4b4c4d4e" + light, bar + "5a5b5c5d5e" + light,
                           bar + "6a6b6c6d6e" + slider, bar + "7a7b7c7d7e" + "\u25bc"]
    assert (area.viewport.x_offset, area.viewport.y_offset) == (0, 4)


def test_scrolled_area_with_content_that_fits_does_not_scroll() -> None:
    area = ScrolledArea(content(rows=2))
    harness = single(area, 30, 6)
    harness.screen()
    harness.send(DOWN + RIGHT)
    harness.screen()
    assert (area.viewport.x_offset, area.viewport.y_offset) == (0, 0)
    assert area.vertical.percent == 0.0


def test_scrolled_area_relayouts_on_resize() -> None:
    area = ScrolledArea(content())
    harness = single(area, 12, 6)
    harness.screen()
    harness.resize(8, 4)
    assert harness.screen() == [
        frame_top(8),
        "\u25020a0b0c\u2593",
        "\u25021a1b1c\u25bc",
        "\u25c0\u2593" + "\u2591" * 5 + "\u25b6",
    ]
