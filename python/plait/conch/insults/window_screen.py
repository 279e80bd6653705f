"""Damage-only output: send a terminal only the cells that differ from what it shows.

``Screen`` remembers the grid the terminal was last brought to; ``update`` compares a
freshly painted ``Surface`` with it and writes, for each run of changed cells, a cursor
move, the SGR state and the text.  Box-drawing characters go out through the DEC
line-drawing set (as Twisted's widgets draw them), so they show on any VT100.
"""
from __future__ import annotations

from plait.conch.insults.terminal import CS_DRAWING, CS_US, G0, NORMAL, Terminal
from plait.conch.insults.window_surface import (
    BLANK,
    DEC_GRAPHICS,
    DEFAULT_STYLE,
    Cell,
    Style,
    Surface,
    sgr_params,
)

__all__ = ["Screen"]

# Unicode box-drawing -> DEC letter, for the characters every VT100 has.
_TO_DEC = {uni: dec for dec, uni in DEC_GRAPHICS.items() if dec in "jklmnqtuvwx"}

# A run of at least this many blank cells up to the end of a line is cleared with EL.
_ERASE_MIN = 4


class _Pen:
    """Tracks the terminal's cursor, style and G0 set so that nothing is sent twice."""

    def __init__(self, terminal: Terminal, width: int, dec_graphics: bool) -> None:
        self.terminal = terminal
        self.width = width
        self.dec_graphics = dec_graphics
        self.cursor: tuple[int, int] | None = None
        self.style: Style | None = None
        self.drawing = False
        self.text: list[str] = []
        self.cells = 0

    def _flush_text(self) -> None:
        if self.text:
            self.terminal.write("".join(self.text))
            self.text = []

    def move(self, x: int, y: int) -> None:
        if self.cursor == (x, y):
            return
        self._flush_text()
        if self.cursor is not None and self.cursor[1] == y and x > self.cursor[0]:
            self.terminal.cursor_forward(x - self.cursor[0])
        else:
            self.terminal.cursor_position(x, y)
        self.cursor = (x, y)

    def set_style(self, style: Style) -> None:
        if style != self.style:
            self._flush_text()
            self.terminal.select_graphic_rendition(*sgr_params(style))
            self.style = style

    def _set_drawing(self, drawing: bool) -> None:
        if drawing != self.drawing:
            self._flush_text()
            self.terminal.select_character_set(CS_DRAWING if drawing else CS_US, G0)
            self.drawing = drawing

    def put(self, x: int, y: int, cell: Cell, width: int) -> None:
        self.move(x, y)
        self.set_style(cell.style)
        dec = _TO_DEC.get(cell.char) if self.dec_graphics else None
        self._set_drawing(dec is not None)
        self.text.append(dec or cell.char)
        self.cells += 1
        # at the last column the cursor waits to wrap: its position is not x + width
        self.cursor = (x + width, y) if x + width < self.width else None

    def erase_to_line_end(self, x: int, y: int) -> None:
        self.move(x, y)
        self.set_style(DEFAULT_STYLE)
        self._flush_text()
        self.terminal.erase_to_line_end()

    def finish(self) -> None:
        self._set_drawing(False)
        if self.style not in (None, DEFAULT_STYLE):
            self._flush_text()
            self.terminal.select_graphic_rendition(NORMAL)
            self.style = DEFAULT_STYLE
        self._flush_text()


class Screen:
    """What one terminal shows, and the minimal output to make it show a new surface.

    ``dec_graphics=False`` sends box-drawing characters as UTF-8 instead of through the
    DEC line-drawing set.
    """

    def __init__(self, dec_graphics: bool = True) -> None:
        self.dec_graphics = dec_graphics
        self._shown: list[list[Cell]] | None = None
        self._size = (0, 0)

    def invalidate(self) -> None:
        """Forget what the terminal shows (after a resize, or if something else wrote to it):
        the next ``update`` clears the screen and draws everything."""
        self._shown = None

    def update(self, surface: Surface, terminal: Terminal) -> int:
        """Make ``terminal`` show ``surface``; returns how many cells were written."""
        width, height = surface.width, surface.height
        pen = _Pen(terminal, width, self.dec_graphics)
        # every update ends in the default style and US characters, so the next one can
        # start from there
        pen.style = DEFAULT_STYLE
        shown = self._shown
        if shown is None or self._size != (width, height):
            terminal.select_graphic_rendition(NORMAL)
            terminal.select_character_set(CS_US, G0)
            terminal.erase_display()
            shown = [[BLANK] * width for _ in range(height)]
        for y, (new_row, old_row) in enumerate(zip(surface.rows, shown)):
            if new_row != old_row:
                self._update_row(pen, y, new_row, old_row)
        pen.finish()
        self._shown = [list(row) for row in surface.rows]
        self._size = (width, height)
        return pen.cells

    @staticmethod
    def _update_row(pen: _Pen, y: int, new_row: list[Cell], old_row: list[Cell]) -> None:
        width = len(new_row)
        # from here to the end of the line the new row is blank: EL instead of spaces
        blank_from = width
        while blank_from > 0 and new_row[blank_from - 1] == BLANK:
            blank_from -= 1
        x = 0
        while x < width:
            cell = new_row[x]
            if x >= blank_from:
                blank_from = width + 1  # decide once
                if sum(1 for c in old_row[x:] if c != BLANK) >= _ERASE_MIN:
                    pen.erase_to_line_end(x, y)
                    return
            if cell == old_row[x] or cell.char == "":
                x += 1
                continue
            wide = x + 1 < width and new_row[x + 1].char == ""
            pen.put(x, y, cell, 2 if wide else 1)
            x += 2 if wide else 1
