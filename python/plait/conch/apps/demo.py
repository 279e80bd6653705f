"""The widget demo (Twisted's ``doc/conch/examples/window.tac``): every kind of widget on
one screen, for trying the insults widgets from a real terminal.

What is there: a text input whose Enter shows the text in an output next to it, two
selections that show the chosen item there too, a button that clears the canvas, a canvas
to draw on with the arrows and typed characters, a wrapping and a truncating output area,
a viewport that pans by itself over a long text, and a scrolled area moved with the
arrows.  Tab moves the focus; Ctrl-C or Ctrl-D ends the demo.
"""
from __future__ import annotations

import asyncio

from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key
from plait.conch.insults.window import (
    Border,
    Button,
    DrawableCanvas,
    HBox,
    ScrolledArea,
    Selection,
    TextInput,
    TextOutput,
    TextOutputArea,
    TopWindow,
    VBox,
    Viewport,
    WindowProtocol,
)

__all__ = ["PAN_INTERVAL", "PAN_LIMIT", "SAMPLE_TEXT", "DemoProtocol"]

#: Seconds between two steps of the auto-panning viewport.
PAN_INTERVAL = 0.25
#: The viewport pans from column 0 to this column and back.
PAN_LIMIT = 25
SAMPLE_TEXT = (("This is a very long string.  " * 3) + "\n") * 3
QUIT_KEYS = ("\x03", "\x04")


class DemoProtocol(WindowProtocol):
    """The demo screen; ``pan_interval=None`` keeps the viewport still (tests step it)."""

    def __init__(self, *, pan_interval: float | None = PAN_INTERVAL,
                 dec_graphics: bool = False) -> None:
        super().__init__(dec_graphics=dec_graphics)
        self.pan_interval = pan_interval
        self.pan_direction = 1
        self._pan_handle: asyncio.TimerHandle | None = None

    def build(self, window: TopWindow) -> None:
        self.output = TextOutput((15, 1))
        self.input = TextInput(30, self.show)
        self.selection1 = Selection([str(n) for n in range(100)], self.show, 10)
        self.selection2 = Selection([str(n) for n in range(200, 300)], self.show, 10)
        self.button = Button("Clear", self.clear_canvas)
        self.canvas = DrawableCanvas()
        self.wrapping = TextOutputArea(None, TextOutputArea.WRAP)
        self.truncating = TextOutputArea(None, TextOutputArea.TRUNCATE)
        panned = TextOutputArea(None, TextOutputArea.TRUNCATE)
        scrolled = TextOutputArea(None, TextOutputArea.TRUNCATE)
        for area in (self.wrapping, self.truncating, panned, scrolled):
            area.set_text(SAMPLE_TEXT)
        self.viewport = Viewport(panned)
        self.scrolled = ScrolledArea(scrolled)

        controls = HBox()
        controls.add_child(self.input)
        controls.add_child(self.output)
        controls.add_child(Border(self.button))
        controls.add_child(Border(self.selection1))
        controls.add_child(Border(self.selection2))

        areas = VBox()
        areas.add_child(self.wrapping)
        areas.add_child(self.truncating)
        areas.add_child(Border(self.viewport))
        areas.add_child(self.scrolled)
        lower = HBox()
        lower.add_child(Border(self.canvas))
        lower.add_child(areas)

        screen = VBox()
        screen.add_child(controls)
        screen.add_child(lower)
        window.add_child(screen)
        window.change_focus()
        if self.pan_interval is not None:
            self._pan_handle = asyncio.get_running_loop().call_later(self.pan_interval,
                                                                     self._pan_timer)

    def show(self, text: str) -> None:
        self.output.set_text(text)

    def clear_canvas(self) -> None:
        self.canvas.clear()

    def pan(self) -> None:
        """One step of the viewport, turning round at either end."""
        offset = self.viewport.x_offset + self.pan_direction
        if offset <= 0 or offset >= PAN_LIMIT:
            self.pan_direction = -self.pan_direction
        self.viewport.x_offset = max(0, min(PAN_LIMIT, offset))

    def _pan_timer(self) -> None:
        self._pan_handle = None
        if self.terminal is None or self.pan_interval is None:
            return
        self.pan()
        self._pan_handle = asyncio.get_running_loop().call_later(self.pan_interval,
                                                                 self._pan_timer)

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if key in QUIT_KEYS:
            self.close()
            return
        super().keystroke_received(key, modifier)

    def connection_lost(self, reason: Exception | None) -> None:
        if self._pan_handle is not None:
            self._pan_handle.cancel()
            self._pan_handle = None
        super().connection_lost(reason)

    def close(self) -> None:
        if self._pan_handle is not None:
            self._pan_handle.cancel()
            self._pan_handle = None
        super().close()
