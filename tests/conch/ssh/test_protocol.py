"""The asyncio adapter, plait client against plait server: sessions, streams, windows,
SFTP, rekeying on a live connection, and hostile input (garbage, oversize packets, bad
MACs, auth floods, idle logins) dropped with the right reason while others keep working."""
from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from plait.conch.ssh import (
    AuthenticationError,
    ChannelOpenError,
    Key,
    SFTPSession,
    SSHServer,
    TransportConfig,
    connect,
    listen,
)
from plait.conch.ssh.constants import DisconnectReason, Msg
from plait.conch.ssh.server import SSHServerProcess, SSHServerSession
from plait.conch.ssh.session import PtyRequest, WindowChange
from plait.conch.ssh.transport import Disconnected, KexCompleted, Transport
from plait.conch.ssh.wire import Reader, Writer
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal, SSHPublicKeyChecker

HOST_KEY = Key.generate("ed25519")
USER_KEY = Key.generate("ed25519")


class Realm:
    def request_avatar(self, avatar_id: object, mind: object, *interfaces: object) -> tuple:
        return interfaces[0], avatar_id, lambda: None


def _portal() -> Portal:
    return Portal(Realm(), [SSHPublicKeyChecker({"u": [USER_KEY.public_line()]}),
                            InMemoryUsernamePasswordChecker({"u": "pw"})])


async def handler(process: SSHServerProcess) -> int:
    if process.command == "sum":
        total = 0
        while chunk := await process.stdin.read(1 << 20):
            total += sum(chunk)
        process.stdout.write(f"{total}\n".encode())
        return 0
    if process.command and process.command.startswith("emit "):
        n = int(process.command[5:])
        block = bytes(range(256)) * 256
        while n > 0:
            process.stdout.write(block[:n])
            n -= len(block)
            await process.stdout.drain()
        return 0
    while chunk := await process.stdin.read(65536):
        process.stdout.write(chunk)
    return 0


@asynccontextmanager
async def server(**kw: object) -> AsyncIterator[SSHServer]:
    kw.setdefault("process_factory", handler)
    srv = await listen("127.0.0.1", 0, server_host_keys=[HOST_KEY], portal=_portal(),
                       failure_delay=0.01, **kw)  # type: ignore[arg-type]
    try:
        yield srv
    finally:
        srv.close()
        await srv.wait_closed()


async def _client(srv: SSHServer, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("client_keys", [USER_KEY])
    return await connect("127.0.0.1", srv.port, username="u",
                         known_hosts=[HOST_KEY.public_key()], **kw)  # type: ignore[arg-type]


async def test_run_and_streams_both_ways() -> None:
    async with server() as srv, await _client(srv) as conn:
        data = bytes(range(256)) * 40_000          # 10 MiB up, through the window
        r = await conn.run("sum", input=data)
        assert r.stdout == f"{sum(data)}\n".encode() and r.exit_status == 0
        session = await conn.open_session("emit 5000000")
        got = 0
        async for chunk in session:
            got += len(chunk)
        assert got == 5_000_000 and await session.wait() == 0
        results = await asyncio.gather(*(conn.run("cat", input=str(i).encode())
                                         for i in range(10)))
        assert [x.stdout for x in results] == [str(i).encode() for i in range(10)]


async def test_password_login_and_refusal() -> None:
    async with server() as srv:
        async with await _client(srv, client_keys=(), password="pw") as conn:
            assert (await conn.run("cat", input=b"k")).stdout == b"k"
        try:
            await _client(srv, client_keys=(), password="nope")
        except AuthenticationError:
            pass
        else:
            raise AssertionError("a wrong password logged in")


class Terminal(SSHServerSession):
    seen: list[object] = []

    def pty_requested(self, pty: PtyRequest) -> bool:
        self.seen.append(("pty", pty.term, pty.cols, pty.rows))
        return True

    def env_requested(self, name: str, value: str) -> bool:
        self.seen.append(("env", name, value))
        return name == "LANG"

    def shell_requested(self) -> bool:
        self.channel.write(b"$ ")
        return True

    def data_received(self, data: bytes, ext: int | None) -> None:
        self.channel.write(data[::-1])

    def window_changed(self, change: WindowChange) -> None:
        self.seen.append(("resize", change.cols, change.rows))
        self.channel.write(b"resized")

    def signal_received(self, name: str) -> None:
        self.seen.append(("signal", name))
        self.channel.exit_with_signal(name)


async def test_callback_session_pty_env_resize_signal() -> None:
    Terminal.seen = []
    async with server(process_factory=None, session_factory=lambda avatar: Terminal()) as srv, \
            await _client(srv) as conn:
        session = await conn.open_session(term="vt100", cols=132, rows=43,
                                          env={"LANG": "C.UTF-8", "EVIL": "1"})
        assert await session.stdout.readexactly(2) == b"$ "
        session.write(b"abc")
        assert await session.stdout.readexactly(3) == b"cba"
        session.resize(100, 50)
        assert await session.stdout.readexactly(7) == b"resized"
        session.signal("INT")
        await session.wait()
        assert session.exit_signal is not None and session.exit_signal.name == "INT"
        assert ("pty", "vt100", 132, 43) in Terminal.seen
        assert ("env", "LANG", "C.UTF-8") in Terminal.seen
        assert ("resize", 100, 50) in Terminal.seen and ("signal", "INT") in Terminal.seen


async def test_sftp_subsystem(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_bytes(b"over sftp")
    async with server(process_factory=None,
                      session_factory=lambda avatar: SFTPSession(tmp_path)) as srv, \
            await _client(srv) as conn:
        sftp = await conn.start_sftp()
        names = await sftp.listdir("/")
        assert "hello.txt" in [n if isinstance(n, str) else n.decode() for n in names]
        await sftp.close()


async def test_rekey_on_a_live_connection() -> None:
    config = TransportConfig(rekey_bytes=1 << 20)
    async with server(config=TransportConfig.hardened(rekey_seconds=0.3)) as srv, \
            await _client(srv, config=config) as conn:
        sid = conn.transport.session_id
        data = b"\x01" * (6 << 20)
        r = await conn.run("sum", input=data)
        assert r.stdout == f"{len(data)}\n".encode()
        assert conn.transport.kex_count >= 6          # one per MiB sent
        (server_side,) = srv._connections
        before = server_side.ssh.kex_count
        await asyncio.sleep(0.8)          # the server's hourly timer, shortened
        assert server_side.ssh.kex_count >= before + 2
        r = await conn.run("cat", input=b"after")
        assert r.stdout == b"after"
        assert conn.transport.session_id == sid
        assert conn.transport._packets.bytes_out < (1 << 20) + 65536


# ---- hostile peers ------------------------------------------------------------------------

async def _raw(srv: SSHServer, data: bytes) -> bytes:
    """Send ``data`` right after our version line; what the server sent until it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(b"SSH-2.0-raw\r\n" + data)
    try:
        return await asyncio.wait_for(reader.read(-1), 10)
    finally:
        writer.close()


def _disconnect_reason(wire: bytes) -> int | None:
    """The reason of a plain-text DISCONNECT in what a server sent before its NEWKEYS."""
    _, _, rest = wire.partition(b"\r\n")
    pos = 0
    while pos + 5 <= len(rest):
        (length,) = struct.unpack(">I", rest[pos:pos + 4])
        payload = rest[pos + 5:pos + 4 + length - rest[pos + 4]]
        if payload[:1] == bytes([Msg.DISCONNECT]):
            return Reader(payload, 1).uint32()
        pos += 4 + length
    return None


async def test_garbage_and_oversize_packets_dropped_others_keep_working() -> None:
    async with server() as srv, await _client(srv) as good:
        wire = await _raw(srv, b"\xff" * 64)
        assert _disconnect_reason(wire) == DisconnectReason.PROTOCOL_ERROR
        wire = await _raw(srv, struct.pack(">I", 0x7FFFFFF0) + b"\x04" + b"x" * 100)
        assert _disconnect_reason(wire) == DisconnectReason.PROTOCOL_ERROR
        wire = await _raw(srv, struct.pack(">IB", 12, 4) + bytes([94]) + b"x" * 6 + b"p" * 4)
        assert _disconnect_reason(wire) == DisconnectReason.PROTOCOL_ERROR
        assert (await good.run("cat", input=b"still here")).stdout == b"still here"


class RawClient:
    """A sans-IO client Transport on a socket, for sending what a real client would not."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.t = Transport(server=False)
        self.reader, self.writer = reader, writer
        self.events: list[object] = []

    async def pump_until(self, kind: type, timeout: float = 10) -> object:
        async def loop() -> object:
            while True:
                self.writer.write(self.t.data_to_send())
                while (ev := self.t.next_event()) is not None:
                    self.events.append(ev)
                    if isinstance(ev, kind):
                        return ev
                data = await self.reader.read(65536)
                if not data:
                    self.t.connection_lost()
                else:
                    self.t.receive_data(data)
        return await asyncio.wait_for(loop(), timeout)


async def _raw_client(srv: SSHServer) -> RawClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    client = RawClient(reader, writer)
    await client.pump_until(KexCompleted)
    return client


async def test_bad_mac_after_kex() -> None:
    async with server() as srv:
        client = await _raw_client(srv)
        packet = bytearray(client.t._packets.encode(bytes([Msg.IGNORE]) + b"\0\0\0\0"))
        packet[-1] ^= 1
        client.writer.write(bytes(packet))
        ev = await client.pump_until(Disconnected)
        assert isinstance(ev, Disconnected) and ev.by_peer
        assert ev.reason == DisconnectReason.MAC_ERROR


async def test_auth_flood_cut_off() -> None:
    async with server(max_attempts=3) as srv:
        client = await _raw_client(srv)
        client.t.request_service("ssh-userauth")
        for i in range(10):
            client.t.send_payload(Writer(Msg.USERAUTH_REQUEST).string("u").string(
                "ssh-connection").string("password").boolean(False).string(f"bad{i}")
                .getvalue())
        ev = await client.pump_until(Disconnected)
        assert isinstance(ev, Disconnected)
        assert ev.reason == DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE


async def test_login_grace_time() -> None:
    async with server(grace_time=0.3) as srv:
        client = await _raw_client(srv)
        client.t.request_service("ssh-userauth")
        ev = await client.pump_until(Disconnected)
        assert isinstance(ev, Disconnected) and ev.by_peer


async def test_channel_before_auth_is_a_protocol_error() -> None:
    async with server() as srv:
        client = await _raw_client(srv)
        client.t.send_payload(Writer(Msg.CHANNEL_OPEN).string("session").uint32(0)
                              .uint32(1000).uint32(1000).getvalue())
        ev = await client.pump_until(Disconnected)
        assert isinstance(ev, Disconnected) and ev.reason == DisconnectReason.PROTOCOL_ERROR


async def test_unknown_service_refused() -> None:
    async with server() as srv:
        client = await _raw_client(srv)
        client.t.request_service("ssh-nonsense")
        ev = await client.pump_until(Disconnected)
        assert isinstance(ev, Disconnected)
        assert ev.reason == DisconnectReason.SERVICE_NOT_AVAILABLE


async def test_slow_reader_pushes_back() -> None:
    from plait.conch.ssh.client import READ_LIMIT
    async with server() as srv, await _client(srv) as conn:
        session = await conn.open_session("emit 20000000")
        await asyncio.sleep(1.0)                 # nobody reads: the window must close
        held = len(session.stdout._buffer)      # type: ignore[attr-defined]
        assert held <= 2 * READ_LIMIT + 2 * 1024 * 1024 + 65536
        got = 0
        while chunk := await session.stdout.read(1 << 16):
            got += len(chunk)
        assert got == 20_000_000 and await session.wait() == 0


@asynccontextmanager
async def echo_server() -> AsyncIterator[int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
    srv = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


async def _through(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    writer.write_eof()
    got = await asyncio.wait_for(reader.read(-1), 10)
    writer.close()
    return got


async def test_forwarding_local_and_remote() -> None:
    payload = bytes(range(256)) * 2000
    async with echo_server() as echo_port, server() as srv, await _client(srv) as conn:
        reader, writer = await conn.open_connection("127.0.0.1", echo_port)
        writer.write(b"direct")
        assert await reader.readexactly(6) == b"direct"
        writer.close()
        local = await conn.forward_local_port("127.0.0.1", 0, "127.0.0.1", echo_port)
        assert await _through(local.port, payload) == payload
        local.close()
        remote = await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", echo_port)
        assert remote.port != 0
        assert await _through(remote.port, payload) == payload
        remote.close()


async def test_forwarding_denied() -> None:
    async with echo_server() as echo_port, server(allow_forwarding=False) as srv, \
            await _client(srv) as conn:
        with pytest.raises(ChannelOpenError):
            await conn.open_connection("127.0.0.1", echo_port)
        with pytest.raises(ChannelOpenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", echo_port)
        assert (await conn.run("cat", input=b"ok")).stdout == b"ok"


class Faulty(SSHServerSession):
    def exec_requested(self, command: str) -> bool:
        if command == "boom":
            raise RuntimeError("application bug")
        return True

    def data_received(self, data: bytes, ext: int | None) -> None:
        raise RuntimeError("another bug")


async def test_failing_callbacks_end_the_request_or_channel_not_the_connection() -> None:
    async with server(process_factory=None, session_factory=lambda avatar: Faulty()) as srv, \
            await _client(srv) as conn:
        with pytest.raises(ChannelOpenError):
            await conn.open_session("boom")
        session = await conn.open_session("fine")
        session.write(b"x")
        await asyncio.wait_for(session.wait(), 10)     # the server closed this channel
        session = await conn.open_session("still fine")
        session.close()
        await asyncio.wait_for(session.wait(), 10)


async def test_host_key_checked_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from plait.conch.ssh import HostKeyError
    monkeypatch.setenv("HOME", str(tmp_path))       # no ~/.ssh/known_hosts: nothing trusted
    async with server() as srv:
        with pytest.raises(HostKeyError) as info:
            await connect("127.0.0.1", srv.port, username="u", client_keys=[USER_KEY])
        assert HOST_KEY.fingerprint() in str(info.value)
        (tmp_path / ".ssh").mkdir()
        (tmp_path / ".ssh" / "known_hosts").write_text(
            f"[127.0.0.1]:{srv.port} {HOST_KEY.public_line()}\n")
        async with await connect("127.0.0.1", srv.port, username="u",
                                 client_keys=[USER_KEY]) as conn:
            assert (await conn.run("cat", input=b"known")).stdout == b"known"
