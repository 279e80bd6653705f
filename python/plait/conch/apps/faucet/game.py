"""The Faucet screen: the room's description top left, what is there top right, the game's
output and the command line below.

Why a widget tree: each pane is a widget that repaints on its own, so another player's
action (arriving while this user types) only redraws the panes it changed and leaves the
half-typed command alone.
"""
from __future__ import annotations

from plait.conch.apps.faucet.world import MAX_COMMAND, Player, World, WorldFull, shared_world
from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key
from plait.conch.insults.window import (
    Border,
    HBox,
    TextInput,
    TextOutputArea,
    TopWindow,
    VBox,
    WindowProtocol,
)

__all__ = ["MAX_OUTPUT_LINES", "FaucetProtocol"]

#: Lines of game output kept for the bottom pane (older ones are dropped).
MAX_OUTPUT_LINES = 200
ROOM_PANE_HEIGHT = 9
OBJECTS_PANE_WIDTH = 26


class FaucetProtocol(WindowProtocol):
    """One player's session in ``world`` (the server's shared world by default)."""

    def __init__(self, name: str, world: World | None = None, *,
                 dec_graphics: bool = False) -> None:
        super().__init__(dec_graphics=dec_graphics)
        self.name = name
        self.world = world if world is not None else shared_world()
        self.player: Player | None = None
        self.lines: list[str] = []

    def build(self, window: TopWindow) -> None:
        self.room_pane = TextOutputArea((None, ROOM_PANE_HEIGHT), TextOutputArea.WRAP)
        self.objects_pane = TextOutputArea((OBJECTS_PANE_WIDTH - 2, ROOM_PANE_HEIGHT),
                                           TextOutputArea.TRUNCATE)
        self.output_pane = TextOutputArea(None, TextOutputArea.WRAP, tail=True)
        self.input = TextInput(MAX_COMMAND, self.submit)
        top = HBox()
        top.add_child(Border(self.room_pane))
        top.add_child(Border(self.objects_pane))
        box = VBox()
        box.add_child(top)
        box.add_child(Border(self.output_pane))
        box.add_child(Border(self.input))
        window.add_child(box)
        window.change_focus()
        try:
            self.player = self.world.join(self.name, self)
        except WorldFull as exc:
            self.message(f"{exc}. Try again later.")
            return
        self.message(f"Welcome to Faucet, {self.player.name}. Type 'help' for commands.")
        self.room_changed()

    def submit(self, text: str) -> None:
        self.input.set_text("")
        if self.player is None:
            self.close()
            return
        self.message(f"> {text}")
        self.world.command(self.player, text)

    # -- Observer ------------------------------------------------------------------------

    def message(self, text: str) -> None:
        self.lines.extend(text.split("\n"))
        del self.lines[:-MAX_OUTPUT_LINES]
        self.output_pane.set_text("\n".join(self.lines))

    def room_changed(self) -> None:
        if self.player is None:
            return
        self.room_pane.set_text(self.world.describe(self.player))
        things = self.world.objects(self.player)
        self.objects_pane.set_text("Here:\n" + ("\n".join(f" {t}" for t in things)
                                                if things else " nothing"))

    def quit(self) -> None:
        self.close()

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if key in ("\x03", "\x04"):           # Ctrl-C / Ctrl-D leave as 'quit' does
            self.close()
            return
        super().keystroke_received(key, modifier)

    def connection_lost(self, reason: Exception | None) -> None:
        player, self.player = self.player, None
        if player is not None:
            self.world.leave(player)
        super().connection_lost(reason)
