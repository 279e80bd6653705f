"""The SSH binary packet protocol (RFC 4253 §6), natively (``native/ssh``).

Python keeps only the names: the transport hands this layer the keys from each key exchange
and bytes from the socket; framing, padding, ciphers, MACs, sequence numbers and
zlib@openssh.com compression run in Rust. Native errors become :class:`ProtocolError`
carrying the disconnect reason (MAC_ERROR, PROTOCOL_ERROR, COMPRESSION_ERROR).
"""
from __future__ import annotations

from typing import NamedTuple

from plait._native import SSH_CIPHERS, SSH_MACS, SshPacketError, SshPacketLayer

from .constants import DisconnectReason
from .errors import ProtocolError

__all__ = ["CIPHERS", "MACS", "CipherSpec", "MacSpec", "PacketLayer"]


class CipherSpec(NamedTuple):
    """Sizes of a cipher; AEAD ciphers carry their own tag and take no MAC."""

    key_len: int
    iv_len: int
    block_size: int
    is_aead: bool


class MacSpec(NamedTuple):
    """Sizes of a MAC; ``etm`` MACs cover the ciphertext, the length travelling in clear."""

    key_len: int
    digest_len: int
    etm: bool


#: Cipher name -> sizes, preference order; "none" is only for before the first NEWKEYS.
CIPHERS: dict[str, CipherSpec] = {name: CipherSpec(*spec) for name, spec in SSH_CIPHERS.items()}
#: MAC name -> sizes, preference order (-etm first).
MACS: dict[str, MacSpec] = {name: MacSpec(*spec) for name, spec in SSH_MACS.items()}


def _protocol_error(err: SshPacketError) -> ProtocolError:
    return ProtocolError(DisconnectReason(err.reason), str(err))


class PacketLayer:
    """Payloads in, packets out, for one connection, both directions.

    ``feed`` returns whole payloads and pauses right after a NEWKEYS (21) payload with the
    rest kept buffered, so the caller installs the new incoming keys first; ``feed(b"")``
    resumes. ``bytes_in``/``bytes_out`` count wire bytes since the last ``set_decrypt`` /
    ``set_encrypt`` (the rekey limit). After a :class:`ProtocolError` the layer is unusable:
    the connection is to be ended with that reason.
    """

    __slots__ = ("_native",)

    def __init__(self, *, max_packet_length: int = 262_144) -> None:
        self._native = SshPacketLayer(max_packet_length)

    def feed(self, data: bytes) -> list[bytes]:
        """The whole payloads the bytes so far complete (decrypted, checked, inflated)."""
        try:
            return self._native.feed(data)
        except SshPacketError as err:
            raise _protocol_error(err) from None

    def encode(self, payload: bytes) -> bytes:
        """One packet carrying ``payload`` (random padding; the sequence number advances)."""
        return self._native.encode(payload)

    def encode_many(self, payloads: list[bytes]) -> bytes:
        """Packets for several payloads, concatenated: one call for a burst of messages."""
        return self._native.encode_many(payloads)

    def encode_batch(self, items: list[bytes | tuple[int, int | None, bytes | memoryview, int]]
                     ) -> bytes:
        """Packets for a batch, concatenated: payloads (bytes) and channel data runs
        ``(recipient, ext, data, chunk)`` framed here as CHANNEL_DATA (ext None) or
        CHANNEL_EXTENDED_DATA messages of at most ``chunk`` data bytes each."""
        return self._native.encode_batch(items)

    def set_encrypt(self, cipher: str, key: bytes, iv: bytes, mac: str | None,
                    mac_key: bytes) -> None:
        """Outgoing keys for the next packet on (ValueError on an unknown name or length)."""
        self._native.set_encrypt(cipher, key, iv, mac, mac_key)

    def set_decrypt(self, cipher: str, key: bytes, iv: bytes, mac: str | None,
                    mac_key: bytes) -> None:
        """Incoming keys for the next packet on (ValueError on an unknown name or length)."""
        self._native.set_decrypt(cipher, key, iv, mac, mac_key)

    def set_compression(self, outgoing: bool, incoming: bool) -> None:
        """zlib@openssh.com on or off per direction; a direction already on keeps its stream,
        and a new key for a compressing direction restarts its stream (as OpenSSH does)."""
        self._native.set_compression(outgoing, incoming)

    def reset_sequence_in(self) -> None:
        """Incoming sequence number back to 0 (strict key exchange, after NEWKEYS)."""
        self._native.reset_sequence_in()

    def reset_sequence_out(self) -> None:
        """Outgoing sequence number back to 0 (strict key exchange, after NEWKEYS)."""
        self._native.reset_sequence_out()

    def buffered(self) -> int:
        """Bytes received and not yet decoded."""
        return self._native.buffered()

    @property
    def max_packet_length(self) -> int:
        return self._native.max_packet_length

    @property
    def seq_in(self) -> int:
        """The sequence number of the next incoming packet (wraps at 2**32)."""
        return self._native.seq_in

    @seq_in.setter
    def seq_in(self, value: int) -> None:
        self._native.seq_in = value

    @property
    def seq_out(self) -> int:
        """The sequence number of the next outgoing packet (wraps at 2**32)."""
        return self._native.seq_out

    @seq_out.setter
    def seq_out(self, value: int) -> None:
        self._native.seq_out = value

    @property
    def bytes_in(self) -> int:
        return self._native.bytes_in

    @property
    def bytes_out(self) -> int:
        return self._native.bytes_out

    def __repr__(self) -> str:
        return (f"<PacketLayer seq_in={self.seq_in} seq_out={self.seq_out} "
                f"buffered={self.buffered()}>")
