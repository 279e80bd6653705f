"""WindowProtocol: a widget tree served on a terminal through ServerProtocol."""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conch.insults.window_harness import ENTER, TAB, Harness, Wire, recorded, tmux_screen
from plait.conch.insults import terminal
from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.insults.server import ServerProtocol
from plait.conch.insults.window import (
    Border,
    Button,
    TextInput,
    TextOutputArea,
    TopWindow,
    VBox,
    WindowProtocol,
)
from plait.conch.insults.window_surface import DEC_GRAPHICS


def chat_widgets(window: TopWindow, on_quit: Callable[[], object]) -> None:
    """A text input whose lines collect in a bordered output area above it."""
    log = TextOutputArea()
    lines: list[str] = []

    def said(text: str) -> None:
        lines.append(text)
        log.set_text("\n".join(lines))
        entry.set_text("")

    entry = TextInput(30, said)
    box = VBox()
    box.add_child(Border(log))
    box.add_child(entry)
    box.add_child(Button("quit", on_quit))
    window.add_child(box)


class Chat(WindowProtocol):
    def build(self, window: TopWindow) -> None:
        chat_widgets(window, self.close)


def test_the_cursor_is_hidden_and_the_tree_drawn() -> None:
    harness = Harness(lambda window: window.add_child(TextInput(5, lambda _: None)), 10, 2)
    names = recorded(harness.settle()).calls
    assert ("reset_private_modes", ([25],)) in names or ("reset_private_modes", ((25,),)) in names


async def test_a_session_typed_as_bytes(loop_kind: str) -> None:
    wire = Wire()
    server = ServerProtocol(Chat)
    server.terminal_size(20, 6)
    server.make_connection(wire)
    buffer = TerminalBuffer(20, 6)
    parser = TerminalParser(buffer)

    async def screen() -> list[str]:
        for _ in range(10):  # the default scheduler paints on the next loop turn
            await asyncio.sleep(0)
        parser.feed(wire.take())
        return str(buffer).split("\n")

    assert (await screen())[0] == "\u250c" + "\u2500" * 18 + "\u2510"
    assert terminal.DECTCEM not in buffer.private_modes  # the cursor is hidden
    server.data_received(b"hello" + ENTER + b"world" + ENTER)
    lines = await screen()
    assert lines[1:3] == ["\u2502hello" + " " * 13 + "\u2502", "\u2502world" + " " * 13 + "\u2502"]
    server.data_received(TAB + ENTER)
    assert wire.closed
    parser.feed(wire.take())
    assert str(buffer).strip() == ""
    assert buffer.cursor == (0, 0)
    assert terminal.DECTCEM in buffer.private_modes


def test_alternate_screen_gives_the_user_their_screen_back() -> None:
    harness = Harness(lambda window: window.add_child(TextInput(5, lambda _: None)), 10, 2,
                      alternate_screen=True)
    harness.buffer.write("shell$")  # on the screen before the application's output arrives
    harness.send("abc")
    assert harness.screen()[0] == "abc"
    assert harness.buffer.alternate_screen
    harness.close()
    harness.settle()
    assert not harness.buffer.alternate_screen
    assert harness.screen()[0] == "shell$"
    assert terminal.DECTCEM in harness.buffer.private_modes
    assert harness.wire.closed


def test_resize_lays_the_tree_out_again_and_redraws_everything() -> None:
    def build(window: TopWindow) -> None:
        box = VBox()
        area = TextOutputArea()
        area.set_text("a fairly long line of words")
        box.add_child(Border(area))
        window.add_child(box)

    harness = Harness(build, 14, 4)
    assert harness.screen()[1:3] == ["\u2502a fairly    \u2502", "\u2502long line of\u2502"]
    harness.resize(20, 3)
    data = harness.settle()
    assert "erase_display" in recorded(data).names()
    assert str(harness.buffer).split("\n") == [
        "\u250c" + "\u2500" * 18 + "\u2510", "\u2502a fairly long line\u2502",
        "\u2514" + "\u2500" * 18 + "\u2518"]


def test_nothing_is_painted_after_the_connection_is_lost() -> None:
    entry = TextInput(5, lambda _: None)
    harness = Harness(lambda window: window.add_child(entry), 10, 2)
    harness.settle()
    harness.server.connection_lost(None)
    entry.set_text("late")
    assert harness.settle() == b""


TO_DEC = str.maketrans({uni: dec for dec, uni in DEC_GRAPHICS.items() if dec in "jklmqx"})


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("dec_graphics", [True, False], ids=["dec-graphics", "utf8"])
def test_tmux_shows_what_the_buffer_shows_after_a_session_of_updates(
        tmp_path: Path, dec_graphics: bool) -> None:
    """Every byte of a session (first paint, then only damaged cells) played into tmux."""
    harness = Harness(lambda window: chat_widgets(window, lambda: None), 40, 12,
                      dec_graphics=dec_graphics)
    session = bytearray(harness.settle())
    for keys in (b"hello", ENTER, b"second line", ENTER, b"x\x7f\x7fy", TAB, TAB, b"z"):
        harness.send(keys)
        session += harness.settle()
    theirs, cursor = tmux_screen(bytes(session), 40, 12, tmp_path)
    mine = str(harness.buffer).split("\n")
    if dec_graphics:  # tmux's plain capture shows DEC line drawing as the letters sent
        mine = [line.translate(TO_DEC) for line in mine]
    assert theirs == mine
    assert cursor == harness.buffer.cursor
    assert str(harness.buffer).split("\n")[1:3] == [
        "\u2502hello" + " " * 33 + "\u2502", "\u2502second line" + " " * 27 + "\u2502"]
