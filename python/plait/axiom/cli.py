"""`axiomatic`: administer an Axiom store from the command line.

Usage errors exit 2 (argparse); failures print one readable line and exit 1.
Passwords are read with getpass or from stdin, never from argv.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plait.axiom.cli_run import RunError, browse, start, status, stop, upgrade
from plait.axiom.cli_userbase import UserbaseCommandError, add_commands
from plait.axiom.cli_userbase import run as run_userbase
from plait.axiom.errors import AxiomError
from plait.core.plugins import axiomatic_commands

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A reason the command cannot do its job, as one readable line."""


def _store_dir(args: argparse.Namespace) -> Path:
    if args.store is None:
        raise CommandError("no store given: use -d STORE_DIR")
    return Path(args.store)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axiomatic",
        description="Administer an Axiom store: run its services, upgrade it, manage users.",
    )
    parser.add_argument("-d", "--dbdir", dest="store", metavar="STORE_DIR",
                        help="the store's directory (holding db.sqlite and files/)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser("start", help="run the store's services in the foreground",
                        description="Start every service item in the store and its scheduler; "
                                    "SIGINT/SIGTERM (or `axiomatic stop`) stop them gracefully.")
    commands.add_parser("stop", help="stop the `axiomatic start` running on this store")
    commands.add_parser("status", help="whether the store's services run, and where")
    commands.add_parser("upgrade", help="upgrade every item to its current schema version",
                        description="Upgrade every item in the store now (a store also "
                                    "upgrades lazily as items load), with a progress bar.")
    commands.add_parser("browse", help="a Python prompt with `store` bound to the store")
    add_commands(commands)

    for name, plugin in sorted(axiomatic_commands().items()):
        sub = commands.add_parser(name, help=getattr(plugin, "description", None))
        adder = getattr(plugin, "add_arguments", None)
        if adder is not None:
            adder(sub)
        sub.set_defaults(plugin=plugin)
    return parser


def _run_plugin(args: argparse.Namespace) -> int:
    from plait.axiom.store import Store

    plugin = args.plugin
    command = getattr(plugin, "run", plugin)  # an object with run(), or a plain callable
    with Store(_store_dir(args)) as store:
        result: Any = command(store, args)
    return int(result or 0)


HANDLERS: dict[str, Callable[[Path, argparse.Namespace], int]] = {
    "start": start,
    "stop": stop,
    "status": status,
    "upgrade": upgrade,
    "browse": browse,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "plugin", None) is not None:
            return _run_plugin(args)
        store_dir = _store_dir(args)
        handler = HANDLERS.get(args.command)
        if handler is not None:
            return handler(store_dir, args)
        return run_userbase(store_dir, args)
    except (CommandError, AxiomError, RunError, UserbaseCommandError) as exc:
        print(f"axiomatic {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
