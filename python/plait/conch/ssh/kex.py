"""SSH key exchange methods: the messages, the exchange hash H and the key derivation.

mlkem768x25519-sha256 (post-quantum hybrid, draft-ietf-sshm-mlkem-hybrid-kex),
sntrup761x25519-sha512 (and its @openssh.com name; the KEM is native, see
``plait._native.Sntrup761KeyPair``), curve25519-sha256 (RFC 8731), ecdh-sha2-nistp256/384/521 (RFC 5656),
diffie-hellman-group14-sha256 and group16-sha512 (RFC 8268) and
diffie-hellman-group-exchange-sha256 (RFC 4419). The transport makes a :class:`ClientKex`
or :class:`ServerKex` per exchange and feeds it the kex messages (30..34); it gets back
payloads to send and, at the end, a :class:`KexResult` (shared secret, H, host key and
signature) from which :func:`derive_key` makes the session keys (RFC 4253 §7.2).
The arithmetic is `cryptography`'s; every public value received is checked.
"""
from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.asymmetric import dh, ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning

from plait._native import (
    SNTRUP761_CIPHERTEXT_SIZE,
    SNTRUP761_PUBLIC_KEY_SIZE,
    Sntrup761KeyPair,
    sntrup761_encapsulate,
)

from .constants import KEX_DH_GEX_GROUP, DisconnectReason, Msg
from .dh_groups import GENERATOR, MODP_GROUPS
from .errors import ProtocolError
from .wire import Reader, Writer, mpint, string

__all__ = [
    "GEX_MAX",
    "GEX_MIN",
    "GEX_PREFERRED",
    "KEX_METHODS",
    "POST_QUANTUM_KEX",
    "ClientKex",
    "KexContext",
    "KexMethod",
    "KexResult",
    "ServerKex",
    "derive_key",
    "exchange_hash_dh",
    "exchange_hash_ecdh",
    "exchange_hash_gex",
]

GEX_MIN = 2048          # the client refuses a smaller group, the server never offers one
GEX_PREFERRED = 3072
GEX_MAX = 8192
MLKEM768_PUBLIC = 1184
MLKEM768_CIPHERTEXT = 1088


@dataclass(frozen=True)
class KexMethod:
    """One key exchange method: how it computes the secret and which hash it uses."""

    name: str
    kind: str               # "hybrid" | "x25519" | "ecdh" | "dh" | "gex"
    hash_name: str          # hashlib name
    curve: type[ec.EllipticCurve] | None = None
    group_bits: int = 0     # for "dh"
    kem: str = ""           # for "hybrid": "mlkem768" | "sntrup761"

    def hash(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).digest()


KEX_METHODS: dict[str, KexMethod] = {m.name: m for m in (
    KexMethod("mlkem768x25519-sha256", "hybrid", "sha256", kem="mlkem768"),
    KexMethod("sntrup761x25519-sha512", "hybrid", "sha512", kem="sntrup761"),
    KexMethod("sntrup761x25519-sha512@openssh.com", "hybrid", "sha512", kem="sntrup761"),
    KexMethod("curve25519-sha256", "x25519", "sha256"),
    KexMethod("curve25519-sha256@libssh.org", "x25519", "sha256"),
    KexMethod("ecdh-sha2-nistp256", "ecdh", "sha256", ec.SECP256R1),
    KexMethod("ecdh-sha2-nistp384", "ecdh", "sha384", ec.SECP384R1),
    KexMethod("ecdh-sha2-nistp521", "ecdh", "sha512", ec.SECP521R1),
    KexMethod("diffie-hellman-group-exchange-sha256", "gex", "sha256"),
    KexMethod("diffie-hellman-group16-sha512", "dh", "sha512", group_bits=4096),
    KexMethod("diffie-hellman-group14-sha256", "dh", "sha256", group_bits=2048),
)}

# The methods whose secret survives a quantum computer (ssh-audit warns about the others).
POST_QUANTUM_KEX = tuple(m.name for m in KEX_METHODS.values() if m.kind == "hybrid")


@dataclass(frozen=True)
class KexContext:
    """What both sides hash into H before the method's own values (RFC 4253 §8)."""

    client_version: bytes   # without CR LF
    server_version: bytes
    client_kexinit: bytes   # the whole KEXINIT payloads
    server_kexinit: bytes

    def prefix(self, host_key_blob: bytes) -> bytes:
        return b"".join((string(self.client_version), string(self.server_version),
                         string(self.client_kexinit), string(self.server_kexinit),
                         string(host_key_blob)))


@dataclass(frozen=True)
class KexResult:
    """The outcome of one exchange. ``shared_secret`` is K already encoded as an mpint."""

    shared_secret: bytes
    exchange_hash: bytes
    host_key_blob: bytes
    signature: bytes        # the server's signature over H (what the client must verify)

    def __repr__(self) -> str:  # never show the secret
        return f"KexResult(exchange_hash={self.exchange_hash.hex()[:16]}...)"


def _fail(description: str) -> ProtocolError:
    return ProtocolError(DisconnectReason.KEY_EXCHANGE_FAILED, description)


def exchange_hash_dh(method: KexMethod, ctx: KexContext, host_key: bytes, e: int, f: int,
                     k: bytes) -> bytes:
    """H for finite-field DH (RFC 4253 §8); ``k`` is mpint-encoded."""
    return method.hash(ctx.prefix(host_key) + mpint(e) + mpint(f) + k)


def exchange_hash_ecdh(method: KexMethod, ctx: KexContext, host_key: bytes, q_c: bytes,
                       q_s: bytes, k: bytes) -> bytes:
    """H for ECDH and Curve25519 (RFC 5656 §4, RFC 8731 §3)."""
    return method.hash(ctx.prefix(host_key) + string(q_c) + string(q_s) + k)


def exchange_hash_gex(method: KexMethod, ctx: KexContext, host_key: bytes,
                      sizes: tuple[int, int, int], p: int, g: int, e: int, f: int,
                      k: bytes) -> bytes:
    """H for group exchange (RFC 4419 §3): min, n, max, p, g, e, f, K."""
    w = Writer().uint32(sizes[0]).uint32(sizes[1]).uint32(sizes[2])
    return method.hash(ctx.prefix(host_key) + w.getvalue() + mpint(p) + mpint(g) + mpint(e)
                       + mpint(f) + k)


def derive_key(method: KexMethod, shared_secret: bytes, exchange_hash: bytes,
               session_id: bytes, letter: bytes, length: int) -> bytes:
    """RFC 4253 §7.2: HASH(K || H || letter || session_id), extended by
    HASH(K || H || K1 || K2 ...) until ``length`` bytes."""
    key = method.hash(shared_secret + exchange_hash + letter + session_id)
    while len(key) < length:
        key += method.hash(shared_secret + exchange_hash + key)
    return key[:length]


# ---- the secret computations ----------------------------------------------------------

class _Ephemeral:
    """One side's ephemeral key for a method; ``public`` is what goes on the wire
    (bytes for x25519/ECDH, an int for DH)."""

    def __init__(self, method: KexMethod, p: int = 0, g: int = GENERATOR) -> None:
        self.method = method
        self.p = p
        self.g = g
        self._x25519: x25519.X25519PrivateKey | None = None
        self._ec: ec.EllipticCurvePrivateKey | None = None
        self._dh: dh.DHPrivateKey | None = None
        self._mlkem: mlkem.MLKEM768PrivateKey | None = None
        self._sntrup: Sntrup761KeyPair | None = None
        if method.kind == "hybrid":
            self._x25519 = x25519.X25519PrivateKey.generate()
            self.public_bytes = self._x25519.public_key().public_bytes_raw()
            if method.kem == "sntrup761":
                self._sntrup = Sntrup761KeyPair()
                self.public_bytes = self._sntrup.public_bytes() + self.public_bytes
            else:
                self._mlkem = mlkem.MLKEM768PrivateKey.generate()
                self.public_bytes = self._mlkem.public_key().public_bytes_raw() + \
                    self.public_bytes
        elif method.kind == "x25519":
            self._x25519 = x25519.X25519PrivateKey.generate()
            self.public_bytes = self._x25519.public_key().public_bytes_raw()
        elif method.kind == "ecdh":
            assert method.curve is not None
            self._ec = ec.generate_private_key(method.curve())
            self.public_bytes = self._ec.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                params = dh.DHParameterNumbers(p, g).parameters()
                self._dh = params.generate_private_key()
            self.public_int = self._dh.public_key().public_numbers().y

    def _x25519_secret(self, peer: bytes) -> bytes:
        assert self._x25519 is not None
        if len(peer) != 32:
            raise _fail(f"curve25519 public key of {len(peer)} bytes")
        try:
            secret = self._x25519.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        except ValueError:   # cryptography refuses the all-zero result
            raise _fail("curve25519 shared secret is zero") from None
        if not any(secret):
            raise _fail("curve25519 shared secret is zero")
        return secret

    def hybrid_encapsulate(self, c_init: bytes) -> tuple[bytes, bytes]:
        """Server: (S_REPLY, K as a string) from the client's KEM public key || X25519
        key; S_REPLY is the KEM ciphertext || the server's X25519 key, and K is
        HASH(kem secret || x25519 secret) as OpenSSH computes it."""
        kem_public = SNTRUP761_PUBLIC_KEY_SIZE if self.method.kem == "sntrup761" \
            else MLKEM768_PUBLIC
        if len(c_init) != kem_public + 32:
            raise _fail(f"hybrid client value of {len(c_init)} bytes")
        if self.method.kem == "sntrup761":
            ciphertext, pq_secret = sntrup761_encapsulate(c_init[:kem_public])
        else:
            try:
                pq_key = mlkem.MLKEM768PublicKey.from_public_bytes(c_init[:kem_public])
                pq_secret, ciphertext = pq_key.encapsulate()
            except ValueError:
                raise _fail("bad ML-KEM-768 public key") from None
        secret = self._x25519_secret(c_init[kem_public:])
        assert self._x25519 is not None
        reply = ciphertext + self._x25519.public_key().public_bytes_raw()
        return reply, string(self.method.hash(pq_secret + secret))

    def hybrid_decapsulate(self, s_reply: bytes) -> bytes:
        """Client: K (as a string) from the server's KEM ciphertext || X25519 key."""
        if self._sntrup is not None:
            size = SNTRUP761_CIPHERTEXT_SIZE
            if len(s_reply) != size + 32:
                raise _fail(f"hybrid server value of {len(s_reply)} bytes")
            # a forged ciphertext gives a pseudorandom secret (implicit rejection), which
            # then fails the host key signature check like any other wrong K
            pq_secret = self._sntrup.decapsulate(s_reply[:size])
        else:
            size = MLKEM768_CIPHERTEXT
            if len(s_reply) != size + 32:
                raise _fail(f"hybrid server value of {len(s_reply)} bytes")
            assert self._mlkem is not None
            try:
                pq_secret = self._mlkem.decapsulate(s_reply[:size])
            except ValueError:
                raise _fail("bad ML-KEM-768 ciphertext") from None
        secret = self._x25519_secret(s_reply[size:])
        return string(self.method.hash(pq_secret + secret))

    def shared_bytes(self, peer: bytes) -> bytes:
        """K (as an mpint) from the peer's x25519 / ECDH public value."""
        if self._x25519 is not None:
            return mpint(int.from_bytes(self._x25519_secret(peer), "big"))
        assert self._ec is not None and self.method.curve is not None
        if not peer or peer[0] != 4:
            raise _fail("ECDH public key is not an uncompressed point")
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(self.method.curve(), peer)
            secret = self._ec.exchange(ec.ECDH(), point)
        except (ValueError, InvalidKey):
            raise _fail("ECDH public key is not a point on the curve") from None
        return mpint(int.from_bytes(secret, "big"))

    def shared_int(self, peer: int) -> bytes:
        """K (as an mpint) from the peer's DH public value, after the range check."""
        if not 1 < peer < self.p - 1:
            raise _fail("DH public value out of range")
        assert self._dh is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            pub = dh.DHPublicNumbers(peer, dh.DHParameterNumbers(self.p, self.g)).public_key()
            try:
                secret = self._dh.exchange(pub)
            except ValueError:
                raise _fail("DH public value rejected") from None
        k = int.from_bytes(secret, "big")
        if k <= 1:
            raise _fail("DH shared secret is degenerate")
        return mpint(k)


def _choose_group(moduli: Mapping[int, int], low: int, preferred: int, high: int) -> int:
    """The modulus size the server picks: the smallest >= preferred within [low, high],
    else the largest below preferred within range."""
    if not (low <= preferred <= high) or high < GEX_MIN:
        raise _fail(f"bad group exchange request min={low} n={preferred} max={high}")
    fitting = sorted(b for b in moduli if max(low, GEX_MIN) <= b <= high)
    if not fitting:
        raise _fail(f"no group between {low} and {high} bits")
    above = [b for b in fitting if b >= preferred]
    return above[0] if above else fitting[-1]


# ---- the two sides -------------------------------------------------------------------

class ClientKex:
    """The client's half of one exchange: :meth:`start` gives the first message;
    :meth:`receive` takes each server message and returns the next payload to send or,
    at the end, the :class:`KexResult` (the host key signature is for the caller to check)."""

    def __init__(self, method: KexMethod, ctx: KexContext, *, gex_min: int = GEX_MIN,
                 gex_preferred: int = GEX_PREFERRED, gex_max: int = GEX_MAX) -> None:
        self.method = method
        self.ctx = ctx
        self._sizes = (gex_min, gex_preferred, gex_max)
        self._eph: _Ephemeral | None = None
        self._expect: int = Msg.KEXDH_REPLY     # also KEX_DH_GEX_GROUP for "gex"
        self._gex_group: tuple[int, int] | None = None

    def start(self) -> bytes:
        m = self.method
        if m.kind == "gex":
            lo, n, hi = self._sizes
            return Writer(Msg.KEX_DH_GEX_REQUEST).uint32(lo).uint32(n).uint32(hi).getvalue()
        if m.kind == "dh":
            self._eph = _Ephemeral(m, MODP_GROUPS[m.group_bits])
            return Writer(Msg.KEXDH_INIT).mpint(self._eph.public_int).getvalue()
        self._eph = _Ephemeral(m)
        return Writer(Msg.KEXDH_INIT).string(self._eph.public_bytes).getvalue()

    @property
    def expected(self) -> int:
        """The message number this side waits for next."""
        return int(self._expect)

    def receive(self, payload: bytes) -> bytes | KexResult:
        r = Reader(payload)
        msg = r.byte()
        if msg != self._expect:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"unexpected message {msg} during key exchange")
        m = self.method
        if m.kind == "gex" and self._gex_group is None:
            p, g = r.mpint(), r.mpint()
            r.end()
            lo, _, hi = self._sizes
            if p.bit_length() < max(lo, GEX_MIN) or p.bit_length() > hi or p % 2 == 0:
                raise _fail(f"server offered a {p.bit_length()}-bit group")
            if not 1 < g < p - 1:
                raise _fail("group generator out of range")
            self._gex_group = (p, g)
            self._eph = _Ephemeral(m, p, g)
            self._expect = Msg.KEX_DH_GEX_REPLY
            return Writer(Msg.KEX_DH_GEX_INIT).mpint(self._eph.public_int).getvalue()
        assert self._eph is not None
        host_key = r.string()
        if m.kind in ("dh", "gex"):
            f = r.mpint()
            sig = r.string()
            r.end()
            k = self._eph.shared_int(f)
            e = self._eph.public_int
            if self._gex_group is not None:
                p, g = self._gex_group
                h = exchange_hash_gex(m, self.ctx, host_key, self._sizes, p, g, e, f, k)
            else:
                h = exchange_hash_dh(m, self.ctx, host_key, e, f, k)
        else:
            q_s = r.string()
            sig = r.string()
            r.end()
            k = self._eph.hybrid_decapsulate(q_s) if m.kind == "hybrid" \
                else self._eph.shared_bytes(q_s)
            h = exchange_hash_ecdh(m, self.ctx, host_key, self._eph.public_bytes, q_s, k)
        self._expect = -1
        return KexResult(k, h, host_key, sig)


class ServerKex:
    """The server's half: :meth:`receive` takes each client message and returns the
    payloads to send and, after the last, the :class:`KexResult`. ``sign(H)`` makes the
    host key signature blob."""

    def __init__(self, method: KexMethod, ctx: KexContext, host_key_blob: bytes,
                 sign: Callable[[bytes], bytes],
                 moduli: Mapping[int, int] = MODP_GROUPS) -> None:
        self.method = method
        self.ctx = ctx
        self.host_key_blob = host_key_blob
        self._sign = sign
        self._moduli = moduli
        self._expect: int = Msg.KEX_DH_GEX_REQUEST if method.kind == "gex" else Msg.KEXDH_INIT
        self._sizes: tuple[int, int, int] | None = None
        self._eph: _Ephemeral | None = None

    @property
    def expected(self) -> int:
        return int(self._expect)

    def receive(self, payload: bytes) -> tuple[list[bytes], KexResult | None]:
        r = Reader(payload)
        msg = r.byte()
        if msg != self._expect:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"unexpected message {msg} during key exchange")
        m = self.method
        if msg == Msg.KEX_DH_GEX_REQUEST:
            sizes = (r.uint32(), r.uint32(), r.uint32())
            r.end()
            bits = _choose_group(self._moduli, *sizes)
            p = self._moduli[bits]
            self._sizes = sizes
            self._eph = _Ephemeral(m, p, GENERATOR)
            self._expect = Msg.KEX_DH_GEX_INIT
            return [Writer(KEX_DH_GEX_GROUP).mpint(p).mpint(GENERATOR).getvalue()], None
        hk = self.host_key_blob
        if m.kind in ("dh", "gex"):
            e = r.mpint()
            r.end()
            if m.kind == "dh":
                self._eph = _Ephemeral(m, MODP_GROUPS[m.group_bits])
            assert self._eph is not None
            k = self._eph.shared_int(e)
            f = self._eph.public_int
            if self._sizes is not None:
                h = exchange_hash_gex(m, self.ctx, hk, self._sizes, self._eph.p, self._eph.g,
                                      e, f, k)
                reply = Writer(Msg.KEX_DH_GEX_REPLY)
            else:
                h = exchange_hash_dh(m, self.ctx, hk, e, f, k)
                reply = Writer(Msg.KEXDH_REPLY)
            sig = self._sign(h)
            reply.string(hk).mpint(f).string(sig)
        else:
            q_c = r.string()
            r.end()
            self._eph = _Ephemeral(m)
            if m.kind == "hybrid":
                q_s, k = self._eph.hybrid_encapsulate(q_c)
            else:
                k = self._eph.shared_bytes(q_c)
                q_s = self._eph.public_bytes
            h = exchange_hash_ecdh(m, self.ctx, hk, q_c, q_s, k)
            sig = self._sign(h)
            reply = Writer(Msg.KEXDH_REPLY).string(hk).string(q_s).string(sig)
        self._expect = -1
        return [reply.getvalue()], KexResult(k, h, hk, sig)
