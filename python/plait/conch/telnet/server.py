"""A telnet server for terminal applications: negotiation, login, then insults.

Why this shape: telnet is only the byte pipe and the window size; the application is the
same ``TerminalProtocol`` that SSH serves, behind the same ``ServerProtocol``. The server
puts the client in character mode (WILL ECHO, WILL SGA; LINEMODE, if the client offers it,
with MODE 0), learns its window (DO NAWS) and terminal type (DO TTYPE), optionally runs the
login dialogue against a cred Portal, and only then starts the application, so its first
drawing already has the client's size.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Self, cast

from plait.conch.insults.server import ServerProtocol, TerminalProtocol
from plait.conch.telnet import constants as c
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
from plait.core.cred import LoginFailed, Portal

__all__ = ["MAX_PENDING_INPUT", "NEGOTIATION_TIMEOUT", "TelnetServer", "listen_terminal"]

log = logging.getLogger(__name__)

#: Seconds the server waits for NAWS/TTYPE answers before starting anyway.
NEGOTIATION_TIMEOUT = 2.0
#: Bytes typed before the application starts that are kept for it; more are dropped.
MAX_PENDING_INPUT = 4096

#: What telnet commands mean to a terminal application in character mode.
_COMMAND_KEYS = {
    c.IP: b"\x03", c.ABORT: b"\x1c", c.SUSP: b"\x1a", c.EOF_CMD: b"\x04", c.EC: b"\x7f",
    c.EL: b"\x15", c.BRK: b"\x03",
}


class TelnetTransport:
    """What the ``ServerProtocol`` writes to: one telnet connection's data channel."""

    def __init__(self, session: _TelnetSession) -> None:
        self._session = session

    def write(self, data: bytes) -> None:
        self._session.send(data)

    def close(self) -> None:
        self._session.close()

    def is_closing(self) -> bool:
        return self._session.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``peername``, ``sockname``, ``terminal_type``, ``window_size``, ``avatar``..."""
        s = self._session
        extra = {"terminal_type": s.conn.terminal_type, "window_size": s.window_size,
                 "avatar": s.avatar, "telnet": s.conn}
        if name in extra:
            return extra[name]
        return s.transport.get_extra_info(name, default) if s.transport else default


class _TelnetSession(asyncio.Protocol):
    """One client: the telnet core, the login dialogue, then ServerProtocol + application."""

    def __init__(self, server: TelnetServer) -> None:
        self.server = server
        self.conn = TelnetConnection(server=True, linemode=0)
        self.transport: asyncio.Transport | None = None
        self.window_size: tuple[int, int] | None = None
        self.avatar: Any = None
        self.closing = False
        self.terminal: ServerProtocol | None = None
        self._logout: Callable[[], Any] | None = None
        self._dialogue: LoginDialogue | None = None
        self._task: asyncio.Task[None] | None = None
        self._negotiated = asyncio.get_running_loop().create_future()
        self._pending = bytearray()
        self._after_cr = False

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server._sessions.add(self)
        for option in (c.ECHO, c.SGA):
            self.conn.enable_local(option)
        for option in (c.NAWS, c.TTYPE):
            self.conn.enable_remote(option)
        if self.server.binary:                 # 8-bit clean both ways: UTF-8 keys and text
            self.conn.enable_local(c.BINARY)
            self.conn.enable_remote(c.BINARY)
        self._flush()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while (event := self.conn.next_event()) is not None:
            if isinstance(event, DataReceived):
                self._input(event.data)
            elif isinstance(event, WindowSize):
                self._resize(event.width, event.height)
            elif isinstance(event, CommandReceived):
                self._command(event.command)
            elif isinstance(event, TerminalType | OptionEnabled | OptionDisabled
                            | OptionRefused):
                self._check_negotiated()
            elif isinstance(event, ProtocolViolation):
                log.debug("telnet client %s: %s", self._peer(), event.reason)
                if event.fatal:
                    self.close()
                    break
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server._sessions.discard(self)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        terminal, self.terminal = self.terminal, None
        if terminal is not None:
            try:
                terminal.connection_lost(exc)
            except Exception:
                log.exception("terminal application failed in connection_lost")
        logout, self._logout = self._logout, None
        if logout is not None:
            try:
                result = logout()
                if asyncio.iscoroutine(result):
                    asyncio.get_running_loop().create_task(result)
            except Exception:
                log.exception("logout failed")

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()     # the client is not reading: stop reading it

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    # -- output

    def send(self, data: bytes) -> None:
        if self.closing:
            return
        self.conn.send_data(data)
        self._flush()

    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.transport is not None:
            self._flush()
            self.transport.close()

    # -- the session's life

    def _peer(self) -> Any:
        return self.transport.get_extra_info("peername") if self.transport else None

    def _check_negotiated(self) -> None:
        """Done when NAWS and TTYPE are each refused, or on with their first answer."""
        options = self.conn.options
        for option in (c.NAWS, c.TTYPE):
            if options.state(option).him.name.startswith("WANT"):
                return
        if self.conn.remote_enabled(c.NAWS) and self.window_size is None:
            return
        if self.conn.remote_enabled(c.TTYPE) and self.conn.terminal_type is None:
            return
        if not self._negotiated.done():
            self._negotiated.set_result(None)

    async def _run(self) -> None:
        srv = self.server
        try:
            try:
                await asyncio.wait_for(asyncio.shield(self._negotiated), srv.negotiation_timeout)
            except TimeoutError:
                log.debug("telnet client %s: negotiation unfinished, starting", self._peer())
            if srv.login is not None:
                self._dialogue = LoginDialogue(srv.login, self.send)
                leftover = bytes(self._pending)
                self._pending.clear()
                if leftover:
                    self._dialogue.feed(leftover)
                try:
                    self.avatar, self._logout, rest = await asyncio.wait_for(
                        self._dialogue.run(), srv.login.timeout)
                except TimeoutError:
                    self.send(b"\r\nLogin timed out.\r\n")
                    raise LoginTimeout(f"no login within {srv.login.timeout} s") from None
                finally:
                    self._dialogue = None
                self._pending[:0] = rest
            self._start()
        except (LoginFailed, LoginTimeout) as exc:
            log.info("telnet client %s: %s", self._peer(), exc)
            self.close()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("telnet session for %s failed to start", self._peer())
            self.close()

    def _start(self) -> None:
        if self.closing:
            return
        srv = self.server
        terminal = srv.server_protocol_factory(srv.terminal_factory, self.avatar)
        if self.window_size is not None:
            terminal.terminal_size(*self.window_size)   # before connection_made draws
        self.terminal = terminal
        terminal.make_connection(TelnetTransport(self))
        pending = bytes(self._pending)
        self._pending.clear()
        if pending:
            self._to_terminal(pending)

    def _input(self, data: bytes) -> None:
        if self.terminal is not None:
            self._to_terminal(data)
        elif self._dialogue is not None:
            self._dialogue.feed(data)
        else:
            self._pending += data[:MAX_PENDING_INPUT - len(self._pending)]

    def _to_terminal(self, data: bytes) -> None:
        # The NVT newline (CR LF) and CR NUL are the Enter key, which a terminal sends as CR
        # (clients keep sending them in BINARY mode too); the LF or NUL of the pair may come
        # in the next event when the CR ended a packet.
        if self._after_cr and data[:1] in (b"\n", b"\x00"):
            data = data[1:]
        self._after_cr = data[-1:] == b"\r"
        data = data.replace(b"\r\n", b"\r").replace(b"\r\x00", b"\r")
        if not data:
            return
        terminal = self.terminal
        assert terminal is not None
        try:
            terminal.data_received(data)
        except Exception:
            log.exception("terminal application failed on input; closing the connection")
            self.close()

    def _resize(self, width: int, height: int) -> None:
        self.window_size = (width, height)
        self._check_negotiated()
        if self.terminal is not None:
            try:
                self.terminal.terminal_size(width, height)
            except Exception:
                log.exception("terminal application failed on resize; closing the connection")
                self.close()

    def _command(self, command: int) -> None:
        if command == c.AYT:
            self.send(b"\r\n[plait: yes]\r\n")
            return
        key = _COMMAND_KEYS.get(command)
        if key is not None:
            self._input(key)


ServerProtocolFactory = Callable[[Callable[..., TerminalProtocol], Any], ServerProtocol]


class TelnetServer:
    """A listening telnet server: ``port``, ``sockets``, ``close()``, ``wait_closed()``."""

    def __init__(self, terminal_factory: Callable[[Any], TerminalProtocol], *,
                 login: LoginConfig | None, negotiation_timeout: float,
                 server_protocol_factory: ServerProtocolFactory, binary: bool = True) -> None:
        self.terminal_factory = terminal_factory
        self.binary = binary
        self.login = login
        self.negotiation_timeout = negotiation_timeout
        self.server_protocol_factory = server_protocol_factory
        self._server: asyncio.Server | None = None
        self._sessions: set[_TelnetSession] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sockets(self) -> tuple[Any, ...]:
        return tuple(self._server.sockets) if self._server else ()

    @property
    def connections(self) -> int:
        """How many clients are connected now."""
        return len(self._sessions)

    def close(self) -> None:
        """Stop listening and hang up on every client."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()


async def listen_terminal(host: str, port: int,
                          terminal_factory: Callable[[Any], TerminalProtocol], *,
                          portal: Portal | None = None, login_timeout: float = 60.0,
                          max_attempts: int = 3, failure_delay: float = 2.0,
                          interfaces: Sequence[Any] = (object,), banner: str | None = None,
                          negotiation_timeout: float = NEGOTIATION_TIMEOUT,
                          binary: bool = True,
                          server_protocol_factory: ServerProtocolFactory = ServerProtocol,
                          ) -> TelnetServer:
    """Serve ``terminal_factory(avatar)`` applications over telnet on ``host``:``port``.

    With a ``portal``, each client first answers ``login:`` and ``Password:`` (checked as
    ``UsernamePassword`` for ``interfaces``; a refusal costs ``failure_delay`` seconds, the
    client is hung up on after ``max_attempts`` refusals or ``login_timeout`` seconds);
    without one the avatar is None. NAWS sizes reach the application as ``terminal_size``.
    ``binary`` asks for BINARY both ways (UTF-8 text needs it; clients that refuse get NVT).
    """
    login = None
    if portal is not None:
        login = LoginConfig(portal, tuple(interfaces), login_timeout, max_attempts,
                            failure_delay, banner)
    if negotiation_timeout < 0:
        raise ValueError("negotiation_timeout must not be negative")
    server = TelnetServer(terminal_factory, login=login, negotiation_timeout=negotiation_timeout,
                          server_protocol_factory=server_protocol_factory, binary=binary)
    loop = asyncio.get_running_loop()
    server._server = await loop.create_server(lambda: _TelnetSession(server), host, port)
    return server
