"""Surface and Region: the off-screen grid widgets paint into."""
from __future__ import annotations

import pytest

from plait.conch.insults.terminal import (
    BOLD,
    CS_DRAWING,
    CS_US,
    FOREGROUND,
    G0,
    G1,
    GREEN,
    REVERSE_VIDEO,
    UNDERLINE,
)
from plait.conch.insults.window_surface import (
    DEFAULT_STYLE,
    Style,
    Surface,
    apply_sgr,
    char_width,
    sgr_params,
)


def test_writes_are_clipped_to_the_region() -> None:
    surface = Surface(10, 4)
    region = surface.region(2, 1, 4, 2)
    region.cursor_position(2, 0)
    region.write("abcdef")
    region.cursor_position(0, 5)  # clamped to the region's bottom edge: drawn nowhere
    region.write("zz")
    assert surface.lines() == ["", "    ab", "", ""]


def test_sub_regions_nest_and_clip_to_their_parent() -> None:
    surface = Surface(10, 3)
    outer = surface.region(1, 0, 5, 3)
    inner = outer.region(2, 1, 10, 10)
    assert (inner.width, inner.height) == (3, 2)
    inner.write("123456")
    assert surface.lines() == ["", "   123", ""]


def test_newline_returns_to_the_region_edge_and_controls_show_as_question_marks() -> None:
    surface = Surface(10, 3)
    region = surface.region(3, 0)
    region.write("ab\ncd\x1b[2J\tx")
    assert surface.lines() == ["   ab", "   cd?[2J", ""]
    assert surface.cell(9, 1).char == " "  # the tab became a space, the x was clipped


def test_line_drawing_set_and_shift_out_translate_to_box_characters() -> None:
    surface = Surface(6, 1)
    region = surface.region()
    region.select_character_set(CS_DRAWING, G0)
    region.write("lqk")
    region.select_character_set(CS_US, G0)
    region.select_character_set(CS_DRAWING, G1)
    region.write("q")
    region.shift_out()
    region.write("x")
    region.shift_in()
    region.write("x")
    assert surface.lines() == ["\u250c\u2500\u2510q\u2502x"]
    with pytest.raises(ValueError):
        region.select_character_set(CS_US, 2)


def test_sgr_is_applied_to_the_cells_and_saved_with_the_cursor() -> None:
    surface = Surface(8, 1)
    region = surface.region()
    region.select_graphic_rendition(BOLD, FOREGROUND + GREEN)
    region.save_cursor()
    region.select_graphic_rendition(REVERSE_VIDEO)
    region.write("r")
    region.restore_cursor()  # back to (0, 0), bold green
    region.cursor_forward()
    region.write("g")
    assert surface.cell(0, 0) == ("r", Style(bold=True, reverse=True, fg=GREEN))
    assert surface.cell(1, 0) == ("g", Style(bold=True, fg=GREEN))


@pytest.mark.parametrize(("params", "expected"), [
    ((), DEFAULT_STYLE),
    ((0,), DEFAULT_STYLE),
    ((1, 4, 31, 42), Style(bold=True, underline=True, fg=1, bg=2)),
    ((91, 104), Style(fg=9, bg=12)),
    ((38, 5, 200, 48, 2, 10, 20, 30), Style(fg=200, bg=(10, 20, 30))),
    ((1, 22), DEFAULT_STYLE),
    ((7, 27, 3, 23, 5, 25, 8, 28, 2), Style(dim=True)),
    ((31, 39, 41, 49), DEFAULT_STYLE),
    ((38, 5), DEFAULT_STYLE),  # truncated: ignored, never raises
    ((38, 2, 1, 2), DEFAULT_STYLE),
])
def test_apply_sgr(params: tuple[int, ...], expected: Style) -> None:
    assert apply_sgr(DEFAULT_STYLE, params) == expected


@pytest.mark.parametrize("style", [
    DEFAULT_STYLE, Style(bold=True, underline=True), Style(fg=3, bg=7), Style(fg=11, bg=9),
    Style(fg=123, bg=(1, 2, 3), reverse=True, italic=True, blink=True, invisible=True, dim=True),
])
def test_sgr_params_round_trip(style: Style) -> None:
    assert apply_sgr(Style(bold=True, fg=5), sgr_params(style)) == style


def test_wide_characters_take_two_cells_and_are_repaired_when_cut() -> None:
    assert (char_width("a"), char_width("\u4e2d"), char_width("\u0301")) == (1, 2, 0)
    surface = Surface(6, 1)
    region = surface.region()
    region.write("\u4e2da\u0301b")
    assert [c.char for c in surface.rows[0][:4]] == ["\u4e2d", "", "a", "b"]
    region.cursor_position(1, 0)
    region.write("x")  # overwrites the right half: the left half becomes a space
    assert [c.char for c in surface.rows[0][:2]] == [" ", "x"]
    region.cursor_position(5, 0)
    region.write("\u4e2d")  # does not fit in the last column: a space instead
    assert surface.cell(5, 0).char == " "


def test_blit_copies_a_window_of_another_surface() -> None:
    source = Surface(5, 3)
    source.region().write("abcde\nfghij\nklmno")
    target = Surface(4, 3)
    target.region(1, 1, 3, 2).blit(source, 2, 1)
    assert target.lines() == ["", " hij", " mno"]


def test_fill_and_erase() -> None:
    surface = Surface(4, 2)
    region = surface.region()
    region.select_graphic_rendition(UNDERLINE)
    region.fill("-")
    assert surface.lines() == ["----", "----"]
    region.cursor_position(2, 0)
    region.erase_to_line_end()
    region.cursor_position(0, 1)
    region.erase_line()
    assert surface.lines() == ["--", ""]
    region.erase_display()
    assert surface.lines() == ["", ""]


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        Surface(-1, 3)
