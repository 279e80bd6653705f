"""PTCP for Q2Q: a socket bound on demand, and the datagrams that punch NAT holes.

Why separate: PTCP is optional at import time (``plait.vertex.ptcp`` is its own piece);
without it the ``ptcp`` and ``reverse-ptcp`` methods fail with one clear line and the others
still work.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["PUNCH", "PUNCH_COUNT", "PtcpUnavailable", "bind_ptcp", "ptcp_errors", "punch"]

#: What a hole-punching datagram says (PTCP hands it to ``on_foreign_datagram``; ignored).
PUNCH = b"q2q-punch"
#: How many punching datagrams are sent each time (UDP may drop some).
PUNCH_COUNT = 3


class PtcpUnavailable(OSError):
    """``plait.vertex.ptcp`` cannot be imported."""


def _module() -> Any:
    try:
        return importlib.import_module("plait.vertex.ptcp")
    except ImportError as exc:
        raise PtcpUnavailable(f"PTCP is not available ({exc})") from None


def ptcp_errors() -> tuple[type[BaseException], ...]:
    """What PTCP (and the network below it) raises: OSError and the native ``PtcpError``."""
    error = getattr(importlib.import_module("plait._native"), "PtcpError", None)
    return (OSError,) if error is None else (OSError, error)


async def bind_ptcp(host: str = "127.0.0.1", port: int = 0) -> Any:
    """A bound ``PtcpSocket``."""
    return await _module().PtcpSocket.bind(host, port)


def punch(sock: Any, addr: tuple[str, int]) -> None:
    """Send :data:`PUNCH_COUNT` datagrams from ``sock`` to ``addr`` (opens our NAT to it)."""
    for _ in range(PUNCH_COUNT):
        sock.send_datagram(addr, PUNCH)
