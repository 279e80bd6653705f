from libc.stdint cimport uint8_t

from plait.conch.insults._grid cimport Grid


cdef class TerminalBuffer(Grid):
    cdef void _report(self, str text)
    cdef int _apply(self, int op, int a, int b) except -1
    cdef void _mode(self, int mode, bint private, bint on)
    cdef void _sgr(self, const int* params, const uint8_t* colon, int n) noexcept
    cdef void _select_charset(self, int charset, int which) noexcept
