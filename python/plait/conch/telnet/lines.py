"""A telnet server for line-at-a-time programs (not terminal applications).

Why: many telnet services are a prompt and a reply (a MUD, an admin console, a test
harness). The client edits the line itself (LINEMODE with EDIT and TRAPSIG when it knows
LINEMODE, the NVT's local echo otherwise), the server gets whole lines, and a coroutine
``handler(session)`` talks with ``await session.readline()`` and ``session.write()``. The
password at login is hidden by WILL ECHO while it is typed.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from plait.conch.telnet import constants as c
from plait.conch.telnet.errors import TelnetError
from plait.conch.telnet.login import LoginConfig, LoginDialogue
from plait.conch.telnet.protocol import TelnetConnection
from plait.conch.telnet.session import (
    NEGOTIATION_TIMEOUT,
    ServerSession,
    TelnetServer,
    start_server,
)
from plait.core.cred import Portal

__all__ = ["MAX_LINE", "MAX_QUEUED_LINES", "TelnetLineSession", "listen_lines"]

log = logging.getLogger(__name__)

#: Longest line accepted (bytes, without its end); a longer one ends the connection.
MAX_LINE = 4096
#: Complete lines kept unread before the server stops reading from the client.
MAX_QUEUED_LINES = 64

_LINE_END = re.compile(rb"\r\n|\r\x00|\r|\n")

LineHandler = Callable[["TelnetLineSession"], Awaitable[Any]]


class _LineServer(TelnetServer):
    def __init__(self, handler: LineHandler, *, login: LoginConfig | None,
                 negotiation_timeout: float, max_line: int) -> None:
        super().__init__(login=login, negotiation_timeout=negotiation_timeout)
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self.handler = handler
        self.max_line = max_line


class TelnetLineSession(ServerSession):
    """One client of :func:`listen_lines`: ``readline()``, ``write()``, ``close()``."""

    server: _LineServer

    def __init__(self, server: _LineServer) -> None:
        super().__init__(server, TelnetConnection(server=True,
                                                  linemode=c.MODE_EDIT | c.MODE_TRAPSIG))
        self._partial = bytearray()
        self._lines: deque[bytes] = deque()
        self._eof = False
        self._error: TelnetError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._after_cr = False

    # -- the handler's API

    @property
    def terminal_type(self) -> str | None:
        return self.conn.terminal_type

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default) if self.transport else default

    async def readline(self) -> str:
        """The next line, decoded as UTF-8, ending in ``"\\n"`` whatever end the client
        sent (as ``file.readline``: a last unfinished line has none, and "" means the client
        is gone or sent EOF). Raises ``TelnetError`` after an overlong line (the client is
        told)."""
        while not self._lines:
            if self._error is not None:
                raise self._error
            if self._eof or self.closing:
                return ""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        line = self._lines.popleft()
        if len(self._lines) < MAX_QUEUED_LINES:
            self.release_reading("lines")
        return line.decode("utf-8", "replace")

    def write(self, text: str) -> None:
        """Text to the client; ``\\n`` becomes the NVT newline (CR LF)."""
        self.send(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))

    # -- ServerSession hooks

    def configure(self) -> None:
        self.conn.enable_remote(c.LINEMODE)

    def negotiated(self) -> bool:
        return not self.waiting_for(c.LINEMODE)

    def login_dialogue(self, config: LoginConfig) -> LoginDialogue:
        return LoginDialogue(config, self.send, echo_name=False, hide_input=self._hide)

    def _hide(self, hidden: bool) -> None:
        if hidden:
            self.conn.enable_local(c.ECHO)
        else:
            self.conn.disable_local(c.ECHO)
        self.flush()

    async def start(self, typed_ahead: bytes) -> None:
        if typed_ahead:
            self.on_data(typed_ahead)
        try:
            await self.server.handler(self)
        except TelnetError as exc:
            log.info("telnet line session %s: %s", self.peer(), exc)
        except Exception:
            log.exception("telnet line handler failed for %s", self.peer())
        self.close()

    def on_data(self, data: bytes) -> None:
        # CR LF, CR NUL, a bare CR or a bare LF end a line; the second byte of a pair may
        # come in the next event when the CR ended a packet.
        if self._after_cr and data[:1] in (b"\n", b"\x00"):
            data = data[1:]
        self._after_cr = data[-1:] == b"\r"
        *lines, tail = _LINE_END.split(data)
        for line in lines:
            self._line_done(line)
        if self._error is None:
            self._partial += tail
            if len(self._partial) > self.server.max_line:
                self._overlong()
        self._wake()

    def _line_done(self, tail: bytes) -> None:
        if self._error is not None:
            return
        line = bytes(self._partial) + tail
        self._partial.clear()
        if len(line) > self.server.max_line:
            self._overlong()
            return
        self._lines.append(line + b"\n")
        if len(self._lines) >= MAX_QUEUED_LINES:
            self.hold_reading("lines")

    def _overlong(self) -> None:
        self._error = TelnetError(f"line longer than {self.server.max_line} bytes")
        self._partial.clear()
        self._lines.clear()
        self.send(f"\r\nline longer than {self.server.max_line} bytes\r\n".encode())
        self.close()

    def on_command(self, command: int) -> None:
        if command == c.AYT:
            self.send(b"\r\n[plait: yes]\r\n")
        elif command == c.EOF_CMD:
            self._eof = True
            self._wake()
        elif command in (c.IP, c.ABORT, c.BRK):
            self.close()

    def on_lost(self, exc: Exception | None) -> None:
        if self._partial and self._error is None:
            self._lines.append(bytes(self._partial))
            self._partial.clear()
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


async def listen_lines(host: str, port: int, handler: LineHandler, *,
                       portal: Portal | None = None, login_timeout: float = 60.0,
                       max_attempts: int = 3, failure_delay: float = 2.0,
                       interfaces: Sequence[Any] = (object,), banner: str | None = None,
                       max_line: int = MAX_LINE,
                       negotiation_timeout: float = NEGOTIATION_TIMEOUT) -> TelnetServer:
    """Serve ``await handler(session)`` per client on ``host``:``port``; the connection
    closes when the handler returns. Login as in ``listen_terminal`` (``session.avatar``)."""
    login = None
    if portal is not None:
        login = LoginConfig(portal, tuple(interfaces), login_timeout, max_attempts,
                            failure_delay, banner)
    server = _LineServer(handler, login=login, negotiation_timeout=negotiation_timeout,
                         max_line=max_line)
    return await start_server(host, port, server, lambda: TelnetLineSession(server))
