"""``axiomatic -d STORE dns ...``: the zones a store serves, added, listed, shown, removed.

Why a store command: ``plait serve`` answers from the zones kept in its site store
(``DATA/site.axiom``), so an operator changes them here, while the server is stopped (the
store has one writer), and the next start serves them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ZoneError
from .zone import Zone
from .zone_store import delete_zone, list_zones, load_zone, save_zone
from .zonefile import ZoneFileError

__all__ = ["ZoneCommand", "zone_command"]


class ZoneCommand:
    """The ``dns`` entry of the ``plait.axiomatic`` plugin group."""

    description = "the DNS zones this store serves: add, list, show, remove"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="dns_action", metavar="ACTION", required=True)
        add = actions.add_parser("add", help="add a zone from a file, replacing one of that name")
        add.add_argument("file", type=Path, metavar="FILE")
        add.add_argument("--origin", help="the zone's name (default: $ORIGIN or the file name)")
        add.add_argument("--python", action="store_true",
                         help="FILE is Python source defining `zone = [...]` (a pyzone)")
        actions.add_parser("list", help="the zones, one per line, with their SOA serial")
        show = actions.add_parser("show", help="print a zone in zone-file syntax")
        show.add_argument("origin", metavar="ORIGIN")
        remove = actions.add_parser("remove", help="stop serving a zone")
        remove.add_argument("origin", metavar="ORIGIN")

    def run(self, store: Any, args: argparse.Namespace) -> int:
        try:
            return self._run(store, args)
        except (ZoneError, ZoneFileError, OSError, ValueError) as exc:
            print(f"axiomatic dns {args.dns_action}: {exc}", file=sys.stderr)
            return 1

    def _run(self, store: Any, args: argparse.Namespace) -> int:
        action = args.dns_action
        if action == "add":
            load = Zone.from_python_file if args.python else Zone.from_bind_file
            zone = load(args.file, args.origin)
            save_zone(store, zone)
            print(f"{zone.origin} serial {zone.serial}: {len(zone.records)} records")
            return 0
        if action == "list":
            for origin in list_zones(store):
                found = load_zone(store, origin)
                print(f"{origin} serial {found.serial if found else '?'}")
            return 0
        found = load_zone(store, args.origin)
        if found is None:
            print(f"axiomatic dns {action}: no zone {args.origin} in this store", file=sys.stderr)
            return 1
        if action == "show":
            print(found.to_text(), end="")
            return 0
        delete_zone(store, args.origin)
        print(f"{found.origin} removed")
        return 0


zone_command = ZoneCommand()
