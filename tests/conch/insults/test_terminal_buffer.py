"""TerminalBuffer: the screen model itself (tmux comparisons are in test_tmux_oracle.py)."""
from __future__ import annotations

import pytest

from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser, char_width
from plait.conch.insults.terminal import (
    ALT_SCREEN_SAVE,
    BRACKETED_PASTE,
    CS_DRAWING,
    CS_UK,
    DECAWM,
    DECCKM,
    DECOM,
    IRM,
    Cell,
)


def screen(data: bytes, width: int = 20, height: int = 5, scrollback: int = 100
           ) -> TerminalBuffer:
    buf = TerminalBuffer(width, height, scrollback)
    TerminalParser(buf).feed(data)
    return buf


def test_text_lines_and_cursor() -> None:
    buf = screen(b"hello\r\nworld  \r\n")
    assert str(buf) == "hello\nworld\n\n\n"
    assert buf.lines()[:2] == ["hello", "world"]
    assert buf.cursor == (0, 2)


def test_cells_carry_attributes_and_colours() -> None:
    buf = screen(b"\x1b[1;3;4;5;7;8;31;44mA\x1b[0;2;38;5;200;48;2;1;2;3mB\x1b[0;91;103mC"
                 b"\x1b[38:2::9:8:7mD\x1b[0mE")
    assert buf.cell(0, 0) == Cell("A", bold=True, italic=True, underline=True, blink=True,
                                  reverse=True, invisible=True, fg=1, bg=4)
    assert buf.cell(1, 0) == Cell("B", dim=True, fg=200, bg=(1, 2, 3))
    assert buf.cell(2, 0) == Cell("C", fg=9, bg=11)
    assert buf.cell(3, 0) == Cell("D", fg=(9, 8, 7), bg=11)
    assert buf.cell(4, 0) == Cell("E")
    with pytest.raises(IndexError):
        buf.cell(20, 0)


def test_deferred_wrap() -> None:
    buf = screen(b"x" * 20)
    assert buf.cursor == (20, 0) and buf.wrap_pending and buf.lines()[1] == ""
    TerminalParser(buf).feed(b"y")
    assert buf.lines()[:2] == ["x" * 20, "y"] and buf.line_wrapped(0)
    buf = screen(b"\x1b[?7l" + b"x" * 25 + b"y")
    assert buf.lines()[0] == "x" * 19 + "y" and buf.cursor == (19, 0)
    assert DECAWM not in buf.private_modes


def test_scrollback_keeps_lines_scrolled_off_the_main_screen() -> None:
    buf = screen(b"".join(b"line %d\r\n" % i for i in range(12)), height=5, scrollback=3)
    assert buf.scrollback_lines() == ["line 5", "line 6", "line 7"]
    assert buf.lines() == ["line 8", "line 9", "line 10", "line 11", ""]
    TerminalParser(buf).feed(b"\x1b[3J")
    assert buf.scrollback_lines() == []


def test_scroll_region_does_not_feed_scrollback_and_alt_screen_neither() -> None:
    buf = screen(b"\x1b[2;4r\x1b[4;1H\n\n\n", height=5)
    assert buf.scrollback_lines() == []
    buf = screen(b"\x1b[?1049h" + b"\n" * 10 + b"\x1b[?1049l", height=5)
    assert buf.scrollback_lines() == [] and not buf.alternate_screen


def test_alternate_screen_saves_and_restores() -> None:
    buf = screen(b"main\x1b[?1049halt")
    assert str(buf).startswith("    alt") and buf.alternate_screen
    assert ALT_SCREEN_SAVE in buf.private_modes
    TerminalParser(buf).feed(b"\x1b[?1049l")
    assert str(buf).startswith("main\n") and buf.cursor == (4, 0)


def test_modes_and_keypad() -> None:
    buf = screen(b"\x1b[4h\x1b[?1h\x1b[?6h\x1b[?2004h\x1b[?1000h\x1b[12h\x1b=")
    assert IRM in buf.modes and 12 in buf.modes
    assert {DECCKM, DECOM, BRACKETED_PASTE, 1000} <= buf.private_modes
    assert buf.application_keypad
    TerminalParser(buf).feed(b"\x1b[4l\x1b[?1000l\x1b>")
    assert IRM not in buf.modes and 1000 not in buf.private_modes
    assert not buf.application_keypad


def test_charsets_and_shifts() -> None:
    buf = screen(b"\x1b)0\x1b(Aq#\x0eq#x\x0fq")
    assert buf.lines()[0] == "q\u00a3\u2500#\u2502q"
    assert buf.charsets == (CS_UK, CS_DRAWING, 0)


def test_reports_are_queued_for_the_peer() -> None:
    buf = screen(b"ab\x1b[6n\x1b[5n\x1b[c\x1b[>c\x1b[2;4r\x1b[?6h\x1b[2;3H\x1b[6n")
    assert buf.reports == b"\x1b[1;3R\x1b[0n\x1b[?1;2c\x1b[>0;95;0c\x1b[2;3R"
    pending = buf.reports
    assert buf.take_reports() == pending and buf.reports == b""


def test_tabs() -> None:
    buf = screen(b"\tA\x1b[3g\x1b[5G\x1bH\r\tB\x1b[D\x1b[g\r\tC\x1b[2I")
    assert buf.tab_stops == []
    assert buf.lines()[0] == "    B   A          C"
    assert buf.cursor == (20, 0)
    assert screen(b"\x1b[2I.\x1b[Z\x1b[Z,").lines()[0] == "        ,       ."


def test_line_sizes() -> None:
    buf = screen(b"\x1b#6" + b"x" * 11 + b"\r\n\x1b#3top\r\n\x1b#4bot\r\n\x1b#5")
    assert buf.lines()[:2] == ["x" * 10, "x"]
    buf = screen(b"\x1b#6" + b"x" * 10 + b"\r\n\x1b#3top\r\n\x1b#4bot\r\n\x1b#5")
    assert [buf.line_size(i) for i in range(4)] == [
        "double_width", "double_top", "double_bottom", "single"]


def test_decaln_and_reset() -> None:
    buf = screen(b"\x1b[2;3r\x1b#8")
    assert buf.lines() == ["E" * 20] * 5 and buf.scroll_region == (0, 4)
    buf = screen(b"\x1b]2;t\x07\x1b[1mab\x1b[?6h\x1b[2;3r\x1bc")
    assert str(buf) == "\n" * 4 and buf.title == "" and buf.scroll_region == (0, 4)
    assert DECOM not in buf.private_modes and buf.cursor == (0, 0)


def test_python_api_matches_the_parser() -> None:
    ops = TerminalBuffer(20, 5)
    ops.write("abc")
    ops.carriage_return()
    ops.line_feed()
    ops.select_graphic_rendition(1, 38, 2, 1, 2, 3)
    ops.write("d")
    ops.cursor_position(5, 3)
    ops.select_character_set(CS_DRAWING, 0)
    ops.write("q")
    ops.set_scroll_region(1, 3)
    ops.set_private_modes([DECOM])
    ops.cursor_down(9)
    ops.write("z")
    parsed = screen(b"abc\r\n\x1b[1;38;2;1;2;3md\x1b[4;6H\x1b(0q\x1b[2;4r\x1b[?6h\x1b[9Bz")
    assert str(ops) == str(parsed)
    assert ops.cursor == parsed.cursor
    assert ops.cell(0, 1) == parsed.cell(0, 1) == Cell("d", bold=True, fg=(1, 2, 3))


def test_resize_keeps_the_cursor_line() -> None:
    buf = screen(b"".join(b"%d\r\n" % i for i in range(5)) + b"end", width=10, height=6)
    buf.resize(5, 3)
    assert buf.lines() == ["3", "4", "end"] and buf.cursor == (3, 2)
    assert buf.scrollback_lines() == ["0", "1", "2"]
    buf.resize(8, 5)
    assert buf.lines() == ["3", "4", "end", "", ""] and (buf.width, buf.height) == (8, 5)
    TerminalParser(buf).feed(b"\x1b[5;1H" + b"y" * 8)
    assert buf.lines()[4] == "y" * 8 and buf.cursor == (8, 4)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        TerminalBuffer(0, 24)
    with pytest.raises(ValueError):
        TerminalBuffer(80, 5000)
    with pytest.raises(ValueError):
        TerminalBuffer(80, 24, scrollback=-1)
    with pytest.raises(ValueError):
        TerminalBuffer(80, 24, scrollback=1_000_001)
    TerminalBuffer(4096, 4096, scrollback=0)
    buf = TerminalBuffer(4, 2)
    with pytest.raises(ValueError):
        buf.resize(4097, 2)
    TerminalParser(buf).feed(b"x\x1b[65535b\x1b[65535@\x1b[65535L\x1b[65535S\x1b[99999;99999H")
    assert buf.cursor == (3, 1)


def test_bell_and_title() -> None:
    buf = screen(b"\x07\x07\x1b]0;hello \xe2\x82\xac\x1b\\")
    assert buf.bells == 2 and buf.title == "hello \u20ac"


def test_wide_and_combining_characters() -> None:
    buf = screen("\u4e2d\u6587!e\u0301".encode(), width=6)
    assert [buf.cell(x, 0).char for x in range(6)] == ["\u4e2d", "", "\u6587", "", "!", "\u00e9"]
    assert buf.lines()[0] == "\u4e2d\u6587!\u00e9" and buf.cursor == (6, 0)
    TerminalParser(buf).feed("\r\n12345\u4e2d".encode())  # no room at the end: it wraps
    assert buf.lines()[1:3] == ["12345", "\u4e2d"] and buf.cursor == (2, 2)
    TerminalParser(buf).feed(b"\x1b[3;2Hx")  # over its right half: it is erased
    assert buf.lines()[2] == " x"
    assert [char_width(c) for c in (0x41, 0x301, 0x4E2D, 0x1F600)] == [1, 0, 2, 2]
