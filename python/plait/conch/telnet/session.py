"""What every server-side telnet connection shares: the core, the login, the listener.

Why a base class: the terminal server and the line server differ only in the options they
ask for and in what they do with data once a user is in; the event loop around the sans-IO
core, back-pressure, the negotiation wait, the login dialogue, logout and the listening
socket's bookkeeping are the same and live here once.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

from plait.conch.telnet.errors import LoginTimeout
from plait.conch.telnet.events import (
    CommandReceived,
    DataReceived,
    OptionDisabled,
    OptionEnabled,
    OptionRefused,
    ProtocolViolation,
    TerminalType,
    WindowSize,
)
from plait.conch.telnet.login import LoginConfig, LoginDialogue
from plait.conch.telnet.protocol import TelnetConnection
from plait.core.cred import LoginFailed
from plait.core.listening import ListeningServer

__all__ = ["MAX_PENDING_INPUT", "NEGOTIATION_TIMEOUT", "ServerSession", "TelnetServer",
           "start_server"]

log = logging.getLogger(__name__)

#: Seconds the server waits for the options it asked about before going on anyway.
NEGOTIATION_TIMEOUT = 2.0
#: Bytes typed ahead before the session starts after which the socket is not read until
#: it starts (what was read is kept: at most this plus one read).
MAX_PENDING_INPUT = 4096


class TelnetServer(ListeningServer):
    """A listening telnet server: ``port``, ``sockets``, ``connections``, ``close()``,
    ``wait_closed()``; ``async with`` closes it."""

    def __init__(self, *, login: LoginConfig | None, negotiation_timeout: float) -> None:
        if negotiation_timeout < 0:
            raise ValueError("negotiation_timeout must not be negative")
        self.login = login
        self.negotiation_timeout = negotiation_timeout
        self._sessions: set[ServerSession] = set()

    @property
    def connections(self) -> int:
        """How many clients are connected now."""
        return len(self._sessions)

    def close_connections(self) -> None:
        """Hang up on every client."""
        for session in list(self._sessions):
            session.close()


class ServerSession(asyncio.Protocol):
    """One client of a :class:`TelnetServer`. Subclasses say which options to ask for
    (``configure``), when negotiation is done (``negotiated``), and what to do once the user
    is in (``start``, ``on_data``, ``on_resize``, ``on_command``, ``on_lost``)."""

    def __init__(self, server: TelnetServer, conn: TelnetConnection) -> None:
        self.server = server
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.window_size: tuple[int, int] | None = None
        self.avatar: Any = None
        self.closing = False
        self.started = False
        self._logout: Callable[[], Any] | None = None
        self._dialogue: LoginDialogue | None = None
        self._task: asyncio.Task[None] | None = None
        self._negotiated = asyncio.get_running_loop().create_future()
        self._pending = bytearray()
        self._holds: set[str] = set()

    # -- hooks

    def configure(self) -> None:
        """Queue the option requests this kind of session makes."""

    def negotiated(self) -> bool:
        """True once the answers the session waits for have come."""
        return True

    def login_dialogue(self, config: LoginConfig) -> LoginDialogue:
        return LoginDialogue(config, self.send)

    async def start(self, typed_ahead: bytes) -> None:
        """The user is in (``avatar`` set); ``typed_ahead`` is what came meanwhile."""

    def on_data(self, data: bytes) -> None:
        """Data once started."""

    def on_resize(self, width: int, height: int) -> None:
        """A NAWS report once started."""

    def on_command(self, command: int) -> None:
        """A telnet command (IP, AYT...) at any time."""

    def on_lost(self, exc: Exception | None) -> None:
        """The connection is gone."""

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server._sessions.add(self)
        self.configure()
        self.flush()
        self._check_negotiated()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while (event := self.conn.next_event()) is not None:
            if isinstance(event, DataReceived):
                self._input(event.data)
            elif isinstance(event, WindowSize):
                self.window_size = (event.width, event.height)
                self._check_negotiated()
                if self.started:
                    self.on_resize(event.width, event.height)
            elif isinstance(event, CommandReceived):
                self.on_command(event.command)
            elif isinstance(event, TerminalType | OptionEnabled | OptionDisabled
                            | OptionRefused):
                self._check_negotiated()
            elif isinstance(event, ProtocolViolation):
                log.debug("telnet client %s: %s", self.peer(), event.reason)
                if event.fatal:
                    self.close()
                    break
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server._sessions.discard(self)
        if self._task is not None and not self._task.done() and not self.started:
            self._task.cancel()                # negotiating or logging in: nothing to finish
        try:
            self.on_lost(exc)
        except Exception:
            log.exception("telnet session failed in connection_lost")
        logout, self._logout = self._logout, None
        if logout is not None:
            try:
                result = logout()
                if asyncio.iscoroutine(result):
                    asyncio.get_running_loop().create_task(result)
            except Exception:
                log.exception("logout failed")

    def pause_writing(self) -> None:
        self.hold_reading("writing")           # the client is not reading: stop reading it

    def resume_writing(self) -> None:
        self.release_reading("writing")

    def hold_reading(self, reason: str) -> None:
        """Stop reading from the client until every reason given here is released."""
        if not self._holds and self.transport is not None and not self.closing:
            self.transport.pause_reading()
        self._holds.add(reason)

    def release_reading(self, reason: str) -> None:
        if reason not in self._holds:
            return
        self._holds.discard(reason)
        if not self._holds and self.transport is not None and not self.closing:
            self.transport.resume_reading()

    # -- output

    def send(self, data: bytes) -> None:
        """Application bytes to the client (escaped by the core)."""
        if self.closing:
            return
        self.conn.send_data(data)
        self.flush()

    def flush(self) -> None:
        """Write whatever the core has queued (negotiation answers included)."""
        out = self.conn.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.transport is not None:
            self.flush()
            self.transport.close()

    def peer(self) -> Any:
        return self.transport.get_extra_info("peername") if self.transport else None

    # -- the session's life

    def _check_negotiated(self) -> None:
        if not self._negotiated.done() and self.negotiated():
            self._negotiated.set_result(None)

    def waiting_for(self, option: int) -> bool:
        """True while our DO ``option`` is unanswered."""
        return self.conn.options.state(option).him.name.startswith("WANT")

    async def _run(self) -> None:
        srv = self.server
        try:
            try:
                await asyncio.wait_for(asyncio.shield(self._negotiated), srv.negotiation_timeout)
            except TimeoutError:
                log.debug("telnet client %s: negotiation unfinished, going on", self.peer())
            if srv.login is not None:
                self._dialogue = self.login_dialogue(srv.login)
                typed, self._pending = bytes(self._pending), bytearray()
                self.release_reading("type-ahead")
                if typed:
                    self._dialogue.feed(typed)
                try:
                    self.avatar, self._logout, rest = await asyncio.wait_for(
                        self._dialogue.run(), srv.login.timeout)
                except TimeoutError:
                    self.send(b"\r\nLogin timed out.\r\n")
                    raise LoginTimeout(f"no login within {srv.login.timeout} s") from None
                finally:
                    self._dialogue = None
                self._pending[:0] = rest
            if self.closing:
                return
            typed, self._pending = bytes(self._pending), bytearray()
            self.started = True
            self.release_reading("type-ahead")
            await self.start(typed)
        except (LoginFailed, LoginTimeout) as exc:
            log.info("telnet client %s: %s", self.peer(), exc)
            self.close()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("telnet session for %s failed", self.peer())
            self.close()

    def _input(self, data: bytes) -> None:
        if self.started:
            self.on_data(data)
        elif self._dialogue is not None:
            self._dialogue.feed(data)
        else:
            # Typed ahead before the session starts: kept, but the socket is not read
            # further once the bound is reached (memory stays bounded, nothing is lost).
            self._pending += data
            if len(self._pending) >= MAX_PENDING_INPUT:
                self.hold_reading("type-ahead")


async def start_server(host: str, port: int, server: TelnetServer,
                       session: Callable[[], ServerSession]) -> TelnetServer:
    """Listen on ``host``:``port``, one ``session()`` per client."""
    loop = asyncio.get_running_loop()
    server._server = await loop.create_server(session, host, port)
    return server

