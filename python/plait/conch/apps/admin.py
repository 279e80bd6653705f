"""Who may open the manhole: an account is an administrator when its avatar substore holds
an :class:`Administrator` item.

Why the substore (as Mantissa gave admin powers by installing items into a user's store):
the userbase has no roles, every login already ends at the account's substore (the avatar
SSH and telnet get), and the grant then travels with the account and nothing else.  Grant
or revoke from the command line::

    axiomatic -d DATA/site.axiom admin grant alice@example.com
    axiomatic -d DATA/site.axiom admin revoke alice@example.com
    axiomatic -d DATA/site.axiom admin list
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from plait.axiom.attributes import text
from plait.axiom.item import Item
from plait.axiom.store import Store
from plait.axiom.userbase import LoginSystem, NoSuchUser, install_login_system

__all__ = ["AdminCommand", "Administrator", "admin_command", "grant_administrator",
           "is_administrator", "revoke_administrator"]


class Administrator(Item):
    """Kept in a user's substore: this account administers the server (manhole access)."""

    type_name = "plait_conch_apps_administrator"
    schema_version = 1

    granted_by = text(allow_none=True, default=None, doc="who granted it (free text)")


def is_administrator(avatar: Any) -> bool:
    """True for an avatar that is a user substore holding an :class:`Administrator`."""
    return isinstance(avatar, Store) and avatar.find_first(Administrator) is not None


def _account_store(login_system: LoginSystem, address: str) -> Store:
    account = login_system.account_by_address(address)
    if account is None:
        raise NoSuchUser(f"no account {address!r}")
    return account.avatar_store()


def grant_administrator(login_system: LoginSystem, address: str,
                        granted_by: str | None = None) -> bool:
    """Make ``address``'s account an administrator; False if it already was."""
    store = _account_store(login_system, address)
    if store.find_first(Administrator) is not None:
        return False
    store.transact(lambda: Administrator(store=store, granted_by=granted_by))
    return True


def revoke_administrator(login_system: LoginSystem, address: str) -> bool:
    """Take the administrator grant away; False if the account had none."""
    store = _account_store(login_system, address)
    items = list(store.query(Administrator))
    if not items:
        return False

    def remove() -> None:
        for item in items:
            item.delete_from_store()

    store.transact(remove)
    return True


class AdminCommand:
    """The ``admin`` entry of the ``plait.axiomatic`` plugin group."""

    description = "grant or revoke manhole (administrator) access for userbase accounts"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="admin_action", required=True, metavar="ACTION")
        for name, help_text in (("grant", "make an account an administrator"),
                                ("revoke", "take administrator access away")):
            action = actions.add_parser(name, help=help_text)
            action.add_argument("address", help="the account's localpart@domain")
        actions.add_parser("list", help="the administrators, one address a line")

    def run(self, store: Store, args: argparse.Namespace) -> int:
        action = args.admin_action
        try:
            login_system = install_login_system(store)
            if action == "list":
                for account in login_system.accounts():
                    if account.avatars is not None and is_administrator(account.avatar_store()):
                        print(account.address)
                return 0
            change = grant_administrator if action == "grant" else revoke_administrator
            changed = change(login_system, args.address)
        except NoSuchUser as exc:
            print(f"axiomatic admin {action}: {exc}", file=sys.stderr)
            return 1
        print(f"{args.address}: {action}{'ed' if action == 'grant' else 'd'}"
              f"{'' if changed else ' (no change)'}")
        return 0


admin_command = AdminCommand()
