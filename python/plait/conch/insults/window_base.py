"""The widget tree: focus, key dispatch, repaint scheduling and box layout.

Twisted's ``insults.window`` ideas in snake_case: a ``Widget`` renders itself into the
rectangle it is given, containers hand rectangles to their children, ``Tab`` moves the
focus (Shift-Tab backwards), and a key ``FunctionKey("up_arrow")`` calls the focused
widget's ``func_up_arrow(modifier)``.  ``TopWindow`` paints the whole tree off screen
and lets ``window_screen.Screen`` send only what changed.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from plait.conch.insults.keys import FunctionKey, Modifier
from plait.conch.insults.terminal import Terminal
from plait.conch.insults.window_screen import Screen
from plait.conch.insults.window_surface import Region, Surface

__all__ = [
    "AbsoluteBox",
    "ContainerWidget",
    "HBox",
    "Key",
    "Packer",
    "SizeHint",
    "TopWindow",
    "VBox",
    "Widget",
    "YieldFocus",
    "split_length",
]

Key = str | FunctionKey
SizeHint = tuple[int | None, int | None] | None

# Bytes that mean "erase the character before the cursor" (DEL and BS).
BACKSPACE_KEYS = ("\x7f", "\x08")


class YieldFocus(Exception):
    """Raised by a widget that will not take (or keep) the focus.

    ``backward`` tells the container which way to look for the next widget.
    """

    def __init__(self, backward: bool = False) -> None:
        super().__init__("backward" if backward else "forward")
        self.backward = backward


class Widget:
    """Something drawn in a rectangle that may take the keyboard focus."""

    focused = False
    parent: Widget | None = None
    dirty = False
    width: int | None = None
    height: int | None = None

    def repaint(self) -> None:
        """Ask for this widget to be drawn again (propagates to the ``TopWindow``)."""
        if not self.dirty:
            self.dirty = True
        if self.parent is not None and not self.parent.dirty:
            self.parent.repaint()

    def filthy(self) -> None:
        """Mark this widget (and, for containers, everything inside) as needing a draw."""
        self.dirty = True

    def redraw(self, width: int, height: int, painter: Region) -> None:
        self.filthy()
        self.draw(width, height, painter)

    def draw(self, width: int, height: int, painter: Region) -> None:
        if width != self.width or height != self.height or self.dirty:
            self.width = width
            self.height = height
            self.dirty = False
            self.render(width, height, painter)

    def render(self, width: int, height: int, painter: Region) -> None:
        """Paint the widget into ``painter`` (a ``width`` x ``height`` region)."""

    def size_hint(self) -> SizeHint:
        """(width, height) this widget wants; None in a dimension means "as much as given"."""
        return None

    # -- input ------------------------------------------------------------------------

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if key == "\t":
            self.tab_received(modifier)
        elif key in BACKSPACE_KEYS:
            self.backspace_received()
        elif isinstance(key, FunctionKey):
            self.function_key_received(key, modifier)
        else:
            self.character_received(key, modifier)

    def paste_received(self, text: str) -> None:
        """Pasted text: by default each printable character, as if typed."""
        for char in text:
            if char.isprintable():
                self.character_received(char, Modifier.NONE)

    def tab_received(self, modifier: Modifier) -> None:
        raise YieldFocus(backward=bool(modifier & Modifier.SHIFT))

    def focus_received(self, backward: bool = False) -> None:
        """The focus arrives (from behind when ``backward``); raise YieldFocus to refuse."""
        self.focused = True
        self.repaint()

    def focus_lost(self) -> None:
        self.focused = False
        self.repaint()

    def backspace_received(self) -> None:
        pass

    def function_key_received(self, key: FunctionKey, modifier: Modifier) -> None:
        """Dispatch ``key`` to ``func_<key.name>(modifier)`` when the widget has one."""
        handler: Callable[[Modifier], Any] | None = getattr(self, "func_" + key.name, None)
        if handler is not None:
            handler(modifier)

    def character_received(self, key: str, modifier: Modifier) -> None:
        pass


class ContainerWidget(Widget):
    """A widget made of others; keys go to the focused child."""

    focused_child: Widget | None = None

    def __init__(self) -> None:
        self.children: list[Widget] = []

    def add_child(self, child: Widget) -> None:
        if child.parent is not None:
            raise ValueError(f"{child!r} already has a parent")
        child.parent = self
        self.children.append(child)
        if self.focused_child is None and self.focused:
            try:
                child.focus_received()
            except YieldFocus:
                pass
            else:
                self.focused_child = child
        self.repaint()

    def remove_child(self, child: Widget) -> None:
        if child.parent is not self:
            raise ValueError(f"{child!r} is not a child of {self!r}")
        if child is self.focused_child:
            child.focus_lost()
            self.focused_child = None
        child.parent = None
        self.children.remove(child)
        self.repaint()

    def filthy(self) -> None:
        for child in self.children:
            child.filthy()
        Widget.filthy(self)

    def render(self, width: int, height: int, painter: Region) -> None:
        for child in self.children:
            child.draw(width, height, painter)

    def change_focus(self, backward: bool = False) -> None:
        """Move the focus to the next child that takes it; YieldFocus when none is left."""
        self.repaint()
        order = self.children[::-1] if backward else self.children
        start = 0
        if self.focused_child is not None:
            previous, self.focused_child = self.focused_child, None
            previous.focus_lost()
            if previous not in order:
                raise YieldFocus(backward)
            start = order.index(previous) + 1
        for child in order[start:]:
            try:
                child.focus_received(backward)
            except YieldFocus:
                continue
            self.focused_child = child
            return
        raise YieldFocus(backward)

    def focus_received(self, backward: bool = False) -> None:
        self.change_focus(backward)
        self.focused = True

    def focus_lost(self) -> None:
        if self.focused_child is not None:
            self.focused_child.focus_lost()
            self.focused_child = None
        Widget.focus_lost(self)

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if self.focused_child is not None:
            try:
                self.focused_child.keystroke_received(key, modifier)
            except YieldFocus as yielded:
                self.change_focus(yielded.backward)
                self.repaint()
        else:
            Widget.keystroke_received(self, key, modifier)

    def paste_received(self, text: str) -> None:
        if self.focused_child is not None:
            self.focused_child.paste_received(text)


Scheduler = Callable[[Callable[[], None]], object]


def _call_soon(callback: Callable[[], None]) -> object:
    return asyncio.get_running_loop().call_soon(callback)


class TopWindow(ContainerWidget):
    """The root of a widget tree: focus wraps around, painting is scheduled.

    ``painter()`` is called (through ``scheduler``, by default ``loop.call_soon``) once
    after any number of ``repaint`` requests; it normally calls
    ``window.draw(width, height, terminal)``.
    """

    focused = True

    def __init__(self, painter: Callable[[], None], scheduler: Scheduler | None = None,
                 *, dec_graphics: bool = True) -> None:
        super().__init__()
        self.painter = painter
        self.scheduler: Scheduler = scheduler or _call_soon
        self.screen = Screen(dec_graphics=dec_graphics)
        self._paint_pending = False

    def repaint(self) -> None:
        if not self._paint_pending:
            self._paint_pending = True
            self.scheduler(self._paint)
        ContainerWidget.repaint(self)

    def _paint(self) -> None:
        self._paint_pending = False
        self.painter()

    def invalidate(self) -> None:
        """The terminal's contents are unknown (resized, or written by someone else):
        the next paint clears it and draws everything."""
        self.screen.invalidate()
        self.repaint()

    def draw(self, width: int, height: int, painter: Terminal | Region) -> None:
        """Lay out and paint the whole tree for a ``width`` x ``height`` terminal, then
        write only the changed cells to ``painter`` (a ``Terminal``)."""
        surface = Surface(max(0, width), max(0, height))
        self.filthy()
        Widget.draw(self, surface.width, surface.height, surface.region())
        if isinstance(painter, Region):
            painter.blit(surface)
        else:
            self.screen.update(surface, painter)

    def change_focus(self, backward: bool = False) -> None:
        try:
            ContainerWidget.change_focus(self, backward)
        except YieldFocus:
            try:
                ContainerWidget.change_focus(self, backward)
            except YieldFocus:
                pass

    def focus_lost(self) -> None:
        """The top window keeps the focus for the whole session."""

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        try:
            ContainerWidget.keystroke_received(self, key, modifier)
        except YieldFocus as yielded:
            self.change_focus(yielded.backward)


class AbsoluteBox(ContainerWidget):
    """Children at fixed positions; each gets its size hint, or the space to the edge."""

    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[int, tuple[int, int]] = {}

    def add_child(self, child: Widget, x: int = 0, y: int = 0) -> None:
        self.positions[id(child)] = (x, y)
        super().add_child(child)

    def remove_child(self, child: Widget) -> None:
        super().remove_child(child)
        self.positions.pop(id(child), None)

    def move_child(self, child: Widget, x: int, y: int) -> None:
        if child.parent is not self:
            raise ValueError(f"{child!r} is not a child of {self!r}")
        self.positions[id(child)] = (x, y)
        self.repaint()

    def render(self, width: int, height: int, painter: Region) -> None:
        for child in self.children:
            x, y = self.positions[id(child)]
            hint = child.size_hint() or (None, None)
            w = width - x if hint[0] is None else min(hint[0], width - x)
            h = height - y if hint[1] is None else min(hint[1], height - y)
            if w > 0 and h > 0:
                child.draw(w, h, painter.region(x, y, w, h))


def split_length(length: int, wants: Sequence[int | None], gravity: int = 0) -> list[tuple[int, int]]:
    """(offset, size) for each want along ``length``: fixed wants first, the rest shared
    evenly by the greedy (None) ones; with no greedy want, spare space goes before the
    first child as ``gravity`` says (0 start, 1 centre, 2 end)."""
    greedy = sum(1 for want in wants if want is None)
    fixed = sum(want for want in wants if want is not None)
    share, extra = divmod(max(0, length - fixed), greedy) if greedy else (0, 0)
    offset = 0 if greedy or fixed >= length else (length - fixed) * gravity // 2
    result = []
    for want in wants:
        if want is None:
            size = share + (1 if extra > 0 else 0)
            extra -= 1
        else:
            size = want
        size = max(0, min(size, length - offset))
        result.append((offset, size))
        offset += size
    return result


class _Box(ContainerWidget):
    """Children side by side along one dimension, each getting all of the other."""

    TOP, CENTER, BOTTOM = 0, 1, 2
    variable_dimension = 0

    def __init__(self, gravity: int = TOP) -> None:
        super().__init__()
        self.gravity = gravity

    def size_hint(self) -> SizeHint:
        along: int | None = 0
        across: int | None = 0
        axis = self.variable_dimension
        for child in self.children:
            hint = child.size_hint() or (None, None)
            mine, other = hint[axis], hint[1 - axis]
            if mine is None:
                along = None
            elif along is not None:
                along += mine
            if other is None:
                across = None
            elif across is not None:
                across = max(across, other)
        return (along, across) if axis == 0 else (across, along)

    def render(self, width: int, height: int, painter: Region) -> None:
        axis = self.variable_dimension
        wants = [(child.size_hint() or (None, None))[axis] for child in self.children]
        length = width if axis == 0 else height
        for child, (offset, size) in zip(self.children, split_length(length, wants, self.gravity)):
            if size <= 0:
                continue
            if axis == 0:
                child.draw(size, height, painter.region(offset, 0, size, height))
            else:
                child.draw(width, size, painter.region(0, offset, width, size))


class HBox(_Box):
    """Children left to right."""

    variable_dimension = 0


class VBox(_Box):
    """Children top to bottom."""

    variable_dimension = 1


class Packer(ContainerWidget):
    """Children in a near-square grid: round(sqrt(n)) columns, filled across then down."""

    def render(self, width: int, height: int, painter: Region) -> None:
        if not self.children:
            return
        columns = max(1, int(len(self.children) ** 0.5 + 0.5))
        groups = [self.children[n::columns] for n in range(columns)]
        groups = [group for group in groups if group]
        for group, (x, w) in zip(groups, split_length(width, [None] * len(groups))):
            wants = [(child.size_hint() or (None, None))[1] for child in group]
            for child, (y, h) in zip(group, split_length(height, wants)):
                if w > 0 and h > 0:
                    child.draw(w, h, painter.region(x, y, w, h))
