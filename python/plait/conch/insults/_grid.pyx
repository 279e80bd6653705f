# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The screen's storage and drawing primitives: lines of cells, the scrollback ring, the cursor
and the pen, and what draws text, scrolls and erases.

``TerminalBuffer`` (``_screen``) builds the VT102 operations, modes and the ``Terminal``
interface on this; the parser reaches both through the .pxd files, as C calls.
"""
from libc.stdint cimport uint8_t, uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memmove, memset
from cpython.unicode cimport PyUnicode_4BYTE_KIND, PyUnicode_FromKindAndData

from plait.conch.insults._width cimport cp_width

from unicodedata import normalize as _normalize

from plait.conch.insults.terminal import Cell as _Cell

# DEC special graphics for 0x5f..0x7e (VT100 line drawing), as xterm and tmux map them
cdef uint32_t _DRAWING[32]
for _i, _c in enumerate(
        "\u00a0\u25c6\u2592\u2409\u240c\u240d\u240a\u00b0\u00b1\u2424\u240b\u2518\u2510"
        "\u250c\u2514\u253c\u23ba\u23bb\u2500\u23bc\u23bd\u251c\u2524\u2534\u252c\u2502"
        "\u2264\u2265\u03c0\u2260\u00a3\u00b7"):
    _DRAWING[_i] = ord(_c)


cdef inline object _colour(uint32_t c):
    if c & C_RGB:
        return ((c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF)
    if c & C_INDEXED:
        return <int>(c & 0xFF)
    return None


cdef class Grid:
    """Lines of cells with a cursor: what ``TerminalBuffer`` draws on.

    Cells are C structs (a code point, two colours, attribute bits); lines are rotated, not
    copied, when the screen scrolls, and the lines scrolled off the top of the main screen go to
    a ring of ``scrollback`` lines. East Asian wide characters take two cells (the right one
    reads as ``""``), as wcwidth() says; a combining mark joins the character before it when
    Unicode has a precomposed form of the two, and is dropped otherwise.
    """

    def __cinit__(self, int width=80, int height=24, int scrollback=1000):
        if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
            raise ValueError(f"screen size must be 1..{MAX_DIMENSION} x 1..{MAX_DIMENSION}")
        if not 0 <= scrollback <= MAX_SCROLLBACK:
            raise ValueError(f"scrollback must be 0..{MAX_SCROLLBACK} lines")
        self.width = width
        self.height = height
        self._main = self._alloc_lines(height, width)
        self._alt = self._alloc_lines(height, width)
        self._sb_cap = scrollback
        self._sb = <Line*>malloc(sizeof(Line) * (scrollback if scrollback else 1))
        self._tabs = <uint8_t*>malloc(width)
        if self._sb == NULL or self._tabs == NULL:
            raise MemoryError()
        self._sb_len = 0
        self._sb_head = 0
        self._reports = bytearray()
        self._other_modes = set()
        self._other_private = set()
        self.bells = 0
        self._full_reset()

    def __dealloc__(self):
        cdef int i
        if self._main != NULL:
            self._free_lines(self._main, self.height)
        if self._alt != NULL:
            self._free_lines(self._alt, self.height)
        if self._sb != NULL:
            for i in range(self._sb_len):
                free(self._sb[(self._sb_head + i) % self._sb_cap].cells)
            free(self._sb)
        free(self._tabs)

    # ---------------------------------------------------------------- memory

    cdef Line* _alloc_lines(self, int count, int width) except NULL:
        cdef Line* lines = <Line*>malloc(sizeof(Line) * count)
        cdef int i
        if lines == NULL:
            raise MemoryError()
        for i in range(count):
            lines[i].cells = <Cell*>malloc(sizeof(Cell) * width)
            if lines[i].cells == NULL:
                raise MemoryError()
            lines[i].width = width
            self._blank_line(&lines[i], 0)
        return lines

    cdef void _free_lines(self, Line* lines, int count) noexcept:
        cdef int i
        for i in range(count):
            free(lines[i].cells)
        free(lines)

    cdef inline void _blank_line(self, Line* line, uint32_t bg) noexcept:
        """An erased cell is all zero (code point 0 reads as a space) but its background."""
        cdef int i
        if bg == 0:
            memset(line.cells, 0, sizeof(Cell) * line.width)
        else:
            memset(line.cells, 0, sizeof(Cell) * line.width)
            for i in range(line.width):
                line.cells[i].bg = bg
        line.size = LINE_SINGLE
        line.wrapped = 0

    cdef inline void _blank_cells(self, Line* line, int first, int end) noexcept:
        """Erase cells [first, end) with the current background (xterm's BCE)."""
        cdef int i
        cdef uint32_t bg = self._pen.bg
        if end > line.width:
            end = line.width
        if first >= end:
            return
        if first == 0 and end == line.width:
            self._unwrap(line - self._lines)
        memset(&line.cells[first], 0, sizeof(Cell) * (end - first))
        if bg:
            for i in range(first, end):
                line.cells[i].bg = bg

    cdef inline void _unwrap(self, Py_ssize_t y) noexcept:
        """Line y was wholly erased: it no longer continues, nor does the line above continue
        onto it (tmux; this decides where BS at column 0 goes)."""
        if 0 <= y < self.height:
            self._lines[y].wrapped = 0
            if y > 0:
                self._lines[y - 1].wrapped = 0

    cdef void _full_reset(self) noexcept:
        cdef int i
        for i in range(self.height):
            self._blank_line(&self._main[i], 0)
            self._blank_line(&self._alt[i], 0)
        self._lines = self._main
        self._alt_active = False
        self._pen.ch = 0
        self._pen.fg = 0
        self._pen.bg = 0
        self._pen.attrs = 0
        self._cx = 0
        self._cy = 0
        self._top = 0
        self._bottom = self.height - 1
        self._reset_tabs()
        self._insert = False
        self._lnm = False
        self._origin = False
        self._autowrap = True
        self._cursor_keys = False
        self._keypad_app = False
        self._bracketed_paste = False
        self._cursor_visible = True
        self._reverse_screen = False
        self._g[0] = SET_US
        self._g[1] = SET_US
        self._gl = 0
        self._single_shift = -1
        self._saved.valid = False
        self._alt_saved.valid = False
        self.title = ""
        self._other_modes.clear()
        self._other_private.clear()

    cdef void _reset_tabs(self) noexcept:
        cdef int i
        for i in range(self.width):
            self._tabs[i] = 1 if (i % 8 == 0 and i) else 0

    # ---------------------------------------------------------------- text

    cdef inline int _line_width(self, int y) noexcept:
        if self._lines[y].size != LINE_SINGLE:
            return self.width // 2 if self.width >= 2 else 1
        return self.width

    cdef inline void _do_wrap(self) noexcept:
        self._lines[self._cy].wrapped = 1
        self._cx = 0
        self._index(0)  # the new line is blank with the default background (tmux)

    cdef void _put(self, uint32_t cp) noexcept:
        """Draw one character at the cursor with the pen, and advance (deferred wrap)."""
        cdef int charset, lw, width
        cdef bint wrapped = False
        cdef Line* line
        cdef Cell* cell
        if self._single_shift >= 0:
            charset = SET_US  # G2 and G3 are never designated: US ASCII
            self._single_shift = -1
        else:
            charset = self._g[self._gl]
        if cp < 0x80 and charset != SET_US:
            if charset == SET_DRAWING:
                if 0x5F <= cp <= 0x7E:
                    cp = _DRAWING[cp - 0x5F]
            elif cp == 0x23:
                cp = 0xA3  # UK: '#' is the pound sign
        width = cp_width(cp)
        if width == 0:
            self._combine(cp)
            return
        lw = self._line_width(self._cy)
        if width > lw:
            return  # a wide character on a one-cell line: nowhere to draw
        if self._cx > lw - width:  # a wrap is pending, or a wide character does not fit
            if not self._autowrap:
                return  # nowhere to draw (tmux)
            else:
                if self._cx < lw:  # the cells a wide character leaves at the end go blank
                    line = &self._lines[self._cy]
                    self._split_wide(line, self._cx, lw, lw)
                    memset(&line.cells[self._cx], 0, sizeof(Cell) * (lw - self._cx))
                self._do_wrap()
                wrapped = True
                lw = self._line_width(self._cy)
        line = &self._lines[self._cy]
        # insert mode shifts the line, except for the character that wraps (as tmux, which
        # inserts at the pending position past the end, i.e. nowhere)
        if self._insert and not wrapped and self._cx < lw - width:
            memmove(&line.cells[self._cx + width], &line.cells[self._cx],
                    sizeof(Cell) * (lw - self._cx - width))
        self._split_wide(line, self._cx, self._cx + width, lw)
        cell = &line.cells[self._cx]
        cell[0] = self._pen
        cell.ch = cp
        if width == 2:
            cell[1] = self._pen
            cell[1].ch = PAD
        self._cx += width
        if self._cx >= lw and not self._autowrap:
            self._cx = lw - 1

    cdef inline void _split_wide(self, Line* line, int first, int end, int lw) noexcept:
        """Cells [first, end) are about to be overwritten: a wide character of which only one
        half is overwritten loses its other half (which becomes blank)."""
        if first > 0 and line.cells[first].ch == PAD:
            memset(&line.cells[first - 1], 0, sizeof(Cell))  # the default cell (tmux)
        if end < lw and line.cells[end].ch == PAD:
            memset(&line.cells[end], 0, sizeof(Cell))

    cdef void _combine(self, uint32_t cp):
        """A combining character joins the character before the cursor when Unicode has a
        precomposed form of the two (NFC); otherwise it is dropped (cells hold one code
        point). Zero-width characters never move the cursor."""
        cdef int x = min(self._cx, self._line_width(self._cy)) - 1
        cdef Cell* cells = self._lines[self._cy].cells
        if x >= 1 and cells[x].ch == PAD:
            x -= 1
        if x < 0 or cells[x].ch == 0 or cells[x].ch == PAD:
            return
        composed = _normalize("NFC", chr(cells[x].ch) + chr(cp))
        if len(composed) == 1:
            cells[x].ch = ord(composed)

    cdef void _put_ascii(self, const unsigned char* p, Py_ssize_t n) noexcept:
        """Draw a run of printable ASCII: whole stretches of a line per step."""
        cdef Py_ssize_t i = 0, j, k
        cdef int lw
        cdef int charset = self._g[self._gl]
        cdef uint32_t c
        cdef Cell pen = self._pen
        cdef Cell* cells
        if self._insert or self._single_shift >= 0:
            for i in range(n):
                self._put(p[i])
            return
        while i < n:
            lw = self._line_width(self._cy)
            if self._cx >= lw:
                if not self._autowrap:
                    return
                self._do_wrap()
                lw = self._line_width(self._cy)
            k = lw - self._cx
            if k > n - i:
                k = n - i
            self._split_wide(&self._lines[self._cy], self._cx, self._cx + <int>k, lw)
            cells = self._lines[self._cy].cells + self._cx
            if charset == SET_US:
                for j in range(k):
                    cells[j] = pen
                    cells[j].ch = p[i + j]
            else:
                for j in range(k):
                    c = p[i + j]
                    if charset == SET_DRAWING:
                        if 0x5F <= c <= 0x7E:
                            c = _DRAWING[c - 0x5F]
                    elif c == 0x23:
                        c = 0xA3
                    cells[j] = pen
                    cells[j].ch = c
            i += k
            self._cx += <int>k
            if self._cx == lw and not self._autowrap:
                self._cx = lw - 1
                if i < n:  # the rest overwrites the last column: the last one stays
                    cells[k - 1].ch = p[n - 1]
                    if charset == SET_DRAWING and 0x5F <= p[n - 1] <= 0x7E:
                        cells[k - 1].ch = _DRAWING[p[n - 1] - 0x5F]
                    elif charset == SET_UK and p[n - 1] == 0x23:
                        cells[k - 1].ch = 0xA3
                    i = n

    # ---------------------------------------------------------------- scrolling

    cdef void _scroll_up(self, int first, int last, int n, uint32_t bg) noexcept:
        """Lines [first, last] move up n; the lines leaving line 0 of the main screen go to
        the scrollback; new lines at the bottom are blank with the current background."""
        cdef int k
        cdef Line old, fresh
        cdef bint keep = (first == 0 and not self._alt_active and self._sb_cap > 0)
        if n > last - first + 1:
            n = last - first + 1
        for k in range(n):
            old = self._lines[first]
            memmove(&self._lines[first], &self._lines[first + 1], sizeof(Line) * (last - first))
            if keep:
                fresh = self._push_scrollback(old)
            else:
                fresh = old
            self._blank_line(&fresh, bg)
            self._lines[last] = fresh

    cdef Line _push_scrollback(self, Line line) noexcept:
        """Keep ``line`` in the scrollback ring; returns a line of the screen's width to reuse."""
        cdef Line out
        cdef Cell* cells
        out.size = LINE_SINGLE
        out.wrapped = 0
        if self._sb_len == self._sb_cap:
            out = self._sb[self._sb_head]
            self._sb[self._sb_head] = line
            self._sb_head = (self._sb_head + 1) % self._sb_cap
            if out.width != self.width:
                cells = <Cell*>realloc(out.cells, sizeof(Cell) * self.width)
                if cells == NULL:  # keep the old allocation; drop the scrolled line instead
                    return line
                out.cells = cells
                out.width = self.width
            return out
        out.cells = <Cell*>malloc(sizeof(Cell) * self.width)
        if out.cells == NULL:
            return line
        out.width = self.width
        self._sb[(self._sb_head + self._sb_len) % self._sb_cap] = line
        self._sb_len += 1
        return out

    cdef void _scroll_down(self, int first, int last, int n) noexcept:
        cdef int k
        cdef Line old
        if n > last - first + 1:
            n = last - first + 1
        for k in range(n):
            old = self._lines[last]
            memmove(&self._lines[first + 1], &self._lines[first], sizeof(Line) * (last - first))
            self._blank_line(&old, self._pen.bg)
            self._lines[first] = old

    cdef inline void _index(self, uint32_t bg) noexcept:
        if self._cy == self._bottom:
            self._scroll_up(self._top, self._bottom, 1, bg)
        elif self._cy < self.height - 1:
            self._cy += 1

    cdef inline void _reverse_index(self) noexcept:
        if self._cy == self._top:
            self._scroll_down(self._top, self._bottom, 1)
        elif self._cy > 0:
            self._cy -= 1

    # ---------------------------------------------------------------- cursor and erasing

    cdef void _move_to(self, int x, int y) noexcept:
        """Absolute cursor move; y is relative to the scroll region in origin mode."""
        if self._origin:
            y = _clamp(y + self._top, self._top, self._bottom)
        else:
            y = _clamp(y, 0, self.height - 1)
        self._cy = y
        self._cx = _clamp(x, 0, self._line_width(y) - 1)

    cdef void _save(self, Saved* s) noexcept:
        s.valid = True
        s.cx = self._cx
        s.cy = self._cy
        s.pen = self._pen
        s.g0 = self._g[0]
        s.g1 = self._g[1]
        s.gl = self._gl
        s.origin = self._origin

    cdef void _restore(self, Saved* s) noexcept:
        if not s.valid:
            self._cx = 0
            self._cy = 0
            self._pen.fg = self._pen.bg = self._pen.attrs = 0
            self._g[0] = self._g[1] = SET_US
            self._gl = 0
            self._origin = False
            return
        self._cy = _clamp(s.cy, 0, self.height - 1)
        self._cx = _clamp(s.cx, 0, self._line_width(self._cy) - 1)  # no pending wrap (tmux)
        self._pen = s.pen
        self._g[0] = s.g0
        self._g[1] = s.g1
        self._gl = s.gl
        self._origin = s.origin

    cdef void _erase_display(self, int mode) noexcept:
        cdef int y
        if mode == 0:
            self._blank_cells(&self._lines[self._cy], self._cx, self.width)
            for y in range(self._cy + 1, self.height):
                self._blank_cells(&self._lines[y], 0, self.width)
                self._lines[y].size = LINE_SINGLE
                self._lines[y].wrapped = 0
        elif mode == 1:
            for y in range(self._cy):
                self._blank_cells(&self._lines[y], 0, self.width)
                self._lines[y].size = LINE_SINGLE
                self._lines[y].wrapped = 0
            self._blank_cells(&self._lines[self._cy], 0, self._cx + 1)
        else:
            for y in range(self.height):
                self._blank_cells(&self._lines[y], 0, self.width)
                self._lines[y].size = LINE_SINGLE
                self._lines[y].wrapped = 0

    cdef void _clear_scrollback(self) noexcept:
        cdef int i
        for i in range(self._sb_len):
            free(self._sb[(self._sb_head + i) % self._sb_cap].cells)
        self._sb_len = 0
        self._sb_head = 0

    cdef void _shift_cells(self, bint insert, int n) noexcept:
        """ICH (insert blanks at the cursor) or DCH (delete at the cursor) within the line."""
        cdef Line* line = &self._lines[self._cy]
        cdef int lw = self._line_width(self._cy)
        cdef int x = self._cx
        if x >= lw:
            return
        if n > lw - x:
            n = lw - x
        if insert:
            memmove(&line.cells[x + n], &line.cells[x], sizeof(Cell) * (lw - x - n))
            self._blank_cells(line, x, x + n)
        else:
            memmove(&line.cells[x], &line.cells[x + n], sizeof(Cell) * (lw - x - n))
            self._blank_cells(line, lw - n, lw)

    cdef void _tab(self, int n, bint forward) noexcept:
        cdef int lw = self._line_width(self._cy)
        cdef int x = self._cx
        if forward and x >= lw - 1:
            return  # a pending wrap stays pending (tmux)
        while n > 0:
            if forward:
                x += 1
                while x < lw - 1 and not self._tabs[x]:
                    x += 1
                if x >= lw - 1:
                    x = lw - 1
                    break
            else:
                x -= 1
                while x > 0 and not self._tabs[x]:
                    x -= 1
                if x <= 0:
                    x = 0
                    break
            n -= 1
        self._cx = x

    cdef void _delete_lines(self, int last, int n) noexcept:
        """DL: lines cursor..last move up n (never into the scrollback)."""
        cdef int k
        cdef Line old
        if n > last - self._cy + 1:
            n = last - self._cy + 1
        for k in range(n):
            old = self._lines[self._cy]
            memmove(&self._lines[self._cy], &self._lines[self._cy + 1],
                    sizeof(Line) * (last - self._cy))
            self._blank_line(&old, self._pen.bg)
            self._lines[last] = old

    cdef void _alternate(self, bint on, bint cursor) noexcept:
        """Switch screens; entering clears the alternate screen (tmux); 1049 also saves and
        restores the cursor."""
        cdef int y
        if on:
            if self._alt_active:
                return  # already there: the first saved cursor stays (tmux)
            if cursor:  # the position and rendition only (tmux), not charsets or DECOM
                self._save(&self._alt_saved)
            self._alt_active = True
            self._lines = self._alt
            for y in range(self.height):
                self._blank_line(&self._alt[y], 0)
        else:
            if self._alt_active:
                self._alt_active = False
                self._lines = self._main
            if cursor and self._alt_saved.valid:
                self._cy = _clamp(self._alt_saved.cy, 0, self.height - 1)
                self._cx = _clamp(self._alt_saved.cx, 0, self._line_width(self._cy) - 1)
                self._pen = self._alt_saved.pen

    # ---------------------------------------------------------------- reading the screen

    def __str__(self):
        return "\n".join(self.lines())

    cdef str _line_text(self, Line* line):
        cdef int n = line.width
        cdef int i
        cdef uint32_t ch
        while n > 0 and line.cells[n - 1].ch <= 32:
            n -= 1
        if n == 0:
            return ""
        cdef uint32_t* text = <uint32_t*>malloc(sizeof(uint32_t) * <size_t>n)
        if text == NULL:
            raise MemoryError()
        cdef int k = 0
        try:
            for i in range(n):
                ch = line.cells[i].ch
                if ch != PAD:
                    text[k] = ch if ch else 32
                    k += 1
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, text, k)
        finally:
            free(text)

    def lines(self):
        """The screen's lines as text, right-stripped."""
        cdef int y
        return [self._line_text(&self._lines[y]) for y in range(self.height)]

    def scrollback_lines(self):
        """Lines scrolled off the top of the main screen, oldest first, right-stripped."""
        cdef int i
        return [self._line_text(&self._sb[(self._sb_head + i) % self._sb_cap])
                for i in range(self._sb_len)]

    def cell(self, int column, int line):
        """The character and attributes at (column, line), 0-based."""
        if not (0 <= column < self.width and 0 <= line < self.height):
            raise IndexError(f"({column}, {line}) is outside the {self.width}x{self.height} screen")
        cdef Cell c = self._lines[line].cells[column]
        return _Cell(chr(c.ch) if 0 < c.ch < PAD else ("" if c.ch == PAD else " "), bool(c.attrs & A_BOLD), bool(c.attrs & A_DIM),
                     bool(c.attrs & A_ITALIC), bool(c.attrs & A_UNDERLINE),
                     bool(c.attrs & A_BLINK), bool(c.attrs & A_REVERSE),
                     bool(c.attrs & A_INVISIBLE), _colour(c.fg), _colour(c.bg))

    def line_size(self, int line):
        """'single', 'double_width', 'double_top' or 'double_bottom' (DECSWL/DWL/DHL)."""
        if not 0 <= line < self.height:
            raise IndexError(f"line {line} is outside the screen")
        return ("single", "double_width", "double_top", "double_bottom")[self._lines[line].size]

    def line_wrapped(self, int line):
        """True when the text of ``line`` continues on the next line (auto-wrap)."""
        if not 0 <= line < self.height:
            raise IndexError(f"line {line} is outside the screen")
        return bool(self._lines[line].wrapped)

    @property
    def cursor(self):
        """(column, line), 0-based; the column is the line's width while a wrap is pending."""
        return (self._cx, self._cy)

    @property
    def wrap_pending(self):
        """True when the next character goes to the start of the next line."""
        return self._cx >= self._line_width(self._cy)

    @property
    def scroll_region(self):
        return (self._top, self._bottom)

    @property
    def tab_stops(self):
        cdef int i
        return [i for i in range(self.width) if self._tabs[i]]

    # ---------------------------------------------------------------- size

    def resize(self, int width, int height):
        """Change the screen size: lines are cut or padded (no reflow); when the screen gets
        shorter, lines above the cursor go to the scrollback so the cursor's line stays."""
        if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
            raise ValueError(f"screen size must be 1..{MAX_DIMENSION} x 1..{MAX_DIMENSION}")
        cdef int y, drop = 0
        cdef uint8_t* tabs = <uint8_t*>realloc(self._tabs, width)
        if tabs == NULL:
            raise MemoryError()
        self._tabs = tabs
        for y in range(self.width, width):
            self._tabs[y] = 1 if y % 8 == 0 else 0
        if height < self.height and self._cy >= height:
            drop = self._cy - height + 1
        self._main = self._resize_lines(self._main, width, height, drop, not self._alt_active)
        self._alt = self._resize_lines(self._alt, width, height, drop, False)
        self._lines = self._alt if self._alt_active else self._main
        self.width = width
        self.height = height
        self._cy = _clamp(self._cy - drop, 0, height - 1)
        self._cx = _clamp(self._cx, 0, width - 1)
        self._top = 0
        self._bottom = height - 1

    cdef Line* _resize_lines(self, Line* lines, int width, int height, int drop,
                             bint to_scrollback) except NULL:
        cdef Line* out = <Line*>malloc(sizeof(Line) * height)
        cdef Cell* cells
        cdef int y, x, src
        cdef Line spare
        if out == NULL:
            raise MemoryError()
        for y in range(drop):
            if to_scrollback and self._sb_cap > 0:
                spare = self._push_scrollback(lines[y])
                free(spare.cells)
            else:
                free(lines[y].cells)
        for y in range(height):
            src = y + drop
            if src < self.height:
                out[y] = lines[src]
                cells = <Cell*>realloc(out[y].cells, sizeof(Cell) * width)
                if cells == NULL:
                    raise MemoryError()
                out[y].cells = cells
                for x in range(out[y].width, width):
                    cells[x].ch = cells[x].fg = cells[x].bg = cells[x].attrs = 0
                out[y].width = width
            else:
                out[y].cells = <Cell*>malloc(sizeof(Cell) * width)
                if out[y].cells == NULL:
                    raise MemoryError()
                out[y].width = width
                self._blank_line(&out[y], 0)
        for y in range(height + drop, self.height):
            free(lines[y].cells)
        free(lines)
        return out
