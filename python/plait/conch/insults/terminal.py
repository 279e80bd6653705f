"""The terminal interface: what a VT102 can be told to do.

Twisted's ``ITerminalTransport`` in snake_case, plus what plait adds (CHA/VPA, SU/SD, ECH,
titles, single shifts). Two kinds of object implement it: the native ``TerminalBuffer`` (an
in-memory screen, driven by ``TerminalParser``) and ``ServerProtocol`` (which writes each call
as an escape sequence to a real terminal). Coordinates are 0-based ``(column, line)``;
``set_scroll_region`` takes 0-based inclusive lines, ``None`` meaning the screen's edge.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# ANSI modes (SM/RM), Twisted's ``modes``
KAM = 2
IRM = 4
LNM = 20

# DEC private modes (DECSET/DECRST), Twisted's ``privateModes`` plus xterm's
DECCKM = 1
DECANM = 2
DECCOLM = 3
DECSCLM = 4
DECSCNM = 5
DECOM = 6
DECAWM = 7
DECARM = 8
DECTCEM = 25
ALT_SCREEN = 47
ALT_SCREEN_SAVE = 1049
BRACKETED_PASTE = 2004

# character sets for select_character_set, and the G-set it designates
CS_US = b"B"
CS_UK = b"A"
CS_DRAWING = b"0"
CS_ALTERNATE = b"1"
CS_ALTERNATE_SPECIAL = b"2"
G0 = 0
G1 = 1

# SGR attributes
NORMAL = 0
BOLD = 1
DIM = 2
ITALIC = 3
UNDERLINE = 4
BLINK = 5
REVERSE_VIDEO = 7
INVISIBLE = 8

# colours, used as 30 + c (foreground) and 40 + c (background)
BLACK = 0
RED = 1
GREEN = 2
YELLOW = 3
BLUE = 4
MAGENTA = 5
CYAN = 6
WHITE = 7
FOREGROUND = 30
BACKGROUND = 40


@runtime_checkable
class Terminal(Protocol):
    """Operations on a VT102 terminal; every implementation accepts exactly these."""

    def cursor_up(self, n: int = 1) -> None: ...
    def cursor_down(self, n: int = 1) -> None: ...
    def cursor_forward(self, n: int = 1) -> None: ...
    def cursor_backward(self, n: int = 1) -> None: ...
    def cursor_position(self, column: int, line: int) -> None: ...
    def cursor_home(self) -> None: ...
    def cursor_column(self, column: int) -> None: ...
    def cursor_line(self, line: int) -> None: ...
    def index(self) -> None: ...
    def reverse_index(self) -> None: ...
    def next_line(self) -> None: ...
    def save_cursor(self) -> None: ...
    def restore_cursor(self) -> None: ...
    def set_modes(self, modes: Sequence[int]) -> None: ...
    def reset_modes(self, modes: Sequence[int]) -> None: ...
    def set_private_modes(self, modes: Sequence[int]) -> None: ...
    def reset_private_modes(self, modes: Sequence[int]) -> None: ...
    def application_keypad_mode(self) -> None: ...
    def numeric_keypad_mode(self) -> None: ...
    def select_character_set(self, charset: bytes, which: int) -> None: ...
    def shift_in(self) -> None: ...
    def shift_out(self) -> None: ...
    def single_shift2(self) -> None: ...
    def single_shift3(self) -> None: ...
    def select_graphic_rendition(self, *params: int) -> None: ...
    def horizontal_tabulation_set(self) -> None: ...
    def tabulation_clear(self) -> None: ...
    def tabulation_clear_all(self) -> None: ...
    def horizontal_tab(self, n: int = 1) -> None: ...
    def double_height_line(self, top: bool = True) -> None: ...
    def single_width_line(self) -> None: ...
    def double_width_line(self) -> None: ...
    def erase_to_line_end(self) -> None: ...
    def erase_to_line_beginning(self) -> None: ...
    def erase_line(self) -> None: ...
    def erase_to_display_end(self) -> None: ...
    def erase_to_display_beginning(self) -> None: ...
    def erase_display(self) -> None: ...
    def erase_character(self, n: int = 1) -> None: ...
    def delete_character(self, n: int = 1) -> None: ...
    def insert_character(self, n: int = 1) -> None: ...
    def insert_line(self, n: int = 1) -> None: ...
    def delete_line(self, n: int = 1) -> None: ...
    def scroll_up(self, n: int = 1) -> None: ...
    def scroll_down(self, n: int = 1) -> None: ...
    def set_scroll_region(self, first: int | None = None, last: int | None = None) -> None: ...
    def carriage_return(self) -> None: ...
    def line_feed(self) -> None: ...
    def backspace(self) -> None: ...
    def bell(self) -> None: ...
    def write(self, text: str) -> None: ...
    def set_title(self, title: str) -> None: ...
    def reset(self) -> None: ...
    def unhandled_control_sequence(self, seq: bytes) -> None: ...


Colour = int | tuple[int, int, int] | None


@dataclass(frozen=True)
class Cell:
    """One character cell of a screen: the character and how it is drawn.

    Colours are ``None`` (the terminal's default), an index 0-255 (0-7 the ANSI colours,
    8-15 their bright forms, 16-255 xterm's palette) or an ``(r, g, b)`` truecolour.
    """

    char: str = " "
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    blink: bool = False
    reverse: bool = False
    invisible: bool = False
    fg: Colour = None
    bg: Colour = None


__all__ = [
    "ALT_SCREEN",
    "ALT_SCREEN_SAVE",
    "BACKGROUND",
    "BLACK",
    "BLINK",
    "BLUE",
    "BOLD",
    "BRACKETED_PASTE",
    "CS_ALTERNATE",
    "CS_ALTERNATE_SPECIAL",
    "CS_DRAWING",
    "CS_UK",
    "CS_US",
    "CYAN",
    "DECANM",
    "DECARM",
    "DECAWM",
    "DECCKM",
    "DECCOLM",
    "DECOM",
    "DECSCLM",
    "DECSCNM",
    "DECTCEM",
    "DIM",
    "FOREGROUND",
    "G0",
    "G1",
    "GREEN",
    "INVISIBLE",
    "IRM",
    "ITALIC",
    "KAM",
    "LNM",
    "MAGENTA",
    "NORMAL",
    "RED",
    "REVERSE_VIDEO",
    "UNDERLINE",
    "WHITE",
    "YELLOW",
    "Cell",
    "Colour",
    "Terminal",
]

