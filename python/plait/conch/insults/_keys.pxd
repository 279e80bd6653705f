cdef class KeyParser:
    cdef public object handler
    cdef bytes _buf
    cdef bint _in_paste
    cdef object _paste_decoder
    cdef object _key
    cdef int _mod

    cdef int _process(self, bint force) except -1
    cdef int _deliver_paste(self, bytes chunk, bint final) except -1
    cdef Py_ssize_t _one(self, const unsigned char* p, Py_ssize_t n, bint force) except -1
    cdef Py_ssize_t _sequence(self, const unsigned char* p, Py_ssize_t n, bint force) except -2
