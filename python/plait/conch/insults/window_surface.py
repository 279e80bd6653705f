"""Off-screen cell grids that widgets paint into.

Widgets never write to the real terminal: they paint into a ``Surface`` through a
``Region`` (a clipped, offset view with the same cursor/write/SGR calls as a terminal),
and ``window_screen.Screen`` then sends only the cells that changed.  Painting into a
grid is also what lets ``Viewport`` show a window onto a larger widget.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any, NamedTuple

from plait.conch.insults.terminal import (
    BACKGROUND,
    BLINK,
    BOLD,
    CS_DRAWING,
    DIM,
    FOREGROUND,
    G0,
    G1,
    INVISIBLE,
    ITALIC,
    NORMAL,
    REVERSE_VIDEO,
    UNDERLINE,
    Colour,
)

__all__ = [
    "BLANK",
    "DEC_GRAPHICS",
    "DEFAULT_STYLE",
    "Cell",
    "Region",
    "Style",
    "Surface",
    "char_width",
    "sgr_params",
]

# DEC special graphics (ESC ( 0): the byte a VT100 draws as each Unicode character.
DEC_GRAPHICS: dict[str, str] = {
    "`": "\u25c6", "a": "\u2592", "b": "\u2409", "c": "\u240c", "d": "\u240d", "e": "\u240a",
    "f": "\u00b0", "g": "\u00b1", "h": "\u2424", "i": "\u240b", "j": "\u2518", "k": "\u2510",
    "l": "\u250c", "m": "\u2514", "n": "\u253c", "o": "\u23ba", "p": "\u23bb", "q": "\u2500",
    "r": "\u23bc", "s": "\u23bd", "t": "\u251c", "u": "\u2524", "v": "\u2534", "w": "\u252c",
    "x": "\u2502", "y": "\u2264", "z": "\u2265", "{": "\u03c0", "|": "\u2260", "}": "\u00a3",
    "~": "\u00b7",
}


class Style(NamedTuple):
    """The attributes of one cell (the SGR state it was written with)."""

    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    blink: bool = False
    reverse: bool = False
    invisible: bool = False
    fg: Colour = None
    bg: Colour = None


class Cell(NamedTuple):
    """One screen position; ``char == ""`` marks the right half of a wide character."""

    char: str
    style: Style


DEFAULT_STYLE = Style()
BLANK = Cell(" ", DEFAULT_STYLE)

_FLAGS = {BOLD: "bold", DIM: "dim", ITALIC: "italic", UNDERLINE: "underline", BLINK: "blink",
          REVERSE_VIDEO: "reverse", INVISIBLE: "invisible"}
_RESETS = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",), 25: ("blink",),
           27: ("reverse",), 28: ("invisible",)}


def char_width(char: str) -> int:
    """Columns ``char`` takes: 0 for combining/format characters, 2 for East Asian wide."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _extended_colour(params: tuple[int, ...], i: int) -> tuple[Colour, int]:
    """Parse ``38;5;n`` / ``38;2;r;g;b`` starting at ``params[i]`` (the 5 or 2)."""
    if i < len(params) and params[i] == 5 and i + 1 < len(params):
        return params[i + 1] & 0xFF, i + 2
    if i < len(params) and params[i] == 2 and i + 3 < len(params):
        r, g, b = (p & 0xFF for p in params[i + 1:i + 4])
        return (r, g, b), i + 4
    return None, len(params)


def apply_sgr(style: Style, params: tuple[int, ...]) -> Style:
    """The style after ``SGR params`` (no params means reset, as on a terminal)."""
    if not params:
        return DEFAULT_STYLE
    changes: dict[str, Any] = {}
    i = 0
    while i < len(params):
        p = params[i]
        i += 1
        if p == NORMAL:
            style, changes = DEFAULT_STYLE, {}
        elif p in _FLAGS:
            changes[_FLAGS[p]] = True
        elif p in _RESETS:
            for name in _RESETS[p]:
                changes[name] = False
        elif FOREGROUND <= p <= FOREGROUND + 7:
            changes["fg"] = p - FOREGROUND
        elif BACKGROUND <= p <= BACKGROUND + 7:
            changes["bg"] = p - BACKGROUND
        elif 90 <= p <= 97:
            changes["fg"] = p - 90 + 8
        elif 100 <= p <= 107:
            changes["bg"] = p - 100 + 8
        elif p in (38, 48):
            colour, i = _extended_colour(params, i)
            changes["fg" if p == 38 else "bg"] = colour
        elif p == 39:
            changes["fg"] = None
        elif p == 49:
            changes["bg"] = None
    return style._replace(**changes) if changes else style


def _colour_params(colour: Colour, base: int, bright: int, extended: int) -> list[int]:
    if colour is None:
        return []
    if isinstance(colour, tuple):
        return [extended, 2, *colour]
    if colour < 8:
        return [base + colour]
    if colour < 16:
        return [bright + colour - 8]
    return [extended, 5, colour]


def sgr_params(style: Style) -> tuple[int, ...]:
    """SGR parameters that set exactly ``style`` from any state (starting with a reset)."""
    params = [NORMAL]
    for code, name in _FLAGS.items():
        if getattr(style, name):
            params.append(code)
    params += _colour_params(style.fg, FOREGROUND, 90, 38)
    params += _colour_params(style.bg, BACKGROUND, 100, 48)
    return tuple(params)


class Surface:
    """A width x height grid of cells plus a pen (cursor, style, character sets)."""

    def __init__(self, width: int, height: int) -> None:
        if width < 0 or height < 0:
            raise ValueError(f"surface size must not be negative, got {width}x{height}")
        self.width = width
        self.height = height
        self.rows: list[list[Cell]] = [[BLANK] * width for _ in range(height)]
        # the pen, shared by every region as a terminal's is: style and character sets
        self.style = DEFAULT_STYLE
        self.charsets = [False, False]  # G0, G1: True when DEC line drawing
        self.shifted = False  # SO selects G1

    def cell(self, column: int, line: int) -> Cell:
        return self.rows[line][column]

    def lines(self) -> list[str]:
        """Screen text, one string per line, right-stripped (as ``str(TerminalBuffer)``)."""
        return ["".join(c.char for c in row).rstrip() for row in self.rows]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def region(self, left: int = 0, top: int = 0, width: int | None = None,
               height: int | None = None) -> Region:
        """A painter for a rectangle of this surface (the whole surface by default)."""
        return Region(self, left, top,
                      self.width - left if width is None else width,
                      self.height - top if height is None else height)

    def put(self, column: int, line: int, char: str, style: Style, wide: bool = False) -> None:
        """Set one cell (two for a wide character), repairing any wide character it cuts."""
        row = self.rows[line]
        for col in (column, column + 1) if wide else (column,):
            if row[col].char == "" and col > 0:
                row[col - 1] = Cell(" ", row[col - 1].style)
            if col + 1 < self.width and row[col + 1].char == "":
                row[col + 1] = Cell(" ", row[col + 1].style)
        row[column] = Cell(char, style)
        if wide:
            row[column + 1] = Cell("", style)

    def put_cell(self, column: int, line: int, cell: Cell) -> None:
        """Copy a cell (from another surface) as it is."""
        self.rows[line][column] = cell



class Region:
    """A clipped, offset painter onto a ``Surface``: what ``Widget.render`` draws with.

    Its methods are the drawing subset of the ``Terminal`` interface; coordinates are
    relative to the region and nothing is drawn outside it.  Each region has its own
    cursor (starting at its top left); the style and character sets are the surface's.
    """

    def __init__(self, surface: Surface, left: int, top: int, width: int, height: int) -> None:
        self.surface = surface
        self.x = left  # the cursor, in surface coordinates
        self.y = top
        self._saved: tuple[int, int, Style, list[bool], bool] | None = None
        self.left = left
        self.top = top
        self.width = max(0, width)
        self.height = max(0, height)
        # the visible part: the region intersected with the surface
        self._x0 = max(0, left)
        self._y0 = max(0, top)
        self._x1 = min(surface.width, left + self.width)
        self._y1 = min(surface.height, top + self.height)

    def region(self, left: int, top: int, width: int, height: int) -> Region:
        """A sub-region (relative coordinates), clipped to this one."""
        width = max(0, min(width, self.width - left))
        height = max(0, min(height, self.height - top))
        return Region(self.surface, self.left + left, self.top + top, width, height)

    # -- cursor -------------------------------------------------------------------

    def cursor_position(self, column: int, line: int) -> None:
        self.x = self.left + max(0, min(self.width, column))
        self.y = self.top + max(0, min(self.height, line))

    def cursor_home(self) -> None:
        self.cursor_position(0, 0)

    def cursor_forward(self, n: int = 1) -> None:
        self.x = min(self.left + self.width, self.x + n)

    def cursor_backward(self, n: int = 1) -> None:
        self.x = max(self.left, self.x - n)

    def save_cursor(self) -> None:
        """Save the cursor with the style and character sets (as DECSC does)."""
        surface = self.surface
        self._saved = (self.x, self.y, surface.style, list(surface.charsets), surface.shifted)

    def restore_cursor(self) -> None:
        surface = self.surface
        if self._saved is None:
            self.x, self.y = self.left, self.top
            surface.style = DEFAULT_STYLE
            return
        self.x, self.y, surface.style, charsets, surface.shifted = self._saved
        surface.charsets = list(charsets)

    # -- attributes -----------------------------------------------------------------

    def select_graphic_rendition(self, *params: int) -> None:
        self.surface.style = apply_sgr(self.surface.style, params)

    def select_character_set(self, charset: bytes, which: int) -> None:
        if which not in (G0, G1):
            raise ValueError(f"which must be G0 or G1, got {which!r}")
        self.surface.charsets[which] = charset == CS_DRAWING

    def shift_in(self) -> None:
        self.surface.shifted = False

    def shift_out(self) -> None:
        self.surface.shifted = True

    # -- drawing --------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Draw ``text`` at the cursor, clipped to the region.

        ``"\\n"`` starts the next line at the region's left edge; other control
        characters show as ``?`` so that untrusted text cannot move the cursor.
        """
        surface = self.surface
        drawing = surface.charsets[G1 if surface.shifted else G0]
        for char in text:
            if char == "\n":
                self.x = self.left
                self.y += 1
                continue
            if char == "\t":
                char = " "
            elif unicodedata.category(char) == "Cc":
                char = "?"
            elif drawing:
                char = DEC_GRAPHICS.get(char, char)
            width = char_width(char)
            if width == 0:
                continue
            x, y = self.x, self.y
            if self._y0 <= y < self._y1 and self._x0 <= x < self._x1:
                if width == 2 and x + 1 >= self._x1:
                    surface.put(x, y, " ", surface.style)
                else:
                    surface.put(x, y, char, surface.style, wide=width == 2)
            self.x = x + width

    def fill(self, char: str = " ") -> None:
        """Paint every cell of the region with ``char`` in the current style."""
        style = self.surface.style
        for y in range(self._y0, self._y1):
            for x in range(self._x0, self._x1):
                self.surface.put(x, y, char, style)

    def erase_to_line_end(self) -> None:
        surface = self.surface
        if self._y0 <= self.y < self._y1:
            for x in range(max(self.x, self._x0), self._x1):
                surface.put(x, self.y, " ", surface.style)

    def erase_line(self) -> None:
        surface = self.surface
        if self._y0 <= self.y < self._y1:
            for x in range(self._x0, self._x1):
                surface.put(x, self.y, " ", surface.style)

    def erase_display(self) -> None:
        self.fill(" ")

    def blit(self, source: Surface, source_x: int = 0, source_y: int = 0) -> None:
        """Copy the part of ``source`` starting at (source_x, source_y) into the region."""
        for y in range(self._y0, self._y1):
            sy = source_y + y - self.top
            if not 0 <= sy < source.height:
                continue
            for x in range(self._x0, self._x1):
                sx = source_x + x - self.left
                if 0 <= sx < source.width:
                    cell = source.rows[sy][sx]
                    if cell.char == "" and x == self._x0:
                        cell = Cell(" ", cell.style)  # half a wide character
                    elif cell.char and x + 1 == self._x1 and sx + 1 < source.width \
                            and source.rows[sy][sx + 1].char == "":
                        cell = Cell(" ", cell.style)
                    self.surface.put_cell(x, y, cell)

    def lines(self) -> Iterable[str]:
        """The region's text (for debugging and tests)."""
        for y in range(self._y0, self._y1):
            yield "".join(c.char for c in self.surface.rows[y][self._x0:self._x1]).rstrip()
