"""Powerups: stored and in-memory, priorities, item targets, interface names."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from plait.axiom.attributes import text
from plait.axiom.item import Item
from plait.axiom.powerup import interface_name, powerup_for
from plait.axiom.store import Store


class IGreeter(Protocol):
    def greet(self) -> str: ...


class IOther(Protocol):
    pass


class Greeter(Item):
    type_name = "core_powerup_greeter"
    word = text()

    def greet(self) -> str:
        return self.word


def test_power_up_persists_by_priority(tmp_path: Path) -> None:
    s = Store(tmp_path / "st")
    low = Greeter(store=s, word="low")
    high = Greeter(store=s, word="high")
    s.power_up(low, IGreeter, priority=1)
    s.power_up(high, IGreeter, priority=10)
    s.power_up(low, IOther)
    assert [g.word for g in s.powerups_for(IGreeter)] == ["high", "low"]
    assert powerup_for(s, IGreeter) is high
    s.close()
    with Store(tmp_path / "st") as s2:
        assert [g.greet() for g in s2.powerups_for(IGreeter)] == ["high", "low"]
        first = powerup_for(s2, IGreeter)
        assert s2.interfaces_for(s2.get_item_by_id(low.store_id)) == [IGreeter, IOther]
        assert s2.interfaces_for(first) == [IGreeter]


def test_power_down_and_reinstall() -> None:
    s = Store()
    g = Greeter(store=s, word="x")
    s.power_up(g, IGreeter)
    s.power_up(g, IGreeter, priority=5)  # again: just the priority changes
    assert list(s.powerups_for(IGreeter)) == [g]
    s.power_down(g, IGreeter)
    assert list(s.powerups_for(IGreeter)) == []
    assert powerup_for(s, IGreeter, default="none") == "none"
    with pytest.raises(ValueError, match="not a powerup"):
        s.power_down(g, IGreeter)


def test_deleting_the_powerup_item_removes_the_installation() -> None:
    s = Store()
    g = Greeter(store=s, word="x")
    s.power_up(g, IGreeter)
    g.delete_from_store()
    assert list(s.powerups_for(IGreeter)) == []


def test_in_memory_powerups_mix_by_priority() -> None:
    s = Store()
    stored = Greeter(store=s, word="stored")
    s.power_up(stored, IGreeter, priority=5)
    s.in_memory_power_up("memory-high", IGreeter, priority=10)
    s.in_memory_power_up("memory-low", IGreeter)
    assert list(s.powerups_for(IGreeter)) == ["memory-high", stored, "memory-low"]
    assert powerup_for(s, IGreeter) == "memory-high"


def test_item_targets() -> None:
    from plait.axiom import powerup

    s = Store()
    owner = Greeter(store=s, word="owner")
    helper = Greeter(store=s, word="helper")
    powerup.power_up(owner, helper, IGreeter)
    assert list(powerup.powerups_for(owner, IGreeter)) == [helper]
    assert list(s.powerups_for(IGreeter)) == []
    assert powerup.interfaces_for(owner, helper) == [IGreeter]
    with pytest.raises(ValueError, match="not in"):
        s.power_up(Greeter(word="loose"), IGreeter)


def test_interface_names() -> None:
    assert interface_name(IGreeter) == f"{__name__}.IGreeter"
    s = Store()
    g = Greeter(store=s)
    s.power_up(g, "some.unimportable.IThing")
    assert s.interfaces_for(g) == ["some.unimportable.IThing"]
