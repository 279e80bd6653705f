"""A telnet server for terminal applications: negotiation, login, then insults.

Why this shape: telnet is only the byte pipe and the window size; the application is the
same ``TerminalProtocol`` that SSH serves, behind the same ``ServerProtocol``. The server
puts the client in character mode (WILL ECHO, WILL SGA; LINEMODE, if the client offers it,
with MODE 0), learns its window (DO NAWS) and terminal type (DO TTYPE), asks for BINARY so
UTF-8 passes, optionally runs the login dialogue against a cred Portal, and only then
starts the application, so its first drawing already has the client's size.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from plait.conch.insults.server import ServerProtocol, TerminalProtocol
from plait.conch.telnet import constants as c
from plait.conch.telnet.login import LoginConfig
from plait.conch.telnet.protocol import TelnetConnection
from plait.conch.telnet.session import (
    MAX_PENDING_INPUT,
    NEGOTIATION_TIMEOUT,
    ServerSession,
    TelnetServer,
    start_server,
)
from plait.core.cred import Portal

__all__ = ["MAX_PENDING_INPUT", "NEGOTIATION_TIMEOUT", "TelnetServer", "TelnetTransport",
           "listen_terminal"]

log = logging.getLogger(__name__)

#: What telnet commands mean to a terminal application in character mode.
_COMMAND_KEYS = {
    c.IP: b"\x03", c.ABORT: b"\x1c", c.SUSP: b"\x1a", c.EOF_CMD: b"\x04", c.EC: b"\x7f",
    c.EL: b"\x15", c.BRK: b"\x03",
}

ServerProtocolFactory = Callable[[Callable[..., TerminalProtocol], Any], ServerProtocol]


class TelnetTransport:
    """What the ``ServerProtocol`` writes to: one telnet connection's data channel."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    def write(self, data: bytes) -> None:
        self._session.send(data)

    def close(self) -> None:
        self._session.close()

    def is_closing(self) -> bool:
        return self._session.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``peername``, ``sockname``, ``terminal_type``, ``window_size``, ``avatar``, and
        ``telnet`` (the :class:`TelnetConnection`, for option states)."""
        s = self._session
        extra = {"terminal_type": s.conn.terminal_type, "window_size": s.window_size,
                 "avatar": s.avatar, "telnet": s.conn}
        if name in extra:
            return extra[name]
        return s.transport.get_extra_info(name, default) if s.transport else default


class _TerminalServer(TelnetServer):
    def __init__(self, terminal_factory: Callable[[Any], TerminalProtocol], *,
                 login: LoginConfig | None, negotiation_timeout: float,
                 server_protocol_factory: ServerProtocolFactory, binary: bool) -> None:
        super().__init__(login=login, negotiation_timeout=negotiation_timeout)
        self.terminal_factory = terminal_factory
        self.server_protocol_factory = server_protocol_factory
        self.binary = binary


class _TerminalSession(ServerSession):
    """ServerProtocol + the application, fed with keys and NAWS sizes."""

    server: _TerminalServer

    def __init__(self, server: _TerminalServer) -> None:
        super().__init__(server, TelnetConnection(server=True, linemode=0))
        self.terminal: ServerProtocol | None = None
        self._after_cr = False

    def configure(self) -> None:
        for option in (c.ECHO, c.SGA):
            self.conn.enable_local(option)
        for option in (c.NAWS, c.TTYPE):
            self.conn.enable_remote(option)
        if self.server.binary:                 # 8-bit clean both ways: UTF-8 keys and text
            self.conn.enable_local(c.BINARY)
            self.conn.enable_remote(c.BINARY)

    def negotiated(self) -> bool:
        """NAWS and TTYPE each refused, or on with their first answer."""
        if self.waiting_for(c.NAWS) or self.waiting_for(c.TTYPE):
            return False
        if self.conn.remote_enabled(c.NAWS) and self.window_size is None:
            return False
        return not (self.conn.remote_enabled(c.TTYPE) and self.conn.terminal_type is None)

    async def start(self, typed_ahead: bytes) -> None:
        srv = self.server
        terminal = srv.server_protocol_factory(srv.terminal_factory, self.avatar)
        if self.window_size is not None:
            terminal.terminal_size(*self.window_size)   # before connection_made draws
        self.terminal = terminal
        terminal.make_connection(TelnetTransport(self))
        if typed_ahead:
            self.on_data(typed_ahead)

    def on_data(self, data: bytes) -> None:
        # The NVT newline (CR LF) and CR NUL are the Enter key, which a terminal sends as CR
        # (clients keep sending them in BINARY mode too); the LF or NUL of the pair may come
        # in the next event when the CR ended a packet.
        if self._after_cr and data[:1] in (b"\n", b"\x00"):
            data = data[1:]
        self._after_cr = data[-1:] == b"\r"
        data = data.replace(b"\r\n", b"\r").replace(b"\r\x00", b"\r")
        if not data or self.terminal is None:
            return
        try:
            self.terminal.data_received(data)
        except Exception:
            log.exception("terminal application failed on input; closing the connection")
            self.close()

    def on_resize(self, width: int, height: int) -> None:
        if self.terminal is None:
            return
        try:
            self.terminal.terminal_size(width, height)
        except Exception:
            log.exception("terminal application failed on resize; closing the connection")
            self.close()

    def on_command(self, command: int) -> None:
        if command == c.AYT:
            self.send(b"\r\n[plait: yes]\r\n")
            return
        key = _COMMAND_KEYS.get(command)
        if key is not None:
            self._input(key)

    def on_lost(self, exc: Exception | None) -> None:
        terminal, self.terminal = self.terminal, None
        if terminal is not None:
            terminal.connection_lost(exc)


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
    server = _TerminalServer(terminal_factory, login=login,
                             negotiation_timeout=negotiation_timeout,
                             server_protocol_factory=server_protocol_factory, binary=binary)
    return await start_server(host, port, server, lambda: _TerminalSession(server))
