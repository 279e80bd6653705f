"""Transactions: commit, rollback with in-memory restore, nested savepoints."""
from __future__ import annotations

from pathlib import Path

import pytest

from plait.axiom.attributes import integer, reference, text
from plait.axiom.item import Item
from plait.axiom.store import Store


class Account(Item):
    type_name = "core_tx_account"
    owner = text()
    balance = integer(default=0)
    other = reference()


class Boom(Exception):
    pass


def test_transact_returns_and_commits(tmp_path: Path) -> None:
    s = Store(tmp_path / "st")
    acct = s.transact(lambda: Account(store=s, owner="a", balance=5))
    assert isinstance(acct, Account) and not s.in_transaction
    s.close()
    with Store(tmp_path / "st") as s2:
        assert [a.balance for a in s2.query(Account)] == [5]


def test_exception_rolls_back_database_and_memory() -> None:
    s = Store()
    acct = Account(store=s, owner="a", balance=10)

    def change() -> None:
        acct.balance = 20
        acct.owner = "b"
        acct.balance = 30
        Account(store=s, owner="new")
        raise Boom

    with pytest.raises(Boom):
        s.transact(change)
    assert (acct.balance, acct.owner) == (10, "a")
    assert s.query(Account).count() == 1
    row = s.connection.execute(f"SELECT owner, balance FROM {Account.__table_name__}").fetchone()
    assert row == ("a", 10)


def test_items_created_in_a_rolled_back_transaction_are_unstored() -> None:
    s = Store()
    made: list[Account] = []

    def create() -> None:
        made.append(Account(store=s, owner="x"))
        raise Boom

    with pytest.raises(Boom):
        s.transact(create)
    assert made[0].store is None and made[0].store_id is None
    assert s.get_item_by_id(1, default=None) is None


def test_deletion_rolled_back_restores_the_item() -> None:
    s = Store()
    acct = Account(store=s, owner="x")
    holder = Account(store=s, other=acct)
    oid = acct.store_id

    def delete() -> None:
        acct.delete_from_store()
        assert holder.other is None
        raise Boom

    with pytest.raises(Boom):
        s.transact(delete)
    assert acct.store is s and acct.store_id == oid
    assert s.get_item_by_id(oid) is acct
    assert holder.other is acct


def test_nested_transactions_are_savepoints() -> None:
    s = Store()
    acct = Account(store=s, balance=1)

    def inner_fails() -> None:
        acct.balance = 3
        raise Boom

    def outer() -> str:
        acct.balance = 2
        with pytest.raises(Boom):
            s.transact(inner_fails)
        assert acct.balance == 2
        s.transact(lambda: setattr(acct, "owner", "inner"))
        return "done"

    assert s.transact(outer) == "done"
    assert (acct.balance, acct.owner) == (2, "inner")

    def outer_fails() -> None:
        acct.balance = 5
        s.transact(lambda: setattr(acct, "owner", "lost"))
        raise Boom

    with pytest.raises(Boom):
        s.transact(outer_fails)
    assert (acct.balance, acct.owner) == (2, "inner")
    assert s.connection.execute(
        f"SELECT owner, balance FROM {Account.__table_name__}").fetchone() == ("inner", 2)


def test_writes_outside_a_transaction_autocommit(tmp_path: Path) -> None:
    s = Store(tmp_path / "st")
    acct = Account(store=s, balance=1)
    acct.balance = 7
    assert not s.connection.in_transaction
    s.close()
    with Store(tmp_path / "st") as s2:
        assert s2.find_unique(Account).balance == 7


def test_a_type_first_used_in_a_rolled_back_transaction_is_created_again() -> None:
    class Late(Item):
        type_name = "core_tx_late"
        n = integer()

    s = Store()

    def make() -> None:
        Late(store=s, n=1)
        raise Boom

    with pytest.raises(Boom):
        s.transact(make)
    assert Late(store=s, n=2).n == 2
    assert s.query(Late).count() == 1


def test_failed_hook_rolls_back_the_insert() -> None:
    class Fussy(Item):
        type_name = "core_tx_fussy"
        n = integer()

        def stored(self) -> None:
            raise Boom

    s = Store()
    with pytest.raises(Boom):
        Fussy(store=s, n=1)
    assert s.query(Fussy).count() == 0
