from libc.stdint cimport uint8_t, uint32_t


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


ctypedef struct Cell:
    uint32_t ch
    uint32_t fg
    uint32_t bg
    uint32_t attrs

ctypedef struct Line:
    Cell* cells
    int width
    uint8_t size
    uint8_t wrapped

ctypedef struct Saved:
    bint valid
    int cx
    int cy
    Cell pen
    int g0
    int g1
    int gl
    bint origin


cdef class TerminalBuffer:
    cdef readonly int width
    cdef readonly int height
    cdef public object title
    cdef public int bells
    cdef Line* _main
    cdef Line* _alt
    cdef Line* _lines
    cdef bint _alt_active
    cdef Line* _sb
    cdef int _sb_cap
    cdef int _sb_len
    cdef int _sb_head
    cdef int _cx
    cdef int _cy
    cdef Cell _pen
    cdef int _top
    cdef int _bottom
    cdef uint8_t* _tabs
    cdef bint _insert
    cdef bint _lnm
    cdef bint _origin
    cdef bint _autowrap
    cdef bint _cursor_keys
    cdef bint _keypad_app
    cdef bint _bracketed_paste
    cdef bint _cursor_visible
    cdef bint _reverse_screen
    cdef set _other_modes
    cdef set _other_private
    cdef int _g[2]
    cdef int _gl
    cdef int _single_shift
    cdef Saved _saved
    cdef Saved _alt_saved
    cdef bytearray _reports

    cdef Line* _alloc_lines(self, int count, int width) except NULL
    cdef void _free_lines(self, Line* lines, int count) noexcept
    cdef void _blank_line(self, Line* line, uint32_t bg) noexcept
    cdef void _blank_cells(self, Line* line, int first, int end) noexcept
    cdef void _unwrap(self, Py_ssize_t y) noexcept
    cdef void _full_reset(self) noexcept
    cdef void _reset_tabs(self) noexcept
    cdef int _line_width(self, int y) noexcept
    cdef void _do_wrap(self) noexcept
    cdef void _put(self, uint32_t cp) noexcept
    cdef void _split_wide(self, Line* line, int first, int end, int lw) noexcept
    cdef void _combine(self, uint32_t cp)
    cdef void _put_ascii(self, const unsigned char* p, Py_ssize_t n) noexcept
    cdef void _scroll_up(self, int first, int last, int n, uint32_t bg) noexcept
    cdef Line _push_scrollback(self, Line line) noexcept
    cdef void _scroll_down(self, int first, int last, int n) noexcept
    cdef void _index(self, uint32_t bg) noexcept
    cdef void _reverse_index(self) noexcept
    cdef void _move_to(self, int x, int y) noexcept
    cdef void _save(self, Saved* s) noexcept
    cdef void _restore(self, Saved* s) noexcept
    cdef void _erase_display(self, int mode) noexcept
    cdef void _clear_scrollback(self) noexcept
    cdef void _shift_cells(self, int op, int n) noexcept
    cdef void _tab(self, int n, bint forward) noexcept
    cdef void _report(self, str text)
    cdef int _apply(self, int op, int a, int b) except -1
    cdef void _delete_lines(self, int last, int n) noexcept
    cdef void _mode(self, int mode, bint private, bint on)
    cdef void _alternate(self, bint on, bint cursor) noexcept
    cdef void _sgr(self, const int* params, const uint8_t* colon, int n) noexcept
    cdef void _select_charset(self, int charset, int which) noexcept
    cdef str _line_text(self, Line* line)
    cdef Line* _resize_lines(self, Line* lines, int width, int height, int drop,
                             bint to_scrollback) except NULL


cdef class TerminalParser:
    cdef readonly object terminal
    cdef TerminalBuffer _buf
    cdef int _state
    cdef int _params[32]
    cdef uint8_t _colon[32]
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
