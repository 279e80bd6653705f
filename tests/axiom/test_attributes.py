"""Attribute types: checks on assignment, defaults, and a round trip of every type through
a store reopened from disk."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plait.axiom import attributes as a
from plait.axiom.item import Item
from plait.axiom.store import Store
from plait.epsilon.extime import Time


class Everything(Item):
    type_name = "core_attr_everything"
    flag = a.boolean()
    count = a.integer()
    blob = a.bytes()
    title = a.text()
    where = a.path()
    when = a.timestamp()
    other = a.reference()
    ratio = a.ieee754_double()
    d1 = a.point1decimal()
    d2 = a.point2decimal()
    d3 = a.point3decimal()
    d4 = a.point4decimal()
    d5 = a.point5decimal()
    d6 = a.point6decimal()
    d7 = a.point7decimal()
    d8 = a.point8decimal()
    d9 = a.point9decimal()
    d10 = a.point10decimal()
    cash = a.money()
    words = a.textlist()
    scratch = a.inmemory()


class Strict(Item):
    type_name = "core_attr_strict"
    name = a.text(allow_none=False)
    size = a.integer(default=7)
    tags = a.textlist(default_factory=list)
    a.compound_index(name, size)


class Upper(a.Attribute[str]):
    """A custom type: stored upper-case, proving the documented subclass interface."""

    sql_type = "TEXT"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected str, got {type(value).__name__}")
        return value

    def to_db(self, value: Any) -> str:
        return str(value).upper()

    def from_db(self, value: Any) -> str:
        return str(value).lower()


class Custom(Item):
    type_name = "core_attr_custom"
    shout = Upper()


def _reopen(tmp_path: Path, value_for: Any, attr: str) -> tuple[Any, Any]:
    store = Store(tmp_path / "s")
    other = Strict(store=store, name="target")
    value = value_for(store, other) if callable(value_for) else value_for
    item = Everything(store=store, **{attr: value})
    oid = item.store_id
    store.close()
    store = Store(tmp_path / "s")
    loaded = store.get_item_by_id(oid)
    got = getattr(loaded, attr)
    if attr == "other":
        got = (got.name, type(got))
        value = ("target", Strict)
    store.close()
    return value, got


ROUND_TRIPS: dict[str, Any] = {
    "flag": lambda s, o: True,
    "count": lambda s, o: -(1 << 63),
    "blob": lambda s, o: b"\x00\xffbytes",
    "title": lambda s, o: "h\u00e9llo \U0001f600",
    "where": lambda s, o: s.new_file_path("dir", "f.txt"),
    "when": lambda s, o: Time.from_iso8601_time_and_date("2005-10-17T12:34:56.789012Z"),
    "other": lambda s, o: o,
    "ratio": lambda s, o: 1.5e-300,
    **{f"d{n}": Decimal("-12." + "7" * n) for n in range(1, 11)},
    "cash": lambda s, o: Decimal("1234.5678"),
    "words": lambda s, o: ["a", "", "b,c", "\u00fc"],
}


@pytest.mark.parametrize("attr", sorted(ROUND_TRIPS))
def test_round_trip_through_reopened_store(tmp_path: Path, attr: str) -> None:
    value, got = _reopen(tmp_path, ROUND_TRIPS[attr], attr)
    assert got == value
    assert type(got) is type(value) or isinstance(got, Path)


def test_none_round_trips_and_inmemory_is_not_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    item = Everything(store=store, scratch="kept in memory")
    oid = item.store_id
    store.close()
    store = Store(tmp_path / "s")
    loaded = store.get_item_by_id(oid)
    assert loaded.scratch is None
    for name in ROUND_TRIPS:
        assert getattr(loaded, name) is None
    store.close()


def test_path_under_files_dir_is_stored_relative(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    item = Everything(store=store, where=store.new_file_path("x.txt"))
    raw = store.connection.execute(
        f"SELECT \"where\" FROM {Everything.__table_name__} WHERE oid = ?",
        (item.store_id,)).fetchone()[0]
    assert raw == "x.txt"
    store.close()
    moved = tmp_path / "moved"
    (tmp_path / "s").rename(moved)
    store = Store(moved)
    assert store.get_item_by_id(item.store_id).where == moved / "files" / "x.txt"
    store.close()


WRONG: list[tuple[str, Any, str]] = [
    ("flag", 1, "expected bool, got int"),
    ("count", "1", "expected int, got str"),
    ("count", True, "expected int, got bool"),
    ("blob", "text", "expected bytes, got str"),
    ("title", b"x", "expected str, got bytes"),
    ("where", 3, "expected pathlib.Path, got int"),
    ("when", 3.0, "expected plait.epsilon.extime.Time, got float"),
    ("other", "x", "expected Item, got str"),
    ("ratio", "1.0", "expected float, got str"),
    ("d2", 1.5, "expected decimal.Decimal, got float"),
    ("words", "abc", "expected list of str, got str"),
    ("words", ["a", 1], "expected list of str, got a int in it"),
]


@pytest.mark.parametrize(("attr", "value", "reason"), WRONG)
def test_wrong_type_names_class_and_attribute(attr: str, value: Any, reason: str) -> None:
    item = Everything()
    with pytest.raises(TypeError) as info:
        setattr(item, attr, value)
    assert str(info.value) == f"Everything.{attr}: {reason}"
    with pytest.raises(TypeError, match=f"Everything.{attr}"):
        Everything(**{attr: value})


@pytest.mark.parametrize(("attr", "value"), [
    ("count", 1 << 63),
    ("count", -(1 << 63) - 1),
    ("ratio", float("nan")),
    ("d2", Decimal("1.234")),
    ("d2", Decimal("Infinity")),
    ("where", Path("relative")),
])
def test_values_the_database_cannot_keep_are_refused(attr: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"Everything.{attr}"):
        Everything(**{attr: value})


def test_allow_none_false_and_defaults() -> None:
    with pytest.raises(TypeError, match="Strict.name: required"):
        Strict()
    item = Strict(name="x")
    assert (item.size, item.tags) == (7, [])
    assert Strict(name="y").tags is not item.tags
    with pytest.raises(TypeError, match="Strict.name: may not be None"):
        item.name = None  # type: ignore[assignment]
    with pytest.raises(TypeError, match="Strict: no attribute 'nope'"):
        Strict(name="x", nope=1)


def test_not_null_matches_the_database() -> None:
    store = Store()
    Strict(store=store, name="x")
    sql = store.connection.execute(
        "SELECT sql FROM sqlite_master WHERE name = ?", (Strict.__table_name__,)).fetchone()[0]
    assert '"name" TEXT NOT NULL' in sql


def test_indexes_are_created() -> None:
    store = Store()
    Strict(store=store, name="x")
    Everything(store=store)
    names = {r[0] for r in store.connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert f"{Strict.__table_name__}_name_size" in names


def test_integer_accepts_ints_and_double_accepts_ints() -> None:
    item = Everything(count=3, ratio=2)
    assert item.ratio == 2.0 and type(item.ratio) is float


def test_custom_attribute_type(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    item = Custom(store=store, shout="hey")
    raw = store.connection.execute(f"SELECT shout FROM {Custom.__table_name__}").fetchone()[0]
    assert raw == "HEY"
    assert list(store.query(Custom, Custom.shout == "hey")) == [item]
    oid = item.store_id
    store.close()
    store = Store(tmp_path / "s")
    assert store.get_item_by_id(oid).shout == "hey"
    with pytest.raises(TypeError, match="Custom.shout: expected str, got int"):
        Custom(shout=1)
    store.close()


def test_reference_when_deleted_must_be_a_policy() -> None:
    with pytest.raises(TypeError):
        a.reference(when_deleted="nullify")  # type: ignore[arg-type]


def test_class_level_access_gives_the_attribute() -> None:
    assert isinstance(Everything.title, a.text)
    assert Everything.title.qualname == "Everything.title"
