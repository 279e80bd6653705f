"""The leaf widgets: text in and out, buttons, selections, borders and canvases."""
from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

from plait.conch.insults.keys import Modifier
from plait.conch.insults.terminal import (
    BOLD,
    CS_DRAWING,
    CS_US,
    FOREGROUND,
    G0,
    NORMAL,
    RED,
    REVERSE_VIDEO,
)
from plait.conch.insults.window_base import Key, SizeHint, Widget, YieldFocus
from plait.conch.insults.window_surface import Region

__all__ = [
    "Border",
    "Button",
    "Canvas",
    "DrawableCanvas",
    "PasswordInput",
    "Selection",
    "TextInput",
    "TextOutput",
    "TextOutputArea",
    "draw_cursor",
    "horizontal_line",
    "rectangle",
    "vertical_line",
]

ENTER = "\r"


def horizontal_line(painter: Region, y: int, left: int, right: int) -> None:
    """A line of ``─`` on row ``y`` from column ``left`` up to (not including) ``right``."""
    painter.select_character_set(CS_DRAWING, G0)
    painter.cursor_position(left, y)
    painter.write("q" * max(0, right - left))
    painter.select_character_set(CS_US, G0)


def vertical_line(painter: Region, x: int, top: int, bottom: int) -> None:
    """A line of ``│`` in column ``x`` from row ``top`` up to (not including) ``bottom``."""
    painter.select_character_set(CS_DRAWING, G0)
    for y in range(top, bottom):
        painter.cursor_position(x, y)
        painter.write("x")
    painter.select_character_set(CS_US, G0)


def rectangle(painter: Region, position: tuple[int, int], size: tuple[int, int]) -> None:
    """A box with corners at ``position`` = (left, top) of ``size`` = (width, height)."""
    left, top = position
    width, height = size
    if width < 2 or height < 2:
        return
    painter.select_character_set(CS_DRAWING, G0)
    painter.cursor_position(left, top)
    painter.write("l" + "q" * (width - 2) + "k")
    for n in range(1, height - 1):
        painter.cursor_position(left, top + n)
        painter.write("x")
        painter.cursor_position(left + width - 1, top + n)
        painter.write("x")
    painter.cursor_position(left, top + height - 1)
    painter.write("m" + "q" * (width - 2) + "j")
    painter.select_character_set(CS_US, G0)


def draw_cursor(painter: Region, char: str) -> None:
    """Show a cursor as ``char`` in reverse video, then step past it."""
    painter.save_cursor()
    painter.select_graphic_rendition(REVERSE_VIDEO)
    painter.write(char)
    painter.restore_cursor()
    painter.cursor_forward()


class Canvas(Widget):
    """A grid of characters the program sets with ``canvas[x, y] = "c"``.

    It takes the size it is drawn at (keeping what fits); ``x``/``y`` are a drawing
    position kept inside the grid.
    """

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self._width = 0
        self._height = 0
        self.contents: list[list[str]] = []
        self.resize(1, 1)

    @property
    def size(self) -> tuple[int, int]:
        return self._width, self._height

    def resize(self, width: int, height: int) -> None:
        width, height = max(1, width), max(1, height)
        old = self.contents
        self.contents = [[" "] * width for _ in range(height)]
        for y, row in enumerate(old[:height]):
            self.contents[y][:min(width, len(row))] = row[:width]
        self._width, self._height = width, height
        self.x = min(self.x, width - 1)
        self.y = min(self.y, height - 1)

    def _check(self, index: tuple[int, int]) -> tuple[int, int]:
        x, y = index
        if not (0 <= x < self._width and 0 <= y < self._height):
            raise IndexError(f"{index} is outside the {self._width}x{self._height} canvas")
        return x, y

    def __getitem__(self, index: tuple[int, int]) -> str:
        x, y = self._check(index)
        return self.contents[y][x]

    def __setitem__(self, index: tuple[int, int], value: str) -> None:
        x, y = self._check(index)
        if len(value) != 1 or not value.isprintable():
            raise ValueError(f"a canvas cell holds one printable character, not {value!r}")
        self.contents[y][x] = value
        self.repaint()

    def clear(self) -> None:
        self.contents = [[" "] * self._width for _ in range(self._height)]
        self.repaint()

    def render(self, width: int, height: int, painter: Region) -> None:
        if not width or not height:
            return
        if (width, height) != (self._width, self._height):
            self.resize(width, height)
        for y, row in enumerate(self.contents):
            painter.cursor_position(0, y)
            painter.write("".join(row[:width]))


class DrawableCanvas(Canvas):
    """A canvas the user draws on (window.tac's): arrows move the drawing position,
    wrapping at the edges, and each character typed is put down there."""

    def _move(self, dx: int, dy: int) -> None:
        self.x = (self.x + dx) % self._width
        self.y = (self.y + dy) % self._height
        self.repaint()

    def func_left_arrow(self, modifier: Modifier) -> None:
        self._move(-1, 0)

    def func_right_arrow(self, modifier: Modifier) -> None:
        self._move(1, 0)

    def func_up_arrow(self, modifier: Modifier) -> None:
        self._move(0, -1)

    def func_down_arrow(self, modifier: Modifier) -> None:
        self._move(0, 1)

    def character_received(self, key: str, modifier: Modifier) -> None:
        if key.isprintable():
            self[self.x, self.y] = key
            self._move(1, 0)

    def render(self, width: int, height: int, painter: Region) -> None:
        super().render(width, height, painter)
        if self.focused and width and height:
            painter.cursor_position(self.x, self.y)
            draw_cursor(painter, self[self.x, self.y])


class Border(Widget):
    """A line-drawn box around another widget; red while the inside has the focus."""

    def __init__(self, containee: Widget) -> None:
        self.containee = containee
        containee.parent = self

    def focus_received(self, backward: bool = False) -> None:
        self.containee.focus_received(backward)

    def focus_lost(self) -> None:
        self.containee.focus_lost()

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        self.containee.keystroke_received(key, modifier)

    def paste_received(self, text: str) -> None:
        self.containee.paste_received(text)

    def size_hint(self) -> SizeHint:
        hint = self.containee.size_hint() or (None, None)
        return (None if hint[0] is None else hint[0] + 2,
                None if hint[1] is None else hint[1] + 2)

    def filthy(self) -> None:
        self.containee.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, painter: Region) -> None:
        if self.containee.focused:
            painter.select_graphic_rendition(FOREGROUND + RED)
        rectangle(painter, (0, 0), (width, height))
        painter.select_graphic_rendition(NORMAL)
        if width > 2 and height > 2:
            inner = painter.region(1, 1, width - 2, height - 2)
            self.containee.draw(width - 2, height - 2, inner)


class Button(Widget):
    """A label that calls ``on_press()`` on Enter (or space); bold while focused."""

    def __init__(self, label: str, on_press: Callable[[], object]) -> None:
        self.label = label
        self.on_press = on_press

    def size_hint(self) -> SizeHint:
        return len(self.label), 1

    def character_received(self, key: str, modifier: Modifier) -> None:
        if key in (ENTER, " "):
            self.on_press()

    def render(self, width: int, height: int, painter: Region) -> None:
        painter.cursor_position(0, 0)
        if self.focused:
            painter.select_graphic_rendition(BOLD)
        painter.write(self.label[:width])
        painter.select_graphic_rendition(NORMAL)


class TextInput(Widget):
    """One line of editable text, at most ``max_width`` characters; Enter calls
    ``on_submit(text)``.  Left/Right/Home/End move, Backspace/Delete erase."""

    def __init__(self, max_width: int, on_submit: Callable[[str], object]) -> None:
        if max_width < 1:
            raise ValueError(f"max_width must be at least 1, got {max_width}")
        self.max_width = max_width
        self.on_submit = on_submit
        self.buffer = ""
        self.cursor = 0
        self._scroll = 0

    def set_text(self, text: str) -> None:
        self.buffer = "".join(c for c in text if c.isprintable())[:self.max_width]
        self.cursor = len(self.buffer)
        self.repaint()

    def func_left_arrow(self, modifier: Modifier) -> None:
        if self.cursor > 0:
            self.cursor -= 1
            self.repaint()

    def func_right_arrow(self, modifier: Modifier) -> None:
        if self.cursor < len(self.buffer):
            self.cursor += 1
            self.repaint()

    def func_home(self, modifier: Modifier) -> None:
        self.cursor = 0
        self.repaint()

    def func_end(self, modifier: Modifier) -> None:
        self.cursor = len(self.buffer)
        self.repaint()

    def func_delete(self, modifier: Modifier) -> None:
        if self.cursor < len(self.buffer):
            self.buffer = self.buffer[:self.cursor] + self.buffer[self.cursor + 1:]
            self.repaint()

    def backspace_received(self) -> None:
        if self.cursor > 0:
            self.buffer = self.buffer[:self.cursor - 1] + self.buffer[self.cursor:]
            self.cursor -= 1
            self.repaint()

    def character_received(self, key: str, modifier: Modifier) -> None:
        if key == ENTER:
            self.on_submit(self.buffer)
        elif key.isprintable() and len(self.buffer) < self.max_width:
            self.buffer = self.buffer[:self.cursor] + key + self.buffer[self.cursor:]
            self.cursor += 1
            self.repaint()

    def paste_received(self, text: str) -> None:
        for char in text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "):
            if char.isprintable():
                self.character_received(char, Modifier.NONE)

    def size_hint(self) -> SizeHint:
        return self.max_width + 1, 1

    def _render_text(self) -> str:
        return self.buffer

    def render(self, width: int, height: int, painter: Region) -> None:
        text = self._render_text()
        # scroll sideways so that the cursor stays visible in a narrow region
        if self.cursor < self._scroll:
            self._scroll = self.cursor
        elif width and self.cursor >= self._scroll + width:
            self._scroll = self.cursor - width + 1
        start = self._scroll
        painter.cursor_position(0, 0)
        if self.focused:
            painter.write(text[start:self.cursor])
            draw_cursor(painter, text[self.cursor:self.cursor + 1] or " ")
            painter.write(text[self.cursor + 1:])
            painter.write(" " * (self.max_width - len(text) + 1))
        else:
            painter.write(text[start:] + "_" * (self.max_width - len(text)))


class PasswordInput(TextInput):
    """A ``TextInput`` that shows ``*`` for each character."""

    def _render_text(self) -> str:
        return "*" * len(self.buffer)


class TextOutput(Widget):
    """One line of text set by the program; it never takes the focus."""

    text = ""

    def __init__(self, size: SizeHint = None) -> None:
        self.size = size

    def size_hint(self) -> SizeHint:
        return self.size

    def set_text(self, text: str) -> None:
        self.text = text
        self.repaint()

    def focus_received(self, backward: bool = False) -> None:
        raise YieldFocus(backward)

    def render(self, width: int, height: int, painter: Region) -> None:
        line = self.text.split("\n", 1)[0][:width]
        painter.cursor_position(0, 0)
        painter.write(line + " " * (width - len(line)))


class TextOutputArea(TextOutput):
    """Many lines of text; long lines are wrapped at word boundaries (``WRAP``) or cut at
    the edge (``TRUNCATE``).  With ``tail`` the last lines show (a log or a chat),
    otherwise the first."""

    WRAP, TRUNCATE = 0, 1

    def __init__(self, size: SizeHint = None, long_lines: int = WRAP, *,
                 tail: bool = False) -> None:
        super().__init__(size)
        if long_lines not in (self.WRAP, self.TRUNCATE):
            raise ValueError(f"long_lines must be WRAP or TRUNCATE, got {long_lines!r}")
        self.long_lines = long_lines
        self.tail = tail

    def _layout(self, line: str, width: int) -> list[str]:
        if self.long_lines == self.WRAP:
            return textwrap.wrap(line, width, break_on_hyphens=False) or [""]
        return [line[:width]]

    def render(self, width: int, height: int, painter: Region) -> None:
        if width <= 0 or height <= 0:
            return
        output: list[str] = []
        lines = self.text.splitlines()
        if self.tail:
            # lay out from the end, only as many source lines as can show
            for line in reversed(lines):
                output[:0] = self._layout(line, width)
                if len(output) >= height:
                    break
            output = output[-height:]
        else:
            for line in lines:
                output.extend(self._layout(line, width))
                if len(output) >= height:
                    break
        for n, line in enumerate(output[:height]):
            painter.cursor_position(0, n)
            painter.write(line)


class Selection(Widget):
    """A list to choose from: Up/Down/PgUp/PgDn/Home/End move, Enter calls
    ``on_select(item)``.  The chosen line is in reverse video (bold too when focused)."""

    def __init__(self, sequence: Sequence[str], on_select: Callable[[str], object],
                 min_visible: int | None = None) -> None:
        self.sequence = sequence
        self.on_select = on_select
        self.min_visible = min_visible
        self.focused_index = 0
        self.top = 0  # index of the first visible item

    def size_hint(self) -> SizeHint:
        if self.min_visible is None:
            return None
        return max((len(item) for item in self.sequence), default=0), self.min_visible

    def _page(self) -> int:
        return max(1, self.height or 1)

    def _move_to(self, index: int) -> None:
        index = max(0, min(len(self.sequence) - 1, index))
        if index != self.focused_index:
            self.focused_index = index
            self.repaint()

    def func_up_arrow(self, modifier: Modifier) -> None:
        self._move_to(self.focused_index - 1)

    def func_down_arrow(self, modifier: Modifier) -> None:
        self._move_to(self.focused_index + 1)

    def func_pgup(self, modifier: Modifier) -> None:
        """To the first visible item, or a page up when already there."""
        if self.focused_index > self.top:
            self._move_to(self.top)
        else:
            self._move_to(self.focused_index - self._page())

    def func_pgdn(self, modifier: Modifier) -> None:
        """To the last visible item, or a page down when already there."""
        last = self.top + self._page() - 1
        if self.focused_index < last:
            self._move_to(last)
        else:
            self._move_to(self.focused_index + self._page())

    def func_home(self, modifier: Modifier) -> None:
        self._move_to(0)

    def func_end(self, modifier: Modifier) -> None:
        self._move_to(len(self.sequence) - 1)

    def character_received(self, key: str, modifier: Modifier) -> None:
        self._keep_in_range()
        if key == ENTER and self.sequence:
            self.on_select(self.sequence[self.focused_index])

    def _keep_in_range(self) -> None:
        """The program may shorten ``sequence`` at any time."""
        self.focused_index = max(0, min(self.focused_index, len(self.sequence) - 1))

    def render(self, width: int, height: int, painter: Region) -> None:
        if height <= 0:
            return
        self._keep_in_range()
        if self.focused_index < self.top:
            self.top = self.focused_index
        elif self.focused_index >= self.top + height:
            self.top = self.focused_index - height + 1
        self.top = max(0, min(self.top, len(self.sequence) - height))
        for n, item in enumerate(self.sequence[self.top:self.top + height]):
            painter.cursor_position(0, n)
            if self.top + n == self.focused_index:
                painter.save_cursor()
                if self.focused:
                    painter.select_graphic_rendition(REVERSE_VIDEO, BOLD)
                else:
                    painter.select_graphic_rendition(REVERSE_VIDEO)
            text = item[:width]
            painter.write(text + " " * (width - len(text)))
            if self.top + n == self.focused_index:
                painter.restore_cursor()
