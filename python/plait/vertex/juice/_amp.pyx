# cython: language_level=3
"""The hot path of ``plait.vertex.juice.protocol.AMP``, compiled.

A round trip runs ``call_remote`` and ``_flush_outbox`` on one side, ``stream_received``
(decode, call the responder, encode the answer) on the other, and ``stream_received``
again to resolve the caller's future: those are here, with the state they touch as C
fields.  Everything else (errors, StartTLS, async responders, the slow paths) stays in
Python, in ``protocol.py``.

Boxes arrive from ``BoxDecoder.feed_raw`` as ``(_answer, _command, _ask, RawBox)``; the
outbox holds wire bytes from the native codecs, or dicts from the Python paths.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.object cimport PyObject_Call

from plait._native import JuiceError, encode_box, encode_boxes

from .errors import ProtocolError

cdef char *HEX = b"0123456789abcdef"


cdef inline bytes _hex_tag(size_t n):
    """``b"%x" % n``, without the formatting machinery."""
    cdef char buf[24]
    cdef int i = 24
    while True:
        i -= 1
        buf[i] = HEX[n & 15]
        n >>= 4
        if n == 0:
            break
    return PyBytes_FromStringAndSize(buf + i, 24 - i)


cdef class AmpCore(StreamCore):
    """The C half of ``AMP``: the call, receive and send paths of a connection."""

    def __cinit__(self, *args, **kwargs):
        self._pending = {}
        self._outbox = []

    cdef _schedule_flush(self):
        self._flush_pending = True
        if self._flush_callback is None:
            self._flush_callback = self._flush_outbox
        self._loop.call_soon(self._flush_callback)

    # -- calling ---------------------------------------------------------------------------

    def call_remote(self, command, /, **kwargs):
        """Send ``command`` with ``kwargs``; return a future of the response dict.

        Commands with ``requires_answer = False`` are sent without ``_ask`` and return
        ``None`` (do not await them).  The future fails with the exception the command
        declares for the peer's error code, ``UnknownRemoteError`` for other codes,
        ``UnhandledCommand`` when nobody answers that command, ``ProtocolError`` when the
        answer does not decode, and ``ConnectionLost`` if the connection goes first.
        Bad arguments raise ``InvalidSignature`` (or the argument type's error) at once;
        a value too long for AMP fails the future with ``TooLong``.
        """
        cdef tuple hot = command._amp_hot
        if not hot[0]:
            if command.switches_tls:
                return self._call_start_tls(command, kwargs)
            return self._call(command, kwargs)
        if self._closing or self.transport is None:
            return self._call(command, kwargs)
        # The hot path: one native (or generated) encoder, a future, a list append.
        self._counter += 1
        tag = _hex_tag(self._counter)
        encode = hot[1]
        box = None if encode is None else encode(kwargs, tag)
        if box is None:  # the Python codec: other types, odd values, errors
            try:
                box = command._encode_ask(kwargs, tag)
            except KeyError:
                box = command.make_ask(kwargs, tag)  # raises the clear error
        future = self._loop.create_future()
        cdef dict pending = self._pending
        cdef bint idle = not pending
        pending[tag] = (future, command)
        self._outbox.append(box)
        if not self._flush_pending:
            if idle and not self._in_read:
                # Nothing else in flight: a lone call (the request/response pattern)
                # goes out now, without a loop callback; calls made behind it in this
                # iteration are coalesced by the flush scheduled then.
                self._flush_out()
            else:
                self._schedule_flush()
        return future

    # -- sending ---------------------------------------------------------------------------

    def _flush_outbox(self):
        """Encode the queued boxes with one native call and write them at once."""
        self._flush_out()

    cdef _flush_out(self):
        self._flush_pending = False
        cdef list out = self._outbox
        if not out:
            return
        # Natively encoded boxes are bytes already; the Python paths queue dicts.
        cdef Py_ssize_t encoded = 0
        for item in out:
            if type(item) is bytes:
                encoded += 1
        try:
            if encoded == len(out):
                data = b"".join(out)
            elif encoded == 0:
                data = encode_boxes(out)
            else:
                data = b"".join([b if type(b) is bytes else encode_box(b) for b in out])
        except JuiceError:
            data = self._encode_one_by_one(out)
        del out[:]  # in place: the receive loop holds this list
        hold = self._tls_hold
        if hold is not None:
            hold.append(data)
        elif self.transport is not None and not self._closing:
            # Whatever went through StreamProtocol.write goes first, in the same write.
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            if self._buffered and not self._tls_switching:
                self._chunks.append(data)
                self._buffered += len(data)
                self._flush_now()
            else:
                self._transport_write(data)

    # -- receiving -------------------------------------------------------------------------

    def stream_received(self, data):
        cdef bint scheduled
        cdef list out
        cdef dict pending, responders
        cdef tuple entry, item, hot
        cdef bint resolved = False
        if not self._receiving:
            return
        if self._tls_inbox is not None:
            # TLS data that arrives before start_tls() returns: handled once
            # self.transport is the TLS transport, so responders see the right one.
            self._tls_inbox.append(bytes(data))
            return
        try:
            boxes = self._decoder.feed_raw(data)
        except JuiceError as exc:
            for done in exc.boxes:
                if not self._receiving:
                    return
                self._box_received(done)
            self._protocol_violation(ProtocolError(f"bad framing from the peer: {exc}"))
            return
        # The hot loop: answers to our calls, and commands with plain (sync) responders.
        # What this chunk produces is written at its end, in one write.
        scheduled = self._flush_pending
        out = self._outbox
        pending = self._pending
        responders = self._responders if self._plain_locator else None
        self._flush_pending = True
        try:
            for item in boxes:  # (_answer, _command, _ask, RawBox)
                if not self._receiving:
                    break
                tag = item[0]
                box = item[3]
                if tag is not None:
                    entry = pending.pop(tag, None)
                    if entry is None:
                        self._protocol_violation(
                            ProtocolError(f"answer for unknown tag {tag!r}"))
                        break
                    future, command = entry
                    if future.done():  # the caller cancelled
                        continue
                    hot = command._amp_hot
                    try:
                        if not hot[6]:  # the Python codec reads dicts
                            box = box.to_dict()
                        result = hot[4](box)
                    except Exception as exc:  # any failure is reported to the peer
                        err = ProtocolError(f"bad answer to {command.command_name!r}: {exc!r}")
                        future.set_exception(err)
                        self._protocol_violation(err)
                        break
                    future.set_result(result)
                    resolved = True
                    continue
                name = item[1]
                responder = (
                    None if responders is None or name is None else responders.get(name)
                )
                if responder is None or responder[2]:
                    self._box_received(box.to_dict())
                    continue
                command, func, _ = responder
                hot = command._amp_hot
                try:
                    if not hot[5]:  # the Python codec reads dicts
                        box = box.to_dict()
                    kwargs = hot[3](box)
                except Exception:  # the general path reports it
                    self._box_received(item[3].to_dict())
                    continue
                ask = item[2]
                try:
                    if type(kwargs) is dict:  # as func(self, **kwargs), without a copy
                        result = PyObject_Call(func, (self,), kwargs)
                    else:
                        result = func(self, **kwargs)
                except Exception as exc:  # any failure is reported to the peer
                    self._responder_failed(command, ask, exc)
                    continue
                if ask is not None and type(result) is dict:
                    try:
                        encode = hot[2]
                        encoded = None if encode is None else encode(result, ask)
                        if encoded is None:
                            encoded = command._encode_answer(result, ask)
                        out.append(encoded)
                    except Exception:  # the general path reports it
                        self._responder_returned(command, ask, result)
                    continue
                self._responder_returned(command, ask, result)
        finally:
            self._flush_out()
            if resolved and not scheduled and pending and self._loop is not None:
                # The callers resume in the next loop iteration, and their calls often
                # send the next command at once: have a flush already queued behind them,
                # so they go out in that same iteration rather than one later. (With
                # nothing left in flight, the first of those calls writes at once instead:
                # see call_remote.)
                self._schedule_flush()
            else:
                self._flush_pending = scheduled  # a scheduled flush finds an empty outbox
