"""The native packet layer against a small pure-Python reference built on `cryptography`.

The reference (``Ref``) follows RFC 4253 §6, RFC 4344 (CTR), RFC 5647 as OpenSSH does it
(aes*-gcm@openssh.com), PROTOCOL.chacha20poly1305 and the -etm@openssh.com MACs, written
independently of the Rust code: packets encrypted by one must decrypt with the other.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import struct
import zlib

import pytest
from cryptography.hazmat.primitives import poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from plait.conch.ssh.constants import DisconnectReason
from plait.conch.ssh.errors import ProtocolError
from plait.conch.ssh.packet import CIPHERS, MACS, PacketLayer

NEWKEYS = b"\x15"


class Ref:
    """One direction of the binary packet protocol, in Python."""

    def __init__(self, cipher: str = "none", key: bytes = b"", iv: bytes = b"",
                 mac: str | None = None, mac_key: bytes = b"", seq: int = 0) -> None:
        self.cipher, self.key, self.seq = cipher, key, seq
        spec = CIPHERS[cipher]
        self.aead = spec.is_aead
        self.block = max(8, spec.block_size)
        self.mac = None if self.aead else mac
        self.mac_key = mac_key
        self.etm = bool(self.mac and MACS[self.mac].etm)
        self.iv = bytearray(iv)
        if cipher.endswith("-ctr"):
            ctr = Cipher(algorithms.AES(key), modes.CTR(iv))
            self.enc, self.dec = ctr.encryptor(), ctr.decryptor()

    def _hmac(self, data: bytes) -> bytes:
        assert self.mac is not None
        digest = hashlib.sha256 if "256" in self.mac else hashlib.sha512
        return hmac.new(self.mac_key, struct.pack(">I", self.seq) + data, digest).digest()

    def _chacha(self, key: bytes, counter: int, data: bytes) -> bytes:
        nonce = struct.pack("<Q", counter) + struct.pack(">Q", self.seq)
        return Cipher(algorithms.ChaCha20(key, nonce), None).encryptor().update(data)

    def _bump_iv(self) -> None:
        counter = int.from_bytes(self.iv[4:], "big") + 1
        self.iv[4:] = (counter % 2**64).to_bytes(8, "big")

    def encode(self, payload: bytes, padding: int | None = None, length: int | None = None,
               extra_blocks: int = 0) -> bytes:
        outside = self.aead or self.etm
        if padding is None:
            unaligned = (1 if outside else 5) + len(payload)
            padding = self.block - unaligned % self.block
            if padding < 4:
                padding += self.block
            padding += extra_blocks * self.block
        body = bytes([padding]) + payload + os.urandom(padding)
        head = struct.pack(">I", len(body) if length is None else length)
        try:
            if self.cipher == "none":
                packet = head + body
                return packet + (self._hmac(packet) if self.mac else b"")
            if self.cipher.endswith("-gcm@openssh.com"):
                sealed = AESGCM(self.key).encrypt(bytes(self.iv), body, head)
                self._bump_iv()
                return head + sealed
            if self.cipher.startswith("chacha20"):
                enc_head = self._chacha(self.key[32:], 0, head)
                enc_body = self._chacha(self.key[:32], 1, body)
                poly_key = self._chacha(self.key[:32], 0, bytes(32))
                tag = poly1305.Poly1305.generate_tag(poly_key, enc_head + enc_body)
                return enc_head + enc_body + tag
            if self.etm:
                packet = head + self.enc.update(body)
                return packet + self._hmac(packet)
            tag = self._hmac(head + body)
            return self.enc.update(head + body) + tag
        finally:
            self.seq = (self.seq + 1) % 2**32

    def decode(self, data: bytes) -> tuple[bytes, int]:
        """One payload from the front of ``data`` and the bytes it took (asserts on errors)."""
        try:
            if self.cipher == "none" or self.etm or self.aead and "gcm" in self.cipher:
                (length,) = struct.unpack(">I", data[:4])
                tag_len = 16 if self.aead else (MACS[self.mac].digest_len if self.mac else 0)
                end = 4 + length
                packet, tag = data[:end], data[end:end + tag_len]
                if self.cipher == "none":
                    body = packet[4:]
                    if self.mac:
                        assert hmac.compare_digest(tag, self._hmac(packet))
                elif self.aead:
                    body = AESGCM(self.key).decrypt(bytes(self.iv), packet[4:] + tag, packet[:4])
                    self._bump_iv()
                else:
                    assert hmac.compare_digest(tag, self._hmac(packet))
                    body = self.dec.update(packet[4:])
            elif self.aead:
                (length,) = struct.unpack(">I", self._chacha(self.key[32:], 0, data[:4]))
                end = 4 + length
                poly_key = self._chacha(self.key[:32], 0, bytes(32))
                poly1305.Poly1305.verify_tag(poly_key, data[:end], data[end:end + 16])
                body = self._chacha(self.key[:32], 1, data[4:end])
                tag_len = 16
            else:
                first = self.dec.update(data[:16])
                (length,) = struct.unpack(">I", first[:4])
                end = 4 + length
                clear = first + self.dec.update(data[16:end])
                tag_len = MACS[self.mac].digest_len  # type: ignore[index]
                assert hmac.compare_digest(data[end:end + tag_len], self._hmac(clear))
                body = clear[4:]
            assert (length + (0 if self.aead or self.etm else 4)) % self.block == 0
            padding = body[0]
            assert 4 <= padding < length - 1
            return body[1:length - padding], end + tag_len
        finally:
            self.seq = (self.seq + 1) % 2**32


def combos() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for cipher, spec in CIPHERS.items():
        if cipher == "none" or spec.is_aead:
            out.append((cipher, None))
        else:
            out.extend((cipher, mac) for mac in MACS)
    out.append(("none", "hmac-sha2-256-etm@openssh.com"))
    out.append(("none", "hmac-sha2-512"))
    return out


COMBOS = combos()


def keys(cipher: str, mac: str | None) -> tuple[str, bytes, bytes, str | None, bytes]:
    spec = CIPHERS[cipher]
    mac_key = os.urandom(MACS[mac].key_len) if mac else b""
    return cipher, os.urandom(spec.key_len), os.urandom(spec.iv_len), mac, mac_key


def pair(cipher: str, mac: str | None, **kw: int) -> tuple[PacketLayer, PacketLayer, tuple]:
    k = keys(cipher, mac)
    a, b = PacketLayer(**kw), PacketLayer(**kw)
    a.set_encrypt(*k)
    b.set_decrypt(*k)
    return a, b, k


PAYLOADS = [b"\x05" + bytes(range(256)) * 3, b"x", os.urandom(32768), b"\x5e" * 4000, b"ab" * 7]


def reason_of(exc: pytest.ExceptionInfo[ProtocolError]) -> int:
    return int(exc.value.reason)


# ------------------------------------------------------------------------------ round trips

def test_specs() -> None:
    assert set(CIPHERS) == {"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com",
                            "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
                            "none"}
    assert CIPHERS["chacha20-poly1305@openssh.com"] == (64, 0, 8, True)
    assert CIPHERS["aes256-gcm@openssh.com"].iv_len == 12
    assert MACS["hmac-sha2-512-etm@openssh.com"] == (64, 64, True)
    assert set(MACS) == {"hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com",
                         "hmac-sha2-512-etm@openssh.com"}


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
def test_round_trip_any_chunking(cipher: str, mac: str | None) -> None:
    a, b, _ = pair(cipher, mac)
    wire = b"".join(a.encode(p) for p in PAYLOADS)
    assert a.seq_out == len(PAYLOADS) and a.bytes_out == len(wire)
    assert b.feed(wire) == PAYLOADS  # several packets in one call
    assert b.seq_in == len(PAYLOADS) and b.bytes_in == len(wire) and b.buffered() == 0
    wire = b"".join(a.encode(p) for p in PAYLOADS[:2] + PAYLOADS[4:])
    got: list[bytes] = []
    for i in range(len(wire)):  # one byte at a time
        got += b.feed(wire[i:i + 1])
    assert got == PAYLOADS[:2] + PAYLOADS[4:]
    wire = b"".join(a.encode(p) for p in PAYLOADS)
    got, i, step = [], 0, 1
    while i < len(wire):  # odd chunk sizes straddling packet boundaries
        got += b.feed(wire[i:i + step])
        i, step = i + step, step * 3 % 1013 + 1
    assert got == PAYLOADS


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
def test_padding_is_block_aligned_and_random(cipher: str, mac: str | None) -> None:
    a, _, k = pair(cipher, mac)
    ref = Ref(*k)
    spec = CIPHERS[cipher]
    outside = spec.is_aead or bool(mac and MACS[mac].etm)
    tag = 16 if spec.is_aead else (MACS[mac].digest_len if mac else 0)
    for size in range(1, 70):
        packet = a.encode(b"p" * size)
        body = len(packet) - 4 - tag
        assert (body if outside else body + 4) % max(8, spec.block_size) == 0
        assert ref.decode(packet) == (b"p" * size, len(packet))
    if cipher == "none" and mac is None:
        x, y = PacketLayer().encode(b"same"), PacketLayer().encode(b"same")
        assert x[:9] == y[:9] and x != y  # random padding


# ------------------------------------------------------------------ known answers, both ways

@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
def test_plait_to_reference(cipher: str, mac: str | None) -> None:
    a, _, k = pair(cipher, mac)
    ref = Ref(*k)
    wire = b"".join(a.encode(p) for p in PAYLOADS * 2)
    got = []
    while wire:
        payload, used = ref.decode(wire)
        got.append(payload)
        wire = wire[used:]
    assert got == PAYLOADS * 2


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
def test_reference_to_plait(cipher: str, mac: str | None) -> None:
    _, b, k = pair(cipher, mac)
    ref = Ref(*k)
    wire = b"".join(ref.encode(p) for p in PAYLOADS * 2)
    # The reference pads more than needed too: any block-aligned padding of 4..255 is valid.
    wire += ref.encode(b"big padding", extra_blocks=7)
    assert b.feed(wire) == PAYLOADS * 2 + [b"big padding"]


def test_chacha20_poly1305_fixed_vector() -> None:
    """A fixed key and sequence number: the packet is the same on every run and platform."""
    key = bytes(range(64))
    layer = PacketLayer()
    layer.set_encrypt("chacha20-poly1305@openssh.com", key, b"", None, b"")
    layer.seq_out = 7
    packet = layer._native.encode(b"\x05\x00\x00\x00\x0cssh-userauth")
    ref = Ref("chacha20-poly1305@openssh.com", key, seq=7)
    assert ref.decode(packet)[0] == b"\x05\x00\x00\x00\x0cssh-userauth"
    # The encrypted length is the first 4 bytes of ChaCha20(K_1, nonce=seq, counter 0)
    # applied to the clear length; the clear length here is 1 + 17 + padding (= 24).
    stream = Cipher(algorithms.ChaCha20(key[32:], struct.pack("<Q", 0) + struct.pack(">Q", 7)),
                    None).encryptor().update(bytes(4))
    assert bytes(x ^ y for x, y in zip(packet[:4], stream)) == struct.pack(">I", 24)


# ---------------------------------------------------------------- sequence numbers and keys

@pytest.mark.parametrize(("cipher", "mac"), [
    ("chacha20-poly1305@openssh.com", None), ("aes128-ctr", "hmac-sha2-256"),
    ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"), ("aes128-gcm@openssh.com", None)])
def test_sequence_numbers_wrap(cipher: str, mac: str | None) -> None:
    a, b, k = pair(cipher, mac)
    a.seq_out = b.seq_in = 2**32 - 2
    ref = Ref(*k, seq=2**32 - 2)
    wire = b"".join(a.encode(b"w%d" % i) for i in range(4))
    assert a.seq_out == 2
    assert b.feed(wire) == [b"w0", b"w1", b"w2", b"w3"]
    assert b.seq_in == 2
    rest = wire
    for i in range(4):
        payload, used = ref.decode(rest)
        assert payload == b"w%d" % i
        rest = rest[used:]


def test_gcm_invocation_counter_wraps_in_its_eight_bytes() -> None:
    k = ("aes128-gcm@openssh.com", os.urandom(16), os.urandom(4) + b"\xff" * 8, None, b"")
    a, b = PacketLayer(), PacketLayer()
    a.set_encrypt(*k)
    b.set_decrypt(*k)
    ref = Ref(*k)
    wire = a.encode(b"one") + a.encode(b"two")
    assert ref.decode(wire)[0] == b"one"
    assert ref.iv[:4] == bytearray(k[2][:4]) and ref.iv[4:] == bytes(8)
    assert b.feed(wire) == [b"one", b"two"]


def test_newkeys_pauses_until_the_new_keys_are_in() -> None:
    a, b = PacketLayer(), PacketLayer()
    new = keys("aes256-gcm@openssh.com", None)
    wire = a.encode(b"\x14kexinit") + a.encode(NEWKEYS)
    a.set_encrypt(*new)
    wire += a.encode(b"\x05first under new keys") + a.encode(b"\x05second")
    assert b.feed(wire) == [b"\x14kexinit", NEWKEYS]
    assert b.buffered() > 0 and b.bytes_in > 0 and b.seq_in == 2
    b2 = PacketLayer()
    assert b2.feed(wire) == [b"\x14kexinit", NEWKEYS]
    b2.set_decrypt(*new)
    assert b2.bytes_in == 0
    assert b2.feed(b"") == [b"\x05first under new keys", b"\x05second"]
    assert b2.seq_in == 4


def test_newkeys_resume_with_old_keys_is_an_error() -> None:
    a, b = PacketLayer(), PacketLayer()
    wire = a.encode(NEWKEYS)
    a.set_encrypt(*keys("chacha20-poly1305@openssh.com", None))
    wire += a.encode(b"\x05secret") + a.encode(b"\x05more")
    assert b.feed(wire) == [NEWKEYS]
    with pytest.raises(ProtocolError):
        b.feed(b"")


def test_rekey_mid_stream_and_reset_sequences() -> None:
    a, b = PacketLayer(), PacketLayer()
    for cipher, mac in COMBOS:
        k = keys(cipher, mac)
        wire = a.encode(NEWKEYS)
        a.set_encrypt(*k)
        a.reset_sequence_out()
        wire += a.encode(b"\x5ehello " + cipher.encode())
        assert b.feed(wire[:3]) == []
        assert b.feed(wire[3:]) == [NEWKEYS]
        b.set_decrypt(*k)
        b.reset_sequence_in()
        assert b.feed(b"") == [b"\x5ehello " + cipher.encode()]
        assert a.seq_out == b.seq_in == 1


def test_bad_keys_are_value_errors() -> None:
    layer = PacketLayer()
    with pytest.raises(ValueError, match="unknown cipher"):
        layer.set_encrypt("aes128-cbc", bytes(16), bytes(16), "hmac-sha2-256", bytes(32))
    with pytest.raises(ValueError, match="key must be 16"):
        layer.set_encrypt("aes128-ctr", bytes(15), bytes(16), "hmac-sha2-256", bytes(32))
    with pytest.raises(ValueError, match="IV must be 12"):
        layer.set_decrypt("aes128-gcm@openssh.com", bytes(16), bytes(16), None, b"")
    with pytest.raises(ValueError, match="needs a MAC"):
        layer.set_encrypt("aes256-ctr", bytes(32), bytes(16), None, b"")
    with pytest.raises(ValueError, match="unknown MAC"):
        layer.set_encrypt("aes256-ctr", bytes(32), bytes(16), "hmac-sha1", bytes(20))
    with pytest.raises(ValueError, match="MAC key"):
        layer.set_encrypt("aes256-ctr", bytes(32), bytes(16), "hmac-sha2-512", bytes(32))
    with pytest.raises(ValueError):
        PacketLayer(max_packet_length=8)
    with pytest.raises(ValueError, match="empty payload"):
        layer.encode(b"")


def test_set_decrypt_mid_packet_is_refused() -> None:
    a, b = PacketLayer(), PacketLayer()
    assert b.feed(a.encode(b"\x05abc")[:10]) == []
    with pytest.raises(ValueError, match="middle of a packet"):
        b.set_decrypt(*keys("aes128-ctr", "hmac-sha2-256"))


# ------------------------------------------------------------------------- tampering, limits

@pytest.mark.parametrize(("cipher", "mac"), [c for c in COMBOS if c != ("none", None)])
def test_any_bit_flip_fails(cipher: str, mac: str | None) -> None:
    k = keys(cipher, mac)
    sender = PacketLayer()
    sender.set_encrypt(*k)
    packet = sender.encode(b"\x5e" + os.urandom(40))
    spec = CIPHERS[cipher]
    # A flip inside the length may make a length that is merely waiting for more bytes;
    # zeros after the packet settle it (the MAC then fails) unless the length is refused first.
    filler = bytes(4096 + 128)
    for i in range(len(packet) * 8):
        bad = bytearray(packet)
        bad[i // 8] ^= 1 << (i % 8)
        receiver = PacketLayer(max_packet_length=4096)
        receiver.set_decrypt(*k)
        with pytest.raises(ProtocolError) as exc:
            receiver.feed(bytes(bad) + filler)
        in_length = i // 8 < (16 if not spec.is_aead and not (mac and "etm" in mac)
                              and cipher != "none" else 4)
        if in_length:
            assert reason_of(exc) in (DisconnectReason.MAC_ERROR, DisconnectReason.PROTOCOL_ERROR)
        else:
            assert reason_of(exc) == DisconnectReason.MAC_ERROR, i


def _failure(k_send: tuple, k_recv: tuple, seq: int = 0) -> DisconnectReason:
    a, b = PacketLayer(), PacketLayer()
    a.set_encrypt(*k_send)
    b.set_decrypt(*k_recv)
    a.seq_out = seq
    with pytest.raises(ProtocolError) as exc:
        b.feed(a.encode(b"\x05" + bytes(100)) + bytes(300_000))
    return exc.value.reason  # type: ignore[return-value]


@pytest.mark.parametrize(("cipher", "mac"), [c for c in COMBOS if c != ("none", None)])
def test_wrong_key_or_sequence_fails(cipher: str, mac: str | None) -> None:
    mac_err, proto_err = DisconnectReason.MAC_ERROR, DisconnectReason.PROTOCOL_ERROR
    k = keys(cipher, mac)
    other_key = keys(cipher, mac)[1]
    if cipher != "none":
        # AEAD tags and encrypt-and-MAC fail the MAC (or first the decrypted length); with
        # -etm the MAC (right key) passes and the garbage padding or next length fails.
        reason = _failure(k, (k[0], other_key, *k[2:]))
        if CIPHERS[cipher].is_aead and "gcm" in cipher:
            assert reason == mac_err
        else:
            assert reason in (mac_err, proto_err)
    if mac:  # the MAC key alone
        other_mac_key = keys(cipher, mac)[4]
        assert _failure(k, (*k[:4], other_mac_key)) == mac_err
    if "gcm" not in cipher:  # GCM's nonce is its own counter, not the sequence number
        reason = _failure(k, k, seq=1)
        assert reason in ((mac_err, proto_err) if cipher.startswith("chacha") else (mac_err,))


def _protocol_error(data: bytes, **kw: int) -> DisconnectReason:
    with pytest.raises(ProtocolError) as exc:
        PacketLayer(**kw).feed(data)
    return exc.value.reason  # type: ignore[return-value]


def test_lengths_out_of_range() -> None:
    p = DisconnectReason.PROTOCOL_ERROR
    assert _protocol_error(struct.pack(">I", 262_145) + bytes(4)) == p  # above the default max
    assert _protocol_error(struct.pack(">I", 1020) + bytes(4), max_packet_length=1000) == p
    assert _protocol_error(struct.pack(">I", 2**32 - 4) + bytes(4)) == p
    assert _protocol_error(struct.pack(">I", 4) + bytes(4)) == p  # no room for padding
    assert _protocol_error(struct.pack(">I", 0) + bytes(4)) == p
    assert _protocol_error(struct.pack(">I", 13) + bytes(13)) == p  # 4 + 13 not a multiple of 8
    assert _protocol_error(struct.pack(">IB", 12, 3) + bytes(11)) == p  # padding below 4
    assert _protocol_error(struct.pack(">IB", 12, 11) + bytes(11)) == p  # no payload
    assert _protocol_error(struct.pack(">IB", 12, 200) + bytes(11)) == p  # padding past the end
    # The boundary itself is fine.
    big = Ref().encode(bytes(1000 - 12), padding=7)
    assert struct.unpack(">I", big[:4])[0] == 996
    assert PacketLayer(max_packet_length=996).feed(big) == [bytes(988)]
    # The length is refused as soon as it is known, before the body arrives.
    assert _protocol_error(struct.pack(">I", 10_000_000) + bytes(4)) == p


@pytest.mark.parametrize(("cipher", "mac"), [
    ("aes128-gcm@openssh.com", None), ("chacha20-poly1305@openssh.com", None),
    ("aes192-ctr", "hmac-sha2-256-etm@openssh.com"), ("aes256-ctr", "hmac-sha2-512")])
def test_bad_padding_under_encryption(cipher: str, mac: str | None) -> None:
    _, b, k = pair(cipher, mac)
    ref = Ref(*k)
    block = max(8, CIPHERS[cipher].block_size)
    outside = CIPHERS[cipher].is_aead or bool(mac and "etm" in mac)
    payload = b"z" * (block - (1 if outside else 5) - 3 + block)  # leaves exactly 3 bytes
    with pytest.raises(ProtocolError) as exc:
        b.feed(ref.encode(payload, padding=3))
    assert exc.value.reason == DisconnectReason.PROTOCOL_ERROR
    _, b, k = pair(cipher, mac)
    with pytest.raises(ProtocolError) as exc:  # misaligned length, MAC right
        b.feed(Ref(*k).encode(b"q" * 3, padding=5))
    assert exc.value.reason == DisconnectReason.PROTOCOL_ERROR
    _, b, k = pair(cipher, mac)
    with pytest.raises(ProtocolError) as exc:
        b.feed(Ref(*k).encode(b"", padding=block * 2 - (1 if outside else 5)))
    assert exc.value.reason == DisconnectReason.PROTOCOL_ERROR


# ------------------------------------------------------------------------------ compression

def test_compression_round_trip_and_stream_state() -> None:
    a, b, _ = pair("aes128-gcm@openssh.com", None)
    wire = a.encode(b"\x05before")
    a.set_compression(True, False)
    b_payloads = b.feed(wire)
    b.set_compression(False, True)
    text = b"\x5e" + b"the quick brown fox jumps over the lazy dog " * 200
    packets = [a.encode(text) for _ in range(5)]
    # One deflate stream: later packets refer back to earlier ones and get smaller.
    assert len(packets[1]) < len(packets[0]) < len(text) // 10
    assert b_payloads + b.feed(b"".join(packets)) == [b"\x05before"] + [text] * 5
    assert a.set_compression(True, False) is None  # already on: same stream
    assert b.feed(a.encode(text)) == [text]
    for p in (b"x", os.urandom(70000)):
        assert b.feed(a.encode(p)) == [p]


def test_compression_interop_with_zlib() -> None:
    a = PacketLayer()
    a.set_compression(True, False)
    inflate = zlib.decompressobj()
    ref_in = Ref()
    for p in PAYLOADS:
        body, _ = ref_in.decode(a.encode(p))
        assert inflate.decompress(body) == p  # each packet inflates on its own (sync flush)
    deflate = zlib.compressobj(6)
    ref_out = Ref()
    b = PacketLayer()
    b.set_compression(False, True)
    for p in PAYLOADS:
        body = deflate.compress(p) + deflate.flush(zlib.Z_PARTIAL_FLUSH)  # as OpenSSH does
        assert b.feed(ref_out.encode(body)) == [p]
    full = zlib.compressobj(6)
    b = PacketLayer()
    b.set_compression(False, True)
    for p in PAYLOADS:
        body = full.compress(p) + full.flush(zlib.Z_FULL_FLUSH)  # as paramiko does
        assert b.feed(Ref().encode(body)) == [p]


def test_new_keys_restart_the_compression_stream() -> None:
    a, b = PacketLayer(), PacketLayer()
    a.set_compression(True, False)
    b.set_compression(False, True)
    text = b"\x5e" + b"abcdefgh" * 500
    assert b.feed(a.encode(text)) == [text]
    k = keys("aes128-ctr", "hmac-sha2-256-etm@openssh.com")
    a.set_encrypt(*k)
    b.set_decrypt(*k)
    packet = a.encode(text)
    assert b.feed(packet) == [text]
    fresh = zlib.decompressobj()
    ref = Ref(*k, seq=1)
    assert fresh.decompress(ref.decode(packet)[0]) == text  # a zlib header again


def test_zlib_bomb_is_a_compression_error() -> None:
    deflate = zlib.compressobj(9)
    bomb = deflate.compress(bytes(50_000_000)) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 100_000
    b = PacketLayer()
    b.set_compression(False, True)
    with pytest.raises(ProtocolError) as exc:
        b.feed(Ref().encode(bomb))
    assert exc.value.reason == DisconnectReason.COMPRESSION_ERROR
    # Just under the limit is fine.
    deflate = zlib.compressobj(9)
    ok = deflate.compress(bytes(262_144)) + deflate.flush(zlib.Z_SYNC_FLUSH)
    b = PacketLayer()
    b.set_compression(False, True)
    assert b.feed(Ref().encode(ok)) == [bytes(262_144)]
    deflate = zlib.compressobj(9)
    over = deflate.compress(bytes(262_145)) + deflate.flush(zlib.Z_SYNC_FLUSH)
    b = PacketLayer()
    b.set_compression(False, True)
    with pytest.raises(ProtocolError) as exc:
        b.feed(Ref().encode(over))
    assert exc.value.reason == DisconnectReason.COMPRESSION_ERROR


# b"\xff" after the zlib header: a final block of the reserved type 11, never valid deflate
@pytest.mark.parametrize("body", [b"garbage!", b"\x78\x9c" + b"\xff" * 30, b"\x78\x9c",
                                  zlib.compress(b"\x05whole stream, ended")])
def test_corrupt_zlib_is_a_compression_error(body: bytes) -> None:
    b = PacketLayer()
    b.set_compression(False, True)
    with pytest.raises(ProtocolError) as exc:
        b.feed(Ref().encode(body))
    assert exc.value.reason == DisconnectReason.COMPRESSION_ERROR


def test_repr_has_no_secrets() -> None:
    a, _, k = pair("aes256-gcm@openssh.com", None)
    assert k[1].hex() not in repr(a) and "seq_out=0" in repr(a)


# ------------------------------------------------------------------ paramiko's Packetizer

PARAMIKO = [("aes128-ctr", "hmac-sha2-256"), ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),
            ("aes192-ctr", "hmac-sha2-256-etm@openssh.com"), ("aes128-gcm@openssh.com", None),
            ("aes256-gcm@openssh.com", None)]


@pytest.mark.parametrize(("cipher", "mac"), PARAMIKO)
def test_paramiko_packetizer_both_ways(cipher: str, mac: str | None) -> None:
    pytest.importorskip("paramiko")
    import socket

    from paramiko.message import Message
    from paramiko.packet import Packetizer

    k = keys(cipher, mac)
    _, key, iv, _, mac_key = k
    aead = CIPHERS[cipher].is_aead
    digest = (hashlib.sha256 if "256" in mac else hashlib.sha512) if mac else None
    mac_size = 16 if aead else MACS[mac].digest_len  # type: ignore[index]
    etm = bool(mac and MACS[mac].etm)

    def engine(encrypt: bool) -> object:
        if aead:
            return AESGCM(key)
        ctx = Cipher(algorithms.AES(key), modes.CTR(iv))
        return ctx.encryptor() if encrypt else ctx.decryptor()

    left, right = socket.socketpair()
    try:
        left.settimeout(5)
        right.settimeout(5)
        sender, receiver = Packetizer(left), Packetizer(right)
        sender.set_outbound_cipher(engine(True), 16, digest, mac_size, None if aead else mac_key,
                                   sdctr=not aead, etm=etm, aead=aead,
                                   iv_out=iv if aead else None)
        receiver.set_inbound_cipher(engine(False), 16, digest, mac_size,
                                    None if aead else mac_key, etm=etm, aead=aead,
                                    iv_in=iv if aead else None)
        plait_in, plait_out = PacketLayer(), PacketLayer()
        plait_in.set_decrypt(*k)
        plait_out.set_encrypt(*k)
        payloads = [b"\x5e" + os.urandom(n) for n in (0, 1, 15, 16, 17, 1000, 32768)]
        got: list[bytes] = []
        for p in payloads:  # paramiko -> plait
            sender.send_message(Message(p))
            while len(got) < len(payloads) and got[-1:] != [p]:
                got += plait_in.feed(right.recv(65536))
        assert got == payloads
        for p in payloads:  # plait -> paramiko
            left.sendall(plait_out.encode(p))
            cmd, msg = receiver.read_message()
            assert bytes([cmd]) + msg.get_remainder() == p
    finally:
        left.close()
        right.close()


# ------------------------------------------------------------------------------ batches

def _framed(recipient: int, ext: int | None, data: bytes, chunk: int) -> list[bytes]:
    out = []
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        if ext is None:
            out.append(struct.pack(">BII", 94, recipient, len(piece)) + piece)
        else:
            out.append(struct.pack(">BIII", 95, recipient, ext, len(piece)) + piece)
    return out


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
@pytest.mark.parametrize("compress", [False, True])
def test_encode_batch_frames_channel_data(cipher: str, mac: str | None, compress: bool) -> None:
    a, b, _ = pair(cipher, mac)
    a.set_compression(compress, False)
    b.set_compression(False, compress)
    data = os.urandom(100_000)
    items: list = [b"\x5d" + b"x" * 12, (7, None, data, 32768),
                   (2**32 - 1, 1, memoryview(data)[5:1005], 300), b"\x60\x00\x00\x00\x07"]
    wire = a.encode_batch(items)
    expected = ([items[0]] + _framed(7, None, data, 32768)
                + _framed(2**32 - 1, 1, data[5:1005], 300) + [items[3]])
    assert b.feed(wire) == expected
    assert a.seq_out == len(expected) == b.seq_in and a.bytes_out == len(wire)


def test_encode_batch_refuses_bad_items() -> None:
    a, _, _ = pair("aes128-gcm@openssh.com", None)
    with pytest.raises(ValueError):
        a.encode_batch([(1, None, b"data", 0)])            # zero chunk
    with pytest.raises(ValueError):
        a.encode_batch([(1, None, b"", 10)])               # nothing to send
    with pytest.raises(ValueError):
        a.encode_batch([(1, None, memoryview(b"abcdef")[::2], 10)])   # not contiguous
    with pytest.raises(TypeError):
        a.encode_batch([(1, None, "text", 10)])
