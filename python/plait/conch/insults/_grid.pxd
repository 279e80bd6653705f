from libc.stdint cimport uint8_t, uint32_t


cdef enum:
    # cell attribute bits
    A_BOLD = 1
    A_DIM = 2
    A_ITALIC = 4
    A_UNDERLINE = 8
    A_BLINK = 16
    A_REVERSE = 32
    A_INVISIBLE = 64
    A_STRIKE = 128
    # colour encoding in a cell: 0 default, INDEXED | n, RGB | 0xRRGGBB
    C_INDEXED = 0x1000000
    C_RGB = 0x2000000
    # the code point of the right half of a wide character
    PAD = 0x110000
    # line sizes
    LINE_SINGLE = 0
    LINE_DOUBLE_WIDTH = 1
    LINE_DOUBLE_TOP = 2
    LINE_DOUBLE_BOTTOM = 3
    # character sets
    SET_US = 0
    SET_UK = 1
    SET_DRAWING = 2
    # limits
    MAX_DIMENSION = 4096
    MAX_SCROLLBACK = 1000000


cdef inline int _clamp(int v, int lo, int hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)


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


cdef class Grid:
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
    cdef void _shift_cells(self, bint insert, int n) noexcept
    cdef void _tab(self, int n, bint forward) noexcept
    cdef void _delete_lines(self, int last, int n) noexcept
    cdef void _alternate(self, bint on, bint cursor) noexcept
    cdef str _line_text(self, Line* line)
    cdef Line* _resize_lines(self, Line* lines, int width, int height, int drop,
                             bint to_scrollback) except NULL
