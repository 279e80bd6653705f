"""Store: files and layout, the identity map, finders, batch insert, deletion policies."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

from plait.axiom.attributes import (
    CASCADE,
    DISALLOW,
    NULLIFY,
    boolean,
    integer,
    reference,
    text,
    textlist,
)
from plait.axiom.errors import (
    DeletionDisallowed,
    DuplicateUniqueItem,
    ItemNotFound,
    NoSuchItem,
)
from plait.axiom.item import Item
from plait.axiom.store import Store


class Thing(Item):
    type_name = "core_store_thing"
    name = text(indexed=True)
    size = integer(default=0, allow_none=False)


class Link(Item):
    type_name = "core_store_link"
    nullify = reference(when_deleted=NULLIFY)
    cascade = reference(when_deleted=CASCADE)
    disallow = reference(when_deleted=DISALLOW)


def test_layout_and_schema_tables(tmp_path: Path) -> None:
    s = Store(tmp_path / "st")
    Thing(store=s, name="a")
    assert (tmp_path / "st" / "db.sqlite").is_file()
    assert s.files_dir == tmp_path / "st" / "files" and s.files_dir.is_dir()
    assert s.parent is None
    tables = {r[0] for r in s.connection.execute("SELECT name FROM sqlite_master")}
    assert {"axiom_types", "axiom_objects", "axiom_attributes",
            "item_core_store_thing_v1"} <= tables
    assert s.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    attrs = s.connection.execute(
        "SELECT attribute, sql_type, indexed, allow_none FROM axiom_attributes").fetchall()
    assert sorted(attrs) == [("name", "TEXT", 1, 1), ("size", "INTEGER", 0, 0)]
    s.close()
    s.close()


def test_store_ids_are_global_across_types() -> None:
    s = Store()
    a, link, b = Thing(store=s), Link(store=s), Thing(store=s)
    assert [a.store_id, link.store_id, b.store_id] == [1, 2, 3]
    assert s.connection.execute("SELECT oid, type_id FROM axiom_objects").fetchall()[1][0] == 2


def test_identity_map() -> None:
    s = Store()
    a = Thing(store=s, name="a")
    assert s.get_item_by_id(a.store_id) is a
    assert next(iter(s.query(Thing))) is a
    oid = a.store_id
    del a
    gc.collect()
    again = s.get_item_by_id(oid)
    assert again.name == "a" and s.get_item_by_id(oid) is again


def test_identity_map_sweeps_dead_entries() -> None:
    s = Store()
    s.batch_insert(Thing, [Thing.name], [(str(i),) for i in range(10_000)])
    for _ in range(3):
        assert len(list(s.query(Thing))) == 10_000
    gc.collect()
    list(s.query(Thing, limit=1))
    assert len(s._imap) <= 10_001


class Flagged(Item):
    type_name = "core_store_flagged"
    flag = boolean()
    tags = textlist()

    def activate(self) -> None:
        if self.tags == ["boom"]:
            raise RuntimeError("activate failed")


def test_loading_pauses_the_gc_and_restores_it() -> None:
    s = Store()
    s.batch_insert(Flagged, [Flagged.flag, Flagged.tags], [(True, ["a"]), (False, None)])
    gc.collect()
    assert gc.isenabled()
    items = list(s.query(Flagged, sort=Flagged.store_id.ascending))
    assert [(i.flag, i.tags) for i in items] == [(True, ["a"]), (False, None)]
    assert type(items[0].flag) is bool and gc.isenabled()
    assert s.connection.execute('SELECT "flag" FROM ' + Flagged.__table_name__).fetchone()[0] == 1
    Flagged(store=s, flag=None, tags=["ok"]).tags = ["boom"]
    del items
    gc.collect()
    with pytest.raises(RuntimeError, match="activate failed"):
        list(s.query(Flagged))
    assert gc.isenabled()  # restored on error
    gc.disable()
    try:
        assert len(list(s.query(Flagged, Flagged.flag != None))) == 2
        assert not gc.isenabled()  # a caller's disabled GC stays disabled
    finally:
        gc.enable()


def test_get_item_by_id_missing() -> None:
    s = Store()
    with pytest.raises(NoSuchItem, match="store id 42"):
        s.get_item_by_id(42)
    assert s.get_item_by_id(42, default=None) is None


def test_find_or_create_unique_first() -> None:
    s = Store()
    a = s.find_or_create(Thing, name="a", size=1)
    assert s.find_or_create(Thing, name="a", size=1) is a
    assert s.find_or_create(Thing, name="a", size=2) is not a
    assert s.find_unique(Thing, Thing.size == 1) is a
    with pytest.raises(DuplicateUniqueItem):
        s.find_unique(Thing, Thing.name == "a")
    with pytest.raises(ItemNotFound):
        s.find_unique(Thing, Thing.name == "zz")
    assert s.find_unique(Thing, Thing.name == "zz", default=None) is None
    assert s.find_first(Thing, Thing.name == "a", sort=Thing.size.descending).size == 2
    assert s.find_first(Thing, Thing.name == "q") is None


def test_batch_insert() -> None:
    s = Store()
    first = Thing(store=s, name="first")
    s.batch_insert(Thing, [Thing.name, Thing.size], [("a", 1), ("b", 2)])
    s.batch_insert(Thing, [Thing.name], [("c",)])
    s.batch_insert(Thing, [Thing.name], [])
    got = [(t.store_id, t.name, t.size) for t in s.query(Thing, sort=Thing.store_id.ascending)]
    assert got == [(first.store_id, "first", 0), (2, "a", 1), (3, "b", 2), (4, "c", 0)]
    assert Thing(store=s).store_id == 5


def test_batch_insert_checks_values() -> None:
    s = Store()
    with pytest.raises(TypeError, match="Thing.size: expected int, got str"):
        s.batch_insert(Thing, [Thing.size], [(1,), ("2",)])
    with pytest.raises(TypeError, match="Thing.size: may not be None"):
        s.batch_insert(Thing, [Thing.size], [(None,)])
    with pytest.raises(ValueError, match="64 bits"):
        s.batch_insert(Thing, [Thing.size], [(1 << 70,)])
    with pytest.raises(TypeError, match="not a stored attribute"):
        s.batch_insert(Thing, [Link.nullify], [(None,)])
    with pytest.raises(ValueError, match="differ in length"):
        s.batch_insert(Thing, [Thing.name, Thing.size], [("a", 1), ("b",)])
    assert s.query(Thing).count() == 0


def test_new_file_path(tmp_path: Path) -> None:
    s = Store(tmp_path / "st")
    p = s.new_file_path("a", "b.txt")
    assert p == tmp_path / "st" / "files" / "a" / "b.txt" and p.parent.is_dir()
    with pytest.raises(ValueError):
        s.new_file_path("..", "x")
    s.close()
    mem = Store()
    q = mem.new_file_path("x.txt")
    assert q.parent.is_dir()
    mem.close()
    assert not q.parent.exists()


def test_delete_nullify_cascade_disallow() -> None:
    s = Store()
    target = Thing(store=s, name="t")
    n = Link(store=s, nullify=target)
    c = Link(store=s, cascade=target)
    target.delete_from_store()
    assert n.nullify is None and n.store is s
    assert c.store is None
    assert s.query(Link).count() == 1
    assert s.connection.execute(f"SELECT nullify FROM {Link.__table_name__}").fetchall() == [
        (None,)]

    kept = Thing(store=s, name="kept")
    guard = Link(store=s, disallow=kept)
    with pytest.raises(DeletionDisallowed, match="Link.disallow"):
        kept.delete_from_store()
    assert kept.store is s and s.get_item_by_id(kept.store_id) is kept
    guard.delete_from_store()
    kept.delete_from_store()


def test_cascade_cycle_terminates() -> None:
    s = Store()
    a = Link(store=s)
    b = Link(store=s, cascade=a)
    a.cascade = b
    a.delete_from_store()
    assert s.query(Link).count() == 0


def test_reference_to_a_deleted_unloaded_item_reads_none() -> None:
    s = Store()
    t = Thing(store=s)
    link = Link(store=s, nullify=t)
    link_id = link.store_id
    del link
    gc.collect()
    t.delete_from_store()
    assert s.get_item_by_id(link_id).nullify is None


def test_reference_must_be_in_this_store() -> None:
    s, other = Store(), Store()
    with pytest.raises(ValueError, match="not an item in this store"):
        Link(store=s, nullify=Thing(store=other))
    with pytest.raises(ValueError, match="not an item in this store"):
        Link(store=s, nullify=Thing())


def test_references_load_lazily(tmp_path: Path) -> None:
    s = Store(tmp_path / "st")
    link = Link(store=s, nullify=Thing(store=s, name="far"))
    oid = link.store_id
    s.close()
    s = Store(tmp_path / "st")
    loaded = s.get_item_by_id(oid)
    assert type(loaded.__dict__["nullify"]) is int
    assert loaded.nullify.name == "far"
    s.close()


def test_context_manager(tmp_path: Path) -> None:
    with Store(tmp_path / "st") as s:
        Thing(store=s)
    with Store(tmp_path / "st") as s:
        assert s.query(Thing).count() == 1
