"""Leaf widgets, driven with key bytes and checked on the native screen buffer."""
from __future__ import annotations

import pytest

from conch.insults.window_harness import (
    BACKSPACE,
    DELETE,
    DOWN,
    END,
    ENTER,
    HOME,
    LEFT,
    PGDN,
    PGUP,
    RIGHT,
    TAB,
    UP,
    Harness,
    recorded,
)
from plait.conch.insults.terminal import RED
from plait.conch.insults.window import (
    Border,
    Button,
    Canvas,
    DrawableCanvas,
    PasswordInput,
    Selection,
    TextInput,
    TextOutput,
    TextOutputArea,
    TopWindow,
    VBox,
    Widget,
)


def single(widget: Widget, width: int = 20, height: int = 5) -> Harness:
    return Harness(lambda window: window.add_child(widget), width, height)


def column(*widgets: Widget, width: int = 20, height: int = 6) -> Harness:
    def build(window: TopWindow) -> None:
        box = VBox()
        for widget in widgets:
            box.add_child(widget)
        window.add_child(box)

    return Harness(build, width, height)


# -- TextInput ---------------------------------------------------------------------------


def test_typing_into_a_text_input_and_submitting() -> None:
    submitted: list[str] = []
    text = TextInput(10, submitted.append)
    harness = single(text)
    harness.send("hello")
    assert harness.screen()[0] == "hello"
    cursor = harness.buffer.cell(5, 0)
    assert cursor.reverse and not harness.buffer.cell(4, 0).reverse
    harness.send(ENTER)
    assert submitted == ["hello"]


def test_text_input_editing_keys() -> None:
    text = TextInput(10, lambda _: None)
    harness = single(text)
    harness.send(b"abcd" + LEFT + LEFT + b"X" + HOME + b"<" + END + b">" + BACKSPACE)
    assert text.buffer == "<abXcd" and text.cursor == 6
    harness.send(HOME + RIGHT + DELETE)
    assert text.buffer == "<bXcd"
    assert harness.screen()[0] == "<bXcd"
    assert harness.buffer.cell(1, 0).reverse  # the cursor sits on "b"


def test_text_input_stops_at_max_width_and_ignores_controls() -> None:
    text = TextInput(4, lambda _: None)
    harness = single(text)
    harness.send(b"ab\x01cdef")
    assert text.buffer == "abcd"
    harness.send(b"\x1b[200~x\ny\x1b[201~")  # a paste cannot overflow either
    assert text.buffer == "abcd"


def test_pasting_into_a_text_input_turns_newlines_into_spaces() -> None:
    text = TextInput(20, lambda _: None)
    harness = single(text)
    harness.send(b"\x1b[200~two\r\nlines\x1b[201~")
    assert text.buffer == "two lines"


def test_unfocused_text_input_shows_underscores() -> None:
    first = TextInput(6, lambda _: None)
    second = TextInput(6, lambda _: None)
    first.set_text("hi")
    harness = column(first, second)
    assert harness.screen()[:2] == ["hi", "______"]
    harness.send(TAB)
    assert harness.screen()[:2] == ["hi____", ""]


def test_text_input_scrolls_sideways_in_a_narrow_space() -> None:
    text = TextInput(30, lambda _: None)
    harness = single(text, width=8, height=1)
    harness.send("abcdefghijkl")
    assert harness.screen() == ["fghijkl"]
    assert harness.buffer.cell(7, 0).reverse
    harness.send(HOME)
    assert harness.screen() == ["abcdefgh"]


def test_password_input_shows_stars() -> None:
    submitted: list[str] = []
    secret = PasswordInput(10, submitted.append)
    harness = single(secret)
    harness.send(b"s3cret" + ENTER)
    assert harness.screen()[0] == "******"
    assert submitted == ["s3cret"]
    assert "s3cret" not in "".join(harness.screen())


def test_text_input_needs_a_positive_width() -> None:
    with pytest.raises(ValueError):
        TextInput(0, lambda _: None)


# -- Button ------------------------------------------------------------------------------


def test_button_activation_with_enter_and_space_and_bold_when_focused() -> None:
    pressed: list[str] = []
    ok = Button("OK", lambda: pressed.append("ok"))
    cancel = Button("Cancel", lambda: pressed.append("cancel"))
    harness = column(ok, cancel)
    assert harness.screen()[:2] == ["OK", "Cancel"]
    assert harness.buffer.cell(0, 0).bold and not harness.buffer.cell(0, 1).bold
    harness.send(ENTER + TAB + b" " + b"x")
    assert pressed == ["ok", "cancel"]
    harness.screen()
    assert harness.buffer.cell(0, 1).bold and not harness.buffer.cell(0, 0).bold


# -- Selection ---------------------------------------------------------------------------


def test_selection_moves_with_arrows_and_selects_with_enter() -> None:
    chosen: list[str] = []
    menu = Selection(["alpha", "beta", "gamma"], chosen.append)
    harness = single(menu, width=10, height=3)
    assert harness.screen() == ["alpha", "beta", "gamma"]
    assert harness.buffer.cell(0, 0).reverse and harness.buffer.cell(9, 0).reverse
    harness.send(DOWN + DOWN + DOWN)  # stops at the last item
    harness.screen()
    assert harness.buffer.cell(0, 2).reverse and not harness.buffer.cell(0, 0).reverse
    assert harness.buffer.cell(0, 2).bold  # focused
    harness.send(UP + ENTER)
    assert chosen == ["beta"]


def test_selection_scrolls_and_pages() -> None:
    items = [f"item{n}" for n in range(10)]
    chosen: list[str] = []
    menu = Selection(items, chosen.append)
    harness = single(menu, width=8, height=3)
    assert harness.screen() == ["item0", "item1", "item2"]
    harness.send(DOWN * 4)
    assert harness.screen() == ["item2", "item3", "item4"]
    assert harness.buffer.cell(0, 2).reverse
    harness.send(PGUP)  # to the top of the page
    assert menu.focused_index == 2
    harness.send(PGUP)  # a page up
    assert harness.screen() == ["item0", "item1", "item2"]
    harness.send(PGDN)  # to the bottom of the page
    assert menu.focused_index == 2
    harness.send(PGDN)
    assert menu.focused_index == 5
    harness.send(END)
    assert harness.screen() == ["item7", "item8", "item9"]
    harness.send(HOME + ENTER)
    assert chosen == ["item0"]


def test_unfocused_selection_is_reverse_but_not_bold() -> None:
    first = Button("b", lambda: None)
    menu = Selection(["one", "two"], lambda _: None, min_visible=2)
    assert menu.size_hint() == (3, 2)
    harness = column(first, menu)
    harness.screen()
    assert harness.buffer.cell(0, 1).reverse and not harness.buffer.cell(0, 1).bold


def test_selection_survives_its_sequence_shrinking() -> None:
    chosen: list[str] = []
    items = ["a", "b", "c", "d"]
    menu = Selection(items, chosen.append)
    harness = single(menu, width=4, height=4)
    harness.send(END)
    assert harness.screen() == ["a", "b", "c", "d"]
    del items[2:]
    menu.repaint()
    assert harness.screen() == ["a", "b", "", ""]
    assert harness.buffer.cell(0, 1).reverse
    harness.send(ENTER)
    assert chosen == ["b"]


def test_empty_selection_does_nothing() -> None:
    chosen: list[str] = []
    harness = single(Selection([], chosen.append))
    harness.send(DOWN + UP + ENTER)
    assert chosen == []


# -- TextOutput / TextOutputArea ------------------------------------------------------------


def test_text_output_shows_one_line_and_refuses_focus() -> None:
    out = TextOutput((None, 1))
    entry = TextInput(5, out.set_text)
    harness = column(out, entry)
    harness.send(b"hey" + ENTER)
    assert harness.screen()[0] == "hey"
    assert entry.focused and not out.focused
    out.set_text("first\nsecond")
    assert harness.screen()[:2] == ["first", "hey"]


def test_text_output_area_wraps_at_words() -> None:
    area = TextOutputArea()
    area.set_text("the quick brown fox jumps over\nthe lazy dog")
    harness = single(area, width=10, height=5)
    assert harness.screen() == ["the quick", "brown fox", "jumps over", "the lazy", "dog"]


def test_text_output_area_truncates() -> None:
    area = TextOutputArea(long_lines=TextOutputArea.TRUNCATE)
    area.set_text("the quick brown fox jumps over\nthe lazy dog\n\nend")
    harness = single(area, width=10, height=5)
    assert harness.screen() == ["the quick", "the lazy d", "", "end", ""]


@pytest.mark.parametrize("long_lines", [TextOutputArea.WRAP, TextOutputArea.TRUNCATE])
def test_text_output_area_tail_shows_the_last_lines(long_lines: int) -> None:
    area = TextOutputArea(long_lines=long_lines, tail=True)
    area.set_text("\n".join(f"line {n}" for n in range(50)) + "\nthe very last words")
    harness = single(area, width=10, height=3)
    if long_lines == TextOutputArea.WRAP:
        assert harness.screen() == ["line 49", "the very", "last words"]
    else:
        assert harness.screen() == ["line 48", "line 49", "the very l"]
    area.set_text("one")
    assert harness.screen() == ["one", "", ""]


def test_text_output_area_keeps_to_its_height_and_shows_no_controls() -> None:
    area = TextOutputArea()
    area.set_text("\n".join(f"line {n}\x1b[2J" for n in range(20)))
    harness = single(area, width=12, height=3)
    assert harness.screen() == ["line 0?[2J", "line 1?[2J", "line 2?[2J"]


def test_text_output_area_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError):
        TextOutputArea(long_lines=7)


# -- Border ------------------------------------------------------------------------------


def test_border_draws_line_drawing_characters_and_turns_red_with_focus() -> None:
    entry = TextInput(6, lambda _: None)
    other = Button("go", lambda: None)
    harness = column(Border(entry), other, width=9, height=4)
    screen = harness.screen()
    assert screen[:3] == ["\u250c" + "\u2500" * 7 + "\u2510",
                          "\u2502" + " " * 7 + "\u2502",
                          "\u2514" + "\u2500" * 7 + "\u2518"]
    assert b"\x1b(0" in harness.last_output  # drawn with the DEC line-drawing set
    assert harness.buffer.cell(0, 0).fg == RED
    harness.send(TAB)
    harness.screen()
    assert harness.buffer.cell(0, 0).fg is None
    assert harness.screen()[1] == "\u2502______ \u2502"


def test_border_size_hint_adds_the_frame() -> None:
    assert Border(TextInput(6, lambda _: None)).size_hint() == (9, 3)
    assert Border(TextOutputArea()).size_hint() == (None, None)


def test_border_passes_keys_and_paste_to_the_inside() -> None:
    entry = TextInput(10, lambda _: None)
    harness = single(Border(entry), width=14, height=3)
    harness.send(b"ab\x1b[200~cd\x1b[201~")
    assert entry.buffer == "abcd"
    assert harness.screen()[1] == "\u2502abcd" + " " * 8 + "\u2502"


# -- Canvas ------------------------------------------------------------------------------


def test_canvas_shows_what_the_program_sets() -> None:
    canvas = Canvas()
    harness = single(canvas, width=6, height=3)
    harness.screen()
    assert canvas.size == (6, 3)
    canvas[2, 1] = "*"
    canvas[5, 2] = "#"
    assert harness.screen() == ["", "  *", "     #"]
    assert canvas[2, 1] == "*"
    with pytest.raises(IndexError):
        canvas[6, 0] = "x"
    with pytest.raises(ValueError):
        canvas[0, 0] = "\x1b"
    canvas.clear()
    assert harness.screen() == ["", "", ""]


def test_canvas_keeps_its_contents_when_resized() -> None:
    canvas = Canvas()
    canvas.resize(4, 2)
    canvas[3, 1] = "z"
    canvas.resize(6, 3)
    assert canvas[3, 1] == "z"
    canvas.resize(2, 2)
    with pytest.raises(IndexError):
        canvas[3, 1]


def test_drawable_canvas_draws_where_the_arrows_go() -> None:
    canvas = DrawableCanvas()
    harness = single(canvas, width=6, height=3)
    harness.screen()  # the canvas takes its size when first drawn
    harness.send(b"ab" + DOWN + b"c" + LEFT * 5 + UP + b"d")  # left wraps round
    assert harness.screen() == ["ab  d", "  c", ""]
    assert harness.buffer.cell(5, 0).reverse  # the drawing position
    harness.send(b"e" + UP + b"f\r")  # right and up wrap round too; Enter draws nothing
    assert harness.screen() == ["ab  de", "  c", "f"]
    assert harness.buffer.cell(1, 2).reverse


def test_only_the_changed_cells_are_sent_when_typing() -> None:
    entry = TextInput(10, lambda _: None)
    harness = single(entry)
    harness.send("abc")
    harness.settle()
    harness.send("d")
    calls = recorded(harness.settle())
    # "d" replaces the cursor cell, and the cursor moves one cell right
    assert calls.text() == "d "
    assert [name for name in calls.names() if name in ("write", "cursor_position")] == [
        "cursor_position", "write", "write"]
