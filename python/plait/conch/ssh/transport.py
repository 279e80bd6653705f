"""The SSH transport layer (RFC 4253), sans-IO: version exchange, algorithm negotiation,
key exchange and rekeying, strict kex (the Terrapin fix), ext-info (RFC 8308), services.

Bytes from the socket go to :meth:`Transport.receive_data`; bytes for the socket come from
:meth:`Transport.data_to_send`; what happened comes from :meth:`Transport.next_event`.
Upper layers hand whole payloads (messages 50 and up) to :meth:`Transport.send_payload`;
they are held while a key exchange is under way. The binary packet protocol itself is the
native :class:`~plait.conch.ssh.packet.PacketLayer`.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .constants import DisconnectReason, Msg
from .dh_groups import MODP_GROUPS
from .errors import KeyFormatError, ProtocolError
from .kex import (
    GEX_MAX,
    GEX_MIN,
    GEX_PREFERRED,
    KEX_METHODS,
    POST_QUANTUM_KEX,
    ClientKex,
    KexContext,
    KexResult,
    ServerKex,
    derive_key,
)
from .packet import CIPHERS, MACS, PacketLayer
from .wire import Reader, Writer

if TYPE_CHECKING:
    from .connection import DataRun
    from .keys import Key

__all__ = [
    "Algorithms", "Disconnected", "Event", "KexCompleted", "PayloadReceived",
    "ServiceAccepted", "ServiceRequested", "Transport", "TransportConfig",
]

STRICT_C = "kex-strict-c-v00@openssh.com"
STRICT_S = "kex-strict-s-v00@openssh.com"
EXT_INFO_C = "ext-info-c"
EXT_INFO_S = "ext-info-s"
MAX_VERSION_LINE = 255          # RFC 4253 §4.2, CR LF included
KEX_MESSAGES = frozenset(range(30, 50))
LAST_KNOWN_MESSAGE = 100        # CHANNEL_FAILURE; anything above gets UNIMPLEMENTED


def _default_version() -> str:
    from plait import __version__
    return f"plait_{__version__}"


@dataclass
class TransportConfig:
    """Algorithm preferences (first is preferred) and the limits of the transport."""

    kex_algorithms: Sequence[str] = (
        "mlkem768x25519-sha256", "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512", "diffie-hellman-group14-sha256")
    host_key_algorithms: Sequence[str] = (
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "rsa-sha2-512", "rsa-sha2-256")
    ciphers: Sequence[str] = (
        "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
        "aes128-ctr", "aes192-ctr", "aes256-ctr")
    macs: Sequence[str] = (
        "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256",
        "hmac-sha2-512")
    compression: Sequence[str] = ("none", "zlib@openssh.com")
    version: str = field(default_factory=_default_version)   # "SSH-2.0-" + this
    strict_kex: bool = True
    ext_info: bool = True
    rekey_bytes: int = 1 << 30
    rekey_seconds: float = 3600.0
    max_packet_length: int = 262_144
    max_banner_lines: int = 1024        # lines a client accepts before the server's version
    max_banner_bytes: int = 65_536
    gex_min: int = GEX_MIN              # client: the smallest group it accepts
    gex_preferred: int = GEX_PREFERRED
    gex_max: int = GEX_MAX
    gex_server_min: int = GEX_MIN       # server: the smallest group it offers

    @classmethod
    def hardened(cls, *, post_quantum_only: bool = False,
                 **overrides: object) -> TransportConfig:
        """The server default of :func:`~plait.conch.ssh.server.listen`: no NIST curves
        (ECDH or ECDSA host keys), no 2048-bit groups, encrypt-then-MAC only (what ssh-audit
        recommends; every OpenSSH since 7.4 connects with it).

        Post-quantum hybrids come first; curve25519 and 3072+-bit groups stay as fallbacks
        because library servers are reached by clients without them (paramiko, asyncssh
        without liboqs, OpenSSH before 8.5). ``post_quantum_only`` drops the fallbacks
        (what ``plait serve`` uses: ssh-audit then warns about nothing; OpenSSH 8.5+
        connects)."""
        kex = POST_QUANTUM_KEX if post_quantum_only else POST_QUANTUM_KEX + (
            "curve25519-sha256", "curve25519-sha256@libssh.org",
            "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512")
        values: dict[str, object] = {
            "kex_algorithms": kex,
            "host_key_algorithms": ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"),
            "macs": ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"),
            "gex_server_min": 3072,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Algorithms:
    """What one key exchange negotiated (cs = client to server, sc = server to client)."""

    kex: str
    host_key: str
    cipher_cs: str
    cipher_sc: str
    mac_cs: str | None      # None with an AEAD cipher
    mac_sc: str | None
    compression_cs: str
    compression_sc: str
    strict_kex: bool = False


@dataclass(frozen=True)
class KexCompleted:
    first: bool
    algorithms: Algorithms


@dataclass(frozen=True)
class ServiceRequested:
    name: str


@dataclass(frozen=True)
class ServiceAccepted:
    name: str


@dataclass(frozen=True)
class PayloadReceived:
    payload: bytes


@dataclass(frozen=True)
class Disconnected:
    reason: int
    description: str
    by_peer: bool


Event = KexCompleted | ServiceRequested | ServiceAccepted | PayloadReceived | Disconnected


def _negotiate(what: str, client: Sequence[str], server: Sequence[str]) -> str:
    """RFC 4253 §7.1: the first algorithm on the client's list that the server has."""
    for name in client:
        if name in server:
            return name
    raise ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED,
                        f"no matching {what} (client {','.join(client)}; "
                        f"server {','.join(server)})")


@dataclass
class _PeerKexInit:
    payload: bytes
    lists: list[list[str]]
    follows: bool


class Transport:
    """One end of an SSH transport. ``host_keys`` (server) sign the exchange hash;
    ``verify_host_key`` (client) is asked once per key exchange whether to trust the
    server's key, after its signature over H has been checked."""

    def __init__(self, *, server: bool, host_keys: Sequence[Key] = (),
                 config: TransportConfig | None = None,
                 verify_host_key: Callable[[Key], bool] | None = None) -> None:
        self.server = server
        self.config = config or TransportConfig()
        self.host_keys = list(host_keys)
        if server and not self.host_keys:
            raise ValueError("a server transport needs at least one host key")
        self._verify_host_key = verify_host_key
        self.session_id: bytes | None = None
        self.peer_version: bytes | None = None
        self.local_version = f"SSH-2.0-{self.config.version}".encode("ascii")
        self.algorithms: Algorithms | None = None
        self.host_key: Key | None = None           # client: the server's key
        self.server_sig_algs: list[str] | None = None  # client: from ext-info
        self.peer_ext_info = False                  # server: the client sent ext-info-c
        self.closed = False
        self.kex_count = 0                          # key exchanges completed
        self._packets = PacketLayer(max_packet_length=self.config.max_packet_length)
        self._out: list[bytes] = [self.local_version + b"\r\n"]   # joined once, when taken
        self._inbuf = bytearray()
        self._banner_lines = 0
        self._banner_bytes = 0
        self._events: deque[Event] = deque()
        self._held: list[bytes | DataRun] = []
        # key exchange state
        self._in_kex = False
        self._local_kexinit: bytes | None = None
        self._peer_kexinit: _PeerKexInit | None = None
        self._kex: ClientKex | ServerKex | None = None
        self._pending: tuple[Algorithms, KexResult] | None = None
        self._newkeys_sent = False
        self._newkeys_received = False
        self._ignore_guess = False
        self._strict = False
        self._first_kex_done = False
        self._compression_on = False
        self._now: float | None = None
        self._rekey_at: float | None = None
        self._start_kex()

    # ---- the sans-IO surface ----------------------------------------------------------

    def data_to_send(self) -> bytes:
        out, self._out = self._out, []
        data = out[0] if len(out) == 1 else b"".join(out)
        return data

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            if self.peer_version is None:
                self._inbuf += data
                if not self._read_version():
                    return
                data = bytes(self._inbuf)
                self._inbuf.clear()
            payloads = self._packets.feed(data)
            while True:
                base = self._packets.seq_in - len(payloads)
                for i, payload in enumerate(payloads):
                    self._dispatch(payload, (base + i) & 0xFFFFFFFF)
                    if self.closed:
                        return
                if not (payloads and payloads[-1][:1] == b"\x15"):
                    break
                payloads = self._packets.feed(b"")
            self._check_rekey()
        except ProtocolError as exc:
            self._fail(exc)

    def send_payload(self, payload: bytes) -> None:
        """Send an upper-layer message; held while a key exchange is running."""
        if self.closed:
            return
        if self._in_kex or self.session_id is None:
            self._held.append(payload)
            return
        self._send(payload)
        self._check_rekey()

    def send_batch(self, items: list[bytes | DataRun]) -> None:
        """Several upper-layer messages (channel data as runs, see ``Connection.output``)
        encoded in one native call; held while a key exchange is running."""
        if self.closed or not items:
            return
        if self._in_kex or self.session_id is None:
            self._held.extend(items)
            return
        self._out.append(self._packets.encode_batch(items))
        self._check_rekey()

    def request_service(self, name: str) -> None:
        self.send_payload(Writer(Msg.SERVICE_REQUEST).string(name).getvalue())

    def accept_service(self, name: str) -> None:
        self.send_payload(Writer(Msg.SERVICE_ACCEPT).string(name).getvalue())

    def disconnect(self, reason: int, description: str) -> None:
        if self.closed:
            return
        self._send(Writer(Msg.DISCONNECT).uint32(reason).string(description).string("")
                   .getvalue())
        self.closed = True
        self._events.append(Disconnected(reason, description, False))

    def connection_lost(self) -> None:
        """The socket closed under us."""
        if not self.closed:
            self.closed = True
            self._events.append(Disconnected(DisconnectReason.CONNECTION_LOST,
                                             "connection lost", False))

    def enable_delayed_compression(self) -> None:
        """zlib@openssh.com starts after USERAUTH_SUCCESS (sent or received)."""
        alg = self.algorithms
        if alg is None or self._compression_on:
            return
        out_dir = alg.compression_sc if self.server else alg.compression_cs
        in_dir = alg.compression_cs if self.server else alg.compression_sc
        out_on, in_on = out_dir == "zlib@openssh.com", in_dir == "zlib@openssh.com"
        if out_on or in_on:
            self._packets.set_compression(out_on, in_on)
        self._compression_on = True

    def rekey(self) -> None:
        """Start a key re-exchange now (no-op if one is running)."""
        if not self.closed and not self._in_kex and self._first_kex_done:
            self._start_kex()

    def get_timer(self) -> float | None:
        return self._rekey_at

    def handle_timer(self, now: float) -> None:
        """Tell the transport the time (the adapter calls this once at start, then when
        :meth:`get_timer` falls due); rekeys once an hour."""
        self._now = now
        if self._rekey_at is None:
            if self._first_kex_done and not self._in_kex:
                self._rekey_at = now + self.config.rekey_seconds
            return
        if now >= self._rekey_at and not self._in_kex and not self.closed:
            self._rekey_at = None
            self._start_kex()

    # ---- version exchange -------------------------------------------------------------

    def _read_version(self) -> bool:
        cfg = self.config
        while True:
            nl = self._inbuf.find(b"\n")
            if nl < 0:
                if len(self._inbuf) > MAX_VERSION_LINE:
                    raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                        "version line longer than 255 bytes")
                return False
            if nl + 1 > MAX_VERSION_LINE:
                raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                    "version line longer than 255 bytes")
            line = bytes(self._inbuf[:nl]).removesuffix(b"\r")
            del self._inbuf[:nl + 1]
            if line.startswith(b"SSH-"):
                break
            if self.server:
                raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                    "the client did not start with its version")
            self._banner_lines += 1
            self._banner_bytes += nl + 1
            if self._banner_lines > cfg.max_banner_lines \
                    or self._banner_bytes > cfg.max_banner_bytes:
                raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                    "too many lines before the server's version")
        if b"\x00" in line:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "NUL in the version line")
        proto = line.split(b"-", 2)[1] if line.count(b"-") >= 2 else b""
        if proto not in (b"2.0", b"1.99"):
            raise ProtocolError(DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
                                f"unsupported protocol version {proto!r}")
        self.peer_version = line
        return True

    # ---- sending ----------------------------------------------------------------------

    def _send(self, payload: bytes) -> None:
        self._out.append(self._packets.encode(payload))

    def _send_or_hold(self, payload: bytes) -> None:
        if self._in_kex:
            self._held.append(payload)
        else:
            self._send(payload)

    def _fail(self, exc: ProtocolError) -> None:
        if self.closed:
            return
        try:
            self._send(Writer(Msg.DISCONNECT).uint32(int(exc.reason))
                       .string(exc.description).string("").getvalue())
        except ProtocolError:   # the packet layer itself may be what broke
            pass
        self.closed = True
        self._events.append(Disconnected(int(exc.reason), exc.description, False))

    # ---- receiving --------------------------------------------------------------------

    def _dispatch(self, payload: bytes, seq: int) -> None:
        if not payload:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "empty payload")
        msg = payload[0]
        strict_first = self._strict and not self._first_kex_done
        if msg == Msg.DISCONNECT:
            r = Reader(payload, 1)
            reason = r.uint32()
            description = r.string().decode("utf-8", "replace")
            self.closed = True
            self._events.append(Disconnected(reason, description, True))
        elif msg == Msg.KEXINIT:
            self._on_kexinit(payload, seq)
        elif msg == Msg.NEWKEYS:
            self._on_newkeys(payload)
        elif msg in KEX_MESSAGES:
            self._on_kex_message(payload)
        elif strict_first or (not self._first_kex_done and self._peer_kexinit is not None
                              and msg >= 50):
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"unexpected message {msg} during the initial key exchange")
        elif msg in (Msg.IGNORE, Msg.DEBUG, Msg.UNIMPLEMENTED):
            pass
        elif self._peer_kexinit is not None and self._in_kex and msg != Msg.EXT_INFO:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"message {msg} in the middle of a key exchange")
        elif self.session_id is None:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"message {msg} before the first key exchange")
        elif msg == Msg.SERVICE_REQUEST and self.server:
            name = Reader(payload, 1).text(255)
            self._events.append(ServiceRequested(name))
        elif msg == Msg.SERVICE_ACCEPT and not self.server:
            self._events.append(ServiceAccepted(Reader(payload, 1).text(255)))
        elif msg == Msg.EXT_INFO:
            self._on_ext_info(payload)
        elif 50 <= msg <= LAST_KNOWN_MESSAGE:
            self._events.append(PayloadReceived(payload))
        else:
            self._send_or_hold(Writer(Msg.UNIMPLEMENTED).uint32(seq).getvalue())

    def _on_ext_info(self, payload: bytes) -> None:
        r = Reader(payload, 1)
        count = r.uint32()
        if count > 64:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "too many extensions")
        for _ in range(count):
            name = r.string(256)
            value = r.string(65536)
            if name == b"server-sig-algs" and not self.server:
                self.server_sig_algs = value.decode("ascii", "replace").split(",")

    # ---- key exchange -----------------------------------------------------------------

    def _start_kex(self) -> None:
        cfg = self.config
        kex = [k for k in cfg.kex_algorithms if k in KEX_METHODS]
        if self.session_id is None:
            if cfg.ext_info:
                kex.append(EXT_INFO_S if self.server else EXT_INFO_C)
            if cfg.strict_kex:
                kex.append(STRICT_S if self.server else STRICT_C)
        if self.server:
            supported = {a for k in self.host_keys for a in k.signature_algorithms()}
            host = [a for a in cfg.host_key_algorithms if a in supported]
        else:
            host = list(cfg.host_key_algorithms)
        ciphers = [c for c in cfg.ciphers if c in CIPHERS]
        macs = [m for m in cfg.macs if m in MACS]
        w = Writer(Msg.KEXINIT).raw(os.urandom(16)).name_list(kex).name_list(host)
        w.name_list(ciphers).name_list(ciphers).name_list(macs).name_list(macs)
        w.name_list(cfg.compression).name_list(cfg.compression).name_list([]).name_list([])
        w.boolean(False).uint32(0)
        self._local_kexinit = w.getvalue()
        self._in_kex = True
        self._newkeys_sent = self._newkeys_received = False
        self._send(self._local_kexinit)

    def _on_kexinit(self, payload: bytes, seq: int) -> None:
        if self._peer_kexinit is not None:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "second KEXINIT during a kex")
        r = Reader(payload, 17)     # after the message number and the 16-byte cookie
        lists = [r.name_list() for _ in range(10)]
        follows = r.boolean()
        r.uint32()
        first = self.session_id is None
        if first:
            self._strict = self.config.strict_kex and \
                (STRICT_C if self.server else STRICT_S) in lists[0]
            if self._strict and seq != 0:
                raise ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED,
                                    "strict kex: KEXINIT was not the first packet")
            if self.server:
                self.peer_ext_info = EXT_INFO_C in lists[0]
        self._peer_kexinit = _PeerKexInit(payload, lists, follows)
        if not self._in_kex:
            self._start_kex()
        self._negotiate_and_begin()

    def _negotiate_and_begin(self) -> None:
        assert self._peer_kexinit is not None and self._local_kexinit is not None
        peer = self._peer_kexinit.lists
        mine = Reader(self._local_kexinit, 17)
        local = [mine.name_list() for _ in range(10)]
        c, s = (peer, local) if self.server else (local, peer)
        kex_c = [k for k in c[0] if k in KEX_METHODS]
        kex = _negotiate("key exchange method", kex_c, s[0])
        host = _negotiate("host key algorithm", c[1], s[1])
        cipher_cs = _negotiate("cipher (client to server)", c[2], s[2])
        cipher_sc = _negotiate("cipher (server to client)", c[3], s[3])
        mac_cs = None if CIPHERS[cipher_cs][3] else _negotiate("MAC (client to server)",
                                                              c[4], s[4])
        mac_sc = None if CIPHERS[cipher_sc][3] else _negotiate("MAC (server to client)",
                                                              c[5], s[5])
        comp_cs = _negotiate("compression (client to server)", c[6], s[6])
        comp_sc = _negotiate("compression (server to client)", c[7], s[7])
        alg = Algorithms(kex, host, cipher_cs, cipher_sc, mac_cs, mac_sc, comp_cs, comp_sc,
                         self._strict)
        if self._peer_kexinit.follows:
            # the peer guessed; the guess is right only if both sides put the same kex and
            # host key algorithms first (as OpenSSH and dropbear judge it); if not, its next
            # kex packet is to be ignored
            guess_ok = peer[0][:1] == local[0][:1] and peer[1][:1] == local[1][:1]
            self._ignore_guess = not guess_ok
        assert self.peer_version is not None
        if self.server:
            ctx = KexContext(self.peer_version, self.local_version, self._peer_kexinit.payload,
                             self._local_kexinit)
            key = next(k for k in self.host_keys if host in k.signature_algorithms())
            moduli = {bits: p for bits, p in MODP_GROUPS.items()
                      if bits >= self.config.gex_server_min}
            self._kex = ServerKex(KEX_METHODS[kex], ctx, key.public_blob(),
                                  lambda h: key.sign(h, host), moduli)
        else:
            ctx = KexContext(self.local_version, self.peer_version, self._local_kexinit,
                             self._peer_kexinit.payload)
            cfg = self.config
            client = ClientKex(KEX_METHODS[kex], ctx, gex_min=cfg.gex_min,
                               gex_preferred=cfg.gex_preferred, gex_max=cfg.gex_max)
            self._kex = client
            self._send(client.start())
        self._negotiated = alg

    def _on_kex_message(self, payload: bytes) -> None:
        if self._kex is None or self._pending is not None:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"key exchange message {payload[0]} out of place")
        if self._ignore_guess:
            self._ignore_guess = False
            return
        if isinstance(self._kex, ServerKex):
            replies, result = self._kex.receive(payload)
            for reply in replies:
                self._send(reply)
        else:
            out = self._kex.receive(payload)
            if isinstance(out, bytes):
                self._send(out)
                return
            result = out
            self._check_host_key(result)
        if result is not None:
            self._pending = (self._negotiated, result)
            self._send_newkeys()

    def _check_host_key(self, result: KexResult) -> None:
        from .keys import Key
        alg = self._negotiated.host_key
        try:
            key = Key.from_public_blob(result.host_key_blob)
        except KeyFormatError as exc:
            raise ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED,
                                f"bad host key: {exc}") from None
        if alg not in key.signature_algorithms():
            raise ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED,
                                f"host key {key.key_type} does not match {alg}")
        sig = Reader(result.signature)
        if sig.string(64) != alg.encode():
            raise ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED,
                                "host key signature made with the wrong algorithm")
        if not key.verify(result.signature, result.exchange_hash):
            raise ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED,
                                "host key signature does not verify")
        if self.host_key is not None and key != self.host_key:
            raise ProtocolError(DisconnectReason.HOST_KEY_NOT_VERIFIABLE,
                                "host key changed during rekey")
        if self._verify_host_key is not None and not self._verify_host_key(key):
            raise ProtocolError(DisconnectReason.HOST_KEY_NOT_VERIFIABLE,
                                f"host key {key.key_type} {key.fingerprint()} not trusted")
        self.host_key = key

    def _keys(self, result: KexResult, alg: Algorithms, outgoing: bool) -> None:
        method = KEX_METHODS[alg.kex]
        session_id = self.session_id or result.exchange_hash
        cs = self.server != outgoing       # client-to-server direction?
        cipher = alg.cipher_cs if cs else alg.cipher_sc
        mac = alg.mac_cs if cs else alg.mac_sc
        key_len, iv_len = CIPHERS[cipher][0], CIPHERS[cipher][1]
        mac_len = MACS[mac][0] if mac else 0
        letters = (b"A", b"C", b"E") if cs else (b"B", b"D", b"F")

        def derive(letter: bytes, n: int) -> bytes:
            if n == 0:
                return b""
            return derive_key(method, result.shared_secret, result.exchange_hash, session_id,
                              letter, n)
        iv, key, mac_key = derive(letters[0], iv_len), derive(letters[1], key_len), \
            derive(letters[2], mac_len)
        if outgoing:
            self._packets.set_encrypt(cipher, key, iv, mac, mac_key)
        else:
            self._packets.set_decrypt(cipher, key, iv, mac, mac_key)

    def _send_newkeys(self) -> None:
        assert self._pending is not None
        alg, result = self._pending
        self._send(bytes((Msg.NEWKEYS,)))
        if self.session_id is None:
            self.session_id = result.exchange_hash
        self._keys(result, alg, outgoing=True)
        if alg.strict_kex:
            self._packets.reset_sequence_out()
        self._newkeys_sent = True
        first = not self._first_kex_done
        if first and self.server and self.peer_ext_info:
            sig_algs = ",".join(self.config.host_key_algorithms)
            self._send(Writer(Msg.EXT_INFO).uint32(1).string("server-sig-algs")
                       .string(sig_algs).getvalue())
        self._maybe_finish()

    def _on_newkeys(self, payload: bytes) -> None:
        if len(payload) != 1 or self._pending is None or self._newkeys_received:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "unexpected NEWKEYS")
        alg, result = self._pending
        self._keys(result, alg, outgoing=False)
        if alg.strict_kex:
            self._packets.reset_sequence_in()
        self._newkeys_received = True
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if not (self._newkeys_sent and self._newkeys_received):
            return
        assert self._pending is not None
        alg, _ = self._pending
        first = not self._first_kex_done
        self.algorithms = alg
        self._in_kex = False
        self._kex = None
        self._pending = None
        self._peer_kexinit = None
        self._first_kex_done = True
        self.kex_count += 1
        self._rekey_at = None if self._now is None else self._now + self.config.rekey_seconds
        self._events.append(KexCompleted(first, alg))
        held, self._held = self._held, []
        if held:
            self._out.append(self._packets.encode_batch(held))

    def _check_rekey(self) -> None:
        limit = self.config.rekey_bytes
        if not self._in_kex and self._first_kex_done and not self.closed and \
                (self._packets.bytes_in >= limit or self._packets.bytes_out >= limit):
            self._start_kex()
