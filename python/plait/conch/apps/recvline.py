"""Line editing on a terminal (Twisted's ``recvline``): a prompt, a line the user edits
with arrows, Home/End, Backspace/Delete and the Emacs keys, and a history.

Why redraw the whole line: each edit rewrites prompt + visible text and puts the cursor
back, so the screen is right whatever the terminal did before (a resize, output from
elsewhere), and a line longer than the terminal scrolls sideways instead of wrapping.
Subclasses override ``line_received(line)`` and may colour the line with
``highlight(text)``.

Keys: Left/Right, Home/End (and Ctrl-A/Ctrl-E), Backspace, Delete (and Ctrl-D on a
non-empty line), Ctrl-K (kill to end), Ctrl-U (kill to start), Ctrl-W (kill the word
before the cursor), Ctrl-L (redraw), Up/Down (history), Enter.  Insert toggles
overwrite mode.
"""
from __future__ import annotations

from collections.abc import Sequence

from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key, TerminalProtocol
from plait.conch.insults.terminal import NORMAL

__all__ = ["MAX_HISTORY", "MAX_LINE", "HistoricRecvLine", "RecvLine", "Span"]

#: Characters one input line may hold; more are refused with a bell.
MAX_LINE = 4096
#: Lines kept in the history (the oldest go first).
MAX_HISTORY = 1000

#: A run of text with the SGR parameters to draw it with (() = normal).
Span = tuple[tuple[int, ...], str]

CTRL_A, CTRL_D, CTRL_E, CTRL_K, CTRL_L, CTRL_U, CTRL_W = (
    "\x01", "\x04", "\x05", "\x0b", "\x0c", "\x15", "\x17")
BACKSPACES = ("\x7f", "\x08")


class RecvLine(TerminalProtocol):
    """A prompt and an editable line; ``line_received`` gets each line on Enter."""

    prompt = "> "

    def __init__(self) -> None:
        self.line = ""
        self.cursor = 0
        self.overwrite = False

    # -- life cycle ---------------------------------------------------------------------

    def connection_made(self) -> None:
        self.draw_prompt()

    def terminal_size(self, width: int, height: int) -> None:
        self.redraw_line()

    # -- output helpers ------------------------------------------------------------------

    def write_text(self, text: str) -> None:
        """Output above the prompt's line (``\\n`` becomes CR LF)."""
        if self.terminal is not None:
            self.terminal.write(text)

    def draw_prompt(self) -> None:
        """Start a fresh input line."""
        self.line, self.cursor = "", 0
        self.redraw_line()

    def highlight(self, text: str) -> Sequence[Span]:
        """How to draw the input ``text``; plain by default."""
        return [((), text)]

    def redraw_line(self) -> None:
        terminal = self.terminal
        if terminal is None:
            return
        width = max(terminal.width, 2)
        prompt = self.prompt[: width - 1]
        room = width - len(prompt) - 1          # keep the last column for the cursor
        start = 0
        if room > 0 and self.cursor > room:
            start = self.cursor - room
        shown = self.line[start: start + max(room, 0)] if room > 0 else ""
        terminal.carriage_return()
        terminal.erase_to_line_end()
        terminal.write(prompt)
        if shown:
            position = 0
            for sgr, text in self.highlight(self.line):
                piece_start, piece_end = max(position, start), min(position + len(text),
                                                                   start + len(shown))
                if piece_start < piece_end:
                    if sgr:
                        terminal.select_graphic_rendition(*sgr)
                    terminal.write(text[piece_start - position: piece_end - position])
                    if sgr:
                        terminal.select_graphic_rendition(NORMAL)
                position += len(text)
        terminal.cursor_column(min(len(prompt) + self.cursor - start, width - 1))

    # -- keys ----------------------------------------------------------------------------

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if isinstance(key, str):
            self.character_received(key, modifier)
            return
        handler = getattr(self, f"func_{key.name}", None)
        if handler is not None:
            handler(modifier)

    def paste_received(self, text: str) -> None:
        lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
        for n, part in enumerate(lines):
            if n:
                self.enter()
            for char in part:
                if char.isprintable():
                    self.insert(char)

    def character_received(self, key: str, modifier: Modifier) -> None:
        if key == "\r":
            self.enter()
        elif key in BACKSPACES:
            self.backspace()
        elif key == CTRL_A:
            self.func_home(modifier)
        elif key == CTRL_E:
            self.func_end(modifier)
        elif key == CTRL_K:
            self.line = self.line[: self.cursor]
            self.redraw_line()
        elif key == CTRL_U:
            self.line, self.cursor = self.line[self.cursor:], 0
            self.redraw_line()
        elif key == CTRL_W:
            self.kill_word()
        elif key == CTRL_L:
            self.redraw_line()
        elif key == CTRL_D:
            if self.line:
                self.func_delete(modifier)
            else:
                self.end_of_input()
        elif key.isprintable() and not modifier & (Modifier.ALT | Modifier.META):
            self.insert(key)

    def insert(self, char: str) -> None:
        replacing = self.overwrite and self.cursor < len(self.line)
        if not replacing and len(self.line) >= MAX_LINE:
            if self.terminal is not None:
                self.terminal.bell()
            return
        end = self.cursor + 1 if replacing else self.cursor
        self.line = self.line[: self.cursor] + char + self.line[end:]
        self.cursor += 1
        self.redraw_line()

    def backspace(self) -> None:
        if self.cursor > 0:
            self.line = self.line[: self.cursor - 1] + self.line[self.cursor:]
            self.cursor -= 1
            self.redraw_line()

    def kill_word(self) -> None:
        head = self.line[: self.cursor].rstrip()
        cut = len(head) - len(head.split()[-1]) if head.split() else 0
        self.line, self.cursor = self.line[:cut] + self.line[self.cursor:], cut
        self.redraw_line()

    def enter(self) -> None:
        line = self.line
        self.line, self.cursor = "", 0
        if self.terminal is not None:
            self.terminal.write("\n")
        self.line_received(line)

    def func_left_arrow(self, modifier: Modifier) -> None:
        if self.cursor > 0:
            self.cursor -= 1
            self.redraw_line()

    def func_right_arrow(self, modifier: Modifier) -> None:
        if self.cursor < len(self.line):
            self.cursor += 1
            self.redraw_line()

    def func_home(self, modifier: Modifier) -> None:
        self.cursor = 0
        self.redraw_line()

    def func_end(self, modifier: Modifier) -> None:
        self.cursor = len(self.line)
        self.redraw_line()

    def func_delete(self, modifier: Modifier) -> None:
        if self.cursor < len(self.line):
            self.line = self.line[: self.cursor] + self.line[self.cursor + 1:]
            self.redraw_line()

    def func_insert(self, modifier: Modifier) -> None:
        self.overwrite = not self.overwrite

    # -- for subclasses ------------------------------------------------------------------

    def line_received(self, line: str) -> None:
        """One line was entered; the default just prompts again."""
        self.draw_prompt()

    def end_of_input(self) -> None:
        """Ctrl-D on an empty line: hang up."""
        if self.terminal is not None:
            self.terminal.lose_connection()


class HistoricRecvLine(RecvLine):
    """``RecvLine`` with a history: Up/Down walk the lines entered before; an edited
    line under way is kept while walking."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[str] = []
        self.history_position = 0
        self._draft = ""

    def enter(self) -> None:
        if self.line and (not self.history or self.history[-1] != self.line):
            self.history.append(self.line)
            del self.history[:-MAX_HISTORY]
        self.history_position = len(self.history)
        self._draft = ""
        super().enter()

    def _show(self, text: str) -> None:
        self.line, self.cursor = text, len(text)
        self.redraw_line()

    def func_up_arrow(self, modifier: Modifier) -> None:
        if self.history_position == 0:
            return
        if self.history_position == len(self.history):
            self._draft = self.line
        self.history_position -= 1
        self._show(self.history[self.history_position])

    def func_down_arrow(self, modifier: Modifier) -> None:
        if self.history_position >= len(self.history):
            return
        self.history_position += 1
        if self.history_position == len(self.history):
            self._show(self._draft)
        else:
            self._show(self.history[self.history_position])
