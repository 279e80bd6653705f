# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Bytes a program draws -> ``Terminal`` operations: the DEC ANSI state machine, compiled.

When the terminal is the native ``TerminalBuffer`` (``_screen``) each operation is a C call
into it, with no Python call per sequence. This module also re-exports the rest of the VT102
core under the names the package has always used: ``KeyParser`` (``_keys``, the input side),
``TerminalBuffer`` (``_screen``) and ``char_width`` (``_width``).
"""
from libc.stdint cimport uint8_t, uint32_t

from plait.conch.insults._grid cimport SET_DRAWING, SET_UK, SET_US
from plait.conch.insults._ops cimport *

from plait.conch.insults._keys import KeyParser
from plait.conch.insults._screen import TerminalBuffer
from plait.conch.insults._width import char_width

__all__ = ["KeyParser", "TerminalBuffer", "TerminalParser", "char_width"]

# the Python method (and its argument count) each operation maps to, for a Python terminal
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


cdef inline int _charset_id(uint32_t final) noexcept:
    """SCS final byte -> character set (-1: not one the buffer knows)."""
    if final == 0x42 or final == 0x31:  # B: US ASCII; 1: DEC alternate ROM, standard
        return SET_US
    if final == 0x41:
        return SET_UK
    if final == 0x30 or final == 0x32:  # 0: DEC special graphics; 2: alternate ROM graphics
        return SET_DRAWING
    return -1


cdef enum:
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
        self._buf = terminal if isinstance(terminal, NativeBuffer) else None
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
