"""Schema upgrades: a store written by version-1 code is reopened by newer code.

Each test writes a store with a class at an old version, lets that class die, then plays
"the new code": ``declare_legacy_item`` for the old version, a new class, upgraders."""
from __future__ import annotations

import gc
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.axiom import upgrade as upgrade_module
from plait.axiom.attributes import Attribute, integer, reference, text
from plait.axiom.errors import AxiomError, NoUpgradePathAvailable, SchemaTooNew
from plait.axiom.item import Item, declare_legacy_item, table_name
from plait.axiom.store import Store
from plait.axiom.upgrade import (
    register_attribute_copying_upgrader,
    register_deletion_upgrader,
    register_upgrader,
    upgrade_all,
    upgrade_version,
)


class Holder(Item):
    """An unchanging type pointing at items that get upgraded."""

    type_name = "upgrade_test_holder"
    target = reference()
    label = text(default="")


@pytest.fixture(autouse=True)
def _isolated_upgraders() -> Iterator[None]:
    saved = dict(upgrade_module._upgraders)
    yield
    upgrade_module._upgraders.clear()
    upgrade_module._upgraders.update(saved)
    gc.collect()


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A type name of this test's own (upgraders are registered by type name)."""
    return "upg_" + re.sub(r"\W", "_", request.node.name)


def define(type_name: str, version: int, module: str = __name__,
           **attrs: Attribute[Any]) -> type[Item]:
    ns: dict[str, Any] = {"type_name": type_name, "schema_version": version,
                          "__module__": module, **attrs}
    return type(f"{type_name}_v{version}", (Item,), ns)


def v1_attrs() -> dict[str, Attribute[Any]]:
    return {"title": text(), "count": integer(default=0)}


def write(path: Path, type_name: str, version: int, attrs: dict[str, Attribute[Any]],
          fill: Callable[[Store, type[Item]], Any], module: str = __name__) -> Any:
    """Run the 'old code': define the class, fill a store, close it; the class dies."""
    def old_code() -> Any:
        cls = define(type_name, version, module, **attrs)
        with Store(path) as store:
            return fill(store, cls)

    result = old_code()
    attrs.clear()  # attributes know their class: drop them so that the class can die
    gc.collect()
    return result


def three_items(store: Store, cls: type[Item]) -> list[int]:
    return [cls(store=store, title=t, count=c).store_id
            for t, c in [("a", 1), ("b", 2), ("c", 3)]]


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path / "db.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path / "db.sqlite")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def count(path: Path, type_name: str, version: int) -> int:
    return int(rows(path, f"SELECT COUNT(*) FROM {table_name(type_name, version)}")[0][0])


# -- the three kinds of upgrader ------------------------------------------------------------


def test_attribute_copying_upgrader(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    legacy = declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0), extra=text(default="new"))
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        items = list(store.query(new, sort=new.title.ascending))
        assert [type(i) for i in items] == [new] * 3
        assert [(i.store_id, i.title, i.count, i.extra) for i in items] == [
            (ids[0], "a", 1, "new"), (ids[1], "b", 2, "new"), (ids[2], "c", 3, "new")]
        assert store.get_item_by_id(ids[1]) is items[1]
        items[0].count = 10  # the upgraded item is an ordinary stored item
    assert count(path, name, 1) == 0 and count(path, name, 2) == 3
    with Store(path) as store:  # reopening again upgrades nothing and finds them all
        assert sorted(i.count for i in store.query(new)) == [2, 3, 10]
        assert upgrade_all(store) == 0
    del legacy


def test_post_copy_fills_in_new_attributes(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), doubled=integer())  # count dropped, doubled added

    def post_copy(item: Any) -> None:
        item.doubled = len(item.title) * 2

    register_attribute_copying_upgrader(new, 1, 2, post_copy=post_copy)
    with Store(path) as store:
        assert sorted((i.title, i.doubled) for i in store.query(new)) == [
            ("a", 2), ("b", 2), ("c", 2)]
        assert not hasattr(next(iter(store.query(new))), "count")


def test_custom_upgrader_computes_a_new_attribute_and_loads_lazily(tmp_path: Path,
                                                                   name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, label=text(), total=integer())
    calls: list[int] = []

    def upgrade_1_to_2(old: Any) -> Item:
        calls.append(old.store_id)
        return upgrade_version(old, name, 1, 2, label=old.title.upper(), total=old.count * 10)

    register_upgrader(upgrade_1_to_2, name, 1, 2)
    with Store(path) as store:
        assert count(path, name, 1) == 3  # opening touches nothing
        item = store.get_item_by_id(ids[2])  # loading one item upgrades its type
        assert type(item) is new and (item.label, item.total) == ("C", 30)
        assert item.store_id == ids[2]
        assert sorted(calls) == ids
        assert sorted((i.label, i.total) for i in store.query(new)) == [
            ("A", 10), ("B", 20), ("C", 30)]
        assert store.query(new, new.total > 15).count() == 2
        assert sorted(calls) == ids  # each item upgraded once


def test_deletion_upgrader(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"

    def fill(store: Store, cls: type[Item]) -> tuple[list[int], int]:
        ids = three_items(store, cls)
        holder = Holder(store=store, target=store.get_item_by_id(ids[0]), label="h")
        return ids, holder.store_id

    ids, holder_id = write(path, name, 1, v1_attrs(), fill)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text())
    register_deletion_upgrader(new, 1, 2)
    with Store(path) as store:
        assert list(store.query(new)) == []
        for oid in ids:
            assert store.get_item_by_id(oid, default=None) is None
        holder = store.get_item_by_id(holder_id)
        assert holder.target is None  # when_deleted=NULLIFY was honoured
        assert holder.__dict__["target"] is None
        fresh = new(store=store, title="after")
        assert list(store.query(new)) == [fresh]
    assert rows(path, "SELECT COUNT(*) FROM axiom_objects")[0][0] == 2  # holder + fresh


def test_two_step_chain_from_both_old_versions(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    legacy1 = declare_legacy_item(name, 1, v1_attrs())
    legacy2 = declare_legacy_item(name, 2, {"title": text(), "count": integer(default=0),
                                            "extra": text(default="")})
    new = define(name, 3, title=text(), score=integer())

    def post_copy(item: Any) -> None:
        item.extra = "mid"

    register_attribute_copying_upgrader(new, 1, 2, post_copy=post_copy)
    register_upgrader(lambda old: upgrade_version(old, name, 2, 3, title=old.title,
                                                  score=old.count * 2 + len(old.extra)),
                      name, 2, 3)
    with Store(path) as store:
        # a row written at version 2 (by code in between) takes only the second step
        v2_id = store.transact(lambda: legacy2(store=store, title="d", count=4,
                                               extra="xxxxxx").store_id)
        items = {i.title: i for i in store.query(new)}
        assert {t: (i.score, i.store_id) for t, i in items.items()} == {
            "a": (5, ids[0]), "b": (7, ids[1]), "c": (9, ids[2]), "d": (14, v2_id)}
    assert count(path, name, 1) == count(path, name, 2) == 0
    assert count(path, name, 3) == 4
    del legacy1


def test_references_to_upgraded_items_still_resolve(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    attrs = {**v1_attrs(), "friend": reference()}

    def fill(store: Store, cls: type[Item]) -> tuple[int, int, int]:
        a = cls(store=store, title="a")
        b = cls(store=store, title="b", friend=a)
        a.friend = b
        holder = Holder(store=store, target=b)
        return a.store_id, b.store_id, holder.store_id

    a_id, b_id, holder_id = write(path, name, 1, attrs, fill)
    declare_legacy_item(name, 1, {**v1_attrs(), "friend": reference()})
    new = define(name, 2, title=text(), friend=reference())
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        holder = store.get_item_by_id(holder_id)
        b = holder.target  # loaded (and upgraded) through the reference
        assert type(b) is new and b.store_id == b_id and b.title == "b"
        a = b.friend
        assert type(a) is new and a.store_id == a_id and a.friend is b
        assert store.get_item_by_id(a_id) is a
        assert {i.title for i in store.query(new)} == {"a", "b"}
        assert store.query(Holder, Holder.target == b).count() == 1


def test_holding_an_old_item_while_it_is_upgraded(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    legacy = declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0))
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        old = next(iter(store.query(legacy, legacy.title == "a")))  # explicitly the old class
        assert type(old) is legacy and old.store_id == ids[0]
        assert upgrade_all(store) == 3
        assert old.store is None  # replaced: the store now holds the new version
        assert type(store.get_item_by_id(ids[0])) is new


def test_upgrading_happens_only_when_the_type_is_touched(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0))
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        Holder(store=store, label="unrelated")
        list(store.query(Holder))
        assert count(path, name, 1) == 3
        assert store.query(new).count() == 3  # the first touch upgrades the type
        assert count(path, name, 1) == 0


def test_inserting_a_new_item_first_upgrades_the_old_ones(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0))
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        fresh = new(store=store, title="d")
        assert fresh.store_id not in ids
        assert sorted(i.title for i in store.query(new)) == ["a", "b", "c", "d"]


# -- upgrade_all ----------------------------------------------------------------------------


def test_upgrade_all_counts_and_reports_progress(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    other = name + "_other"
    write(path, name, 1, v1_attrs(), three_items)
    write(path, other, 1, v1_attrs(),
          lambda store, cls: [cls(store=store, title=t) for t in "xy"] and None)
    with Store(path) as store:
        Holder(store=store, label="current already")
    declare_legacy_item(name, 1, v1_attrs())
    declare_legacy_item(other, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0))
    new_other = define(other, 2, title=text())
    register_attribute_copying_upgrader(new, 1, 2)
    register_attribute_copying_upgrader(new_other, 1, 2)
    calls: list[tuple[int, int]] = []
    with Store(path) as store:
        assert upgrade_all(store, progress=lambda done, total: calls.append((done, total))) == 5
        assert calls[0] == (0, 5) and calls[-1] == (5, 5)
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
        assert {t for _, t in calls} == {5}
        assert count(path, name, 1) == count(path, other, 1) == 0
        assert store.query(new).count() == 3 and store.query(new_other).count() == 2
        calls.clear()
        assert upgrade_all(store, progress=lambda done, total: calls.append((done, total))) == 0
        assert calls == []


def test_upgrade_all_after_some_types_were_touched(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0))
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        assert store.query(new).count() == 3
        assert upgrade_all(store) == 0


def test_upgrade_all_counts_items_deleted_by_another_items_upgrade(tmp_path: Path,
                                                                   name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text())

    def upgrade_1_to_2(old: Any) -> Item | None:
        if old.title == "a":  # "a" takes "c" with it
            old.store.get_item_by_id(ids[2]).delete_from_store()
        return upgrade_version(old, name, 1, 2, title=old.title)

    register_upgrader(upgrade_1_to_2, name, 1, 2)
    calls: list[tuple[int, int]] = []
    with Store(path) as store:
        assert upgrade_all(store, progress=lambda d, t: calls.append((d, t))) == 3
        assert calls[-1] == (3, 3)
        assert sorted(i.title for i in store.query(new)) == ["a", "b"]


# -- errors change nothing ------------------------------------------------------------------


def test_schema_too_new(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 2, {"title": text()},
                lambda store, cls: [cls(store=store, title="new").store_id])
    before = dump(path)
    old_code = define(name, 1, title=text())
    with Store(path) as store:
        with pytest.raises(SchemaTooNew, match=rf"'{name}' is stored at version 2.*version 1"):
            store.query(old_code)
        with pytest.raises(SchemaTooNew):
            old_code(store=store, title="x")
        with pytest.raises(SchemaTooNew):
            store.get_item_by_id(ids[0])
        with pytest.raises(SchemaTooNew):
            upgrade_all(store)
    assert dump(path) == before


def test_no_upgrader_raises_and_changes_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    before = dump(path)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text())
    pattern = rf"'{name}': items are stored at version 1 .* version 2.* no upgrader"
    with Store(path) as store:
        with pytest.raises(NoUpgradePathAvailable, match=pattern):
            store.query(new)
        with pytest.raises(NoUpgradePathAvailable, match=pattern):
            new(store=store, title="x")
        with pytest.raises(NoUpgradePathAvailable, match=pattern):
            store.get_item_by_id(ids[0])
        with pytest.raises(NoUpgradePathAvailable, match=pattern):
            upgrade_all(store)
    assert dump(path) == before


def test_missing_step_in_a_chain(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    before = dump(path)
    declare_legacy_item(name, 1, v1_attrs())
    declare_legacy_item(name, 2, v1_attrs())
    new = define(name, 3, title=text())
    register_attribute_copying_upgrader(new, 1, 2)  # but nothing from 2 to 3
    with Store(path) as store:
        with pytest.raises(NoUpgradePathAvailable, match=r"no upgrader goes from version 2"):
            store.query(new)
        with pytest.raises(NoUpgradePathAvailable):
            upgrade_all(store)
    assert dump(path) == before


def test_undeclared_old_version(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    ids = write(path, name, 1, v1_attrs(), three_items)
    before = dump(path)
    new = define(name, 2, title=text())
    register_upgrader(lambda old: upgrade_version(old, name, 1, 2, title=old.title),
                      name, 1, 2)
    with Store(path) as store:
        with pytest.raises(NoUpgradePathAvailable, match=r"version 1 is not declared"):
            store.query(new)
        with pytest.raises(NoUpgradePathAvailable, match=rf"'{name}' version 1"):
            store.get_item_by_id(ids[0])
    assert dump(path) == before


def test_failing_upgrader_rolls_back_every_item_and_can_be_retried(tmp_path: Path,
                                                                   name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text())

    def broken(old: Any) -> Item:
        if old.title == "b":
            raise RuntimeError("cannot upgrade b")
        return upgrade_version(old, name, 1, 2, title=old.title)

    register_upgrader(broken, name, 1, 2)
    with Store(path) as store:
        with pytest.raises(RuntimeError, match="cannot upgrade b"):
            store.query(new)
        assert count(path, name, 1) == 3 and count(path, name, 2) == 0
        register_upgrader(lambda old: upgrade_version(old, name, 1, 2, title=old.title),
                          name, 1, 2)
        assert sorted(i.title for i in store.query(new)) == ["a", "b", "c"]


def test_upgrade_rolled_back_with_the_callers_transaction_runs_again(tmp_path: Path,
                                                                     name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    legacy = declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text())
    register_attribute_copying_upgrader(new, 1, 2)
    with Store(path) as store:
        new(store=store, title="d")  # upgrades a, b, c: the current table is committed
        legacy(store=store, title="e")  # a row at the old version after all

        def first_attempt() -> None:
            store._type_ids.pop(new)  # as if this Store had not touched the type yet
            assert store.query(new).count() == 5
            raise KeyError("abandon")

        with pytest.raises(KeyError):
            store.transact(first_attempt)
        assert count(path, name, 1) == 1  # rolled back with the caller's transaction
        # ... and the store knows the type must be upgraded again
        assert sorted(i.title for i in store.query(new)) == ["a", "b", "c", "d", "e"]
        assert count(path, name, 1) == 0


def test_upgrader_must_return_the_upgraded_item(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    before = dump(path)
    declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text())
    register_upgrader(lambda old: new(store=old.store, title=old.title), name, 1, 2)
    with Store(path) as store, pytest.raises(AxiomError, match="use upgrade_version"):
        store.query(new)
    after = dump(path)
    assert [line for line in after if name in line and "_v1" in line] == [
        line for line in before if name in line and "_v1" in line]
    register_upgrader(lambda old: None, name, 1, 2)
    with Store(path) as store, pytest.raises(AxiomError, match="did not delete"):
        store.query(new)


def test_registration_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="higher"):
        register_upgrader(lambda old: old, name, 2, 2)
    with pytest.raises(TypeError):
        register_upgrader("nope", name, 1, 2)  # type: ignore[arg-type]


def test_in_memory_store(name: str) -> None:
    declare_legacy = declare_legacy_item(name, 1, v1_attrs())
    new = define(name, 2, title=text(), count=integer(default=0))
    register_attribute_copying_upgrader(new, 1, 2)
    with Store() as store:
        old = declare_legacy(store=store, title="a", count=1)
        oid = old.store_id
        assert upgrade_all(store) == 1
        assert store.get_item_by_id(oid).title == "a"


# -- axiomatic upgrade ----------------------------------------------------------------------


MODULE = '''
from plait.axiom.attributes import integer, text
from plait.axiom.item import Item, declare_legacy_item
from plait.axiom.upgrade import register_upgrader, upgrade_version

Thing_v1 = declare_legacy_item({name!r}, 1, {{"title": text(), "count": integer(default=0)}})


class Thing(Item):
    type_name = {name!r}
    schema_version = 2
    title = text()
    total = integer()


def upgrade_1_to_2(old):
    return upgrade_version(old, {name!r}, 1, 2, title=old.title, total=old.count * 100)


register_upgrader(upgrade_1_to_2, {name!r}, 1, 2)
'''


def run_python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path, check=False)


def test_axiomatic_upgrade(tmp_path: Path, name: str) -> None:
    module = f"upgmod_{name}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(MODULE.format(name=name)))
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    script = (f"import {module}; from plait.axiom.cli import main; "
              f"raise SystemExit(main(['-d', {str(path)!r}, 'upgrade']))")
    result = run_python(tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "upgraded 3 item(s)"
    assert "3/3 items" in result.stderr
    assert count(path, name, 1) == 0
    assert sorted(rows(path, f'SELECT "title", "total" FROM {table_name(name, 2)}')) == [
        ("a", 100), ("b", 200), ("c", 300)]
    again = run_python(tmp_path, "-c", script)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "everything is up to date"


def test_axiomatic_upgrade_imports_the_modules_recorded_in_the_store(tmp_path: Path,
                                                                    name: str) -> None:
    module = f"upgmod_{name}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(MODULE.format(name=name)))
    path = tmp_path / "s"
    # the old code lived in the same module: the store records it for the type
    write(path, name, 1, v1_attrs(), three_items, module=module)
    result = run_python(tmp_path, "-m", "plait.axiom.cli", "-d", str(path), "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "upgraded 3 item(s)"


def test_axiomatic_upgrade_reports_a_missing_upgrader(tmp_path: Path, name: str) -> None:
    module = f"upgmod_{name}"
    source = MODULE.format(name=name).replace(
        f"register_upgrader(upgrade_1_to_2, {name!r}, 1, 2)", "")
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    path = tmp_path / "s"
    write(path, name, 1, v1_attrs(), three_items)
    before = dump(path)
    script = (f"import {module}; from plait.axiom.cli import main; "
              f"raise SystemExit(main(['-d', {str(path)!r}, 'upgrade']))")
    result = run_python(tmp_path, "-c", script)
    assert result.returncode == 1
    assert "no upgrader goes from version 1" in result.stderr
    assert dump(path) == before
