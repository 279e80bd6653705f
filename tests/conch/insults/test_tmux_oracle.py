"""TerminalBuffer against tmux: the same bytes at the same size give the same screen.

Each stream of the corpus (hand-written cases per feature in ``corpus/*.bin``, vttest screens
captured through a pty in ``corpus/vttest-*.bin``, and deterministic generated streams) is
``cat`` into a pane of a private tmux server (``stty raw``: no output processing); the pane's
``capture-pane -p -e`` is parsed into cells (character, attributes, colours) and compared with
the buffer's cells, together with the cursor.

Where tmux legitimately differs from xterm (which the buffer follows), the case is marked in
``TMUX_DIFFERS`` with the reason, and only the comparison that tmux gets right is made.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser, char_width
from plait.conch.insults.terminal import Cell, Colour

CORPUS = Path(__file__).parent / "corpus"
WIDTH, HEIGHT = 80, 24
POLL_SECONDS = 20.0

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

# DEC special graphics, as tmux draws a cell with its charset attribute (for comparison)
_DRAWING = dict(zip(
    range(0x5F, 0x7F),
    "\u00a0\u25c6\u2592\u2409\u240c\u240d\u240a\u00b0\u00b1\u2424\u240b\u2518\u2510\u250c"
    "\u2514\u253c\u23ba\u23bb\u2500\u23bc\u23bd\u251c\u2524\u2534\u252c\u2502\u2264\u2265"
    "\u03c0\u2260\u00a3\u00b7", strict=True))

# Where tmux differs from a VT102/xterm, which the buffer follows. case -> (why, rows of the
# screen not compared: None = no row; "all" = only parse the stream, compare nothing).
# Besides these, lines the buffer marks double-width/-height (DECDWL/DECDHL) are never
# compared: tmux ignores ESC # 3..6 and keeps such lines at full width.
TMUX_DIFFERS: dict[str, tuple[str, object]] = {
    "lnm": ("tmux has no LNM (SM 20): its LF never returns the carriage", "all"),
    "wide-right-half": (("a character written over the right half of a wide character: xterm "
                        "(and the buffer) erase the wide character; tmux keeps it in its grid, "
                        "so capture-pane shows both"), "all"),
    "il-last-line-outside-region": (("outside the scroll region tmux inserts/deletes lines down "
                                    "to the screen's bottom (as the buffer does) but, when n is "
                                    "more than half of those lines, moves and wipes too few "
                                    "(here: none); xterm ignores IL/DL outside the region"),
                                    "all"),
    "rep-non-ascii": ("tmux's REP repeats only an ASCII character; xterm any graphic one",
                      "all"),
    "hpr-vpr": ("tmux has no HPR/VPR (CSI a, CSI e), xterm's relative moves", "all"),
    "cht": ("tmux has no CHT (CSI I, tab forward n times)", "all"),
    "decstr": ("tmux has no soft reset (DECSTR, CSI ! p): modes, region and rendition stay",
               "all"),
    "scroll-region-zero": (("tmux reads DECSTBM's 0 as line 0 (an empty region, ignored); "
                           "xterm and DEC read 0 as the default (the whole screen)"), "all"),
    "single-shift": (("tmux ignores SS2/SS3 (ESC N, ESC O); a VT102 takes the next character "
                     "from G2/G3 (US ASCII)"), "all"),
    "utf8-invalid": (("tmux drops invalid UTF-8 bytes; the buffer draws U+FFFD for each, as "
                     "the issue asks"), "all"),
    "charset-uk": ("tmux has no UK set (ESC ( A): it draws '#' where a VT102 draws '\u00a3'",
                   "all"),
    "vttest-2-screen:12": (("tmux homes the cursor to the screen's top-left after DECSTBM even "
                           "in origin mode; DEC homes it to the region's top"), "all"),
    "vttest-4-double:3": (("tmux ignores DECDWL/DECDHL: text vttest writes on double-width lines "
                          "runs on at full width there, where a VT102 wraps it at half width"),
                          "all"),
    "vttest-4-double:4": ("as vttest-4-double:3", "all"),
    "vttest-11-5-iso-cursor:9": ("tmux has no CHT (CSI I)", "all"),
    "vttest-11-5-iso-cursor:11": ("tmux has no HPR (CSI a)", "all"),
    "vttest-11-5-iso-cursor:19": ("tmux has no VPR (CSI e)", "all"),
    "vttest-3-charsets:1": ("tmux has no UK set and no DEC alternate-ROM sets ('1', '2')",
                            {7, 19, 20, 21}),
}


@dataclass
class Screen:
    rows: list[list[Cell]]
    cursor: tuple[int, int]


class Tmux:
    """A private tmux server (its own socket name), killed at teardown."""

    def __init__(self, workdir: Path) -> None:
        self.name = f"plait-vt-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.workdir = workdir
        self.conf = workdir / "tmux.conf"
        self.conf.write_text("set -s exit-empty off\nset -g status off\nset -g history-limit 100\n")
        self.count = 0
        self.history: list[str] = []  # the scrollback of the last screen() (plain text)

    def run(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-L", self.name, "-f", str(self.conf), *args],
                              capture_output=True, text=True, timeout=30, check=False)
        if proc.returncode:
            raise RuntimeError(f"tmux {args[0]}: {proc.stderr.strip()}")
        return proc.stdout

    def screen(self, data: bytes, width: int = WIDTH, height: int = HEIGHT) -> Screen:
        """What tmux shows after ``data`` is written to a width x height pane."""
        self.count += 1
        session = f"s{self.count}"
        stream = self.workdir / f"{session}.bin"
        stream.write_bytes(data)
        done = f"plait-done-{session}"
        # CAN ends whatever sequence the stream left open; the title marks the end of the data
        command = (f"stty raw -echo; cat {stream}; printf '\\030\\033]2;{done}\\033\\\\'; "
                   "exec sleep 600")
        self.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
                 command)
        try:
            deadline = time.monotonic() + POLL_SECONDS
            while self.run("display", "-p", "-t", session, "#{pane_title}").strip() != done:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"tmux did not finish {stream}")
                time.sleep(0.01)
            cursor = self.run("display", "-p", "-t", session, "#{cursor_x} #{cursor_y}").split()
            text = self.run("capture-pane", "-p", "-e", "-t", session)
            lines = int(self.run("display", "-p", "-t", session, "#{history_size}"))
            history = self.run("capture-pane", "-p", "-S", "-", "-E", "-1", "-t", session)
        finally:
            self.run("kill-session", "-t", session)
        rows = parse_capture(text, width, height)
        self.history = history.split("\n")[:lines]
        return Screen(rows, (int(cursor[0]), int(cursor[1])))

    def close(self) -> None:
        try:
            socket = self.run("display", "-p", "#{socket_path}").strip()
        except RuntimeError:  # no server was started
            socket = ""
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True,
                       timeout=30, check=False)
        if socket.endswith(self.name):
            Path(socket).unlink(missing_ok=True)  # tmux leaves its socket file behind


_SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def _colour(params: list[str], i: int) -> tuple[Colour, int]:
    """38;5;n or 38;2;r;g;b starting at params[i] (the 38/48): the colour and the next index."""
    if params[i + 1] == "5":
        return int(params[i + 2]), i + 3
    return (int(params[i + 2]), int(params[i + 3]), int(params[i + 4])), i + 5


def apply_sgr(cell: Cell, text: str) -> Cell:
    """tmux's capture-pane -e attribute codes, applied to the running attribute state."""
    params = [p.split(":")[0] for p in text.split(";")] if text else ["0"]
    i = 0
    flags = {"1": "bold", "2": "dim", "3": "italic", "4": "underline", "5": "blink",
             "7": "reverse", "8": "invisible"}
    while i < len(params):
        p = params[i] or "0"
        n = int(p)
        if p in flags:
            cell = replace(cell, **{flags[p]: True})
        elif n == 0:
            cell = Cell()
        elif n in (38, 48):
            colour, i = _colour(params, i)
            cell = replace(cell, fg=colour) if n == 38 else replace(cell, bg=colour)
            continue
        elif 30 <= n <= 37 or 90 <= n <= 97:
            cell = replace(cell, fg=n - 30 if n < 90 else n - 82)
        elif 40 <= n <= 47 or 100 <= n <= 107:
            cell = replace(cell, bg=n - 40 if n < 100 else n - 92)
        elif n == 39:
            cell = replace(cell, fg=None)
        elif n == 49:
            cell = replace(cell, bg=None)
        i += 1
    return cell


def parse_capture(text: str, width: int, height: int) -> list[list[Cell]]:
    """capture-pane -p -e output -> rows of cells (trailing blanks are not captured)."""
    state = Cell()
    charset = False
    rows: list[list[Cell]] = []
    for line in text.split("\n")[:height]:
        row: list[Cell] = []
        pos = 0
        while pos < len(line):
            m = _SGR.match(line, pos)
            if m:
                state = apply_sgr(state, m.group(1))
                pos = m.end()
                continue
            ch = line[pos]
            pos += 1
            if ch == "\x0e":
                charset = True
            elif ch == "\x0f":
                charset = False
            else:
                if charset:
                    ch = _DRAWING.get(ord(ch), ch)
                cells = char_width(ord(ch))
                if cells == 0:  # a combining mark: joins the cell before, as the buffer keeps it
                    base = next((i for i in range(len(row) - 1, -1, -1) if row[i].char), None)
                    if base is not None:
                        composed = unicodedata.normalize("NFC", row[base].char + ch)
                        if len(composed) == 1:
                            row[base] = replace(row[base], char=composed)
                    continue
                row.append(replace(state, char=ch))
                if cells == 2:
                    row.append(replace(state, char=""))  # the right half of a wide character
        rows.append(row[:width])
    while len(rows) < height:
        rows.append([])
    return rows


def plait_screen(data: bytes, width: int = WIDTH, height: int = HEIGHT,
                 chunk: int = 0) -> tuple[TerminalBuffer, Screen]:
    buf = TerminalBuffer(width, height)
    parser = TerminalParser(buf)
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        parser.feed(data[i:i + step])
    rows = [[buf.cell(x, y) for x in range(width)] for y in range(height)]
    return buf, Screen(rows, buf.cursor)


def _short(cell: Cell | str) -> str:
    if isinstance(cell, str):
        return repr(cell)
    attrs = [f"{k}={v!r}" for k, v in vars(cell).items() if k != "char" and v != getattr(
        Cell(), k)]
    return repr(cell.char) + (f"[{' '.join(attrs)}]" if attrs else "")


def differences(mine: Screen, tmux: Screen, skip: set[int] | frozenset[int] = frozenset()
                ) -> list[str]:
    """Where the screens differ (empty when equal). Blanks past tmux's captured line end must
    be spaces in the buffer (tmux does not capture trailing blanks, whatever their colour)."""
    out = []
    for y, (row, theirs) in enumerate(zip(mine.rows, tmux.rows, strict=True)):
        if y in skip:
            continue
        for x, cell in enumerate(row):
            if x < len(theirs):
                got, want = cell, theirs[x]
                if cell.invisible and want.invisible:
                    got, want = replace(cell, char=" "), replace(want, char=" ")
            else:
                got, want = cell.char, " "
            if got != want:
                out.append(f"({x},{y}): plait {_short(got)} tmux {_short(want)}")
        if len(out) > 10:
            break
    if mine.cursor != tmux.cursor and mine.cursor[1] not in skip:
        out.append(f"cursor: plait {mine.cursor} tmux {tmux.cursor}")
    return out


# ---------------------------------------------------------------------- the corpus
# where tmux is not the oracle: the VT102's screen, first lines
OWN_ANSWER: dict[str, list[str]] = {
    "lnm": ["abc", "def"],
    "wide-right-half": ["\u4e2d r"],
    "il-last-line-outside-region": [str(i) for i in range(23)] + [""],
    "rep-non-ascii": ["\u00e9\u00e9\u00e9\u00e9"],
    "hpr-vpr": ["ab   M", "", "      N"],
    "cht": ["a               b", "", " " * 79 + "c"],
    "decstr": ["", "", "", "cb"],
    "scroll-region-zero": ["d"],
    "single-shift": ["qq"],
    "utf8-invalid": ["a\ufffdb\ufffd(c\ufffd\ufffd\ufffdd"],  # the last bytes wait for more
    "charset-uk": ["\u00a3#"],
    "vttest-2-screen:12": [""] * 22 + [
        "This line should be the one above the bottom of the screen. Push <RETURN>",
        "Origin mode test. This line should be at the bottom of the screen."],
}

CUP = b"\x1b[%d;%dH"
HAND: dict[str, bytes] = {
    "text": b"hello, world\r\nsecond line\r\n\tindented",
    "utf8": "caf\u00e9 \u20ac \u2500\u2502 \u00e0\u00e9\u00ee\u00f5\u00fc".encode(),
    "wrap": b"x" * 85 + b"\r\n" + b"y" * 160 + b"z",
    "wrap-pending-controls": b"".join(
        b"\x1b[%dH" % (i + 1) + b"x" * 80 + seq + b"y"
        for i, seq in enumerate([b"", b"\x08", b"\r", b"\x1b[C", b"\x1b[D", b"\t", b"\x1b[X",
                                 b"\x1b[K", b"\x1b[A", b"\x1b[B", b"\x1b7\x1b8", b"\x1b[@",
                                 b"\x1b[P", b"\x1b[1K", b"\x1b[2b", b"\x1b[5G"])),
    "autowrap-off": b"\x1b[?7l" + b"a" * 100 + b"b\r\n" + b"\x1b[?7h" + b"c" * 81,
    "backspace-over-wrap": b"x" * 80 + b"ab\x08\x08\x08\x08z",
    "cursor-moves": b"\x1b[5;10Ha\x1b[2Ab\x1b[3Bc\x1b[4Cd\x1b[20De\x1b[0;0Hf\x1b[99;99Hg"
                    b"\x1b[12Gh\x1b[7di\x1b[3;4fj\x1b[2Ek\x1b[Fl\x1b[5`o",
    "index-reverse-index": b"1\r\n2\r\n3\x1b[H\x1bMtop\x1b[24H\x1bDbottom\x1bEnext",
    "save-restore": b"\x1b[3;3H\x1b[1;32m\x1b(0\x1b7\x1b[H\x1b[0m\x1b(Bq\x1b8q\x1b[10;10H\x1b[s"
                    b"\x1b[Hx\x1b[uy",
    "restore-without-save": b"\x1b[5;5H\x1b[1mq\x1b8r",
    "insert-mode": b"abcdef\r\x1b[4hXY\x1b[4lZ\r\n" + b"w" * 79 + b"\r\x1b[4h12",
    "erase-line": b"abcdefghij\x1b[5G\x1b[K\r\nabcdefghij\x1b[5G\x1b[1K\r\nabcdefghij\x1b[2K",
    "erase-display": b"".join(b"line %d\r\n" % i for i in range(24)) + b"\x1b[12;5H\x1b[J"
                     b"\x1b[5;3H\x1b[1J",
    "erase-display-all": b"abc\r\ndef\x1b[2Jx",
    "bce": b"\x1b[44mab\x1b[K\r\n\x1b[41m\x1b[2J\x1b[5;5H\x1b[0mcd\x1b[43m\x1b[3X\x1b[2@",
    "ich-dch-ech": b"abcdefghijklmnop\x1b[1;3H\x1b[2@\x1b[1;8H\x1b[3P\x1b[1;12H\x1b[2X"
                   b"\x1b[1;2H\x1b[200P",
    "insert-delete-line": b"".join(b"%d\r\n" % i for i in range(10)) + b"\x1b[3;2H\x1b[2L"
                          b"\x1b[6;3H\x1b[M\x1b[8H\x1b[99M",
    "scroll-region": b"".join(b"%d\r\n" % i for i in range(23)) + b"23\x1b[5;10r\x1b[10H\n\n"
                     b"X\x1b[5H\x1bM\x1bMY\x1b[3S\x1b[2T\x1b[7H\x1b[3L\x1b[r\x1b[24H\nZ",
    "scroll-region-invalid": b"a\x1b[10;5r\x1b[24Hb\nc\x1b[5;5rd",
    "il-dl-outside-region": b"".join(b"%d\r\n" % i for i in range(23)) + b"23\x1b[5;10r"
                            b"\x1b[13;3H\x1b[2L\x1b[18H\x1b[3M\x1b[2;5H\x1b[1Lx\x1b[r",
    "il-last-line-outside-region": b"".join(b"%d\r\n" % i for i in range(23)) + b"23"
                                   b"\x1b[5;10r\x1b[24H\x1b[L",
    "rep-non-ascii": "\u00e9\x1b[3b".encode(),
    "scroll-up-down": b"".join(b"%d\r\n" % i for i in range(23)) + b"\x1b[2S\x1b[T\x1b[S",
    "origin-mode": b"\x1b[5;10r\x1b[?6h\x1b[Ha\x1b[20;1Hb\x1b[3dc\x1b[?6ld\x1b[r",
    "tabs": b"\tA\t\tB\x1b[3g\x1b[5G\x1bH\x1b[30G\x1bH\r\n\tC\tD\tE\x1b[2;5H\x1b[g\r\tF"
            b"\x1b[3;70H\t1\x1b[3Z2",
    "tabs-default": b"\tx\ty\t\t\t\t\t\t\t\tz\r\n" + b"a\tb\t\tc\x1b[Zd\x1b[5Ze",
    "line-drawing": b"\x1b(0lqqqqk\r\nx    x\r\nmqqqqj\x1b(B\r\n\x1b)0a\x0elqk\x0fb\x0etuvw\x0f"
                    b"\r\n\x1b(0`abcdefghijklmnopqrstuvwxyz{|}~\x1b(B",
    "sgr-basic": b"\x1b[1mB\x1b[2mD\x1b[3mI\x1b[4mU\x1b[5mK\x1b[7mR\x1b[8mH\x1b[0m.\x1b[1;4;7mX"
                 b"\x1b[22;24;27mY\x1b[3;5mZ\x1b[23;25mW\x1b[m",
    "sgr-colours": b"".join(b"\x1b[%dm%d" % (30 + i, i) for i in range(8))
                   + b"".join(b"\x1b[%dm%d" % (40 + i, i) for i in range(8))
                   + b"\x1b[39;49m" + b"".join(b"\x1b[%dm%d" % (90 + i, i) for i in range(8))
                   + b"\x1b[0m" + b"".join(b"\x1b[%dm%d" % (100 + i, i) for i in range(8)),
    "sgr-256": b"".join(b"\x1b[38;5;%d;48;5;%dm*" % (i, 255 - i) for i in range(0, 256, 5)),
    "sgr-truecolor": b"\x1b[38;2;255;128;0mA\x1b[48;2;0;64;255mB\x1b[38:2::1:2:3mC"
                     b"\x1b[48:2::200:100:50mD\x1b[38:5:123mE\x1b[0mF\x1b[38;2;300;-1;5mG",
    "alt-screen-1049": b"main text\x1b[1;31m\x1b[?1049h\x1b[Halt\x1b[5;5Hmore\x1b[?1049lX",
    "alt-screen-47": b"main\x1b[?47halt\x1b[?47lX\x1b[?1047hY\x1b[?1047lZ",
    "decaln": b"\x1b[5;10r\x1b#8\x1b[3;3Hx",
    "deccolm": b"abc\x1b[?3hX\x1b[?3lY",
    "ris": b"\x1b[1;31mabc\x1b[5;10r\x1b(0\x1bcq\x1b[24Hz\n",
    "decstr": b"\x1b[4h\x1b[?6h\x1b[5;10r\x1b[!pab\x1b[5Hc\x1b[24Hd\n",
    "rep": b"ab\x1b[3bc\x1b[100b\r\n\x1b[5b",
    "controls-in-sequences": b"ab\x1b[2\r\nCx\x1b[1\x08;5Hy\x1b[3\x18cd\x1b[3\x1acd",
    "strings-ignored": b"a\x1bPq#0;2;0;0;0#0~~@@\x1b\\b\x1bXsos\x1b\\c\x1b^pm\x1b\\d\x1b_apc\x07x"
                       b"\x1b\\e\x1b]0;title\x07f\x1b]2;t\x1b\\g",
    "cr-lf-vt-ff": b"abc\rd\ne\x0bf\x0cg",
    "scrolling-text": b"".join(b"line %d of a long text\r\n" % i for i in range(100)),
    "wide": "\u4e2d\u6587 text \u5b57\r\n".encode() + ("a" * 78 + "\u4e2dx\r\n").encode()
            + ("a" * 79 + "\u4e2dy\r\n").encode() + "\U0001f600\uff21\uff22!\r\n".encode()
            + "\x1b[1;31m\u6f22\x1b[0m\u5b57\x1b[5;10H\u4e2d\x1b[5;3H\u6587\x1b[D\x08z".encode(),
    "wide-overwrite": "\u4e2d\u6587\u5b57\x1b[1;1Hab\u4e2dc\r\n\u4e2d\u4e2d\x1b[2;3Hxyz".encode(),
    "wide-autowrap-off": ("\x1b[?7l" + "a" * 79 + "\u4e2d\u6587").encode(),
    "wide-right-half": "\u4e2d\u6587\x08r".encode(),
    "combining": "e\u0301a\u0300 c\u0327 x\u200by\r\n\u4e2d\u0301!".encode(),
    "lnm": b"\x1b[20habc\ndef",
    "hpr-vpr": b"ab\x1b[3aM\x1b[2eN",
    "cht": b"a\x1b[2Ib\x1b[3;70H\x1b[3Ic",
    "scroll-region-zero": b"a\x1b[24Hb\nc\x1b[0;0rd",
    "single-shift": b"\x1b(0\x1bNq\x1bOq",
    "utf8-invalid": b"a\xffb\xc3(c\xed\xa0\x80d\xf0\x9f\x98",
    "charset-uk": b"\x1b(A#\x1b(B#",
    "double-width": b"\x1b#6wide\r\n\x1b#3top\r\n\x1b#4bottom\r\n\x1b#5normal",
}


def generated(seed: int, length: int = 400) -> bytes:
    """A deterministic stream of operations on which tmux and a VT102 agree."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "\u00e9t\u00e9", "\u2500\u2500", "x" * 30, "12345", " ", "zz",
             "\u4e2d\u6587", "\U0001f600", "e\u0301"]
    out = bytearray()
    origin = False
    for _ in range(length):
        kind = rng.randrange(20)
        n = rng.randrange(0, 6)
        if kind < 6:
            out += rng.choice(words).encode()
        elif kind == 6:
            out += rng.choice([b"\r", b"\n", b"\r\n", b"\x08", b"\t"])
        elif kind == 7:
            out += CUP % (rng.randrange(0, 26), rng.randrange(0, 82))
        elif kind == 8:
            out += b"\x1b[%d%s" % (n, rng.choice([b"A", b"B", b"C", b"D", b"G", b"d", b"E", b"F"]))
        elif kind == 9:
            out += b"\x1b[%d%s" % (rng.randrange(3), rng.choice([b"K", b"J"]))
        elif kind == 10:
            op = rng.choice([b"@", b"P", b"X", b"L", b"M", b"S", b"T", b"b"])
            if op in (b"L", b"M"):  # inside a region (outside it, see "il-dl-outside-region")
                top = rng.randrange(1, 24)
                bottom = rng.randrange(top, 25)
                out += b"\x1b[?6l\x1b[%d;%dr" % (top, bottom) + CUP % (
                    rng.randrange(top, bottom + 1), rng.randrange(1, 81))
                origin = False
            out += (b"r" if op == b"b" else b"") + b"\x1b[%d%s" % (n, op)  # tmux repeats ASCII only
        elif kind == 11:
            top = rng.randrange(1, 24)
            if origin:  # tmux homes to the screen's corner, DEC to the region's (see above)
                out += b"\x1b[?6l"
                origin = False
            out += b"\x1b[%d;%dr" % (top, rng.randrange(top, 25)) if n else b"\x1b[r"
        elif kind == 12:
            out += b"\x1b[%sm" % b";".join(rng.choice(
                [b"0", b"1", b"2", b"3", b"4", b"5", b"7", b"8", b"22", b"24", b"27",
                 b"3%d" % rng.randrange(10), b"4%d" % rng.randrange(10), b"9%d" % rng.randrange(8),
                 b"38;5;%d" % rng.randrange(256), b"48;2;%d;%d;%d" % (n, n * 40, 255)])
                for _ in range(rng.randrange(1, 4)))
        elif kind == 13:
            op = rng.choice([b"\x1b7", b"\x1b8", b"\x1bD", b"\x1bM", b"\x1bE", b"\x1bH",
                             b"\x1b[g", b"\x1b[3g", b"\x1b[s", b"\x1b[u"])
            origin = origin or op in (b"\x1b8", b"\x1b[u")  # DECRC may restore DECOM
            out += op
        elif kind == 14:
            mode = rng.choice([b"\x1b[4h", b"\x1b[4l", b"\x1b[?7l", b"\x1b[?7h", b"\x1b[?6h",
                               b"\x1b[?6l", b"\x1b[?1049h", b"\x1b[?1049l"])
            origin = {b"\x1b[?6h": True, b"\x1b[?6l": False}.get(mode, origin)
            out += mode
        elif kind == 15:
            out += rng.choice([b"\x1b(0", b"\x1b(B", b"\x1b)0", b"\x0e", b"\x0f"])
        elif kind == 16:
            out += b"\x1b[%dZ" % n
        else:
            out += bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(90)))
    return bytes(out)


def vttest_screens() -> Iterator[tuple[str, bytes]]:
    for path in sorted(CORPUS.glob("vttest-*.bin")):
        data = path.read_bytes()
        offsets = [int(n) for n in path.with_suffix(".screens").read_text().split()]
        for i, offset in enumerate(offsets):
            yield f"{path.stem}:{i}", data[:offset]


CASES: list[tuple[str, bytes]] = [
    *HAND.items(),
    *((f"generated-{seed}", generated(seed)) for seed in range(40)),
    *vttest_screens(),
]


@pytest.fixture(scope="module")
def tmux(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tmux]:
    server = Tmux(tmp_path_factory.mktemp("tmux"))
    try:
        yield server
    finally:
        server.close()


def test_corpus_is_complete() -> None:
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names))
    assert sum(name.startswith("vttest-") for name in names) >= 60
    assert set(TMUX_DIFFERS) <= set(names)


@pytest.mark.parametrize(("name", "data"), CASES, ids=[name for name, _ in CASES])
def test_buffer_matches_tmux(tmux: Tmux, name: str, data: bytes) -> None:
    buf, mine = plait_screen(data)
    for chunk in (1, 7):  # the screen never depends on how the bytes were split
        _other, split = plait_screen(data, chunk=chunk)
        assert split == mine, chunk
    _reason, rows = TMUX_DIFFERS.get(name, ("", None))
    if rows == "all":
        if name in OWN_ANSWER:  # what a VT102 shows instead
            assert buf.lines()[:len(OWN_ANSWER[name])] == OWN_ANSWER[name]
        return
    skip = set(rows) if isinstance(rows, set) else set()
    skip |= {y for y in range(HEIGHT) if buf.line_size(y) != "single"}
    theirs = tmux.screen(data)
    assert differences(mine, theirs, skip) == []


# Scrollback: tmux and the buffer keep the same lines when the screen (or a region at its top)
# scrolls and never from the alternate screen. Where they differ by design: tmux also keeps
# lines scrolled out of a region that does not start at the top, and clearing the whole screen
# (ED 2) moves the screen into its history ("scroll-on-clear"); the buffer, as xterm, keeps
# only lines leaving the top of the screen.
SCROLLBACK_CASES = {
    "scrolling-text": HAND["scrolling-text"],
    "region-at-top": b"".join(b"l%d\r\n" % i for i in range(10)) + b"\x1b[1;5r\x1b[5H\n\n\n",
    "alternate-screen": b"".join(b"l%d\r\n" % i for i in range(30)) + b"\x1b[?1049h"
                        + b"\n" * 30 + b"\x1b[?1049l",
    "clear-scrollback": b"".join(b"l%d\r\n" % i for i in range(30)) + b"\x1b[3Jx",
    "wrapped-lines": b"".join(b"%d" % i * 30 for i in range(40)),
}


@pytest.mark.parametrize("name", sorted(SCROLLBACK_CASES))
def test_scrollback_matches_tmux_history(tmux: Tmux, name: str) -> None:
    data = SCROLLBACK_CASES[name]
    buf, _ = plait_screen(data)
    tmux.screen(data)
    assert buf.scrollback_lines() == tmux.history


def test_a_difference_is_reported(tmux: Tmux) -> None:
    """The comparison itself can fail: a wrong colour and a wrong character are seen."""
    _, mine = plait_screen(b"\x1b[31mab")
    theirs = tmux.screen(b"\x1b[32mac")
    found = differences(mine, theirs)
    assert len(found) == 2 and "(0,0)" in found[0] and "(1,0)" in found[1]
