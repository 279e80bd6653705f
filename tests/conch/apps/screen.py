"""An application on an in-memory terminal: keys in as bytes through ``ServerProtocol``,
what it writes parsed by the native ``TerminalParser`` into a ``TerminalBuffer``."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from conch.insults.window_harness import Wire
from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.insults.server import ServerProtocol, TerminalProtocol

SETTLE_ROUNDS = 20


class Term:
    """``Term(factory, *args, width=, height=, **kwargs)``: the app runs at once."""

    def __init__(self, factory: Callable[..., TerminalProtocol], *args: Any, width: int = 80,
                 height: int = 24, **kwargs: Any) -> None:
        self.buffer = TerminalBuffer(width, height)
        self.parser = TerminalParser(self.buffer)
        self.wire = Wire()
        self.server = ServerProtocol(factory, *args, **kwargs)
        self.server.terminal_size(width, height)
        self.server.make_connection(self.wire)

    @property
    def app(self) -> Any:
        return self.server.terminal_protocol

    def pump(self) -> None:
        data, self.wire.data = bytes(self.wire.data), bytearray()
        self.parser.feed(data)

    def send(self, data: bytes | str) -> None:
        self.server.data_received(data.encode() if isinstance(data, str) else data)
        self.pump()

    async def settle(self) -> None:
        """Let scheduled paints (loop.call_soon) run, then read what they wrote."""
        for _ in range(SETTLE_ROUNDS):
            await asyncio.sleep(0)
        self.pump()

    def text(self) -> str:
        self.pump()
        return str(self.buffer)

    def lines(self) -> list[str]:
        return self.text().split("\n")

    def resize(self, width: int, height: int) -> None:
        self.buffer.resize(width, height)
        self.server.terminal_size(width, height)
        self.pump()
