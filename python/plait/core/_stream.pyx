# cython: language_level=3
"""The hot path of ``plait.core.transport.StreamProtocol``, compiled.

Every plait stream protocol goes through these methods once per read and once per write;
in C they cost a fraction of the Python calls they replace, which is what keeps a plait
request/response within a few per cent of a bare uvloop protocol.
"""
import asyncio


cdef extern from "Python.h":
    # CPython's memoryview object (Include/cpython/memoryobject.h): only its flags are read,
    # to see whether a view handed out before was released by the code it was given to.
    ctypedef struct PyMemoryViewObject:
        int flags
    int _Py_MEMORYVIEW_RELEASED


cdef class StreamCore:
    """Reads into one reused buffer; writes coalesced into one ``transport.write``.

    Writes made inside ``stream_received`` go out in one write when it returns; writes made
    elsewhere go out from one ``loop.call_soon`` callback per loop iteration.
    """

    def __cinit__(self, *args, **kwargs):
        self.transport = None
        self._loop = None
        self._flush_handle = None
        self._rview = None
        self._last_view = None
        self._last_n = -1
        self._write_owner = None
        self._write_method = None
        self._on_data = None
        self._chunks = []
        self._buffered = 0
        self._coalesce_limit = 65536

    # ------------------------------------------------------------ reading

    def get_buffer(self, Py_ssize_t sizehint):
        if self._rview is None:
            self._rview = memoryview(bytearray(type(self).read_buffer_size))
        return self._rview

    def buffer_updated(self, Py_ssize_t nbytes):
        # Reads of one size (request/response traffic) share one view of the buffer: the
        # data is only valid during the call anyway, and the view is the same bytes.
        view = self._last_view
        if nbytes != self._last_n or (
                (<PyMemoryViewObject*>view).flags & _Py_MEMORYVIEW_RELEASED):
            view = self._last_view = self._rview[:nbytes]
            self._last_n = nbytes
        self._in_read = True
        try:
            self._deliver(view)
        finally:
            self._in_read = False
        if self._buffered and not self._tls_switching:
            self._flush_now()

    cdef _deliver(self, view):
        """Hand a read to ``stream_received`` (a compiled subclass may call itself directly)."""
        self._on_data(view)

    # ------------------------------------------------------------ writing

    def _bind(self, transport):
        """Attach to a transport (or a TLS transport replacing it)."""
        self.transport = transport
        self._on_data = self.stream_received  # looked up once, not per read
        self._coalesce_limit = type(self).write_coalesce_limit
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    cpdef write(self, data):
        """Queue ``data``; everything written in this loop iteration goes out in one write."""
        cdef Py_ssize_t n
        if self.transport is None or self._closing:
            return  # like Twisted: writes after close are dropped silently
        n = len(data)
        if n >= self._coalesce_limit and not self._tls_switching:
            if self._buffered:
                self._flush_now()
            self._transport_write(data)
            return
        if type(data) is not bytes:
            data = bytes(data)  # the caller may reuse its buffer
        self._chunks.append(data)
        self._buffered += n
        if self._tls_switching:
            return  # held until the TLS transport exists
        if self._buffered >= self._coalesce_limit:
            self._flush_now()
        elif self._flush_handle is None and not self._in_read:
            self._flush_handle = self._loop.call_soon(self._scheduled_flush)

    def writelines(self, chunks):
        """Queue each chunk, as ``write`` does."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self):
        """Hand whatever is buffered to the transport now."""
        self._cancel_flush()
        if self._buffered and not self._tls_switching:
            self._flush_now()

    def _scheduled_flush(self):
        self._flush_handle = None
        if self._buffered and not self._tls_switching:
            self._flush_now()

    cdef _flush_now(self):
        cdef list chunks = self._chunks
        if len(chunks) == 1:
            data = chunks.pop()
        else:
            data = b"".join(chunks)
            del chunks[:]  # the list is reused: no allocation per flush
        self._buffered = 0
        self._transport_write(data)

    cdef _transport_write(self, data):
        """``self.transport.write(data)``, its bound method looked up once per transport."""
        t = self.transport
        if t is None:
            return
        if t is not self._write_owner:
            self._write_method = t.write
            self._write_owner = t
        self._write_method(data)

    def _cancel_flush(self):
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    def _discard_writes(self):
        """Forget what is buffered (abort, connection lost, failed TLS switch)."""
        self._cancel_flush()
        self._chunks = []
        self._buffered = 0

    @property
    def buffered_bytes(self):
        """How many written bytes wait for the next flush."""
        return self._buffered
