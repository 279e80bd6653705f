"""A listening server object as programs hold it: where it listens, how to stop it.

Why a base: every protocol's ``listen()`` returns an object with ``port``, ``sockets``,
``close()`` (stop listening and end the connections it has) and ``wait_closed()``, usable as
``async with``; each protocol only says how to end one of its connections.
"""
from __future__ import annotations

import asyncio
from typing import Any, Self


class ListeningServer:
    """Holds the ``asyncio.Server`` in ``_server`` (set by the protocol's listen function)."""

    _server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The TCP port of the first listening socket."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sockets(self) -> tuple[Any, ...]:
        return tuple(self._server.sockets) if self._server else ()

    def close_connections(self) -> None:
        """End every connection this server accepted (called by ``close()``)."""

    def close(self) -> None:
        """Stop listening and end the connections."""
        if self._server is not None:
            self._server.close()
        self.close_connections()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()
