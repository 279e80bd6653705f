from typing import Any

import pytest

from plait.conch.ssh.connection import (
    ChannelClosed,
    ChannelData,
    ChannelEOF,
    ChannelOpened,
    ChannelOpenFailed,
    ChannelOpenRequested,
    ChannelRequest,
    ChannelRequestReply,
    Connection,
    GlobalRequest,
    GlobalRequestReply,
    WindowOpened,
)
from plait.conch.ssh.constants import ChannelOpenFailure, DisconnectReason, Msg
from plait.conch.ssh.errors import ChannelOpenError, ProtocolError
from plait.conch.ssh.wire import Reader, Writer


class Pair:
    """A client and a server Connection, payloads shuttled in memory."""

    def __init__(self, **server_kw: object) -> None:
        self.client = Connection(server=False)
        self.server = Connection(server=True, **server_kw)  # type: ignore[arg-type]
        self.wire: list[tuple[str, bytes]] = []   # every payload, for byte-level checks

    def pump(self) -> None:
        for _ in range(1000):
            moved = False
            for name, a, b in (("c", self.client, self.server), ("s", self.server, self.client)):
                for payload in a.payloads_to_send():
                    self.wire.append((name, payload))
                    b.receive_payload(payload)
                    moved = True
            if not moved:
                return
        raise AssertionError("pump did not settle")

    @staticmethod
    def events(conn: Connection) -> list[Any]:
        out: list[Any] = []
        while (event := conn.next_event()) is not None:
            out.append(event)
        return out

    def open(self, kind: str = "session") -> tuple[int, int]:
        cid = self.client.open_channel(kind)
        self.pump()
        (req,) = self.events(self.server)
        assert isinstance(req, ChannelOpenRequested) and req.kind == kind
        self.server.accept_channel(req.channel)
        self.pump()
        assert self.events(self.client) == [ChannelOpened(cid, b"")]
        return cid, req.channel


def test_open_accept_and_exact_bytes() -> None:
    p = Pair()
    cid = p.client.open_channel("session")
    (payload,) = p.client.payloads_to_send()
    assert payload == (bytes([90]) + b"\x00\x00\x00\x07session" + (0).to_bytes(4, "big")
                       + (2 * 1024 * 1024).to_bytes(4, "big") + (32768).to_bytes(4, "big"))
    p.server.receive_payload(payload)
    (req,) = p.events(p.server)
    p.server.accept_channel(req.channel)
    p.pump()
    assert p.events(p.client) == [ChannelOpened(cid, b"")]
    assert p.client.send_window(cid) == 2 * 1024 * 1024
    assert p.client.remote_max_packet(cid) == 32768


def test_open_rejected() -> None:
    p = Pair()
    cid = p.client.open_channel("direct-tcpip", b"x")
    p.pump()
    (req,) = p.events(p.server)
    assert req == ChannelOpenRequested(req.channel, "direct-tcpip", b"x")
    p.server.reject_channel(req.channel, ChannelOpenFailure.CONNECT_FAILED, "no route")
    p.pump()
    assert p.events(p.client) == [ChannelOpenFailed(cid, 2, "no route")]
    assert p.client.channels() == [] and p.server.channels() == []


def test_policy_refusals_never_reach_the_application() -> None:
    p = Pair()
    p.server.open_channel("session")   # a server may not open a session on a client
    p.client.open_channel("forwarded-tcpip")   # nor a client a forwarded-tcpip
    p.pump()
    assert p.events(p.client) == [ChannelOpenFailed(0, 1, "a client may not open forwarded-tcpip channels")]
    assert p.events(p.server) == [ChannelOpenFailed(0, 1, "a server may not open session channels")]


def test_max_channels() -> None:
    p = Pair(max_channels=2)
    p.open()
    p.open()
    cid = p.client.open_channel("session")
    p.pump()
    (failed,) = p.events(p.client)
    assert failed == ChannelOpenFailed(cid, ChannelOpenFailure.RESOURCE_SHORTAGE, "too many channels")
    local = Connection(server=False, max_channels=1)
    local.open_channel("session")
    with pytest.raises(ChannelOpenError):
        local.open_channel("session")


def test_data_split_to_max_packet_and_window() -> None:
    p = Pair()
    p.server = Connection(server=True, window=100, max_packet=40)
    cid, sid = p.open()
    p.client.send_data(cid, b"a" * 250)
    p.pump()
    got = p.events(p.server)
    assert [len(e.data) for e in got] == [40, 40, 20]   # type: ignore[attr-defined]
    assert p.client.buffered(cid) == 150 and p.client.send_window(cid) == 0
    p.server.consumed(sid, 49)        # under half the window: nothing re-opened
    p.pump()
    assert p.events(p.client) == []
    p.server.consumed(sid, 1)         # half: WINDOW_ADJUST 50
    p.pump()
    assert p.events(p.client) == [WindowOpened(cid)]
    assert [len(e.data) for e in p.events(p.server)] == [40, 10]  # type: ignore[attr-defined]
    p.server.consumed(sid, 50)
    p.server.consumed(sid, 50)
    p.pump()
    rest = p.events(p.server)
    assert sum(len(e.data) for e in rest if isinstance(e, ChannelData)) == 100
    assert p.client.buffered(cid) == 0
    assert (sum(len(pl) - 9 for who, pl in p.wire if who == "c" and pl[0] == Msg.CHANNEL_DATA)
            == 250)


def test_consumed_more_than_received_is_an_error() -> None:
    p = Pair()
    cid, sid = p.open()
    p.client.send_data(cid, b"abc")
    p.pump()
    p.server.consumed(sid, 3)
    with pytest.raises(ValueError):
        p.server.consumed(sid, 1)


def test_extended_data_eof_close() -> None:
    p = Pair()
    cid, sid = p.open()
    p.server.send_data(sid, b"out")
    p.server.send_data(sid, b"err", ext=1)
    p.server.send_eof(sid)
    p.server.close_channel(sid)
    p.pump()
    assert p.events(p.client) == [ChannelData(cid, b"out"), ChannelData(cid, b"err", 1),
                                  ChannelEOF(cid), ChannelClosed(cid)]
    assert p.events(p.server) == [ChannelClosed(sid)]
    assert p.client.channels() == [] and p.server.channels() == []
    closes = [pl for _, pl in p.wire if pl[0] == Msg.CHANNEL_CLOSE]
    assert len(closes) == 2   # one each way, never twice


def test_close_waits_for_the_window_and_eof_after_buffered_data() -> None:
    p = Pair()
    p.server = Connection(server=True, window=10, max_packet=10)
    cid, sid = p.open()
    p.client.send_data(cid, b"x" * 25)
    p.client.send_eof(cid)
    p.client.close_channel(cid)
    p.pump()
    assert [type(e) for e in p.events(p.server)] == [ChannelData]
    for _ in range(2):
        p.server.consumed(sid, 10)
        p.pump()
    events = p.events(p.server)
    assert events[-2:] == [ChannelEOF(sid), ChannelClosed(sid)]
    assert sum(len(e.data) for e in events if isinstance(e, ChannelData)) == 15


def test_close_with_discard_and_data_after_close_dropped() -> None:
    p = Pair()
    p.server = Connection(server=True, window=10, max_packet=10)
    cid, sid = p.open()
    p.client.send_data(cid, b"x" * 25)
    p.pump()
    p.events(p.server)
    p.client.close_channel(cid, discard=True)
    p.pump()
    assert p.events(p.server) == [ChannelClosed(sid)]
    assert p.events(p.client) == [ChannelClosed(cid)]


def test_peer_data_while_we_close_is_dropped_not_an_error() -> None:
    p = Pair()
    cid, sid = p.open()
    p.client.close_channel(cid)
    close = p.client.payloads_to_send()
    p.server.send_data(sid, b"late")
    for payload in p.server.payloads_to_send():   # crosses our CLOSE on the wire
        p.client.receive_payload(payload)
    assert p.events(p.client) == []
    for payload in close:
        p.server.receive_payload(payload)
    p.pump()
    assert p.events(p.client) == [ChannelClosed(cid)]


def test_send_after_eof_is_a_local_error() -> None:
    p = Pair()
    cid, _ = p.open()
    p.client.send_eof(cid)
    with pytest.raises(ValueError):
        p.client.send_data(cid, b"x")


def test_channel_requests_replied_in_order() -> None:
    p = Pair()
    cid, sid = p.open()
    p.client.send_request(cid, "env", b"E", want_reply=True)
    p.client.send_request(cid, "pty-req", b"P", want_reply=False)
    p.client.send_request(cid, "exec", b"X", want_reply=True)
    p.pump()
    assert p.events(p.server) == [ChannelRequest(sid, "env", True, b"E"),
                                  ChannelRequest(sid, "pty-req", False, b"P"),
                                  ChannelRequest(sid, "exec", True, b"X")]
    p.server.reply_request(sid, False)
    p.server.reply_request(sid, True)
    with pytest.raises(ValueError):
        p.server.reply_request(sid, True)
    p.pump()
    assert p.events(p.client) == [ChannelRequestReply(cid, False, "env"),
                                  ChannelRequestReply(cid, True, "exec")]


def test_keepalive_answered_failure_in_order() -> None:
    p = Pair()
    cid, _ = p.open()
    p.client.global_request("custom", b"d", want_reply=True)
    p.client.global_request("keepalive@openssh.com", want_reply=True)
    p.pump()
    assert p.events(p.server) == [GlobalRequest("custom", True, b"d")]
    assert p.events(p.client) == []   # the keepalive reply waits behind "custom"
    p.server.reply_global(True, b"\x00\x00\x00\x07")
    p.pump()
    assert p.events(p.client) == [GlobalRequestReply(True, b"\x00\x00\x00\x07", "custom"),
                                  GlobalRequestReply(False, b"", "keepalive@openssh.com")]
    p.client.send_request(cid, "keepalive@openssh.com", want_reply=True)
    p.pump()
    assert p.events(p.server) == []
    assert p.events(p.client) == [ChannelRequestReply(cid, False, "keepalive@openssh.com")]


def test_tcpip_forward_reply_carries_the_port() -> None:
    from plait.conch.ssh.session import TcpipForward, TcpipForwardReply
    p = Pair()
    p.client.global_request("tcpip-forward", TcpipForward("127.0.0.1", 0).encode(), True)
    p.pump()
    (req,) = p.events(p.server)
    assert TcpipForward.decode(req.data) == TcpipForward("127.0.0.1", 0)  # type: ignore[attr-defined]
    p.server.reply_global(True, TcpipForwardReply(40222).encode())
    p.pump()
    (reply,) = p.events(p.client)
    assert TcpipForwardReply.decode(reply.data).port == 40222  # type: ignore[attr-defined]
    assert p.wire[-1] == ("s", b"\x51\x00\x00\x9d\x1e")


def test_oversized_request_refused_without_event() -> None:
    p = Pair(max_request_size=10)
    cid, _ = p.open()
    p.client.send_request(cid, "env", b"x" * 11, want_reply=True)
    p.client.global_request("big", b"x" * 11, want_reply=True)
    p.pump()
    assert p.events(p.server) == []
    assert p.events(p.client) == [ChannelRequestReply(cid, False, "env"),
                                  GlobalRequestReply(False, b"", "big")]


def test_pending_request_limit() -> None:
    p = Pair(max_pending=2)
    cid, _ = p.open()
    for _ in range(2):
        p.client.send_request(cid, "env", want_reply=True)
    p.pump()
    p.client.send_request(cid, "env", want_reply=True)
    with pytest.raises(ProtocolError):
        p.pump()


def _server_with_channel() -> tuple[Connection, int, int]:
    p = Pair()
    cid, sid = p.open()
    return p.server, sid, cid


@pytest.mark.parametrize("payload", [
    Writer(Msg.CHANNEL_DATA).uint32(99).string(b"x").getvalue(),          # unknown channel
    Writer(Msg.CHANNEL_WINDOW_ADJUST).uint32(99).uint32(1).getvalue(),
    Writer(Msg.CHANNEL_OPEN_CONFIRMATION).uint32(0).uint32(0).uint32(1).uint32(1).getvalue(),
    Writer(Msg.CHANNEL_SUCCESS).uint32(0).getvalue(),                      # no request outstanding
    bytes([Msg.REQUEST_SUCCESS]),
    Writer(Msg.CHANNEL_DATA).uint32(0).string(b"x" * 32769).getvalue(),   # over max packet
    Writer(Msg.CHANNEL_DATA).uint32(0).string(b"x").raw(b"junk").getvalue(),
    Writer(Msg.CHANNEL_OPEN).string("session").uint32(5).uint32(10).uint32(0).getvalue(),
    bytes([Msg.KEXINIT]),
    b"",
])
def test_violations_are_protocol_errors(payload: bytes) -> None:
    server, _, _ = _server_with_channel()
    with pytest.raises(ProtocolError) as info:
        server.receive_payload(payload)
    assert info.value.reason == DisconnectReason.PROTOCOL_ERROR


def test_data_beyond_window_and_after_eof() -> None:
    server = Connection(server=True, window=100, max_packet=100)
    server.receive_payload(Writer(Msg.CHANNEL_OPEN).string("session").uint32(7).uint32(1000)
                           .uint32(1000).getvalue())
    server.accept_channel(0)
    server.receive_payload(Writer(Msg.CHANNEL_DATA).uint32(0).string(b"x" * 60).getvalue())
    with pytest.raises(ProtocolError, match="exceed the window"):
        server.receive_payload(Writer(Msg.CHANNEL_DATA).uint32(0).string(b"x" * 41).getvalue())
    server.receive_payload(Writer(Msg.CHANNEL_EOF).uint32(0).getvalue())
    with pytest.raises(ProtocolError, match="after its EOF"):
        server.receive_payload(Writer(Msg.CHANNEL_DATA).uint32(0).string(b"x").getvalue())


def test_window_adjust_overflow() -> None:
    server, sid, _ = _server_with_channel()
    with pytest.raises(ProtocolError, match="overflows"):
        server.receive_payload(Writer(Msg.CHANNEL_WINDOW_ADJUST).uint32(sid)
                               .uint32(0xFFFFFFFF).getvalue())


def test_message_after_close_is_an_error() -> None:
    p = Pair()
    cid, sid = p.open()
    p.client.close_channel(cid)
    p.pump()
    with pytest.raises(ProtocolError):
        p.server.receive_payload(Writer(Msg.CHANNEL_DATA).uint32(sid).string(b"x").getvalue())


def test_data_before_accept_is_an_error() -> None:
    server = Connection(server=True)
    server.receive_payload(Writer(Msg.CHANNEL_OPEN).string("session").uint32(7).uint32(1000)
                           .uint32(1000).getvalue())
    with pytest.raises(ProtocolError):
        server.receive_payload(Writer(Msg.CHANNEL_DATA).uint32(0).string(b"x").getvalue())


def test_paramiko_channel_open_parses() -> None:
    """paramiko's CHANNEL_OPEN for a session, with its own defaults, opens here."""
    paramiko = pytest.importorskip("paramiko")
    m = paramiko.Message()
    m.add_byte(bytes([Msg.CHANNEL_OPEN]))
    m.add_string("session")
    m.add_int(3)
    m.add_int(paramiko.common.DEFAULT_WINDOW_SIZE)
    m.add_int(paramiko.common.DEFAULT_MAX_PACKET_SIZE)
    server = Connection(server=True)
    server.receive_payload(m.asbytes())
    (req,) = Pair.events(server)
    server.accept_channel(req.channel)  # type: ignore[attr-defined]
    (confirm,) = server.payloads_to_send()
    r = paramiko.Message(confirm)
    assert r.get_byte() == bytes([Msg.CHANNEL_OPEN_CONFIRMATION])
    assert (r.get_int(), r.get_int(), r.get_int(), r.get_int()) == (3, 0, 2 * 1024 * 1024, 32768)
    server.send_data(req.channel, b"z" * 70000)  # type: ignore[attr-defined]
    sizes = [len(Reader(pl, 5).string()) for pl in server.payloads_to_send()]
    assert max(sizes) <= paramiko.common.DEFAULT_MAX_PACKET_SIZE and sum(sizes) == 70000


def test_close_while_opening() -> None:
    p = Pair()
    first = p.client.open_channel("session")
    second = p.client.open_channel("session")
    p.client.close_channel(first)
    p.client.close_channel(second)
    assert [pl[0] for pl in p.client.payloads_to_send()] == [Msg.CHANNEL_OPEN] * 2  # no CLOSE yet
    for payload in (Writer(Msg.CHANNEL_OPEN).string("session").uint32(cid).uint32(1000)
                    .uint32(100).getvalue() for cid in (first, second)):
        p.server.receive_payload(payload)
    accepted, refused = p.events(p.server)
    p.server.accept_channel(accepted.channel)
    p.server.reject_channel(refused.channel, 4, "busy")
    p.pump()
    assert p.events(p.client) == [ChannelOpenFailed(second, 4, "busy"), ChannelClosed(first)]
    assert p.events(p.server) == [ChannelClosed(accepted.channel)]
    assert p.client.channels() == [] and p.server.channels() == []


def test_random_corruption_only_raises_protocol_error() -> None:
    import random
    rng = random.Random(5)
    samples = [
        Writer(Msg.CHANNEL_DATA).uint32(0).string(b"hello").getvalue(),
        Writer(Msg.CHANNEL_EXTENDED_DATA).uint32(0).uint32(1).string(b"err").getvalue(),
        Writer(Msg.CHANNEL_WINDOW_ADJUST).uint32(0).uint32(100).getvalue(),
        Writer(Msg.CHANNEL_REQUEST).uint32(0).string("exec").boolean(True).string("ls").getvalue(),
        Writer(Msg.CHANNEL_OPEN).string("session").uint32(1).uint32(10).uint32(10).getvalue(),
        Writer(Msg.CHANNEL_OPEN_FAILURE).uint32(1).uint32(2).string("x").string("").getvalue(),
        Writer(Msg.GLOBAL_REQUEST).string("tcpip-forward").boolean(True).string("").uint32(0)
        .getvalue(),
        Writer(Msg.CHANNEL_EOF).uint32(0).getvalue(),
        Writer(Msg.CHANNEL_CLOSE).uint32(0).getvalue(),
    ]
    for _ in range(3000):
        server, _, _ = _server_with_channel()
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 3)):
            if not data:
                break
            op = rng.randrange(3)
            i = rng.randrange(len(data))
            if op == 0:
                data[i] = rng.randrange(256)
            elif op == 1:
                del data[i:]
            else:
                data[i:i] = rng.randbytes(rng.randint(1, 4))
        try:
            server.receive_payload(bytes(data))
        except ProtocolError:
            pass


def test_output_keeps_channel_data_as_window_runs() -> None:
    """output() hands channel data on as (recipient, ext, data, chunk) runs of up to the
    window; payloads_to_send() frames the same runs as separate messages."""
    p = Pair()
    p.server = Connection(server=True, window=100, max_packet=40)
    cid, sid = p.open()
    data = bytes(range(250))
    p.client.send_data(cid, memoryview(data))        # bytes-backed view: kept, not copied
    p.client.send_data(cid, b"e" * 5, ext=1)
    (run,) = p.client.output()
    recipient, ext, piece, chunk = run                   # type: ignore[misc]
    assert (recipient, ext, chunk) == (sid, None, 40)
    assert bytes(piece) == data[:100] and isinstance(piece, memoryview)
    assert piece.obj is data
    assert p.client.buffered(cid) == 155 and p.client.send_window(cid) == 0


def test_data_from_a_mutable_buffer_is_copied() -> None:
    p = Pair()
    cid, _ = p.open()
    buf = bytearray(b"abc")
    p.client.send_data(cid, buf)
    buf[:] = b"xyz"
    p.client.send_data(cid, memoryview(bytearray(b"def")))
    p.pump()
    got = [e.data for e in p.events(p.server) if isinstance(e, ChannelData)]
    assert b"".join(got) == b"abcdef"
