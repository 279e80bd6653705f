"""``ClientProtocol``: a byte stream from a terminal program drives a ``Terminal``.

The client end of a terminal session (what an SSH or telnet client, or a test, reads from the
program it runs). Parsing is the native ``TerminalParser``; answers the terminal owes the
program (cursor position and device status reports, device attributes) are taken from the
terminal after each chunk and written back to the transport.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from plait.conch.insults._vt102 import TerminalParser
from plait.conch.insults.terminal import Terminal


class ClientProtocol(asyncio.Protocol):
    """Feed received bytes to ``terminal`` through a ``TerminalParser``.

    ``terminal`` is a ``TerminalBuffer`` (the fast path: no Python call per sequence) or any
    object implementing ``Terminal``. If it has ``take_reports() -> bytes`` (as
    ``TerminalBuffer`` does), the reports go back to the peer.
    """

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.parser = TerminalParser(terminal)
        self.transport: asyncio.BaseTransport | None = None
        take = getattr(terminal, "take_reports", None)
        self._take_reports = cast("Callable[[], bytes] | None", take)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        if self._take_reports is not None:
            reports = self._take_reports()
            if reports and self.transport is not None and not self.transport.is_closing():
                cast(asyncio.WriteTransport, self.transport).write(reports)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
