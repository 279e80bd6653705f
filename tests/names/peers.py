"""Real DNS peers for interop tests: NSD, BIND named, Knot and Unbound, plus dig/kdig/drill.

Each daemon runs as a subprocess in the foreground mode it has, as the current user, in its own
temporary directory, listening only on 127.0.0.1 at a free high port picked here, with a
config file written from Python (zones given as zone-file text). ``start()`` waits (bounded)
until it answers an SOA query; ``stop()`` ends it by PID (SIGTERM, then SIGKILL to its own
process group). Use them as context managers::

    from names.peers import NSD, Named, primary, secondary, dig

    with NSD([primary("example.com.", ZONE_TEXT, notify=[("127.0.0.1", port)])]) as nsd:
        print(dig("example.com", "SOA", server=nsd.address))

The Debian packages come from ``make peers`` (``make test`` depends on it): a missing binary
fails loudly with that hint rather than skipping.
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self, TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from process_group import stop_process_group

HOST = "127.0.0.1"
START_TIMEOUT = 30.0       # seconds for a daemon to answer its first query
STOP_TIMEOUT = 10.0        # seconds between SIGTERM and SIGKILL
TOOL_TIMEOUT = 30.0        # seconds for one dig/kdig/drill run
PORT_RANGE = (20000, 60000)
PORT_TRIES = 50            # random ports tried before giving up
START_TRIES = 3            # launches tried when a daemon dies at start (a port taken meanwhile)

Address = tuple[str, int]
T = TypeVar("T")


class PeerError(RuntimeError):
    """A peer could not be started, or a peer tool failed."""


def require(binary: str) -> str:
    """The path of ``binary``, or PeerError naming the make target that installs it."""
    path = shutil.which(binary) or next(
        (p for d in ("/usr/sbin", "/usr/bin") if os.access(p := f"{d}/{binary}", os.X_OK)), None)
    if path is None:
        raise PeerError(f"{binary} is not installed: run `make peers` (as root)")
    return path


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port() -> int:
    """A random high port free for both TCP and UDP on 127.0.0.1 right now."""
    for _ in range(PORT_TRIES):
        port = random.randint(*PORT_RANGE)
        if _port_free(port):
            return port
    raise PeerError(f"no free port on {HOST} after {PORT_TRIES} tries")


def _dotted(origin: str) -> str:
    return origin if origin.endswith(".") else origin + "."


def _bare(origin: str) -> str:
    return origin.rstrip(".") or "."


@dataclass(frozen=True)
class PeerZone:
    """One zone of a peer: a primary (``text`` given) or a secondary (``primaries`` given)."""

    origin: str
    text: str | None = None                       # zone-file text: this peer is a primary
    primaries: Sequence[Address] = ()             # this peer is a secondary of these
    notify: Sequence[Address] = ()                # send NOTIFY here when the zone loads/changes
    allow_transfer: Sequence[str] = ("127.0.0.0/8",)
    allow_notify: Sequence[str] = ("127.0.0.0/8",)

    def __post_init__(self) -> None:
        if (self.text is None) == (not self.primaries):
            raise ValueError(f"{self.origin}: give zone text (primary) or primaries (secondary)")

    @property
    def fqdn(self) -> str:
        return _dotted(self.origin)

    @property
    def filename(self) -> str:
        return (_bare(self.origin).replace("/", "_") or "root") + ".zone"


def primary(origin: str, text: str, *, notify: Sequence[Address] = (),
            allow_transfer: Sequence[str] = ("127.0.0.0/8",)) -> PeerZone:
    """A zone served from ``text``; NOTIFY sent to ``notify``; AXFR allowed to ``allow_transfer``."""
    return PeerZone(origin, text=text, notify=tuple(notify), allow_transfer=tuple(allow_transfer))


def secondary(origin: str, primaries: Sequence[Address], *,
              allow_notify: Sequence[str] = ("127.0.0.0/8",),
              notify: Sequence[Address] = ()) -> PeerZone:
    """A zone transferred from ``primaries``, refreshed when one of them sends NOTIFY."""
    return PeerZone(origin, primaries=tuple(primaries), allow_notify=tuple(allow_notify),
                    notify=tuple(notify))


def query(address: Address, qname: str, qtype: str = "SOA", *, timeout: float = 2.0,
          tcp: bool = False) -> dns.message.Message:
    """One query with dnspython; raises dns.exception.Timeout when nothing answers."""
    q = dns.message.make_query(qname, dns.rdatatype.from_text(qtype))
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, address[0], port=address[1], timeout=timeout)
    return dns.query.udp(q, address[0], port=address[1], timeout=timeout)


def serial_of(address: Address, origin: str, *, timeout: float = 2.0) -> int | None:
    """The SOA serial ``address`` serves for ``origin`` with AA set, or None (not served yet)."""
    try:
        r = query(address, _dotted(origin), "SOA", timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AA:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(rrset[0].serial)
    return None


class Daemon:
    """A DNS daemon in a temp dir on 127.0.0.1:<port>, in the foreground, stopped by PID."""

    name: ClassVar[str] = "daemon"
    binary: ClassVar[str] = ""

    def __init__(self, zones: Iterable[PeerZone] = (), *, port: int | None = None,
                 start_timeout: float = START_TIMEOUT) -> None:
        self.zones = list(zones)
        self.fixed_port = port
        self.port = port or 0
        self.start_timeout = start_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.dir = Path()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> Address:
        return (HOST, self.port)

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.out"

    def log(self) -> str:
        """What the daemon wrote to stdout/stderr (and its own log file, if any)."""
        parts = []
        for path in (self.log_path, *self.extra_logs()):
            try:
                parts.append(path.read_text(errors="replace"))
            except OSError:
                pass
        return "".join(parts)

    def extra_logs(self) -> list[Path]:
        return []

    # -- what each daemon defines

    def write_config(self) -> list[str]:
        """Write config and zone files into self.dir; the argv to run in the foreground."""
        raise PeerError(f"{type(self).__name__} does not define write_config")

    def ready(self) -> bool:
        """True once the daemon answers: primaries with their SOA, others with any response."""
        for zone in self.zones:
            if zone.text is not None:
                return serial_of(self.address, zone.origin, timeout=0.5) is not None
        try:
            query(self.address, self.zones[0].fqdn if self.zones else ".", "SOA", timeout=0.5)
        except (dns.exception.DNSException, OSError):
            return False
        return True

    # -- lifecycle

    def start(self) -> Self:
        require(self.binary)
        last = ""
        for _ in range(1 if self.fixed_port else START_TRIES):
            self._tmp = tempfile.TemporaryDirectory(prefix=f"plait-{self.name}-")
            self.dir = Path(self._tmp.name)
            self.port = self.fixed_port or free_port()
            argv = self.write_config()
            with open(self.log_path, "wb") as out:
                self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.ready():
                    return self
                time.sleep(0.05)
            exited = self.proc.poll() is not None
            last = (f"{self.name} exited with status {self.proc.returncode}" if exited
                    else f"{self.name} did not answer within {self.start_timeout}s")
            last += f" (port {self.port}); its output:\n{self.log()[-3000:]}"
            self.stop()
            if not exited:  # running but not answering: a config or zone problem, not a port
                break
        raise PeerError(last)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            # children it forked (nsd's xfrd and servers) share its new session's group
            stop_process_group(proc, STOP_TIMEOUT)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def wait_serial(self, origin: str, serial: int, timeout: float = 30.0) -> int:
        """Wait (bounded) until the daemon serves ``origin`` with a serial >= ``serial``."""
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = serial_of(self.address, origin, timeout=0.5)
            if got is not None and got >= serial:
                return got
            time.sleep(0.1)
        raise PeerError(f"{self.name} serves {origin} with serial {got}, not >= {serial} after "
                        f"{timeout}s; its output:\n{self.log()[-3000:]}")

    def set_zone(self, origin: str, text: str) -> None:
        """Replace a primary zone's text and make the daemon reload it (SIGHUP, which NSD,
        named and knotd each take as "reload"); it then NOTIFYs the zone's ``notify`` list.
        Wait for the new serial with ``wait_serial``."""
        for i, zone in enumerate(self.zones):
            if zone.fqdn.lower() == _dotted(origin).lower() and zone.text is not None:
                self.zones[i] = PeerZone(zone.origin, text=text, notify=zone.notify,
                                         allow_transfer=zone.allow_transfer)
                (self.dir / zone.filename).write_text(text)
                break
        else:
            raise PeerError(f"{self.name} is not a primary for {origin}")
        if self.proc is None or self.proc.poll() is not None:
            raise PeerError(f"{self.name} is not running")
        self.proc.send_signal(signal.SIGHUP)

    def write_zones(self) -> None:
        for zone in self.zones:
            if zone.text is not None:
                (self.dir / zone.filename).write_text(zone.text)


def _addr(a: Address, sep: str = "@") -> str:
    return f"{a[0]}{sep}{a[1]}"


class NSD(Daemon):
    """NSD 4 (``nsd -d``): primaries with notify/provide-xfr, secondaries with request-xfr."""

    name = "nsd"
    binary = "nsd"

    def write_config(self) -> list[str]:
        self.write_zones()
        d = self.dir
        (d / "xfr").mkdir()
        lines = [
            "server:",
            f"  ip-address: {HOST}@{self.port}",
            f"  port: {self.port}",
            "  do-ip6: no",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{d}"',
            '  database: ""',
            f'  zonelistfile: "{d}/zone.list"',
            f'  xfrdfile: "{d}/xfrd.state"',
            f'  xfrdir: "{d}/xfr"',
            f'  pidfile: "{d}/nsd.pid"',
            f'  logfile: "{d}/nsd.log"',
            "  server-count: 1",
            "  verbosity: 2",
            "  zonefiles-write: 0",
            "  xfrd-reload-timeout: 0",
            "  rrl-ratelimit: 0",            # response rate limiting off: tests and benches
            "  rrl-whitelist-ratelimit: 0",  # send bursts from one address
            "remote-control:",
            "  control-enable: no",
        ]
        for z in self.zones:
            lines += ["zone:", f"  name: {z.fqdn}", f'  zonefile: "{d}/{z.filename}"']
            lines += [f"  notify: {_addr(a)} NOKEY" for a in z.notify]
            lines += [f"  provide-xfr: {net} NOKEY" for net in z.allow_transfer]
            lines += [f"  request-xfr: {_addr(a)} NOKEY" for a in z.primaries]
            if z.primaries:
                lines += [f"  allow-notify: {net} NOKEY" for net in z.allow_notify]
        (d / "nsd.conf").write_text("\n".join(lines) + "\n")
        return [require("nsd"), "-d", "-c", str(d / "nsd.conf")]

    def extra_logs(self) -> list[Path]:
        return [self.dir / "nsd.log"]


def _acl(nets: Sequence[str]) -> str:
    return " ".join(f"{n};" for n in nets) or "none;"


class Named(Daemon):
    """BIND 9 named (``named -g``): primaries and secondaries (``primaries { ip port p; }``)."""

    name = "named"
    binary = "named"

    def write_config(self) -> list[str]:
        self.write_zones()
        d = self.dir
        conf = [
            "options {",
            f'  directory "{d}";',
            f"  listen-on port {self.port} {{ {HOST}; }};",
            "  listen-on-v6 { none; };",
            f'  pid-file "{d}/named.pid";',
            f'  session-keyfile "{d}/session.key";',
            f'  managed-keys-directory "{d}";',
            "  recursion no;",
            "  dnssec-validation no;",
            "  allow-query { any; };",
            "  notify explicit;",
            "  minimal-responses no;",
            "};",
            "controls { };",
            ("logging { channel out { stderr; severity info; print-time yes; };"
             " category default { out; }; category xfer-in { out; }; category notify { out; }; };"),
        ]
        for z in self.zones:
            conf.append(f'zone "{z.fqdn}" {{')
            if z.text is not None:
                conf += ["  type primary;", f'  file "{d}/{z.filename}";']
            else:
                prim = " ".join(f"{a[0]} port {a[1]};" for a in z.primaries)
                conf += ["  type secondary;", f'  file "{d}/{z.filename}.bk";',
                         f"  primaries {{ {prim} }};",
                         f"  allow-notify {{ {_acl(z.allow_notify)} }};"]
            conf.append(f"  allow-transfer {{ {_acl(z.allow_transfer)} }};")
            if z.notify:
                targets = " ".join(f"{a[0]} port {a[1]};" for a in z.notify)
                conf += [f"  also-notify {{ {targets} }};"]
            conf.append("};")
        (d / "named.conf").write_text("\n".join(conf) + "\n")
        return [require("named"), "-g", "-4", "-n", "1", "-c", str(d / "named.conf")]


class Knot(Daemon):
    """Knot DNS 3 (``knotd``, foreground by default): primaries and secondaries."""

    name = "knotd"
    binary = "knotd"

    def write_config(self) -> list[str]:
        self.write_zones()
        d = self.dir
        remotes: dict[Address, str] = {}
        for z in self.zones:
            for a in (*z.primaries, *z.notify):
                remotes.setdefault(a, f"r{len(remotes)}")
        conf = [
            "server:",
            f"  listen: {HOST}@{self.port}",
            f'  rundir: "{d}"',
            f'  pidfile: "{d}/knot.pid"',
            "  background-workers: 1",
            "  tcp-workers: 1",
            "  udp-workers: 1",
            "control:",
            f'  listen: "{d}/knot.sock"',
            "database:",
            f'  storage: "{d}"',
            "log:",
            "  - target: stderr",
            "    any: info",
        ]
        if remotes:
            conf.append("remote:")
            for a, rid in remotes.items():
                conf += [f"  - id: {rid}", f"    address: {_addr(a)}"]
        conf += ["acl:"]
        for i, z in enumerate(self.zones):
            conf += [f"  - id: xfr{i}", f"    address: [{', '.join(z.allow_transfer)}]",
                     "    action: transfer",
                     f"  - id: notify{i}", f"    address: [{', '.join(z.allow_notify)}]",
                     "    action: notify"]
        conf += ["zone:"]
        for i, z in enumerate(self.zones):
            conf += [f"  - domain: {z.fqdn}", f'    storage: "{d}"']
            if z.text is not None:
                conf += [f'    file: "{d}/{z.filename}"', "    zonefile-sync: -1",
                         "    journal-content: none", f"    acl: [xfr{i}]"]
            else:
                conf += [f'    file: "{d}/{z.filename}.bk"',
                         f"    master: [{', '.join(remotes[a] for a in z.primaries)}]",
                         f"    acl: [xfr{i}, notify{i}]"]
            if z.notify:
                conf.append(f"    notify: [{', '.join(remotes[a] for a in z.notify)}]")
        (d / "knot.conf").write_text("\n".join(conf) + "\n")
        return [require("knotd"), "-c", str(d / "knot.conf")]


class Unbound(Daemon):
    """Unbound (``unbound -d``), a resolver with stub zones pointing at address@port.

    No root key and no validation (``module-config: "iterator"``), no chroot, and
    ``do-not-query-localhost: no`` so the stubs may be on 127.0.0.1.
    """

    name = "unbound"
    binary = "unbound"

    def __init__(self, stubs: dict[str, Sequence[Address]] | None = None, *,
                 port: int | None = None, start_timeout: float = START_TIMEOUT) -> None:
        super().__init__((), port=port, start_timeout=start_timeout)
        self.stubs = dict(stubs or {})

    def write_config(self) -> list[str]:
        d = self.dir
        conf = [
            "server:",
            f"  interface: {HOST}@{self.port}",
            f"  port: {self.port}",
            "  do-ip6: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{d}"',
            f'  pidfile: "{d}/unbound.pid"',
            '  logfile: ""',
            "  use-syslog: no",
            "  verbosity: 1",
            "  num-threads: 1",
            "  do-not-query-localhost: no",
            '  module-config: "iterator"',
            "  access-control: 127.0.0.0/8 allow",
            "  qname-minimisation: no",
            "  so-reuseport: no",
            "remote-control:",
            "  control-enable: no",
        ]
        for name, addrs in self.stubs.items():
            conf += ["stub-zone:", f'  name: "{_dotted(name)}"']
            conf += [f"  stub-addr: {_addr(a)}" for a in addrs]
        (d / "unbound.conf").write_text("\n".join(conf) + "\n")
        return [require("unbound"), "-d", "-c", str(d / "unbound.conf")]

    def ready(self) -> bool:
        # unbound answers localhost. itself (a default local-zone): no stub involved
        try:
            r = query(self.address, "localhost.", "A", timeout=0.5)
        except (dns.exception.DNSException, OSError):
            return False
        return r.rcode() == dns.rcode.NOERROR


class PlaitProcess(Daemon):
    """``python -m plait.names serve`` as a subprocess, like the other daemons: primaries
    from zone files (``--zone``), secondaries (``--secondary ADDR:PORT/ZONE``), each zone's
    ``notify`` targets (``--notify``) and ``allow_transfer`` networks (``--allow-transfer``)."""

    name = "plait"
    binary = sys.executable

    def write_config(self) -> list[str]:
        self.write_zones()
        argv = [sys.executable, "-m", "plait.names", "serve", "--interface", HOST,
                "--port", str(self.port)]
        notify: list[Address] = []
        nets: list[str] = []
        for z in self.zones:
            if z.text is not None:
                argv += ["--zone", str(self.dir / z.filename)]
            for a in z.primaries:
                argv += ["--secondary", f"{a[0]}:{a[1]}/{z.fqdn}"]
            notify += [a for a in z.notify if a not in notify]
            nets += [n for n in z.allow_transfer if n not in nets]
        for a in notify:
            argv += ["--notify", f"{a[0]}:{a[1]}"]
        for n in nets:
            argv += ["--allow-transfer", n]
        return argv

    def set_zone(self, origin: str, text: str) -> None:
        """Not offered: ``python -m plait.names serve`` has no reload signal (SIGHUP would
        end it). Use PlaitServer and its catalog to change a zone while serving."""
        raise PeerError("python -m plait.names serve does not reload zone files; "
                        "use PlaitServer and put() into its catalog")


# ---------------------------------------------------------------- plait's own server


class PlaitServer:
    """plait's ``serve()`` on its own event loop in a thread of this process, so blocking
    tools (dig, dnsperf, daemons) can talk to it from the test. ``zones`` are
    (origin, zone-file text) pairs; ``loop`` is "uvloop" (what ``python -m plait.names``
    runs on) or "asyncio"; other keyword arguments go to ``serve()``."""

    def __init__(self, zones: Sequence[tuple[str, str]] = (), *, catalog: object = None,
                 loop: str = "uvloop", timeout: float = START_TIMEOUT,
                 **serve_kwargs: object) -> None:
        if loop not in ("uvloop", "asyncio"):
            raise ValueError(f"loop must be 'uvloop' or 'asyncio', not {loop!r}")
        self.loop_kind = loop
        self.zone_texts = list(zones)
        self.catalog = catalog
        self.timeout = timeout
        self.serve_kwargs = serve_kwargs
        self.server: object = None
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> Address:
        return (HOST, self.port)

    async def _start(self) -> object:
        from plait.names.catalog import ZoneCatalog
        from plait.names.server import serve
        from plait.names.zone import Zone
        from plait.names.zonefile import parse_zone

        if self.catalog is None:
            self.catalog = ZoneCatalog()
        for origin, text in self.zone_texts:
            self.catalog.put(Zone.from_records(origin, parse_zone(text, origin)))  # type: ignore[attr-defined]
        return await serve(self.catalog, HOST, 0, **self.serve_kwargs)  # type: ignore[arg-type]

    def call(self, coro: Coroutine[object, object, T]) -> T:
        """Run ``coro`` on the server's loop and wait (bounded) for its result."""
        assert self.loop is not None, "the server is not started"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)

    def start(self) -> Self:
        if self.loop_kind == "uvloop":
            import uvloop
            self.loop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="plait-dns",
                                        daemon=True)
        self._thread.start()
        try:
            self.server = self.call(self._start())
        except BaseException:
            self.stop()
            raise
        self.port = self.server.port  # type: ignore[attr-defined]
        return self

    def stop(self) -> None:
        loop, self.loop = self.loop, None
        if loop is None:
            return
        server, self.server = self.server, None
        try:
            if server is not None:
                asyncio.run_coroutine_threadsafe(
                    server.close(), loop).result(self.timeout)  # type: ignore[attr-defined]
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(self.timeout)
            loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# ---------------------------------------------------------------- query tools


def _run(argv: list[str], timeout: float, check: bool) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise PeerError(f"{' '.join(argv)} did not finish within {timeout}s") from e
    if check and p.returncode != 0:
        raise PeerError(f"{' '.join(argv)} exited with status {p.returncode}:\n"
                        f"{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout


def dig(*args: str, server: Address | None = None, timeout: float = TOOL_TIMEOUT,
        check: bool = True) -> str:
    """Run BIND's dig (one try, 3 s wait unless ``args`` say otherwise); its stdout."""
    argv = [require("dig"), "+tries=1", "+time=3"]
    if server is not None:
        argv += [f"@{server[0]}", "-p", str(server[1])]
    return _run([*argv, *args], timeout, check)


def kdig(*args: str, server: Address | None = None, timeout: float = TOOL_TIMEOUT,
         check: bool = True) -> str:
    """Run Knot's kdig (no retry, 3 s wait unless ``args`` say otherwise); its stdout."""
    argv = [require("kdig"), "+retry=0", "+time=3"]
    if server is not None:
        argv += [f"@{server[0]}", "-p", str(server[1])]
    return _run([*argv, *args], timeout, check)


def drill(*args: str, server: Address | None = None, timeout: float = TOOL_TIMEOUT,
          check: bool = True) -> str:
    """Run ldns's drill; its stdout. Options must precede the name (drill's own rule)."""
    argv = [require("drill")]
    if server is not None:
        argv += ["-p", str(server[1])]
    argv += list(args)
    if server is not None:
        argv.append(f"@{server[0]}")
    return _run(argv, timeout, check)


PEERS: dict[str, type[Daemon]] = {"nsd": NSD, "named": Named, "knotd": Knot, "unbound": Unbound,
                                  "plait": PlaitProcess}
