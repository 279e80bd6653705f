"""`axiomatic userbase ...`, `extract-user` and `insert-user`: accounts from the command line.

Passwords come from getpass (asked twice) or, with ``--password-stdin``, from one line of
standard input; never from argv, where other users could read them.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any


class UserbaseCommandError(Exception):
    """Why a userbase command cannot do its job, as one readable line."""


def add_commands(commands: Any) -> None:
    """Add `userbase`, `extract-user` and `insert-user` to the `axiomatic` subcommands."""
    userbase = commands.add_parser("userbase", help="manage the store's login accounts")
    actions = userbase.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("install", help="install the login system on the store")
    create = actions.add_parser("create", help="create an account USER@DOMAIN")
    create.add_argument("address", metavar="USER@DOMAIN")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from one line of standard input")
    create.add_argument("--no-password", action="store_true",
                        help="create the account without a password (SSH keys only)")
    for name, text in (("disable", "stop an account from logging in"),
                       ("enable", "let a disabled account log in again")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("address", metavar="USER@DOMAIN")
    actions.add_parser("list", help="list accounts and their addresses")

    extract = commands.add_parser(
        "extract-user", help="move an account and its data out into a directory",
        description="Move USER@DOMAIN (its login details and its own store) out of this "
                    "store into DEST, which `insert-user` can bring into another store.")
    extract.add_argument("address", metavar="USER@DOMAIN")
    extract.add_argument("destination", metavar="DEST", type=Path)
    insert = commands.add_parser(
        "insert-user", help="bring in an account made by extract-user",
        description="Add the account extracted into SOURCE, with its data, to this store.")
    insert.add_argument("source", metavar="SOURCE", type=Path)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise UserbaseCommandError("the passwords do not match")
    if not password:
        raise UserbaseCommandError("empty password (use --no-password for key-only accounts)")
    return password


def run(store_dir: Path, args: argparse.Namespace) -> int:
    """Carry out a userbase, extract-user or insert-user command on the store."""
    from plait.axiom import userbase
    from plait.axiom.cli_run import open_store
    from plait.axiom.userbase_transfer import extract_user, insert_user

    creating = args.command == "insert-user" or (
        args.command == "userbase" and args.action in ("install", "create"))
    store = open_store(store_dir, create=creating)
    try:
        if args.command == "extract-user":
            system = _login_system(store, store_dir)
            extract_user(system, args.address, args.destination)
            print(f"extracted {args.address} into {args.destination}")
            return 0
        if args.command == "insert-user":
            system = userbase.install_login_system(store)
            account = insert_user(system, args.source)
            print(f"inserted {account.address}")
            return 0
        if args.action == "install":
            userbase.install_login_system(store)
            print(f"login system installed on {store_dir}")
        elif args.action == "create":
            password = _read_password(args)
            localpart, domain = userbase.normalize_address(args.address)
            system = userbase.install_login_system(store)
            system.add_account(localpart, domain, password)
            print(f"created {localpart}@{domain}")
        elif args.action in ("disable", "enable"):
            system = _login_system(store, store_dir)
            account = system.account_by_address(args.address)
            if account is None:
                raise UserbaseCommandError(f"no account {args.address}")
            getattr(system, args.action)(account)
            print(f"{args.action}d {args.address}")
        elif args.action == "list":
            system = _login_system(store, store_dir)
            for account in system.accounts():
                addresses = ", ".join(m.address for m in account.login_methods())
                print(addresses + ("  [disabled]" if account.disabled else ""))
    except userbase.UserbaseError as exc:
        raise UserbaseCommandError(str(exc)) from None
    finally:
        store.close()
    return 0


def _login_system(store: Any, store_dir: Path) -> Any:
    from plait.axiom.userbase import LoginSystem

    system = store.find_first(LoginSystem)
    if system is None:
        raise UserbaseCommandError(
            f"no login system in {store_dir}: run `axiomatic -d {store_dir} userbase install`")
    return system
