"""The widget tree: key dispatch, focus with Tab, repaint scheduling, box layout."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from conch.insults.window_harness import DOWN, SHIFT_TAB, TAB, Harness
from plait.conch.insults import keys
from plait.conch.insults.keys import Modifier
from plait.conch.insults.window import (
    AbsoluteBox,
    HBox,
    Packer,
    SizeHint,
    TextOutput,
    TopWindow,
    VBox,
    Widget,
    YieldFocus,
    split_length,
)
from plait.conch.insults.window_surface import Region


class Probe(Widget):
    """Records the keys it gets and paints its name and size."""

    def __init__(self, name: str, hint: SizeHint = None, focusable: bool = True) -> None:
        self.name = name
        self.hint = hint
        self.focusable = focusable
        self.got: list[object] = []

    def size_hint(self) -> SizeHint:
        return self.hint

    def focus_received(self, backward: bool = False) -> None:
        if not self.focusable:
            raise YieldFocus(backward)
        super().focus_received(backward)

    def character_received(self, key: str, modifier: Modifier) -> None:
        self.got.append(key)

    def backspace_received(self) -> None:
        self.got.append("backspace")

    def func_up_arrow(self, modifier: Modifier) -> None:
        self.got.append(("up", modifier))

    def func_f5(self, modifier: Modifier) -> None:
        self.got.append("f5")

    def render(self, width: int, height: int, painter: Region) -> None:
        painter.fill("." if not self.focused else "#")
        painter.cursor_position(0, 0)
        painter.write(f"{self.name}{width}x{height}"[:width])


def window_with(*children: Widget) -> tuple[TopWindow, list[Callable[[], None]]]:
    scheduled: list[Callable[[], None]] = []
    window = TopWindow(lambda: None, scheduled.append)
    box = VBox()
    for child in children:
        box.add_child(child)
    window.add_child(box)
    return window, scheduled


def focused(*probes: Probe) -> list[str]:
    return [probe.name for probe in probes if probe.focused]


def test_keys_dispatch_to_characters_backspace_and_func_handlers() -> None:
    probe = Probe("p")
    window, _ = window_with(probe)
    window.keystroke_received("x", Modifier.NONE)
    window.keystroke_received("\x7f", Modifier.NONE)
    window.keystroke_received("\x08", Modifier.NONE)
    window.keystroke_received(keys.UP_ARROW, Modifier.CTRL)
    window.keystroke_received(keys.F5, Modifier.NONE)
    window.keystroke_received(keys.F6, Modifier.NONE)  # no func_f6: ignored
    assert probe.got == ["x", "backspace", "backspace", ("up", Modifier.CTRL), "f5"]


def test_tab_moves_focus_forward_skipping_widgets_that_refuse_and_wraps() -> None:
    a, b, c = Probe("a"), Probe("b", focusable=False), Probe("c")
    window, _ = window_with(a, b, c)
    assert focused(a, b, c) == ["a"]
    window.keystroke_received("\t", Modifier.NONE)
    assert focused(a, b, c) == ["c"]
    window.keystroke_received("\t", Modifier.NONE)
    assert focused(a, b, c) == ["a"]
    window.keystroke_received("z", Modifier.NONE)
    assert a.got == ["z"] and c.got == []


def test_shift_tab_moves_focus_backward() -> None:
    a, b, c = Probe("a"), Probe("b"), Probe("c")
    window, _ = window_with(a, b, c)
    window.keystroke_received("\t", Modifier.SHIFT)
    assert focused(a, b, c) == ["c"]
    window.keystroke_received("\t", Modifier.SHIFT)
    assert focused(a, b, c) == ["b"]


def test_focus_walks_into_and_out_of_nested_containers() -> None:
    a, b, c, d = Probe("a"), Probe("b"), Probe("c"), Probe("d")
    inner = HBox()
    inner.add_child(b)
    inner.add_child(c)
    window, _ = window_with(a, inner, d)
    order = [focused(a, b, c, d)]
    for _ in range(4):
        window.keystroke_received("\t", Modifier.NONE)
        order.append(focused(a, b, c, d))
    assert order == [["a"], ["b"], ["c"], ["d"], ["a"]]
    window.keystroke_received("\t", Modifier.SHIFT)  # a -> d
    window.keystroke_received("\t", Modifier.SHIFT)  # d -> c: enters the HBox from its end
    assert focused(a, b, c, d) == ["c"]


def test_nothing_focusable_means_tab_does_nothing() -> None:
    window, _ = window_with(TextOutput(), TextOutput())
    window.keystroke_received("\t", Modifier.NONE)
    window.keystroke_received("x", Modifier.NONE)


def test_removing_the_focused_child_drops_its_focus() -> None:
    a, b = Probe("a"), Probe("b")
    box = VBox()
    box.add_child(a)
    box.add_child(b)
    window = TopWindow(lambda: None, lambda callback: None)
    window.add_child(box)
    box.remove_child(a)
    assert not a.focused and a.parent is None and box.focused_child is None
    with pytest.raises(ValueError):
        box.remove_child(a)
    with pytest.raises(ValueError):
        box.add_child(b)  # already has a parent


def test_repaints_are_coalesced_into_one_scheduled_paint() -> None:
    painted = []
    scheduled: list[Callable[[], None]] = []
    window = TopWindow(lambda: painted.append(1), scheduled.append)
    probe = Probe("p")
    window.add_child(probe)
    probe.repaint()
    probe.repaint()
    assert len(scheduled) == 1
    scheduled.pop()()
    assert painted == [1]
    probe.dirty = False
    window.dirty = False
    probe.repaint()
    assert len(scheduled) == 1


@pytest.mark.parametrize(("length", "wants", "gravity", "expected"), [
    (10, [None, None], 0, [(0, 5), (5, 5)]),
    (11, [None, None], 0, [(0, 6), (6, 5)]),
    (10, [3, None], 0, [(0, 3), (3, 7)]),
    (10, [3, 2], 0, [(0, 3), (3, 2)]),
    (10, [3, 2], 1, [(2, 3), (5, 2)]),
    (10, [3, 2], 2, [(5, 3), (8, 2)]),
    (4, [3, 3], 0, [(0, 3), (3, 1)]),
    (4, [5, None], 0, [(0, 4), (4, 0)]),
])
def test_split_length(length: int, wants: list[int | None], gravity: int,
                      expected: list[tuple[int, int]]) -> None:
    assert split_length(length, wants, gravity) == expected


def test_hbox_and_vbox_lay_out_children_by_size_hint() -> None:
    def build(window: TopWindow) -> None:
        rows = VBox()
        top = HBox()
        top.add_child(Probe("a", (6, None)))
        top.add_child(Probe("b"))
        rows.add_child(top)
        rows.add_child(Probe("c", (None, 2)))
        window.add_child(rows)

    harness = Harness(build, 20, 6)
    assert harness.screen() == [
        "a6x4##b14x4.........",
        "######..............",
        "######..............",
        "######..............",
        "c20x2...............",
        "....................",
    ]


def test_box_size_hint_adds_along_and_takes_the_largest_across() -> None:
    box = HBox()
    box.add_child(Probe("a", (3, 2)))
    box.add_child(Probe("b", (4, 5)))
    assert box.size_hint() == (7, 5)
    box.add_child(Probe("c", (None, 1)))
    assert box.size_hint() == (None, 5)
    column = VBox()
    column.add_child(Probe("a", (3, 2)))
    column.add_child(Probe("b", (4, 5)))
    assert column.size_hint() == (4, 7)


def test_absolute_box_places_children_and_moves_them() -> None:
    a, b = Probe("a", (5, 1), focusable=False), Probe("b", focusable=False)
    box = AbsoluteBox()

    def build(window: TopWindow) -> None:
        box.add_child(a, 2, 1)
        box.add_child(b, 10, 3)
        window.add_child(box)

    harness = Harness(build, 16, 5)
    assert harness.screen() == ["", "  a5x1.", "", "          b6x2..", "          ......"]
    box.move_child(a, 0, 0)
    assert harness.screen()[:2] == ["a5x1.", ""]
    with pytest.raises(ValueError):
        box.move_child(Probe("stranger"), 1, 1)


def test_packer_makes_a_near_square_grid() -> None:
    def build(window: TopWindow) -> None:
        packer = Packer()
        for name in "abcd":
            packer.add_child(Probe(name, focusable=False))
        window.add_child(packer)

    harness = Harness(build, 12, 4)
    assert harness.screen() == ["a6x2..b6x2..", "............", "c6x2..d6x2..", "............"]


def test_resize_re_lays_out_the_whole_tree() -> None:
    def build(window: TopWindow) -> None:
        row = HBox()
        row.add_child(Probe("a", focusable=False))
        row.add_child(Probe("b", focusable=False))
        window.add_child(row)

    harness = Harness(build, 10, 2)
    assert harness.screen() == ["a5x2.b5x2.", ".........."]
    harness.resize(16, 3)
    assert harness.screen() == ["a8x3....b8x3....", "................", "................"]
    harness.resize(6, 1)
    assert harness.screen() == ["a3xb3x"]


def test_keys_arrive_as_bytes_through_the_whole_stack() -> None:
    a, b = Probe("a"), Probe("b")

    def build(window: TopWindow) -> None:
        column = VBox()
        column.add_child(a)
        column.add_child(b)
        window.add_child(column)

    harness = Harness(build, 8, 2)
    assert harness.screen() == ["a8x1####", "b8x1...."]
    harness.send(b"q" + TAB + b"r" + DOWN)
    assert a.got == ["q"] and b.got == ["r"]
    assert harness.screen() == ["a8x1....", "b8x1####"]
    harness.send(SHIFT_TAB)
    assert harness.screen() == ["a8x1####", "b8x1...."]
