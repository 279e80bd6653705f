cdef class Loader:
    cdef object cls
    cdef object store
    cdef tuple names
    cdef dict template
    cdef tuple conv_names
    cdef list conv_funcs
    cdef list conv_kinds
    cdef object activate
    cdef dict imap
    cdef object new

    cdef list _load(self, list rows)
