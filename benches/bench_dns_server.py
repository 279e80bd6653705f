"""Authoritative DNS server throughput: plait beside NSD and Twisted Names, measured by dnsperf.

Each server runs in its own process on 127.0.0.1 at a free port and serves the same zone file
(``example.com``: 1000 hosts with A, half with AAAA, 100 CNAME aliases, MX/TXT/NS at the apex);
the same dnsperf command replays the same query file (5000 queries: A, AAAA, CNAME, NXDOMAIN,
MX, TXT, NS, SOA, seeded) against each, over UDP::

    dnsperf -s 127.0.0.1 -p PORT -d QUERIES -l 4 -c 2 -Q 200000

three times after a one-second warm-up run, the servers' runs interleaved. The figure is the median run's "Queries per
second" as dnsperf reports it (wall clock, so the machine should be otherwise idle; dnsperf takes one of the two cores, the server the
other). NSD runs one server process (``server-count: 1``); Twisted is single-threaded; plait
answers UDP on one native thread (the DnsUdpPump: recvmmsg/sendmmsg batches) beside its event
loop, which serves TCP and the queries passed to Python. The plait server is ``python -m plait.names serve --bindzone FILE --port P``;
Twisted is ``twistd -n dns --bindzone FILE``.

Group ``dns-server`` (``benches/run.py --group dns-server``): dnsperf's queries/s; targets
plait >= 0.5x NSD and >= 10x Twisted. On a two-core machine dnsperf itself can be the limit for
the fastest server, so group ``dns-server-cpu`` gives, from the same runs, queries answered per
second of the server's own CPU time (user + system of its process and any children, read from
/proc before and after each run): the cost of a query, whoever the bottleneck is.
"""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _harness import QUICK, record

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from names.peers import NSD, PeerError, free_port, primary, require, serial_of

HOST = "127.0.0.1"
ORIGIN = "example.com."
HOSTS = 1000
ALIASES = 100
QUERIES = 5000
DURATION = 1 if QUICK else 4             # dnsperf -l of one round, seconds
ROUNDS = 1 if QUICK else 3               # the median round's rate is the figure
WARMUP = 1                               # seconds of dnsperf before the measured run
CLIENTS = 2                              # dnsperf -c
MAX_QPS = 200_000                        # dnsperf -Q: a ceiling no server here reaches
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def zone_text() -> str:
    """Every record written in full (owner, TTL, class) so Twisted's simple reader takes it."""
    o = ORIGIN
    lines = [
        f"$ORIGIN {o}",
        "$TTL 300",
        f"{o} 300 IN SOA ns1.{o} hostmaster.{o} 2024010101 3600 600 86400 300",
        f"{o} 300 IN NS ns1.{o}",
        f"{o} 300 IN NS ns2.{o}",
        f"{o} 300 IN MX 10 mail.{o}",
        f'{o} 300 IN TXT "v=spf1 mx -all"',
        f"ns1.{o} 300 IN A 127.0.0.1",
        f"ns2.{o} 300 IN A 127.0.0.2",
        f"mail.{o} 300 IN A 192.0.2.25",
    ]
    for i in range(HOSTS):
        lines.append(f"host{i}.{o} 300 IN A 10.0.{i // 256}.{i % 256}")
        if i % 2 == 0:
            lines.append(f"host{i}.{o} 300 IN AAAA 2001:db8::{i:x}")
    for i in range(ALIASES):
        lines.append(f"alias{i}.{o} 300 IN CNAME host{i * 7 % HOSTS}.{o}")
    return "\n".join(lines) + "\n"


def query_lines(seed: int = 4) -> list[str]:
    """dnsperf's input: one 'name type' a line, a fixed mix of answers, CNAMEs and misses."""
    rng = random.Random(seed)
    o = ORIGIN
    mix: list[tuple[float, Any]] = [
        (0.50, lambda: f"host{rng.randrange(HOSTS)}.{o} A"),
        (0.15, lambda: f"host{rng.randrange(0, HOSTS, 2)}.{o} AAAA"),
        (0.10, lambda: f"alias{rng.randrange(ALIASES)}.{o} A"),
        (0.10, lambda: f"missing{rng.randrange(10 * HOSTS)}.{o} A"),
        (0.05, lambda: f"{o} MX"),
        (0.04, lambda: f"{o} TXT"),
        (0.03, lambda: f"{o} NS"),
        (0.03, lambda: f"{o} SOA"),
    ]
    weights = [w for w, _ in mix]
    return [rng.choices(mix, weights)[0][1]() for _ in range(QUERIES)]


@dataclass
class PerfResult:
    qps: float
    completed: int
    sent: int
    lost: int
    rcodes: dict[str, int]
    output: str


def parse_dnsperf(out: str) -> PerfResult:
    """The figures of dnsperf's summary; PeerError if it has none."""
    def num(label: str) -> float:
        m = re.search(rf"{label}:\s+([0-9.]+)", out)
        if m is None:
            raise PeerError(f"dnsperf printed no '{label}':\n{out[-2000:]}")
        return float(m.group(1))

    rcodes = {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+) \(", out.split(
        "Response codes:", 1)[-1].splitlines()[0])} if "Response codes:" in out else {}
    return PerfResult(qps=num("Queries per second"), completed=int(num("Queries completed")),
                      sent=int(num("Queries sent")), lost=int(num("Queries lost")),
                      rcodes=rcodes, output=out)


def dnsperf(port: int, queries: Path, seconds: int) -> PerfResult:
    argv = [require("dnsperf"), "-s", HOST, "-p", str(port), "-d", str(queries),
            "-l", str(seconds), "-c", str(CLIENTS), "-Q", str(MAX_QPS), "-t", "2"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
    if p.returncode != 0:
        raise PeerError(f"dnsperf exited with {p.returncode}: {p.stderr[-1000:]}{p.stdout[-1000:]}")
    return parse_dnsperf(p.stdout)


class ServerProcess:
    """A DNS server command in a subprocess (its own session), ready when it serves the SOA."""

    def __init__(self, name: str, argv: list[str], port: int, workdir: Path) -> None:
        self.name, self.port = name, port
        self.log = workdir / f"{name}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while serial_of((HOST, port), ORIGIN, timeout=0.5) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PeerError(f"{name} did not start ({' '.join(argv)}):\n"
                                f"{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d: Path = tmp_path_factory.mktemp("dns-server")
    # Twisted's BindAuthority takes the origin from the file's name unless $ORIGIN says it
    (d / "example.com").write_text(zone_text())
    (d / "queries.txt").write_text("\n".join(query_lines()) + "\n")
    return d


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of session ``sid``
    (the server and any children it forked, as NSD does)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:     # field 6 of stat: the session id
            ticks += int(fields[11]) + int(fields[12])    # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    runs: list[PerfResult]
    cpu: list[float]            # server CPU seconds of each run

    @property
    def median(self) -> PerfResult:
        return sorted(self.runs, key=lambda x: x.qps)[len(self.runs) // 2]

    @property
    def per_cpu_second(self) -> float:
        """Queries answered per second of the server's CPU time (median run)."""
        rates = sorted(r.completed / c for r, c in zip(self.runs, self.cpu) if c > 0)
        return rates[len(rates) // 2] if rates else 0.0


IMPLS = ("plait", "nsd", "twisted")
_measured: dict[str, Measured] = {}


def measure_all(servers: dict[str, tuple[int, int]], workdir: Path) -> None:
    """dnsperf against every server, rounds interleaved (plait, nsd, twisted, plait, ...) so
    a change in the machine's other load falls on each alike; done once, shared by the tests
    of both groups."""
    todo = {impl: srv for impl, srv in servers.items() if impl not in _measured}
    if not todo:
        return
    queries = workdir / "queries.txt"
    for port, _sid in todo.values():
        dnsperf(port, queries, WARMUP)
    got = {impl: Measured([], []) for impl in todo}
    for _ in range(ROUNDS):
        for impl, (port, sid) in todo.items():
            before = session_cpu(sid)
            got[impl].runs.append(dnsperf(port, queries, DURATION))
            got[impl].cpu.append(session_cpu(sid) - before)
    for impl, m in got.items():
        _measured[impl] = m
        print(f"\n{impl}: {m.median.qps:,.0f} qps (runs {[round(x.qps) for x in m.runs]}), "
              f"server CPU {[round(c, 2) for c in m.cpu]} s, "
              f"{m.per_cpu_second:,.0f} queries per CPU second, "
              f"{m.median.lost} lost, {m.median.rcodes}")


def _bench(benchmark: Any, impl: str, servers: dict[str, Any], workdir: Path, *,
           per_cpu: bool) -> None:
    started = servers.get(impl)
    if isinstance(started, BaseException):
        raise started
    assert started is not None, f"{impl} was not started"
    running = {k: v for k, v in servers.items() if not isinstance(v, BaseException)}
    benchmark.pedantic(lambda: measure_all(running, workdir), rounds=1, iterations=1)
    m = _measured[impl]
    r = m.median
    record(benchmark, impl, per_round=r.completed, unit="queries")
    # measured outside this process (dnsperf's wall clock, or the server's own CPU time)
    benchmark.extra_info["rate"] = m.per_cpu_second if per_cpu else r.qps
    benchmark.extra_info["lost"] = r.lost
    benchmark.extra_info["rcodes"] = r.rcodes
    benchmark.extra_info["runs_qps"] = [round(x.qps) for x in m.runs]
    benchmark.extra_info["server_cpu_s"] = m.cpu
    assert r.completed > 0, r.output
    assert r.rcodes.get("NOERROR", 0) > 0 and r.rcodes.get("NXDOMAIN", 0) > 0, r.output


@contextmanager
def plait_server(workdir: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    server = ServerProcess("plait", [sys.executable, "-m", "plait.names", "serve", "--bindzone",
                                     str(workdir / "example.com"), "--port", str(port)],
                           port, workdir)
    try:
        yield port, server.proc.pid
    finally:
        server.stop()


@contextmanager
def twisted_server(workdir: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    twistd = Path(sys.executable).with_name("twistd")
    server = ServerProcess("twisted", [str(twistd), "-n", "--pidfile=", "-l", "-", "dns",
                                       "-i", HOST, "-p", str(port),
                                       "--bindzone", str(workdir / "example.com")],
                           port, workdir)
    try:
        yield port, server.proc.pid
    finally:
        server.stop()


@contextmanager
def nsd_server(workdir: Path) -> Iterator[tuple[int, int]]:
    with NSD([primary(ORIGIN, zone_text())]) as nsd:
        assert nsd.proc is not None
        yield nsd.port, nsd.proc.pid   # the launcher starts it in a session of its own


STARTERS = {"plait": plait_server, "nsd": nsd_server, "twisted": twisted_server}


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, workdir: Path) -> Iterator[dict[str, Any]]:
    """The servers whose tests were selected, all up at once (idle ones cost nothing);
    one that fails to start is reported by its own tests only."""
    wanted = {item.name.rsplit("_", 1)[-1] for item in request.session.items
              if getattr(item, "module", None) is request.module}
    out: dict[str, Any] = {}
    with ExitStack() as stack:
        for impl in IMPLS:
            if impl in wanted:
                try:
                    out[impl] = stack.enter_context(STARTERS[impl](workdir))
                except (PeerError, OSError) as exc:
                    out[impl] = exc
        yield out


@pytest.mark.benchmark(group="dns-server")
def test_dns_server_plait(benchmark: Any, servers: dict[str, Any], workdir: Path) -> None:
    _bench(benchmark, "plait", servers, workdir, per_cpu=False)


@pytest.mark.benchmark(group="dns-server")
def test_dns_server_nsd(benchmark: Any, servers: dict[str, Any], workdir: Path) -> None:
    _bench(benchmark, "nsd", servers, workdir, per_cpu=False)


@pytest.mark.benchmark(group="dns-server")
def test_dns_server_twisted(benchmark: Any, servers: dict[str, Any], workdir: Path) -> None:
    _bench(benchmark, "twisted", servers, workdir, per_cpu=False)


@pytest.mark.benchmark(group="dns-server-cpu")
def test_dns_server_cpu_plait(benchmark: Any, servers: dict[str, Any], workdir: Path) -> None:
    _bench(benchmark, "plait", servers, workdir, per_cpu=True)


@pytest.mark.benchmark(group="dns-server-cpu")
def test_dns_server_cpu_nsd(benchmark: Any, servers: dict[str, Any], workdir: Path) -> None:
    _bench(benchmark, "nsd", servers, workdir, per_cpu=True)


@pytest.mark.benchmark(group="dns-server-cpu")
def test_dns_server_cpu_twisted(benchmark: Any, servers: dict[str, Any],
                                workdir: Path) -> None:
    _bench(benchmark, "twisted", servers, workdir, per_cpu=True)
