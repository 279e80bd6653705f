# cython: language_level=3
"""The hot path of ``plait.vertex.juice.protocol.AMP``, compiled.

A round trip runs ``call_remote`` and ``_flush_outbox`` on one side, ``stream_received``
(decode, call the responder, encode the answer) on the other, and ``stream_received``
again to resolve the caller's future: those are here, with the state they touch as C
fields.  Everything else (errors, StartTLS, async responders, the slow paths) stays in
Python, in ``protocol.py``.

What arrives goes to ``BoxDecoder.feed_amp``, which handles the boxes in order in one
native call (answers, and commands whose responders are in ``_table``) and hands the rest
to ``_box_received``.  A pending call is ``(future, command, native response codec or
None)``; the outbox holds wire bytes from the native codecs, or dicts from the Python paths.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize

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
        self._table = None
        self._feed = None
        self._create_future = None

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
        create_future = self._create_future
        if create_future is None or self._loop is None:
            future = self._loop.create_future()
        else:
            future = create_future()
        cdef dict pending = self._pending
        cdef bint idle = not pending
        pending[tag] = (future, command, hot[2])
        if not self._flush_pending:
            if idle and not self._in_read and not self._outbox:
                # Nothing else in flight: a lone call (the request/response pattern)
                # goes out now, without a loop callback; calls made behind it in this
                # iteration are coalesced by the flush scheduled then.
                self._send_now(box)
                return future
            self._schedule_flush()
        self._outbox.append(box)
        return future

    # -- sending ---------------------------------------------------------------------------

    def _flush_outbox(self):
        """Encode the queued boxes with one native call and write them at once."""
        self._flush_out()

    cdef _send_now(self, box):
        """One box, alone, to the transport (what ``_flush_out`` does for a list of one)."""
        if type(box) is not bytes:
            self._outbox.append(box)
            self._flush_out()
            return
        if self._tls_hold is not None:
            self._tls_hold.append(box)
        elif self._buffered and not self._tls_switching:
            # Whatever went through StreamProtocol.write goes first, in the same write.
            self._outbox.append(box)
            self._flush_out()
        else:
            self._transport_write(box)

    cdef _flush_out(self):
        self._flush_pending = False
        cdef list out = self._outbox
        if not out:
            return
        # Natively encoded boxes are bytes already; the Python paths queue dicts.
        cdef Py_ssize_t encoded = 0
        cdef Py_ssize_t n = len(out)
        data = out[0]
        if n == 1 and type(data) is bytes:  # one answer, one call: the common case
            out.clear()  # in place: the receive path holds this list
        else:
            for item in out:
                if type(item) is bytes:
                    encoded += 1
            try:
                if encoded == n:
                    data = b"".join(out)
                elif encoded == 0:
                    data = encode_boxes(out)
                else:
                    data = b"".join([b if type(b) is bytes else encode_box(b) for b in out])
            except JuiceError:
                data = self._encode_one_by_one(out)
            out.clear()
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

    cdef _deliver(self, view):
        if self._direct_receive:
            self._receive(view)
        else:  # a subclass overrides stream_received
            self._on_data(view)

    def stream_received(self, data):
        self._receive(data)

    cdef _receive(self, data):
        cdef bint scheduled
        cdef Py_ssize_t resolved = 0
        if not self._receiving:
            return
        if self._tls_inbox is not None:
            # TLS data that arrives before start_tls() returns: handled once
            # self.transport is the TLS transport, so responders see the right one.
            self._tls_inbox.append(bytes(data))
            return
        # What this chunk produces is written at its end, in one write.
        scheduled = self._flush_pending
        self._flush_pending = True
        try:
            resolved = self._feed(data, self, self._pending, self._outbox, self._table)
        except JuiceError as exc:
            if self._receiving:
                self._protocol_violation(ProtocolError(f"bad framing from the peer: {exc}"))
        finally:
            self._flush_out()
            if resolved and not scheduled and self._pending and self._loop is not None:
                # The callers resume in the next loop iteration, and their calls often
                # send the next command at once: have a flush already queued behind them,
                # so they go out in that same iteration rather than one later. (With
                # nothing left in flight, the first of those calls writes at once instead:
                # see call_remote.)
                self._schedule_flush()
            else:
                self._flush_pending = scheduled  # a scheduled flush finds an empty outbox
