"""A terminal application whose screen is a widget tree."""
from __future__ import annotations

from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key, TerminalProtocol
from plait.conch.insults.terminal import ALT_SCREEN_SAVE, CS_US, DECTCEM, G0, NORMAL
from plait.conch.insults.window_base import Scheduler, TopWindow

__all__ = ["WindowProtocol"]


class WindowProtocol(TerminalProtocol):
    """Hosts a ``TopWindow`` on the terminal: keys go to the tree, a resize re-lays it
    out and redraws everything.  Subclasses fill the window in ``build(window)``.

    The terminal cursor is hidden while the application runs (widgets draw their own);
    ``close()`` gives it back before hanging up.  With ``alternate_screen`` the
    application draws on the xterm alternate screen, so the user's screen comes back
    when it ends.
    """

    window: TopWindow

    def __init__(self, scheduler: Scheduler | None = None, *, dec_graphics: bool = True,
                 alternate_screen: bool = False) -> None:
        self.scheduler = scheduler
        self.dec_graphics = dec_graphics
        self.alternate_screen = alternate_screen

    def connection_made(self) -> None:
        assert self.terminal is not None
        self.window = TopWindow(self.paint, self.scheduler, dec_graphics=self.dec_graphics)
        if self.alternate_screen:
            self.terminal.set_private_modes([ALT_SCREEN_SAVE])
        self.terminal.reset_private_modes([DECTCEM])
        self.build(self.window)
        self.window.repaint()

    def restore_terminal(self) -> None:
        """Leave the terminal as a shell expects it: plain style, cursor shown, and the
        screen cleared (or the user's screen back, with ``alternate_screen``)."""
        terminal = self.terminal
        if terminal is None:
            return
        terminal.select_graphic_rendition(NORMAL)
        terminal.select_character_set(CS_US, G0)
        if self.alternate_screen:
            terminal.reset_private_modes([ALT_SCREEN_SAVE])
        else:
            terminal.erase_display()
            terminal.cursor_home()
        terminal.set_private_modes([DECTCEM])
        self.window.screen.invalidate()

    def close(self) -> None:
        """End the session: restore the terminal, then hang up (nothing is painted after)."""
        terminal = self.terminal
        self.restore_terminal()
        self.terminal = None
        if terminal is not None:
            terminal.lose_connection()

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
