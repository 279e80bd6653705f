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

# DEC special graphics for 0x5f..0x7e (VT100 line drawing), as xterm and tmux map them
cdef uint32_t _DRAWING[32]
for _i, _c in enumerate(
        "\u00a0\u25c6\u2592\u2409\u240c\u240d\u240a\u00b0\u00b1\u2424\u240b\u2518\u2510"
        "\u250c\u2514\u253c\u23ba\u23bb\u2500\u23bc\u23bd\u251c\u2524\u2534\u252c\u2502"
        "\u2264\u2265\u03c0\u2260\u00a3\u00b7"):
    _DRAWING[_i] = ord(_c)

# Character widths as glibc's wcwidth() gives them (what tmux uses): [first, last] ranges of
# East Asian wide/fullwidth characters (two cells) and of combining/zero-width ones (none).
cdef tuple _WIDE_RANGES = (
    0x1100, 0x115F, 0x231A, 0x231B, 0x2329, 0x232A, 0x23E9, 0x23EC,
    0x23F0, 0x23F0, 0x23F3, 0x23F3, 0x25FD, 0x25FE, 0x2614, 0x2615,
    0x2648, 0x2653, 0x267F, 0x267F, 0x2693, 0x2693, 0x26A1, 0x26A1,
    0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26CE, 0x26CE,
    0x26D4, 0x26D4, 0x26EA, 0x26EA, 0x26F2, 0x26F3, 0x26F5, 0x26F5,
    0x26FA, 0x26FA, 0x26FD, 0x26FD, 0x2705, 0x2705, 0x270A, 0x270B,
    0x2728, 0x2728, 0x274C, 0x274C, 0x274E, 0x274E, 0x2753, 0x2755,
    0x2757, 0x2757, 0x2795, 0x2797, 0x27B0, 0x27B0, 0x27BF, 0x27BF,
    0x2B1B, 0x2B1C, 0x2B50, 0x2B50, 0x2B55, 0x2B55, 0x2E80, 0x2E99,
    0x2E9B, 0x2EF3, 0x2F00, 0x2FD5, 0x2FF0, 0x2FFB, 0x3000, 0x3029,
    0x302E, 0x303E, 0x3041, 0x3096, 0x309B, 0x30FF, 0x3105, 0x312F,
    0x3131, 0x318E, 0x3190, 0x31E3, 0x31F0, 0x321E, 0x3220, 0xA48C,
    0xA490, 0xA4C6, 0xA960, 0xA97C, 0xAC00, 0xD7A3, 0xF900, 0xFA6D,
    0xFA70, 0xFAD9, 0xFE10, 0xFE19, 0xFE30, 0xFE52, 0xFE54, 0xFE66,
    0xFE68, 0xFE6B, 0xFF01, 0xFF60, 0xFFE0, 0xFFE6, 0x16FE0, 0x16FE3,
    0x16FF0, 0x16FF1, 0x17000, 0x187F7, 0x18800, 0x18CD5, 0x18D00, 0x18D08,
    0x1AFF0, 0x1AFF3, 0x1AFF5, 0x1AFFB, 0x1AFFD, 0x1AFFE, 0x1B000, 0x1B122,
    0x1B150, 0x1B152, 0x1B164, 0x1B167, 0x1B170, 0x1B2FB, 0x1F004, 0x1F004,
    0x1F0CF, 0x1F0CF, 0x1F18E, 0x1F18E, 0x1F191, 0x1F19A, 0x1F200, 0x1F202,
    0x1F210, 0x1F23B, 0x1F240, 0x1F248, 0x1F250, 0x1F251, 0x1F260, 0x1F265,
    0x1F300, 0x1F320, 0x1F32D, 0x1F335, 0x1F337, 0x1F37C, 0x1F37E, 0x1F393,
    0x1F3A0, 0x1F3CA, 0x1F3CF, 0x1F3D3, 0x1F3E0, 0x1F3F0, 0x1F3F4, 0x1F3F4,
    0x1F3F8, 0x1F43E, 0x1F440, 0x1F440, 0x1F442, 0x1F4FC, 0x1F4FF, 0x1F53D,
    0x1F54B, 0x1F54E, 0x1F550, 0x1F567, 0x1F57A, 0x1F57A, 0x1F595, 0x1F596,
    0x1F5A4, 0x1F5A4, 0x1F5FB, 0x1F64F, 0x1F680, 0x1F6C5, 0x1F6CC, 0x1F6CC,
    0x1F6D0, 0x1F6D2, 0x1F6D5, 0x1F6D7, 0x1F6DD, 0x1F6DF, 0x1F6EB, 0x1F6EC,
    0x1F6F4, 0x1F6FC, 0x1F7E0, 0x1F7EB, 0x1F7F0, 0x1F7F0, 0x1F90C, 0x1F93A,
    0x1F93C, 0x1F945, 0x1F947, 0x1F9FF, 0x1FA70, 0x1FA74, 0x1FA78, 0x1FA7C,
    0x1FA80, 0x1FA86, 0x1FA90, 0x1FAAC, 0x1FAB0, 0x1FABA, 0x1FAC0, 0x1FAC5,
    0x1FAD0, 0x1FAD9, 0x1FAE0, 0x1FAE7, 0x1FAF0, 0x1FAF6, 0x20000, 0x2A6DF,
    0x2A700, 0x2B738, 0x2B740, 0x2B81D, 0x2B820, 0x2CEA1, 0x2CEB0, 0x2EBE0,
    0x2F800, 0x2FA1D, 0x30000, 0x3134A,
)
cdef tuple _ZERO_RANGES = (
    0x300, 0x36F, 0x483, 0x489, 0x591, 0x5BD, 0x5BF, 0x5BF,
    0x5C1, 0x5C2, 0x5C4, 0x5C5, 0x5C7, 0x5C7, 0x610, 0x61A,
    0x61C, 0x61C, 0x64B, 0x65F, 0x670, 0x670, 0x6D6, 0x6DC,
    0x6DF, 0x6E4, 0x6E7, 0x6E8, 0x6EA, 0x6ED, 0x711, 0x711,
    0x730, 0x74A, 0x7A6, 0x7B0, 0x7EB, 0x7F3, 0x7FD, 0x7FD,
    0x816, 0x819, 0x81B, 0x823, 0x825, 0x827, 0x829, 0x82D,
    0x859, 0x85B, 0x898, 0x89F, 0x8CA, 0x8E1, 0x8E3, 0x902,
    0x93A, 0x93A, 0x93C, 0x93C, 0x941, 0x948, 0x94D, 0x94D,
    0x951, 0x957, 0x962, 0x963, 0x981, 0x981, 0x9BC, 0x9BC,
    0x9C1, 0x9C4, 0x9CD, 0x9CD, 0x9E2, 0x9E3, 0x9FE, 0x9FE,
    0xA01, 0xA02, 0xA3C, 0xA3C, 0xA41, 0xA42, 0xA47, 0xA48,
    0xA4B, 0xA4D, 0xA51, 0xA51, 0xA70, 0xA71, 0xA75, 0xA75,
    0xA81, 0xA82, 0xABC, 0xABC, 0xAC1, 0xAC5, 0xAC7, 0xAC8,
    0xACD, 0xACD, 0xAE2, 0xAE3, 0xAFA, 0xAFF, 0xB01, 0xB01,
    0xB3C, 0xB3C, 0xB3F, 0xB3F, 0xB41, 0xB44, 0xB4D, 0xB4D,
    0xB55, 0xB56, 0xB62, 0xB63, 0xB82, 0xB82, 0xBC0, 0xBC0,
    0xBCD, 0xBCD, 0xC00, 0xC00, 0xC04, 0xC04, 0xC3C, 0xC3C,
    0xC3E, 0xC40, 0xC46, 0xC48, 0xC4A, 0xC4D, 0xC55, 0xC56,
    0xC62, 0xC63, 0xC81, 0xC81, 0xCBC, 0xCBC, 0xCBF, 0xCBF,
    0xCC6, 0xCC6, 0xCCC, 0xCCD, 0xCE2, 0xCE3, 0xD00, 0xD01,
    0xD3B, 0xD3C, 0xD41, 0xD44, 0xD4D, 0xD4D, 0xD62, 0xD63,
    0xD81, 0xD81, 0xDCA, 0xDCA, 0xDD2, 0xDD4, 0xDD6, 0xDD6,
    0xE31, 0xE31, 0xE34, 0xE3A, 0xE47, 0xE4E, 0xEB1, 0xEB1,
    0xEB4, 0xEBC, 0xEC8, 0xECD, 0xF18, 0xF19, 0xF35, 0xF35,
    0xF37, 0xF37, 0xF39, 0xF39, 0xF71, 0xF7E, 0xF80, 0xF84,
    0xF86, 0xF87, 0xF8D, 0xF97, 0xF99, 0xFBC, 0xFC6, 0xFC6,
    0x102D, 0x1030, 0x1032, 0x1037, 0x1039, 0x103A, 0x103D, 0x103E,
    0x1058, 0x1059, 0x105E, 0x1060, 0x1071, 0x1074, 0x1082, 0x1082,
    0x1085, 0x1086, 0x108D, 0x108D, 0x109D, 0x109D, 0x1160, 0x11FF,
    0x135D, 0x135F, 0x1712, 0x1714, 0x1732, 0x1733, 0x1752, 0x1753,
    0x1772, 0x1773, 0x17B4, 0x17B5, 0x17B7, 0x17BD, 0x17C6, 0x17C6,
    0x17C9, 0x17D3, 0x17DD, 0x17DD, 0x180B, 0x180F, 0x1885, 0x1886,
    0x18A9, 0x18A9, 0x1920, 0x1922, 0x1927, 0x1928, 0x1932, 0x1932,
    0x1939, 0x193B, 0x1A17, 0x1A18, 0x1A1B, 0x1A1B, 0x1A56, 0x1A56,
    0x1A58, 0x1A5E, 0x1A60, 0x1A60, 0x1A62, 0x1A62, 0x1A65, 0x1A6C,
    0x1A73, 0x1A7C, 0x1A7F, 0x1A7F, 0x1AB0, 0x1ACE, 0x1B00, 0x1B03,
    0x1B34, 0x1B34, 0x1B36, 0x1B3A, 0x1B3C, 0x1B3C, 0x1B42, 0x1B42,
    0x1B6B, 0x1B73, 0x1B80, 0x1B81, 0x1BA2, 0x1BA5, 0x1BA8, 0x1BA9,
    0x1BAB, 0x1BAD, 0x1BE6, 0x1BE6, 0x1BE8, 0x1BE9, 0x1BED, 0x1BED,
    0x1BEF, 0x1BF1, 0x1C2C, 0x1C33, 0x1C36, 0x1C37, 0x1CD0, 0x1CD2,
    0x1CD4, 0x1CE0, 0x1CE2, 0x1CE8, 0x1CED, 0x1CED, 0x1CF4, 0x1CF4,
    0x1CF8, 0x1CF9, 0x1DC0, 0x1DFF, 0x200B, 0x200F, 0x202A, 0x202E,
    0x2060, 0x2064, 0x2066, 0x206F, 0x20D0, 0x20F0, 0x2CEF, 0x2CF1,
    0x2D7F, 0x2D7F, 0x2DE0, 0x2DFF, 0x302A, 0x302D, 0x3099, 0x309A,
    0xA66F, 0xA672, 0xA674, 0xA67D, 0xA69E, 0xA69F, 0xA6F0, 0xA6F1,
    0xA802, 0xA802, 0xA806, 0xA806, 0xA80B, 0xA80B, 0xA825, 0xA826,
    0xA82C, 0xA82C, 0xA8C4, 0xA8C5, 0xA8E0, 0xA8F1, 0xA8FF, 0xA8FF,
    0xA926, 0xA92D, 0xA947, 0xA951, 0xA980, 0xA982, 0xA9B3, 0xA9B3,
    0xA9B6, 0xA9B9, 0xA9BC, 0xA9BD, 0xA9E5, 0xA9E5, 0xAA29, 0xAA2E,
    0xAA31, 0xAA32, 0xAA35, 0xAA36, 0xAA43, 0xAA43, 0xAA4C, 0xAA4C,
    0xAA7C, 0xAA7C, 0xAAB0, 0xAAB0, 0xAAB2, 0xAAB4, 0xAAB7, 0xAAB8,
    0xAABE, 0xAABF, 0xAAC1, 0xAAC1, 0xAAEC, 0xAAED, 0xAAF6, 0xAAF6,
    0xABE5, 0xABE5, 0xABE8, 0xABE8, 0xABED, 0xABED, 0xD7B0, 0xD7C6,
    0xD7CB, 0xD7FB, 0xFB1E, 0xFB1E, 0xFE00, 0xFE0F, 0xFE20, 0xFE2F,
    0xFEFF, 0xFEFF, 0xFFF9, 0xFFFB, 0x101FD, 0x101FD, 0x102E0, 0x102E0,
    0x10376, 0x1037A, 0x10A01, 0x10A03, 0x10A05, 0x10A06, 0x10A0C, 0x10A0F,
    0x10A38, 0x10A3A, 0x10A3F, 0x10A3F, 0x10AE5, 0x10AE6, 0x10D24, 0x10D27,
    0x10EAB, 0x10EAC, 0x10F46, 0x10F50, 0x10F82, 0x10F85, 0x11001, 0x11001,
    0x11038, 0x11046, 0x11070, 0x11070, 0x11073, 0x11074, 0x1107F, 0x11081,
    0x110B3, 0x110B6, 0x110B9, 0x110BA, 0x110C2, 0x110C2, 0x11100, 0x11102,
    0x11127, 0x1112B, 0x1112D, 0x11134, 0x11173, 0x11173, 0x11180, 0x11181,
    0x111B6, 0x111BE, 0x111C9, 0x111CC, 0x111CF, 0x111CF, 0x1122F, 0x11231,
    0x11234, 0x11234, 0x11236, 0x11237, 0x1123E, 0x1123E, 0x112DF, 0x112DF,
    0x112E3, 0x112EA, 0x11300, 0x11301, 0x1133B, 0x1133C, 0x11340, 0x11340,
    0x11366, 0x1136C, 0x11370, 0x11374, 0x11438, 0x1143F, 0x11442, 0x11444,
    0x11446, 0x11446, 0x1145E, 0x1145E, 0x114B3, 0x114B8, 0x114BA, 0x114BA,
    0x114BF, 0x114C0, 0x114C2, 0x114C3, 0x115B2, 0x115B5, 0x115BC, 0x115BD,
    0x115BF, 0x115C0, 0x115DC, 0x115DD, 0x11633, 0x1163A, 0x1163D, 0x1163D,
    0x1163F, 0x11640, 0x116AB, 0x116AB, 0x116AD, 0x116AD, 0x116B0, 0x116B5,
    0x116B7, 0x116B7, 0x1171D, 0x1171F, 0x11722, 0x11725, 0x11727, 0x1172B,
    0x1182F, 0x11837, 0x11839, 0x1183A, 0x1193B, 0x1193C, 0x1193E, 0x1193E,
    0x11943, 0x11943, 0x119D4, 0x119D7, 0x119DA, 0x119DB, 0x119E0, 0x119E0,
    0x11A01, 0x11A0A, 0x11A33, 0x11A38, 0x11A3B, 0x11A3E, 0x11A47, 0x11A47,
    0x11A51, 0x11A56, 0x11A59, 0x11A5B, 0x11A8A, 0x11A96, 0x11A98, 0x11A99,
    0x11C30, 0x11C36, 0x11C38, 0x11C3D, 0x11C3F, 0x11C3F, 0x11C92, 0x11CA7,
    0x11CAA, 0x11CB0, 0x11CB2, 0x11CB3, 0x11CB5, 0x11CB6, 0x11D31, 0x11D36,
    0x11D3A, 0x11D3A, 0x11D3C, 0x11D3D, 0x11D3F, 0x11D45, 0x11D47, 0x11D47,
    0x11D90, 0x11D91, 0x11D95, 0x11D95, 0x11D97, 0x11D97, 0x11EF3, 0x11EF4,
    0x13430, 0x13438, 0x16AF0, 0x16AF4, 0x16B30, 0x16B36, 0x16F4F, 0x16F4F,
    0x16F8F, 0x16F92, 0x16FE4, 0x16FE4, 0x1BC9D, 0x1BC9E, 0x1BCA0, 0x1BCA3,
    0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46, 0x1D167, 0x1D169, 0x1D173, 0x1D182,
    0x1D185, 0x1D18B, 0x1D1AA, 0x1D1AD, 0x1D242, 0x1D244, 0x1DA00, 0x1DA36,
    0x1DA3B, 0x1DA6C, 0x1DA75, 0x1DA75, 0x1DA84, 0x1DA84, 0x1DA9B, 0x1DA9F,
    0x1DAA1, 0x1DAAF, 0x1E000, 0x1E006, 0x1E008, 0x1E018, 0x1E01B, 0x1E021,
    0x1E023, 0x1E024, 0x1E026, 0x1E02A, 0x1E130, 0x1E136, 0x1E2AE, 0x1E2AE,
    0x1E2EC, 0x1E2EF, 0x1E8D0, 0x1E8D6, 0x1E944, 0x1E94A, 0xE0001, 0xE0001,
    0xE0020, 0xE007F, 0xE0100, 0xE01EF,
)
cdef uint32_t _WIDE[252]
cdef uint32_t _ZERO[692]
assert len(_WIDE_RANGES) == 252 and len(_ZERO_RANGES) == 692
for _i, _c in enumerate(_WIDE_RANGES):
    _WIDE[_i] = _c
for _i, _c in enumerate(_ZERO_RANGES):
    _ZERO[_i] = _c


cdef inline bint _in_ranges(const uint32_t* ranges, int count, uint32_t cp) noexcept:
    cdef int lo = 0, hi = count - 1, mid
    while lo <= hi:
        mid = (lo + hi) >> 1
        if cp < ranges[2 * mid]:
            hi = mid - 1
        elif cp > ranges[2 * mid + 1]:
            lo = mid + 1
        else:
            return True
    return False


cdef inline int _cp_width(uint32_t cp) noexcept:
    if cp < 0x300:
        return 1
    if _in_ranges(_ZERO, 346, cp):
        return 0
    if cp >= 0x1100 and _in_ranges(_WIDE, 126, cp):
        return 2
    return 1


def char_width(int cp):
    """Cells a character takes: 0 (combining), 1, or 2 (East Asian wide), as wcwidth()."""
    return _cp_width(<uint32_t>cp) if 0 <= cp <= 0x10FFFF else 1


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
        width = _cp_width(cp)
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
                    if i + 1 < n and params[i + 1] == 5:
                        if i + 2 >= n or params[i + 2] < 0:  # no index: the default (tmux)
                            colour = 0
                            ok = True
                        elif params[i + 2] <= 255:
                            colour = C_INDEXED | params[i + 2]
                            ok = True
                        i += 3
                    elif i + 4 < n and params[i + 1] == 2:
                        colour = C_RGB | (_byte(params[i + 2]) << 16) \
                            | (_byte(params[i + 3]) << 8) | _byte(params[i + 4])
                        ok = True
                        i += 5
                    elif i + 1 < n and params[i + 1] == 2:
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


from unicodedata import normalize as _normalize  # noqa: E402

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
                        if j - i > MAX_TEXT_RUN - self._text_len:  # one write stays bounded
                            j = i + (MAX_TEXT_RUN - self._text_len)
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
                if self._buf is not None and not self._private:
                    if c == 0x6D:  # SGR and CUP, the commonest, straight to the buffer
                        self._buf._sgr(self._params, self._colon, np)
                        self._last_char = 0
                        return i
                    if c == 0x48:
                        self._buf._move_to(self._count(1) - 1, self._count(0) - 1)
                        self._last_char = 0
                        return i
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
