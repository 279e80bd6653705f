"""NAT traversal, for real: namespaces, masquerading NATs (nftables), the identity server on a
public network, and `vertex send` between two peers behind their NATs.

The lab (``vertex/netns.py``) is made once for the module and always removed.  The first
tests prove the lab itself behaves like two home routers (masquerade, no unsolicited inbound
traffic, private addresses unreachable); the rest run the real programs in it.
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

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
