"""SSH binary packet layer: encode + decode throughput of 32 KiB payloads, per cipher.

A round passes ``N_PACKETS`` payloads of 32 KiB (the channel data size OpenSSH sends) one at
a time through an encoding layer and a decoding layer keyed the same, as a stream of channel
data flows; the figure is MB/s of payload. Groups ``ssh-packet-<cipher>[-<mac>]``; implementations:

* ``plait``         ``plait.conch.ssh.packet.PacketLayer`` (Rust, RustCrypto)
* ``cryptography``  the same protocol in Python on ``cryptography`` (OpenSSL): AESGCM and CTR
                    contexts reused, ChaCha20 + Poly1305 per packet as the nonce demands,
                    ``hmac`` keyed once and copied per packet
* ``paramiko``      paramiko's ``Packetizer`` (aes-ctr and aes-gcm only; it has no
                    chacha20-poly1305) over a socketpair, as paramiko always runs it: one
                    ``send_message`` then one ``read_message`` per packet

Run with ``benches/run.py -k ssh_packet`` or alone::

    .venv/bin/python benches/bench_ssh_packet.py [--quick]
"""
from __future__ import annotations

import hashlib
import hmac
import os
import socket
import statistics
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import QUICK, Turns, record, size

from plait.conch.ssh.packet import CIPHERS, MACS, PacketLayer

PAYLOAD_SIZE = 32 * 1024
N_PACKETS = size(64, 4)
ROUNDS = size(20, 2)

CONFIGS: list[tuple[str, str | None]] = [
    ("chacha20-poly1305@openssh.com", None),
    ("aes128-gcm@openssh.com", None),
    ("aes256-gcm@openssh.com", None),
    ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
    ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),
    ("aes128-ctr", "hmac-sha2-256"),
]


def group_of(cipher: str, mac: str | None) -> str:
    name = cipher.split("@")[0]
    return f"ssh-packet-{name}" + (f"-{mac.split('@')[0]}" if mac else "")


def keys(cipher: str, mac: str | None) -> tuple[str, bytes, bytes, str | None, bytes]:
    spec = CIPHERS[cipher]
    mac_key = os.urandom(MACS[mac].key_len) if mac else b""
    return cipher, os.urandom(spec.key_len), os.urandom(spec.iv_len), mac, mac_key


PAYLOADS = [b"\x5e" + os.urandom(PAYLOAD_SIZE - 1) for _ in range(N_PACKETS)]
BYTES_PER_ROUND = PAYLOAD_SIZE * N_PACKETS


# ---------------------------------------------------------------- plait


def plait_round(cipher: str, mac: str | None) -> Callable[[], None]:
    k = keys(cipher, mac)
    enc, dec = PacketLayer(), PacketLayer()
    enc.set_encrypt(*k)
    dec.set_decrypt(*k)

    def run() -> None:
        encode, feed = enc.encode, dec.feed
        for p in PAYLOADS:
            assert feed(encode(p))

    return run


# ---------------------------------------------------------------- Python on cryptography


class PyCodec:
    """One direction of RFC 4253 §6 in Python: what a pure-Python SSH stack does per packet."""

    def __init__(self, cipher: str, key: bytes, iv: bytes, mac: str | None, mac_key: bytes,
                 encrypt: bool) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        spec = CIPHERS[cipher]
        self.cipher, self.key, self.seq = cipher, key, 0
        self.aead = spec.is_aead
        self.block = max(8, spec.block_size)
        self.etm = bool(mac and MACS[mac].etm)
        self.iv = iv
        self.gcm = AESGCM(key) if "gcm" in cipher else None
        self.Cipher, self.ChaCha20 = Cipher, algorithms.ChaCha20
        if cipher.endswith("-ctr"):
            ctx = Cipher(algorithms.AES(key), modes.CTR(iv))
            self.ctr = ctx.encryptor() if encrypt else ctx.decryptor()
        self.mac = None if self.aead or mac is None else hmac.new(
            mac_key, digestmod=hashlib.sha256 if "256" in mac else hashlib.sha512)
        self.mac_len = 16 if self.aead else (MACS[mac].digest_len if mac else 0)

    def _next_iv(self) -> bytes:
        iv = self.iv
        counter = (int.from_bytes(iv[4:], "big") + 1) % 2**64
        self.iv = iv[:4] + counter.to_bytes(8, "big")
        return iv

    def _hmac(self, data: bytes) -> bytes:
        assert self.mac is not None
        h = self.mac.copy()
        h.update(self.seq.to_bytes(4, "big"))
        h.update(data)
        return h.digest()

    def _chacha(self, key: bytes, counter: int, data: bytes) -> bytes:
        nonce = counter.to_bytes(8, "little") + self.seq.to_bytes(8, "big")
        return self.Cipher(self.ChaCha20(key, nonce), None).encryptor().update(data)

    def encode(self, payload: bytes) -> bytes:
        from cryptography.hazmat.primitives import poly1305

        outside = self.aead or self.etm
        padding = self.block - ((1 if outside else 5) + len(payload)) % self.block
        if padding < 4:
            padding += self.block
        body = bytes([padding]) + payload + os.urandom(padding)
        head = struct.pack(">I", len(body))
        if self.gcm is not None:
            out = head + self.gcm.encrypt(self._next_iv(), body, head)
        elif self.aead:
            enc_head = self._chacha(self.key[32:], 0, head)
            enc_body = self._chacha(self.key[:32], 1, body)
            poly_key = self._chacha(self.key[:32], 0, bytes(32))
            out = enc_head + enc_body + poly1305.Poly1305.generate_tag(poly_key, enc_head + enc_body)
        elif self.etm:
            packet = head + self.ctr.update(body)
            out = packet + self._hmac(packet)
        else:
            out = self.ctr.update(head + body) + self._hmac(head + body)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return out

    def decode_all(self, data: bytes) -> list[bytes]:
        from cryptography.hazmat.primitives import poly1305

        out, pos = [], 0
        while pos < len(data):
            if self.gcm is not None or self.etm:
                (length,) = struct.unpack_from(">I", data, pos)
                end = pos + 4 + length
                if self.gcm is not None:
                    body = self.gcm.decrypt(self._next_iv(), data[pos + 4:end + 16],
                                            data[pos:pos + 4])
                else:
                    if not hmac.compare_digest(self._hmac(data[pos:end]),
                                               data[end:end + self.mac_len]):
                        raise ValueError("MAC")
                    body = self.ctr.update(data[pos + 4:end])
            elif self.aead:
                (length,) = struct.unpack(">I", self._chacha(self.key[32:], 0, data[pos:pos + 4]))
                end = pos + 4 + length
                poly_key = self._chacha(self.key[:32], 0, bytes(32))
                poly1305.Poly1305.verify_tag(poly_key, data[pos:end], data[end:end + 16])
                body = self._chacha(self.key[:32], 1, data[pos + 4:end])
            else:
                first = self.ctr.update(data[pos:pos + 16])
                (length,) = struct.unpack_from(">I", first)
                end = pos + 4 + length
                clear = first + self.ctr.update(data[pos + 16:end])
                if not hmac.compare_digest(self._hmac(clear), data[end:end + self.mac_len]):
                    raise ValueError("MAC")
                body = clear[4:]
            out.append(body[1:len(body) - body[0]])
            pos = end + self.mac_len
            self.seq = (self.seq + 1) & 0xFFFFFFFF
        return out


def cryptography_round(cipher: str, mac: str | None) -> Callable[[], None]:
    k = keys(cipher, mac)
    enc, dec = PyCodec(*k, encrypt=True), PyCodec(*k, encrypt=False)

    def run() -> None:
        encode, decode = enc.encode, dec.decode_all
        for p in PAYLOADS:
            assert decode(encode(p))

    return run


# ---------------------------------------------------------------- paramiko


def paramiko_round(cipher: str, mac: str | None, sockets: list[socket.socket]) -> Callable[[], None]:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from paramiko.message import Message
    from paramiko.packet import Packetizer

    _, key, iv, _, mac_key = keys(cipher, mac)
    aead = CIPHERS[cipher].is_aead
    digest = (hashlib.sha256 if "256" in mac else hashlib.sha512) if mac else None
    mac_size = 16 if aead else MACS[mac].digest_len  # type: ignore[index]
    etm = bool(mac and MACS[mac].etm)

    def engine(encrypt: bool) -> Any:
        if aead:
            return AESGCM(key)
        ctx = Cipher(algorithms.AES(key), modes.CTR(iv))
        return ctx.encryptor() if encrypt else ctx.decryptor()

    left, right = socket.socketpair()
    sockets += [left, right]
    for s in (left, right):
        s.settimeout(10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sender, receiver = Packetizer(left), Packetizer(right)
    sender.set_outbound_cipher(engine(True), 16, digest, mac_size, None if aead else mac_key,
                               sdctr=not aead, etm=etm, aead=aead, iv_out=iv if aead else None)
    receiver.set_inbound_cipher(engine(False), 16, digest, mac_size, None if aead else mac_key,
                                etm=etm, aead=aead, iv_in=iv if aead else None)
    messages = [Message(p) for p in PAYLOADS]

    def run() -> None:
        for m in messages:
            sender.send_message(m)
            cmd, _ = receiver.read_message()
            assert cmd == 94

    return run


# ---------------------------------------------------------------- pytest-benchmark


@pytest.fixture(scope="module")
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for s in opened:
        s.close()


def _bench(benchmark: Any, impl: str, run: Callable[[], None]) -> None:
    run()  # correctness and warm-up
    record(benchmark, impl, nbytes_per_round=BYTES_PER_ROUND)
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)


def _params() -> list[Any]:
    return [pytest.param(c, m, marks=pytest.mark.benchmark(group=group_of(c, m)),
                         id=group_of(c, m)) for c, m in CONFIGS]


@pytest.mark.parametrize(("cipher", "mac"), _params())
def test_ssh_packet_plait(benchmark: Any, cipher: str, mac: str | None) -> None:
    _bench(benchmark, "plait", plait_round(cipher, mac))


@pytest.mark.parametrize(("cipher", "mac"), _params())
def test_ssh_packet_cryptography(benchmark: Any, cipher: str, mac: str | None) -> None:
    _bench(benchmark, "cryptography", cryptography_round(cipher, mac))


@pytest.mark.parametrize(("cipher", "mac"), _params())
def test_ssh_packet_paramiko(benchmark: Any, cipher: str, mac: str | None,
                             sockets: list[socket.socket]) -> None:
    pytest.importorskip("paramiko")
    if cipher.startswith("chacha20"):
        pytest.skip("paramiko has no chacha20-poly1305")
    _bench(benchmark, "paramiko", paramiko_round(cipher, mac, sockets))


# ---------------------------------------------------------------- standalone


def _rates(runs: dict[str, Callable[[], None]]) -> dict[str, float]:
    """MB/s per implementation from the median round, the implementations taking turns
    (a busy machine slows each alike) and timed in process CPU time (the work is all in this
    process, paramiko's socketpair included)."""
    turns = Turns(runs)
    turns.warm_up()
    for _ in range(ROUNDS):
        turns.round()
    return {name: BYTES_PER_ROUND / statistics.median(t) / 1e6
            for name, t in turns.samples.items()}


def main() -> int:
    print(f"SSH packet layer: encode + decode of {N_PACKETS} x 32 KiB payloads, MB/s of "
          f"payload per CPU second (median of {ROUNDS} interleaved rounds)"
          f"{' [quick]' if QUICK else ''}")
    print(f"  {'cipher':44} {'plait':>10} {'cryptography':>13} {'paramiko':>10}   ratios")
    sockets: list[socket.socket] = []
    try:
        for cipher, mac in CONFIGS:
            runs = {"plait": plait_round(cipher, mac), "py": cryptography_round(cipher, mac)}
            if not cipher.startswith("chacha20"):
                try:
                    runs["paramiko"] = paramiko_round(cipher, mac, sockets)
                except ImportError:
                    pass
            rates = _rates(runs)
            plait, py, pk = rates["plait"], rates["py"], rates.get("paramiko")
            ratios = f"{plait / py:.1f}x vs cryptography" + (
                f", {plait / pk:.1f}x vs paramiko" if pk else "")
            label = cipher + (f" + {mac}" if mac else "")
            pk_s = f"{pk:10.1f}" if pk else f"{'-':>10}"
            print(f"  {label:44} {plait:10.1f} {py:13.1f} {pk_s}   {ratios}")
    finally:
        for s in sockets:
            s.close()
    return 0


if __name__ == "__main__":
    if "--quick" in sys.argv[1:]:
        os.environ["PLAIT_BENCH_QUICK"] = "1"
        if not QUICK:   # _harness read the environment before: run again with it set
            os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])
    sys.exit(main())
