"""The login line editor and dialogue, without a network."""
from __future__ import annotations

import asyncio

import pytest

from conch.telnet.apps import PASSWORD, USER, make_portal
from plait.conch.telnet.login import (
    MAX_LOGIN_LINE,
    MAX_LOGIN_TYPE_AHEAD,
    LineEditor,
    LoginConfig,
    LoginDialogue,
)
from plait.core.cred import LoginFailed


def test_editor_echoes_erases_and_ends_lines() -> None:
    ed = LineEditor(echo=True)
    assert ed.feed(b"ab") == (b"ab", None, b"")
    assert ed.feed("é".encode()) == ("é".encode(), None, b"")
    assert ed.feed(b"\x7f") == (b"\x08 \x08", None, b"")        # a whole UTF-8 character
    assert ed.feed(b"\x08c\x01") == (b"\x08 \x08c", None, b"")    # other controls ignored
    assert ed.feed(b"\r\nrest") == (b"\r\n", "ac", b"rest")        # CR LF is one Enter
    assert ed.feed(b"x\x15y\r") == (b"x\x08 \x08y\r\n", "y", b"")  # ^U kills the line
    assert ed.feed(b"\nz\n") == (b"z\r\n", "z", b"")               # the LF of the CR: skipped


def test_editor_without_echo_and_limits() -> None:
    ed = LineEditor(echo=False)
    assert ed.feed(b"secret\x7f\r\x00") == (b"\r\n", "secre", b"")
    ed = LineEditor(echo=True, max_length=4)
    echo, line, _ = ed.feed(b"abcdef\r")
    assert echo == b"abcd\x07\x07\r\n" and line == "abcd"
    assert LineEditor(echo=True).max_length == MAX_LOGIN_LINE
    ed = LineEditor(echo=True)
    ed.feed(b"ab\x03")
    assert ed.aborted


def test_login_config_is_checked() -> None:
    with pytest.raises(ValueError):
        LoginConfig(make_portal(), max_attempts=0)
    with pytest.raises(ValueError):
        LoginConfig(make_portal(), timeout=0)


async def test_dialogue_logs_in_with_typed_ahead_input() -> None:
    out = bytearray()
    dialogue = LoginDialogue(LoginConfig(make_portal(), banner="Welcome\n"), out.extend)
    task = asyncio.create_task(dialogue.run())
    await asyncio.sleep(0)
    dialogue.feed(f"{USER}\r\n{PASSWORD}\r\nls\r".encode())      # all in one packet
    avatar, logout, leftover = await task
    assert avatar == f"avatar:{USER}" and leftover == b"ls\r"
    assert out == f"Welcome\r\nlogin: {USER}\r\nPassword: \r\n".encode()
    logout()


async def test_dialogue_refuses_and_aborts() -> None:
    out = bytearray()
    config = LoginConfig(make_portal(), max_attempts=2, failure_delay=0)
    dialogue = LoginDialogue(config, out.extend)
    task = asyncio.create_task(dialogue.run())
    await asyncio.sleep(0)
    dialogue.feed(b"alice\rwrong\r")
    while out.count(b"login: ") < 2:
        await asyncio.sleep(0.01)
    dialogue.feed(b"x\x04")                                       # ^D leaves
    with pytest.raises(LoginFailed, match="abandoned"):
        await task
    assert out.count(b"Login incorrect") == 1


async def test_typing_during_the_password_check_is_kept_within_a_bound() -> None:
    out = bytearray()
    dialogue = LoginDialogue(LoginConfig(make_portal()), out.extend)
    task = asyncio.create_task(dialogue.run())
    await asyncio.sleep(0)
    dialogue.feed(f"{USER}\r{PASSWORD}\r".encode())
    await asyncio.sleep(0)                                   # the portal is checking now
    dialogue.feed(b"ls\r" + b"x" * (MAX_LOGIN_TYPE_AHEAD + 100))
    _, _, leftover = await task
    assert leftover == (b"ls\r" + b"x" * MAX_LOGIN_TYPE_AHEAD)[:MAX_LOGIN_TYPE_AHEAD]
