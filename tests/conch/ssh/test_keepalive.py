"""Client keepalives (ServerAliveInterval / ServerAliveCountMax): the sans-IO schedule, and
the plait client against OpenSSH sshd and the plait server -- probes answered keep the
connection, and a server that stops answering (a TCP relay that drops everything, as a dead
network does) is given up after ``count_max`` unanswered probes."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from conch.peers import HOST, SSHD
from plait.conch.ssh import ConnectionLost, Key, SSHClientConnection, connect, listen
from plait.conch.ssh.keepalive import Keepalive, KeepaliveAction
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal

INTERVAL = 0.2
COUNT_MAX = 2
GIVE_UP_BOUND = 60.0      # seconds a dead server may take to be noticed (a bound, not a timing)
RELAY_CHUNK = 65536


# ---------------------------------------------------------------- sans-IO schedule


def test_probes_then_timeout_as_openssh_counts() -> None:
    ka = Keepalive(10.0, count_max=3)
    assert ka.get_timer() is None and ka.handle_timer(100.0) is None   # not started
    ka.start(0.0)
    assert ka.get_timer() == 10.0
    assert ka.handle_timer(9.9) is None                                  # not due
    actions = [ka.handle_timer(t) for t in (10.0, 20.0, 30.0, 40.0)]
    # OpenSSH: the (count_max + 1)th silent interval ends it, after count_max probes
    assert actions == [KeepaliveAction.PROBE] * 3 + [KeepaliveAction.TIMEOUT]
    assert ka.probes_sent == 3 and ka.get_timer() is None


def test_anything_received_resets_the_count() -> None:
    ka = Keepalive(5.0, count_max=1)
    ka.start(0.0)
    assert ka.handle_timer(5.0) is KeepaliveAction.PROBE
    ka.received(7.0)                                    # the reply (or any packet)
    assert ka.unanswered == 0 and ka.get_timer() == 12.0
    assert ka.handle_timer(12.0) is KeepaliveAction.PROBE
    assert ka.handle_timer(17.0) is KeepaliveAction.TIMEOUT


def test_count_max_zero_and_bad_arguments() -> None:
    ka = Keepalive(1.0, count_max=0)
    ka.start(0.0)
    assert ka.handle_timer(1.0) is KeepaliveAction.TIMEOUT and ka.probes_sent == 0
    for interval, count in ((0.0, 3), (-1.0, 3), (1.0, -1)):
        with pytest.raises(ValueError):
            Keepalive(interval, count)
    ka.stop()
    assert ka.get_timer() is None


# ---------------------------------------------------------------- against real servers


class Relay:
    """A TCP relay on 127.0.0.1 to ``target``; ``freeze()`` makes it drop every byte both
    ways from then on (the connections stay up: a dead network, not a closed one)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.frozen = False
        self.dropped = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, HOST, 0)
        return int(self.server.sockets[0].getsockname()[1])

    def freeze(self) -> None:
        self.frozen = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(HOST, self.target)
        self.writers += [writer, up_writer]
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pipe(src, dst))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(RELAY_CHUNK):
                if self.frozen:
                    self.dropped += len(data)
                    continue
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(OSError):
            dst.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for w in self.writers:
            w.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture(scope="module")
def sshd() -> Iterator[SSHD]:
    with SSHD() as server:
        yield server


class _Realm:
    def request_avatar(self, avatar_id: object, mind: object, *interfaces: object) -> tuple:
        return interfaces[0], avatar_id, lambda: None


@contextlib.asynccontextmanager
async def _target(kind: str, sshd: SSHD) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """(port, connect() keywords) of an sshd or of a plait server on this loop."""
    if kind == "sshd":
        # the host keys themselves: the relay's port is not the one known_hosts names
        host_keys = [Key.from_bytes(line) for line in sshd.host_public_lines]
        yield sshd.port, {"username": sshd.user, "client_keys": [sshd.client_key],
                          "known_hosts": host_keys}
        return
    from plait.conch.ssh import SSHServerProcess

    async def hello(process: SSHServerProcess) -> int:
        process.stdout.write("ok\n")
        return 0
    host_key = Key.generate("ed25519")
    server = await listen(HOST, 0, server_host_keys=[host_key],
                          portal=Portal(_Realm(), [InMemoryUsernamePasswordChecker({"u": "p"})]),
                          process_factory=hello, failure_delay=0.0)
    try:
        yield server.port, {"username": "u", "password": "p",
                            "known_hosts": [host_key.public_key()]}
    finally:
        server.close()
        await server.wait_closed()


async def _idle_until(conn: SSHClientConnection, probes: int) -> None:
    """Wait (bounded) until ``probes`` keepalives have gone out."""
    for _ in range(int(GIVE_UP_BOUND / INTERVAL)):
        if conn.keepalives_sent >= probes or conn.is_closed:
            return
        await asyncio.sleep(INTERVAL)


@pytest.mark.parametrize("kind", ["sshd", "plait"])
async def test_answered_keepalives_keep_the_connection(sshd: SSHD, kind: str) -> None:
    async with _target(kind, sshd) as (port, kw):
        conn = await connect(HOST, port, keepalive_interval=INTERVAL,
                             keepalive_count_max=COUNT_MAX, **kw)
        async with conn:
            # idle for more probes than count_max: each one is answered, so no timeout
            await _idle_until(conn, COUNT_MAX + 3)
            assert conn.keepalives_sent >= COUNT_MAX + 3
            assert not conn.is_closed and conn.error is None
            r = await conn.run("echo ok")
            assert r.stdout == b"ok\n"


@pytest.mark.parametrize("kind", ["sshd", "plait"])
async def test_unanswered_keepalives_drop_the_connection(sshd: SSHD, kind: str) -> None:
    async with _target(kind, sshd) as (port, kw):
        relay = Relay(port)
        relay_port = await relay.start()
        try:
            conn = await connect(HOST, relay_port, keepalive_interval=INTERVAL,
                                 keepalive_count_max=COUNT_MAX, **kw)
            assert (await conn.run("echo ok")).stdout == b"ok\n"
            relay.freeze()
            await asyncio.wait_for(conn.wait_closed(), GIVE_UP_BOUND)
            assert isinstance(conn.error, ConnectionLost)
            assert f"server not responding ({COUNT_MAX} keepalives unanswered)" in \
                str(conn.error)
            assert relay.dropped > 0          # the probes went out and were lost
            with pytest.raises(ConnectionLost):
                await conn.run("echo late")
        finally:
            await relay.close()


async def test_keepalives_off_by_default(sshd: SSHD) -> None:
    async with _target("sshd", sshd) as (port, kw):
        conn = await connect(HOST, port, **kw)
        async with conn:
            await asyncio.sleep(3 * INTERVAL)
            assert conn.keepalives_sent == 0 and not conn.is_closed
