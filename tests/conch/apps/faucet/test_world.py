"""Faucet's rules without a terminal: movement, things, speech, who sees what, limits."""
from __future__ import annotations

import pytest

from plait.conch.apps.faucet import world as world_module
from plait.conch.apps.faucet.world import (
    MAX_COMMAND,
    MAX_INVENTORY,
    Room,
    Thing,
    World,
    WorldFull,
    default_world,
    shared_world,
)


class Seen:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.changes = 0
        self.quits = 0

    def message(self, text: str) -> None:
        self.messages.append(text)

    def room_changed(self) -> None:
        self.changes += 1

    def quit(self) -> None:
        self.quits += 1


def two() -> tuple[World, Seen, Seen, object, object]:
    world = default_world()
    a, b = Seen(), Seen()
    pa = world.join("ann", a)
    pb = world.join("ben", b)
    return world, a, b, pa, pb


def test_join_announces_and_names_are_unique() -> None:
    world, a, _b, _pa, _pb = two()
    assert a.messages == ["ben appears."]
    again = world.join("ann", Seen())
    assert again.name == "ann#2"
    assert [p.name for p in world.players] == ["ann", "ben", "ann#2"]


def test_movement_is_seen_by_both_rooms() -> None:
    world, a, b, pa, pb = two()
    world.command(pa, "n")
    assert pa.room.key == "garden"
    assert a.messages[-1] == "You go north."
    assert b.messages[-1] == "ann leaves north."
    world.command(pb, "go north")
    assert a.messages[-1] == "ben arrives."
    world.command(pa, "west")
    assert a.messages[-1] == "You can't go west."
    world.command(pa, "go")
    assert a.messages[-1] == "Go where?"


def test_take_drop_inventory_and_objects_pane() -> None:
    world, a, b, pa, pb = two()
    assert world.objects(pa) == ["lamp", "bucket", "ben (player)"]
    world.command(pa, "take la")                      # a prefix is enough
    assert b.messages[-1] == "ann takes the lamp."
    assert world.objects(pb) == ["bucket", "ann (player)"]
    world.command(pa, "i")
    assert a.messages[-1] == "You carry: lamp."
    world.command(pa, "drop lamp")
    assert b.messages[-1] == "ann drops the lamp."
    world.command(pa, "take unicorn")
    assert a.messages[-1] == "There is no unicorn here."
    world.command(pa, "drop unicorn")
    assert a.messages[-1] == "You have no unicorn."
    world.command(pa, "inventory")
    assert a.messages[-1] == "You carry nothing."


def test_say_who_look_help_unknown_quit() -> None:
    world, a, b, pa, pb = two()
    world.command(pa, "say hi ben")
    assert a.messages[-1] == 'You say, "hi ben"' and b.messages[-1] == 'ann says, "hi ben"'
    world.command(pb, "'hello")
    assert a.messages[-1] == 'ben says, "hello"'
    world.command(pa, "who")
    assert a.messages[-1] == "Players here now:\n  ann (The Faucet Hall)\n  ben (The Faucet Hall)"
    world.command(pa, "look lamp")
    assert a.messages[-1] == "A brass lamp, polished and unlit."
    world.command(pa, "look")
    assert a.messages[-1] == "The Faucet Hall"
    assert "Exits: north, east, down" in world.describe(pa)
    world.command(pa, "help")
    assert a.messages[-1].startswith("Commands:")
    world.command(pa, "dance")
    assert a.messages[-1] == "I don't know how to 'dance'. Try 'help'."
    world.command(pa, "   ")
    world.command(pa, "quit")
    assert a.quits == 1


def test_leaving_drops_what_was_carried() -> None:
    world, _a, b, pa, pb = two()
    world.command(pa, "take lamp")
    world.leave(pa)
    assert b.messages[-1] == "ann vanishes."
    assert "lamp" in world.objects(pb)
    world.leave(pa)                                   # twice is harmless
    assert [p.name for p in world.players] == ["ben"]


def test_limits() -> None:
    world, a, _b, pa, _pb = two()
    world.command(pa, "say " + "x" * MAX_COMMAND)
    assert a.messages[-1] == f"That is too long (at most {MAX_COMMAND} characters)."
    pa.room.things.extend(Thing(f"pebble{n}", "a pebble") for n in range(MAX_INVENTORY + 1))
    for n in range(MAX_INVENTORY + 1):
        world.command(pa, f"take pebble{n}")
    assert len(pa.inventory) == MAX_INVENTORY
    assert a.messages[-1] == f"You can't carry more than {MAX_INVENTORY} things."


def test_world_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world_module, "MAX_PLAYERS", 2)
    world, _a, _b, _pa, _pb = two()
    with pytest.raises(WorldFull):
        world.join("cy", Seen())


def test_bad_maps_are_refused() -> None:
    with pytest.raises(ValueError, match="no start room"):
        World([Room("a", "A", "")], "b")
    with pytest.raises(ValueError, match="leads nowhere"):
        World([Room("a", "A", "", {"north": "b"})], "a")


def test_shared_world_is_one_per_process() -> None:
    assert shared_world() is shared_world()
