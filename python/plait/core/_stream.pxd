cdef class StreamCore:
    cdef public object transport
    cdef public object _loop
    cdef public object _flush_handle
    cdef public bint _closing
    cdef public bint _lost
    cdef public bint _tls_switching
    cdef public bint _in_read
    cdef object _rview
    cdef object _last_view
    cdef Py_ssize_t _last_n
    cdef object _write_owner
    cdef object _write_method
    cdef object _on_data
    cdef list _chunks
    cdef Py_ssize_t _buffered
    cdef Py_ssize_t _coalesce_limit

    cdef _deliver(self, view)
    cdef _flush_now(self)
    cdef _transport_write(self, data)
    cpdef write(self, data)
