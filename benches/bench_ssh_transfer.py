"""SSH bulk transfer and connection set-up: plait beside OpenSSH and asyncssh, on 127.0.0.1.

Transfer (groups ``ssh-transfer-aes128-gcm`` and ``ssh-transfer-chacha20-poly1305``, the
cipher forced on both ends): 200 MiB of random bytes written into a session channel whose
command is ``cat > /dev/null``, over a connection already up (key exchange and login are
not timed); the figure is MB/s of wall clock from opening the channel to its exit status,
the median of three rounds, the pairs' rounds interleaved. The pairs (the last word of each
benchmark's name):

* ``sshd``        OpenSSH ``ssh`` -> OpenSSH ``sshd`` (the reference; ``ssh`` runs as a
                  ControlMaster multiplexing client, so each round opens only a channel)
* ``plaitserver`` OpenSSH ``ssh`` -> the plait server (a subprocess: this file's ``serve``)
* ``plaitclient`` the plait client (in this process, uvloop) -> ``sshd``
* ``asyncssh``    the asyncssh client (in this process, uvloop) -> ``sshd``
* ``plait``       the plait client -> the plait server

For the in-process clients the report also gives MB moved per CPU second of this process
(the client alone, the server being another process): on a small machine the server side can
cap the wall-clock rate of every client alike.

Set-up (group ``ssh-setup``): connections per second, each one connect, key exchange
(curve25519, ed25519 host key), public-key login (ed25519), exec ``true``, exit status,
close; client and server in this one process on uvloop, ``plait`` <-> plait against
``asyncssh`` <-> asyncssh.

Targets: OpenSSH -> plait >= 1.0x OpenSSH -> sshd; plait client -> sshd >= 1.5x asyncssh ->
sshd; set-up >= 1.5x asyncssh. Wall clock figures: the machine should be otherwise idle.
A plait row that cannot run yet (its client or server not there) is skipped with "not
available: ..." rather than failing.

Run it with ``benches/run.py`` or alone, which prints every figure and the ratios::

    .venv/bin/python benches/bench_ssh_transfer.py [--quick]
"""
from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent
sys.path.insert(0, str(BENCHES))
sys.path.insert(0, str(ROOT / "tests"))

from _harness import QUICK, record

from conch.peers import (
    HOST,
    SSHD,
    PeerError,
    banner,
    current_user,
    free_port,
    keygen,
    require,
    ssh_options,
)

MIB = 1024 * 1024
SIZE = (8 if QUICK else 200) * MIB       # bytes per transfer round
ROUNDS = 1 if QUICK else 3                # transfer rounds per pair; the median is the figure
SETUPS = 5 if QUICK else 100              # connections per set-up round
SETUP_ROUNDS = 1 if QUICK else 3
CHUNK = 256 * 1024                        # write size of the in-process clients
CIPHERS = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com")
ROUND_TIMEOUT = 300.0
START_TIMEOUT = 30.0
PAIRS = ("sshd", "plaitserver", "plaitclient", "asyncssh", "plait")
PAIR_LABEL = {
    "sshd": "OpenSSH ssh -> sshd",
    "plaitserver": "OpenSSH ssh -> plait server",
    "plaitclient": "plait client -> sshd",
    "asyncssh": "asyncssh client -> sshd",
    "plait": "plait client -> plait server",
}
SETUP_LABEL = {"asyncssh": "asyncssh <-> asyncssh", "plait": "plait <-> plait"}
# (group, plait side, peer side, minimum ratio)
TARGETS = [
    ("transfer", "plaitserver", "sshd", 1.0),
    ("transfer", "plaitclient", "asyncssh", 1.5),
    ("transfer", "plait", "sshd", None),
    ("setup", "plait", "asyncssh", 1.5),
]


class NotAvailable(Exception):
    """A plait piece this row needs is not there yet."""


def group_of(cipher: str) -> str:
    return "ssh-transfer-" + cipher.split("@")[0]


def plait_api() -> Any:
    """The plait SSH package with ``connect`` and ``listen``, or NotAvailable."""
    try:
        from plait.conch import ssh
    except ImportError as exc:  # pragma: no cover - the package is always there
        raise NotAvailable(f"plait.conch.ssh does not import: {exc}") from None
    missing = [name for name in ("connect", "listen") if not hasattr(ssh, name)]
    if missing:
        raise NotAvailable(f"plait.conch.ssh has no {', '.join(missing)} yet")
    return ssh


# ---------------------------------------------------------------- the plait server process


class _Realm:
    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        return interfaces[0] if interfaces else object, avatar_id, lambda: None


def _portal(authorized_keys: str) -> Any:
    from plait.core.cred import Portal
    from plait.core.cred.checkers import SSHPublicKeyChecker

    lines = [ln for ln in Path(authorized_keys).read_text().splitlines() if ln.strip()]
    return Portal(_Realm(), [SSHPublicKeyChecker({current_user(): lines})])


def serve(port: int, host_key: str, authorized_keys: str) -> None:
    """A plait SSH server on 127.0.0.1:``port`` with plait's PtySession (what ``plait
    serve`` uses): exec runs the command through the user's shell, as under sshd."""
    import logging

    import uvloop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ssh = plait_api()
    from plait.conch.pty_session import PtySession
    from plait.conch.ssh.keys import Key

    home = str(Path(authorized_keys).parent)

    async def main() -> None:
        server = await ssh.listen(HOST, port, server_host_keys=[Key.from_file(host_key)],
                                  portal=_portal(authorized_keys),
                                  session_factory=lambda avatar: PtySession(home=home))
        print(f"listening {port}", flush=True)
        await server.wait_closed()

    uvloop.run(main())


class PlaitServer:
    """This file's ``serve`` in a subprocess, ready when it shows an SSH banner."""

    def __init__(self, workdir: Path, authorized_keys: Path) -> None:
        plait_api()       # fail early, in this process, with NotAvailable
        self.host_key = workdir / "plait_host_ed25519"
        if not self.host_key.exists():
            keygen(self.host_key, "ed25519")
        self.port = free_port()
        self.log = workdir / f"plait-server-{self.port}.log"
        argv = [sys.executable, __file__, "serve", str(self.port), str(self.host_key),
                str(authorized_keys)]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while banner(self.port, timeout=1.0) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PeerError(f"the plait server did not start:\n"
                                f"{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        line = " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])
        self.known_hosts = workdir / f"known_hosts-plait-{self.port}"
        self.known_hosts.write_text(f"[{HOST}]:{self.port} {line}\n")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# ---------------------------------------------------------------- transfers


class OpenSSHMaster:
    """An OpenSSH ControlMaster connection with one cipher; ``send(path)`` times one channel
    running ``cat > /dev/null`` fed from the file."""

    def __init__(self, port: int, key: Path, known_hosts: Path, cipher: str,
                 workdir: Path) -> None:
        self.ctl = workdir / f"ctl-{port}-{cipher.split('@')[0]}"

        def argv(master: str) -> list[str]:
            # ssh keeps the first value given for an option: ControlMaster goes in once
            return [require("ssh"), "-p", str(port),
                    *ssh_options(key=key, known_hosts=known_hosts,
                                 options={"Ciphers": cipher, "ControlPath": str(self.ctl),
                                          "ControlMaster": master, "ControlPersist": "no"})]

        self.common = [*argv("no"), f"{current_user()}@{HOST}"]
        p = subprocess.run([*argv("yes"), "-N", "-f", self.common[-1]], capture_output=True,
                           timeout=START_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise PeerError(f"ssh master to port {port} failed: {p.stderr[-2000:]!r}")
        if not self.ctl.exists():
            raise PeerError(f"ssh master to port {port} made no control socket")
        check = subprocess.run([*self.common, "true"], capture_output=True, check=False,
                               timeout=START_TIMEOUT, stdin=subprocess.DEVNULL)
        if check.returncode != 0:
            raise PeerError(f"ssh through the master failed: {check.stderr[-2000:]!r}")

    def send(self, path: Path) -> float:
        with open(path, "rb") as src:
            t0 = time.perf_counter()
            p = subprocess.run([*self.common, "cat > /dev/null"], stdin=src,
                               capture_output=True, timeout=ROUND_TIMEOUT, check=False)
            elapsed = time.perf_counter() - t0
        if p.returncode != 0:
            raise PeerError(f"ssh transfer exited with {p.returncode}: {p.stderr[-2000:]!r}")
        return elapsed

    def close(self) -> None:
        subprocess.run([*self.common[:-1], "-O", "exit", self.common[-1]], capture_output=True,
                       timeout=START_TIMEOUT, check=False, stdin=subprocess.DEVNULL)


class AsyncsshSender:
    """An asyncssh connection on the bench loop; ``send`` times one ``cat > /dev/null``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int, key: Path,
                 known_hosts: Path, cipher: str, data: bytes) -> None:
        import asyncssh

        self.loop, self.data = loop, data
        self.cpu_seconds: list[float] = []       # this process's CPU per round (the client)
        self.conn = loop.run_until_complete(asyncssh.connect(
            HOST, port, username=current_user(), client_keys=[str(key)],
            known_hosts=str(known_hosts), agent_path=None, config=None,
            encryption_algs=[cipher], compression_algs=None))

    async def _send(self) -> float:
        t0 = time.perf_counter()
        proc = await self.conn.create_process("cat > /dev/null", encoding=None)
        view = memoryview(self.data)
        for i in range(0, len(view), CHUNK):
            proc.stdin.write(view[i:i + CHUNK])
            await proc.stdin.drain()
        proc.stdin.write_eof()
        result = await proc.wait()
        elapsed = time.perf_counter() - t0
        if result.exit_status != 0:
            raise PeerError(f"asyncssh: cat exited with {result.exit_status}")
        return elapsed

    def send(self, path: Path) -> float:
        c0 = time.process_time()
        elapsed = self.loop.run_until_complete(asyncio.wait_for(self._send(), ROUND_TIMEOUT))
        self.cpu_seconds.append(time.process_time() - c0)
        return elapsed

    def close(self) -> None:
        self.conn.close()
        self.loop.run_until_complete(self.conn.wait_closed())


class PlaitSender:
    """A plait client connection on the bench loop; ``send`` times one ``cat > /dev/null``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int, key: Path,
                 known_hosts: Path, cipher: str, data: bytes) -> None:
        ssh = plait_api()
        from plait.conch.ssh.keys import Key
        from plait.conch.ssh.transport import TransportConfig

        self.loop, self.data = loop, data
        self.cpu_seconds: list[float] = []       # this process's CPU per round (the client)
        self.conn = loop.run_until_complete(asyncio.wait_for(ssh.connect(
            HOST, port, username=current_user(), client_keys=[Key.from_file(key)],
            known_hosts=str(known_hosts), config=TransportConfig(ciphers=[cipher])),
            START_TIMEOUT))

    async def _send(self) -> float:
        t0 = time.perf_counter()
        session = await self.conn.open_session("cat > /dev/null")
        view = memoryview(self.data)
        for i in range(0, len(view), CHUNK):
            session.write(view[i:i + CHUNK])
            await session.drain()
        session.write_eof()
        status = await session.wait()
        elapsed = time.perf_counter() - t0
        if status != 0:
            raise PeerError(f"plait: cat exited with {status}")
        return elapsed

    def send(self, path: Path) -> float:
        c0 = time.process_time()
        elapsed = self.loop.run_until_complete(asyncio.wait_for(self._send(), ROUND_TIMEOUT))
        self.cpu_seconds.append(time.process_time() - c0)
        return elapsed

    def close(self) -> None:
        self.conn.close()
        self.loop.run_until_complete(self.conn.wait_closed())


# ---------------------------------------------------------------- the shared measurement


@dataclass
class Results:
    rates: dict[tuple[str, str], float] = field(default_factory=dict)   # (group, pair) -> rate
    runs: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    problems: dict[tuple[str, str], str] = field(default_factory=dict)
    # in-process clients: MB moved per CPU second of this process (the client alone), median
    client_cpu: dict[tuple[str, str], float] = field(default_factory=dict)


class Bench:
    """Peers started once; every figure measured once and shared by the tests."""

    def __init__(self, loop: asyncio.AbstractEventLoop, workdir: Path) -> None:
        self.loop, self.dir = loop, workdir
        self.results = Results()
        self.data = os.urandom(SIZE)
        self.payload = workdir / "payload.bin"
        self.payload.write_bytes(self.data)
        self.stack = ExitStack()
        self.sshd = self.stack.enter_context(SSHD(host_keys=("ed25519",)))
        self.plait_server: PlaitServer | None = None
        self.plait_server_problem = ""
        try:
            authorized = workdir / "authorized_keys"
            authorized.write_text(Path(f"{self.sshd.client_key}.pub").read_text())
            self.plait_server = PlaitServer(workdir, authorized)
            self.stack.callback(self.plait_server.stop)
        except (NotAvailable, PeerError) as exc:
            self.plait_server_problem = str(exc)
        self.transfers_done = False
        self.setup_done = False

    def close(self) -> None:
        self.stack.close()

    def _sender(self, pair: str, cipher: str) -> Any:
        key = self.sshd.client_key
        if pair in ("plaitserver", "plait"):
            if self.plait_server is None:
                raise NotAvailable(self.plait_server_problem)
            port, known = self.plait_server.port, self.plait_server.known_hosts
        else:
            port, known = self.sshd.port, self.sshd.known_hosts
        if pair in ("sshd", "plaitserver"):
            return OpenSSHMaster(port, key, known, cipher, self.dir)
        if pair == "asyncssh":
            return AsyncsshSender(self.loop, port, key, known, cipher, self.data)
        return PlaitSender(self.loop, port, key, known, cipher, self.data)

    def _server_says(self, pair: str) -> str:
        """The plait server's last log lines, for a failed row that used it."""
        if pair not in ("plaitserver", "plait") or self.plait_server is None:
            return ""
        lines = self.plait_server.log.read_text(errors="replace").splitlines()[-3:]
        return "".join(f"\n      server: {line}" for line in lines)

    def transfers(self) -> None:
        if self.transfers_done:
            return
        self.transfers_done = True
        for cipher in CIPHERS:
            group = group_of(cipher)
            senders: dict[str, Any] = {}
            for pair in PAIRS:
                try:
                    senders[pair] = self._sender(pair, cipher)
                except NotAvailable as exc:
                    self.results.problems[group, pair] = f"not available: {exc}"
                except Exception as exc:  # noqa: BLE001 - a failed peer is its row's result
                    self.results.problems[group, pair] = f"{type(exc).__name__}: {exc}"
            times: dict[str, list[float]] = {pair: [] for pair in senders}
            for _ in range(ROUNDS):          # interleaved: a change in load falls on all alike
                for pair, sender in list(senders.items()):
                    try:
                        times[pair].append(sender.send(self.payload))
                    except Exception as exc:  # noqa: BLE001 - that row's result
                        self.results.problems[group, pair] = (
                            f"{type(exc).__name__}: {exc}{self._server_says(pair)}")
                        with suppress(Exception):
                            sender.close()
                        del senders[pair]
            for pair, sender in senders.items():
                with suppress(Exception):
                    sender.close()
                if (group, pair) not in self.results.problems and times[pair]:
                    rates = [SIZE / t / 1e6 for t in times[pair]]
                    cpu = [c for c in getattr(sender, "cpu_seconds", []) if c > 0]
                    if cpu:
                        self.results.client_cpu[group, pair] = statistics.median(
                            SIZE / c / 1e6 for c in cpu)
                    self.results.runs[group, pair] = rates
                    self.results.rates[group, pair] = statistics.median(rates)

    def setups(self) -> None:
        if self.setup_done:
            return
        self.setup_done = True
        for impl, fn in (("asyncssh", asyncssh_setups), ("plait", plait_setups)):
            try:
                rates = [fn(self.loop, self.dir, SETUPS) for _ in range(SETUP_ROUNDS)]
            except NotAvailable as exc:
                self.results.problems["ssh-setup", impl] = f"not available: {exc}"
                continue
            except Exception as exc:  # noqa: BLE001 - that row's result
                self.results.problems["ssh-setup", impl] = f"{type(exc).__name__}: {exc}"
                continue
            self.results.runs["ssh-setup", impl] = rates
            self.results.rates["ssh-setup", impl] = statistics.median(rates)


# ---------------------------------------------------------------- set-up per second


def _setup_keys(workdir: Path) -> tuple[Path, Path]:
    host, client = workdir / "setup_host_ed25519", workdir / "setup_client_ed25519"
    for path in (host, client):
        if not path.exists():
            keygen(path, "ed25519")
    return host, client


def asyncssh_setups(loop: asyncio.AbstractEventLoop, workdir: Path, n: int) -> float:
    """Connections per second, asyncssh client and server on ``loop``."""
    import asyncssh

    host, client = _setup_keys(workdir)

    def process(proc: Any) -> None:
        proc.exit(0)

    async def run() -> float:
        port = free_port()
        server = await asyncssh.listen(
            HOST, port, server_host_keys=[str(host)],
            authorized_client_keys=f"{client}.pub", process_factory=process,
            kex_algs=["curve25519-sha256"], compression_algs=None)
        known = asyncssh.import_known_hosts(
            f"[{HOST}]:{port} {Path(f'{host}.pub').read_text()}")
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                async with asyncssh.connect(HOST, port, username=current_user(),
                                            client_keys=[str(client)], known_hosts=known,
                                            agent_path=None, config=None,
                                            compression_algs=None) as conn:
                    r = await conn.run("true", check=False)
                    if r.exit_status != 0:
                        raise PeerError(f"asyncssh exec exited with {r.exit_status}")
                await conn.wait_closed()
            return n / (time.perf_counter() - t0)
        finally:
            server.close()
            await server.wait_closed()

    return loop.run_until_complete(asyncio.wait_for(run(), ROUND_TIMEOUT))


def plait_setups(loop: asyncio.AbstractEventLoop, workdir: Path, n: int) -> float:
    """Connections per second, plait client and server on ``loop``."""
    ssh = plait_api()
    from plait.conch.ssh.keys import Key
    from plait.conch.ssh.transport import TransportConfig

    host, client = _setup_keys(workdir)
    host_key, client_key = Key.from_file(host), Key.from_file(client)
    config = TransportConfig(kex_algorithms=["curve25519-sha256"])

    async def process(proc: Any) -> int:
        return 0

    async def run() -> float:
        port = free_port()
        server = await ssh.listen(HOST, port, server_host_keys=[host_key],
                                  portal=_portal(f"{client}.pub"), process_factory=process)
        known = workdir / f"known_hosts-setup-{port}"
        known.write_text(f"[{HOST}]:{port} {host_key.public_line()}\n")
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                conn = await ssh.connect(HOST, port, username=current_user(),
                                         client_keys=[client_key], known_hosts=str(known),
                                         config=config)
                try:
                    r = await conn.run("true")
                    if r.exit_status != 0:
                        raise PeerError(f"plait exec exited with {r.exit_status}")
                finally:
                    conn.close()
                    await conn.wait_closed()
            return n / (time.perf_counter() - t0)
        finally:
            server.close()
            await server.wait_closed()

    return loop.run_until_complete(asyncio.wait_for(run(), ROUND_TIMEOUT))


# ---------------------------------------------------------------- report


def report(results: Results) -> str:
    lines = [f"SSH transfer: {SIZE // MIB} MiB through 'cat > /dev/null', MB/s (median of "
             f"{ROUNDS}); set-up: connections/s (median of {SETUP_ROUNDS} x {SETUPS})"
             + ("  [--quick: figures NOT meaningful]" if QUICK else "")]
    for cipher in CIPHERS:
        group = group_of(cipher)
        lines.append(f"  {cipher}")
        for pair in PAIRS:
            lines.append(f"    {PAIR_LABEL[pair]:32} " + _cell(results, group, pair, "MB/s"))
    lines.append("  set-up (connect, auth, exec true, close)")
    for impl in ("asyncssh", "plait"):
        lines.append(f"    {SETUP_LABEL[impl]:32} " + _cell(results, "ssh-setup", impl,
                                                            "conn/s"))
    lines.append("  ratios")
    for kind, mine, peer, minimum in TARGETS:
        groups = [group_of(c) for c in CIPHERS] if kind == "transfer" else ["ssh-setup"]
        for group in groups:
            a, b = results.rates.get((group, mine)), results.rates.get((group, peer))
            label = (f"{PAIR_LABEL.get(mine, mine)} / {PAIR_LABEL.get(peer, peer)}"
                     if kind == "transfer" else f"{SETUP_LABEL[mine]} / {SETUP_LABEL[peer]}")
            target = f"target >= {minimum:g}x" if minimum is not None else "shown only"
            if a is None or b is None:
                lines.append(f"    {group:36} {label}: n/a ({target})")
            else:
                met = "" if minimum is None else ("  met" if a / b >= minimum else "  NOT met")
                lines.append(f"    {group:36} {label}: {a / b:.2f}x ({target}){met}")
    return "\n".join(lines)


def _cell(results: Results, group: str, pair: str, unit: str) -> str:
    if (group, pair) in results.rates:
        runs = ", ".join(f"{r:,.1f}" for r in results.runs[group, pair])
        cpu = results.client_cpu.get((group, pair))
        per_cpu = f"; client {cpu:,.0f} MB per CPU second" if cpu else ""
        return f"{results.rates[group, pair]:,.1f} {unit}  (runs {runs}{per_cpu})"
    return results.problems.get((group, pair), "not run")


# ---------------------------------------------------------------- pytest side


@pytest.fixture(scope="module")
def bench(uv_loop: asyncio.AbstractEventLoop,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    b = Bench(uv_loop, tmp_path_factory.mktemp("ssh-bench"))
    try:
        yield b
        print("\n" + report(b.results))
    finally:
        b.close()


def _figure(benchmark: Any, bench: Bench, group: str, impl: str, unit: str,
            measure: Callable[[], None]) -> None:
    measure()                    # once for all the tests of the module (wall clock)
    problem = bench.results.problems.get((group, impl))
    if problem is not None:
        if problem.startswith("not available"):
            pytest.skip(problem)
        raise AssertionError(problem)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)   # the figure is "rate" below
    rate = bench.results.rates[group, impl]
    record(benchmark, impl, per_round=1, unit=unit)
    benchmark.extra_info["rate"] = rate          # measured by wall clock, not the round timer
    benchmark.extra_info["runs"] = bench.results.runs[group, impl]
    benchmark.extra_info["label"] = PAIR_LABEL.get(impl, impl)


def _transfer(benchmark: Any, bench: Bench, cipher: str, impl: str) -> None:
    _figure(benchmark, bench, group_of(cipher), impl, "MB", bench.transfers)


# the cipher is in the group name (run.py tabulates one figure per implementation and group)
for _cipher in CIPHERS:
    _group = group_of(_cipher)
    for _impl in PAIRS:
        def _test(benchmark: Any, bench: Bench, _c: str = _cipher, _i: str = _impl) -> None:
            _transfer(benchmark, bench, _c, _i)
        _name = f"test_{_group.replace('-', '_')}_{_impl}"
        _test.__name__ = _name
        globals()[_name] = pytest.mark.benchmark(group=_group)(_test)
del _test


@pytest.mark.benchmark(group="ssh-setup")
def test_ssh_setup_asyncssh(benchmark: Any, bench: Bench) -> None:
    _figure(benchmark, bench, "ssh-setup", "asyncssh", "conn", bench.setups)


@pytest.mark.benchmark(group="ssh-setup")
def test_ssh_setup_plait(benchmark: Any, bench: Bench) -> None:
    _figure(benchmark, bench, "ssh-setup", "plait", "conn", bench.setups)


# ---------------------------------------------------------------- standalone


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"] and len(argv) == 4:
        serve(int(argv[1]), argv[2], argv[3])
        return 0
    if argv not in ([], ["--quick"]):
        print(__doc__.split("\n\n")[0], "\nusage: bench_ssh_transfer.py [--quick]",
              file=sys.stderr)
        return 2
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="plait-ssh-bench-") as tmp:
        b = Bench(loop, Path(tmp))
        try:
            b.transfers()
            b.setups()
        finally:
            b.close()
        print(report(b.results))
    loop.close()
    return 0


if __name__ == "__main__":
    if "--quick" in sys.argv[1:]:
        os.environ["PLAIT_BENCH_QUICK"] = "1"
        if not QUICK:   # _harness read the environment before: run again with it set
            os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])
    sys.exit(main(sys.argv[1:]))
