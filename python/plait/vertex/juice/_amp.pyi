"""Types for the compiled hot path of AMP (plait/vertex/juice/_amp.pyx)."""
import asyncio
from collections.abc import Callable
from typing import Any

from plait._native import ResponderTable
from plait.core._stream import StreamCore

from .command import Command

class AmpCore(StreamCore):
    _decoder: Any
    #: tag -> (future, command, native response codec or None)
    _pending: dict[bytes, tuple[asyncio.Future[dict[str, Any]], type[Command], Any]]
    _outbox: list[dict[bytes, bytes] | bytes]
    _counter: int
    _flush_pending: bool
    _receiving: bool
    _amp_ready: bool
    _tls_hold: list[bytes] | None
    _tls_inbox: list[bytes] | None
    _table: ResponderTable | None
    _feed: Callable[..., int]
    _create_future: Callable[[], asyncio.Future[Any]] | None
    _direct_receive: bool
    def call_remote(
        self, command: type[Command], /, **kwargs: Any
    ) -> asyncio.Future[dict[str, Any]] | None: ...
    def _flush_outbox(self) -> None: ...
    def stream_received(self, data: memoryview) -> None: ...
