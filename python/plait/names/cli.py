"""``python -m plait.names``: a DNS server from zone files (as ``twistd dns``), and queries.

    python -m plait.names serve --zone example.test.zone --pyzone other.py --port 5353
    python -m plait.names serve --secondary 127.0.0.1:5300/example.test --port 5354
    python -m plait.names serve --recursive --cache --port 5355
    python -m plait.names query @127.0.0.1 -p 5353 www.example.test AAAA

``serve`` logs one line when it is up and one when it stops (SIGINT or SIGTERM). Usage
errors are one line on stderr and exit status 2; a zone that cannot be loaded or a port that
cannot be bound is one line and status 1.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from plait.core.loop import run
from plait.core.service import Service, run_until_signalled

from .catalog import ZoneCatalog
from .errors import ZoneError
from .server import DNSServer, serve
from .xfr_server import DEFAULT_ALLOW, parse_networks
from .zone import Zone, origin_name

__all__ = ["main"]

PROG = "python -m plait.names"
STOP_GRACE = 5.0


class UsageError(Exception):
    """Bad arguments: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _address(text: str, default_port: int = 53) -> tuple[str, int]:
    """``127.0.0.1``, ``127.0.0.1:5353``, ``::1``, ``[::1]:5353`` as ``(host, port)``."""
    host, port = text, default_port
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {text!r}")
        if rest:
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = int(p)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {text!r}")
    return host, port


def _address_arg(text: str) -> tuple[str, int]:
    try:
        return _address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an address (ADDR or ADDR:PORT, IPv6 as [ADDR]:PORT)") from None


def _secondary_arg(text: str) -> tuple[tuple[str, int], str]:
    addr, sep, zone = text.rpartition("/")
    if not sep or not zone or not addr:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ADDR[:PORT]/ZONE")
    try:
        origin_name(zone)
    except ZoneError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return _address_arg(addr), zone


def _network_arg(text: str) -> str:
    try:
        parse_networks([text])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _port_arg(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"port {port} out of range 0-65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="plait's DNS server and query tool.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    s = sub.add_parser("serve", help="answer DNS for zone files (as twistd dns)",
                       description="Serve zones on UDP and TCP until SIGINT or SIGTERM.")
    s.add_argument("--zone", "--bindzone", dest="zones", action="append", default=[],
                   type=lambda p: ("bind", p), metavar="FILE",
                   help="a zone file in BIND format (origin from $ORIGIN or the file name)")
    s.add_argument("--pyzone", dest="zones", action="append", type=lambda p: ("py", p),
                   metavar="FILE", help="a zone written as Python (zone = [SOA(...), ...])")
    s.add_argument("--secondary", action="append", default=[], type=_secondary_arg,
                   metavar="ADDR[:PORT]/ZONE", help="copy ZONE from the primary at ADDR")
    s.add_argument("-p", "--port", type=_port_arg, default=53,
                   help="UDP and TCP port (default 53; 0 picks a free one)")
    s.add_argument("-i", "--interface", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1)")
    s.add_argument("--recursive", action="store_true",
                   help="resolve names outside our zones for clients that ask (RD)")
    s.add_argument("--cache", action="store_true", help="cache recursive answers")
    s.add_argument("--resolv-conf", metavar="FILE",
                   help="upstream servers from this resolv.conf (implies --recursive)")
    s.add_argument("--forward", action="append", default=[], type=_address_arg,
                   metavar="ADDR[:PORT]",
                   help="send recursive queries to this server (implies --recursive)")
    s.add_argument("--hosts-file", metavar="FILE", help="answer recursive queries from a "
                   "hosts file first")
    s.add_argument("--allow-transfer", action="append", default=[], type=_network_arg,
                   metavar="NET", help="networks that may AXFR/IXFR (default 127.0.0.0/8, ::1)")
    s.add_argument("--notify", action="append", default=[], type=_address_arg,
                   metavar="ADDR[:PORT]", help="send NOTIFY to this secondary when a zone "
                   "changes")
    s.add_argument("--tcp-idle-timeout", type=float, default=10.0, metavar="SECONDS")
    s.add_argument("--max-tcp-connections", type=int, default=256, metavar="N")
    sub.add_parser("query", help="ask a DNS server (dig-like); see `query --help`",
                   add_help=False)
    return parser


def load_zones(specs: Sequence[tuple[str, str]]) -> list[Zone]:
    """The zones named on the command line; ZoneError for the first that fails."""
    zones: list[Zone] = []
    seen: dict[Any, str] = {}
    for kind, path in specs:
        zone = Zone.from_bind_file(path) if kind == "bind" else Zone.from_python_file(path)
        if zone.origin in seen:
            raise ZoneError(f"zone {zone.origin} given twice ({seen[zone.origin]} and {path})")
        seen[zone.origin] = path
        zones.append(zone)
    return zones


class NamesServer(Service):
    """The server a ``serve`` command line describes, as a plait service."""

    def __init__(self, args: argparse.Namespace, zones: list[Zone]) -> None:
        super().__init__("dns")
        self.args = args
        self.recursive = bool(args.recursive or args.forward or args.resolv_conf)
        self.catalog = ZoneCatalog(recursion=self.recursive)
        for zone in zones:
            self.catalog.put(zone)
        self.server: DNSServer | None = None
        self.secondaries: Any = None
        self.notifier: Any = None
        self.resolver: Any = None
        self._tasks: set[asyncio.Future[Any]] = set()

    def _build_helpers(self) -> None:
        args = self.args
        if args.secondary:
            from .secondary import Secondaries
            self.secondaries = Secondaries(self.catalog)
            for primary, zone in args.secondary:
                self.secondaries.add(zone, [primary])
        if self.recursive:
            from .resolver import Resolver
            hosts = None
            if args.hosts_file:
                from .hosts import Hosts
                hosts = Hosts(args.hosts_file)
            if args.forward:
                from .cache import Cache
                self.resolver = Resolver(args.forward, hosts=hosts,
                                         cache=Cache() if args.cache else None)
            else:
                self.resolver = Resolver.from_system(
                    args.resolv_conf or "/etc/resolv.conf", hosts=args.hosts_file,
                    cache=bool(args.cache))
        if args.notify:
            from .notify import Notifier
            origins = [str(z.origin) for z in self.catalog.zones()]
            origins += [zone for _, zone in args.secondary]
            self.notifier = Notifier(self.catalog, {o: list(args.notify) for o in origins})

    async def start(self) -> None:
        self._build_helpers()
        args = self.args
        self.server = await serve(
            self.catalog, args.interface, args.port,
            transfer_allow=tuple(args.allow_transfer) or DEFAULT_ALLOW,
            notify_handler=None if self.secondaries is None else self.secondaries.handle_notify,
            resolver=self.resolver, tcp_idle_timeout=args.tcp_idle_timeout,
            max_tcp_connections=args.max_tcp_connections)
        if self.secondaries is not None:
            await self.secondaries.start()
        if self.notifier is not None:
            # Tell the secondaries what we serve now, as a primary does when it loads zones.
            for zone in self.catalog.zones():
                task = asyncio.ensure_future(self.notifier.notify(zone))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        self.running = True

    async def stop(self) -> None:
        self.running = False
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.notifier is not None:
            await self.notifier.close()
        if self.secondaries is not None:
            await self.secondaries.stop()
        if self.server is not None:
            await self.server.close()

    def endpoints(self) -> list[str]:
        return [] if self.server is None else self.server.endpoints()

    def banner(self) -> str:
        zones = ", ".join(str(z.origin) for z in self.catalog.zones()) or "none"
        extra = []
        if self.args.secondary:
            extra.append(f"secondary for {', '.join(z for _, z in self.args.secondary)}")
        if self.recursive:
            extra.append("recursive" + (" with cache" if self.args.cache else ""))
        more = f"; {'; '.join(extra)}" if extra else ""
        return (f"plait.names: serving {len(self.catalog)} zone(s) ({zones}){more} "
                f"on {' '.join(self.endpoints())}")


async def _serve(args: argparse.Namespace) -> None:
    zones = load_zones(args.zones)
    service = NamesServer(args, zones)
    await run_until_signalled(service, grace=STOP_GRACE,
                              ready=lambda: print(service.banner(), file=sys.stderr,
                                                  flush=True))
    print("plait.names: stopped", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["query"]:
        from .query_cli import main as query_main
        return query_main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("a command is needed: serve or query (see --help)")
        if args.cache and not (args.recursive or args.forward or args.resolv_conf):
            raise UsageError("--cache caches recursive answers: add --recursive")
        if not args.zones and not args.secondary and not (args.recursive or args.forward
                                                          or args.resolv_conf):
            raise UsageError("nothing to serve: give --zone, --pyzone, --secondary or "
                             "--recursive")
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    try:
        run(_serve(args))
    except ZoneError as exc:
        print(f"{PROG} serve: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError, ImportError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"{PROG} serve: cannot start: {detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
