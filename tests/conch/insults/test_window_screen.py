"""Screen: only changed cells go out, and what goes out rebuilds the surface exactly."""
from __future__ import annotations

import random

from conch.insults.window_harness import Wire, recorded
from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.insults.server import ServerProtocol
from plait.conch.insults.terminal import BOLD, FOREGROUND, RED, REVERSE_VIDEO
from plait.conch.insults.window_screen import Screen
from plait.conch.insults.window_surface import Surface


class Display:
    """A Screen writing through ServerProtocol into a native TerminalBuffer."""

    def __init__(self, width: int, height: int, dec_graphics: bool = True) -> None:
        self.wire = Wire()
        self.server = ServerProtocol()
        self.server.make_connection(self.wire)
        self.buffer = TerminalBuffer(width, height)
        self.parser = TerminalParser(self.buffer)
        self.screen = Screen(dec_graphics=dec_graphics)

    def show(self, surface: Surface) -> bytes:
        self.screen.update(surface, self.server)
        data = self.wire.take()
        self.parser.feed(data)
        return data


def text_surface(lines: list[str], width: int = 20, height: int = 4) -> Surface:
    surface = Surface(width, height)
    painter = surface.region()
    for y, line in enumerate(lines):
        painter.cursor_position(0, y)
        painter.write(line)
    return surface


def test_first_update_clears_and_draws_everything() -> None:
    display = Display(20, 4)
    data = display.show(text_surface(["hello", "", "world"]))
    calls = recorded(data)
    assert "erase_display" in calls.names()
    assert str(display.buffer).split("\n") == ["hello", "", "world", ""]


def test_one_changed_character_writes_only_that_cell() -> None:
    display = Display(20, 4)
    display.show(text_surface(["hello", "", "world"]))
    data = display.show(text_surface(["hello", "", "wOrld"]))
    calls = recorded(data)
    assert calls.calls == [("cursor_position", (1, 2)), ("write", ("O",))]
    assert len(data) == len(b"\x1b[3;2HO")
    assert str(display.buffer).split("\n")[2] == "wOrld"


def test_nothing_changed_writes_nothing() -> None:
    display = Display(20, 4)
    display.show(text_surface(["same"]))
    assert display.show(text_surface(["same"])) == b""


def test_separate_changes_on_one_line_move_forward_between_them() -> None:
    display = Display(20, 4)
    display.show(text_surface(["abcdefghij"]))
    calls = recorded(display.show(text_surface(["Abcdefghij"[:6] + "GHij"])))
    assert calls.calls == [("cursor_position", (0, 0)), ("write", ("A",)),
                           ("cursor_forward", (5,)), ("write", ("GH",))]
    assert str(display.buffer).split("\n")[0] == "AbcdefGHij"


def test_a_style_change_is_sent_with_the_cell_and_reset_after() -> None:
    display = Display(20, 4)
    display.show(text_surface(["plain"]))
    surface = text_surface(["plain"])
    painter = surface.region()
    painter.cursor_position(2, 0)
    painter.select_graphic_rendition(BOLD, FOREGROUND + RED)
    painter.write("a")
    calls = recorded(display.show(surface))
    assert calls.calls == [("cursor_position", (2, 0)),
                           ("select_graphic_rendition", (0, BOLD, FOREGROUND + RED)),
                           ("write", ("a",)), ("select_graphic_rendition", (0,))]
    cell = display.buffer.cell(2, 0)
    assert (cell.char, cell.bold, cell.fg) == ("a", True, RED)
    assert not display.buffer.cell(3, 0).bold


def test_a_cleared_line_end_uses_erase_to_line_end() -> None:
    display = Display(30, 2)
    display.show(text_surface(["a long line of text here"], 30, 2))
    calls = recorded(display.show(text_surface(["a long"], 30, 2)))
    assert calls.names() == ["cursor_position", "erase_to_line_end"]
    assert str(display.buffer).split("\n") == ["a long", ""]


def test_box_drawing_goes_out_as_dec_line_drawing_or_utf8() -> None:
    surface = text_surface(["\u250c\u2500\u2510", "\u2514\u2500\u2518"], 5, 2)
    dec = Display(5, 2)
    data = dec.show(surface)
    assert b"\x1b(0lqk" in data and "\u2500".encode() not in data
    utf8 = Display(5, 2, dec_graphics=False)
    data = utf8.show(surface)
    assert b"\x1b(0" not in data and "\u250c\u2500\u2510".encode() in data
    for display in (dec, utf8):
        assert str(display.buffer).split("\n") == ["\u250c\u2500\u2510", "\u2514\u2500\u2518"]


def test_invalidate_redraws_everything() -> None:
    display = Display(10, 2)
    display.show(text_surface(["abc"], 10, 2))
    display.screen.invalidate()
    display.buffer.write("garbage")  # someone else wrote to the terminal
    data = display.show(text_surface(["abc"], 10, 2))
    assert "erase_display" in recorded(data).names()
    assert str(display.buffer).split("\n") == ["abc", ""]


def test_a_new_size_redraws_everything() -> None:
    display = Display(10, 2)
    display.show(text_surface(["abc"], 10, 2))
    display.buffer.resize(12, 3)
    data = display.show(text_surface(["abc", "def"], 12, 3))
    assert "erase_display" in recorded(data).names()
    assert str(display.buffer).split("\n") == ["abc", "def", ""]


def test_writing_the_last_column_does_not_lose_the_cursor() -> None:
    display = Display(5, 2)
    display.show(text_surface(["", ""], 5, 2))
    display.show(text_surface(["abcde", "fghij"], 5, 2))
    assert str(display.buffer).split("\n") == ["abcde", "fghij"]
    display.show(text_surface(["abcdE", "Fghij"], 5, 2))
    assert str(display.buffer).split("\n") == ["abcdE", "Fghij"]


def test_random_updates_always_leave_the_terminal_equal_to_the_surface() -> None:
    rng = random.Random(6)
    width, height = 16, 6
    display = Display(width, height)
    styles = [(), (BOLD,), (REVERSE_VIDEO,), (FOREGROUND + RED,), (38, 5, 123), (48, 2, 1, 2, 3)]
    alphabet = "ab \u2500\u2502\u250cxyz"
    surface = Surface(width, height)
    for _ in range(60):
        surface = Surface(width, height)
        painter = surface.region()
        for _ in range(rng.randrange(1, 12)):
            painter.cursor_position(rng.randrange(width), rng.randrange(height))
            painter.select_graphic_rendition(0, *rng.choice(styles))
            painter.write("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 8))))
        display.show(surface)
        assert str(display.buffer) == str(surface)
        for y in range(height):
            for x in range(width):
                got, want = display.buffer.cell(x, y), surface.cell(x, y)
                assert got.char == want.char
                assert (got.bold, got.reverse, got.fg, got.bg) == (
                    want.style.bold, want.style.reverse, want.style.fg, want.style.bg), (x, y)
