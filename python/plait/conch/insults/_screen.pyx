# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""``TerminalBuffer``: a VT102 screen in memory (xterm's behaviour, checked against tmux).

The operations, modes, SGR and reports of a VT102 on the cells ``Grid`` (``_grid``) keeps, and
the ``Terminal`` interface for Python callers. ``TerminalParser`` (``_vt102``) calls ``_apply``,
``_mode``, ``_sgr`` and the drawing methods directly (C calls, no Python call per sequence).
"""
from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memset

from plait.conch.insults._ops cimport *
from plait.conch.insults._grid cimport (
    A_BLINK, A_BOLD, A_DIM, A_INVISIBLE, A_ITALIC, A_REVERSE, A_STRIKE, A_UNDERLINE, C_INDEXED,
    C_RGB, LINE_DOUBLE_BOTTOM, LINE_DOUBLE_TOP, LINE_DOUBLE_WIDTH, LINE_SINGLE, SET_DRAWING,
    SET_UK, SET_US, Cell, Grid, _clamp,
)

cdef dict _CHARSET_IDS = {b"B": SET_US, b"A": SET_UK, b"0": SET_DRAWING, b"1": SET_US,
                          b"2": SET_DRAWING}
cdef tuple _CHARSET_NAMES = (b"B", b"A", b"0")


cdef inline uint32_t _byte(int v) noexcept:
    return <uint32_t>(0 if v < 0 else (255 if v > 255 else v))


cdef class TerminalBuffer(Grid):
    """An in-memory VT102 screen that implements ``Terminal``: cursor, modes, scroll region,
    tab stops, character sets, alternate screen, scrollback and the reports (DSR, CPR, DA)
    the terminal owes its peer."""

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
            self._shift_cells(op == OP_ICH, max(a, 1))
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

    # ---------------------------------------------------------------- modes and reports

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
    def reports(self):
        """Bytes the terminal owes its peer (DSR, CPR and DA answers), not yet taken."""
        return bytes(self._reports)

    def take_reports(self):
        """Return and forget the pending reports."""
        out = bytes(self._reports)
        self._reports.clear()
        return out
