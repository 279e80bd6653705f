"""NAT traversal, for real: namespaces, masquerading NATs (nftables), the identity server on a
public network, and `vertex send` between two peers behind their NATs.

The lab (``vertex/netns.py``) is made once for the module and always removed.  The first
tests prove the lab itself behaves like two home routers (masquerade, no unsolicited inbound
traffic, private addresses unreachable); the rest run the real programs in it.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vertex.netns import (
    PEER_IP,
    PUBLIC_IP,
    SERVER_IP,
    TCP_ASK,
    TCP_ECHO,
    UDP_ASK,
    UDP_ECHO,
    LabUnavailable,
    NatLab,
    lab_namespaces,
    why_unavailable,
)

PY = sys.executable
#: Seconds one probe process may run (they answer in milliseconds when the path works).
PROBE_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def lab() -> Iterator[NatLab]:
    reason = why_unavailable()
    if reason:
        pytest.skip(f"NAT lab unavailable: {reason}")
    nat_lab = NatLab()
    try:
        nat_lab.create()
    except LabUnavailable as e:
        pytest.skip(f"NAT lab unavailable: {e}")
    try:
        yield nat_lab
    finally:
        nat_lab.close()
    assert not any(n.startswith(nat_lab.tag) for n in lab_namespaces())


async def start_echo(lab: NatLab, role: str, script: str, ip: str, port: int, count: int
                     ) -> asyncio.subprocess.Process:
    proc = await lab.spawn(role, PY, "-c", script, ip, str(port), str(count))
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), PROBE_TIMEOUT)
    assert line == b"ready\n"
    return proc


async def ask(lab: NatLab, role: str, script: str, ip: str, port: int, wait: float = 2.0,
              *extra: str) -> str:
    code, out, err = await lab.run(role, PY, "-c", script, ip, str(port), str(wait), *extra,
                                   timeout=PROBE_TIMEOUT)
    assert code == 0, err
    return out.strip()


async def test_lab_masquerades_udp_and_tcp(lab: NatLab) -> None:
    udp = await start_echo(lab, "pub", UDP_ECHO, SERVER_IP, 7001, 2)
    tcp = await start_echo(lab, "pub", TCP_ECHO, SERVER_IP, 7002, 2)
    try:
        for peer, nat in (("peer_a", "nat_a"), ("peer_b", "nat_b")):
            seen_udp = await ask(lab, peer, UDP_ASK, SERVER_IP, 7001, 2.0, "40000")
            assert seen_udp.split(":")[0] == PUBLIC_IP[nat], seen_udp  # not PEER_IP[peer]
            assert seen_udp.split(":")[1] == "40000"  # Linux keeps the port when it is free
            seen_tcp = await ask(lab, peer, TCP_ASK, SERVER_IP, 7002)
            assert seen_tcp.split(":")[0] == PUBLIC_IP[nat], seen_tcp
    finally:
        await lab.stop(udp)
        await lab.stop(tcp)


async def test_lab_blocks_unsolicited_inbound(lab: NatLab) -> None:
    # A service on peer_b is unreachable from the public side and from peer_a, whether
    # addressed to its private address or to its NAT's public address.
    tcp = await start_echo(lab, "peer_b", TCP_ECHO, "0.0.0.0", 7003, 1)
    udp = await start_echo(lab, "peer_b", UDP_ECHO, "0.0.0.0", 7004, 1)
    try:
        for source in ("pub", "peer_a"):
            for target in (PEER_IP["peer_b"], PUBLIC_IP["nat_b"]):
                tcp_answer = await ask(lab, source, TCP_ASK, target, 7003, 1.0)
                assert ":" not in tcp_answer, (source, target, tcp_answer)  # an error's name
                udp_answer = await ask(lab, source, UDP_ASK, target, 7004, 0.5)
                assert udp_answer in ("timeout", "OSError"), (source, target, udp_answer)
        # from its own LAN the service answers: the blocking is the NAT's doing
        answer = await ask(lab, "nat_b", TCP_ASK, PEER_IP["peer_b"], 7003)
        assert answer.split(":")[0] == "192.168.20.1"
    finally:
        await lab.stop(tcp)
        await lab.stop(udp)


async def test_lab_udp_hole_punch_works(lab: NatLab) -> None:
    """Two peers that both send first (simultaneous open) get through both NATs: the path
    PTCP's hole punching relies on."""
    punch = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 45000))
s.settimeout(0.2)
peer = (sys.argv[1], 45000)
for _ in range(50):
    s.sendto(b"punch from " + sys.argv[2].encode(), peer)
    try:
        data, addr = s.recvfrom(100)
    except TimeoutError:
        continue
    s.sendto(b"punch from " + sys.argv[2].encode(), peer)
    print(data.decode(), addr[0])
    break
else:
    print("no luck")
"""
    a = await lab.spawn("peer_a", PY, "-c", punch, PUBLIC_IP["nat_b"], "a")
    b = await lab.spawn("peer_b", PY, "-c", punch, PUBLIC_IP["nat_a"], "b")
    out_a, _ = await asyncio.wait_for(a.communicate(), PROBE_TIMEOUT)
    out_b, _ = await asyncio.wait_for(b.communicate(), PROBE_TIMEOUT)
    assert out_a.decode().split() == ["punch", "from", "b", PUBLIC_IP["nat_b"]]
    assert out_b.decode().split() == ["punch", "from", "a", PUBLIC_IP["nat_a"]]


# -- `vertex send` between the two peers -------------------------------------------------------

VERTEX = [PY, "-m", "plait.vertex.cli"]
IDENTITY = str(Path(__file__).parent / "identity_process.py")
ATTACKER = str(Path(__file__).parent / "attacker.py")
SERVER = f"{SERVER_IP}:8788"
#: Seconds one `vertex` command may take in the lab (a transfer here lasts a few seconds).
VERTEX_TIMEOUT = 180.0
USERS = {"peer_a": "alice", "peer_b": "bob"}


@dataclass
class World:
    lab: NatLab
    tmp: Path

    def certs(self, role: str) -> str:
        return str(self.tmp / f"certs-{USERS[role]}")

    def vertex(self, role: str, *args: str, stdin: str | None = None
               ) -> subprocess.CompletedProcess[str]:
        return self.lab.run_sync(role, *VERTEX, *args, "--certs", self.certs(role),
                                 "--server", SERVER, timeout=VERTEX_TIMEOUT, stdin=stdin)

    def receiver(self, inbox: Path) -> subprocess.Popen[str]:
        """``vertex receive --once`` as bob, on peer_b; returns once it is listening."""
        proc = self.lab.popen("peer_b", *VERTEX, "receive", "--once", "--dir", str(inbox),
                              "--certs", self.certs("peer_b"), "--server", SERVER,
                              "--bind", PEER_IP["peer_b"], "--progress", "never")
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("receiving files for bob@example.test"), \
            self.lab.finish(proc)
        return proc

    def send(self, path: Path, *extra: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        """``vertex send`` as alice, from peer_a, to bob; returns the method used."""
        sent = self.vertex("peer_a", "send", str(path), "bob@example.test",
                           "--progress", "always", *extra)
        assert sent.returncode == 0, sent.stderr
        found = re.search(r"^sent .* via (\S+) in", sent.stdout, re.MULTILINE)
        assert found, sent.stdout
        return found.group(1), sent

    def transfer(self, size: int, *extra: str) -> tuple[str, str]:
        """Send ``size`` random bytes to bob; check what arrived byte for byte; the method."""
        name = f"data-{size}-{os.urandom(4).hex()}.bin"
        src = self.tmp / name
        data = os.urandom(size)
        src.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        inbox = self.tmp / f"inbox-{name}"
        inbox.mkdir()
        receiver = self.receiver(inbox)
        try:
            method, sent = self.send(src, *extra)
            assert f"sha256 {digest} verified by the receiver" in sent.stdout
            assert receiver.wait(VERTEX_TIMEOUT) == 0
        finally:
            out, err = self.lab.finish(receiver)
        assert f"received {name} ({size} bytes) from alice@example.test via {method}" in out, err
        assert hashlib.sha256((inbox / name).read_bytes()).hexdigest() == digest
        assert [p.name for p in inbox.iterdir()] == [name]
        return method, sent.stderr


@pytest.fixture(scope="module")
def world(lab: NatLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("nat-world")
    server = lab.popen("pub", PY, IDENTITY, str(tmp / "server"), SERVER_IP, "8788")
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("LISTENING"):
        pytest.fail(f"identity server did not start: {lab.finish(server)}")
    w = World(lab, tmp)
    try:
        for role, user in USERS.items():
            reg = w.vertex(role, "register", f"{user}@example.test", "--password-stdin",
                           stdin="pw\n")
            assert reg.returncode == 0, reg.stderr
            got = w.vertex(role, "request-cert", f"{user}@example.test", "--password-stdin",
                           stdin="pw\n")
            assert got.returncode == 0, got.stderr
        yield w
    finally:
        lab.finish(server)


def test_relay_when_udp_is_blocked(world: World) -> None:
    """UDP blocked at bob's NAT: no hole can be punched, the server relays (virtual)."""
    world.lab.block_udp("nat_b")
    try:
        method, _ = world.transfer(3_000_000)
    finally:
        world.lab.reset_filter("nat_b")
    assert method == "virtual"
