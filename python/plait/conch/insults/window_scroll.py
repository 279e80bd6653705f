"""Widgets that show part of something bigger: a viewport, scrollbars, a scrolled area."""
from __future__ import annotations

from collections.abc import Callable

from plait.conch.insults.keys import Modifier
from plait.conch.insults.terminal import FOREGROUND, NORMAL, RED
from plait.conch.insults.window_base import SizeHint, Widget
from plait.conch.insults.window_surface import Region, Surface
from plait.conch.insults.window_widgets import horizontal_line, vertical_line

__all__ = ["HorizontalScrollbar", "ScrolledArea", "VerticalScrollbar", "Viewport"]

# The largest off-screen area a viewport paints its widget into (cells per side).
MAX_CONTENT_SIZE = 4096


class Viewport(Widget):
    """Shows the part of ``containee`` starting at (``x_offset``, ``y_offset``).

    The containee is painted off screen at its size hint, or ``content_size`` (Twisted's
    160x24) in a dimension it leaves open.
    """

    def __init__(self, containee: Widget, content_size: tuple[int, int] = (160, 24)) -> None:
        width, height = content_size
        if not (0 < width <= MAX_CONTENT_SIZE and 0 < height <= MAX_CONTENT_SIZE):
            raise ValueError(f"content size must be 1..{MAX_CONTENT_SIZE} per side, "
                             f"got {width}x{height}")
        self.containee = containee
        containee.parent = self
        self.content_size = content_size
        self._x_offset = 0
        self._y_offset = 0

    @property
    def x_offset(self) -> int:
        return self._x_offset

    @x_offset.setter
    def x_offset(self, value: int) -> None:
        if value != self._x_offset:
            self._x_offset = value
            self.repaint()

    @property
    def y_offset(self) -> int:
        return self._y_offset

    @y_offset.setter
    def y_offset(self, value: int) -> None:
        if value != self._y_offset:
            self._y_offset = value
            self.repaint()

    def content_extent(self) -> tuple[int, int]:
        """The size the containee is painted at."""
        hint = self.containee.size_hint() or (None, None)
        width = self.content_size[0] if hint[0] is None else hint[0]
        height = self.content_size[1] if hint[1] is None else hint[1]
        return min(max(1, width), MAX_CONTENT_SIZE), min(max(1, height), MAX_CONTENT_SIZE)

    def filthy(self) -> None:
        self.containee.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, painter: Region) -> None:
        content_width, content_height = self.content_extent()
        content = Surface(content_width, content_height)
        self.containee.redraw(content_width, content_height, content.region())
        painter.blit(content, self._x_offset, self._y_offset)


class _Scrollbar(Widget):
    """A position from 0.0 to 1.0 that ``on_scroll(step)`` moves and reports."""

    def __init__(self, on_scroll: Callable[[int], float]) -> None:
        self.on_scroll = on_scroll
        self.percent = 0.0

    def _scroll(self, step: int) -> None:
        self.percent = min(1.0, max(0.0, self.on_scroll(step)))
        self.repaint()

    def smaller(self) -> None:
        self._scroll(-1)

    def bigger(self) -> None:
        self._scroll(+1)


class HorizontalScrollbar(_Scrollbar):
    """``◀░░▓░░▶``: Left/Right scroll."""

    LEFT = "\N{BLACK LEFT-POINTING TRIANGLE}"
    RIGHT = "\N{BLACK RIGHT-POINTING TRIANGLE}"
    BAR = "\N{LIGHT SHADE}"
    SLIDER = "\N{DARK SHADE}"

    def size_hint(self) -> SizeHint:
        return None, 1

    def func_left_arrow(self, modifier: Modifier) -> None:
        self.smaller()

    def func_right_arrow(self, modifier: Modifier) -> None:
        self.bigger()

    def render(self, width: int, height: int, painter: Region) -> None:
        if width < 3:
            return
        track = width - 3
        before = int(track * self.percent)
        painter.cursor_position(0, 0)
        painter.write(self.LEFT + self.BAR * before + self.SLIDER
                      + self.BAR * (track - before) + self.RIGHT)


class VerticalScrollbar(_Scrollbar):
    """``▲ ░ ▓ ░ ▼`` down a column: Up/Down scroll."""

    UP = "\N{BLACK UP-POINTING TRIANGLE}"
    DOWN = "\N{BLACK DOWN-POINTING TRIANGLE}"
    BAR = "\N{LIGHT SHADE}"
    SLIDER = "\N{DARK SHADE}"

    def size_hint(self) -> SizeHint:
        return 1, None

    def func_up_arrow(self, modifier: Modifier) -> None:
        self.smaller()

    def func_down_arrow(self, modifier: Modifier) -> None:
        self.bigger()

    def render(self, width: int, height: int, painter: Region) -> None:
        if height < 3:
            return
        knob = 1 + int(self.percent * (height - 3))
        for y in range(height):
            painter.cursor_position(0, y)
            if y == 0:
                painter.write(self.UP)
            elif y == height - 1:
                painter.write(self.DOWN)
            else:
                painter.write(self.SLIDER if y == knob else self.BAR)


class ScrolledArea(Widget):
    """``containee`` in a viewport with a frame line and scrollbars; arrows scroll it."""

    def __init__(self, containee: Widget, content_size: tuple[int, int] = (160, 24)) -> None:
        self.viewport = Viewport(containee, content_size)
        self.horizontal = HorizontalScrollbar(self._horizontal_scroll)
        self.vertical = VerticalScrollbar(self._vertical_scroll)
        for widget in (self.viewport, self.horizontal, self.vertical):
            widget.parent = self

    def _limits(self) -> tuple[int, int]:
        """The largest offsets that still fill the visible part."""
        content_width, content_height = self.viewport.content_extent()
        return (max(0, content_width - (self.viewport.width or 0)),
                max(0, content_height - (self.viewport.height or 0)))

    def _horizontal_scroll(self, step: int) -> float:
        limit = self._limits()[0]
        self.viewport.x_offset = max(0, min(limit, self.viewport.x_offset + step))
        return self.viewport.x_offset / limit if limit else 0.0

    def _vertical_scroll(self, step: int) -> float:
        limit = self._limits()[1]
        self.viewport.y_offset = max(0, min(limit, self.viewport.y_offset + step))
        return self.viewport.y_offset / limit if limit else 0.0

    def func_up_arrow(self, modifier: Modifier) -> None:
        self.vertical.smaller()

    def func_down_arrow(self, modifier: Modifier) -> None:
        self.vertical.bigger()

    def func_left_arrow(self, modifier: Modifier) -> None:
        self.horizontal.smaller()

    def func_right_arrow(self, modifier: Modifier) -> None:
        self.horizontal.bigger()

    def filthy(self) -> None:
        self.viewport.filthy()
        self.horizontal.filthy()
        self.vertical.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, painter: Region) -> None:
        if width < 3 or height < 3:
            return
        self.viewport.draw(width - 2, height - 2, painter.region(1, 1, width - 2, height - 2))
        if self.focused:
            painter.select_graphic_rendition(FOREGROUND + RED)
        horizontal_line(painter, 0, 1, width - 1)
        vertical_line(painter, 0, 1, height - 1)
        self.vertical.draw(1, height - 1, painter.region(width - 1, 0, 1, height - 1))
        self.horizontal.draw(width, 1, painter.region(0, height - 1, width, 1))
        painter.select_graphic_rendition(NORMAL)
