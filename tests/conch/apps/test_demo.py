"""The widget demo on an in-memory terminal: every widget there, focus order, the text
input feeding the output, selections, the button clearing the canvas, auto-panning,
the scrolled area, resize and Ctrl-C."""
from __future__ import annotations

import asyncio

from conch.apps.screen import Term
from plait.conch.apps.demo import PAN_LIMIT, DemoProtocol

TAB, DOWN, RIGHT = b"\t", b"\x1b[B", b"\x1b[C"


async def demo(width: int = 80, height: int = 24) -> Term:
    t = Term(DemoProtocol, width=width, height=height, pan_interval=None)
    await t.settle()
    return t


async def test_every_widget_is_on_screen() -> None:
    t = await demo()
    text = t.text()
    assert "Clear" in text
    assert "│0 ││200│" in text and "│9 ││209│" in text                 # two selections
    lines = t.lines()
    assert any(line.endswith("│This is a very long string.  This is a") for line in lines)
    assert any(line.endswith("This is a very long string.  This is a v") for line in lines)
    assert "◀" in text and "▶" in text                                   # scrolled area


async def test_input_feeds_output_and_selections_too() -> None:
    t = await demo()
    t.send("hello\r")
    await t.settle()
    assert t.lines()[0].startswith("hello") and t.lines()[0].count("hello") == 2
    t.send(TAB + TAB + DOWN + DOWN + b"\r")                              # first selection
    await t.settle()
    assert t.app.output.text == "2"
    t.send(TAB + DOWN + b"\r")                                           # second selection
    await t.settle()
    assert t.app.output.text == "201"


async def test_canvas_drawing_and_the_button_clears_it() -> None:
    t = await demo()
    t.send(TAB * 4 + b"xy" + DOWN + b"z")
    await t.settle()
    assert t.app.canvas.focused
    assert t.app.canvas[0, 0] == "x" and t.app.canvas[1, 0] == "y" and t.app.canvas[2, 1] == "z"
    assert "│xy" in t.text()
    t.send(b"\x1b[Z" * 3 + b"\r")                                        # back to Clear
    await t.settle()
    assert t.app.canvas[0, 0] == " " and "│xy" not in t.text()


async def test_viewport_pans_back_and_forth() -> None:
    t = await demo()
    offsets = []
    for _ in range(2 * PAN_LIMIT + 2):
        t.app.pan()
        offsets.append(t.app.viewport.x_offset)
    assert offsets[:3] == [1, 2, 3]
    assert max(offsets) == PAN_LIMIT and offsets[-1] < PAN_LIMIT
    await t.settle()
    assert any(line.startswith("│is is a very") or "│" + "This is a very long"[offsets[-1]:]
               in line for line in t.lines())


async def test_pan_timer_runs_and_stops_on_hangup() -> None:
    t = Term(DemoProtocol, width=80, height=24, pan_interval=0.01)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if t.app.viewport.x_offset >= 2:
            break
    assert t.app.viewport.x_offset >= 2
    app = t.app
    t.server.connection_lost(None)
    assert app._pan_handle is None


async def test_scrolled_area_scrolls_with_arrows() -> None:
    t = await demo()
    t.send(TAB * 6)
    await t.settle()
    assert t.app.scrolled.focused
    t.send(RIGHT * 3)
    await t.settle()
    assert t.app.scrolled.viewport.x_offset == 3


async def test_resize_and_ctrl_c() -> None:
    t = await demo()
    t.resize(120, 30)
    await t.settle()
    assert max(len(line) for line in t.lines()) > 80
    t.send(b"\x03")
    assert t.wire.closed
