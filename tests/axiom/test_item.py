"""Item classes: registry, defaults, hooks, identity, Placeholder, legacy declarations."""
from __future__ import annotations

import gc
from typing import Any

import pytest

from plait.axiom.attributes import inmemory, integer, reference, text
from plait.axiom.errors import AxiomError
from plait.axiom.item import Item, Placeholder, declare_legacy_item, item_class
from plait.axiom.store import Store

EVENTS: list[tuple[str, Any]] = []


class Hooked(Item):
    type_name = "core_item_hooked"
    name = text()
    state = inmemory()

    def stored(self) -> None:
        EVENTS.append(("stored", self.store_id))

    def deleted(self) -> None:
        EVENTS.append(("deleted", self.store_id))

    def activate(self) -> None:
        self.state = "active"
        EVENTS.append(("activate", self.name))


class Base(Item):
    type_name = "core_item_base"
    name = text()


class Derived(Base):
    type_name = "core_item_derived"
    extra = integer(default=1)


class Defaulted(Item):
    name = text()


def test_type_name_defaults_to_module_and_class() -> None:
    assert Defaulted.type_name == f"{__name__}.Defaulted".lower()
    assert Defaulted.schema_version == 1
    assert item_class(Defaulted.type_name, 1) is Defaulted


def test_table_name_is_sanitised() -> None:
    assert Defaulted.__table_name__ == (
        "item_" + f"{__name__}.defaulted".lower().replace(".", "_") + "_v1")


def test_duplicate_type_name_and_version_is_an_error() -> None:
    with pytest.raises(AxiomError, match="already defined"):
        class Again(Item):
            type_name = "core_item_hooked"


def test_a_dead_redefinition_may_be_replaced() -> None:
    def define() -> type[Item]:
        class Temp(Item):
            type_name = "core_item_temp"
        return Temp

    first = define()
    del first
    gc.collect()
    assert define().type_name == "core_item_temp"


def test_reserved_names() -> None:
    with pytest.raises(TypeError, match="reserved"):
        class Bad(Item):
            type_name = "core_item_bad"
            store_id = integer()  # type: ignore[assignment]


def test_hooks() -> None:
    EVENTS.clear()
    s = Store()
    item = Hooked(store=s, name="x")
    assert EVENTS == [("stored", item.store_id), ("activate", "x")]
    assert item.state == "active"
    oid = item.store_id
    del item
    gc.collect()
    EVENTS.clear()
    again = s.get_item_by_id(oid)
    assert again.state == "active" and EVENTS == [("activate", "x")]
    EVENTS.clear()
    again.delete_from_store()
    assert EVENTS == [("deleted", oid)]
    assert again.store is None and again.store_id is None


def test_unstored_item() -> None:
    item = Hooked(name="free")
    assert item.store is None and item.store_id is None
    item.name = "changed"
    with pytest.raises(AxiomError, match="not in a store"):
        item.delete_from_store()


def test_subclass_has_its_own_table_and_attributes() -> None:
    s = Store()
    b = Base(store=s, name="b")
    d = Derived(store=s, name="d")
    assert list(s.query(Base)) == [b]
    assert list(s.query(Derived, Derived.name == "d")) == [d]
    assert Derived.name is not Base.name and Derived.name.owner is Derived
    assert Derived.__table_name__ != Base.__table_name__


def test_placeholder_exposes_bound_columns() -> None:
    p = Placeholder(Base)
    assert p.name.source is p and p.name.name == "name"
    assert p.store_id.source is p
    with pytest.raises(AttributeError):
        p.nothing  # noqa: B018
    assert repr(p) == "Placeholder(Base)"


def test_declare_legacy_item() -> None:
    old = declare_legacy_item("core_item_base", 0, {"name": text(), "gone": integer()})
    assert old.__legacy__ and old.schema_version == 0
    assert declare_legacy_item("core_item_base", 0, {}) is old
    assert item_class("core_item_base", 0) is old and item_class("core_item_base", 1) is Base


def test_repr() -> None:
    s = Store()
    assert repr(Base(store=s, name="n")) == "Base(store_id=1, name='n')"


class Pointer(Item):
    type_name = "core_item_pointer"
    to = reference(reftype=Base)


def test_reference_reftype_is_checked() -> None:
    with pytest.raises(TypeError, match="Pointer.to: expected Base, got Hooked"):
        Pointer(to=Hooked())
    Pointer(to=Derived())


def test_legacy_declarations_outlive_their_callers() -> None:
    import gc

    from plait.axiom.attributes import text
    from plait.axiom.item import declare_legacy_item, item_class

    declare_legacy_item("test_item_unkept_legacy", 1, {"name": text()})  # result dropped
    gc.collect()
    found = item_class("test_item_unkept_legacy", 1)
    assert found is not None and found.__legacy__
