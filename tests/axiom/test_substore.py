"""Substores: a child store under the parent's files, opened once, closed with the parent."""
from __future__ import annotations

from pathlib import Path

import pytest

from plait.axiom.attributes import text
from plait.axiom.errors import AxiomError
from plait.axiom.item import Item
from plait.axiom.store import Store
from plait.axiom.substore import SubStore, close_substores, open_substores


class Note(Item):
    type_name = "test_sub_note"
    body = text(default="")


def test_create_open_and_reopen(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    sub = SubStore.create_new(site, ["account", "example.com", "ann.axiom"])
    child = sub.open()
    assert sub.open() is child
    assert child.parent is site
    assert child.path is not None
    expected = Path(site.files_dir) / "account" / "example.com" / "ann.axiom"
    assert Path(child.path).resolve() == expected.resolve()
    assert (expected / "db.sqlite").exists()
    assert Path(sub.store_path).resolve() == expected.resolve()
    Note(store=child, body="hi")
    sub_id = sub.store_id
    site.close()

    site = Store(tmp_path / "site")
    try:
        sub = site.get_item_by_id(sub_id)
        assert isinstance(sub, SubStore)
        child = sub.open()
        assert child.parent is site
        assert [n.body for n in child.query(Note)] == ["hi"]
        assert site.query(Note).count() == 0  # the child's items are only in the child
    finally:
        site.close()


def test_store_path_is_relative_to_the_files_dir(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    sub = SubStore.create_new(site, ["u1"])
    Note(store=sub.open(), body="moved")
    sub_id = sub.store_id
    site.close()
    (tmp_path / "site").rename(tmp_path / "moved")
    site = Store(tmp_path / "moved")
    try:
        child = site.get_item_by_id(sub_id).open()
        assert [n.body for n in child.query(Note)] == ["moved"]
    finally:
        site.close()


def test_bad_segments_and_existing_paths(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    try:
        for bad in ([], [".."], ["a/b"], [""]):
            with pytest.raises(ValueError):
                SubStore.create_new(site, bad)
        SubStore.create_new(site, ["x"])
        with pytest.raises(AxiomError, match="exists"):
            SubStore.create_new(site, ["x"])
    finally:
        site.close()


def test_closing_the_parent_closes_the_children(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    a = SubStore.create_new(site, ["a"]).open()
    b = SubStore.create_new(site, ["b"]).open()
    assert set(map(id, open_substores(site))) == {id(a), id(b)}
    site.close()
    assert open_substores(site) == []
    # a closed child cannot be used any more
    with pytest.raises(Exception):  # noqa: B017 - whatever the core raises on a closed store
        Note(store=a, body="late")
    # and its lock is released: it can be opened again directly
    again = Store(tmp_path / "site" / "files" / "b")
    again.close()
    del b


def test_close_substores_and_item_close(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    try:
        sub = SubStore.create_new(site, ["c"])
        first = sub.open()
        sub.close()
        assert open_substores(site) == []
        second = sub.open()
        assert second is not first
        close_substores(site)
        assert open_substores(site) == []
    finally:
        site.close()


def test_deleting_the_item_closes_the_child(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    try:
        sub = SubStore.create_new(site, ["d"])
        sub.open()
        sub.delete_from_store()
        assert open_substores(site) == []
    finally:
        site.close()


def test_in_memory_parent_has_in_memory_children() -> None:
    site = Store()
    sub = SubStore.create_new(site, ["mem"])
    child = sub.open()
    assert sub.open() is child
    assert child.parent is site
    Note(store=child, body="in memory")
    assert [n.body for n in child.query(Note)] == ["in memory"]
    assert sub.store_path is None
    site.close()
    assert open_substores(site) == []
