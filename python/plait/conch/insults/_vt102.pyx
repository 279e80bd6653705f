# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The VT102 state machine, both ways, and the in-memory screen, compiled.

* ``KeyParser``: bytes a user types -> keys (the server side of a terminal application).
* ``TerminalParser``: bytes a program draws -> ``Terminal`` operations (the client side), in the
  manner of the DEC ANSI parser; when the terminal is the native ``TerminalBuffer`` no Python
  call is made per sequence.
* ``TerminalBuffer``: a VT102 screen of cells (character + attributes) with cursor, modes,
  scroll region, tab stops, character sets, alternate screen and scrollback.
"""
import codecs

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove, memset
from cpython.unicode cimport PyUnicode_4BYTE_KIND, PyUnicode_FromKindAndData

from plait.conch.insults import keys as _keys

# ====================================================================== input side: keys

cdef enum:
    MAX_KEY_SEQUENCE = 64          # bytes of one CSI/SS3 key sequence before it is garbage
    MAX_PASTE_CHUNK = 1048576      # a bracketed paste longer than this arrives in chunks

cdef object _PASTE_END = b"\x1b[201~"
cdef tuple _TILDE_KEYS  # CSI <n> ~ -> key, by n (None: not a key)
cdef dict _LETTER_KEYS = {
    ord("A"): _keys.UP_ARROW, ord("B"): _keys.DOWN_ARROW, ord("C"): _keys.RIGHT_ARROW,
    ord("D"): _keys.LEFT_ARROW, ord("H"): _keys.HOME, ord("F"): _keys.END,
    ord("E"): _keys.NUMPAD_MIDDLE, ord("P"): _keys.F1, ord("Q"): _keys.F2, ord("R"): _keys.F3,
    ord("S"): _keys.F4,
}
# SS3 keypad keys in application keypad mode -> the characters they stand for
cdef dict _KEYPAD = {ord("M"): "\r", ord("X"): "=", ord("I"): "\t", ord(" "): " "}
for _i, _c in enumerate("*+,-./0123456789"):
    _KEYPAD[ord("j") + _i] = _c


def _tilde_keys():
    table = [None] * 25
    for n, key in ((1, _keys.HOME), (2, _keys.INSERT), (3, _keys.DELETE), (4, _keys.END),
                   (5, _keys.PGUP), (6, _keys.PGDN), (7, _keys.HOME), (8, _keys.END),
                   (11, _keys.F1), (12, _keys.F2), (13, _keys.F3), (14, _keys.F4),
                   (15, _keys.F5), (17, _keys.F6), (18, _keys.F7), (19, _keys.F8),
                   (20, _keys.F9), (21, _keys.F10), (23, _keys.F11), (24, _keys.F12)):
        table[n] = key
    return tuple(table)


_TILDE_KEYS = _tilde_keys()
cdef list _MODIFIERS = [_keys.Modifier(i) for i in range(16)]
cdef list _LINUX_F = [_keys.F1, _keys.F2, _keys.F3, _keys.F4, _keys.F5]


cdef inline Py_ssize_t _utf8_length(const unsigned char* p, Py_ssize_t n, bint force,
                                    uint32_t* out) noexcept:
    """Decode one UTF-8 character at p: bytes consumed (0: incomplete, wait for more).

    Invalid sequences give U+FFFD and consume their maximal valid prefix (at least 1 byte).
    """
    cdef unsigned char b = p[0]
    cdef Py_ssize_t need, i
    cdef uint32_t cp
    cdef unsigned char lo = 0x80, hi = 0xBF
    if b < 0x80:
        out[0] = b
        return 1
    if 0xC2 <= b <= 0xDF:
        need = 2
        cp = b & 0x1F
    elif 0xE0 <= b <= 0xEF:
        need = 3
        cp = b & 0x0F
        if b == 0xE0:
            lo = 0xA0
        elif b == 0xED:
            hi = 0x9F
    elif 0xF0 <= b <= 0xF4:
        need = 4
        cp = b & 0x07
        if b == 0xF0:
            lo = 0x90
        elif b == 0xF4:
            hi = 0x8F
    else:
        out[0] = 0xFFFD
        return 1
    for i in range(1, need):
        if i >= n:
            if force:
                out[0] = 0xFFFD
                return i
            return 0
        b = p[i]
        if b < lo or b > hi:
            out[0] = 0xFFFD
            return i
        lo = 0x80
        hi = 0xBF
        cp = (cp << 6) | (b & 0x3F)
    out[0] = cp
    return need


cdef class KeyParser:
    """Bytes a user types -> ``handler.keystroke_received(key, modifier)`` and
    ``handler.paste_received(text)``.

    A sequence split across ``feed`` calls waits for its end; a lone ESC (or a partial
    sequence the terminal will never finish) waits for ``flush()``, which the caller invokes
    after a short quiet time, as terminals send a whole sequence in one write.
    """

    def __cinit__(self, handler):
        self.handler = handler
        self._buf = b""
        self._in_paste = False
        self._paste_decoder = None
        self._key = None
        self._mod = 0

    @property
    def pending(self):
        """True while bytes wait for the rest of a sequence (or for ``flush``)."""
        return len(self._buf) > 0

    @property
    def in_paste(self):
        """True between ESC[200~ and ESC[201~."""
        return self._in_paste

    def feed(self, data):
        """Parse ``data`` (bytes-like) and deliver every complete key."""
        if self._buf:
            self._buf = self._buf + bytes(data)
        else:
            self._buf = bytes(data)
        self._process(False)

    def flush(self):
        """Deliver what waits: a lone ESC as the Escape key, a partial sequence as keys."""
        if self._buf and not self._in_paste:
            self._process(True)

    cdef int _process(self, bint force) except -1:
        cdef bytes data = self._buf
        cdef const unsigned char* p = data
        cdef Py_ssize_t n = len(data), pos = 0, used, end, keep
        self._buf = b""
        while pos < n:
            if self._in_paste:
                end = data.find(_PASTE_END, pos)
                if end >= 0:
                    self._deliver_paste(data[pos:end], True)
                    self._in_paste = False
                    pos = end + len(_PASTE_END)
                    continue
                # keep a tail that may be the start of the end marker
                keep = _marker_prefix(p + pos, n - pos)
                if n - pos - keep > MAX_PASTE_CHUNK or force:
                    self._deliver_paste(data[pos:n - keep], False)
                    pos = n - keep
                self._buf = data[pos:]
                return 0
            used = self._one(p + pos, n - pos, force)
            if used == 0:
                self._buf = data[pos:]
                return 0
            pos += used
            if self._key is not None:
                key = self._key
                self._key = None
                self.handler.keystroke_received(key, _MODIFIERS[self._mod & 15])
        return 0

    cdef int _deliver_paste(self, bytes chunk, bint final) except -1:
        if self._paste_decoder is None:
            self._paste_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = self._paste_decoder.decode(chunk, final)
        if final:
            self._paste_decoder = None
        if text:
            self.handler.paste_received(text)
        return 0

    cdef Py_ssize_t _one(self, const unsigned char* p, Py_ssize_t n, bint force) except -1:
        """Parse one key at p; set self._key/_mod (key None: nothing to deliver).

        Returns the bytes consumed, 0 when the key is incomplete."""
        cdef uint32_t cp
        cdef Py_ssize_t used
        cdef unsigned char c
        self._mod = 0
        if p[0] != 0x1B:
            used = _utf8_length(p, n, force, &cp)
            if used:
                self._key = chr(cp)
            return used
        if n == 1:
            if force:
                self._key = "\x1b"
                return 1
            return 0
        c = p[1]
        if c == 0x5B or c == 0x4F:  # ESC [  ESC O
            used = self._sequence(p + 1, n - 1, force)
            if used == 0:
                return 0
            if used < 0:  # not a key sequence: ESC then the rest as text, or Alt+[ / Alt+O
                if n == 2:
                    self._key = chr(c)
                    self._mod = 2
                    return 2
                self._key = "\x1b"
                return 1
            return used + 1
        if c == 0x1B:  # ESC ESC: Alt + an escape sequence, or Alt+Escape
            if n == 2:
                if force:
                    self._key = "\x1b"
                    self._mod = 2
                    return 2
                return 0
            if p[2] == 0x5B or p[2] == 0x4F:
                used = self._sequence(p + 2, n - 2, force)
                if used == 0:
                    return 0
                if used > 0:
                    self._mod |= 2
                    return used + 2
            self._key = "\x1b"
            self._mod = 2
            return 2
        used = _utf8_length(p + 1, n - 1, force, &cp)
        if used == 0:
            return 0
        self._key = chr(cp)
        self._mod = 2
        return used + 1

    cdef Py_ssize_t _sequence(self, const unsigned char* p, Py_ssize_t n, bint force) except -2:
        """p[0] is '[' or 'O': parse a CSI or SS3 key. -1: not a well-formed sequence."""
        cdef Py_ssize_t i = 1, nparams = 0
        cdef int params[4]
        cdef int value = -1
        cdef unsigned char c, private = 0
        cdef bint csi = p[0] == 0x5B
        params[0] = params[1] = params[2] = params[3] = -1
        if csi and n >= 2 and p[1] == 0x5B:  # Linux console F1-F5: ESC [ [ A..E
            if n == 2:
                return -1 if force else 0
            c = p[2]
            if 0x41 <= c <= 0x45:
                self._key = _LINUX_F[c - 0x41]
            return 3
        if csi and n >= 2 and 0x3C <= p[1] <= 0x3F:
            private = p[1]
            i = 2
        while True:
            if i >= n:
                return -1 if force else 0
            if i >= MAX_KEY_SEQUENCE:
                return -1
            c = p[i]
            i += 1
            if 0x30 <= c <= 0x39:
                value = (value if value >= 0 else 0) * 10 + (c - 0x30)
                if value > 99999:
                    value = 99999
            elif c == 0x3B or c == 0x3A:
                if nparams < 4:
                    params[nparams] = value
                nparams += 1
                value = -1
            elif 0x20 <= c <= 0x2F or 0x3C <= c <= 0x3F:
                private = private or c
            elif 0x40 <= c <= 0x7E:
                break
            else:
                return -1
        if nparams < 4:
            params[nparams] = value
        nparams += 1
        if private:
            return i  # mouse reports and other private replies: not keys
        if not csi and nparams == 1 and params[0] > 1:
            params[1] = params[0]  # ESC O 5 P: old xterm modifier form
        if params[1] > 1:
            self._mod = (params[1] - 1) & 15
        if c == 0x7E:
            if csi and 0 <= params[0] < 25:
                self._key = _TILDE_KEYS[params[0]]
            elif csi and params[0] == 200:
                self._in_paste = True
            return i
        if c == 0x5A and csi:  # CSI Z: back-tab
            self._key = "\t"
            self._mod |= 1
            return i
        key = _LETTER_KEYS.get(c)
        if key is None and not csi:
            key = _KEYPAD.get(c)
        self._key = key
        return i


cdef inline Py_ssize_t _marker_prefix(const unsigned char* p, Py_ssize_t n) noexcept:
    """How many bytes at the end of p[:n] are a proper prefix of ESC[201~."""
    cdef const char* marker = b"\x1b[201~"
    cdef Py_ssize_t k, j
    cdef bint ok
    for k in range(5 if n >= 5 else n, 0, -1):
        ok = True
        for j in range(k):
            if p[n - k + j] != <unsigned char>marker[j]:
                ok = False
                break
        if ok:
            return k
    return 0


# ====================================================================== output side: the screen

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

# DEC special graphics for 0x5f..0x7e (VT100 line drawing), as xterm and tmux map them
cdef uint32_t _DRAWING[32]
for _i, _c in enumerate(
        "\u00a0\u25c6\u2592\u2409\u240c\u240d\u240a\u00b0\u00b1\u2424\u240b\u2518\u2510"
        "\u250c\u2514\u253c\u23ba\u23bb\u2500\u23bc\u23bd\u251c\u2524\u2534\u252c\u2502"
        "\u2264\u2265\u03c0\u2260\u00a3\u00b7"):
    _DRAWING[_i] = ord(_c)

cdef dict _CHARSET_IDS = {b"B": SET_US, b"A": SET_UK, b"0": SET_DRAWING, b"1": SET_US,
                          b"2": SET_DRAWING}
cdef tuple _CHARSET_NAMES = (b"B", b"A", b"0")

# the operations both kinds of terminal understand; a table maps each to its Python method
cdef enum Op:
    OP_CUU, OP_CUD, OP_CUF, OP_CUB, OP_CUP, OP_HOME, OP_CHA, OP_VPA
    OP_IND, OP_RI, OP_NEL, OP_DECSC, OP_DECRC, OP_DECKPAM, OP_DECKPNM
    OP_SI, OP_SO, OP_SS2, OP_SS3, OP_HTS, OP_TBC, OP_TBC_ALL, OP_HT
    OP_DHL, OP_SWL, OP_DWL, OP_EL0, OP_EL1, OP_EL2, OP_ED0, OP_ED1, OP_ED2
    OP_ECH, OP_DCH, OP_ICH, OP_IL, OP_DL, OP_SU, OP_SD, OP_STBM
    OP_CR, OP_LF, OP_BS, OP_BEL, OP_RIS
    # buffer-only operations (a Python terminal gets unhandled_control_sequence)
    OP_CBT, OP_REP, OP_DECALN, OP_DSR, OP_CPR, OP_DECXCPR, OP_DA, OP_DA2, OP_DECSTR, OP_ED3
    OP_SCOSC, OP_SCORC
    OP_PYTHON_LAST = OP_RIS

cdef tuple _OP_METHODS = (
    ("cursor_up", 1), ("cursor_down", 1), ("cursor_forward", 1), ("cursor_backward", 1),
    ("cursor_position", 2), ("cursor_home", 0), ("cursor_column", 1), ("cursor_line", 1),
    ("index", 0), ("reverse_index", 0), ("next_line", 0), ("save_cursor", 0),
    ("restore_cursor", 0), ("application_keypad_mode", 0), ("numeric_keypad_mode", 0),
    ("shift_in", 0), ("shift_out", 0), ("single_shift2", 0), ("single_shift3", 0),
    ("horizontal_tabulation_set", 0), ("tabulation_clear", 0), ("tabulation_clear_all", 0),
    ("horizontal_tab", 1), ("double_height_line", 1), ("single_width_line", 0),
    ("double_width_line", 0), ("erase_to_line_end", 0), ("erase_to_line_beginning", 0),
    ("erase_line", 0), ("erase_to_display_end", 0), ("erase_to_display_beginning", 0),
    ("erase_display", 0), ("erase_character", 1), ("delete_character", 1),
    ("insert_character", 1), ("insert_line", 1), ("delete_line", 1), ("scroll_up", 1),
    ("scroll_down", 1), ("set_scroll_region", 2), ("carriage_return", 0), ("line_feed", 0),
    ("backspace", 0), ("bell", 0), ("reset", 0),
)


cdef inline object _colour(uint32_t c):
    if c & C_RGB:
        return ((c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF)
    if c & C_INDEXED:
        return <int>(c & 0xFF)
    return None


cdef inline int _clamp(int v, int lo, int hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)


cdef class TerminalBuffer:
    """An in-memory VT102 screen (xterm's behaviour, checked against tmux).

    Cells are C structs (a code point, two colours, attribute bits); lines are rotated, not
    copied, when the screen scrolls, and the lines scrolled off the top of the main screen go to
    a ring of ``scrollback`` lines. Characters are one cell wide (no East Asian wide cells).
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
        cdef int charset, lw
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
        lw = self._line_width(self._cy)
        if self._cx >= lw:  # a wrap is pending
            if not self._autowrap:
                return  # nowhere to draw (tmux)
            self._do_wrap()
            wrapped = True
            lw = self._line_width(self._cy)
        line = &self._lines[self._cy]
        # insert mode shifts the line, except for the character that wraps (as tmux, which
        # inserts at the pending position past the end, i.e. nowhere)
        if self._insert and not wrapped and self._cx < lw - 1:
            memmove(&line.cells[self._cx + 1], &line.cells[self._cx],
                    sizeof(Cell) * (lw - self._cx - 1))
        cell = &line.cells[self._cx]
        cell[0] = self._pen
        cell.ch = cp
        self._cx += 1
        if self._cx == lw and not self._autowrap:
            self._cx = lw - 1

    cdef void _put_ascii(self, const unsigned char* p, Py_ssize_t n) noexcept:
        """Draw a run of printable ASCII: whole stretches of a line per step."""
        cdef Py_ssize_t i = 0, j, k
        cdef int lw
        cdef Cell pen = self._pen
        cdef Cell* cells
        if self._insert or self._single_shift >= 0 or self._g[self._gl] != SET_US:
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
            cells = self._lines[self._cy].cells + self._cx
            for j in range(k):
                cells[j] = pen
                cells[j].ch = p[i + j]
            i += k
            self._cx += <int>k
            if self._cx == lw and not self._autowrap:
                self._cx = lw - 1
                while i < n:  # the rest overwrites the last column
                    cells[k - 1].ch = p[i]
                    i += 1

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

    # ---------------------------------------------------------------- the operations

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

    cdef void _shift_cells(self, int op, int n) noexcept:
        """ICH (insert blanks at the cursor) or DCH (delete at the cursor) within the line."""
        cdef Line* line = &self._lines[self._cy]
        cdef int lw = self._line_width(self._cy)
        cdef int x = self._cx
        if x >= lw:
            return
        if n > lw - x:
            n = lw - x
        if op == OP_ICH:
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

    cdef void _report(self, str text):
        self._reports += text.encode("ascii")

    cdef int _apply(self, int op, int a, int b) except -1:
        """Carry out one operation (the fast path's single entry point).

        The column equals the line's width while a wrap is pending (as tmux keeps it):
        vertical moves and CUF clamp it, LF/IND/RI/VPA/IL/DL keep it, CUB and BS count from it.
        """
        cdef int y, lw
        if op == OP_CUU or op == OP_CUD:
            if op == OP_CUU:
                y = self._top if self._cy >= self._top else 0
                self._cy = max(self._cy - max(a, 1), y)
            else:
                y = self._bottom if self._cy <= self._bottom else self.height - 1
                self._cy = min(self._cy + max(a, 1), y)
            self._cx = min(self._cx, self._line_width(self._cy) - 1)
        elif op == OP_CUF:
            self._cx = min(self._cx + max(a, 1), self._line_width(self._cy) - 1)
        elif op == OP_CUB:
            self._cx = max(self._cx - max(a, 1), 0)
        elif op == OP_CUP:
            self._move_to(a, b)
        elif op == OP_HOME:
            self._move_to(0, 0)
        elif op == OP_CHA:
            self._cx = _clamp(a, 0, self._line_width(self._cy) - 1)
        elif op == OP_VPA:
            lw = self._cx
            self._move_to(0, a)
            self._cx = min(lw, self._line_width(self._cy))
        elif op == OP_IND or op == OP_LF or op == OP_NEL:
            if op == OP_NEL or (op == OP_LF and self._lnm):
                self._cx = 0
            self._index(self._pen.bg)
            self._cx = min(self._cx, self._line_width(self._cy))
        elif op == OP_RI:
            self._reverse_index()
            self._cx = min(self._cx, self._line_width(self._cy))
        elif op == OP_DECSC:
            self._save(&self._saved)
        elif op == OP_DECRC:
            self._restore(&self._saved)
        elif op == OP_DECKPAM:
            self._keypad_app = True
        elif op == OP_DECKPNM:
            self._keypad_app = False
        elif op == OP_SI:
            self._gl = 0
        elif op == OP_SO:
            self._gl = 1
        elif op == OP_SS2 or op == OP_SS3:
            self._single_shift = 2 if op == OP_SS2 else 3
        elif op == OP_HTS:
            if self._cx < self.width:
                self._tabs[self._cx] = 1
        elif op == OP_TBC:
            if self._cx < self.width:
                self._tabs[self._cx] = 0
        elif op == OP_TBC_ALL:
            memset(self._tabs, 0, self.width)
        elif op == OP_HT:
            self._tab(max(a, 1), True)
        elif op == OP_CBT:
            self._tab(max(a, 1), False)
        elif op == OP_DHL or op == OP_SWL or op == OP_DWL:
            self._lines[self._cy].size = (LINE_SINGLE if op == OP_SWL else LINE_DOUBLE_WIDTH
                                          if op == OP_DWL else LINE_DOUBLE_TOP if a
                                          else LINE_DOUBLE_BOTTOM)
            if op != OP_SWL:
                lw = self._line_width(self._cy)
                self._blank_cells(&self._lines[self._cy], lw, self.width)
                if self._cx >= lw:
                    self._cx = lw - 1
        elif op == OP_EL0:
            self._blank_cells(&self._lines[self._cy], self._cx, self.width)
        elif op == OP_EL1:
            self._blank_cells(&self._lines[self._cy], 0, self._cx + 1)
        elif op == OP_EL2:
            self._blank_cells(&self._lines[self._cy], 0, self.width)
        elif op == OP_ED0 or op == OP_ED1 or op == OP_ED2:
            self._erase_display(op - OP_ED0)
        elif op == OP_ED3:
            self._clear_scrollback()
        elif op == OP_ECH:
            lw = self._line_width(self._cy)
            if self._cx < lw:
                self._blank_cells(&self._lines[self._cy], self._cx,
                                  self._cx + min(max(a, 1), lw - self._cx))
        elif op == OP_ICH or op == OP_DCH:
            self._shift_cells(op, max(a, 1))
        elif op == OP_IL or op == OP_DL:
            # inside the region: the lines down to its bottom move; outside it, the lines down
            # to the screen's bottom (tmux; xterm ignores IL/DL outside the region)
            y = self._bottom if self._top <= self._cy <= self._bottom else self.height - 1
            a = min(max(a, 1), y - self._cy + 1)
            if op == OP_IL:
                self._scroll_down(self._cy, y, a)
            else:
                self._delete_lines(y, a)
            if y == self._bottom and self._top <= self._cy:  # blank lines erased (tmux)
                self._unwrap(self._cy if op == OP_IL else y - a + 1)
        elif op == OP_SU:
            self._scroll_up(self._top, self._bottom, max(a, 1), self._pen.bg)
        elif op == OP_SD:
            self._scroll_down(self._top, self._bottom, max(a, 1))
        elif op == OP_STBM:
            a = 0 if a < 0 else a
            b = self.height - 1 if (b < 0 or b >= self.height) else b
            if a < b:
                self._top = a
                self._bottom = b
                self._move_to(0, 0)
        elif op == OP_CR:
            self._cx = 0
        elif op == OP_BS:
            if self._cx > 0:
                self._cx = min(self._cx, self._line_width(self._cy)) - 1
            elif self._cy > 0 and self._lines[self._cy - 1].wrapped:  # back over a wrap (tmux)
                self._cy -= 1
                self._cx = self._line_width(self._cy) - 1
        elif op == OP_BEL:
            self.bells += 1
        elif op == OP_RIS:
            self._full_reset()
        elif op == OP_REP:  # b drawn a times, never past the end of the line (tmux)
            a = min(max(a, 1), self._line_width(self._cy) - self._cx)
            if b:
                for y in range(a):
                    self._put(b)
        elif op == OP_DECALN:
            self._top = 0
            self._bottom = self.height - 1
            self._origin = False
            for y in range(self.height):
                self._blank_line(&self._lines[y], 0)
                for lw in range(self.width):
                    self._lines[y].cells[lw].ch = 69  # 'E'
            self._move_to(0, 0)
        elif op == OP_DSR:
            self._report("\x1b[0n")
        elif op == OP_CPR or op == OP_DECXCPR:
            y = self._cy - (self._top if self._origin else 0)
            lw = min(self._cx, self._line_width(self._cy) - 1)
            self._report(f"\x1b[{'?' if op == OP_DECXCPR else ''}{y + 1};{lw + 1}R")
        elif op == OP_DA:
            self._report("\x1b[?1;2c")
        elif op == OP_DA2:
            self._report("\x1b[>0;95;0c")
        elif op == OP_DECSTR:
            self._insert = False
            self._origin = False
            self._autowrap = True
            self._cursor_keys = False
            self._keypad_app = False
            self._cursor_visible = True
            self._top = 0
            self._bottom = self.height - 1
            self._pen.fg = self._pen.bg = self._pen.attrs = 0
            self._g[0] = self._g[1] = SET_US
            self._gl = 0
            self._saved.valid = False
        elif op == OP_SCOSC:
            self._save(&self._saved)
        elif op == OP_SCORC:
            self._restore(&self._saved)
        return 0

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

    cdef void _mode(self, int mode, bint private, bint on):
        if not private:
            if mode == 4:
                self._insert = on
            elif mode == 20:
                self._lnm = on
            elif on:
                self._other_modes.add(mode)
            else:
                self._other_modes.discard(mode)
            return
        if mode == 1:
            self._cursor_keys = on
        elif mode == 3:  # DECCOLM: the size stays (as tmux), the screen clears
            self._top = 0
            self._bottom = self.height - 1
            self._erase_display(2)
            self._move_to(0, 0)
        elif mode == 5:
            self._reverse_screen = on
        elif mode == 6:
            self._origin = on
            self._move_to(0, 0)
        elif mode == 7:
            self._autowrap = on
        elif mode == 25:
            self._cursor_visible = on
        elif mode == 2004:
            self._bracketed_paste = on
        elif mode == 47 or mode == 1047 or mode == 1049:
            self._alternate(on, mode == 1049)
        elif on:
            self._other_private.add(mode)
        else:
            self._other_private.discard(mode)

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

    cdef void _sgr(self, const int* params, const uint8_t* colon, int n) noexcept:
        """SGR, with 256-colour and truecolour in both the ';' and the ':' forms."""
        cdef int i = 0, j, k, p, count
        cdef uint32_t colour
        cdef bint ok
        cdef Cell* pen = &self._pen
        if n == 0:
            pen.fg = pen.bg = pen.attrs = 0
            return
        while i < n:
            p = params[i] if params[i] > 0 else 0
            if p == 38 or p == 48 or p == 58:
                ok = False
                colour = 0
                if i + 1 < n and colon[i + 1]:  # 38:5:n  38:2:[cs]:r:g:b
                    j = i + 1
                    while j < n and colon[j]:
                        j += 1
                    count = j - i - 1
                    if count >= 2 and params[i + 1] == 5 and 0 <= params[i + 2] <= 255:
                        colour = C_INDEXED | params[i + 2]
                        ok = True
                    elif count >= 4 and params[i + 1] == 2:
                        k = i + 3 if count >= 5 else i + 2
                        colour = C_RGB | (_byte(params[k]) << 16) | (_byte(params[k + 1]) << 8) \
                            | _byte(params[k + 2])
                        ok = True
                    i = j
                else:
                    if i + 2 < n and params[i + 1] == 5:
                        if 0 <= params[i + 2] <= 255:
                            colour = C_INDEXED | params[i + 2]
                            ok = True
                        i += 3
                    elif i + 4 < n and params[i + 1] == 2:
                        colour = C_RGB | (_byte(params[i + 2]) << 16) \
                            | (_byte(params[i + 3]) << 8) | _byte(params[i + 4])
                        ok = True
                        i += 5
                    elif i + 1 < n and (params[i + 1] == 2 or params[i + 1] == 5):
                        i = n  # an incomplete colour ends the list
                    else:
                        i += 2  # 38;X with X not 2 or 5: both skipped (tmux)
                if ok:
                    if p == 38:
                        pen.fg = colour
                    elif p == 48:
                        pen.bg = colour
                continue
            if i + 1 < n and colon[i + 1]:  # sub-parameters of another attribute: 4:3 etc.
                j = i + 1
                while j < n and colon[j]:
                    j += 1
                if p == 4:
                    if params[i + 1] > 0:
                        pen.attrs |= A_UNDERLINE
                    else:
                        pen.attrs &= ~A_UNDERLINE
                i = j
                continue
            i += 1
            if p == 0:
                pen.fg = pen.bg = pen.attrs = 0
            elif p == 1:
                pen.attrs |= A_BOLD
            elif p == 2:
                pen.attrs |= A_DIM
            elif p == 3:
                pen.attrs |= A_ITALIC
            elif p == 4 or p == 21:
                pen.attrs |= A_UNDERLINE
            elif p == 5 or p == 6:
                pen.attrs |= A_BLINK
            elif p == 7:
                pen.attrs |= A_REVERSE
            elif p == 8:
                pen.attrs |= A_INVISIBLE
            elif p == 9:
                pen.attrs |= A_STRIKE
            elif p == 22:
                pen.attrs &= ~(A_BOLD | A_DIM)
            elif p == 23:
                pen.attrs &= ~A_ITALIC
            elif p == 24:
                pen.attrs &= ~A_UNDERLINE
            elif p == 25:
                pen.attrs &= ~A_BLINK
            elif p == 27:
                pen.attrs &= ~A_REVERSE
            elif p == 28:
                pen.attrs &= ~A_INVISIBLE
            elif p == 29:
                pen.attrs &= ~A_STRIKE
            elif 30 <= p <= 37:
                pen.fg = C_INDEXED | (p - 30)
            elif p == 39:
                pen.fg = 0
            elif 40 <= p <= 47:
                pen.bg = C_INDEXED | (p - 40)
            elif p == 49:
                pen.bg = 0
            elif 90 <= p <= 97:
                pen.fg = C_INDEXED | (p - 82)
            elif 100 <= p <= 107:
                pen.bg = C_INDEXED | (p - 92)

    cdef void _select_charset(self, int charset, int which) noexcept:
        if 0 <= which <= 1:
            self._g[which] = charset

    # ---------------------------------------------------------------- the Terminal interface

    def cursor_up(self, int n=1): self._apply(OP_CUU, n, 0)
    def cursor_down(self, int n=1): self._apply(OP_CUD, n, 0)
    def cursor_forward(self, int n=1): self._apply(OP_CUF, n, 0)
    def cursor_backward(self, int n=1): self._apply(OP_CUB, n, 0)
    def cursor_position(self, int column, int line): self._apply(OP_CUP, column, line)
    def cursor_home(self): self._apply(OP_HOME, 0, 0)
    def cursor_column(self, int column): self._apply(OP_CHA, column, 0)
    def cursor_line(self, int line): self._apply(OP_VPA, line, 0)
    def index(self): self._apply(OP_IND, 0, 0)
    def reverse_index(self): self._apply(OP_RI, 0, 0)
    def next_line(self): self._apply(OP_NEL, 0, 0)
    def save_cursor(self): self._apply(OP_DECSC, 0, 0)
    def restore_cursor(self): self._apply(OP_DECRC, 0, 0)
    def application_keypad_mode(self): self._apply(OP_DECKPAM, 0, 0)
    def numeric_keypad_mode(self): self._apply(OP_DECKPNM, 0, 0)
    def shift_in(self): self._apply(OP_SI, 0, 0)
    def shift_out(self): self._apply(OP_SO, 0, 0)
    def single_shift2(self): self._apply(OP_SS2, 0, 0)
    def single_shift3(self): self._apply(OP_SS3, 0, 0)
    def horizontal_tabulation_set(self): self._apply(OP_HTS, 0, 0)
    def tabulation_clear(self): self._apply(OP_TBC, 0, 0)
    def tabulation_clear_all(self): self._apply(OP_TBC_ALL, 0, 0)
    def horizontal_tab(self, int n=1): self._apply(OP_HT, n, 0)
    def double_height_line(self, top=True): self._apply(OP_DHL, 1 if top else 0, 0)
    def single_width_line(self): self._apply(OP_SWL, 0, 0)
    def double_width_line(self): self._apply(OP_DWL, 0, 0)
    def erase_to_line_end(self): self._apply(OP_EL0, 0, 0)
    def erase_to_line_beginning(self): self._apply(OP_EL1, 0, 0)
    def erase_line(self): self._apply(OP_EL2, 0, 0)
    def erase_to_display_end(self): self._apply(OP_ED0, 0, 0)
    def erase_to_display_beginning(self): self._apply(OP_ED1, 0, 0)
    def erase_display(self): self._apply(OP_ED2, 0, 0)
    def erase_character(self, int n=1): self._apply(OP_ECH, n, 0)
    def delete_character(self, int n=1): self._apply(OP_DCH, n, 0)
    def insert_character(self, int n=1): self._apply(OP_ICH, n, 0)
    def insert_line(self, int n=1): self._apply(OP_IL, n, 0)
    def delete_line(self, int n=1): self._apply(OP_DL, n, 0)
    def scroll_up(self, int n=1): self._apply(OP_SU, n, 0)
    def scroll_down(self, int n=1): self._apply(OP_SD, n, 0)
    def carriage_return(self): self._apply(OP_CR, 0, 0)
    def line_feed(self): self._apply(OP_LF, 0, 0)
    def backspace(self): self._apply(OP_BS, 0, 0)
    def bell(self): self._apply(OP_BEL, 0, 0)
    def reset(self): self._apply(OP_RIS, 0, 0)

    def set_scroll_region(self, first=None, last=None):
        """Lines first..last (0-based, inclusive) scroll; None is the screen's edge."""
        self._apply(OP_STBM, -1 if first is None else first, -1 if last is None else last)

    def set_modes(self, modes):
        for mode in modes:
            self._mode(mode, False, True)

    def reset_modes(self, modes):
        for mode in modes:
            self._mode(mode, False, False)

    def set_private_modes(self, modes):
        for mode in modes:
            self._mode(mode, True, True)

    def reset_private_modes(self, modes):
        for mode in modes:
            self._mode(mode, True, False)

    def select_character_set(self, charset, int which):
        """Designate ``charset`` (CS_US, CS_UK, CS_DRAWING, ...) as G0 (0) or G1 (1)."""
        self._select_charset(_CHARSET_IDS.get(bytes(charset), SET_US), which)

    def select_graphic_rendition(self, *params):
        cdef int values[MAX_PARAMS]
        cdef uint8_t colon[MAX_PARAMS]
        cdef int n = 0
        for value in params[:MAX_PARAMS]:
            values[n] = _clamp(value, 0, MAX_PARAM_VALUE)
            colon[n] = 0
            n += 1
        self._sgr(values, colon, n)

    def write(self, str text):
        """Draw text at the cursor (characters already decoded; controls are not interpreted)."""
        cdef Py_UCS4 ch
        for ch in text:
            self._put(ch)

    def set_title(self, str title):
        self.title = title

    def unhandled_control_sequence(self, bytes seq):
        pass

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
        cdef uint32_t* text = <uint32_t*>malloc(sizeof(uint32_t) * n)
        if text == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                ch = line.cells[i].ch
                text[i] = ch if ch else 32
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, text, n)
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
        return _Cell(chr(c.ch) if c.ch else " ", bool(c.attrs & A_BOLD), bool(c.attrs & A_DIM),
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
    def modes(self):
        """ANSI modes that are set (IRM, LNM and any other set with SM)."""
        out = set(self._other_modes)
        if self._insert:
            out.add(4)
        if self._lnm:
            out.add(20)
        return frozenset(out)

    @property
    def private_modes(self):
        """DEC private modes that are set (DECCKM, DECOM, DECAWM, DECTCEM, 1049, 2004, ...)."""
        out = set(self._other_private)
        for flag, mode in ((self._cursor_keys, 1), (self._reverse_screen, 5),
                           (self._origin, 6), (self._autowrap, 7), (self._cursor_visible, 25),
                           (self._bracketed_paste, 2004)):
            if flag:
                out.add(mode)
        if self._alt_active:
            out.add(1049)
        return frozenset(out)

    @property
    def alternate_screen(self):
        return bool(self._alt_active)

    @property
    def application_keypad(self):
        return bool(self._keypad_app)

    @property
    def charsets(self):
        """(G0, G1, which is shifted in): e.g. (b"B", b"0", 0)."""
        return (_CHARSET_NAMES[self._g[0]], _CHARSET_NAMES[self._g[1]], self._gl)

    @property
    def tab_stops(self):
        cdef int i
        return [i for i in range(self.width) if self._tabs[i]]

    @property
    def reports(self):
        """Bytes the terminal owes its peer (DSR, CPR and DA answers), not yet taken."""
        return bytes(self._reports)

    def take_reports(self):
        """Return and forget the pending reports."""
        out = bytes(self._reports)
        self._reports.clear()
        return out

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


cdef inline int _charset_id(uint32_t final) noexcept:
    """SCS final byte -> character set (-1: not one the buffer knows)."""
    if final == 0x42 or final == 0x31:  # B: US ASCII; 1: DEC alternate ROM, standard
        return SET_US
    if final == 0x41:
        return SET_UK
    if final == 0x30 or final == 0x32:  # 0: DEC special graphics; 2: alternate ROM graphics
        return SET_DRAWING
    return -1


cdef inline uint32_t _byte(int v) noexcept:
    return <uint32_t>(0 if v < 0 else (255 if v > 255 else v))


from plait.conch.insults.terminal import Cell as _Cell  # noqa: E402


# ====================================================================== output side: the parser

cdef enum:
    MAX_PARAMS = 32           # parameters kept per sequence; more are ignored
    MAX_PARAM_VALUE = 65535   # a parameter saturates here
    MAX_OSC = 4096            # code points kept of an OSC string; the rest is dropped
    MAX_TEXT_RUN = 65536      # characters gathered before a Python terminal's write()

cdef enum State:
    GROUND, ESCAPE, ESCAPE_INTERMEDIATE, CSI_ENTRY, CSI_PARAM, CSI_INTERMEDIATE, CSI_IGNORE
    DCS_ENTRY, DCS_PARAM, DCS_INTERMEDIATE, DCS_PASSTHROUGH, DCS_IGNORE, OSC_STRING
    STRING_IGNORE


cdef class TerminalParser:
    """Bytes a program writes to its terminal -> ``Terminal`` operations.

    The DEC ANSI parser's states (ground, escape, CSI, DCS, OSC, SOS/PM/APC), after UTF-8
    decoding (invalid bytes become U+FFFD). Parameters are bounded in count and value, OSC
    strings in length, so no input makes it allocate without bound or raise. When the terminal
    is a ``TerminalBuffer`` each operation is a C call; otherwise text arrives as one
    ``write(str)`` per run and each sequence as one method call.
    """

    def __cinit__(self, terminal):
        self.terminal = terminal
        self._buf = terminal if isinstance(terminal, TerminalBuffer) else None
        self._state = GROUND
        self._text = []
        self._text_len = 0
        self._osc = []
        self._utf8_need = 0
        self._last_char = 0
        self._clear()

    cdef inline void _clear(self) noexcept:
        self._nparams = 0
        self._overflow = False
        self._private = 0
        self._ninter = 0
        self._inter[0] = self._inter[1] = 0

    def feed(self, data):
        """Parse ``data`` (bytes-like); never raises on any input."""
        cdef const unsigned char[:] view = memoryview(data).cast("B")
        cdef Py_ssize_t n = view.shape[0], i = 0, j
        cdef const unsigned char* p
        cdef unsigned char b
        cdef uint32_t cp
        if n == 0:
            return
        p = &view[0]
        while i < n:
            b = p[i]
            if self._utf8_need:
                if self._utf8_lo <= b <= self._utf8_hi:
                    self._utf8_cp = (self._utf8_cp << 6) | (b & 0x3F)
                    self._utf8_lo = 0x80
                    self._utf8_hi = 0xBF
                    self._utf8_need -= 1
                    i += 1
                    if self._utf8_need == 0:
                        self._step(self._utf8_cp)
                    continue
                self._utf8_need = 0
                self._step(0xFFFD)
                continue  # b starts afresh
            if b == 0x1B and self._state == GROUND and i + 2 < n:
                j = self._fast_escape(p, i + 1, n)
                if j > 0:  # a whole sequence inside this chunk, parsed in one go
                    i = j
                    continue
            if b < 0x80:
                if self._state == GROUND and 0x20 <= b <= 0x7E:
                    j = i + 1
                    while j < n and 0x20 <= p[j] <= 0x7E:
                        j += 1
                    if self._buf is not None:
                        self._buf._put_ascii(p + i, j - i)
                    else:
                        self._text.append(data[i:j].decode("ascii") if isinstance(data, bytes)
                                          else bytes(view[i:j]).decode("ascii"))
                        self._text_len += j - i
                        if self._text_len >= MAX_TEXT_RUN:
                            self._flush_text()
                    self._last_char = p[j - 1]
                    i = j
                    continue
                self._step(b)
            elif 0xC2 <= b <= 0xDF:
                self._utf8_start(1, b & 0x1F, 0x80, 0xBF)
            elif 0xE0 <= b <= 0xEF:
                self._utf8_start(2, b & 0x0F, 0xA0 if b == 0xE0 else 0x80,
                                 0x9F if b == 0xED else 0xBF)
            elif 0xF0 <= b <= 0xF4:
                self._utf8_start(3, b & 0x07, 0x90 if b == 0xF0 else 0x80,
                                 0x8F if b == 0xF4 else 0xBF)
            else:
                self._step(0xFFFD)
            i += 1
        if self._buf is None:
            self._flush_text()

    cdef Py_ssize_t _fast_escape(self, const unsigned char* p, Py_ssize_t i,
                                 Py_ssize_t n) except -2:
        """p[i-1] is ESC in the ground state: parse a CSI (private marker, parameters, final)
        or a two- or three-byte ESC sequence straight from the buffer and dispatch it.

        Returns the index after the sequence, or -1 to let the state machine take it byte by
        byte (an intermediate, a control inside, a string, or the chunk ends first)."""
        cdef unsigned char c = p[i]
        cdef int np = 0, v = -1
        cdef bint colon = False
        if c != 0x5B:
            if (c == 0x28 or c == 0x29) and 0x30 <= p[i + 1] <= 0x7E:  # SCS: ESC ( x
                self._clear()
                self._inter[0] = c
                self._ninter = 1
                self._esc_dispatch(p[i + 1])
                self._last_char = 0
                return i + 2
            if 0x30 <= c <= 0x7E and c != 0x50 and c != 0x58 and c != 0x5D and c != 0x5E \
                    and c != 0x5F:
                self._clear()
                self._esc_dispatch(c)
                self._last_char = 0
                return i + 1
            return -1
        i += 1
        self._clear()
        c = p[i]
        if 0x3C <= c <= 0x3F:
            self._private = c
            i += 1
        while i < n:
            c = p[i]
            i += 1
            if 0x30 <= c <= 0x39:
                v = (0 if v < 0 else v) * 10 + (c - 0x30)
                if v > MAX_PARAM_VALUE:
                    v = MAX_PARAM_VALUE
            elif c == 0x3B or c == 0x3A:
                if np < MAX_PARAMS:
                    self._params[np] = v
                    self._colon[np] = colon
                    np += 1
                colon = c == 0x3A
                v = -1
            elif 0x40 <= c <= 0x7E:
                if np < MAX_PARAMS and (np or v >= 0):
                    self._params[np] = v
                    self._colon[np] = colon
                    np += 1
                self._nparams = np
                self._csi_dispatch(c)
                self._last_char = 0
                return i
            else:
                return -1
        return -1

    cdef inline void _utf8_start(self, int need, uint32_t cp, uint8_t lo, uint8_t hi) noexcept:
        self._utf8_need = need
        self._utf8_cp = cp
        self._utf8_lo = lo
        self._utf8_hi = hi

    cdef int _flush_text(self) except -1:
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            self._text_len = 0
            self.terminal.write(text)
        return 0

    cdef int _print(self, uint32_t cp) except -1:
        self._last_char = cp
        if self._buf is not None:
            self._buf._put(cp)
        else:
            self._text.append(chr(cp))
            self._text_len += 1
            if self._text_len >= MAX_TEXT_RUN:
                self._flush_text()
        return 0

    cdef int _step(self, uint32_t cp) except -1:
        """One code point through the state machine."""
        cdef int state = self._state
        if cp == 0x1B:
            if state == OSC_STRING:
                self._osc_dispatch()
            self._state = ESCAPE
            self._clear()
            return 0
        if cp == 0x18 or cp == 0x1A:  # CAN, SUB: abort the sequence
            self._state = GROUND
            return 0
        if cp < 0x20 or cp == 0x7F:
            if state == OSC_STRING:
                if cp == 0x07:  # BEL ends an OSC string (xterm)
                    self._osc_dispatch()
                    self._state = GROUND
            elif state >= DCS_ENTRY:
                pass  # DCS and SOS/PM/APC strings swallow controls
            elif cp != 0x7F:
                self._execute(cp)
                self._last_char = 0
            return 0
        if 0x80 <= cp <= 0x9F:
            return 0  # C1 controls as code points: ignored
        if state == GROUND:
            return self._print(cp)
        if state == OSC_STRING:
            if len(self._osc) < MAX_OSC:
                self._osc.append(chr(cp))
            return 0
        if cp >= 0x80:
            if state == ESCAPE or state == ESCAPE_INTERMEDIATE:
                self._state = GROUND
            return 0
        if state == ESCAPE:
            if cp <= 0x2F:
                self._collect(cp)
                self._state = ESCAPE_INTERMEDIATE
            elif cp == 0x5B:
                self._state = CSI_ENTRY
            elif cp == 0x5D:
                self._state = OSC_STRING
                self._osc.clear()
            elif cp == 0x50:
                self._state = DCS_ENTRY
            elif cp == 0x58 or cp == 0x5E or cp == 0x5F:
                self._state = STRING_IGNORE
            else:
                self._state = GROUND
                self._esc_dispatch(cp)
                self._last_char = 0
        elif state == ESCAPE_INTERMEDIATE:
            if cp <= 0x2F:
                self._collect(cp)
            else:
                self._state = GROUND
                self._esc_dispatch(cp)
                self._last_char = 0
        elif state == CSI_ENTRY or state == CSI_PARAM:
            if cp <= 0x2F:
                self._collect(cp)
                self._state = CSI_INTERMEDIATE
            elif cp <= 0x3B:
                self._param(cp)
                self._state = CSI_PARAM
            elif cp <= 0x3F:
                if state == CSI_ENTRY:
                    self._private = cp
                    self._state = CSI_PARAM
                else:
                    self._state = CSI_IGNORE
            else:
                self._state = GROUND
                self._csi_dispatch(cp)
                self._last_char = 0  # REP repeats only a character right before it
        elif state == CSI_INTERMEDIATE:
            if cp <= 0x2F:
                self._collect(cp)
            elif cp <= 0x3F:
                self._state = CSI_IGNORE
            else:
                self._state = GROUND
                self._csi_dispatch(cp)
                self._last_char = 0  # REP repeats only a character right before it
        elif state == CSI_IGNORE:
            if cp >= 0x40:
                self._state = GROUND
        elif state == DCS_ENTRY or state == DCS_PARAM or state == DCS_INTERMEDIATE:
            if cp <= 0x2F:
                self._state = DCS_INTERMEDIATE
            elif cp <= 0x3F:
                self._state = DCS_IGNORE if state == DCS_INTERMEDIATE else DCS_PARAM
            else:
                self._state = DCS_PASSTHROUGH  # device control strings are not interpreted
        return 0

    cdef inline void _collect(self, uint32_t cp) noexcept:
        if self._ninter < 2:
            self._inter[self._ninter] = <uint8_t>cp
        self._ninter += 1

    cdef inline void _param(self, uint32_t cp) noexcept:
        cdef int v
        if self._nparams == 0:
            self._nparams = 1
            self._params[0] = -1
            self._colon[0] = 0
        if cp == 0x3B or cp == 0x3A:
            if self._nparams < MAX_PARAMS:
                self._params[self._nparams] = -1
                self._colon[self._nparams] = cp == 0x3A
                self._nparams += 1
            else:
                self._overflow = True
            return
        if self._overflow:
            return
        v = self._params[self._nparams - 1]
        v = (0 if v < 0 else v) * 10 + <int>(cp - 0x30)
        self._params[self._nparams - 1] = MAX_PARAM_VALUE if v > MAX_PARAM_VALUE else v

    cdef inline int _count(self, int i) noexcept:
        """Parameter i as a count: missing or 0 is 1."""
        if i < self._nparams and self._params[i] > 0:
            return self._params[i]
        return 1

    cdef inline int _value(self, int i, int default) noexcept:
        if i < self._nparams and self._params[i] >= 0:
            return self._params[i]
        return default

    cdef int _execute(self, uint32_t cp) except -1:
        if cp == 0x07:
            return self._op(OP_BEL, 0, 0)
        if cp == 0x08:
            return self._op(OP_BS, 0, 0)
        if cp == 0x09:
            return self._op(OP_HT, 1, 0)
        if cp == 0x0A or cp == 0x0B or cp == 0x0C:
            return self._op(OP_LF, 0, 0)
        if cp == 0x0D:
            return self._op(OP_CR, 0, 0)
        if cp == 0x0E:
            return self._op(OP_SO, 0, 0)
        if cp == 0x0F:
            return self._op(OP_SI, 0, 0)
        return 0

    cdef int _op(self, int op, int a, int b) except -1:
        """Carry out an operation: a C call for the buffer, a method call otherwise."""
        if self._buf is not None:
            return self._buf._apply(op, a, b)
        self._flush_text()
        if op > OP_PYTHON_LAST:
            return self._unhandled_current(op, a, b)
        name, argc = _OP_METHODS[op]
        method = getattr(self.terminal, name)
        if op == OP_STBM:
            method(None if a < 0 else a, None if b < 0 else b)
        elif op == OP_DHL:
            method(bool(a))
        elif argc == 0:
            method()
        elif argc == 1:
            method(a)
        else:
            method(a, b)
        return 0

    cdef int _unhandled_current(self, int op, int a, int b) except -1:
        """A buffer-only operation reaching a Python terminal: it gets the sequence's bytes."""
        if op == OP_REP:
            if b:
                self.terminal.write(chr(b) * a)
            return 0
        self._unhandled(self._current_final)
        return 0

    cdef int _unhandled(self, uint32_t final) except -1:
        if self._buf is not None:
            return 0
        self._flush_text()
        self.terminal.unhandled_control_sequence(self._sequence_bytes(final))
        return 0

    cdef bytes _sequence_bytes(self, uint32_t final):
        """The current sequence rebuilt from its parts (for unhandled_control_sequence)."""
        cdef int i
        out = bytearray(b"\x1b")
        if self._in_csi:
            out += b"["
            if self._private:
                out.append(self._private)
            for i in range(min(self._nparams, MAX_PARAMS)):
                if i:
                    out += b":" if self._colon[i] else b";"
                if self._params[i] >= 0:
                    out += str(self._params[i]).encode()
        for i in range(min(self._ninter, 2)):
            out.append(self._inter[i])
        out.append(final)
        return bytes(out)

    cdef int _esc_dispatch(self, uint32_t final) except -1:
        cdef uint8_t inter = self._inter[0] if self._ninter == 1 else 0
        cdef int mode
        self._in_csi = False
        self._current_final = final
        if self._ninter == 0:
            if final == 0x37:
                return self._op(OP_DECSC, 0, 0)
            if final == 0x38:
                return self._op(OP_DECRC, 0, 0)
            if final == 0x44:
                return self._op(OP_IND, 0, 0)
            if final == 0x45:
                return self._op(OP_NEL, 0, 0)
            if final == 0x4D:
                return self._op(OP_RI, 0, 0)
            if final == 0x48:
                return self._op(OP_HTS, 0, 0)
            if final == 0x63:
                return self._op(OP_RIS, 0, 0)
            if final == 0x3D:
                return self._op(OP_DECKPAM, 0, 0)
            if final == 0x3E:
                return self._op(OP_DECKPNM, 0, 0)
            if final == 0x4E:
                return self._op(OP_SS2, 0, 0)
            if final == 0x4F:
                return self._op(OP_SS3, 0, 0)
            if final == 0x5A:
                return self._op(OP_DA, 0, 0)
            if final == 0x5C:
                return 0  # ST
        elif inter == 0x28 or inter == 0x29:  # SCS: ESC ( x  ESC ) x
            mode = _charset_id(final)
            if mode >= 0:
                if self._buf is not None:
                    self._buf._select_charset(mode, inter - 0x28)
                else:
                    self._flush_text()
                    self.terminal.select_character_set(bytes((final,)), inter - 0x28)
                return 0
        elif inter == 0x23:
            if final == 0x33 or final == 0x34:
                return self._op(OP_DHL, 1 if final == 0x33 else 0, 0)
            if final == 0x35:
                return self._op(OP_SWL, 0, 0)
            if final == 0x36:
                return self._op(OP_DWL, 0, 0)
            if final == 0x38:
                return self._op(OP_DECALN, 0, 0)
        elif inter == 0x25:
            return 0  # select UTF-8 / ISO 2022: UTF-8 always
        return self._unhandled(final)

    cdef int _csi_dispatch(self, uint32_t final) except -1:
        cdef int mode
        self._in_csi = True
        self._current_final = final
        if self._ninter:
            if self._ninter == 1 and self._inter[0] == 0x21 and final == 0x70 \
                    and not self._private:
                return self._op(OP_DECSTR, 0, 0)
            return self._unhandled(final)
        if self._private == 0x3F:
            if final == 0x68 or final == 0x6C:
                return self._modes(True, final == 0x68)
            if final == 0x6E and self._value(0, 0) == 6:
                return self._op(OP_DECXCPR, 0, 0)
            if final == 0x4A:  # DECSED / DECSEL: erase, attributes never protected
                mode = self._value(0, 0)
                return self._op(OP_ED0 + mode, 0, 0) if mode <= 2 else 0
            if final == 0x4B:
                mode = self._value(0, 0)
                return self._op(OP_EL0 + mode, 0, 0) if mode <= 2 else 0
            return self._unhandled(final)
        if self._private == 0x3E and final == 0x63:
            return self._op(OP_DA2, 0, 0)
        if self._private:
            return self._unhandled(final)
        if final == 0x6D:
            return self._sgr()
        if final == 0x41:
            return self._op(OP_CUU, self._count(0), 0)
        if final == 0x42 or final == 0x65:
            return self._op(OP_CUD, self._count(0), 0)
        if final == 0x43 or final == 0x61:
            return self._op(OP_CUF, self._count(0), 0)
        if final == 0x44:
            return self._op(OP_CUB, self._count(0), 0)
        if final == 0x45 or final == 0x46:  # CNL, CPL
            self._op(OP_CUD if final == 0x45 else OP_CUU, self._count(0), 0)
            return self._op(OP_CR, 0, 0)
        if final == 0x48 or final == 0x66:
            return self._op(OP_CUP, self._count(1) - 1, self._count(0) - 1)
        if final == 0x47 or final == 0x60:
            return self._op(OP_CHA, self._count(0) - 1, 0)
        if final == 0x64:
            return self._op(OP_VPA, self._count(0) - 1, 0)
        if final == 0x4A:
            mode = self._value(0, 0)
            if mode <= 2:
                return self._op(OP_ED0 + mode, 0, 0)
            return self._op(OP_ED3, 0, 0) if mode == 3 else 0
        if final == 0x4B:
            mode = self._value(0, 0)
            return self._op(OP_EL0 + mode, 0, 0) if mode <= 2 else 0
        if final == 0x58:
            return self._op(OP_ECH, self._count(0), 0)
        if final == 0x50:
            return self._op(OP_DCH, self._count(0), 0)
        if final == 0x40:
            return self._op(OP_ICH, self._count(0), 0)
        if final == 0x4C:
            return self._op(OP_IL, self._count(0), 0)
        if final == 0x4D:
            return self._op(OP_DL, self._count(0), 0)
        if final == 0x53:
            return self._op(OP_SU, self._count(0), 0)
        if final == 0x54 and self._nparams <= 1:
            return self._op(OP_SD, self._count(0), 0)
        if final == 0x49:
            return self._op(OP_HT, self._count(0), 0)
        if final == 0x5A:
            return self._op(OP_CBT, self._count(0), 0)
        if final == 0x62:
            return self._op(OP_REP, self._count(0), self._last_char)
        if final == 0x67:
            mode = self._value(0, 0)
            if mode == 0:
                return self._op(OP_TBC, 0, 0)
            if mode == 3:
                return self._op(OP_TBC_ALL, 0, 0)
            return 0
        if final == 0x68 or final == 0x6C:
            return self._modes(False, final == 0x68)
        if final == 0x6E:
            mode = self._value(0, 0)
            if mode == 5:
                return self._op(OP_DSR, 0, 0)
            if mode == 6:
                return self._op(OP_CPR, 0, 0)
            return 0
        if final == 0x63 and self._value(0, 0) == 0:
            return self._op(OP_DA, 0, 0)
        if final == 0x72:
            return self._op(OP_STBM, self._value(0, 0) - 1 if self._value(0, 0) > 0 else -1,
                            self._value(1, 0) - 1 if self._value(1, 0) > 0 else -1)
        if final == 0x73 and self._nparams == 0:
            return self._op(OP_SCOSC, 0, 0)
        if final == 0x75 and self._nparams == 0:
            return self._op(OP_SCORC, 0, 0)
        return self._unhandled(final)

    cdef int _modes(self, bint private, bint on) except -1:
        cdef int i, n = min(self._nparams, MAX_PARAMS)
        if self._buf is not None:
            for i in range(n):
                if self._params[i] >= 0:
                    self._buf._mode(self._params[i], private, on)
            return 0
        self._flush_text()
        modes = [self._params[i] for i in range(n) if self._params[i] >= 0]
        if not modes:
            return 0
        name = ("set_" if on else "reset_") + ("private_modes" if private else "modes")
        getattr(self.terminal, name)(modes)
        return 0

    cdef int _sgr(self) except -1:
        cdef int i, n = min(self._nparams, MAX_PARAMS)
        if self._buf is not None:
            self._buf._sgr(self._params, self._colon, n)
            return 0
        self._flush_text()
        # Python terminals get plain numbers: 38:2:cs:r:g:b becomes 38, 2, r, g, b
        values = []
        i = 0
        while i < n:
            if (i + 5 < n and self._colon[i + 1] and self._params[i + 1] == 2
                    and self._colon[i + 5]
                    and (self._params[i] == 38 or self._params[i] == 48)):
                values += [self._params[i], 2, self._params[i + 3], self._params[i + 4],
                           self._params[i + 5]]
                i += 6
                continue
            values.append(self._params[i] if self._params[i] > 0 else 0)
            i += 1
        self.terminal.select_graphic_rendition(*values)
        return 0

    cdef int _osc_dispatch(self) except -1:
        text = "".join(self._osc)
        self._osc.clear()
        command, sep, rest = text.partition(";")
        if sep and command in ("0", "2"):
            if self._buf is not None:
                self._buf.title = rest
            else:
                self._flush_text()
                self.terminal.set_title(rest)
        return 0
