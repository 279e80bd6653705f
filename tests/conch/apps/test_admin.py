"""Administrators: the grant lives in the account's substore; grant, revoke, list from
the command line; unknown accounts and missing stores are one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from plait.axiom.cli import main
from plait.axiom.store import Store
from plait.axiom.userbase import NoSuchUser, install_login_system
from plait.conch.apps.admin import (
    grant_administrator,
    is_administrator,
    revoke_administrator,
)


def make_store(path: Path) -> Store:
    store = Store(path)
    login_system = install_login_system(store)
    store.transact(lambda: login_system.add_account("ann", "example.test", "pw"))
    store.transact(lambda: login_system.add_account("ben", "example.test", "pw"))
    return store


def test_grant_and_revoke(tmp_path: Path) -> None:
    store = make_store(tmp_path / "site.axiom")
    try:
        login_system = install_login_system(store)
        ann = login_system.account_by_address("ann@example.test")
        assert ann is not None
        assert not is_administrator(ann.avatar_store())
        assert grant_administrator(login_system, "ann@example.test", "tests")
        assert not grant_administrator(login_system, "ann@example.test")
        assert is_administrator(ann.avatar_store())
        assert revoke_administrator(login_system, "ann@example.test")
        assert not revoke_administrator(login_system, "ann@example.test")
        assert not is_administrator(ann.avatar_store())
        with pytest.raises(NoSuchUser):
            grant_administrator(login_system, "nobody@example.test")
        assert not is_administrator(None) and not is_administrator("ann@example.test")
    finally:
        store.close()


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.axiom"
    make_store(path).close()
    assert main(["-d", str(path), "admin", "grant", "ben@example.test"]) == 0
    assert capsys.readouterr().out == "ben@example.test: granted\n"
    assert main(["-d", str(path), "admin", "grant", "ben@example.test"]) == 0
    assert capsys.readouterr().out == "ben@example.test: granted (no change)\n"
    assert main(["-d", str(path), "admin", "list"]) == 0
    assert capsys.readouterr().out == "ben@example.test\n"
    assert main(["-d", str(path), "admin", "revoke", "ben@example.test"]) == 0
    assert capsys.readouterr().out == "ben@example.test: revoked\n"
    assert main(["-d", str(path), "admin", "revoke", "zed@example.test"]) == 1
    assert capsys.readouterr().err == "axiomatic admin revoke: no account 'zed@example.test'\n"
    with pytest.raises(SystemExit) as exc:
        main(["-d", str(path), "admin"])
    assert exc.value.code == 2
