"""Tests for plait.vertex.filexfer: the sans-IO core in memory, then the adapters over TCP."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import struct
from pathlib import Path

import pytest

from plait.vertex.filexfer import (
    MAX_CHUNK,
    MAX_CONTROL,
    PROGRESS_STEP,
    Aborted,
    Accepted,
    Credit,
    Data,
    Done,
    FileReceiver,
    FileSender,
    FileTransfer,
    FileTransferError,
    Offer,
    ProtocolError,
    Received,
    Refused,
    Result,
    Role,
    TransferResult,
    UnsafeName,
    check_name,
    prepare_offer,
)

DIGEST = hashlib.sha256(b"hello world").hexdigest()


def frame(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BI", kind, len(payload)) + payload


def offer_frame(name: str = "f.txt", size: int = 11, digest: str = DIGEST, v: int = 1) -> bytes:
    return frame(1, json.dumps({"v": v, "name": name, "size": size, "sha256": digest}).encode())


def events(core: FileTransfer) -> list[object]:
    out = []
    while (e := core.next_event()) is not None:
        out.append(e)
    return out


def feed(core: FileTransfer, data: bytes, step: int) -> list[object]:
    got: list[object] = []
    for i in range(0, len(data), step):
        core.receive_data(data[i : i + step])
        got += events(core)
    return got


@pytest.mark.parametrize("step", [1, 3, 7, 1 << 20])
def test_core_pair_every_chunk_size(step: int) -> None:
    s, r = FileTransfer(Role.SENDER), FileTransfer(Role.RECEIVER)
    s.send_offer(Offer("f.txt", 11, DIGEST))
    assert feed(r, s.data_to_send(), step) == [Offer("f.txt", 11, DIGEST)]
    r.accept(5)
    assert feed(s, r.data_to_send(), step) == [Accepted(5)]
    s.send_data(b"hello")
    with pytest.raises(FileTransferError, match="credit"):
        s.send_data(b" ")
    assert feed(r, s.data_to_send(), step) == [Data(b"hello")]
    r.grant(6)
    assert feed(s, r.data_to_send(), step) == [Credit(6)]
    s.send_data(b" world")
    s.send_done()
    assert feed(r, s.data_to_send(), step) == [Data(b" world"), Done()]
    r.send_result(True, "f.txt")
    assert feed(s, r.data_to_send(), step) == [Result(True, "f.txt")]
    assert s.state == r.state == "closed"


def test_core_received_reports() -> None:
    s, r = FileTransfer(Role.SENDER), FileTransfer(Role.RECEIVER)
    s.send_offer(Offer("f.txt", 11, DIGEST))
    r.receive_data(s.data_to_send())
    events(r)
    r.accept(100)
    s.receive_data(r.data_to_send())
    events(s)
    s.send_data(b"hello world")
    r.receive_data(s.data_to_send())
    events(r)
    r.report(5)
    r.report(11)
    s.receive_data(r.data_to_send())
    assert events(s) == [Received(5), Received(11)]
    r.report(4)  # going backwards
    s.receive_data(r.data_to_send())
    with pytest.raises(ProtocolError, match="out of order"):
        events(s)
    s2 = FileTransfer(Role.SENDER)
    s2.send_offer(Offer("f.txt", 11, DIGEST))
    s2.receive_data(frame(2, struct.pack("!I", 100)) + frame(9, struct.pack("!Q", 3)))
    with pytest.raises(ProtocolError, match="out of order"):  # more than was sent
        events(s2)
    s3 = FileTransfer(Role.SENDER)
    s3.send_offer(Offer("f.txt", 11, DIGEST))
    s3.receive_data(frame(2, struct.pack("!I", 100)) + frame(9, b"\0"))
    with pytest.raises(ProtocolError, match="must be 8 bytes"):
        events(s3)


def test_core_refuse_and_abort() -> None:
    s, r = FileTransfer(Role.SENDER), FileTransfer(Role.RECEIVER)
    s.send_offer(Offer("f.txt", 11, DIGEST))
    r.receive_data(s.data_to_send())
    events(r)
    r.refuse("no thanks")
    s.receive_data(r.data_to_send())
    assert events(s) == [Refused("no thanks")]
    s2 = FileTransfer(Role.SENDER)
    s2.send_offer(Offer("f.txt", 11, DIGEST))
    s2.receive_data(frame(8, b"gone"))
    assert events(s2) == [Aborted("gone")]
    assert s2.state == "closed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(4, b"x"), "unexpected DATA frame in state idle"),
        (frame(99), "unexpected 99 frame"),
        (struct.pack("!BI", 1, MAX_CONTROL + 1), "over the 4096-byte limit"),
        (struct.pack("!BI", 4, MAX_CHUNK + 1), "over the 65536-byte limit"),
        (frame(1, b"not json"), "malformed offer"),
        (frame(1, b"[1]"), "malformed offer"),
        (offer_frame(v=2), "unsupported protocol version 2"),
        (offer_frame(size=-1), "malformed offer size"),
        (offer_frame(digest="zz"), "malformed offer checksum"),
        (offer_frame() + offer_frame(), "unexpected OFFER frame in state offered"),
    ],
)
def test_core_receiver_rejects_bad_input(data: bytes, message: str) -> None:
    r = FileTransfer(Role.RECEIVER)
    with pytest.raises(ProtocolError, match=message):
        r.receive_data(data)
        events(r)


def test_core_receiver_enforces_credit_and_size() -> None:
    cases = [(11, 4, frame(4, b"hello"), "beyond the granted credit"),
             (3, 100, frame(4, b"hello"), "more data than offered"),
             (11, 100, frame(6), "done after 0 of 11 bytes")]
    for size, credit, data, message in cases:
        r = FileTransfer(Role.RECEIVER)
        r.receive_data(offer_frame(size=size) + data)  # pipelined: judged after accept
        assert isinstance(r.next_event(), Offer)
        r.accept(credit)
        with pytest.raises(ProtocolError, match=message):
            r.next_event()


def test_core_sender_rejects_bad_input() -> None:
    s = FileTransfer(Role.SENDER)
    s.send_offer(Offer("f.txt", 11, DIGEST))
    s.receive_data(frame(7, b'{"ok": true, "message": ""}'))
    with pytest.raises(ProtocolError, match="unexpected RESULT"):
        events(s)
    s = FileTransfer(Role.SENDER)
    s.send_offer(Offer("f.txt", 11, DIGEST))
    s.receive_data(frame(2, struct.pack("!I", 0xFFFFFFFF)))
    assert events(s) == [Accepted(0xFFFFFFFF)]
    s.receive_data(frame(5, struct.pack("!I", 1)))
    with pytest.raises(ProtocolError, match="credit overflow"):
        events(s)


def test_core_actions_check_role_and_state() -> None:
    s = FileTransfer(Role.SENDER)
    with pytest.raises(FileTransferError, match="as sender in state idle"):
        s.send_data(b"x")
    with pytest.raises(FileTransferError, match="as sender"):
        s.accept()
    r = FileTransfer(Role.RECEIVER)
    with pytest.raises(FileTransferError, match="as receiver"):
        r.send_offer(Offer("a", 1, DIGEST))


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "../etc/passwd", "a/b", "a\\b", ".bashrc", "x\x00y", "a\nb", " lead",
     "trail ", "\u202eevil", "x" * 256],
)
def test_unsafe_names(name: str) -> None:
    with pytest.raises(UnsafeName):
        check_name(name)


@pytest.mark.parametrize("name", ["report.pdf", "a b.txt", "ünïcødé.txt", "x" * 255, "a..b"])
def test_safe_names(name: str) -> None:
    assert check_name(name) == name


# -- the asyncio adapters over real TCP on 127.0.0.1 ------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.total: int | None = None
        self.updates: list[int] = []
        self.finished: bool | None = None

    def start(self, total: int, label: str = "") -> None:
        self.total = total

    def update(self, done: int) -> None:
        self.updates.append(done)

    def finish(self, ok: bool = True) -> None:
        self.finished = ok


async def serve_receivers(directory: Path, **kw: object) -> tuple[asyncio.Server, list[FileReceiver]]:
    receivers: list[FileReceiver] = []

    def factory() -> FileReceiver:
        r = FileReceiver(directory, **kw)  # type: ignore[arg-type]
        receivers.append(r)
        return r

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    return server, receivers


async def send(path: Path, port: int, offer: Offer | None = None, **kw: object) -> FileSender:
    if offer is None:
        offer = await prepare_offer(path)
    _, sender = await asyncio.get_running_loop().create_connection(
        lambda: FileSender(path, offer, **kw), "127.0.0.1", port  # type: ignore[arg-type]
    )
    return sender


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def test_send_and_receive(tmp_path: Path) -> None:
    src = tmp_path / "payload.bin"
    data = os.urandom(300_000)
    src.write_bytes(data)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rec_progress = Recorder()
    server, receivers = await serve_receivers(inbox, window=8192, progress=rec_progress)
    send_progress = Recorder()
    sender = await send(src, port_of(server), progress=send_progress)
    sent = await sender.result
    received = await receivers[0].result
    digest = hashlib.sha256(data).hexdigest()
    assert sent == TransferResult("payload.bin", len(data), digest, sent.elapsed, "payload.bin")
    assert received.sha256 == digest and received.stored_as == "payload.bin"
    assert (inbox / "payload.bin").read_bytes() == data
    assert sorted(p.name for p in inbox.iterdir()) == ["payload.bin"]  # no temp file left
    assert send_progress.total == len(data) and send_progress.updates[-1] == len(data)
    assert len(send_progress.updates) >= len(data) // PROGRESS_STEP  # the receiver's reports
    assert send_progress.finished is True and rec_progress.finished is True
    assert rec_progress.updates == sorted(rec_progress.updates)
    # a second copy does not overwrite the first
    sender = await send(src, port_of(server))
    assert (await sender.result).stored_as == "payload.1.bin"
    assert (inbox / "payload.1.bin").read_bytes() == data
    server.close()
    await server.wait_closed()


async def test_empty_file(tmp_path: Path) -> None:
    src = tmp_path / "empty"
    src.write_bytes(b"")
    (tmp_path / "in").mkdir()
    server, receivers = await serve_receivers(tmp_path / "in")
    sender = await send(src, port_of(server))
    assert (await sender.result).size == 0
    assert (await receivers[0].result).stored_as == "empty"
    assert (tmp_path / "in" / "empty").read_bytes() == b""
    server.close()
    await server.wait_closed()


async def test_receiver_refuses_over_max_size(tmp_path: Path) -> None:
    src = tmp_path / "big"
    src.write_bytes(b"x" * 1001)
    (tmp_path / "in").mkdir()
    server, receivers = await serve_receivers(tmp_path / "in", max_size=1000)
    sender = await send(src, port_of(server))
    with pytest.raises(FileTransferError, match="refused by the receiver: 1001 bytes is over"):
        await sender.result
    with pytest.raises(FileTransferError, match="refused"):
        await receivers[0].result
    assert list((tmp_path / "in").iterdir()) == []
    server.close()
    await server.wait_closed()


async def test_on_offer_can_refuse(tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_bytes(b"hello")
    (tmp_path / "in").mkdir()
    seen: list[Offer] = []

    def on_offer(offer: Offer, peer: object) -> str | None:
        seen.append(offer)
        return "not from you"

    server, receivers = await serve_receivers(tmp_path / "in", on_offer=on_offer)
    sender = await send(src, port_of(server))
    with pytest.raises(FileTransferError, match="not from you"):
        await sender.result
    with pytest.raises(FileTransferError, match="refused: not from you"):
        await receivers[0].result
    assert seen == [Offer("f.txt", 5, hashlib.sha256(b"hello").hexdigest())]
    server.close()
    await server.wait_closed()


async def raw_exchange(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    reply = await reader.read()  # the receiver closes after answering
    writer.close()
    return reply


async def test_receiver_refuses_traversal_name(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    server, receivers = await serve_receivers(inbox)
    reply = await raw_exchange(port_of(server), offer_frame(name="../escape"))
    assert reply[:1] == b"\x03" and b"path separator" in reply
    with pytest.raises(FileTransferError, match="path separator"):
        await receivers[0].result
    assert list(inbox.iterdir()) == [] and not (tmp_path / "escape").exists()
    server.close()
    await server.wait_closed()


async def test_receiver_verifies_checksum(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    server, receivers = await serve_receivers(inbox)
    wrong = hashlib.sha256(b"something else").hexdigest()
    payload = offer_frame(size=11, digest=wrong) + frame(4, b"hello world") + frame(6)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
    writer.write(payload)
    with pytest.raises(FileTransferError, match="checksum mismatch"):
        await receivers[0].result
    reply = await reader.read()
    assert b'"ok": false' in reply and b"checksum mismatch" in reply
    writer.close()
    assert list(inbox.iterdir()) == []  # the temp file is gone, nothing renamed
    server.close()
    await server.wait_closed()


async def test_receiver_answers_protocol_errors_and_cleans_up(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    server, receivers = await serve_receivers(inbox, window=4)
    reply = await raw_exchange(port_of(server), offer_frame() + frame(4, b"hello"))
    assert b"\x08" in reply and b"beyond the granted credit" in reply
    with pytest.raises(FileTransferError, match="protocol error from peer"):
        await receivers[0].result
    assert list(inbox.iterdir()) == []
    server.close()
    await server.wait_closed()


async def test_sender_vanishing_removes_temp_file(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    server, receivers = await serve_receivers(inbox)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
    writer.write(offer_frame() + frame(4, b"hello"))
    await reader.readexactly(9)  # ACCEPT
    writer.close()
    with pytest.raises(FileTransferError, match="connection closed before the transfer"):
        await receivers[0].result
    assert list(inbox.iterdir()) == []
    server.close()
    await server.wait_closed()


async def test_idle_receiver_gives_up(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    server, receivers = await serve_receivers(inbox, idle_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
    writer.write(offer_frame())
    with pytest.raises(FileTransferError, match="no progress for 0.2 seconds"):
        await receivers[0].result
    reply = await reader.read()
    assert b"no progress" in reply
    writer.close()
    assert list(inbox.iterdir()) == []
    server.close()
    await server.wait_closed()


async def test_sender_detects_a_changed_file(tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_bytes(b"hello world")
    offer = await prepare_offer(src)
    src.write_bytes(b"HELLO WORLD")
    inbox = tmp_path / "in"
    inbox.mkdir()
    server, receivers = await serve_receivers(inbox)
    sender = await send(src, port_of(server), offer=offer)
    with pytest.raises(FileTransferError, match="changed while sending"):
        await sender.result
    with pytest.raises(FileTransferError, match="aborted by the sender"):
        await receivers[0].result
    assert list(inbox.iterdir()) == []
    server.close()
    await server.wait_closed()


async def test_prepare_offer_errors(tmp_path: Path) -> None:
    with pytest.raises(FileTransferError, match="not a regular file"):
        await prepare_offer(tmp_path)
    with pytest.raises(FileTransferError, match="not a regular file"):
        await prepare_offer(tmp_path / "missing")
    (tmp_path / "ok").write_bytes(b"x")
    with pytest.raises(UnsafeName):
        await prepare_offer(tmp_path / "ok", name="../x")
