"""Two Transports in memory: negotiation, every key exchange, host key type, cipher and
MAC, strict kex, rekeying with data flowing, chunked input, and bad input from the peer."""
from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

from conch.ssh import fake_packet
from plait.conch.ssh.constants import DisconnectReason, Msg
from plait.conch.ssh.kex import KEX_METHODS
from plait.conch.ssh.keys import Key
from plait.conch.ssh.wire import Writer

try:
    native = importlib.import_module("plait.conch.ssh.packet")
except ImportError:   # the native layer is not built here: the transport logic is still tested
    native = None
    sys.modules["plait.conch.ssh.packet"] = fake_packet  # type: ignore[assignment]

from plait.conch.ssh import transport as tmod
from plait.conch.ssh.transport import (
    Disconnected,
    KexCompleted,
    PayloadReceived,
    ServiceAccepted,
    ServiceRequested,
    Transport,
    TransportConfig,
)

KEYS = {kind: Key.generate(kind) for kind in ("ed25519", "ecdsa", "rsa")}
KEYS["ecdsa384"] = Key.generate("ecdsa", 384)
KEYS["ecdsa521"] = Key.generate("ecdsa", 521)
HOST_ALGS = {"ssh-ed25519": "ed25519", "ecdsa-sha2-nistp256": "ecdsa",
             "ecdsa-sha2-nistp384": "ecdsa384", "ecdsa-sha2-nistp521": "ecdsa521",
             "rsa-sha2-512": "rsa", "rsa-sha2-256": "rsa"}


@pytest.fixture(params=["fake"] + (["native"] if native is not None else []))
def layer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "fake":
        monkeypatch.setattr(tmod, "PacketLayer", fake_packet.FakePacketLayer)
        monkeypatch.setattr(tmod, "CIPHERS", fake_packet.CIPHERS)
        monkeypatch.setattr(tmod, "MACS", fake_packet.MACS)
    yield request.param


def _config(layer: str, **kw: object) -> TransportConfig:
    if layer == "fake":
        kw.setdefault("ciphers", ("test-ctr", "test-aead"))
        kw.setdefault("macs", ("test-mac",))
    return TransportConfig(**kw)  # type: ignore[arg-type]


class Pair:
    def __init__(self, layer: str, *, chunk: int = 0, host_keys: list[Key] | None = None,
                 client_config: TransportConfig | None = None,
                 server_config: TransportConfig | None = None,
                 verify: object = None) -> None:
        self.seen: list[Key] = []

        def _verify(key: Key) -> bool:
            self.seen.append(key)
            return True if verify is None else bool(verify)
        self.client = Transport(server=False, config=client_config or _config(layer),
                                verify_host_key=_verify)
        self.server = Transport(server=True, host_keys=host_keys or [KEYS["ed25519"]],
                                config=server_config or _config(layer))
        self.chunk = chunk
        self.events: dict[str, list[object]] = {"client": [], "server": []}

    def pump(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            moved = False
            for src, dst in ((self.client, self.server), (self.server, self.client)):
                data = src.data_to_send()
                if data:
                    moved = True
                    step = self.chunk or len(data)
                    for i in range(0, len(data), step):
                        dst.receive_data(data[i:i + step])
            for name, t in (("client", self.client), ("server", self.server)):
                while (ev := t.next_event()) is not None:
                    self.events[name].append(ev)
            if not moved:
                return
        raise AssertionError("pump did not settle")

    def of(self, side: str, kind: type) -> list:
        return [e for e in self.events[side] if isinstance(e, kind)]


def test_handshake_defaults(layer: str) -> None:
    pair = Pair(layer)
    pair.pump()
    done_c = pair.of("client", KexCompleted)
    done_s = pair.of("server", KexCompleted)
    assert len(done_c) == len(done_s) == 1 and done_c[0].first
    alg = done_c[0].algorithms
    assert alg == done_s[0].algorithms
    assert alg.kex == "mlkem768x25519-sha256" and alg.host_key == "ssh-ed25519"
    assert alg.strict_kex
    assert pair.client.session_id == pair.server.session_id is not None
    assert pair.seen == [KEYS["ed25519"].public_key()]
    assert pair.client.peer_version == pair.server.local_version
    assert pair.server.local_version.startswith(b"SSH-2.0-plait_")
    # ext-info: the server told the client which signature algorithms it accepts
    assert pair.client.server_sig_algs is not None
    assert "ssh-ed25519" in pair.client.server_sig_algs
    assert pair.server.peer_ext_info


def _kex_host_matrix() -> list[tuple[str, str, str]]:
    # Every pair on the fake layer; on the native one two host key types suffice (host keys
    # are independent of the packet layer).
    layers = ["fake"] + (["native"] if native is not None else [])
    return [(layer, kex, host) for layer in layers for kex in sorted(KEX_METHODS)
            for host in sorted(HOST_ALGS)
            if layer == "fake" or host in ("ssh-ed25519", "rsa-sha2-256")]


@pytest.mark.parametrize(("layer", "kex", "host"), _kex_host_matrix(), indirect=["layer"])
def test_every_kex_and_host_key(layer: str, kex: str, host: str) -> None:
    cfg = _config(layer, kex_algorithms=(kex,), host_key_algorithms=(host,))
    pair = Pair(layer, host_keys=list(KEYS.values()), client_config=cfg)
    pair.pump()
    alg = pair.of("client", KexCompleted)[0].algorithms
    assert (alg.kex, alg.host_key) == (kex, host)
    pair.client.send_payload(b"\x5eping")
    pair.pump()
    assert pair.of("server", PayloadReceived) == [PayloadReceived(b"\x5eping")]


def _cipher_mac_matrix() -> list[tuple[str, str, str]]:
    # Each packet layer with the ciphers and MACs it has.
    layers = [("fake", fake_packet)] + ([("native", native)] if native is not None else [])
    return [(name, c, m) for name, mod in layers for c in mod.CIPHERS for m in mod.MACS
            if c != "none"]


@pytest.mark.parametrize(("layer", "cipher", "mac"), _cipher_mac_matrix(), indirect=["layer"])
def test_every_cipher_and_mac(layer: str, cipher: str, mac: str) -> None:
    cfg = _config(layer, ciphers=(cipher,), macs=(mac,))
    pair = Pair(layer, client_config=cfg)
    pair.pump()
    alg = pair.of("client", KexCompleted)[0].algorithms
    assert alg.cipher_cs == alg.cipher_sc == cipher
    is_aead = (fake_packet.CIPHERS if layer == "fake" else native.CIPHERS)[cipher][3]
    assert alg.mac_cs == (None if is_aead else mac)
    for i in range(20):
        pair.server.send_payload(bytes([94]) + bytes([i]) * (i * 100))
    pair.pump()
    got = [e.payload for e in pair.of("client", PayloadReceived)]
    assert got == [bytes([94]) + bytes([i]) * (i * 100) for i in range(20)]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_byte_at_a_time(layer: str, chunk: int) -> None:
    pair = Pair(layer, chunk=chunk)
    pair.pump(200)
    assert pair.of("server", KexCompleted) and pair.of("client", KexCompleted)
    pair.client.send_payload(b"\x5a" + b"x" * 1000)
    pair.pump()
    assert pair.of("server", PayloadReceived)[0].payload == b"\x5a" + b"x" * 1000


def test_service_request_and_payloads_held_until_kex(layer: str) -> None:
    pair = Pair(layer)
    pair.client.request_service("ssh-userauth")   # before the first kex: held
    pair.client.send_payload(b"\x32early")
    pair.pump()
    assert pair.of("server", ServiceRequested) == [ServiceRequested("ssh-userauth")]
    pair.server.accept_service("ssh-userauth")
    pair.pump()
    assert pair.of("client", ServiceAccepted) == [ServiceAccepted("ssh-userauth")]
    assert pair.of("server", PayloadReceived) == [PayloadReceived(b"\x32early")]


def test_rekey_mid_stream_with_data(layer: str) -> None:
    cfg = _config(layer, rekey_bytes=20_000)
    pair = Pair(layer, client_config=cfg)
    pair.pump()
    sid = pair.client.session_id
    sent = [bytes([94]) + i.to_bytes(4, "big") * 250 for i in range(60)]
    for i, payload in enumerate(sent):
        pair.client.send_payload(payload)
        pair.server.send_payload(payload)
        if i % 7 == 0:
            pair.pump()
    pair.pump()
    assert len(pair.of("client", KexCompleted)) >= 3
    assert not any(e.first for e in pair.of("client", KexCompleted)[1:])
    assert pair.client.session_id == sid
    assert [e.payload for e in pair.of("server", PayloadReceived)] == sent
    assert [e.payload for e in pair.of("client", PayloadReceived)] == sent
    assert len(pair.seen) == len(pair.of("client", KexCompleted))


def test_rekey_on_timer_and_on_peer_request(layer: str) -> None:
    pair = Pair(layer)
    pair.client.handle_timer(100.0)
    pair.pump()
    assert pair.client.get_timer() == 100.0 + 3600.0
    pair.client.handle_timer(3000.0)
    pair.pump()
    assert len(pair.of("client", KexCompleted)) == 1
    pair.client.handle_timer(3700.0)
    pair.pump()
    assert len(pair.of("client", KexCompleted)) == 2
    assert pair.client.get_timer() == 3700.0 + 3600.0
    pair.server.rekey()       # the server's KEXINIT starts one on the client too
    pair.pump()
    assert len(pair.of("client", KexCompleted)) == 3 == len(pair.of("server", KexCompleted))


def test_host_key_refused(layer: str) -> None:
    pair = Pair(layer, verify=False)
    pair.pump()
    (ev,) = pair.of("client", Disconnected)
    assert ev.reason == DisconnectReason.HOST_KEY_NOT_VERIFIABLE and not ev.by_peer
    (peer,) = pair.of("server", Disconnected)
    assert peer.by_peer and peer.reason == DisconnectReason.HOST_KEY_NOT_VERIFIABLE


def test_no_common_algorithm(layer: str) -> None:
    pair = Pair(layer, client_config=_config(layer, kex_algorithms=("ecdh-sha2-nistp256",)),
                server_config=_config(layer, kex_algorithms=("curve25519-sha256",)))
    pair.pump()
    assert pair.of("client", Disconnected)[0].reason == DisconnectReason.KEY_EXCHANGE_FAILED
    assert "no matching key exchange method" in pair.of("client", Disconnected)[0].description


def _fresh_server(layer: str) -> tuple[Transport, Transport]:
    client = Transport(server=False, config=_config(layer))
    server = Transport(server=True, host_keys=[KEYS["ed25519"]], config=_config(layer))
    return client, server


def test_strict_kex_rejects_ignore_before_kexinit(layer: str) -> None:
    # Terrapin: a message slipped in before KEXINIT shifts sequence numbers; strict kex
    # makes it fatal.
    client, server = _fresh_server(layer)
    hello = client.data_to_send()
    version, kexinit = hello.split(b"\r\n", 1)
    injected = tmod.PacketLayer()
    server.receive_data(version + b"\r\n" + injected.encode(bytes([Msg.IGNORE]) + b"\0\0\0\0"))
    server.receive_data(kexinit)
    ev = server.next_event()
    assert isinstance(ev, Disconnected) and ev.reason in (DisconnectReason.KEY_EXCHANGE_FAILED,
                                                           DisconnectReason.MAC_ERROR,
                                                           DisconnectReason.PROTOCOL_ERROR)
    assert server.closed


def test_strict_kex_rejects_messages_during_first_kex(layer: str) -> None:
    for msg in (Msg.IGNORE, Msg.DEBUG, Msg.UNIMPLEMENTED, 94):
        pair = Pair(layer)
        pair.client.receive_data(pair.server.data_to_send())   # version + KEXINIT
        assert pair.client.next_event() is None
        # the server (already past KEXINIT) sends something that is not kex
        pair.server._send(bytes([msg]) + b"\0\0\0\0")
        pair.client.receive_data(pair.server.data_to_send())
        ev = pair.client.next_event()
        assert isinstance(ev, Disconnected) and ev.reason == DisconnectReason.PROTOCOL_ERROR


def test_not_strict_tolerates_ignore(layer: str) -> None:
    cfg = _config(layer, strict_kex=False)
    pair = Pair(layer, client_config=cfg)
    pair.client.receive_data(pair.server.data_to_send())
    pair.server._send(bytes([Msg.IGNORE]) + b"\0\0\0\0")
    pair.pump()
    assert pair.of("client", KexCompleted) and not pair.of("client", Disconnected)
    assert not pair.of("client", KexCompleted)[0].algorithms.strict_kex


def test_unknown_message_gets_unimplemented(layer: str) -> None:
    pair = Pair(layer)
    pair.pump()
    seen: list[bytes] = []
    dispatch = pair.server._dispatch

    def record(payload: bytes, seq: int) -> None:
        seen.append(payload)
        dispatch(payload, seq)
    pair.server._dispatch = record  # type: ignore[method-assign]
    pair.server._send(bytes([19]) + b"what")
    pair.server._send(bytes([200]) + b"local extension")
    pair.pump()
    assert [p[0] for p in seen] == [Msg.UNIMPLEMENTED, Msg.UNIMPLEMENTED]
    assert not pair.of("client", Disconnected)
    # the client answered UNIMPLEMENTED; the server ignores it and carries on
    pair.client.send_payload(b"\x5eafter")
    pair.pump()
    assert pair.of("server", PayloadReceived) == [PayloadReceived(b"\x5eafter")]


def test_peer_disconnect(layer: str) -> None:
    pair = Pair(layer)
    pair.pump()
    pair.server.disconnect(DisconnectReason.BY_APPLICATION, "bye")
    pair.pump()
    assert pair.of("client", Disconnected) == [Disconnected(11, "bye", True)]
    assert pair.of("server", Disconnected) == [Disconnected(11, "bye", False)]


def test_banner_lines_before_version(layer: str) -> None:
    client, server = _fresh_server(layer)
    hello = server.data_to_send()
    client.receive_data(b"Welcome\r\nto the machine\r\n" + b"x" * 200 + b"\r\n" + hello)
    assert client.next_event() is None and not client.closed
    assert client.peer_version == server.local_version


@pytest.mark.parametrize("garbage,reason", [
    (b"x" * 300, DisconnectReason.PROTOCOL_ERROR),
    (b"SSH-2.0-" + b"a" * 260 + b"\r\n", DisconnectReason.PROTOCOL_ERROR),
    (b"SSH-1.5-old\r\n", DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED),
    (b"SSH-2.0-nul\0here\r\n", DisconnectReason.PROTOCOL_ERROR),
])
def test_bad_versions(layer: str, garbage: bytes, reason: int) -> None:
    client, _server = _fresh_server(layer)
    client.receive_data(garbage)
    ev = client.next_event()
    assert isinstance(ev, Disconnected) and ev.reason == reason


def test_server_refuses_garbage_before_version(layer: str) -> None:
    _, server = _fresh_server(layer)
    server.receive_data(b"GET / HTTP/1.1\r\n")
    ev = server.next_event()
    assert isinstance(ev, Disconnected) and ev.reason == DisconnectReason.PROTOCOL_ERROR


def test_too_many_banner_lines(layer: str) -> None:
    client, _ = _fresh_server(layer)
    client.receive_data(b"hello\r\n" * 1100)
    ev = client.next_event()
    assert isinstance(ev, Disconnected) and "too many lines" in ev.description


def test_payload_before_kex_is_an_error(layer: str) -> None:
    client, server = _fresh_server(layer)
    client.data_to_send()
    server.receive_data(b"SSH-2.0-x\r\n")
    pl = tmod.PacketLayer()
    server.receive_data(pl.encode(Writer(Msg.SERVICE_REQUEST).string("ssh-userauth")
                                  .getvalue()))
    ev = server.next_event()
    assert isinstance(ev, Disconnected) and ev.reason in (DisconnectReason.PROTOCOL_ERROR,
                                                           DisconnectReason.KEY_EXCHANGE_FAILED)


def test_guessed_packet_wrong_guess_is_ignored(layer: str) -> None:
    # the client guesses a kex the server does not prefer: its guessed packet is dropped
    ccfg = _config(layer, kex_algorithms=("ecdh-sha2-nistp256", "curve25519-sha256"))
    scfg = _config(layer, kex_algorithms=("curve25519-sha256",))
    pair = Pair(layer, client_config=ccfg, server_config=scfg)
    # rewrite the client's KEXINIT flag by hand: first_kex_packet_follows = True, then a
    # bogus guessed packet
    client = pair.client
    data = client.data_to_send()
    version, _ = data.split(b"\r\n", 1)
    kexinit = client._local_kexinit[:-5] + b"\x01\x00\x00\x00\x00"
    client._local_kexinit = kexinit
    pl = tmod.PacketLayer()
    wire = version + b"\r\n" + pl.encode(kexinit) + pl.encode(b"\x1e" + b"\0\0\0\x05guess")
    # the fresh client layer has the same (zero) state as the one that sent the original
    client._packets = pl
    pair.server.receive_data(wire)
    pair.pump()
    assert pair.of("server", KexCompleted)
    assert pair.of("server", KexCompleted)[0].algorithms.kex == "curve25519-sha256"


def test_secrets_not_in_repr(layer: str) -> None:
    pair = Pair(layer)
    pair.pump()
    text = repr(pair.client.__dict__)
    assert pair.client.session_id is not None
    assert "shared_secret" not in text
