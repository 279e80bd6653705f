"""The menu: entries per user (manhole only for administrators, the shell only where
there is one), picking by number or arrows, switching to the application on the same
terminal, refusals shown in the menu, logging out."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from conch.apps.screen import Term
from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.conch.apps.admin import grant_administrator
from plait.conch.apps.demo import DemoProtocol
from plait.conch.apps.faucet.game import FaucetProtocol
from plait.conch.apps.manhole import Manhole
from plait.conch.apps.menu import (
    AppRefused,
    MenuProtocol,
    app_factory,
    choices_for,
    manhole_namespace,
    terminal_menu,
)


@pytest.fixture(scope="module")
def avatars(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    store = Store(tmp_path_factory.mktemp("menu") / "site.axiom")
    login_system = install_login_system(store)
    store.transact(lambda: login_system.add_account("ann", "example.test", "pw"))
    store.transact(lambda: login_system.add_account("ben", "example.test", "pw"))
    grant_administrator(login_system, "ann@example.test")
    ann = login_system.account_by_address("ann@example.test")
    ben = login_system.account_by_address("ben@example.test")
    assert ann is not None and ben is not None
    try:
        yield ann.avatar_store(), ben.avatar_store()
    finally:
        store.close()


def test_choices(avatars: tuple[Store, Store]) -> None:
    admin, user = avatars
    assert choices_for(admin, shell=True) == ["demo", "manhole", "faucet", "shell", "logout"]
    assert choices_for(user, shell=False) == ["demo", "faucet", "logout"]


def test_app_factory(avatars: tuple[Store, Store]) -> None:
    admin, user = avatars
    assert app_factory("demo", user, "ben@example.test") is DemoProtocol
    faucet = app_factory("faucet", user, "ben@example.test")()
    assert isinstance(faucet, FaucetProtocol) and faucet.name == "ben"
    manhole = app_factory("manhole", admin, "ann@example.test")()
    assert isinstance(manhole, Manhole)
    assert manhole.namespace["site"] is admin.parent
    assert manhole.namespace["login_system"] is not None
    assert manhole.namespace["services"] == []        # none installed in this store
    with pytest.raises(AppRefused, match="administrators only"):
        app_factory("manhole", user, "ben@example.test")
    with pytest.raises(KeyError):
        app_factory("rogue", admin, "ann@example.test")
    assert manhole_namespace(None, None)["site"] is None


async def test_pick_by_number_switches_on_the_same_terminal(avatars: tuple[Store, Store]) -> None:
    admin, _ = avatars
    t = Term(terminal_menu, admin, "ann@example.test", width=80, height=24)
    await t.settle()
    text = t.text()
    assert "1. Widget demo" in text and "2. Python manhole" in text
    assert "Login shell" not in text
    t.send("2")
    await t.settle()
    assert isinstance(t.app, Manhole)
    assert ">>>" in t.text() and "Widget demo" not in t.text()
    t.send("6 * 7\r")
    assert "42" in t.lines()


async def test_arrows_enter_and_refusal_message(avatars: tuple[Store, Store]) -> None:
    _, user = avatars
    t = Term(terminal_menu, user, "ben@example.test", width=80, height=24)
    await t.settle()
    assert "manhole" not in t.text()
    menu = t.app
    menu.on_choice("manhole")                 # not offered, and refused if asked anyway
    await t.settle()
    assert "the manhole is for administrators only" in t.text()
    t.send(b"\x1b[B\r")
    await t.settle()
    assert isinstance(t.app, FaucetProtocol)
    assert "Welcome to Faucet, ben" in t.text()
    t.server.connection_lost(None)


async def test_shell_entry_logout_and_ctrl_c() -> None:
    chosen: list[str] = []
    t = Term(MenuProtocol, ["demo", "shell", "logout"], chosen.append, width=60, height=10)
    await t.settle()
    t.send("2")
    assert chosen == ["shell"]
    t.send("9")                               # no such entry: ignored
    assert chosen == ["shell"] and not t.wire.closed
    t.send("3")
    assert t.wire.closed
    t2 = Term(MenuProtocol, ["demo", "logout"], chosen.append, width=60, height=10)
    t2.send(b"\x03")
    assert t2.wire.closed
