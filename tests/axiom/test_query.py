"""Queries: every comparison, AND/OR, sorting, windows, aggregates, joins, self-joins,
deletion, pagination — and one SQL statement per iteration, whatever the item count."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from decimal import Decimal

import pytest

from plait.axiom.attributes import (
    boolean,
    integer,
    point2decimal,
    reference,
    text,
)
from plait.axiom.attributes import (
    bytes as bytes_attr,
)
from plait.axiom.errors import UnsupportedComparison
from plait.axiom.item import Item, Placeholder
from plait.axiom.query import AND, OR
from plait.axiom.store import Store


class Person(Item):
    type_name = "core_query_person"
    name = text(indexed=True)
    age = integer()
    rich = boolean(default=False)
    cash = point2decimal(default=Decimal(0))
    boss = reference()
    blob = bytes_attr()


class Pet(Item):
    type_name = "core_query_pet"
    name = text()
    owner = reference(reftype=Person)


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store()
    ann = Person(store=s, name="Ann", age=40, rich=True, cash=Decimal("10.50"))
    bob = Person(store=s, name="bob", age=30, boss=ann, cash=Decimal("1.25"))
    Person(store=s, name="Cy%_", age=20, boss=bob)
    Person(store=s, name=None, age=None)
    Pet(store=s, name="rex", owner=ann)
    Pet(store=s, name="tom", owner=bob)
    Pet(store=s, name="kit", owner=ann)
    yield s
    s.close()


def names(query: object) -> list[str | None]:
    return sorted((p.name for p in query), key=str)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("make", "expected"), [
    (lambda: Person.age == 30, ["bob"]),
    (lambda: Person.age != 30, ["Ann", "Cy%_"]),
    (lambda: Person.age < 30, ["Cy%_"]),
    (lambda: Person.age <= 30, ["Cy%_", "bob"]),
    (lambda: Person.age > 30, ["Ann"]),
    (lambda: Person.age >= 30, ["Ann", "bob"]),
    (lambda: Person.age == None, [None]),
    (lambda: Person.age.is_none(), [None]),
    (lambda: Person.age.is_not_none(), ["Ann", "Cy%_", "bob"]),
    (lambda: Person.age == Person.age, ["Ann", "Cy%_", "bob"]),
    (lambda: Person.age.one_of([20, 40, 99]), ["Ann", "Cy%_"]),
    (lambda: Person.age.one_of([]), []),
    (lambda: Person.age.not_one_of([20]), ["Ann", "bob"]),
    (lambda: Person.name.like("b%"), ["bob"]),
    (lambda: Person.name.like("B%"), ["bob"]),
    (lambda: Person.name.not_like("%o%"), ["Ann", "Cy%_"]),
    (lambda: Person.name.startswith("A"), ["Ann"]),
    (lambda: Person.name.startswith("a"), []),
    (lambda: Person.name.startswith("Cy%"), ["Cy%_"]),
    (lambda: Person.name.endswith("%_"), ["Cy%_"]),
    (lambda: Person.rich == True, ["Ann"]),
    (lambda: Person.cash > Decimal("1.25"), ["Ann"]),
    (lambda: AND(Person.age > 10, Person.age < 35), ["Cy%_", "bob"]),
    (lambda: OR(Person.age == 20, Person.name == "Ann"), ["Ann", "Cy%_"]),
    (lambda: AND(), ["Ann", "Cy%_", None, "bob"]),
    (lambda: OR(), []),
    (lambda: (Person.age == 20) | (Person.age == 40), ["Ann", "Cy%_"]),
    (lambda: Person.store_id == 1, ["Ann"]),
])
def test_comparisons(store: Store, make: object, expected: list[str | None]) -> None:
    assert names(store.query(Person, make())) == expected  # type: ignore[operator]


def test_reference_comparisons(store: Store) -> None:
    ann = store.find_unique(Person, Person.name == "Ann")
    assert names(store.query(Person, Person.boss == ann)) == ["bob"]
    assert names(store.query(Pet, Pet.owner == ann)) == ["kit", "rex"]
    assert names(store.query(Pet, Pet.owner.one_of([ann]))) == ["kit", "rex"]
    with pytest.raises(TypeError, match="Pet.owner: expected Person"):
        store.query(Pet, Pet.owner == Pet(name="x"))


def test_text_only_comparisons_are_refused_elsewhere() -> None:
    with pytest.raises(UnsupportedComparison):
        Person.age.startswith("1")


def test_comparisons_have_no_truth_value() -> None:
    with pytest.raises(TypeError, match="no truth value"):
        bool(Person.age == 1)
    with pytest.raises(TypeError):
        AND(True)  # type: ignore[arg-type]


def test_sort_limit_offset(store: Store) -> None:
    by_age = store.query(Person, Person.age.is_not_none(), sort=Person.age.ascending)
    assert [p.age for p in by_age] == [20, 30, 40]
    down = store.query(Person, Person.age.is_not_none(), sort=Person.age.descending, limit=2)
    assert [p.age for p in down] == [40, 30]
    window = store.query(Person, sort=Person.store_id.ascending, limit=2, offset=1)
    assert [p.store_id for p in window] == [2, 3]
    assert [p.store_id for p in store.query(Person, sort=Person.store_id.ascending,
                                              offset=3)] == [4]
    Person(store=store, name="Ann", age=1)
    compound = store.query(Person, Person.name == "Ann",
                           sort=[Person.name.ascending, Person.age.descending])
    assert [p.age for p in compound] == [40, 1]
    with pytest.raises(TypeError, match="sort="):
        store.query(Person, sort=Person.age)


def test_count_distinct(store: Store) -> None:
    assert store.query(Person).count() == 4
    assert store.query(Person, Person.age > 25).count() == 2
    assert store.query(Person, limit=3, offset=2).count() == 2
    owners = store.query(Person, Pet.owner == Person.store_id)
    assert owners.count() == 3
    assert owners.distinct().count() == 2
    assert names(owners.distinct()) == ["Ann", "bob"]


def test_get_column_and_aggregates(store: Store) -> None:
    ages = store.query(Person, sort=Person.store_id.ascending).get_column(Person.age)
    assert list(ages) == [40, 30, 20, None]
    assert (ages.sum(), ages.min(), ages.max(), ages.count()) == (90, 20, 40, 3)
    assert ages.average() == 30
    cash = store.query(Person).get_column(Person.cash)
    assert cash.sum() == Decimal("11.75") and cash.max() == Decimal("10.50")
    assert cash.average() == Decimal("11.75") / 4
    assert list(store.query(Person, Person.rich == True).get_column(Person.rich)) == [
        True]
    assert next(iter(store.query(Person, Person.age == 20).get_column(Person.boss))).name == "bob"
    assert list(store.query(Pet).get_column(Pet.owner).distinct()) != []
    assert store.query(Pet).get_column(Pet.owner).distinct().count() == 2
    empty = store.query(Person, Person.age > 100).get_column(Person.age)
    assert (empty.sum(), empty.average(), empty.min(), empty.count()) == (0, None, None, 0)
    assert list(store.query(Person, Person.age == 20).get_column(Person.store_id)) == [3]


def test_joins(store: Store) -> None:
    pairs = store.query((Person, Pet), Pet.owner == Person.store_id,
                        sort=[Person.name.ascending, Pet.name.ascending])
    assert [(p.name, pet.name) for p, pet in pairs] == [
        ("Ann", "kit"), ("Ann", "rex"), ("bob", "tom")]
    assert pairs.count() == 3
    ann_pets = store.query(Pet, AND(Pet.owner == Person.store_id, Person.name == "Ann"))
    assert names(ann_pets) == ["kit", "rex"]


def test_placeholder_self_join(store: Store) -> None:
    boss = Placeholder(Person)
    reports = store.query(Person, AND(Person.boss == boss.store_id, boss.name == "Ann"))
    assert names(reports) == ["bob"]
    chain = store.query((Person, boss), Person.boss == boss.store_id,
                        sort=Person.age.ascending)
    assert [(p.name, b.name) for p, b in chain] == [("Cy%_", "bob"), ("bob", "Ann")]
    older = store.query(boss, boss.age > 35)
    assert names(older) == ["Ann"]


def test_delete(store: Store) -> None:
    store.query(Pet, Pet.name.one_of(["rex", "tom"])).delete()
    assert names(store.query(Pet)) == ["kit"]
    assert store.connection.execute("SELECT count(*) FROM axiom_objects").fetchone()[0] == 5


def test_paginate(store: Store) -> None:
    store.batch_insert(Person, [Person.name, Person.age], [(f"p{i}", i) for i in range(95)])
    query = store.query(Person, Person.name.startswith("p"), sort=Person.age.descending)
    assert [p.age for p in query.paginate(page_size=10)] == list(range(94, -1, -1))
    limited = store.query(Person, Person.name.startswith("p"), sort=Person.age.ascending,
                          limit=25, offset=5)
    assert [p.age for p in limited.paginate(page_size=7)] == list(range(5, 30))
    with pytest.raises(ValueError):
        list(query.paginate(page_size=0))


def test_one_sql_statement_per_iteration(store: Store) -> None:
    store.batch_insert(Person, [Person.name, Person.age], [(f"n{i}", i) for i in range(1000)])
    store.batch_insert(Pet, [Pet.name], [(f"pet{i}",) for i in range(1000)])
    gc.collect()
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    try:
        items = list(store.query(Person, Person.age >= 0))
        assert len(items) == 1003
        assert len(statements) == 1 and statements[0].startswith("SELECT")
        statements.clear()
        pairs = list(store.query((Person, Pet), Pet.owner == Person.store_id))
        assert len(pairs) == 3 and len(statements) == 1
        statements.clear()
        assert len(list(store.query(Pet).get_column(Pet.name))) == 1003
        assert len(statements) == 1
        statements.clear()
        assert len(list(store.query(Person, Person.age >= 0))) == 1003
        assert len(statements) == 1
    finally:
        store.connection.set_trace_callback(None)


def test_query_rejects_non_comparisons(store: Store) -> None:
    with pytest.raises(TypeError, match="takes a comparison"):
        store.query(Person, True)  # type: ignore[call-overload]
