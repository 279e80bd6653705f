"""The AMP connection: ask, answer and error boxes over a coalescing stream.

One class does both directions, as Twisted's ``AMP``: ``call_remote`` sends ``_command``
boxes tagged with ``_ask`` (a hex counter) and resolves when the ``_answer`` or ``_error``
with that tag comes back, in any order; incoming ``_command`` boxes go to the responders
declared with ``@SomeCommand.responder``.

The receive path is kept short on purpose (it is what the round-trip benchmarks measure):
the Rust decoder hands over complete boxes, answers are matched with one dict pop and
decoded by the command's native (or generated) decoder, and the boxes of one loop
iteration (encoded natively when their arguments are simple types) go out in one write.
That path (``call_remote``, ``stream_received``, ``_flush_outbox`` and the state they
touch) is compiled, in
:mod:`plait.vertex.juice._amp` (``AmpCore``); everything else is here.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, ClassVar

from plait._native import BoxDecoder, JuiceError, ResponderTable, encode_box
from plait.core.transport import StreamProtocol

from ._amp import AmpCore
from .command import (
    ANSWER,
    ASK,
    COMMAND,
    ERROR,
    ERROR_CODE,
    ERROR_DESCRIPTION,
    RESPONDER_ATTRIBUTE,
    Command,
)
from .errors import (
    UNHANDLED_ERROR_CODE,
    UNKNOWN_ERROR_CODE,
    BadLocalReturn,
    ConnectionLost,
    OnlyOneTLS,
    ProtocolError,
    TooLong,
    UnhandledCommand,
    UnknownRemoteError,
)
from .starttls import RESPONDER_OPTIONS, StartTLS, TLSOptions, strip_options

log = logging.getLogger("plait.vertex.juice")

Responder = Callable[..., Any]
#: A call awaiting its answer: its future, its command and the command's native response
#: codec (None when the Python codec decodes it).
Pending = tuple["asyncio.Future[dict[str, Any]]", type[Command], Any]
#: A located responder: its command, the function (called with the protocol first) and
#: whether it needs a task (a coroutine function, or StartTLS).
ResponderEntry = tuple[type[Command], Responder, bool]
Answer = dict[str, Any]

_MAX_DESCRIPTION = 0xFFFF


class AMP(AmpCore, StreamProtocol):
    """An AMP connection; subclass it and decorate methods with ``Command.responder``.

    ``close_on_unknown_error`` keeps Twisted's behaviour: a responder failing with an
    undeclared exception answers ``UNKNOWN`` and the connection is then closed.
    """

    #: Largest box accepted from the peer (every byte on the wire) and most keys per box.
    max_box_size: ClassVar[int] = 4 * 1024 * 1024
    max_keys: ClassVar[int] = 1024
    close_on_unknown_error: ClassVar[bool] = True
    #: The context the default StartTLS responder uses; ``None`` refuses StartTLS.
    tls_context: ssl.SSLContext | None = None

    _responders: ClassVar[dict[bytes, ResponderEntry]] = {}
    _plain_locator: ClassVar[bool] = True
    #: The responders the native receive path calls itself (None: all go through
    #: ``locate_responder``).
    _responder_table: ClassVar[ResponderTable | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[bytes, ResponderEntry] = {}
        for klass in reversed(cls.__mro__):
            for attr_name, value in klass.__dict__.items():
                commands = getattr(value, RESPONDER_ATTRIBUTE, None)
                if not commands:
                    continue
                # Resolve by name so that a subclass overriding the method wins.
                func = getattr(cls, attr_name)
                is_async = inspect.iscoroutinefunction(func)
                for command in commands:
                    slow = is_async or command.switches_tls
                    table[command.command_name] = (command, func, slow)
        cls._responders = table
        cls._plain_locator = cls.locate_responder is AMP.locate_responder
        cls._responder_table = _native_table(table) if cls._plain_locator else None

    def __init__(self) -> None:
        self._amp_ready = True
        self._decoder = BoxDecoder(self.max_box_size, self.max_keys)
        self._feed = self._decoder.feed_amp
        self._table = self._responder_table
        # tag -> (future, command, native response codec or None)
        self._pending: dict[bytes, Pending] = {}
        self._counter = 0
        self._receiving = True
        self._violation: ProtocolError | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Boxes to send (dicts, or bytes when encoded natively): encoded and written at
        # once, at the end of the received chunk being processed or in the next iteration.
        self._outbox: list[dict[bytes, bytes] | bytes] = []
        self._flush_pending = False
        # While StartTLS is in progress: encoded output waiting for the TLS connection,
        # and TLS input waiting for start_tls() to return.
        self._tls_hold: list[bytes] | None = None
        self._tls_inbox: list[bytes] | None = None
        self._tls_started = False
        self._ended: asyncio.Future[None] | None = None
        self._ended_exc: BaseException | None = None
        self._has_ended = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._amp_ready:  # a subclass __init__ that did not call ours
            AMP.__init__(self)
        super().connection_made(transport)
        self._create_future = self._loop.create_future  # type: ignore[union-attr]
        # Reads go straight to the compiled receive path unless a subclass overrides it.
        self._direct_receive = type(self).stream_received is AmpCore.stream_received

    # -- public API ------------------------------------------------------------------------

    async def wait_closed(self) -> None:
        """Wait until the connection is gone."""
        if self._has_ended:
            return
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._ended)

    @property
    def outstanding(self) -> int:
        """How many calls await an answer."""
        return len(self._pending)

    def locate_responder(self, command_name: bytes) -> ResponderEntry | None:
        """Find the responder for a command name; override for dynamic dispatch."""
        return self._responders.get(command_name)

    # -- sending ---------------------------------------------------------------------------

    def _call(
        self, command: type[Command], kwargs: Mapping[str, Any]
    ) -> asyncio.Future[Answer] | None:
        if self._closing or self.transport is None:
            if not command.requires_answer:
                return None  # as Twisted: nothing to report to
            lost: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            lost.set_exception(self._lost_error())
            return lost
        self._counter += 1
        if not command.requires_answer:
            self._queue(command.make_ask(kwargs, None))
            return None
        tag = b"%x" % self._counter
        box = command.make_ask(kwargs, tag)
        future: asyncio.Future[Answer] = self._loop.create_future()  # type: ignore[union-attr]
        self._pending[tag] = (future, command, command._native_answer)
        self._queue(box)
        return future

    def _send_error(self, ask: bytes, code: bytes, description: str) -> None:
        desc = description.encode("utf-8", "replace")[:_MAX_DESCRIPTION]
        self._queue({ERROR: ask, ERROR_CODE: code, ERROR_DESCRIPTION: desc})

    def _queue(self, box: dict[bytes, bytes]) -> None:
        """Send a box with the others of this loop iteration."""
        self._outbox.append(box)
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush_outbox)  # type: ignore[union-attr]

    def _encode_one_by_one(self, boxes: list[dict[bytes, bytes] | bytes]) -> bytes:
        """The slow path when a box is too long for AMP: a call fails with TooLong; an
        answer becomes an UNKNOWN error (as any answer that cannot be encoded)."""
        parts = []
        close = False
        for box in boxes:
            if isinstance(box, bytes):  # encoded natively, so within AMP's limits
                parts.append(box)
                continue
            try:
                parts.append(encode_box(box))
                continue
            except JuiceError as exc:
                problem = TooLong(str(exc))
            ask = box.get(ASK)
            if ask is not None or COMMAND in box:
                entry = self._pending.pop(ask, None) if ask is not None else None
                if entry is not None and not entry[0].done():
                    entry[0].set_exception(problem)
                else:
                    log.error("AMP: command %r not sent: %s", box.get(COMMAND), problem)
                continue
            tag = box.get(ANSWER) or box.get(ERROR) or b""
            log.error("AMP: answer %r cannot be encoded: %s", tag, problem)
            parts.append(encode_box({ERROR: tag, ERROR_CODE: UNKNOWN_ERROR_CODE,
                                     ERROR_DESCRIPTION: b"Unknown Error"}))
            close = close or self.close_on_unknown_error
        if close:
            self._loop.call_soon(self.close)  # type: ignore[union-attr]
        return b"".join(parts)

    def close(self) -> None:
        """Send what is queued, then close (the stream finishes sending first)."""
        if self._amp_ready and self._tls_hold is None:
            self._flush_outbox()
        super().close()

    def _lost_error(self) -> ConnectionLost:
        reason = self._violation or self._ended_exc
        err = ConnectionLost(f"AMP connection lost ({reason or 'closed'})")
        err.__cause__ = reason
        return err

    # -- receiving -------------------------------------------------------------------------

    def _box_received(self, box: dict[bytes, bytes]) -> None:
        """Everything but the answers: errors, commands, and malformed boxes."""
        tag = box.get(ANSWER)
        if tag is not None:
            entry = self._pending.pop(tag, None)
            if entry is None:
                self._protocol_violation(ProtocolError(f"answer for unknown tag {tag!r}"))
            else:
                try:
                    entry[0].set_result(entry[1].decode_response(box))
                except asyncio.InvalidStateError:
                    pass
                except Exception as exc:  # noqa: BLE001 - any failure is reported to the peer
                    err = ProtocolError(f"bad answer to {entry[1].command_name!r}: {exc!r}")
                    entry[0].set_exception(err)
                    self._protocol_violation(err)
            return
        tag = box.get(ERROR)
        if tag is not None:
            self._error_received(tag, box)
            return
        name = box.get(COMMAND)
        if name is not None:
            self._command_received(name, box)
            return
        self._protocol_violation(
            ProtocolError(f"box with no _command, _answer or _error: {sorted(box)!r}")
        )

    def _error_received(self, tag: bytes, box: dict[bytes, bytes]) -> None:
        entry = self._pending.pop(tag, None)
        code = box.get(ERROR_CODE)
        if entry is None or code is None:
            what = "error for unknown tag" if entry is None else "error without _error_code"
            err = ProtocolError(f"{what} {tag!r}")
            if entry is not None and not entry[0].done():
                entry[0].set_exception(err)
            self._protocol_violation(err)
            return
        future, command, _ = entry
        description = box.get(ERROR_DESCRIPTION, b"").decode("utf-8", "replace")
        exc: BaseException | None
        if code == UNHANDLED_ERROR_CODE:
            exc = UnhandledCommand(description)
        else:
            exc = command.exception_for(code, description)
            if exc is None:
                exc = UnknownRemoteError(description, code)
        if not future.done():
            future.set_exception(exc)

    def _command_received(self, name: bytes, box: dict[bytes, bytes]) -> None:
        ask = box.get(ASK)
        entry = self.locate_responder(name)
        if entry is None:
            if ask is not None:
                self._send_error(ask, UNHANDLED_ERROR_CODE, f"Unhandled Command: {name!r}")
            else:  # Twisted drops the connection when an unanswerable command fails
                log.warning("AMP: no responder for unasked command %r; closing", name)
                self.close()
            return
        command, func, _ = entry
        try:
            kwargs = command.decode_arguments(box)
        except Exception as exc:  # noqa: BLE001 - any failure is reported to the peer
            if ask is not None:  # as Twisted: the failure is an undeclared one
                self._send_error(ask, UNKNOWN_ERROR_CODE, "Unknown Error")
            self._protocol_violation(ProtocolError(f"bad arguments for {name!r}: {exc!r}"))
            return
        if command.switches_tls:
            self._spawn(self._respond_start_tls(command, func, ask, kwargs))
            return
        try:
            result = func(self, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure is reported to the peer
            self._responder_failed(command, ask, exc)
            return
        self._responder_returned(command, ask, result)

    def _responder_returned(self, command: type[Command], ask: bytes | None,
                            result: Any) -> None:
        if type(result) is not dict and inspect.isawaitable(result):
            self._spawn(self._finish_responder(command, ask, result))
        elif ask is not None:
            self._answer(command, ask, result)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coro)  # type: ignore[union-attr]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_responder(
        self, command: type[Command], ask: bytes | None, awaitable: Awaitable[Any]
    ) -> None:
        try:
            result = await awaitable
        except asyncio.CancelledError as exc:
            self._responder_failed(command, ask, exc)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is reported to the peer
            self._responder_failed(command, ask, exc)
            return
        if ask is not None:
            self._answer(command, ask, result)

    def _answer(self, command: type[Command], ask: bytes, result: Any) -> None:
        if self._closing or self.transport is None:
            return  # the connection is going: an answer could not be sent
        try:
            box = command.make_answer(result, ask)
        except BadLocalReturn as exc:
            self._responder_failed(command, ask, exc)
            return
        self._queue(box)

    def _responder_failed(
        self, command: type[Command], ask: bytes | None, exc: BaseException
    ) -> None:
        """Turn a responder's exception into an ``_error`` box, as Twisted does."""
        declared = command.error_for(exc)
        if ask is None:
            # Nothing to answer: Twisted logs it and drops the connection.
            log.error("AMP: responder for unasked %r failed; closing",
                      command.command_name, exc_info=exc)
            self.close()
            return
        if declared is None:
            log.error("AMP: responder for %r failed with an undeclared error",
                      command.command_name, exc_info=exc)
            self._send_error(ask, UNKNOWN_ERROR_CODE, "Unknown Error")
            if self.close_on_unknown_error:
                self.close()
            return
        code, fatal = declared
        self._send_error(ask, code, str(exc))
        if fatal:
            self.close()

    def _protocol_violation(self, err: ProtocolError) -> None:
        """The peer broke the protocol: log it, stop reading, close the connection."""
        if self._violation is None:
            self._violation = err
            log.warning("AMP protocol error from %s: %s; closing the connection",
                        self.peer, err)
        self._receiving = False
        self.close()

    # -- StartTLS --------------------------------------------------------------------------

    def _call_start_tls(
        self, command: type[Command], kwargs: Mapping[str, Any]
    ) -> asyncio.Future[Answer]:
        if self._tls_started or self._tls_hold is not None:
            raise OnlyOneTLS("TLS was already started on this connection")
        options = TLSOptions.for_caller(kwargs)
        answer = self._call(command, strip_options(kwargs, command.local_arguments))
        assert answer is not None  # StartTLS requires an answer
        if answer.done():  # the connection is already gone
            return answer
        # StartTLS goes out now; as in Twisted, boxes sent after it wait for TLS.
        self._flush_outbox()
        self._tls_hold = []
        return self._loop.create_task(  # type: ignore[union-attr]
            self._finish_start_tls_call(answer, options)
        )

    async def _finish_start_tls_call(
        self, answer: asyncio.Future[Answer], options: TLSOptions
    ) -> Answer:
        try:
            result = await answer
        except BaseException:
            self._release_hold()  # refused: what was held goes out in the clear
            raise
        await self._switch_to_tls(options)
        return result

    async def _respond_start_tls(
        self,
        command: type[Command],
        func: Responder,
        ask: bytes | None,
        kwargs: dict[str, Any],
    ) -> None:
        try:
            if self._tls_started or self._tls_hold is not None:
                raise OnlyOneTLS("TLS was already started on this connection")
            result = func(self, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            result = dict(result or {})
            options = TLSOptions.for_responder(result, self.tls_context)
            box = None
            if ask is not None:
                box = command.make_answer(strip_options(result, RESPONDER_OPTIONS), ask)
        except Exception as exc:  # noqa: BLE001 - any failure is reported to the peer
            self._responder_failed(command, ask, exc)
            return
        if box is not None:
            self._outbox.append(box)
        self._flush_outbox()
        # Everything sent from here on waits for the TLS connection.
        self._tls_hold = []
        try:
            await self._switch_to_tls(options)
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            log.warning("AMP: TLS handshake with %s failed: %s", self.peer, exc)

    async def _switch_to_tls(self, options: TLSOptions) -> None:
        self._tls_inbox = []
        try:
            await self.start_tls(
                options.context,
                server_side=options.server_side,
                server_hostname=options.server_hostname,
            )
        except BaseException:
            self._tls_hold = self._tls_inbox = None
            self.abort()
            raise
        self._tls_started = True
        self._release_hold()
        inbox, self._tls_inbox = self._tls_inbox, None
        for chunk in inbox:
            self.stream_received(memoryview(chunk))

    def _release_hold(self) -> None:
        held, self._tls_hold = self._tls_hold, None
        for data in held or ():
            self.write(data)
        self._flush_outbox()

    @StartTLS.responder
    def _default_start_tls(self) -> dict[str, Any]:
        """Answer StartTLS with ``self.tls_context`` (refused with TLS_ERROR if unset)."""
        return {}

    # -- connection end --------------------------------------------------------------------

    def stream_ended(self, exc: BaseException | None) -> None:
        self._receiving = False
        self._has_ended = True
        self._ended_exc = exc
        self._outbox.clear()
        pending, self._pending = self._pending, {}
        for future, _, _ in pending.values():
            if not future.done():
                future.set_exception(self._lost_error())
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} peer={self.peer!r} outstanding={len(self._pending)}>"


def _positional(func: Responder, command: type[Command]) -> bool:
    """Whether ``func(protocol, *values)`` means ``func(protocol, **arguments)``: its
    parameters after the first are the command's arguments, in order (then only ones with
    defaults).  Wrappers are judged by their own signature, not the wrapped one's."""
    try:
        parameters = list(inspect.signature(func, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):
        return False
    names = [field.python for field in command.argument_schema.fields]
    if len(parameters) < len(names) + 1:
        return False
    for parameter, name in zip(parameters[1:], names):
        if parameter.kind is not parameter.POSITIONAL_OR_KEYWORD or parameter.name != name:
            return False
    return all(
        p.kind is p.VAR_KEYWORD or p.default is not p.empty
        for p in parameters[len(names) + 1:]
    )


def _native_table(responders: Mapping[bytes, ResponderEntry]) -> ResponderTable:
    """The plain responders whose arguments decode natively, for ``BoxDecoder.feed_amp``."""
    return ResponderTable([
        (name, command, func, command._native_ask, command._native_answer,
         _positional(func, command))
        for name, (command, func, slow) in responders.items()
        if not slow and command._native_ask is not None
    ])


# Register the default StartTLS responder on the base class itself (``__init_subclass__``
# only runs for subclasses).
AMP._responders = {
    StartTLS.command_name: (StartTLS, AMP.__dict__["_default_start_tls"], True)
}
AMP._responder_table = _native_table(AMP._responders)

__all__ = ["AMP", "Answer", "ResponderEntry"]
