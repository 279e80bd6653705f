"""``python -m plait.names query``: a dig-like query tool.

    python -m plait.names query NAME [TYPE] [CLASS] [@SERVER] [-p PORT] [-x ADDR]
        [+tcp] [+norecurse] [+dnssec] [+short] [+noedns] [+timeout=N] [+tries=N]

The output is dig's: the header line (opcode, status, id), the flags and counts, the
sections in zone-file syntax, the query time and the server. ``TYPE`` AXFR transfers the
zone over TCP. Errors are one line on stderr: exit status 2 for a usage error, 1 when no
answer could be had.
"""
from __future__ import annotations

import asyncio
import ipaddress
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from .constants import Opcode, Rcode, RRClass, RRType, class_to_text, type_to_text
from .errors import DNSError, DNSTimeoutError
from .hosts import reverse_name
from .message import RR, Message
from .name import Name
from .resolv_conf import load_resolv_conf
from .stub import StubResolver

__all__ = ["USAGE", "main", "run"]

USAGE = ("usage: python -m plait.names query NAME [TYPE] [CLASS] [@SERVER] [-p PORT] "
         "[-x ADDR] [+tcp] [+norecurse] [+dnssec] [+short] [+noedns] [+timeout=N] "
         "[+tries=N]")

HELP = """
Ask SERVER (default: the first nameserver of /etc/resolv.conf) for NAME's records of TYPE
(default A) and CLASS (default IN), and print the response as dig does.

  @SERVER       server address or host name      -p PORT      server port (53)
  -x ADDR       reverse lookup (PTR of ADDR)     -t TYPE / -c CLASS
  +tcp          query over TCP                   +norecurse   clear RD
  +dnssec       set the DO bit                   +short       print the answer data only
  +noedns       no EDNS0                         +timeout=N   seconds per try (5)
  +tries=N      tries (3)                        TYPE AXFR    zone transfer over TCP
"""

MAX_TIMEOUT = 300      # seconds per try
MAX_TRIES = 20


class UsageError(ValueError):
    """A command line that cannot be run."""


@dataclass
class Options:
    """What the command line asked for."""

    name: Name | None = None
    rtype: int = RRType.A
    rclass: int = RRClass.IN
    server: str | None = None
    port: int = 53
    tcp: bool = False
    recurse: bool = True
    dnssec: bool = False
    short: bool = False
    edns: bool = True
    timeout: float = 5.0
    tries: int = 3


def _type(word: str) -> int | None:
    up = word.upper()
    if up in RRType.__members__:
        return int(RRType[up])
    if up.startswith("TYPE") and up[4:].isdigit() and int(up[4:]) < 65536:
        return int(up[4:])
    return None


def _class(word: str) -> int | None:
    up = word.upper()
    if up in RRClass.__members__:
        return int(RRClass[up])
    if up.startswith("CLASS") and up[5:].isdigit() and int(up[5:]) < 65536:
        return int(up[5:])
    return None


def _int(option: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise UsageError(f"{option}: expected a number from {low} to {high}, got {value!r}")
    return int(value)


def _name(text: str) -> Name:
    try:
        return Name.from_text(text if text.endswith(".") else text + ".")
    except ValueError as exc:
        raise UsageError(f"bad name {text!r}: {exc}") from None


def parse_args(argv: Sequence[str]) -> Options:
    """The options of a command line; raises :class:`UsageError`."""
    opts = Options()
    typed = classed = False
    args = list(argv)
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word.startswith("@") and len(word) > 1:
            opts.server = word[1:]
        elif word in ("-p", "-x", "-t", "-c"):
            if i >= len(args):
                raise UsageError(f"{word} needs a value")
            value = args[i]
            i += 1
            if word == "-p":
                opts.port = _int("-p", value, 1, 65535)
            elif word == "-x":
                try:
                    opts.name = reverse_name(value)
                except ValueError:
                    raise UsageError(f"-x: not an IP address: {value!r}") from None
                opts.rtype = RRType.PTR
                typed = True
            elif word == "-t":
                rtype = _type(value)
                if rtype is None:
                    raise UsageError(f"unknown type {value!r}")
                opts.rtype, typed = rtype, True
            else:
                rclass = _class(value)
                if rclass is None:
                    raise UsageError(f"unknown class {value!r}")
                opts.rclass, classed = rclass, True
        elif word.startswith("+") and len(word) > 1:
            _plus(opts, word[1:])
        elif word.startswith("-") and len(word) > 1:
            raise UsageError(f"unknown option {word}")
        elif opts.name is None:
            opts.name = _name(word)
        elif not typed and (rtype := _type(word)) is not None:
            opts.rtype, typed = rtype, True
        elif not classed and (rclass := _class(word)) is not None:
            opts.rclass, classed = rclass, True
        else:
            raise UsageError(f"unexpected argument {word!r} (unknown type or class?)")
    if opts.name is None:
        raise UsageError("no name to query")
    return opts


def _plus(opts: Options, option: str) -> None:
    key, _, value = option.partition("=")
    flags = {"tcp": "tcp", "vc": "tcp", "recurse": "recurse", "dnssec": "dnssec",
             "short": "short", "edns": "edns"}
    if key in flags and not value:
        setattr(opts, flags[key], True)
    elif key.startswith("no") and key[2:] in flags and not value:
        setattr(opts, flags[key[2:]], False)
    elif key == "timeout":
        opts.timeout = float(_int("+timeout", value, 1, MAX_TIMEOUT))
    elif key == "tries":
        opts.tries = _int("+tries", value, 1, MAX_TRIES)
    elif key == "retry":
        opts.tries = _int("+retry", value, 0, MAX_TRIES - 1) + 1
    else:
        raise UsageError(f"unknown option +{option}")


def _rr_line(rr: RR) -> str:
    return (f"{rr.name}\t{rr.ttl}\t{class_to_text(rr.rclass)}\t{type_to_text(rr.rtype)}\t"
            f"{rr.rdata.to_text()}")


def _enum_text(enum: type[Opcode | Rcode], value: int) -> str:
    try:
        return enum(value).name
    except ValueError:
        return str(value)


def format_response(response: Message, *, short: bool = False,
                    asked_recursion: bool = False) -> str:
    """The response as dig prints it (without the trailer)."""
    if short:
        return "".join(rr.rdata.to_text() + "\n" for rr in response.answers)
    flags = " ".join(f for f in ("qr", "aa", "tc", "rd", "ra", "ad", "cd")
                     if getattr(response, f))
    extra = 1 if response.edns is not None else 0
    lines = [
        ";; Got answer:",
        (f";; ->>HEADER<<- opcode: {_enum_text(Opcode, response.opcode)}, "
        f"status: {_enum_text(Rcode, response.rcode)}, id: {response.id}"),
        (f";; flags: {flags}; QUERY: {len(response.questions)}, "
        f"ANSWER: {len(response.answers)}, AUTHORITY: {len(response.authority)}, "
        f"ADDITIONAL: {len(response.additional) + extra}"),
    ]
    if asked_recursion and not response.ra:
        lines.append(";; WARNING: recursion requested but not available")
    if response.edns is not None:
        e = response.edns
        lines += ["", ";; OPT PSEUDOSECTION:",
                  (f"; EDNS: version: {e.version}, flags:{' do' if e.dnssec_ok else ''}; "
                  f"udp: {e.udp_size}")]
    if response.questions:
        lines += ["", ";; QUESTION SECTION:"]
        lines += [f";{q.name}\t\t{class_to_text(q.rclass)}\t{type_to_text(q.rtype)}"
                  for q in response.questions]
    for title, section in (("ANSWER", response.answers), ("AUTHORITY", response.authority),
                           ("ADDITIONAL", response.additional)):
        if section:
            lines += ["", f";; {title} SECTION:"]
            lines += [_rr_line(rr) for rr in section]
    return "\n".join(lines) + "\n"


async def _server_address(server: str | None) -> str:
    if server is None:
        return load_resolv_conf().nameservers[0][0]
    try:
        return str(ipaddress.ip_address(server.partition("%")[0]))
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(server, None, proto=6)
    except OSError as exc:
        raise DNSError(f"couldn't get address for '{server}': {exc}") from None
    if not infos:
        raise DNSError(f"couldn't get address for '{server}'")
    return str(infos[0][4][0])


async def run(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The command, in a running event loop; returns the exit status."""
    if any(a in ("-h", "--help") for a in argv):
        out.write(USAGE + "\n" + HELP)
        return 0
    try:
        opts = parse_args(argv)
    except UsageError as exc:
        err.write(f"query: {exc}\n{USAGE}\n")
        return 2
    assert opts.name is not None
    try:
        address = await _server_address(opts.server)
    except DNSError as exc:
        err.write(f"query: {exc}\n")
        return 1
    server = (address, opts.port)
    started = time.monotonic()
    if opts.rtype in (RRType.AXFR, RRType.IXFR):
        return await _transfer(opts, server, started, out, err)
    stub = StubResolver([server], timeout=opts.timeout, attempts=opts.tries,
                        edns_payload=1232 if opts.edns else None)
    query = stub.make_query(opts.name, opts.rtype, opts.rclass, rd=opts.recurse,
                            dnssec=opts.dnssec)
    try:
        got = await stub.send_exchange(query, tcp=opts.tcp, raise_for_rcode=False)
    except DNSTimeoutError as exc:
        err.write(f";; no servers could be reached: {exc}\n")
        return 1
    except (DNSError, OSError, ValueError) as exc:
        err.write(f"query: {address}#{opts.port}: {exc}\n")
        return 1
    elapsed = int((time.monotonic() - started) * 1000)
    response = got.response
    if opts.short:
        out.write(format_response(response, short=True))
        return 0
    out.write(f"\n; <<>> plait query <<>> {' '.join(argv)}\n")
    out.write(format_response(response, asked_recursion=query.rd))
    out.write(f"\n;; Query time: {elapsed} msec\n;; SERVER: {address}#{opts.port}"
              f"({opts.server or address}) ({'TCP' if got.tcp else 'UDP'})\n"
              f";; WHEN: {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())}\n"
              f";; MSG SIZE  rcvd: {got.size}\n\n")
    return 0


async def _transfer(opts: Options, server: tuple[str, int], started: float,
                    out: TextIO, err: TextIO) -> int:
    from .xfr_client import axfr
    assert opts.name is not None
    try:
        zone = await axfr(server, opts.name, timeout=opts.timeout * opts.tries)
    except TimeoutError:
        err.write(f";; connection timed out; no servers could be reached ({server[0]}#"
                  f"{server[1]})\n")
        return 1
    except (DNSError, OSError, EOFError, ValueError) as exc:
        err.write(f"query: transfer of {opts.name} from {server[0]}#{server[1]} failed: "
                  f"{exc}\n")
        return 1
    records = (*zone.records, zone.soa)
    if opts.short:
        out.write("".join(rr.rdata.to_text() + "\n" for rr in records))
        return 0
    elapsed = int((time.monotonic() - started) * 1000)
    out.write(f"\n; <<>> plait query <<>> AXFR {opts.name}\n")
    out.write("".join(_rr_line(rr) + "\n" for rr in records))
    out.write(f";; Query time: {elapsed} msec\n;; SERVER: {server[0]}#{server[1]}\n"
              f";; XFR size: {len(records)} records\n\n")
    return 0


def main(argv: list[str]) -> int:
    """Run the command (outside any event loop) and return its exit status."""
    try:
        return asyncio.run(run(argv))
    except KeyboardInterrupt:
        return 1
