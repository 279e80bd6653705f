"""``connect()`` and ``listen()``: AMP over any plait endpoint description in one call."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from plait.core.endpoints import ListeningPort, client_endpoint, quote, server_endpoint

from .protocol import AMP

P = TypeVar("P", bound=AMP)


async def connect(target: str, port: int | None = None, factory: Callable[[], P] = AMP) -> P:  # type: ignore[assignment]
    """Connect and return the connected protocol.

    ``target`` is a client endpoint description (``tcp:host=h:port=p``, ``unix:path=...``,
    ``ssl:...``), or a host name when ``port`` is given.
    """
    description = target if port is None else f"tcp:host={quote(target)}:port={port}"
    proto: P = await client_endpoint(description).connect(factory)
    return proto


async def listen(description: str, factory: Callable[[], AMP] = AMP) -> ListeningPort:
    """Listen on a server endpoint description (``tcp:0:interface=127.0.0.1``)."""
    return await server_endpoint(description).listen(factory)


__all__ = ["connect", "listen"]
