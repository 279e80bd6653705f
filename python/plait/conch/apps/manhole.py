"""A colourised Python REPL on a terminal (Twisted's ``manhole.ColoredManhole``).

Why it exists: an administrator logged in over SSH or telnet can look at and change the
running server (its site store, login system, the Faucet world) without restarting it.
Only accounts that :func:`plait.conch.apps.admin.is_administrator` accepts get one (the
menu and the ``manhole`` exec command check it).

Input is edited with :class:`HistoricRecvLine` and coloured while typed from Python's own
``tokenize`` (keywords, strings, numbers, comments); an unfinished statement continues on
a ``... `` line (``codeop`` decides); results and printed output come back above the
prompt, a result's ``repr`` coloured the same way.  Code runs in the server's event loop
thread: a statement that never returns blocks the server (as in Twisted's manhole).
"""
from __future__ import annotations

import codeop
import contextlib
import io
import keyword
import sys
import tokenize
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from plait.conch.apps.recvline import HistoricRecvLine, Span
from plait.conch.insults.keys import Modifier
from plait.conch.insults.terminal import BLUE, BOLD, CYAN, FOREGROUND, GREEN, MAGENTA, RED

__all__ = ["MAX_OUTPUT", "MAX_SOURCE", "Manhole", "highlight_python"]

#: Characters of one (multi-line) statement; a longer one is dropped with an error.
MAX_SOURCE = 64 * 1024
#: Characters of output one statement may show; the rest is cut with a notice.
MAX_OUTPUT = 1024 * 1024

KEYWORD = (BOLD, FOREGROUND + BLUE)
STRING = (FOREGROUND + MAGENTA,)
NUMBER = (FOREGROUND + CYAN,)
COMMENT = (FOREGROUND + GREEN,)
ERROR = (FOREGROUND + RED,)


def _style(token: tokenize.TokenInfo) -> tuple[int, ...]:
    if token.type == tokenize.NAME and (keyword.iskeyword(token.string)
                                        or keyword.issoftkeyword(token.string)):
        return KEYWORD
    if token.type == tokenize.STRING or token.type in _FSTRING_TYPES:
        return STRING
    if token.type == tokenize.NUMBER:
        return NUMBER
    if token.type == tokenize.COMMENT:
        return COMMENT
    return ()


_FSTRING_TYPES = {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE",
                                                       "FSTRING_END") if hasattr(tokenize, name)}


def highlight_python(text: str) -> list[Span]:
    """``text`` (one line) as coloured spans; what does not tokenize stays plain."""
    spans: list[Span] = []
    position = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.start[0] != 1:         # only the first physical line is ours
                break
            start = token.start[1]
            end = min(token.end[1] if token.end[0] == 1 else len(text), len(text))
            if start < position or end <= start:
                continue
            if start > position:
                spans.append(((), text[position:start]))
            spans.append((_style(token), text[start:end]))
            position = end
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    if position < len(text):
        rest = text[position:]
        spans.append((STRING if rest.lstrip()[:1] in ("'", '"') else (), rest))
    return spans


class _Output(io.TextIOBase):
    """``sys.stdout`` while a statement runs: text to the terminal, at most MAX_OUTPUT."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.written = 0
        self.cut = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.cut:
            return len(text)
        room = MAX_OUTPUT - self.written
        if len(text) > room:
            text, self.cut = text[:room], True
        self.written += len(text)
        self._write(text)
        if self.cut:
            self._write(f"\n[output cut at {MAX_OUTPUT} characters]\n")
        return len(text)


class Manhole(HistoricRecvLine):
    """The REPL; ``namespace`` is what its code sees (the server's objects)."""

    ps = (">>> ", "... ")

    def __init__(self, namespace: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.namespace: dict[str, Any] = {"__name__": "__manhole__", "__builtins__": __builtins__}
        self.namespace.update(namespace or {})
        self.compiler = codeop.CommandCompiler()
        self.buffer: list[str] = []
        self.prompt = self.ps[0]

    def connection_made(self) -> None:
        version = sys.version.split()[0]
        self.write_text(f"plait manhole: Python {version}. Ctrl-D on an empty line ends it.\n")
        super().connection_made()

    def highlight(self, text: str) -> Sequence[Span]:
        return highlight_python(text)

    def write_coloured(self, text: str) -> None:
        """Write ``text`` (one or more lines) coloured as Python."""
        terminal = self.terminal
        if terminal is None:
            return
        for n, line in enumerate(text.split("\n")):
            if n:
                terminal.write("\n")
            for sgr, piece in highlight_python(line):
                if sgr:
                    terminal.select_graphic_rendition(*sgr)
                terminal.write(piece)
                if sgr:
                    terminal.select_graphic_rendition(0)

    def character_received(self, key: str, modifier: Modifier) -> None:
        if key == "\x03":                   # Ctrl-C drops the statement under way
            self.buffer.clear()
            self.write_text("^C\nKeyboardInterrupt\n")
            self.prompt = self.ps[0]
            self.draw_prompt()
            return
        super().character_received(key, modifier)

    def line_received(self, line: str) -> None:
        self.buffer.append(line)
        source = "\n".join(self.buffer)
        if len(source) > MAX_SOURCE:
            self.buffer.clear()
            self._error(f"statement longer than {MAX_SOURCE} characters: dropped\n")
            more = False
        else:
            more = self.push(source)
        self.prompt = self.ps[1] if more else self.ps[0]
        self.draw_prompt()

    def push(self, source: str) -> bool:
        """Compile and run ``source``; True if it needs more lines."""
        try:
            code = self.compiler(source, "<manhole>", "single")
        except (OverflowError, SyntaxError, ValueError):
            self.buffer.clear()
            self._error("".join(traceback.format_exception_only(*sys.exc_info()[:2])))
            return False
        if code is None:
            return True
        self.buffer.clear()
        self.run(code)
        return False

    def run(self, code: Any) -> None:
        output = _Output(self.write_text)

        def display(value: object) -> None:
            if value is None:
                return
            self.namespace["_"] = value
            text = repr(value)
            if len(text) > MAX_OUTPUT:
                text = text[:MAX_OUTPUT] + " [cut]"
            self.write_coloured(text)
            self.write_text("\n")

        saved_hook = sys.displayhook
        sys.displayhook = display
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                exec(code, self.namespace)  # noqa: S102 - the point of a manhole (admins only)
        except SystemExit:
            self.write_text("SystemExit ignored: the manhole runs inside the server\n")
        except BaseException:  # noqa: BLE001 - any error in typed code is shown, not raised
            kind, value, tb = sys.exc_info()
            frames = traceback.extract_tb(tb)[1:]       # drop this method's frame
            self._error("Traceback (most recent call last):\n"
                        + "".join(traceback.format_list(frames))
                        + "".join(traceback.format_exception_only(kind, value)))
        finally:
            sys.displayhook = saved_hook

    def _error(self, text: str) -> None:
        terminal = self.terminal
        if terminal is None:
            return
        terminal.select_graphic_rendition(*ERROR)
        terminal.write(text)
        terminal.select_graphic_rendition(0)
