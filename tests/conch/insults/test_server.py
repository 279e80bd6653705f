"""ServerProtocol: terminal operations become the right bytes (checked by running them
through the native parser into the native screen buffer), and keys reach the application."""
from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from conch.insults.window_harness import Wire
from plait.conch.insults import keys, terminal
from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import (
    MAX_TERMINAL_HEIGHT,
    MAX_TERMINAL_WIDTH,
    Key,
    ServerProtocol,
    TerminalProtocol,
)


class Recorder(TerminalProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.events: list[tuple[Any, ...]] = []
        self.key_arrived = asyncio.Event()

    def connection_made(self) -> None:
        self.events.append(("made", self.terminal))

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        self.events.append(("key", key, modifier))
        self.key_arrived.set()

    def terminal_size(self, width: int, height: int) -> None:
        self.events.append(("size", width, height))

    def connection_lost(self, reason: Exception | None) -> None:
        self.events.append(("lost", reason))


def connected(factory: Any = Recorder, *args: Any, **kwargs: Any) -> tuple[ServerProtocol, Wire]:
    server = ServerProtocol(factory, *args, **kwargs)
    wire = Wire()
    server.make_connection(wire)
    return server, wire


def screen_after(data: bytes, width: int = 20, height: int = 6) -> TerminalBuffer:
    buffer = TerminalBuffer(width, height)
    TerminalParser(buffer).feed(data)
    return buffer


# Operations with arguments, applied both ways: to a TerminalBuffer directly, and through
# ServerProtocol's bytes and TerminalParser into another.  The screens must agree.
PREPARE = [
    ("write", ("abcdefghijklmnopqrst",)),
    ("cursor_position", (0, 1)),
    ("write", ("ABCDEFGHIJKLMNOPQRST",)),
    ("cursor_position", (0, 2)),
    ("write", ("0123456789",)),
    ("cursor_position", (0, 3)),
    ("write", ("line four",)),
    ("cursor_position", (4, 1)),
]
OPERATIONS: list[tuple[str, tuple[Any, ...]]] = [
    ("cursor_up", (1,)), ("cursor_up", (3,)), ("cursor_down", (2,)), ("cursor_forward", (5,)),
    ("cursor_backward", (2,)), ("cursor_position", (7, 4)), ("cursor_home", ()),
    ("cursor_column", (9,)), ("cursor_line", (3,)), ("index", ()), ("reverse_index", ()),
    ("next_line", ()), ("carriage_return", ()), ("line_feed", ()), ("backspace", ()),
    ("erase_to_line_end", ()), ("erase_to_line_beginning", ()), ("erase_line", ()),
    ("erase_to_display_end", ()), ("erase_to_display_beginning", ()), ("erase_display", ()),
    ("erase_character", (3,)), ("delete_character", (2,)), ("insert_character", (4,)),
    ("insert_line", (1,)), ("delete_line", (2,)), ("scroll_up", (1,)), ("scroll_down", (2,)),
    ("horizontal_tab", (1,)), ("horizontal_tab", (2,)), ("write", ("xyz",)),
    ("select_graphic_rendition", (terminal.BOLD, terminal.FOREGROUND + terminal.RED)),
    ("select_graphic_rendition", (38, 5, 200, 48, 2, 1, 2, 3)),
    ("select_graphic_rendition", (terminal.UNDERLINE, terminal.REVERSE_VIDEO)),
    ("select_graphic_rendition", ()),
]


def apply(target: Any, operations: list[tuple[str, tuple[Any, ...]]]) -> None:
    for name, args in operations:
        getattr(target, name)(*args)


def assert_same_screen(direct: TerminalBuffer, parsed: TerminalBuffer) -> None:
    assert str(parsed) == str(direct)
    assert parsed.cursor == direct.cursor
    for line in range(direct_height(direct)):
        for column in range(20):
            assert parsed.cell(column, line) == direct.cell(column, line), (column, line)


def direct_height(buffer: TerminalBuffer) -> int:
    return len(str(buffer).split("\n"))


@pytest.mark.parametrize(("name", "args"), OPERATIONS, ids=lambda v: str(v))
def test_each_operation_round_trips_to_the_same_screen(name: str, args: tuple[Any, ...]) -> None:
    direct = TerminalBuffer(20, 6)
    apply(direct, PREPARE)
    getattr(direct, name)(*args)
    direct.write("#")  # shows where the cursor and the pen ended up

    server, wire = connected(None)
    apply(server, PREPARE)
    getattr(server, name)(*args)
    server.write("#")
    parsed = screen_after(wire.take())
    assert_same_screen(direct, parsed)


def test_cursor_moves_land_where_expected() -> None:
    server, wire = connected(None)
    server.cursor_position(5, 2)
    server.write("A")
    server.cursor_column(0)
    server.write("B")
    server.cursor_line(4)
    server.write("C")
    server.cursor_home()
    server.write("D")
    screen = screen_after(wire.take())
    assert str(screen).split("\n") == ["D", "", "B    A", "", " C", ""]


def test_erase_and_insert_characters_edit_the_line() -> None:
    server, wire = connected(None)
    server.write("abcdefgh")
    server.cursor_column(2)
    server.erase_character(2)  # ECH blanks without moving the rest
    server.cursor_column(6)
    server.insert_character(2)  # ICH pushes "gh" right
    server.cursor_column(0)
    server.delete_character(1)
    assert str(screen_after(wire.take())).split("\n")[0] == "b  ef  gh"


def test_scroll_up_and_down_move_the_text() -> None:
    server, wire = connected(None)
    for n in range(6):
        server.cursor_position(0, n)
        server.write(f"row{n}")
    server.scroll_up(2)
    assert str(screen_after(bytes(wire.data))).split("\n") == ["row2", "row3", "row4", "row5", "", ""]
    server.scroll_down(3)
    assert str(screen_after(wire.take())).split("\n") == ["", "", "", "row2", "row3", "row4"]


def test_scroll_region_is_zero_based_and_inclusive() -> None:
    server, wire = connected(None)
    for n in range(6):
        server.cursor_position(0, n)
        server.write(f"row{n}")
    server.set_scroll_region(1, 3)
    server.cursor_position(0, 3)
    server.index()  # at the region's bottom: lines 1..3 scroll, 0 and 4..5 stay
    assert str(screen_after(bytes(wire.data))).split("\n") == [
        "row0", "row2", "row3", "", "row4", "row5"]
    server.set_scroll_region()
    server.cursor_position(0, 5)
    server.index()
    assert str(screen_after(wire.take())).split("\n")[:2] == ["row2", "row3"]


def test_line_drawing_character_set_and_shifts() -> None:
    server, wire = connected(None)
    server.select_character_set(terminal.CS_DRAWING, terminal.G0)
    server.write("lqk")
    server.select_character_set(terminal.CS_US, terminal.G0)
    server.write("q")
    server.select_character_set(terminal.CS_DRAWING, terminal.G1)
    server.shift_out()
    server.write("x")
    server.shift_in()
    server.write("x")
    assert str(screen_after(wire.take())).split("\n")[0] == "\u250c\u2500\u2510q\u2502x"


def test_attributes_reach_the_cells() -> None:
    server, wire = connected(None)
    server.select_graphic_rendition(terminal.BOLD, terminal.FOREGROUND + terminal.GREEN)
    server.write("g")
    server.select_graphic_rendition(38, 2, 10, 20, 30, terminal.REVERSE_VIDEO)
    server.write("t")
    server.select_graphic_rendition(terminal.NORMAL)
    server.write("n")
    screen = screen_after(wire.take())
    green, true, normal = screen.cell(0, 0), screen.cell(1, 0), screen.cell(2, 0)
    assert (green.char, green.bold, green.fg) == ("g", True, terminal.GREEN)
    assert (true.char, true.bold, true.reverse, true.fg) == ("t", True, True, (10, 20, 30))
    assert (normal.bold, normal.fg) == (False, None)


def test_private_modes_and_keypad_modes() -> None:
    server, wire = connected(None)
    server.set_private_modes([terminal.BRACKETED_PASTE, terminal.DECCKM])
    server.reset_private_modes([terminal.DECAWM])
    server.set_modes([terminal.IRM])
    server.write("abc")
    server.cursor_column(0)
    server.write("X")  # insert mode pushes "abc" right
    server.reset_modes([terminal.IRM])
    server.application_keypad_mode()
    server.numeric_keypad_mode()
    data = wire.take()
    assert b"\x1b[?2004;1h" in data and b"\x1b[?7l" in data and b"\x1b[4h" in data
    assert data.endswith(b"\x1b=\x1b>")
    assert str(screen_after(data)).split("\n")[0] == "Xabc"


def test_text_is_utf8_and_newline_is_cr_lf() -> None:
    server, wire = connected(None)
    server.write("caf\u00e9\nna\u00efve")
    data = wire.take()
    assert data == "caf\u00e9\r\nna\u00efve".encode()
    assert str(screen_after(data)).split("\n")[:2] == ["caf\u00e9", "na\u00efve"]


def test_title_cannot_smuggle_escape_sequences() -> None:
    server, wire = connected(None)
    server.set_title("my\x07title\x1b[2J")
    server.write("still here")
    data = wire.take()
    assert data.startswith(b"\x1b]2;mytitle[2J\x07")
    assert str(screen_after(data)).split("\n")[0] == "still here"


def test_remaining_operations_write_their_sequences() -> None:
    server, wire = connected(None)
    for method, expected in [
        (server.save_cursor, b"\x1b7"), (server.restore_cursor, b"\x1b8"),
        (server.single_shift2, b"\x1bN"), (server.single_shift3, b"\x1bO"),
        (server.horizontal_tabulation_set, b"\x1bH"), (server.tabulation_clear, b"\x1b[g"),
        (server.tabulation_clear_all, b"\x1b[3g"), (server.double_height_line, b"\x1b#3"),
        (server.single_width_line, b"\x1b#5"), (server.double_width_line, b"\x1b#6"),
        (server.bell, b"\x07"), (server.reset, b"\x1bc"),
    ]:
        method()
        assert wire.take() == expected, method
    server.double_height_line(top=False)
    assert wire.take() == b"\x1b#4"
    server.unhandled_control_sequence(b"\x1b[5n")
    assert wire.take() == b"\x1b[5n"


def test_tab_stops_round_trip() -> None:
    server, wire = connected(None)
    server.tabulation_clear_all()
    server.cursor_column(3)
    server.horizontal_tabulation_set()
    server.cursor_column(11)
    server.horizontal_tabulation_set()
    server.cursor_column(0)
    server.horizontal_tab()
    server.write("a")
    server.horizontal_tab()
    server.write("b")
    server.cursor_column(11)
    server.tabulation_clear()
    server.cursor_column(0)
    server.horizontal_tab(2)  # the stop at 11 is gone: the second tab goes to the margin
    server.write("c")
    assert str(screen_after(wire.take())).split("\n")[0] == "   a       b       c"


def test_save_and_restore_cursor_round_trip() -> None:
    server, wire = connected(None)
    server.cursor_position(3, 2)
    server.save_cursor()
    server.cursor_position(10, 4)
    server.restore_cursor()
    server.write("here")
    assert screen_after(wire.take()).cursor == (7, 2)


def test_reset_clears_the_screen() -> None:
    server, wire = connected(None)
    server.write("junk")
    server.reset()
    assert str(screen_after(wire.take())).strip() == ""


@pytest.mark.parametrize("call", [
    lambda s: s.cursor_up(0), lambda s: s.cursor_forward(-1), lambda s: s.erase_character(0),
    lambda s: s.scroll_up(0), lambda s: s.cursor_position(-1, 0),
    lambda s: s.cursor_column(-1), lambda s: s.cursor_line(-2),
    lambda s: s.select_character_set(b"Z", terminal.G0),
    lambda s: s.select_character_set(terminal.CS_US, 2), lambda s: s.set_modes([]),
    lambda s: s.set_private_modes([-1]), lambda s: s.select_graphic_rendition(256),
    lambda s: s.set_scroll_region(4, 2), lambda s: s.set_scroll_region(-1, 2),
])
def test_bad_arguments_are_refused_and_nothing_is_written(call: Any) -> None:
    server, wire = connected(None)
    with pytest.raises(ValueError):
        call(server)
    assert wire.take() == b""


# -- the application side ---------------------------------------------------------------


def test_factory_builds_the_application_with_its_arguments() -> None:
    server, _ = connected(Recorder, 1, 2, name="x")
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    assert (app.args, app.kwargs) == ((1, 2), {"name": "x"})
    assert app.terminal is server
    assert app.events == [("made", server)]
    assert (server.width, server.height) == (80, 24)


def test_keys_reach_the_application() -> None:
    server, _ = connected()
    server.data_received(b"a\r\x7f\t\x1b[A\x1b[1;5C\x1b[Z\x1bx\x1b[15~\xc3\xa9")
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    assert app.events[1:] == [
        ("key", "a", Modifier.NONE), ("key", "\r", Modifier.NONE),
        ("key", "\x7f", Modifier.NONE), ("key", "\t", Modifier.NONE),
        ("key", keys.UP_ARROW, Modifier.NONE), ("key", keys.RIGHT_ARROW, Modifier.CTRL),
        ("key", "\t", Modifier.SHIFT), ("key", "x", Modifier.ALT),
        ("key", keys.F5, Modifier.NONE), ("key", "\u00e9", Modifier.NONE),
    ]


async def test_a_sequence_split_across_reads_is_one_key(loop_kind: str) -> None:
    server, _ = connected()
    for byte in b"\x1b[24~":
        server.data_received(bytes([byte]))
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    assert app.events[1:] == [("key", keys.F12, Modifier.NONE)]


def test_paste_goes_to_paste_received_or_else_to_keystrokes() -> None:
    class Paster(Recorder):
        def paste_received(self, text: str) -> None:
            self.events.append(("paste", text))

    server, _ = connected(Paster)
    server.data_received(b"\x1b[200~two\nlines\x1b[201~")
    assert server.terminal_protocol.events[1:] == [("paste", "two\nlines")]  # type: ignore[union-attr]

    plain, _ = connected(Recorder)
    plain.data_received(b"\x1b[200~ab\x1b[201~")
    assert plain.terminal_protocol.events[1:] == [  # type: ignore[union-attr]
        ("key", "a", Modifier.NONE), ("key", "b", Modifier.NONE)]


async def test_a_lone_escape_arrives_after_the_timeout(loop_kind: str) -> None:
    server, _ = connected()
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    server.data_received(b"\x1b")
    assert server.escape_pending
    assert app.events[1:] == []
    await asyncio.wait_for(app.key_arrived.wait(), 5)
    assert app.events[1:] == [("key", "\x1b", Modifier.NONE)]
    assert not server.escape_pending


async def test_the_rest_of_a_sequence_cancels_the_escape_timer(loop_kind: str) -> None:
    server, _ = connected()
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    server.data_received(b"\x1b")
    server.data_received(b"[B")
    assert not server.escape_pending
    assert app.events[1:] == [("key", keys.DOWN_ARROW, Modifier.NONE)]


def test_flush_keys_delivers_a_pending_escape_at_once() -> None:
    server, _ = connected()
    server._keys.feed(b"\x1b")  # as if the timer were armed
    server.flush_keys()
    assert server.terminal_protocol.events[1:] == [  # type: ignore[union-attr]
        ("key", "\x1b", Modifier.NONE)]


def test_terminal_size_updates_and_tells_the_application() -> None:
    server, _ = connected()
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    server.terminal_size(132, 43)
    assert (server.width, server.height) == (132, 43)
    server.terminal_size(0, 50)  # NAWS 0 = unknown: keep the width
    assert (server.width, server.height) == (132, 50)
    server.terminal_size(10**6, 10**6)
    assert (server.width, server.height) == (MAX_TERMINAL_WIDTH, MAX_TERMINAL_HEIGHT)
    with pytest.raises(ValueError):
        server.terminal_size(-1, 10)
    assert app.events[1:] == [("size", 132, 43), ("size", 132, 50),
                              ("size", MAX_TERMINAL_WIDTH, MAX_TERMINAL_HEIGHT)]


def test_connection_lost_reaches_the_application_once_and_stops_output() -> None:
    server, wire = connected()
    app = server.terminal_protocol
    assert isinstance(app, Recorder)
    error = ConnectionResetError("gone")
    server.connection_lost(error)
    server.connection_lost(None)
    assert app.events[-1] == ("lost", error)
    assert sum(1 for e in app.events if e[0] == "lost") == 1
    server.write("late")
    assert wire.take() == b""
    server.data_received(b"\x1b")  # no timer after the end, no error either
    assert not server.escape_pending


def test_lose_connection_closes_the_transport() -> None:
    server, wire = connected()
    server.lose_connection()
    assert wire.closed



def test_server_protocol_has_every_terminal_method_with_the_same_signature() -> None:
    server, _ = connected(None)
    assert isinstance(server, terminal.Terminal)
    names = [name for name, value in vars(terminal.Terminal).items()
             if callable(value) and not name.startswith("_")]
    assert len(names) >= 50
    for name in names:
        ours = inspect.signature(getattr(ServerProtocol, name))
        theirs = inspect.signature(getattr(terminal.Terminal, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for param in theirs.parameters.values():
            assert ours.parameters[param.name].default == param.default, (name, param.name)
