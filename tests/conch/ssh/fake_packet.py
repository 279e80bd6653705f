"""A plain-text stand-in for the native PacketLayer, for transport tests that check the
transport's logic on its own: each packet carries a tag made from the sender's current
keys and sequence number, so two ends that derived different keys, or whose sequence
numbers disagree (strict kex resets), fail with MAC_ERROR just as the real layer would."""
from __future__ import annotations

import hashlib
import struct

from plait.conch.ssh.connection import DataRun, frame
from plait.conch.ssh.constants import DisconnectReason
from plait.conch.ssh.errors import ProtocolError

CIPHERS = {"test-ctr": (16, 16, 16, False), "test-aead": (32, 12, 16, True)}
MACS = {"test-mac": (32, 32, False)}


class FakePacketLayer:
    def __init__(self, *, max_packet_length: int = 262_144) -> None:
        self.max_packet_length = max_packet_length
        self.seq_in = self.seq_out = self.bytes_in = self.bytes_out = 0
        self._keys_in = self._keys_out = b""
        self._buf = bytearray()
        self.compression = (False, False)

    def _tag(self, keys: bytes, seq: int, payload: bytes) -> bytes:
        return hashlib.sha256(keys + struct.pack(">I", seq) + payload).digest()[:8]

    def encode(self, payload: bytes) -> bytes:
        body = self._tag(self._keys_out, self.seq_out, payload) + payload
        self.seq_out = (self.seq_out + 1) & 0xFFFFFFFF
        packet = struct.pack(">I", len(body)) + body
        self.bytes_out += len(packet)
        return packet

    def encode_batch(self, items: list[bytes | DataRun]) -> bytes:
        return b"".join(self.encode(payload) for payload in frame(items))

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while len(self._buf) >= 4:
            (n,) = struct.unpack(">I", self._buf[:4])
            if n > self.max_packet_length or n < 9:
                raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, f"bad packet length {n}")
            if len(self._buf) < 4 + n:
                break
            body = bytes(self._buf[4:4 + n])
            del self._buf[:4 + n]
            self.bytes_in += 4 + n
            payload = body[8:]
            if body[:8] != self._tag(self._keys_in, self.seq_in, payload):
                raise ProtocolError(DisconnectReason.MAC_ERROR, "MAC error")
            self.seq_in = (self.seq_in + 1) & 0xFFFFFFFF
            out.append(payload)
            if payload[:1] == b"\x15":
                break
        return out

    def set_encrypt(self, cipher: str, key: bytes, iv: bytes, mac: str | None,
                    mac_key: bytes) -> None:
        assert len(key) == CIPHERS[cipher][0] and len(iv) == CIPHERS[cipher][1]
        self._keys_out = cipher.encode() + key + iv + (mac or "").encode() + mac_key
        self.bytes_out = 0

    def set_decrypt(self, cipher: str, key: bytes, iv: bytes, mac: str | None,
                    mac_key: bytes) -> None:
        self._keys_in = cipher.encode() + key + iv + (mac or "").encode() + mac_key
        self.bytes_in = 0

    def set_compression(self, outgoing: bool, incoming: bool) -> None:
        self.compression = (outgoing, incoming)

    def reset_sequence_in(self) -> None:
        self.seq_in = 0

    def reset_sequence_out(self) -> None:
        self.seq_out = 0

PacketLayer = FakePacketLayer
