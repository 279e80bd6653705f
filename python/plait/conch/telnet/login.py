"""The ``login:`` / ``Password:`` dialogue a telnet server runs before a session.

Why here and not in the terminal application: telnet has no authentication of its own, so
the server edits the two lines itself (it has said WILL ECHO, so it echoes the name and
not the password) and hands the credentials to a cred Portal. Failures are delayed and
counted, and the whole dialogue has a deadline, so guessing costs time and a stalled
client cannot hold a connection open.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from plait.core.cred import LoginFailed, Portal, UsernamePassword

__all__ = ["MAX_LOGIN_LINE", "MAX_LOGIN_TYPE_AHEAD", "LineEditor", "LoginConfig", "LoginDialogue"]

log = logging.getLogger(__name__)

#: Longest user name or password accepted at the prompts (bytes); more is refused with BEL.
MAX_LOGIN_LINE = 256
#: Bytes typed while the portal checks a password that are kept; more are dropped.
MAX_LOGIN_TYPE_AHEAD = 4096

_ERASE = (0x7F, 0x08)
_KILL = 0x15          # ^U
_ABORT = (0x03, 0x04)  # ^C, ^D: leave


class LineEditor:
    """Collects one line from a character-at-a-time client, echoing if asked.

    ``feed`` returns what to echo and, once Enter arrives, the line; ``aborted`` turns true on
    ^C or ^D; ``echo_newline`` says whether Enter is echoed as CR LF. A CR LF or CR NUL pair from the core arrives as ``\\r\\n`` or ``\\r``; a bare LF
    also ends the line (clients in line mode send one).
    """

    def __init__(self, *, echo: bool, max_length: int = MAX_LOGIN_LINE,
                 echo_newline: bool = True) -> None:
        self.echo = echo
        self.echo_newline = echo_newline
        self.max_length = max_length
        self.aborted = False
        self._buf = bytearray()
        self._skip_lf = False

    def feed(self, data: bytes) -> tuple[bytes, str | None, bytes]:
        """``(echo, line or None, bytes left over after the line)``."""
        echo = bytearray()
        for i, byte in enumerate(data):
            if self._skip_lf and byte in (0x0A, 0x00):
                self._skip_lf = False
                continue
            self._skip_lf = False
            if byte in (0x0D, 0x0A):
                rest = data[i + 1:]
                if byte == 0x0D and rest[:1] in (b"\n", b"\x00"):
                    rest = rest[1:]
                else:
                    self._skip_lf = byte == 0x0D   # its LF may come in the next chunk
                if self.echo_newline:
                    echo += b"\r\n"
                line = self._buf.decode("utf-8", "replace")
                self._buf.clear()
                return bytes(echo), line, rest
            if byte in _ABORT:
                self.aborted = True
                return bytes(echo), None, b""
            if byte in _ERASE:
                if self._buf:
                    while self._buf and self._buf[-1] & 0xC0 == 0x80:
                        self._buf.pop()          # UTF-8 continuation bytes
                    if self._buf:
                        self._buf.pop()
                    if self.echo:
                        echo += b"\x08 \x08"
            elif byte == _KILL:
                if self.echo and self._buf:
                    echo += b"\x08 \x08" * len(self._buf.decode("utf-8", "replace"))
                self._buf.clear()
            elif byte < 0x20:
                continue                         # other control characters are ignored
            elif len(self._buf) >= self.max_length:
                echo += b"\x07"
            else:
                self._buf.append(byte)
                if self.echo:
                    echo.append(byte)
        return bytes(echo), None, b""


@dataclass(frozen=True)
class LoginConfig:
    """How the server logs users in (see ``listen_terminal``)."""

    portal: Portal
    interfaces: Sequence[Any] = (object,)
    timeout: float = 60.0
    max_attempts: int = 3
    failure_delay: float = 2.0
    banner: str | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.timeout <= 0 or self.failure_delay < 0:
            raise ValueError("login timeout must be positive and failure delay not negative")


class LoginDialogue:
    """Runs the prompts over ``write`` and lines given to :meth:`feed`.

    A character-mode server echoes the name itself (``echo_name``); a line-mode server lets
    the client echo, and ``hide_input(True)``/``(False)`` around the password (WILL/WONT
    ECHO) stop the client from showing it.

    ``await run()`` returns ``(avatar, logout, leftover)`` or raises ``LoginFailed`` after
    the last refused attempt (or ^C/^D); the caller applies the timeout.
    """

    def __init__(self, config: LoginConfig, write: Callable[[bytes], None], *,
                 echo_name: bool = True, hide_input: Callable[[bool], None] | None = None,
                 ) -> None:
        self.config = config
        self._write = write
        self._echo_name = echo_name
        self._hide_input = hide_input
        self._editor = LineEditor(echo=True)   # one editor: a CR's LF may cross prompts
        self._active = False
        self._line: asyncio.Future[str] | None = None
        self._leftover = b""

    def feed(self, data: bytes) -> None:
        """Keystrokes from the client."""
        editor, waiter = self._editor, self._line
        if not self._active or waiter is None or waiter.done():
            # typed while a password is checked: kept (bounded) for the next prompt or the
            # session, as a terminal keeps type-ahead
            self._leftover += data[:MAX_LOGIN_TYPE_AHEAD - len(self._leftover)]
            return
        echo, line, rest = editor.feed(data)
        if echo:
            self._write(echo)
        if editor.aborted:
            waiter.set_exception(LoginFailed("login abandoned"))
        elif line is not None:
            self._leftover = rest
            waiter.set_result(line)

    async def _prompt(self, prompt: str, *, echo: bool, echo_newline: bool = True) -> str:
        self._editor.echo = echo
        self._editor.echo_newline = echo_newline
        self._editor.aborted = False
        self._active = True
        self._line = asyncio.get_running_loop().create_future()
        self._write(prompt.encode())
        leftover, self._leftover = self._leftover, b""
        if leftover:
            self.feed(leftover)
        try:
            return await self._line
        finally:
            self._active = False

    async def run(self) -> tuple[Any, Any, bytes]:
        cfg = self.config
        if cfg.banner:
            self._write(cfg.banner.replace("\n", "\r\n").encode())
        for attempt in range(1, cfg.max_attempts + 1):
            # Whoever echoes the name echoes its Enter; under WILL ECHO that is the server.
            username = await self._prompt("login: ", echo=self._echo_name,
                                          echo_newline=self._echo_name)
            if self._hide_input is not None:
                self._hide_input(True)
            try:
                password = await self._prompt("Password: ", echo=False)
            finally:
                if self._hide_input is not None:
                    self._hide_input(False)
            try:
                _, avatar, logout = await cfg.portal.login(
                    UsernamePassword(username, password), None, *cfg.interfaces)
            except LoginFailed as exc:
                log.info("telnet login refused for %r (attempt %d): %s", username, attempt, exc)
                await asyncio.sleep(cfg.failure_delay)
                self._write(b"Login incorrect\r\n")
                continue
            return avatar, logout, self._leftover
        self._write(b"Too many failed logins.\r\n")
        raise LoginFailed(f"{cfg.max_attempts} failed attempts")
