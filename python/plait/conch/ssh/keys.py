"""SSH keys: read, write, sign, verify and fingerprint Ed25519, ECDSA and RSA keys.

Why one :class:`Key` type for every algorithm: the transport, user auth, ckeygen and the
known_hosts/authorized_keys files all speak of "a key" by its SSH wire blob; the algorithm
only matters inside sign/verify.  The arithmetic is ``cryptography``'s; the openssh-key-v1
container is parsed here (``cryptography`` drops its comment and its error messages cannot
tell a wrong passphrase from a damaged file), with bcrypt-pbkdf from ``bcrypt``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

import bcrypt
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import KeyFormatError, PassphraseError, ProtocolError
from .wire import Reader, Writer

__all__ = ["KEY_TYPES", "SIGNATURE_ALGORITHMS", "Key"]

_CURVES: dict[str, tuple[type[ec.EllipticCurve], hashes.HashAlgorithm, int]] = {
    "nistp256": (ec.SECP256R1, hashes.SHA256(), 256),
    "nistp384": (ec.SECP384R1, hashes.SHA384(), 384),
    "nistp521": (ec.SECP521R1, hashes.SHA512(), 521),
}
_CURVE_BY_NAME = {"secp256r1": "nistp256", "secp384r1": "nistp384", "secp521r1": "nistp521"}
_CURVE_BY_BITS = {256: "nistp256", 384: "nistp384", 521: "nistp521"}

#: Signature algorithm -> (key type it needs, hash).  ssh-rsa (SHA-1) is verified only when
#: a caller passes ``allow_sha1=True`` and is never made by :meth:`Key.sign` unless asked.
SIGNATURE_ALGORITHMS: dict[str, tuple[str, hashes.HashAlgorithm | None]] = {
    "ssh-ed25519": ("ssh-ed25519", None),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256", hashes.SHA256()),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384", hashes.SHA384()),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521", hashes.SHA512()),
    "rsa-sha2-512": ("ssh-rsa", hashes.SHA512()),
    "rsa-sha2-256": ("ssh-rsa", hashes.SHA256()),
    "ssh-rsa": ("ssh-rsa", hashes.SHA1()),
}
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "ssh-rsa")

RSA_MIN_BITS = 1024            # smallest RSA key read (OpenSSH's own floor)
RSA_MIN_GENERATE_BITS = 2048   # smallest RSA key made
RSA_MAX_BITS = 16384
RSA_DEFAULT_BITS = 3072
BCRYPT_ROUNDS = 16             # as ssh-keygen writes
MAX_KDF_ROUNDS = 1024          # refuse files that would make us spin for minutes
MAX_KEY_FILE = 1 << 20

_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_OPENSSH_END = "-----END OPENSSH PRIVATE KEY-----"
_RFC4716_BEGIN = "---- BEGIN SSH2 PUBLIC KEY ----"
_RFC4716_END = "---- END SSH2 PUBLIC KEY ----"

# cipher name -> (key length, iv length, block size, tag length)
_FILE_CIPHERS = {
    "none": (0, 0, 8, 0),
    "aes256-ctr": (32, 16, 16, 0),
    "aes256-gcm@openssh.com": (32, 12, 16, 16),
}

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _fail(message: str) -> KeyFormatError:
    return KeyFormatError(message)


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{what}: bad base64") from None


class Key:
    """A public key, or a private key with its public half.  Compares by public blob."""

    __slots__ = ("_private", "_public", "comment", "key_type")

    def __init__(self, key: PrivateKey | PublicKey, comment: str = "") -> None:
        if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
                      | rsa.RSAPrivateKey):
            self._private: PrivateKey | None = key
            self._public: PublicKey = key.public_key()
        elif isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
                        | rsa.RSAPublicKey):
            self._private = None
            self._public = key
        else:
            raise KeyFormatError(f"unsupported key type {type(key).__name__}")
        pub = self._public
        if isinstance(pub, ed25519.Ed25519PublicKey):
            self.key_type = "ssh-ed25519"
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            curve = _CURVE_BY_NAME.get(pub.curve.name)
            if curve is None:
                raise KeyFormatError(f"unsupported elliptic curve {pub.curve.name}")
            self.key_type = f"ecdsa-sha2-{curve}"
        else:
            if not RSA_MIN_BITS <= pub.key_size <= RSA_MAX_BITS:
                raise KeyFormatError(f"RSA key of {pub.key_size} bits (allowed "
                                     f"{RSA_MIN_BITS}..{RSA_MAX_BITS})")
            self.key_type = "ssh-rsa"
        self.comment = comment

    # ------------------------------------------------------------------ making keys

    @classmethod
    def generate(cls, kind: str = "ed25519", bits: int | None = None) -> Key:
        """A new private key: ``ed25519``, ``ecdsa`` (bits 256/384/521) or ``rsa`` (bits >= 2048)."""
        kind = kind.lower()
        if kind in ("ed25519", "ssh-ed25519"):
            if bits not in (None, 256):
                raise KeyFormatError("Ed25519 keys have 256 bits")
            return cls(ed25519.Ed25519PrivateKey.generate())
        if kind in ("ecdsa",) or kind.startswith("ecdsa-sha2-"):
            if kind.startswith("ecdsa-sha2-"):
                bits = _CURVES.get(kind[len("ecdsa-sha2-"):], (None, None, bits))[2]
            curve = _CURVE_BY_BITS.get(bits or 256)
            if curve is None:
                raise KeyFormatError("ECDSA keys have 256, 384 or 521 bits")
            return cls(ec.generate_private_key(_CURVES[curve][0]()))
        if kind in ("rsa", "ssh-rsa"):
            bits = bits or RSA_DEFAULT_BITS
            if not RSA_MIN_GENERATE_BITS <= bits <= RSA_MAX_BITS:
                raise KeyFormatError(f"RSA keys have {RSA_MIN_GENERATE_BITS} to "
                                     f"{RSA_MAX_BITS} bits")
            return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits))
        raise KeyFormatError(f"unknown key type {kind!r} (ed25519, ecdsa or rsa)")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], passphrase: bytes | str | None = None, *,
                  public_only: bool = False) -> Key:
        """Read a key file in any format :meth:`from_bytes` knows."""
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > MAX_KEY_FILE:
                raise KeyFormatError(f"{p}: {size} bytes is too large for a key file")
            data = p.read_bytes()
        except OSError as exc:
            raise KeyFormatError(f"{p}: {exc.strerror or exc}") from None
        try:
            return cls.from_bytes(data, passphrase, public_only=public_only)
        except PassphraseError as exc:
            raise PassphraseError(f"{p}: {exc}") from None
        except KeyFormatError as exc:
            raise KeyFormatError(f"{p}: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes | str, passphrase: bytes | str | None = None, *,
                   public_only: bool = False) -> Key:
        """Parse openssh-key-v1, PEM (PKCS#1/SEC1/PKCS#8, maybe encrypted), an OpenSSH
        public key line, or an RFC 4716 public key.  ``public_only`` returns the public half
        of a private key, without a passphrase where the format allows (openssh-key-v1
        keeps the public key in clear)."""
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise _fail("not a key: binary data (expected a text key file)") from None
        else:
            text = data
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        text = text.strip()
        if not text:
            raise _fail("empty key data")
        if text.startswith(_OPENSSH_BEGIN):
            return cls._from_openssh(text, passphrase, public_only)
        if text.startswith(_RFC4716_BEGIN):
            return cls._from_rfc4716(text)
        if text.startswith("-----BEGIN "):
            key = cls._from_pem(text, passphrase)
            return key.public_key() if public_only else key
        return cls._from_public_line(text)

    @classmethod
    def from_public_blob(cls, blob: bytes) -> Key:
        """A public key from its SSH wire encoding (RFC 4253 §6.6, RFC 5656 §3.1)."""
        try:
            r = Reader(blob)
            key = cls._read_public(r)
            r.end()
        except ProtocolError as exc:
            raise _fail(f"bad public key blob: {exc.description}") from None
        return key

    @classmethod
    def _read_public(cls, r: Reader) -> Key:
        """Read the public fields of a blob (type name first)."""
        key_type = r.string(64).decode("ascii", "replace")
        try:
            if key_type == "ssh-ed25519":
                raw = r.string(64)
                if len(raw) != 32:
                    raise _fail("Ed25519 public key is not 32 bytes")
                return cls(ed25519.Ed25519PublicKey.from_public_bytes(raw))
            if key_type.startswith("ecdsa-sha2-") and key_type[11:] in _CURVES:
                curve = key_type[11:]
                if r.string(64) != curve.encode():
                    raise _fail(f"{key_type} key names another curve")
                point = r.string(200)
                return cls(ec.EllipticCurvePublicKey.from_encoded_point(
                    _CURVES[curve][0](), point))
            if key_type == "ssh-rsa":
                e = r.mpint()
                n = r.mpint()
                if e < 3 or e % 2 == 0 or n <= 0:
                    raise _fail("RSA public key has a bad exponent or modulus")
                return cls(rsa.RSAPublicNumbers(e, n).public_key())
        except (ValueError, OverflowError, UnsupportedAlgorithm) as exc:
            if isinstance(exc, KeyFormatError):
                raise
            raise _fail(f"bad {key_type} public key: {exc}") from None
        raise _fail(f"unsupported key type {key_type!r}")

    @classmethod
    def _from_public_line(cls, text: str) -> Key:
        """``type base64 [comment]`` (one line; leading options are the caller's business)."""
        line = text.splitlines()[0].strip()
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise _fail("not a key: expected 'type base64 [comment]', a PEM or an "
                        "OpenSSH private key")
        if parts[0] not in KEY_TYPES:
            raise _fail(f"unsupported or unknown key type {parts[0][:40]!r}")
        blob = _b64decode(parts[1], f"{parts[0]} public key")
        key = cls.from_public_blob(blob)
        if key.key_type != parts[0]:
            raise _fail(f"public key line says {parts[0]} but holds {key.key_type}")
        key.comment = parts[2].strip() if len(parts) > 2 else ""
        return key

    @classmethod
    def _from_rfc4716(cls, text: str) -> Key:
        lines = [line.strip() for line in text.splitlines()]
        try:
            end = lines.index(_RFC4716_END)
        except ValueError:
            raise _fail("RFC 4716 public key without its END line") from None
        body: list[str] = []
        comment, continued = "", False
        header: list[str] = []
        for line in lines[1:end]:
            if continued or (":" in line and not body):
                header.append(line.rstrip("\\"))
                continued = line.endswith("\\")
                if not continued:
                    name, _, value = "".join(header).partition(":")
                    header = []
                    if name.strip().lower() == "comment":
                        value = value.strip()
                        if len(value) >= 2 and value[0] == value[-1] == '"':
                            value = value[1:-1]
                        comment = value
                continue
            body.append(line)
        key = cls.from_public_blob(_b64decode("".join(body), "RFC 4716 public key"))
        key.comment = comment
        return key

    @classmethod
    def _from_pem(cls, text: str, passphrase: bytes | None) -> Key:
        data = text.encode("ascii", "replace")
        label = text.splitlines()[0]
        if "PUBLIC KEY" in label:
            try:
                return cls(serialization.load_pem_public_key(data))  # type: ignore[arg-type]
            except (ValueError, UnsupportedAlgorithm) as exc:
                raise _fail(f"bad PEM public key: {exc}") from None
        encrypted = "ENCRYPTED" in text[:200]
        if encrypted and not passphrase:
            raise PassphraseError("the key is encrypted: a passphrase is needed")
        try:
            key = serialization.load_pem_private_key(data, passphrase if encrypted else None)
        except TypeError:
            raise PassphraseError("the key is encrypted: a passphrase is needed") from None
        except (ValueError, UnsupportedAlgorithm) as exc:
            if encrypted and ("password" in str(exc).lower() or "decrypt" in str(exc).lower()):
                raise PassphraseError("wrong passphrase") from None
            raise _fail(f"bad PEM private key: {str(exc).splitlines()[0]}") from None
        return cls(key)  # type: ignore[arg-type]

    @classmethod
    def _from_openssh(cls, text: str, passphrase: bytes | None, public_only: bool) -> Key:
        if _OPENSSH_END not in text:
            raise _fail("OpenSSH private key without its END line")
        body = text[len(_OPENSSH_BEGIN):text.index(_OPENSSH_END)]
        raw = _b64decode("".join(body.split()), "OpenSSH private key")
        if not raw.startswith(_OPENSSH_MAGIC):
            raise _fail("OpenSSH private key without the openssh-key-v1 magic")
        try:
            return cls._parse_openssh(Reader(raw, len(_OPENSSH_MAGIC)), passphrase,
                                      public_only)
        except ProtocolError as exc:
            raise _fail(f"damaged OpenSSH private key: {exc.description}") from None

    @classmethod
    def _parse_openssh(cls, r: Reader, passphrase: bytes | None, public_only: bool) -> Key:
        cipher = r.text(64)
        kdf = r.text(64)
        kdf_options = r.string(1024)
        if r.uint32() != 1:
            raise _fail("OpenSSH private key file holds more than one key")
        public_blob = r.string(16384)
        secret = r.string()
        if public_only:
            return cls.from_public_blob(public_blob)
        if cipher not in _FILE_CIPHERS:
            raise _fail(f"OpenSSH private key encrypted with unsupported cipher {cipher!r}")
        key_len, iv_len, block, tag_len = _FILE_CIPHERS[cipher]
        tag = r.rest()
        if len(tag) != tag_len:
            raise _fail("OpenSSH private key has trailing bytes or a missing tag")
        if cipher != "none":
            if kdf != "bcrypt":
                raise _fail(f"OpenSSH private key uses unsupported KDF {kdf!r}")
            if not passphrase:
                raise PassphraseError("the key is encrypted: a passphrase is needed")
            opts = Reader(kdf_options)
            salt = opts.string(1024)
            rounds = opts.uint32()
            opts.end()
            if not 1 <= rounds <= MAX_KDF_ROUNDS:
                raise _fail(f"OpenSSH private key asks for {rounds} KDF rounds "
                            f"(limit {MAX_KDF_ROUNDS})")
            if len(secret) % block:
                raise _fail("OpenSSH private key: encrypted part is not whole blocks")
            derived = bcrypt.kdf(passphrase, salt, key_len + iv_len, rounds,
                                 ignore_few_rounds=True)
            k, iv = derived[:key_len], derived[key_len:]
            if tag_len:
                try:
                    secret = AESGCM(k).decrypt(iv, secret + tag, None)
                except InvalidTag:
                    raise PassphraseError("wrong passphrase") from None
            else:
                dec = Cipher(algorithms.AES(k), modes.CTR(iv)).decryptor()
                secret = dec.update(secret) + dec.finalize()
        elif kdf != "none":
            raise _fail(f"unencrypted OpenSSH private key names KDF {kdf!r}")
        s = Reader(secret)
        check1, check2 = s.uint32(), s.uint32()
        if check1 != check2:
            if cipher != "none":
                raise PassphraseError("wrong passphrase")
            raise _fail("damaged OpenSSH private key: check bytes differ")
        key = cls._read_private(s)
        key.comment = s.text(65536)
        pad = s.rest()
        if pad != bytes(range(1, len(pad) + 1)) or len(pad) >= max(block, 8):
            raise _fail("damaged OpenSSH private key: bad padding")
        if key.public_blob() != public_blob:
            raise _fail("OpenSSH private key: public and private parts differ")
        return key

    @classmethod
    def _read_private(cls, r: Reader) -> Key:
        key_type = r.text(64)
        try:
            if key_type == "ssh-ed25519":
                pub, priv = r.string(64), r.string(128)
                if len(pub) != 32 or len(priv) != 64 or priv[32:] != pub:
                    raise _fail("damaged Ed25519 private key")
                return cls(ed25519.Ed25519PrivateKey.from_private_bytes(priv[:32]))
            if key_type.startswith("ecdsa-sha2-") and key_type[11:] in _CURVES:
                curve = key_type[11:]
                if r.string(64) != curve.encode():
                    raise _fail(f"{key_type} key names another curve")
                point = r.string(200)
                d = r.mpint()
                pub_key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[curve][0](), point)
                return cls(ec.EllipticCurvePrivateNumbers(d, pub_key.public_numbers())
                           .private_key())
            if key_type == "ssh-rsa":
                n, e, d, iqmp, p, q = (r.mpint() for _ in range(6))
                if p * q != n:
                    raise _fail("damaged RSA private key: p*q != n")
                numbers = rsa.RSAPrivateNumbers(
                    p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), iqmp,
                    rsa.RSAPublicNumbers(e, n))
                return cls(numbers.private_key())
        except (ValueError, OverflowError, UnsupportedAlgorithm) as exc:
            if isinstance(exc, KeyFormatError):
                raise
            raise _fail(f"bad {key_type} private key: {exc}") from None
        raise _fail(f"unsupported private key type {key_type!r}")

    # ------------------------------------------------------------------ properties

    @property
    def is_private(self) -> bool:
        return self._private is not None

    @property
    def bits(self) -> int:
        pub = self._public
        if isinstance(pub, ed25519.Ed25519PublicKey):
            return 256
        if isinstance(pub, ec.EllipticCurvePublicKey):
            return pub.curve.key_size
        return pub.key_size

    @property
    def crypto_key(self) -> PrivateKey | PublicKey:
        """The ``cryptography`` key object (private if there is one)."""
        return self._private if self._private is not None else self._public

    def public_key(self) -> Key:
        return Key(self._public, self.comment)

    def public_blob(self) -> bytes:
        pub = self._public
        w = Writer().string(self.key_type)
        if isinstance(pub, ed25519.Ed25519PublicKey):
            w.string(pub.public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw))
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            w.string(self.key_type[11:]).string(pub.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        else:
            numbers = pub.public_numbers()
            w.mpint(numbers.e).mpint(numbers.n)
        return w.getvalue()

    def public_line(self, comment: str | None = None) -> str:
        """``type base64 [comment]``, as in ``id_ed25519.pub`` (no newline)."""
        comment = self.comment if comment is None else comment
        comment = " ".join(comment.split())   # a line break would end the line early
        line = f"{self.key_type} {base64.b64encode(self.public_blob()).decode()}"
        return f"{line} {comment}" if comment else line

    def fingerprint(self, hash: str = "sha256") -> str:
        """``SHA256:<base64, no padding>`` or ``MD5:aa:bb:...``, as ssh-keygen -l prints."""
        blob = self.public_blob()
        if hash.lower() in ("sha256", "sha256-base64"):
            digest = hashlib.sha256(blob).digest()
            return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
        if hash.lower() in ("md5", "md5-hex"):
            digest = hashlib.md5(blob, usedforsecurity=False).digest()
            return "MD5:" + ":".join(f"{b:02x}" for b in digest)
        raise ValueError(f"unknown fingerprint hash {hash!r} (sha256 or md5)")

    def signature_algorithms(self) -> list[str]:
        """The algorithms this key signs with, best first (never SHA-1)."""
        if self.key_type == "ssh-rsa":
            return ["rsa-sha2-512", "rsa-sha2-256"]
        return [self.key_type]

    # ------------------------------------------------------------------ signatures

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        """An SSH signature blob (``string algorithm, string signature``) over ``data``.

        ``ssh-rsa`` (SHA-1) is made only when asked for by name."""
        if self._private is None:
            raise KeyFormatError("a public key cannot sign")
        algorithm = algorithm or self.signature_algorithms()[0]
        spec = SIGNATURE_ALGORITHMS.get(algorithm)
        if spec is None or spec[0] != self.key_type:
            raise ValueError(f"a {self.key_type} key cannot sign with {algorithm!r}")
        priv, digest = self._private, spec[1]
        if isinstance(priv, ed25519.Ed25519PrivateKey):
            raw = priv.sign(data)
        elif isinstance(priv, ec.EllipticCurvePrivateKey):
            assert digest is not None
            r, s = decode_dss_signature(priv.sign(data, ec.ECDSA(digest)))
            raw = Writer().mpint(r).mpint(s).getvalue()
        else:
            assert digest is not None
            raw = priv.sign(data, padding.PKCS1v15(), digest)
        return Writer().string(algorithm).string(raw).getvalue()

    def verify(self, signature: bytes, data: bytes, *, allow_sha1: bool = False) -> bool:
        """True if ``signature`` (an SSH signature blob) signs ``data`` with this key.

        False on any mismatch or malformed input; ``ssh-rsa`` only with ``allow_sha1``."""
        try:
            r = Reader(signature)
            algorithm = r.text(64)
            raw = r.string(4096)
            r.end()
            spec = SIGNATURE_ALGORITHMS.get(algorithm)
            if spec is None or spec[0] != self.key_type:
                return False
            if algorithm == "ssh-rsa" and not allow_sha1:
                return False
            pub, digest = self._public, spec[1]
            if isinstance(pub, ed25519.Ed25519PublicKey):
                pub.verify(raw, data)
            elif isinstance(pub, ec.EllipticCurvePublicKey):
                assert digest is not None
                sr = Reader(raw)
                rr, ss = sr.mpint(), sr.mpint()
                sr.end()
                if rr <= 0 or ss <= 0:
                    return False
                pub.verify(encode_dss_signature(rr, ss), data, ec.ECDSA(digest))
            else:
                assert digest is not None
                size = (pub.key_size + 7) // 8
                if len(raw) > size:
                    return False
                pub.verify(raw.rjust(size, b"\x00"), data, padding.PKCS1v15(), digest)
        except (InvalidSignature, ProtocolError, ValueError, TypeError, UnsupportedAlgorithm):
            return False
        return True

    # ------------------------------------------------------------------ writing

    def _private_fields(self) -> bytes:
        priv = self._private
        w = Writer().string(self.key_type)
        if isinstance(priv, ed25519.Ed25519PrivateKey):
            seed = priv.private_bytes(serialization.Encoding.Raw,
                                      serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
            pub = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
            w.string(pub).string(seed + pub)
        elif isinstance(priv, ec.EllipticCurvePrivateKey):
            point = priv.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            w.string(self.key_type[11:]).string(point).mpint(priv.private_numbers().private_value)
        elif isinstance(priv, rsa.RSAPrivateKey):
            n = priv.private_numbers()
            pn = n.public_numbers
            w.mpint(pn.n).mpint(pn.e).mpint(n.d).mpint(n.iqmp).mpint(n.p).mpint(n.q)
        else:
            raise KeyFormatError("only a private key can be written as one")
        return w.getvalue()

    def to_openssh(self, passphrase: bytes | str | None = None, *,
                   rounds: int = BCRYPT_ROUNDS) -> bytes:
        """The private key as openssh-key-v1 PEM text, with the comment; a passphrase
        encrypts it with bcrypt-pbkdf (``rounds``) and aes256-ctr, as ssh-keygen does."""
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        fields = self._private_fields()
        check = os.urandom(4)
        cipher = "aes256-ctr" if passphrase else "none"
        key_len, iv_len, block, _ = _FILE_CIPHERS[cipher]
        secret = check + check + fields + Writer().string(self.comment).getvalue()
        secret += bytes(range(1, 1 + (-len(secret) % block)))
        if passphrase:
            salt = os.urandom(16)
            derived = bcrypt.kdf(passphrase, salt, key_len + iv_len, rounds,
                                 ignore_few_rounds=True)
            enc = Cipher(algorithms.AES(derived[:key_len]), modes.CTR(derived[key_len:])).encryptor()
            secret = enc.update(secret) + enc.finalize()
            kdf, kdf_options = "bcrypt", Writer().string(salt).uint32(rounds).getvalue()
        else:
            kdf, kdf_options = "none", b""
        raw = _OPENSSH_MAGIC + (Writer().string(cipher).string(kdf).string(kdf_options)
                                .uint32(1).string(self.public_blob()).string(secret).getvalue())
        b64 = base64.b64encode(raw).decode()
        lines = [b64[i:i + 70] for i in range(0, len(b64), 70)]
        return "\n".join([_OPENSSH_BEGIN, *lines, _OPENSSH_END, ""]).encode()

    def to_pkcs8_pem(self, passphrase: bytes | str | None = None) -> bytes:
        """The private key as PKCS#8 PEM (encrypted with the best available scheme)."""
        if self._private is None:
            raise KeyFormatError("only a private key can be written as one")
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase
            else serialization.NoEncryption())
        return self._private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8, enc)

    def to_rfc4716(self) -> str:
        """The public key as RFC 4716 text (``ssh-keygen -e``)."""
        b64 = base64.b64encode(self.public_blob()).decode()
        lines = [_RFC4716_BEGIN]
        if self.comment:
            lines.append(f'Comment: "{self.comment}"')
        lines += [b64[i:i + 70] for i in range(0, len(b64), 70)]
        lines.append(_RFC4716_END)
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ identity

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return hmac.compare_digest(self.public_blob(), other.public_blob())

    def __hash__(self) -> int:
        return hash(self.public_blob())

    def __repr__(self) -> str:
        kind = "private" if self.is_private else "public"
        return f"<Key {self.key_type} {self.bits} bits {kind} {self.fingerprint()}>"

