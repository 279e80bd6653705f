"""The Faucet screen: three panes, commands typed into the input line, other players'
actions arriving while typing, resize, and leaving the world on hang-up."""
from __future__ import annotations

from conch.apps.screen import Term
from plait.conch.apps.faucet import game as game_module
from plait.conch.apps.faucet.game import FaucetProtocol
from plait.conch.apps.faucet.world import default_world


async def test_panes_commands_and_other_players() -> None:
    world = default_world()
    ann = Term(FaucetProtocol, "ann", world, width=80, height=24)
    ben = Term(FaucetProtocol, "ben", world, width=80, height=24)
    await ann.settle()
    await ben.settle()
    top = ann.lines()[1]
    assert top.startswith("│The Faucet Hall") and "│Here:" in top
    assert "ben (player)" in ann.text()
    ben.send("tak")                                   # half typed when ann acts
    ann.send("take lamp\r")
    await ann.settle()
    await ben.settle()
    screen = ben.lines()
    assert any("ann takes the lamp." in line for line in screen)
    assert not any("lamp" in line[54:] for line in screen[:11])      # objects pane
    assert screen[-2].startswith("│tak")                             # input kept
    ben.send("e bucket\r")
    await ben.settle()
    assert any("You take the bucket." in line for line in ben.lines())
    assert ben.lines()[-2].strip("│ ") == ""                      # input cleared


async def test_resize_relayouts_and_hangup_leaves() -> None:
    world = default_world()
    ann = Term(FaucetProtocol, "ann", world, width=80, height=24)
    await ann.settle()
    ann.resize(100, 30)
    await ann.settle()
    assert len(ann.lines()[0]) == 100 and len(ann.lines()) == 30
    ann.server.connection_lost(None)
    assert world.players == []


async def test_quit_closes_and_output_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(game_module, "MAX_OUTPUT_LINES", 5)
    world = default_world()
    ann = Term(FaucetProtocol, "ann", world, width=80, height=24)
    for n in range(10):
        ann.send(f"say {n}\r")
    assert len(ann.app.lines) == 5
    ann.send("quit\r")
    await ann.settle()
    assert ann.wire.closed


async def test_ctrl_c_leaves() -> None:
    world = default_world()
    ann = Term(FaucetProtocol, "ann", world, width=80, height=24)
    ann.send(b"\x03")
    assert ann.wire.closed
    ann.server.connection_lost(None)
    assert world.players == []
