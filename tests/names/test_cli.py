"""``python -m plait.names serve``: a real process, queried with dnspython and dig."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

STARTUP = 30.0
DIG = shutil.which("dig") or "/usr/bin/dig"

BIND_ZONE = """\
$ORIGIN example.test.
$TTL 300
@    IN SOA ns1 hostmaster 2026112401 3600 600 86400 300
@    IN NS  ns1
@    IN MX  10 mail
ns1  IN A   127.0.0.1
www  IN A   192.0.2.10
www  IN AAAA 2001:db8::10
mail IN A   192.0.2.25
"""

PY_ZONE = """\
origin = "other.test"
zone = [
    SOA("@", mname="ns1", rname="hostmaster", serial=5),
    NS("@", "ns1"),
    A("ns1", "127.0.0.1"),
    TXT("hello", "from python"),
]
"""


def cli(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plait.names", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


class Server:
    """One ``serve`` process; its port read from the line it logs when it is up."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "plait.names", "serve", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.up = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.up.wait(STARTUP) or self.proc.poll() is not None:
            self.kill()
            raise AssertionError(f"serve did not start: {self.lines}")
        match = re.search(r"udp:127\.0\.0\.1:(\d+)", self.lines[-1])
        assert match, self.lines
        self.port = int(match.group(1))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "serving" in line:
                self.up.set()
        self.up.set()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        os.kill(self.proc.pid, signum)
        code = self.proc.wait(30)
        self.reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def zones(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    bind = tmp_path / "example.test.zone"
    bind.write_text(BIND_ZONE)
    py = tmp_path / "other.py"
    py.write_text(PY_ZONE)
    yield bind, py


def query(port: int, name: str, rtype: str, *, tcp: bool = False,
          rd: bool = True) -> dns.message.Message:
    q = dns.message.make_query(name, rtype)
    if not rd:
        q.flags &= ~dns.flags.RD
    ask = dns.query.tcp if tcp else dns.query.udp
    return ask(q, "127.0.0.1", timeout=5, port=port)


def test_serve_bind_and_python_zones_then_sigterm(zones: tuple[Path, Path]) -> None:
    bind, py = zones
    server = Server("--zone", str(bind), "--pyzone", str(py), "--port", "0")
    try:
        assert "2 zone(s) (example.test., other.test.)" in server.lines[-1]
        r = query(server.port, "www.example.test", "A")
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
        assert r.answer[0][0].address == "192.0.2.10"
        r = query(server.port, "hello.other.test", "TXT", tcp=True)
        assert r.answer[0][0].strings == (b"from python",)
        dig = subprocess.run([DIG, "@127.0.0.1", "-p", str(server.port), "+short",
                              "www.example.test", "AAAA"], capture_output=True, text=True,
                             timeout=30, check=True)
        assert dig.stdout.strip() == "2001:db8::10"
        dig = subprocess.run([DIG, "@127.0.0.1", "-p", str(server.port), "+tcp",
                              "example.test", "MX"], capture_output=True, text=True,
                             timeout=30, check=True)
        assert "status: NOERROR" in dig.stdout and "10 mail.example.test." in dig.stdout
        assert "flags: qr aa" in dig.stdout
        axfr = subprocess.run([DIG, "@127.0.0.1", "-p", str(server.port), "example.test",
                               "AXFR"], capture_output=True, text=True, timeout=30, check=True)
        assert axfr.stdout.count("\tSOA\t") == 2 and "192.0.2.25" in axfr.stdout
        assert server.stop() == 0
        assert server.lines[-1] == "plait.names: stopped"
    finally:
        server.kill()


def test_sigint_stops_cleanly(zones: tuple[Path, Path]) -> None:
    server = Server("--bindzone", str(zones[0]), "--port", "0")
    try:
        assert query(server.port, "ns1.example.test", "A").answer
        assert server.stop(signal.SIGINT) == 0
        assert "plait.names: stopped" in server.lines
    finally:
        server.kill()


def test_query_subcommand_dispatches(zones: tuple[Path, Path]) -> None:
    server = Server("--zone", str(zones[0]), "--port", "0")
    try:
        result = cli("query", "@127.0.0.1", "-p", str(server.port), "www.example.test", "A",
                     "+short")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "192.0.2.10"
    finally:
        server.stop()
        server.kill()


@pytest.mark.parametrize("args", [
    [],
    ["serve"],
    ["serve", "--port", "70000", "--zone", "x"],
    ["serve", "--secondary", "nonsense", "--port", "0"],
    ["serve", "--allow-transfer", "10.0.0.0/33", "--zone", "x"],
    ["serve", "--cache", "--zone", "x"],
    ["bogus"],
])
def test_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m plait.names: error:")


def test_unreadable_or_bad_zone_exits_1(tmp_path: Path, zones: tuple[Path, Path]) -> None:
    result = cli("serve", "--zone", str(tmp_path / "missing.test"), "--port", "0")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot read" in result.stderr
    bad = tmp_path / "bad.example.test"
    bad.write_text(BIND_ZONE.replace("192.0.2.25", "192.0.2.256"))
    result = cli("serve", "--zone", str(bad), "--port", "0")
    assert result.returncode == 1 and f"{bad}:9:" in result.stderr
    result = cli("serve", "--zone", str(zones[0]), "--zone", str(zones[0]), "--port", "0")
    assert result.returncode == 1 and "given twice" in result.stderr


def test_port_in_use_exits_1(zones: tuple[Path, Path]) -> None:
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        port = busy.getsockname()[1]
        result = cli("serve", "--zone", str(zones[0]), "--port", str(port), "--tcp-idle-timeout",
                     "1")
        assert result.returncode == 1
        assert result.stderr.strip().count("\n") == 0 and "cannot start" in result.stderr
    finally:
        busy.close()


def test_recursive_forwarding_and_secondary(zones: tuple[Path, Path]) -> None:
    primary = Server("--zone", str(zones[0]), "--port", "0")
    servers = [primary]
    try:
        recursive = Server("--pyzone", str(zones[1]), "--port", "0", "--recursive", "--cache",
                           "--forward", f"127.0.0.1:{primary.port}")
        servers.append(recursive)
        r = query(recursive.port, "www.example.test", "A")
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.RA
        assert r.answer[0][0].address == "192.0.2.10"
        assert query(recursive.port, "www.example.test", "A", rd=False).rcode() == \
            dns.rcode.REFUSED
        r = query(recursive.port, "hello.other.test", "TXT")     # its own zone
        assert r.flags & dns.flags.AA

        secondary = Server("--secondary", f"127.0.0.1:{primary.port}/example.test",
                           "--port", "0")
        servers.append(secondary)
        deadline = time.monotonic() + 20
        while True:
            r = query(secondary.port, "mail.example.test", "A")
            if r.answer or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert r.answer[0][0].address == "192.0.2.25" and r.flags & dns.flags.AA
        for s in reversed(servers):
            assert s.stop() == 0
    finally:
        for s in servers:
            s.kill()


def test_notify_sent_to_secondaries_at_start(zones: tuple[Path, Path]) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(20)
    server = None
    try:
        target = listener.getsockname()[1]
        server = Server("--zone", str(zones[0]), "--port", "0", "--notify", f"127.0.0.1:{target}")
        data, peer = listener.recvfrom(4096)
        notify = dns.message.from_wire(data)
        assert notify.opcode() == dns.opcode.NOTIFY and notify.flags & dns.flags.AA
        assert str(notify.question[0].name) == "example.test."
        assert notify.question[0].rdtype == dns.rdatatype.SOA
        response = dns.message.make_response(notify)
        listener.sendto(response.to_wire(), peer)
        assert server.stop() == 0
    finally:
        listener.close()
        if server is not None:
            server.kill()
