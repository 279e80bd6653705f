"""`vertex`: Q2Q from the command line — accounts, certificates, files and tunnels.

Every subcommand is a thin layer over the library (``plait.vertex.q2q.client``,
``filexfer``, ``tunnel``, ``authorize``): it parses, calls, and turns failures into one
readable line on stderr with exit status 1 (2 for a usage error).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from plait.core.loop import run
from plait.vertex.authorize import AllowList, check_pattern
from plait.vertex.filexfer import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_SIZE,
    PROTOCOL_NAME,
    FileReceiver,
    FileSender,
    FileTransferError,
    Offer,
    TransferResult,
    prepare_offer,
)
from plait.vertex.progress import format_size, make_progress
from plait.vertex.q2q.address import Q2QAddress
from plait.vertex.q2q.certs import CertStore, default_cert_dir
from plait.vertex.q2q.errors import Q2QError
from plait.vertex.tunnel import TunnelListener, expose_factory, protocol_for_port

__all__ = ["build_parser", "main"]

METHODS = ("tcp", "ptcp", "reverse-ptcp", "virtual")
#: Seconds to wait for a finished transfer's stream to close before exiting.
DRAIN_TIMEOUT = 30.0
#: Longest password read from stdin or a terminal.
MAX_PASSWORD = 1024

DESCRIPTION = """\
Q2Q from the command line: reach people by address (user@domain), wherever they are online,
behind NATs, authenticated both ways by certificates their domain's identity server signed.

First register an account and get its certificate:
  vertex register alice@example.test --password-stdin < pw
  vertex request-cert alice@example.test --password-stdin < pw
Then receive files, or send them (the sender shows progress and the checksum check):
  vertex receive --dir ~/Downloads
  vertex send report.pdf bob@example.test
Carry a TCP port to a peer (bob exposes his port 22, alice reaches it on 127.0.0.1:2222):
  vertex tunnel expose 22                      (as bob)
  vertex tunnel open bob@example.test 22 --local-port 2222   (as alice)
Decide who may send to you or use your tunnels:
  vertex authorize bob@example.test            (from now on only bob, and whoever you add)
"""

AUTHORIZE_HELP = """\
Without options, allow PEER (user@domain, *@domain or a bare domain for anyone there) to send
files to and open tunnels into your address (--as).  An address with no entries accepts every
peer whose certificate its domain's CA signed; the first entry closes it to everyone else.
--revoke removes an entry, --list shows them.  With --ca-cert FILE, PEER is a domain and FILE
(PEM) becomes the CA certificate trusted for it (the one request-cert learnt otherwise)."""


class UsageError(Exception):
    """Bad command-line input found after parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _address(text: str) -> Q2QAddress:
    try:
        address = Q2QAddress.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if address.user is None:
        raise argparse.ArgumentTypeError(f"{text!r} is a domain; a user@domain address is needed")
    return address


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return int(text)


def _size(text: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = t[-1:] if t[-1:] in units else ""
    number = t[: len(t) - len(unit)]
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500M, 2G)")
    return int(number) * units[unit]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 24 * 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0-86400]")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vertex", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subs.required = True

    def common(p: argparse.ArgumentParser, *, server: bool = True) -> None:
        p.add_argument("--certs", type=Path, metavar="DIR", default=None,
                       help=f"key and certificate store (default {default_cert_dir()})")
        if server:
            p.add_argument("--server", type=_host_port, metavar="HOST:PORT",
                           help="the identity server (default: the domain, port 8788)")

    def me(p: argparse.ArgumentParser) -> None:
        p.add_argument("--as", dest="me", type=_address, metavar="USER@DOMAIN",
                       help="your address (default: the only one in the store)")

    def peer_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--method", dest="methods", action="append", choices=METHODS,
                       help="connection method to try, repeatable, in order "
                       "(default: tcp, ptcp, reverse-ptcp, virtual)")
        p.add_argument("--timeout", type=_positive, default=60.0, metavar="SECONDS",
                       help="give up connecting after this long (default 60)")

    def progress(p: argparse.ArgumentParser) -> None:
        p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                       help="progress bar on stderr (default: when stderr is a terminal)")
        p.add_argument("--idle-timeout", type=_positive, default=DEFAULT_IDLE_TIMEOUT,
                       metavar="SECONDS", help="give up a transfer that makes no progress "
                       f"for this long (default {DEFAULT_IDLE_TIMEOUT:g})")

    def password(p: argparse.ArgumentParser) -> None:
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (else: prompt)")

    def listen_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--bind", default="0.0.0.0", metavar="HOST",
                       help="local address for direct TCP and PTCP (default 0.0.0.0)")

    p = subs.add_parser("register", help="create an account on its domain's identity server",
                        description="Create the account USER@DOMAIN with a password.")
    p.add_argument("address", type=_address, metavar="USER@DOMAIN")
    password(p)
    common(p)

    p = subs.add_parser("request-cert", help="get your address's certificate signed",
                        description="Make a key for USER@DOMAIN (once), have the identity "
                        "server sign its certificate after checking the password, and keep "
                        "key, certificate and the domain's CA certificate in the store.")
    p.add_argument("address", type=_address, metavar="USER@DOMAIN")
    password(p)
    common(p)

    p = subs.add_parser("authorize", help="allow a peer to reach you, or trust a domain's CA",
                        description=AUTHORIZE_HELP)
    p.add_argument("peer", nargs="?", metavar="PEER")
    me(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--revoke", action="store_true", help="remove PEER from the list")
    group.add_argument("--list", action="store_true", help="show who may reach you")
    group.add_argument("--ca-cert", type=Path, metavar="FILE",
                       help="trust FILE as the CA certificate of domain PEER")
    common(p, server=False)

    p = subs.add_parser("receive", help="receive files sent to your address",
                        description="Listen for files sent to your address and store them "
                        "in DIR once their checksum matches (never overwriting: a second "
                        "report.pdf becomes report.1.pdf).")
    p.add_argument("--dir", type=Path, default=Path("."), help="where files go (default .)")
    p.add_argument("--once", action="store_true", help="exit after one file (status says how "
                   "it went)")
    p.add_argument("--max-size", type=_size, default=DEFAULT_MAX_SIZE, metavar="SIZE",
                   help="refuse larger files (default 16G; suffixes K M G T)")
    progress(p)
    me(p)
    listen_options(p)
    common(p)

    p = subs.add_parser("send", help="send a file to a peer",
                        description="Send FILE to USER@DOMAIN; shows progress, rate and ETA "
                        "(on a terminal), the connection method used, and the SHA-256 the "
                        "receiver verified.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("peer", type=_address, metavar="USER@DOMAIN")
    p.add_argument("--name", help="offer the file under this name (default: its own)")
    progress(p)
    me(p)
    peer_options(p)
    common(p)

    p = subs.add_parser("tunnel", help="carry TCP connections over Q2Q",
                        description="expose: let peers reach a local TCP port; open: listen "
                        "on a local port and carry each connection to a peer's exposed port. "
                        "Both run until interrupted.")
    tsubs = p.add_subparsers(dest="tunnel_command", metavar="ACTION", parser_class=_Parser)
    tsubs.required = True
    t = tsubs.add_parser("expose", help="let peers reach a local TCP port",
                         description="Serve PORT (on --host) to authorized peers as Q2Q "
                         "protocol tunnel-PORT.")
    t.add_argument("port", type=_port, metavar="PORT")
    t.add_argument("--host", default="127.0.0.1", help="where PORT is (default 127.0.0.1)")
    me(t)
    listen_options(t)
    common(t)
    t = tsubs.add_parser("open", help="reach a peer's exposed port through a local port",
                         description="Listen on --local-host:--local-port; each connection "
                         "is carried to USER@DOMAIN's exposed PORT.")
    t.add_argument("peer", type=_address, metavar="USER@DOMAIN")
    t.add_argument("port", type=_port, metavar="PORT", help="the port the peer exposed")
    t.add_argument("--local-port", type=int, default=0, metavar="N",
                   help="local port (default: any free one, printed)")
    t.add_argument("--local-host", default="127.0.0.1", help="local address (default 127.0.0.1)")
    me(t)
    peer_options(t)
    common(t)
    return parser


# -- helpers --------------------------------------------------------------------------------
def _certs(args: argparse.Namespace) -> CertStore:
    return CertStore(args.certs) if args.certs is not None else CertStore()


def _me(args: argparse.Namespace, certs: CertStore) -> Q2QAddress:
    if args.me is not None:
        return args.me  # type: ignore[no-any-return]
    found = certs.addresses()
    if len(found) == 1:
        return found[0]
    if not found:
        raise Q2QError(f"no certificate in {certs.path} (run: vertex request-cert USER@DOMAIN)")
    names = ", ".join(str(a) for a in found)
    raise UsageError(f"several addresses in {certs.path} ({names}): choose one with --as")


def read_password(args: argparse.Namespace, stdin: TextIO, *, confirm: bool) -> str:
    """The password: stdin's first line with --password-stdin, else a terminal prompt."""
    if args.password_stdin:
        line = stdin.readline(MAX_PASSWORD + 2)
        password = line.rstrip("\r\n")
    elif stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != password:
            raise UsageError("the passwords differ")
    else:
        raise UsageError("no password: stdin is not a terminal (use --password-stdin)")
    if not password:
        raise UsageError("empty password")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"password longer than {MAX_PASSWORD} characters")
    return password


def _methods(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(args.methods) if args.methods else METHODS


def _say(text: str, stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stdout
    out.write(text + "\n")
    out.flush()


def _warn(text: str) -> None:
    _say(f"vertex: {text}", sys.stderr)


async def _until_stopped() -> None:
    """Wait for SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _drain(endpoint: FileSender | FileReceiver) -> None:
    """Wait (bounded) for a transfer's stream to end, so exiting does not cut it off."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(endpoint.closed), DRAIN_TIMEOUT)


# -- commands -------------------------------------------------------------------------------
async def cmd_register(args: argparse.Namespace) -> int:
    from plait.vertex.q2q import client

    password = read_password(args, sys.stdin, confirm=True)
    await client.register(args.address, password, server=args.server)
    _say(f"registered {args.address.claim()}")
    return 0


async def cmd_request_cert(args: argparse.Namespace) -> int:
    from plait.vertex.q2q import client

    certs = _certs(args)
    password = read_password(args, sys.stdin, confirm=False)
    await client.request_cert(args.address, password, certs, server=args.server)
    _say(f"certificate for {args.address.claim()} stored in {certs.path}")
    return 0


async def cmd_authorize(args: argparse.Namespace) -> int:
    certs = _certs(args)
    if args.ca_cert is not None:
        if args.peer is None:
            raise UsageError("--ca-cert needs the DOMAIN it is the CA of")
        try:
            domain = Q2QAddress.parse(args.peer)
        except ValueError as e:
            raise UsageError(str(e)) from None
        if domain.user is not None:
            raise UsageError(f"{args.peer} is a user address; --ca-cert takes a domain")
        try:
            pem = args.ca_cert.read_bytes()
        except OSError as e:
            raise Q2QError(f"{args.ca_cert}: {e.strerror or e}") from None
        try:
            certs.store_ca(domain.domain, pem)
        except ValueError as e:
            raise Q2QError(f"{args.ca_cert}: not a PEM certificate ({e})") from None
        _say(f"trusting {args.ca_cert} as the CA of {domain.domain}")
        return 0
    me = str(_me(args, certs).claim())
    allow = AllowList(certs.path)
    if args.list:
        entries = allow.entries(me)
        if not entries:
            _say(f"{me} accepts every authenticated peer (no entries)")
        for entry in entries:
            _say(entry)
        return 0
    if args.peer is None:
        raise UsageError("which PEER? (or --list)")
    try:
        pattern = check_pattern(args.peer)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.revoke:
        if not allow.remove(me, pattern):
            raise Q2QError(f"{pattern} was not allowed to reach {me}")
        _say(f"{pattern} may no longer reach {me}")
    else:
        added = allow.add(me, pattern)
        _say(f"{pattern} may reach {me}" + ("" if added else " (already)"))
    return 0


def _method_of(transport: Any) -> str:
    return str(transport.get_extra_info("q2q_method") or "unknown")


async def cmd_send(args: argparse.Namespace) -> int:
    from plait.vertex.q2q import client

    certs = _certs(args)
    me = _me(args, certs)
    offer: Offer = await prepare_offer(args.file, args.name)
    progress = make_progress(args.progress)
    transport, proto = await client.connect(
        me, args.peer, PROTOCOL_NAME,
        lambda: FileSender(args.file, offer, progress=progress, idle_timeout=args.idle_timeout),
        certs=certs, methods=_methods(args), timeout=args.timeout, server=args.server,
    )
    method = _method_of(transport)
    _say(f"sending {offer.name} ({format_size(offer.size)}) to {args.peer} via {method}")
    assert isinstance(proto, FileSender)
    try:
        result: TransferResult = await proto.result
    finally:
        transport.close()
        await _drain(proto)
    _say(f"sent {result.name} ({result.size} bytes) to {args.peer} via {method} in "
         f"{result.elapsed:.1f}s; sha256 {result.sha256} verified by the receiver "
         f"(saved as {result.stored_as})")
    return 0


async def cmd_receive(args: argparse.Namespace) -> int:
    from plait.vertex.q2q import client

    certs = _certs(args)
    me = _me(args, certs)
    directory: Path = args.dir
    if not directory.is_dir():
        raise Q2QError(f"{directory}: not a directory")
    allow = AllowList(certs.path)
    me_text = str(me.claim())
    done: asyncio.Queue[tuple[FileReceiver, BaseException | None]] = asyncio.Queue()

    def on_offer(offer: Offer, peer: Any) -> str | None:
        if peer is not None and not allow.allows(me_text, str(peer)):
            _warn(f"refused {offer.name} from {peer}: not authorized (vertex authorize)")
            return f"{peer} is not authorized to send to {me_text}"
        return None

    def factory() -> FileReceiver:
        receiver = FileReceiver(directory, max_size=args.max_size, on_offer=on_offer,
                                idle_timeout=args.idle_timeout,
                                progress=make_progress(args.progress))

        def finished(fut: asyncio.Future[TransferResult]) -> None:
            done.put_nowait((receiver, fut.exception()))

        receiver.result.add_done_callback(finished)
        return receiver

    listener = await client.listen(me, {PROTOCOL_NAME: factory}, certs=certs,
                                   server=args.server, host=args.bind,
                                   description="vertex receive")
    _say(f"receiving files for {me.claim()} into {directory}")
    stopper = asyncio.ensure_future(_until_stopped())
    status = 0
    try:
        while True:
            getter = asyncio.ensure_future(done.get())
            finished, _ = await asyncio.wait({getter, stopper},
                                             return_when=asyncio.FIRST_COMPLETED)
            if getter not in finished:
                getter.cancel()
                break
            receiver, error = getter.result()
            method = _method_of(receiver.transport) if receiver.transport else "unknown"
            if error is not None:
                _warn(f"from {receiver.peer}: {error}")
                status = 1
            else:
                r = receiver.result.result()
                _say(f"received {r.name} ({r.size} bytes) from {receiver.peer} via {method}; "
                     f"sha256 {r.sha256} verified; saved as {directory / r.stored_as}")
                status = 0
            if args.once:
                await _drain(receiver)  # let our last frames reach the sender
                break
    finally:
        stopper.cancel()
        await listener.close()
    return status if args.once else 0


def _open_tunnel_peer(args: argparse.Namespace, me: Q2QAddress, certs: CertStore
                      ) -> Callable[[Callable[[], asyncio.Protocol]], Any]:
    from plait.vertex.q2q import client

    def opener(factory: Callable[[], asyncio.Protocol]) -> Any:
        return client.connect(me, args.peer, protocol_for_port(args.port), factory,
                              certs=certs, methods=_methods(args), timeout=args.timeout,
                              server=args.server)

    return opener


async def cmd_tunnel(args: argparse.Namespace) -> int:
    from plait.vertex.q2q import client

    certs = _certs(args)
    me = _me(args, certs)
    if args.tunnel_command == "expose":
        allow = AllowList(certs.path)
        me_text = str(me.claim())

        def check(transport: asyncio.Transport) -> str | None:
            peer = transport.get_extra_info("q2q_peer")
            if peer is None or allow.allows(me_text, str(peer)):
                return None
            return f"refused a tunnel from {peer}: not authorized (vertex authorize)"

        factory = expose_factory(args.host, args.port, on_error=_warn, check=check)
        listener = await client.listen(me, {protocol_for_port(args.port): factory},
                                       certs=certs, server=args.server, host=args.bind,
                                       description="vertex tunnel")
        _say(f"exposing {args.host}:{args.port} to peers of {me.claim()} as "
             f"{protocol_for_port(args.port)}")
        try:
            await _until_stopped()
        finally:
            await listener.close()
        return 0
    tunnel = TunnelListener(_open_tunnel_peer(args, me, certs), on_error=_warn)
    try:
        host, port = await tunnel.start(args.local_host, args.local_port)
    except OSError as e:
        raise Q2QError(f"cannot listen on {args.local_host}:{args.local_port}: "
                       f"{e.strerror or e}") from None
    _say(f"tunnel {host}:{port} -> {args.peer} port {args.port}")
    try:
        await _until_stopped()
    finally:
        await tunnel.close()
    return 0


COMMANDS = {
    "register": cmd_register,
    "request-cert": cmd_request_cert,
    "authorize": cmd_authorize,
    "send": cmd_send,
    "receive": cmd_receive,
    "tunnel": cmd_tunnel,
}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """The ``vertex`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = COMMANDS[args.command]
    try:
        return run(command(args))  # uvloop unless PLAIT_LOOP=asyncio
    except UsageError as e:
        _say(f"vertex {args.command}: {e}", sys.stderr)
        return 2
    except (Q2QError, FileTransferError) as e:
        _warn(_one_line(e))
        return 1
    except TimeoutError:
        _warn("timed out")
        return 1
    except (OSError, ValueError) as e:
        _warn(_one_line(e))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
