"""TerminalParser against a recording terminal: every sequence -> the right Terminal call, in
every chunk size down to one byte; bad input never raises."""
from __future__ import annotations

import random
from typing import Any

import pytest

from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.insults.terminal import CS_DRAWING, CS_UK, CS_US, Terminal

Event = tuple[Any, ...]
TERMINAL_METHODS = [name for name in dir(Terminal) if not name.startswith("_")]


class Recorder:
    """A Terminal that records each call; consecutive writes are merged."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __getattr__(self, name: str) -> Any:
        if name not in TERMINAL_METHODS:
            raise AttributeError(name)

        def record(*args: Any) -> None:
            if name == "write" and self.events and self.events[-1][0] == "write":
                self.events[-1] = ("write", self.events[-1][1] + args[0])
            else:
                self.events.append((name, *args))
        return record


def parse(data: bytes, chunk: int = 0) -> list[Event]:
    rec = Recorder()
    parser = TerminalParser(rec)
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        parser.feed(data[i:i + step])
    return rec.events


CASES: list[tuple[bytes, list[Event]]] = [
    (b"hello", [("write", "hello")]),
    ("h\u00e9\u20ac\U0001f600!".encode(), [("write", "h\u00e9\u20ac\U0001f600!")]),
    (b"a\r\nb\x08\x07\t\x0b\x0c", [("write", "a"), ("carriage_return",), ("line_feed",),
                                   ("write", "b"), ("backspace",), ("bell",),
                                   ("horizontal_tab", 1), ("line_feed",), ("line_feed",)]),
    (b"\x0e\x0f", [("shift_out",), ("shift_in",)]),
    (b"\x1b[A\x1b[3B\x1b[0C\x1b[12D", [("cursor_up", 1), ("cursor_down", 3),
                                       ("cursor_forward", 1), ("cursor_backward", 12)]),
    (b"\x1b[H\x1b[5;10H\x1b[;7f\x1b[2G\x1b[4d\x1b[9`",
     [("cursor_position", 0, 0), ("cursor_position", 9, 4), ("cursor_position", 6, 0),
      ("cursor_column", 1), ("cursor_line", 3), ("cursor_column", 8)]),
    (b"\x1b[2E\x1b[F", [("cursor_down", 2), ("carriage_return",), ("cursor_up", 1),
                        ("carriage_return",)]),
    (b"\x1bD\x1bM\x1bE\x1b7\x1b8\x1b=\x1b>\x1bH\x1bc",
     [("index",), ("reverse_index",), ("next_line",), ("save_cursor",), ("restore_cursor",),
      ("application_keypad_mode",), ("numeric_keypad_mode",),
      ("horizontal_tabulation_set",), ("reset",)]),
    (b"\x1b[4h\x1b[4;20l\x1b[?1;7h\x1b[?1049l\x1b[?2004h",
     [("set_modes", [4]), ("reset_modes", [4, 20]), ("set_private_modes", [1, 7]),
      ("reset_private_modes", [1049]), ("set_private_modes", [2004])]),
    (b"\x1b(0\x1b)B\x1b(A\x1bN\x1bO", [("select_character_set", CS_DRAWING, 0),
                                       ("select_character_set", CS_US, 1),
                                       ("select_character_set", CS_UK, 0),
                                       ("single_shift2",), ("single_shift3",)]),
    (b"\x1b[m\x1b[1;31m\x1b[38;5;200;48;2;1;2;3m\x1b[38:2::10:20:30m\x1b[38:5:9m",
     [("select_graphic_rendition",), ("select_graphic_rendition", 1, 31),
      ("select_graphic_rendition", 38, 5, 200, 48, 2, 1, 2, 3),
      ("select_graphic_rendition", 38, 2, 10, 20, 30),
      ("select_graphic_rendition", 38, 5, 9)]),
    (b"\x1b[g\x1b[0g\x1b[3g\x1b[2I", [("tabulation_clear",), ("tabulation_clear",),
                                      ("tabulation_clear_all",), ("horizontal_tab", 2)]),
    (b"\x1b#3\x1b#4\x1b#5\x1b#6", [("double_height_line", True), ("double_height_line", False),
                                   ("single_width_line",), ("double_width_line",)]),
    (b"\x1b[K\x1b[0K\x1b[1K\x1b[2K\x1b[J\x1b[1J\x1b[2J",
     [("erase_to_line_end",), ("erase_to_line_end",), ("erase_to_line_beginning",),
      ("erase_line",), ("erase_to_display_end",), ("erase_to_display_beginning",),
      ("erase_display",)]),
    (b"\x1b[3X\x1b[P\x1b[2@\x1b[L\x1b[4M\x1b[S\x1b[2T",
     [("erase_character", 3), ("delete_character", 1), ("insert_character", 2),
      ("insert_line", 1), ("delete_line", 4), ("scroll_up", 1), ("scroll_down", 2)]),
    (b"\x1b[r\x1b[2;10r\x1b[;5r", [("set_scroll_region", None, None),
                                    ("set_scroll_region", 1, 9), ("set_scroll_region", None, 4)]),
    (b"\x1b]0;my title\x07\x1b]2;t\xc3\xa9\x1b\\\x1b]1;icon\x07",
     [("set_title", "my title"), ("set_title", "t\u00e9")]),
    (b"\x1b[6n\x1b[5n\x1b[c\x1b[>c\x1bZ\x1b#8\x1b[?25$p",
     [("unhandled_control_sequence", b"\x1b[6n"), ("unhandled_control_sequence", b"\x1b[5n"),
      ("unhandled_control_sequence", b"\x1b[c"), ("unhandled_control_sequence", b"\x1b[>c"),
      ("unhandled_control_sequence", b"\x1bZ"), ("unhandled_control_sequence", b"\x1b#8"),
      ("unhandled_control_sequence", b"\x1b[?25$p")]),
    (b"x\x1b[3b", [("write", "xxxx")]),
    # controls inside a CSI are executed; CAN/SUB abort; DCS, SOS, PM, APC are swallowed
    (b"\x1b[2\r\nA\x1b[3\x18B\x1b[1\x1aC", [("carriage_return",), ("line_feed",),
                                            ("cursor_up", 2), ("write", "BC")]),
    (b"\x1bPq#0;2;0;0;0#0~~@@\x1b\\a\x1bX sos \x1b\\b\x1b^pm\x1b\\c\x1b_apc\x07x\x1b\\d",
     [("write", "abcd")]),  # BEL does not end an APC string (as tmux)
    (b"\x1b[?1;2;3x\x1b[1;2<q", [("unhandled_control_sequence", b"\x1b[?1;2;3x")]),
    (b"\xff\xc3(\xed\xa0\x80\xf0\x9f\x98", [("write", "\ufffd\ufffd(\ufffd\ufffd\ufffd")]),
    (b"\xc2\x9b1m\x7f", [("write", "1m")]),  # U+009B (C1 CSI as UTF-8) and DEL are ignored
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_every_chunk_size(data: bytes, expected: list[Event]) -> None:
    for chunk in range(1, len(data) + 1):
        assert parse(data, chunk) == expected, chunk


def test_unterminated_sequences_wait_for_their_end() -> None:
    rec = Recorder()
    parser = TerminalParser(rec)
    parser.feed(b"ab\x1b[1;3")
    assert rec.events == [("write", "ab")]
    parser.feed(b"1mc\x1b]0;unfinished")
    assert rec.events[1:] == [("select_graphic_rendition", 1, 31), ("write", "c")]
    parser.feed(b"\x07")
    assert rec.events[-1] == ("set_title", "unfinished")


def test_parameter_count_and_values_are_bounded() -> None:
    events = parse(b"\x1b[" + b"1;" * 10_000 + b"m" + b"\x1b[99999999999999A")
    sgr = events[0]
    assert sgr[0] == "select_graphic_rendition" and len(sgr) == 1 + 32
    assert events[1] == ("cursor_up", 65535)


def test_osc_length_is_bounded() -> None:
    events = parse(b"\x1b]2;" + b"x" * 100_000 + b"\x07ok")
    assert events == [("set_title", "x" * 4094), ("write", "ok")]


def test_buffer_is_a_terminal() -> None:
    assert isinstance(TerminalBuffer(), Terminal)
    assert TerminalParser(TerminalBuffer()).terminal is not None


ALPHABET = (b"\x1b[]P^_X;:?>0123456789mHJKABCDrhlqx~\x07\x18\x1a\\()#%0B\r\n\t\x08"
            b"\xc3\xa9\xe2\x82\xac\xff\x80\xf0\x9f\x98\x80ab ")


@pytest.mark.parametrize("seed", range(30))
def test_random_input_never_raises_and_chunking_does_not_matter(seed: int) -> None:
    rng = random.Random(seed)
    data = bytes(rng.choice(ALPHABET) for _ in range(3000))
    whole = parse(data)
    for chunk in (1, 2, 3, 7, 64):
        assert parse(data, chunk) == whole
    screens = set()
    for chunk in (0, 1, 5):
        buf = TerminalBuffer(40, 10)
        parser = TerminalParser(buf)
        step = chunk or len(data)
        for i in range(0, len(data), step):
            parser.feed(data[i:i + step])
        screens.add((str(buf), buf.cursor))
    assert len(screens) == 1


def test_random_bytes_on_a_buffer_never_raise() -> None:
    rng = random.Random(7)
    for size in (1, 2, 80):
        buf = TerminalBuffer(size, max(1, size // 4), scrollback=5)
        parser = TerminalParser(buf)
        parser.feed(bytes(rng.randrange(256) for _ in range(20_000)))
        assert 0 <= buf.cursor[0] <= size and 0 <= buf.cursor[1] < buf.height


class Proxy:
    """A Python Terminal in front of a TerminalBuffer: the parser's slow path drives it."""

    def __init__(self, buf: TerminalBuffer) -> None:
        self.buf = buf
        self.inner = TerminalParser(buf)

    def __getattr__(self, name: str) -> Any:
        if name not in TERMINAL_METHODS:
            raise AttributeError(name)
        return getattr(self.buf, name)

    def unhandled_control_sequence(self, seq: bytes) -> None:
        self.inner.feed(seq)  # the buffer-only sequences (reports, DECALN, CBT)


def test_method_calls_draw_what_the_fast_path_draws() -> None:
    """The same stream through Terminal method calls and through the native fast path."""
    import re
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_tmux_oracle import HAND, generated

    # REP is left out: a Python terminal gets write(char * n), which the buffer does not clip
    # at the end of the line as its native REP does
    streams = [data for name, data in HAND.items() if not name.startswith("rep")]
    streams += [re.sub(rb"\x1b\[\d*b", b"", generated(seed)) for seed in range(10)]
    for data in streams:
        fast = TerminalBuffer(80, 24)
        TerminalParser(fast).feed(data)
        slow = TerminalBuffer(80, 24)
        TerminalParser(Proxy(slow)).feed(data)
        assert str(slow) == str(fast)
        assert slow.cursor == fast.cursor
        assert [slow.cell(x, y) for y in range(24) for x in range(80)] == [
            fast.cell(x, y) for y in range(24) for x in range(80)]


def test_text_reaches_a_python_terminal_in_bounded_writes() -> None:
    sizes: list[int] = []

    class Sizes:
        def write(self, text: str) -> None:
            sizes.append(len(text))

    parser = TerminalParser(Sizes())
    parser.feed(b"x" * 200_000 + "\u00e9".encode() * 70_000)
    assert sum(sizes) == 270_000 and max(sizes) == 65_536


def test_any_bytes_like_input() -> None:
    for data in (b"ab\x1b[1mc", bytearray(b"ab\x1b[1mc"), memoryview(b"ab\x1b[1mc")):
        assert parse(data) == [("write", "ab"), ("select_graphic_rendition", 1), ("write", "c")]  # type: ignore[arg-type]
        buf = TerminalBuffer(10, 2)
        TerminalParser(buf).feed(data)
        assert str(buf).startswith("abc") and buf.cell(2, 0).bold


def test_vt102_reexports_the_split_core() -> None:
    """The names the package has always imported from _vt102 are the split modules' own."""
    from plait.conch.insults import _grid, _keys, _screen, _vt102, _width

    assert _vt102.KeyParser is _keys.KeyParser
    assert _vt102.TerminalBuffer is _screen.TerminalBuffer
    assert _vt102.char_width is _width.char_width
    assert issubclass(_screen.TerminalBuffer, _grid.Grid)


def test_the_native_buffer_is_driven_without_python_calls() -> None:
    """A TerminalBuffer (even a Python subclass) gets C calls: its Python methods are not used."""
    calls: list[str] = []

    class Watched(TerminalBuffer):
        def cursor_position(self, column: int, line: int) -> None:
            calls.append("cursor_position")

        def select_graphic_rendition(self, *params: int) -> None:
            calls.append("select_graphic_rendition")

        def write(self, text: str) -> None:
            calls.append("write")

    buf = Watched(10, 3)
    TerminalParser(buf).feed(b"\x1b[2;3H\x1b[1mhi\x1b[0m")
    assert calls == []
    assert buf.lines()[1] == "  hi" and buf.cell(2, 1).bold and buf.cursor == (4, 1)
