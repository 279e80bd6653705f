"""Key exchange methods: both halves agree, H matches an independent computation, key
derivation matches paramiko's, and bad public values are refused."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from plait._native import (
    SNTRUP761_CIPHERTEXT_SIZE,
    SNTRUP761_PUBLIC_KEY_SIZE,
    Sntrup761KeyPair,
    sntrup761_encapsulate,
)
from plait.conch.ssh.constants import DisconnectReason, Msg
from plait.conch.ssh.dh_groups import MODP_GROUPS
from plait.conch.ssh.errors import ProtocolError
from plait.conch.ssh.kex import (
    KEX_METHODS,
    ClientKex,
    KexContext,
    KexResult,
    ServerKex,
    _choose_group,
    derive_key,
)
from plait.conch.ssh.wire import Reader, Writer, mpint, string

CTX = KexContext(b"SSH-2.0-client", b"SSH-2.0-server", b"\x14client-kexinit",
                 b"\x14server-kexinit")
HOST_BLOB = string("ssh-ed25519") + string(b"k" * 32)


def _signer() -> tuple[ed25519.Ed25519PrivateKey, object]:
    key = ed25519.Ed25519PrivateKey.generate()
    return key, lambda h: string("ssh-ed25519") + string(key.sign(h))


def _run(name: str, moduli: dict[int, int] | None = None) -> tuple[KexResult, KexResult,
                                                                   list[bytes]]:
    key, sign = _signer()
    client = ClientKex(KEX_METHODS[name], CTX)
    server = ServerKex(KEX_METHODS[name], CTX, HOST_BLOB, sign,  # type: ignore[arg-type]
                       **({"moduli": moduli} if moduli else {}))
    transcript = [client.start()]
    for _ in range(3):
        replies, sres = server.receive(transcript[-1])
        transcript += replies
        cres = client.receive(replies[0])
        if isinstance(cres, KexResult):
            assert sres is not None
            sig = Reader(cres.signature)
            assert sig.string() == b"ssh-ed25519"
            key.public_key().verify(sig.string(), cres.exchange_hash)
            return cres, sres, transcript
        transcript.append(cres)
    raise AssertionError("exchange did not finish")


@pytest.mark.parametrize("name", sorted(KEX_METHODS))
def test_both_halves_agree_and_hash_is_the_rfc_one(name: str) -> None:
    method = KEX_METHODS[name]
    cres, sres, transcript = _run(name)
    assert cres.shared_secret == sres.shared_secret
    assert cres.exchange_hash == sres.exchange_hash
    assert len(cres.exchange_hash) == hashlib.new(method.hash_name).digest_size
    # recompute H from the messages on the wire, field by field
    prefix = b"".join(string(x) for x in (CTX.client_version, CTX.server_version,
                                          CTX.client_kexinit, CTX.server_kexinit, HOST_BLOB))
    if method.kind in ("hybrid", "x25519", "ecdh"):
        q_c = Reader(transcript[0], 1).string()
        reply = Reader(transcript[1], 1)
        assert reply.string() == HOST_BLOB
        q_s = reply.string()
        data = prefix + string(q_c) + string(q_s) + cres.shared_secret
    elif method.kind == "dh":
        e = Reader(transcript[0], 1).mpint()
        reply = Reader(transcript[1], 1)
        reply.string()
        f = reply.mpint()
        data = prefix + mpint(e) + mpint(f) + cres.shared_secret
    else:
        req = Reader(transcript[0], 1)
        sizes = Writer().uint32(req.uint32()).uint32(req.uint32()).uint32(req.uint32())
        group = Reader(transcript[1], 1)
        p, g = group.mpint(), group.mpint()
        assert p in MODP_GROUPS.values() and g == 2
        e = Reader(transcript[2], 1).mpint()
        reply = Reader(transcript[3], 1)
        assert transcript[3][0] == Msg.KEX_DH_GEX_REPLY
        reply.string()
        f = reply.mpint()
        data = prefix + sizes.getvalue() + mpint(p) + mpint(g) + mpint(e) + mpint(f) + \
            cres.shared_secret
    assert hashlib.new(method.hash_name, data).digest() == cres.exchange_hash


def test_gex_group_choice_honours_min_preferred_max() -> None:
    assert _choose_group(MODP_GROUPS, 2048, 3072, 8192) == 3072
    assert _choose_group(MODP_GROUPS, 2048, 5000, 8192) == 6144
    assert _choose_group(MODP_GROUPS, 2048, 8192, 8192) == 8192
    assert _choose_group(MODP_GROUPS, 1024, 2000, 2048) == 2048
    assert _choose_group(MODP_GROUPS, 2048, 4000, 4000) == 3072   # largest below
    for bad in ((1024, 1024, 1024), (4096, 3072, 8192), (5000, 5000, 5500)):
        with pytest.raises(ProtocolError) as info:
            _choose_group(MODP_GROUPS, *bad)
        assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED


def test_gex_client_refuses_small_group() -> None:
    client = ClientKex(KEX_METHODS["diffie-hellman-group-exchange-sha256"], CTX)
    client.start()
    p1024 = int("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b"
                "139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b5"
                "76625e7ec6f44c42e9a637ed6b0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649"
                "286651ece65381ffffffffffffffff", 16)
    with pytest.raises(ProtocolError) as info:
        client.receive(Writer(31).mpint(p1024).mpint(2).getvalue())
    assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED
    assert "1024-bit" in info.value.description


@pytest.mark.parametrize("name", ["diffie-hellman-group14-sha256",
                                  "diffie-hellman-group16-sha512"])
def test_dh_public_value_range(name: str) -> None:
    p = MODP_GROUPS[KEX_METHODS[name].group_bits]
    _, sign = _signer()
    for bad in (0, 1, p - 1, p, p + 5, -3):
        server = ServerKex(KEX_METHODS[name], CTX, HOST_BLOB, sign)  # type: ignore[arg-type]
        with pytest.raises(ProtocolError) as info:
            server.receive(Writer(Msg.KEXDH_INIT).mpint(bad).getvalue())
        assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED
        client = ClientKex(KEX_METHODS[name], CTX)
        client.start()
        with pytest.raises(ProtocolError):
            client.receive(Writer(31).string(HOST_BLOB).mpint(bad).string(b"sig").getvalue())


@pytest.mark.parametrize("point", [b"\x00" * 32, (1).to_bytes(32, "little"),
                                   b"\x00" * 31, (b"\xe0\xebz|;A\xb8\xae\x16V\xe3\xfa\xf1\x9f"
                                   b"\xc4j\xda\t\x8d\xeb\x9c2\xb1\xfd\x86b\x05\x16_I\xb8\x00")])
def test_x25519_low_order_points_refused(point: bytes) -> None:
    _, sign = _signer()
    server = ServerKex(KEX_METHODS["curve25519-sha256"], CTX, HOST_BLOB, sign)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError) as info:
        server.receive(Writer(Msg.KEXDH_INIT).string(point).getvalue())
    assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED


@pytest.mark.parametrize("name", ["ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
                                  "ecdh-sha2-nistp521"])
def test_ec_points_validated(name: str) -> None:
    _, sign = _signer()
    good = Reader(ClientKex(KEX_METHODS[name], CTX).start(), 1).string()
    off_curve = good[:-1] + bytes([good[-1] ^ 1])
    for bad in (b"", b"\x04", off_curve, b"\x02" + good[1:1 + (len(good) - 1) // 2],
                b"\x04" + b"\x00" * (len(good) - 1)):
        server = ServerKex(KEX_METHODS[name], CTX, HOST_BLOB, sign)  # type: ignore[arg-type]
        with pytest.raises(ProtocolError) as info:
            server.receive(Writer(Msg.KEXDH_INIT).string(bad).getvalue())
        assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED


def test_out_of_order_message_refused() -> None:
    _, sign = _signer()
    server = ServerKex(KEX_METHODS["diffie-hellman-group-exchange-sha256"], CTX, HOST_BLOB,
                       sign)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError) as info:
        server.receive(Writer(Msg.KEX_DH_GEX_INIT).mpint(5).getvalue())
    assert info.value.reason == DisconnectReason.PROTOCOL_ERROR


@pytest.mark.parametrize("name,length", [("curve25519-sha256", 16), ("curve25519-sha256", 64),
                                         ("ecdh-sha2-nistp384", 100),
                                         ("diffie-hellman-group16-sha512", 200)])
def test_derive_key_matches_paramiko(name: str, length: int) -> None:
    method = KEX_METHODS[name]
    k = int.from_bytes(hashlib.sha512(b"k").digest(), "big")
    h = method.hash(b"H")
    sid = hashlib.sha256(b"session").digest()
    ns = SimpleNamespace(H=h, session_id=sid, _logged_hash_selection=True,
                         kex_engine=SimpleNamespace(
                             hash_algo=getattr(hashlib, method.hash_name)),
                         _add_K=lambda m: m.add_mpint(k), _log=lambda *a: None)
    expected = paramiko.Transport._compute_key(ns, "C", length)  # type: ignore[arg-type]
    assert derive_key(method, mpint(k), h, sid, b"C", length) == expected


def test_modp_groups_are_the_rfc3526_safe_primes() -> None:
    for bits, p in MODP_GROUPS.items():
        assert p.bit_length() == bits
        assert p >> (bits - 64) == (1 << 64) - 1 and p & ((1 << 64) - 1) == (1 << 64) - 1
        assert hex(p)[2:].startswith("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd1")
        q = (p - 1) // 2
        for base in (2, 3):
            assert pow(base, p - 1, p) == 1
            assert pow(base, q - 1, q) == 1


def test_result_repr_hides_the_secret() -> None:
    cres, _, _ = _run("curve25519-sha256")
    assert cres.shared_secret.hex() not in repr(cres)


@pytest.mark.parametrize(("name", "kem_public"), [
    ("mlkem768x25519-sha256", 1184),
    ("sntrup761x25519-sha512", SNTRUP761_PUBLIC_KEY_SIZE),
    ("sntrup761x25519-sha512@openssh.com", SNTRUP761_PUBLIC_KEY_SIZE),
])
def test_hybrid_values_checked(name: str, kem_public: int) -> None:
    _, sign = _signer()
    good = Reader(ClientKex(KEX_METHODS[name], CTX).start(), 1).string()
    assert len(good) == kem_public + 32
    for bad in (good[:-1], good + b"\0", good[:kem_public] + b"\0" * 32, b""):
        server = ServerKex(KEX_METHODS[name], CTX, HOST_BLOB, sign)  # type: ignore[arg-type]
        with pytest.raises(ProtocolError) as info:
            server.receive(Writer(Msg.KEXDH_INIT).string(bad).getvalue())
        assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED
    client = ClientKex(KEX_METHODS[name], CTX)
    client.start()
    with pytest.raises(ProtocolError):
        client.receive(Writer(31).string(HOST_BLOB).string(b"\1" * 1000).string(b"s")
                       .getvalue())


def test_hybrid_secret_is_a_string_of_the_hash() -> None:
    cres, sres, _ = _run("mlkem768x25519-sha256")
    assert cres.shared_secret == sres.shared_secret
    assert cres.shared_secret[:4] == b"\0\0\0\x20" and len(cres.shared_secret) == 36


SNTRUP = ("sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")
KAT_DIR = Path(__file__).resolve().parents[3] / "native" / "ssh" / "tests" / "data"


@pytest.mark.parametrize("name", SNTRUP)
def test_hybrid_sntrup_secret_is_sha512_of_both(name: str) -> None:
    cres, sres, _ = _run(name)
    assert KEX_METHODS[name].hash_name == "sha512"
    assert cres.shared_secret == sres.shared_secret
    assert cres.shared_secret[:4] == b"\0\0\0\x40" and len(cres.shared_secret) == 68
    assert len(cres.exchange_hash) == 64


def test_sntrup_forged_ciphertext_gives_another_secret() -> None:
    # implicit rejection: no error, a different K, so the host signature check fails
    pair = Sntrup761KeyPair()
    ciphertext, secret = sntrup761_encapsulate(pair.public_bytes())
    assert len(ciphertext) == SNTRUP761_CIPHERTEXT_SIZE and len(secret) == 32
    assert pair.decapsulate(ciphertext) == secret
    forged = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    assert pair.decapsulate(forged) != secret
    with pytest.raises(ValueError, match="ciphertext must be 1039 bytes"):
        pair.decapsulate(ciphertext[:-1])
    with pytest.raises(ValueError, match="public key must be 1158 bytes"):
        sntrup761_encapsulate(b"\0" * 10)


def test_sntrup_server_takes_any_public_key_bytes() -> None:
    # an sntrup761 public key has no invalid encoding: the server answers garbage of the
    # right length (the client that sent it just cannot use the result); no crash
    _, sign = _signer()
    for pk in (b"\0" * SNTRUP761_PUBLIC_KEY_SIZE, b"\xff" * SNTRUP761_PUBLIC_KEY_SIZE,
               os.urandom(SNTRUP761_PUBLIC_KEY_SIZE)):
        x25519_pub = Reader(ClientKex(KEX_METHODS[SNTRUP[0]], CTX).start(), 1).string()[-32:]
        server = ServerKex(KEX_METHODS[SNTRUP[0]], CTX, HOST_BLOB, sign)  # type: ignore[arg-type]
        (reply,), result = server.receive(Writer(Msg.KEXDH_INIT).string(pk + x25519_pub)
                                          .getvalue())
        assert result is not None and reply[0] == Msg.KEXDH_REPLY


@pytest.mark.parametrize("n", [0, 1])
def test_sntrup_known_answers(n: int) -> None:
    # the NTRU Prime submission's KAT vectors (draft-josefsson-ntruprime-streamlined)
    def unhex(kind: str) -> bytes:
        return bytes.fromhex((KAT_DIR / f"kat{n}_{kind}.hex").read_text().strip())
    pair = Sntrup761KeyPair.from_secret_bytes(unhex("sk"))
    assert pair.decapsulate(unhex("ct")) == unhex("ss")
