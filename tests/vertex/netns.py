"""A NAT lab in network namespaces for the Q2Q/PTCP traversal tests.

Five namespaces, made with pyroute2 and nftables and always removed::

    peer_a 192.168.10.2 -- lan|nat_a|wan 10.77.1.2 --+
                                                    pub (router; server 10.77.0.1 on lo)
    peer_b 192.168.20.2 -- lan|nat_b|wan 10.77.2.2 --+

Each NAT masquerades what leaves its ``wan`` (nft ``masquerade``) and forwards inward only
what conntrack knows (``ct state established,related``), and drops new inbound traffic to
itself (so a peer's early punch leaves no conntrack entry that would make the NAT pick
another port for the outgoing one), like a home router: a peer reaches
the public network, nothing there can open a connection to it, and the peers cannot see each
other's private addresses.  ``pub`` forwards between the NATs (the "internet"); its forward
chain is where loss is injected, so loss hits exactly the peer-to-peer traffic.

Names carry this process's PID, so concurrent test runs never collide, and namespaces left by
a killed run (whose PID is gone) are removed at the next start.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

SERVER_IP = "10.77.0.1"
PUBLIC_IP = {"nat_a": "10.77.1.2", "nat_b": "10.77.2.2"}
PUB_SIDE_IP = {"nat_a": "10.77.1.1", "nat_b": "10.77.2.1"}
LAN_GATEWAY = {"nat_a": "192.168.10.1", "nat_b": "192.168.20.1"}
PEER_IP = {"peer_a": "192.168.10.2", "peer_b": "192.168.20.2"}
NAT_OF = {"peer_a": "nat_a", "peer_b": "nat_b"}
ROLES = ("pub", "nat_a", "nat_b", "peer_a", "peer_b")
#: Seconds any one helper command (ip, nft, sysctl) may take.
COMMAND_TIMEOUT = 20.0
_PREFIX = "vxlab"
_NAME = re.compile(rf"{_PREFIX}(\d+)x\d+-")
_counter = itertools.count()

NAT_TABLE = """
table ip lab_nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" masquerade
    }
}
"""

FILTER_TABLE = """
table ip lab_filter {
    chain lab_fwd {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname "lan" oifname "wan" accept
    }
    chain lab_in {
        type filter hook input priority filter; policy accept;
        iifname "wan" ct state new drop
    }
}
"""

PUB_RULES = """
table ip lab_pub {
    chain lab_fwd {
        type filter hook forward priority filter; policy accept;
    }
}
"""


class LabUnavailable(Exception):
    """Namespaces cannot be made here (not root, no ip/nft, no netns support)."""


def why_unavailable() -> str | None:
    """A one-line reason the lab cannot be built, or None when it can be tried."""
    if sys.platform != "linux":
        return "network namespaces are Linux-only"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"the {tool!r} command is not installed"
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        return "pyroute2 is not installed"
    return None


def _run(argv: Sequence[str], stdin: str | None = None) -> str:
    done = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> None:
    """Remove lab namespaces whose creating process has died (a killed earlier run)."""
    from pyroute2 import netns

    for name in netns.listnetns():
        m = _NAME.match(name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(Exception):
                netns.remove(name)


@dataclass
class NatLab:
    """The five namespaces; ``create()`` builds them, ``close()`` removes them and any
    process started with ``spawn``."""

    tag: str = field(default_factory=lambda: f"{_PREFIX}{os.getpid()}x{next(_counter)}")
    names: dict[str, str] = field(default_factory=dict)
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    popens: list[subprocess.Popen[str]] = field(default_factory=list)
    _loss: int = 0
    _rate: int | None = None

    def ns(self, role: str) -> str:
        return self.names[role]

    # -- building ---------------------------------------------------------------------------
    def create(self) -> NatLab:
        reason = why_unavailable()
        if reason:
            raise LabUnavailable(reason)
        from pyroute2 import netns

        remove_stale()
        try:
            for role in ROLES:
                name = f"{self.tag}-{role}"
                try:
                    netns.create(name)
                except PermissionError as e:
                    raise LabUnavailable(f"cannot create a network namespace: {e}") from None
                self.names[role] = name
            self._wire()
        except BaseException:
            self.remove_namespaces()
            raise
        return self

    def _wire(self) -> None:
        from pyroute2 import NetNS

        for role in ROLES:
            self.sysctl(role, "net.ipv4.ip_forward", "1" if role in ("pub", "nat_a", "nat_b") else "0")
        with NetNS(self.ns("pub")) as pub:
            lo = pub.link_lookup(ifname="lo")[0]
            pub.link("set", index=lo, state="up")
            pub.addr("add", index=lo, address=SERVER_IP, prefixlen=32)
            for nat, side in (("nat_a", "ta"), ("nat_b", "tb")):
                pub.link("add", ifname=side, kind="veth",
                         peer={"ifname": "wan", "net_ns_fd": self.ns(nat)})
                idx = pub.link_lookup(ifname=side)[0]
                pub.addr("add", index=idx, address=PUB_SIDE_IP[nat], prefixlen=24)
                pub.link("set", index=idx, state="up")
        for peer, nat in NAT_OF.items():
            with NetNS(self.ns(nat)) as ns:
                ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
                wan = ns.link_lookup(ifname="wan")[0]
                ns.addr("add", index=wan, address=PUBLIC_IP[nat], prefixlen=24)
                ns.link("set", index=wan, state="up")
                ns.route("add", dst="default", gateway=PUB_SIDE_IP[nat])
                ns.link("add", ifname="lan", kind="veth",
                        peer={"ifname": "eth0", "net_ns_fd": self.ns(peer)})
                lan = ns.link_lookup(ifname="lan")[0]
                ns.addr("add", index=lan, address=LAN_GATEWAY[nat], prefixlen=24)
                ns.link("set", index=lan, state="up")
            with NetNS(self.ns(peer)) as ns:
                ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
                eth = ns.link_lookup(ifname="eth0")[0]
                ns.addr("add", index=eth, address=PEER_IP[peer], prefixlen=24)
                ns.link("set", index=eth, state="up")
                ns.route("add", dst="default", gateway=LAN_GATEWAY[nat])
            self.nft(nat, NAT_TABLE + FILTER_TABLE)
        self.nft("pub", PUB_RULES)

    def sysctl(self, role: str, key: str, value: str) -> None:
        _run(["ip", "netns", "exec", self.ns(role), "sysctl", "-q", "-w", f"{key}={value}"])

    def nft(self, role: str, script: str) -> str:
        """Run an nft script (``nft -f -``) in a namespace."""
        return _run(["ip", "netns", "exec", self.ns(role), "nft", "-f", "-"], stdin=script)

    def ruleset(self, role: str) -> str:
        return _run(["ip", "netns", "exec", self.ns(role), "nft", "list", "ruleset"])

    # -- impairments ------------------------------------------------------------------------
    def block_udp(self, nat: str) -> None:
        """Drop every UDP datagram crossing ``nat`` in either direction (ahead of the
        established-connection rule, so a hole punched earlier does not help either)."""
        self.nft(nat, "insert rule ip lab_filter lab_fwd meta l4proto udp drop\n")

    def reset_filter(self, nat: str) -> None:
        """Undo ``block_udp``: the NAT's filter as first built."""
        self.nft(nat, "delete table ip lab_filter\n" + FILTER_TABLE)

    def set_loss(self, percent: int) -> None:
        """Drop ``percent`` % of the UDP datagrams between the NATs (the PTCP path), at random
        with nft ``numgen random mod 100 < N``.  0 removes the loss."""
        if not 0 <= percent <= 100:
            raise ValueError("loss is a percentage")
        self._loss = percent
        self._apply_pub()

    def set_rate(self, kbytes_per_second: int | None) -> None:
        """Police the UDP between the NATs to this rate (None: unlimited), so a transfer
        lasts long enough for something to happen during it."""
        self._rate = kbytes_per_second
        self._apply_pub()

    def _apply_pub(self) -> None:
        script = "flush chain ip lab_pub lab_fwd\n"
        if self._loss:
            script += ("add rule ip lab_pub lab_fwd meta l4proto udp "
                       f"numgen random mod 100 < {self._loss} counter drop\n")
        if self._rate:
            script += ("add rule ip lab_pub lab_fwd meta l4proto udp limit rate over "
                       f"{self._rate} kbytes/second burst 64 kbytes drop\n")
        self.nft("pub", script)

    def dropped(self) -> int:
        """Datagrams the loss rule has dropped so far (proof the loss was applied)."""
        found = re.search(r"numgen random mod 100 < \d+ counter packets (\d+)",
                          self.ruleset("pub"))
        return int(found.group(1)) if found else 0

    # -- processes, synchronously (tests that need no event loop) ---------------------------
    def popen(self, role: str, *argv: str, stdin: int | None = subprocess.DEVNULL
              ) -> subprocess.Popen[str]:
        """Start ``argv`` in ``role``'s namespace; ``close`` kills it if still running."""
        proc = subprocess.Popen(self.exec_args(role, *argv), stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.popens.append(proc)
        return proc

    def run_sync(self, role: str, *argv: str, timeout: float, stdin: str | None = None
                 ) -> subprocess.CompletedProcess[str]:
        """Run to completion (killed and TimeoutExpired past ``timeout`` seconds)."""
        proc = self.popen(role, *argv, stdin=subprocess.PIPE if stdin is not None
                          else subprocess.DEVNULL)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.finish(proc)
            raise
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    @staticmethod
    def finish(proc: subprocess.Popen[str], grace: float = 5.0) -> tuple[str, str]:
        """SIGTERM (then SIGKILL) one process we started, by PID; its remaining output."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
        try:
            return proc.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            return proc.communicate()

    # -- processes --------------------------------------------------------------------------
    def exec_args(self, role: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(role), *argv]

    async def spawn(self, role: str, *argv: str, env: dict[str, str] | None = None,
                    stdin: int | None = subprocess.DEVNULL) -> asyncio.subprocess.Process:
        """Start ``argv`` inside ``role``'s namespace (``ip netns exec`` execs it, so the PID is
        the program's); stdout and stderr are pipes; ``close`` kills it if still running."""
        proc = await asyncio.create_subprocess_exec(
            *self.exec_args(role, *argv), stdin=stdin, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    async def run(self, role: str, *argv: str, timeout: float, env: dict[str, str] | None = None,
                  stdin: bytes | None = None) -> tuple[int, str, str]:
        """Run to completion within ``timeout`` seconds (killed and TimeoutError past it)."""
        proc = await self.spawn(role, *argv, env=env,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
        except TimeoutError:
            await self.stop(proc)
            raise
        assert proc.returncode is not None
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    async def stop(self, proc: asyncio.subprocess.Process, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds: only this process (by PID)."""
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                await proc.wait()

    async def stop_all(self) -> None:
        for proc in self.processes:
            await self.stop(proc)
        self.processes.clear()

    # -- tearing down -----------------------------------------------------------------------
    def kill_all_now(self) -> None:
        """Synchronous last resort for ``close``: SIGKILL what is still running (our PIDs)."""
        for proc in self.processes:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
        for popen in self.popens:
            if popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(popen.pid, signal.SIGKILL)
                popen.wait()

    def remove_namespaces(self) -> None:
        from pyroute2 import netns

        for name in list(self.names.values())[::-1]:
            with contextlib.suppress(Exception):
                netns.remove(name)
        self.names.clear()

    def close(self) -> None:
        self.kill_all_now()
        self.remove_namespaces()

    def __enter__(self) -> Self:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lab_namespaces() -> list[str]:
    """Every lab namespace now present (for the test that checks removal)."""
    from pyroute2 import netns

    return [n for n in netns.listnetns() if n.startswith(_PREFIX)]


UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
for _ in range(int(sys.argv[3])):
    data, addr = s.recvfrom(2048)
    s.sendto(f"{addr[0]}:{addr[1]}".encode(), addr)
"""

TCP_ECHO = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print("ready", flush=True)
for _ in range(int(sys.argv[3])):
    c, addr = s.accept()
    c.sendall(f"{addr[0]}:{addr[1]}".encode())
    c.close()
"""

UDP_ASK = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]))
if len(sys.argv) > 4:
    s.bind(("0.0.0.0", int(sys.argv[4])))
try:
    s.sendto(b"who am i", (sys.argv[1], int(sys.argv[2])))
    print(s.recvfrom(2048)[0].decode())
except TimeoutError:
    print("timeout")
except OSError as e:
    print(type(e).__name__)
"""

TCP_ASK = r"""
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(c.recv(2048).decode())
except OSError as e:
    print(type(e).__name__)
"""
