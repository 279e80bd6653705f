"""Line editing: every key of RecvLine/HistoricRecvLine, checked on the screen a terminal
shows (native buffer), plus the line and history limits."""
from __future__ import annotations

import pytest

from conch.apps.screen import Term
from plait.conch.apps.recvline import MAX_HISTORY, MAX_LINE, HistoricRecvLine, RecvLine

LEFT, RIGHT, UP, DOWN = b"\x1b[D", b"\x1b[C", b"\x1b[A", b"\x1b[B"
HOME, END, DELETE, INSERT = b"\x1b[H", b"\x1b[F", b"\x1b[3~", b"\x1b[2~"


class Lines(HistoricRecvLine):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[str] = []

    def line_received(self, line: str) -> None:
        self.received.append(line)
        super().line_received(line)


def term(width: int = 40) -> Term:
    return Term(Lines, width=width, height=6)


def current(t: Term) -> str:
    return t.lines()[t.buffer.cursor[1]]


def test_typing_and_enter() -> None:
    t = term()
    t.send("hello world\r")
    assert t.app.received == ["hello world"]
    assert t.lines()[:2] == ["> hello world", ">"]
    assert t.buffer.cursor == (2, 1)


@pytest.mark.parametrize(("keys", "line"), [
    (b"abc" + LEFT + LEFT + b"X", "aXbc"),
    (b"abc" + LEFT + LEFT + RIGHT + b"X", "abXc"),
    (b"abc" + HOME + b"X", "Xabc"),
    (b"abc\x01X", "Xabc"),                      # Ctrl-A
    (b"abc" + HOME + END + b"X", "abcX"),
    (b"abc\x01\x05X", "abcX"),                  # Ctrl-E
    (b"abcd" + LEFT + LEFT + b"\x0b", "ab"),     # Ctrl-K
    (b"abcd" + LEFT + b"\x15", "d"),             # Ctrl-U
    (b"one two  three\x17", "one two  "),        # Ctrl-W
    (b"one two  \x17", "one "),
    (b"abc\x7f", "ab"),
    (b"abc\x08\x08", "a"),
    (b"abc" + HOME + DELETE, "bc"),
    (b"abc" + HOME + b"\x04", "bc"),             # Ctrl-D on a non-empty line deletes
    (b"abc" + HOME + INSERT + b"XY", "XYc"),     # overwrite mode
    (b"\x7f" + LEFT + DELETE + b"ok", "ok"),     # nothing to erase is no error
])
def test_editing_keys(keys: bytes, line: str) -> None:
    t = term()
    t.send(keys)
    assert t.app.line == line
    assert current(t) == ("> " + line).rstrip()
    t.send("\r")
    assert t.app.received == [line]


def test_cursor_follows_edits_on_screen() -> None:
    t = term()
    t.send(b"abcdef" + LEFT + LEFT)
    assert t.buffer.cursor == (2 + 4, 0)
    t.send(HOME)
    assert t.buffer.cursor == (2, 0)


def test_history_up_down_keeps_the_draft() -> None:
    t = term()
    t.send("first\rsecond\rdraft")
    t.send(UP)
    assert t.app.line == "second" and current(t) == "> second"
    t.send(UP + UP)                       # stops at the oldest
    assert t.app.line == "first"
    t.send(DOWN + DOWN)
    assert t.app.line == "draft"
    t.send(DOWN)
    assert t.app.line == "draft"
    t.send(UP + b"\r")
    assert t.app.received == ["first", "second", "second"]
    assert t.app.history == ["first", "second"]   # a repeat is not stored twice


def test_history_is_bounded() -> None:
    t = term()
    for n in range(MAX_HISTORY + 5):
        t.server.data_received(f"{n}\r".encode())
    assert len(t.app.history) == MAX_HISTORY
    assert t.app.history[0] == "5"


def test_line_length_limit_rings_the_bell() -> None:
    t = term()
    t.server.data_received(b"x" * (MAX_LINE + 3))
    assert len(t.app.line) == MAX_LINE
    assert t.wire.data.count(b"\x07") == 3


def test_long_line_scrolls_sideways_and_resize_redraws() -> None:
    t = term(width=20)
    t.send("abcdefghijklmnopqrstuvwxyz")
    assert current(t) == "> jklmnopqrstuvwxyz"
    assert t.buffer.cursor == (19, 0)
    t.send(HOME)
    assert current(t) == "> abcdefghijklmnopq"
    t.resize(30, 6)
    assert current(t) == "> abcdefghijklmnopqrstuvwxyz"


def test_paste_enters_lines_and_drops_controls() -> None:
    t = term()
    t.server.paste_received("one\r\ntw\x07o\nthree")
    assert t.app.received == ["one", "two"]
    assert t.app.line == "three"


def test_ctrl_d_on_empty_line_hangs_up() -> None:
    t = Term(RecvLine, width=20, height=4)
    t.send(b"\x04")
    assert t.wire.closed
