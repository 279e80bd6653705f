# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Bytes a user types -> keys: the input side of a VT102 terminal, compiled.

A sequence split across reads waits for its end; bracketed pastes arrive as text; UTF-8 is
decoded across chunk boundaries. The output side (what a program draws) is ``_vt102``.
"""
import codecs

from libc.stdint cimport uint32_t

from plait.conch.insults import keys as _keys

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

