"""Run a terminal application (an insults ``TerminalProtocol``) on an SSH session channel.

Why an adapter: the applications are written once against ``ServerProtocol`` and served
by SSH and telnet alike.  This session takes the pty request's size as the terminal's
first size, window-change requests as ``terminal_size``, channel data as keys, and the
application's ``lose_connection`` as the end of the channel (exit status 0).  A terminal
application needs a terminal: a shell or exec without a pty gets one line saying so and
exit status 1.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from plait.conch.insults.server import ServerProtocol, TerminalProtocol
from plait.conch.ssh.server import SSHServerChannel, SSHServerSession
from plait.conch.ssh.session import PtyRequest, WindowChange

__all__ = ["ChannelTransport", "TerminalSession", "start_terminal"]

log = logging.getLogger(__name__)

NO_PTY_MESSAGE = "plait: {name} needs a terminal: connect with ssh -t\r\n"


class ChannelTransport:
    """What ``ServerProtocol`` writes to: the session channel; close ends it cleanly."""

    def __init__(self, channel: SSHServerChannel, status: int = 0) -> None:
        self.channel = channel
        self.status = status

    def write(self, data: bytes) -> None:
        if not self.channel.closed:
            self.channel.write(data)

    def close(self) -> None:
        self.channel.exit(self.status)

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.channel.get_extra_info(name, default)


def start_terminal(channel: SSHServerChannel, pty: PtyRequest,
                   factory: Callable[[], TerminalProtocol]) -> ServerProtocol:
    """A ``ServerProtocol`` running ``factory()`` on ``channel`` at the pty's size."""
    server = ServerProtocol(factory)
    server.terminal_size(pty.cols, pty.rows)
    server.make_connection(ChannelTransport(channel))
    return server


class TerminalSession(SSHServerSession):
    """One SSH session serving ``factory()`` (a ``TerminalProtocol``) once a shell or exec
    request arrives after a pty request; ``name`` is what the no-pty message calls it."""

    def __init__(self, factory: Callable[[], TerminalProtocol], name: str = "this") -> None:
        self.factory = factory
        self.name = name
        self.pty: PtyRequest | None = None
        self.server: ServerProtocol | None = None

    def pty_requested(self, pty: PtyRequest) -> bool:
        self.pty = pty
        return True

    def env_requested(self, name: str, value: str) -> bool:
        return name == "TERM" or name == "LANG" or name.startswith("LC_")

    def shell_requested(self) -> bool:
        return self._start()

    def exec_requested(self, command: str) -> bool:
        return self._start()

    def _start(self) -> bool:
        if self.pty is None:
            self.channel.write_stderr(NO_PTY_MESSAGE.format(name=self.name).encode())
            self.channel.exit(1)
            return True
        self.server = start_terminal(self.channel, self.pty, self.factory)
        return True

    def data_received(self, data: bytes, ext: int | None) -> None:
        if self.server is not None and ext is None:
            self.server.data_received(data)

    def window_changed(self, change: WindowChange) -> None:
        if self.server is not None:
            self.server.terminal_size(change.cols, change.rows)

    def eof_received(self) -> None:
        self.channel.exit(0)

    def connection_lost(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.connection_lost(None)
