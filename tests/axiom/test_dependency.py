"""Declared powerups and dependencies: install_on, uninstall_from, and what is installed."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from plait.axiom.attributes import integer, text
from plait.axiom.dependency import (
    DependencyError,
    dependencies_of,
    depends_on,
    install_on,
    installed_dependents,
    installed_on,
    installed_requirements,
    installed_unique_requirements,
    powerup_interfaces_of,
    uninstall_from,
)
from plait.axiom.item import Item
from plait.axiom.powerup import powerup_for
from plait.axiom.store import Store


class IBreadSource(Protocol):
    def bread(self) -> str: ...


class IToaster(Protocol):
    def toast(self) -> str: ...


class IKitchen(Protocol):
    def cook(self) -> str: ...


class Bakery(Item):
    type_name = "test_dep_bakery"
    powerup_interfaces = [IBreadSource]
    loaves = integer(default=0)

    def bread(self) -> str:
        return "loaf"


class PowerStrip(Item):
    type_name = "test_dep_power_strip"
    voltage = integer(default=230)


class Toaster(Item):
    type_name = "test_dep_toaster"
    powerup_interfaces = [(IToaster, 5)]
    bakery = depends_on(Bakery)
    power = depends_on(PowerStrip, lambda strip: setattr(strip, "voltage", 110))
    installs = integer(default=0)
    uninstalls = integer(default=0)

    def toast(self) -> str:
        return f"toasted {self.bakery.bread()} at {self.power.voltage}V"

    def installed(self) -> None:
        self.installs += 1

    def uninstalled(self) -> None:
        self.uninstalls += 1


class Kitchen(Item):
    type_name = "test_dep_kitchen"
    powerup_interfaces = [IKitchen, (IToaster, 1)]
    toaster = depends_on(Toaster)
    name = text(default="")

    def cook(self) -> str:
        return "dinner"

    def toast(self) -> str:
        return "kitchen toast"


def test_declarations_are_collected() -> None:
    deps = dependencies_of(Toaster)
    assert [(name, t) for name, t, _c in deps] == [("bakery", Bakery), ("power", PowerStrip)]
    assert dependencies_of(Bakery) == []
    assert powerup_interfaces_of(Kitchen()) == [(IKitchen, 0), (IToaster, 1)]
    with pytest.raises(TypeError):
        depends_on(int)  # type: ignore[arg-type]


def test_install_creates_dependencies_first_and_powers_up() -> None:
    s = Store()
    toaster = Toaster(store=s)
    install_on(toaster, s)
    assert isinstance(toaster.bakery, Bakery) and isinstance(toaster.power, PowerStrip)
    assert toaster.power.voltage == 110  # the customizer ran
    assert installed_on(toaster) is s
    assert installed_on(toaster.bakery) is s
    assert powerup_for(s, IToaster) is toaster
    assert powerup_for(s, IBreadSource) is toaster.bakery
    assert toaster.toast() == "toasted loaf at 110V"
    assert set(installed_requirements(toaster, s)) == {toaster.bakery, toaster.power}
    assert installed_dependents(toaster.bakery, s) == [toaster]
    assert toaster.installs == 1


def test_install_reuses_an_installed_dependency() -> None:
    s = Store()
    bakery = Bakery(store=s, loaves=3)
    install_on(bakery, s)
    toaster = Toaster(store=s)
    install_on(toaster, s)
    assert toaster.bakery is bakery
    assert s.query(Bakery).count() == 1


def test_install_uses_a_dependency_set_by_hand() -> None:
    s = Store()
    mine = Bakery(store=s, loaves=7)
    toaster = Toaster(store=s, bakery=mine)
    install_on(toaster, s)
    assert toaster.bakery is mine
    assert installed_on(mine) is s


def test_transitive_dependencies_and_priorities() -> None:
    s = Store()
    kitchen = Kitchen(store=s)
    install_on(kitchen, s)
    toaster = kitchen.toaster
    assert isinstance(toaster, Toaster) and isinstance(toaster.bakery, Bakery)
    # Toaster powers up IToaster at priority 5, the kitchen at 1: the toaster wins
    assert list(s.powerups_for(IToaster)) == [toaster, kitchen]
    assert powerup_for(s, IKitchen) is kitchen


def test_install_twice_is_an_error() -> None:
    s = Store()
    toaster = Toaster(store=s)
    install_on(toaster, s)
    with pytest.raises(DependencyError, match="already installed"):
        install_on(toaster, s)


def test_second_instance_of_a_dependency_type_is_refused() -> None:
    s = Store()
    install_on(Toaster(store=s), s)  # installs a Bakery
    with pytest.raises(DependencyError, match="already installed"):
        install_on(Bakery(store=s), s)


def test_uninstall_removes_unneeded_dependencies() -> None:
    s = Store()
    toaster = Toaster(store=s)
    install_on(toaster, s)
    bakery, strip = toaster.bakery, toaster.power
    uninstall_from(toaster, s)
    assert installed_on(toaster) is None
    assert installed_on(bakery) is None and installed_on(strip) is None
    assert powerup_for(s, IToaster) is None
    assert powerup_for(s, IBreadSource) is None
    assert toaster.uninstalls == 1
    # the items themselves stay in the store; they are only uninstalled
    assert s.query(Bakery).count() == 1


def test_uninstall_keeps_explicitly_installed_and_shared_dependencies() -> None:
    s = Store()
    bakery = Bakery(store=s)
    install_on(bakery, s)
    toaster = Toaster(store=s)
    install_on(toaster, s)
    assert set(installed_unique_requirements(toaster, s)) == {bakery, toaster.power}
    uninstall_from(toaster, s)
    assert installed_on(bakery) is s  # pinned by its own install_on
    assert powerup_for(s, IBreadSource) is bakery


def test_uninstall_refuses_while_something_depends_on_it() -> None:
    s = Store()
    toaster = Toaster(store=s)
    install_on(toaster, s)
    with pytest.raises(DependencyError, match="depend"):
        uninstall_from(toaster.bakery, s)
    assert installed_on(toaster.bakery) is s
    with pytest.raises(DependencyError, match="not installed"):
        uninstall_from(Bakery(store=s), s)


def test_items_from_another_store_are_refused() -> None:
    s, other = Store(), Store()
    with pytest.raises(DependencyError, match="different stores"):
        install_on(Toaster(store=other), s)
    with pytest.raises(DependencyError, match="not in a store"):
        install_on(Toaster(), s)


def test_a_failed_install_changes_nothing() -> None:
    class Broken(Item):
        type_name = "test_dep_broken"
        powerup_interfaces = [IKitchen]
        bakery = depends_on(Bakery)

        def installed(self) -> None:
            raise RuntimeError("boom")

    s = Store()
    broken = Broken(store=s)
    with pytest.raises(RuntimeError, match="boom"):
        install_on(broken, s)
    assert installed_on(broken) is None
    assert powerup_for(s, IKitchen) is None
    assert powerup_for(s, IBreadSource) is None


def test_installs_persist(tmp_path: Path) -> None:
    s = Store(tmp_path / "site")
    toaster = Toaster(store=s)
    install_on(toaster, s)
    toaster_id, bakery_id = toaster.store_id, toaster.bakery.store_id
    s.close()
    s = Store(tmp_path / "site")
    try:
        toaster = s.get_item_by_id(toaster_id)
        assert installed_on(toaster) is s
        assert toaster.bakery.store_id == bakery_id
        assert powerup_for(s, IToaster) is toaster
        uninstall_from(toaster, s)
        assert powerup_for(s, IBreadSource) is None
    finally:
        s.close()


def test_install_on_an_item() -> None:
    s = Store()
    kitchen = Kitchen(store=s)
    toaster = Toaster(store=s)
    install_on(toaster, kitchen)
    assert installed_on(toaster) is kitchen
    assert installed_on(toaster.bakery) is kitchen
    assert powerup_for(kitchen, IToaster) is toaster
    assert powerup_for(kitchen, IBreadSource) is toaster.bakery
    assert powerup_for(s, IToaster) is None
    # a Bakery may still be installed on the store itself: another target
    install_on(Bakery(store=s), s)
    uninstall_from(toaster, kitchen)
    assert powerup_for(kitchen, IBreadSource) is None
    assert installed_on(toaster) is None


def test_deleting_the_target_item_forgets_installs() -> None:
    s = Store()
    kitchen = Kitchen(store=s)
    bakery = Bakery(store=s)
    install_on(bakery, kitchen)
    kitchen.delete_from_store()
    assert installed_on(bakery) is None
