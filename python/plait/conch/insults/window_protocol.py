"""A terminal application whose screen is a widget tree."""
from __future__ import annotations

from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key, TerminalProtocol
from plait.conch.insults.terminal import DECTCEM
from plait.conch.insults.window_base import Scheduler, TopWindow

__all__ = ["WindowProtocol"]


class WindowProtocol(TerminalProtocol):
    """Hosts a ``TopWindow`` on the terminal: keys go to the tree, a resize re-lays it
    out and redraws everything.  Subclasses fill the window in ``build(window)``.

    The terminal cursor is hidden while the application runs (widgets draw their own).
    """

    window: TopWindow

    def __init__(self, scheduler: Scheduler | None = None, *, dec_graphics: bool = True) -> None:
        self.scheduler = scheduler
        self.dec_graphics = dec_graphics

    def connection_made(self) -> None:
        assert self.terminal is not None
        self.window = TopWindow(self.paint, self.scheduler, dec_graphics=self.dec_graphics)
        self.terminal.reset_private_modes([DECTCEM])
        self.build(self.window)
        self.window.repaint()

    def build(self, window: TopWindow) -> None:
        """Add the application's widgets to ``window``."""

    def paint(self) -> None:
        if self.terminal is not None:
            self.window.draw(self.terminal.width, self.terminal.height, self.terminal)

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        self.window.keystroke_received(key, modifier)

    def paste_received(self, text: str) -> None:
        self.window.paste_received(text)

    def terminal_size(self, width: int, height: int) -> None:
        self.window.invalidate()

    def connection_lost(self, reason: Exception | None) -> None:
        self.terminal = None
