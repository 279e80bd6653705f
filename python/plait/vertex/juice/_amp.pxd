from plait.core._stream cimport StreamCore


cdef class AmpCore(StreamCore):
    cdef public object _decoder
    cdef public dict _pending
    cdef public list _outbox
    cdef public Py_ssize_t _counter
    cdef public bint _flush_pending
    cdef public bint _receiving
    cdef public bint _amp_ready
    cdef public object _tls_hold
    cdef public object _tls_inbox
    cdef public object _table
    cdef public object _feed
    cdef public object _create_future
    cdef object _flush_callback
    cdef public bint _direct_receive

    cdef _schedule_flush(self)
    cdef _receive(self, data)
    cdef _send_now(self, box)
    cdef _flush_out(self)
