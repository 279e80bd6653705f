"""Text-interface widgets for insults terminals (Twisted's ``insults.window``, snake_case).

Build a tree under a ``TopWindow``, feed it keys, and let it paint: only the cells that
changed since the last paint are written to the terminal.  Keys reach the focused
widget; ``Tab``/``Shift-Tab`` move the focus; a function key calls
``func_<key.name>(modifier)`` (``func_up_arrow``, ``func_pgdn``, ``func_f1`` ...).
``WindowProtocol`` is a ready ``TerminalProtocol`` that hosts a tree on a terminal.
"""
from __future__ import annotations

from plait.conch.insults.window_base import (
    AbsoluteBox,
    ContainerWidget,
    HBox,
    Key,
    Packer,
    SizeHint,
    TopWindow,
    VBox,
    Widget,
    YieldFocus,
    split_length,
)
from plait.conch.insults.window_protocol import WindowProtocol
from plait.conch.insults.window_screen import Screen
from plait.conch.insults.window_scroll import (
    HorizontalScrollbar,
    ScrolledArea,
    VerticalScrollbar,
    Viewport,
)
from plait.conch.insults.window_surface import Cell, Region, Style, Surface
from plait.conch.insults.window_widgets import (
    Border,
    Button,
    Canvas,
    DrawableCanvas,
    PasswordInput,
    Selection,
    TextInput,
    TextOutput,
    TextOutputArea,
    draw_cursor,
    horizontal_line,
    rectangle,
    vertical_line,
)

__all__ = [
    "AbsoluteBox",
    "Border",
    "Button",
    "Canvas",
    "Cell",
    "ContainerWidget",
    "DrawableCanvas",
    "HBox",
    "HorizontalScrollbar",
    "Key",
    "Packer",
    "PasswordInput",
    "Region",
    "Screen",
    "ScrolledArea",
    "Selection",
    "SizeHint",
    "Style",
    "Surface",
    "TextInput",
    "TextOutput",
    "TextOutputArea",
    "TopWindow",
    "VBox",
    "VerticalScrollbar",
    "Viewport",
    "Widget",
    "WindowProtocol",
    "YieldFocus",
    "draw_cursor",
    "horizontal_line",
    "rectangle",
    "split_length",
    "vertical_line",
]
