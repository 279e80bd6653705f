from libc.stdint cimport uint8_t, uint32_t

from plait.conch.insults._ops cimport MAX_PARAMS
from plait.conch.insults._screen cimport TerminalBuffer as NativeBuffer


cdef class TerminalParser:
    cdef readonly object terminal
    cdef NativeBuffer _buf
    cdef int _state
    cdef int _params[MAX_PARAMS]
    cdef uint8_t _colon[MAX_PARAMS]
    cdef int _nparams
    cdef bint _overflow
    cdef uint8_t _private
    cdef uint8_t _inter[2]
    cdef int _ninter
    cdef bint _in_csi
    cdef uint32_t _current_final
    cdef list _osc
    cdef list _text
    cdef Py_ssize_t _text_len
    cdef int _utf8_need
    cdef uint32_t _utf8_cp
    cdef uint8_t _utf8_lo
    cdef uint8_t _utf8_hi
    cdef uint32_t _last_char

    cdef void _clear(self) noexcept
    cdef Py_ssize_t _fast_escape(self, const unsigned char* p, Py_ssize_t i,
                                 Py_ssize_t n) except -2
    cdef void _utf8_start(self, int need, uint32_t cp, uint8_t lo, uint8_t hi) noexcept
    cdef int _flush_text(self) except -1
    cdef int _print(self, uint32_t cp) except -1
    cdef int _step(self, uint32_t cp) except -1
    cdef void _collect(self, uint32_t cp) noexcept
    cdef void _param(self, uint32_t cp) noexcept
    cdef int _count(self, int i) noexcept
    cdef int _value(self, int i, int default) noexcept
    cdef int _execute(self, uint32_t cp) except -1
    cdef int _op(self, int op, int a, int b) except -1
    cdef int _unhandled_current(self, int op, int a, int b) except -1
    cdef int _unhandled(self, uint32_t final) except -1
    cdef bytes _sequence_bytes(self, uint32_t final)
    cdef int _esc_dispatch(self, uint32_t final) except -1
    cdef int _csi_dispatch(self, uint32_t final) except -1
    cdef int _modes(self, bint private, bint on) except -1
    cdef int _sgr(self) except -1
    cdef int _osc_dispatch(self) except -1
