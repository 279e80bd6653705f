"""Key: formats, signatures and fingerprints, checked against ssh-keygen and paramiko."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import random
import shutil
import subprocess
from pathlib import Path

import paramiko
import pytest

from plait.conch.ssh.errors import KeyFormatError, PassphraseError
from plait.conch.ssh.keys import Key
from plait.conch.ssh.wire import Writer

KINDS = [("ed25519", None), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048)]
KIND_IDS = ["ed25519", "p256", "p384", "p521", "rsa2048"]
PASS = b"correct horse"


def ssh_keygen() -> str:
    path = shutil.which("ssh-keygen")
    if path is None:
        pytest.fail("ssh-keygen is not installed: run `make peers` (as root)")
    return path


def run_keygen(*args: str | Path) -> str:
    done = subprocess.run([ssh_keygen(), *map(str, args)], check=False, capture_output=True,
                          text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {name: Key.generate(kind, bits) for name, (kind, bits) in zip(KIND_IDS, KINDS,
                                                                         strict=True)}


# ------------------------------------------------------------------ basics


@pytest.mark.parametrize(("kind", "bits", "key_type"), [
    ("ed25519", None, "ssh-ed25519"), ("ecdsa", None, "ecdsa-sha2-nistp256"),
    ("ecdsa", 384, "ecdsa-sha2-nistp384"), ("ecdsa", 521, "ecdsa-sha2-nistp521"),
    ("rsa", 2048, "ssh-rsa"),
])
def test_generate_types_and_bits(kind: str, bits: int | None, key_type: str) -> None:
    key = Key.generate(kind, bits)
    assert key.key_type == key_type and key.is_private
    assert key.bits == (bits or 256)
    assert not key.public_key().is_private
    assert key.public_key() == key


@pytest.mark.parametrize(("kind", "bits"), [("rsa", 1024), ("rsa", 32768), ("ecdsa", 255),
                                            ("ed25519", 512), ("dsa", None)])
def test_generate_refuses_weak_or_unknown(kind: str, bits: int | None) -> None:
    with pytest.raises(KeyFormatError):
        Key.generate(kind, bits)


def test_rsa_default_is_3072() -> None:
    assert Key.generate("rsa").bits == 3072


@pytest.mark.parametrize("name", KIND_IDS)
def test_blob_and_line_round_trip(keys: dict[str, Key], name: str) -> None:
    key = keys[name]
    blob = key.public_blob()
    again = Key.from_public_blob(blob)
    assert again == key and again.public_blob() == blob and again.bits == key.bits
    line = key.public_line("me@host two words")
    parsed = Key.from_bytes(line)
    assert parsed == key and parsed.comment == "me@host two words"
    assert Key.from_bytes(key.to_rfc4716()) == key
    assert key.public_line("two\nlines\r\n") == key.public_line("two lines")


def test_signature_algorithms(keys: dict[str, Key]) -> None:
    assert keys["rsa2048"].signature_algorithms() == ["rsa-sha2-512", "rsa-sha2-256"]
    assert keys["ed25519"].signature_algorithms() == ["ssh-ed25519"]
    assert keys["p384"].signature_algorithms() == ["ecdsa-sha2-nistp384"]


@pytest.mark.parametrize("name", KIND_IDS)
def test_sign_verify(keys: dict[str, Key], name: str) -> None:
    key = keys[name]
    for alg in key.signature_algorithms():
        sig = key.sign(b"data", alg)
        assert sig.startswith(Writer().string(alg).getvalue())
        assert key.verify(sig, b"data") and key.public_key().verify(sig, b"data")
        assert not key.verify(sig, b"datA")
        assert not key.verify(sig[:-1], b"data")
        assert not key.verify(sig + b"\x00", b"data")
        other = Key.generate(*KINDS[KIND_IDS.index(name)])
        assert not other.verify(sig, b"data")


def test_verify_never_raises_on_garbage(keys: dict[str, Key]) -> None:
    for key in keys.values():
        for junk in (b"", b"\xff" * 3, b"\x00\x00\x00\x0bssh-ed25519\xff\xff\xff\xff",
                     Writer().string(key.key_type).string(b"").getvalue(),
                     Writer().string("ecdsa-sha2-nistp256").string(
                         Writer().mpint(-1).mpint(0).getvalue()).getvalue()):
            assert key.verify(junk, b"data") is False


def test_ssh_rsa_sha1_only_on_request(keys: dict[str, Key]) -> None:
    key = keys["rsa2048"]
    assert key.sign(b"x").startswith(Writer().string("rsa-sha2-512").getvalue())
    sig = key.sign(b"x", "ssh-rsa")
    assert not key.verify(sig, b"x")
    assert key.verify(sig, b"x", allow_sha1=True)
    with pytest.raises(ValueError, match="cannot sign"):
        keys["ed25519"].sign(b"x", "rsa-sha2-256")
    with pytest.raises(KeyFormatError, match="public key cannot sign"):
        key.public_key().sign(b"x")


def test_cross_algorithm_signature_refused(keys: dict[str, Key]) -> None:
    sig = keys["p256"].sign(b"x")
    assert not keys["p384"].verify(sig, b"x")
    # A signature claiming another algorithm than the key's type.
    raw = keys["ed25519"].sign(b"x")
    forged = Writer().string("ecdsa-sha2-nistp256").string(raw[19 + 4:]).getvalue()
    assert not keys["ed25519"].verify(forged, b"x")


@pytest.mark.parametrize("name", KIND_IDS)
def test_fingerprints(keys: dict[str, Key], name: str) -> None:
    key = keys[name]
    blob = key.public_blob()
    assert key.fingerprint() == "SHA256:" + base64.b64encode(
        hashlib.sha256(blob).digest()).decode().rstrip("=")
    md5 = key.fingerprint("md5")
    assert md5.startswith("MD5:") and md5[4:].replace(":", "") == hashlib.md5(blob).hexdigest()
    with pytest.raises(ValueError):
        key.fingerprint("sha1")


def test_repr_has_no_secret(keys: dict[str, Key]) -> None:
    text = repr(keys["ed25519"])
    assert "private" in text and "SHA256:" in text
    assert "BEGIN" not in text


# ------------------------------------------------------------------ our own files


@pytest.mark.parametrize("name", KIND_IDS)
@pytest.mark.parametrize("passphrase", [None, PASS])
def test_openssh_round_trip(keys: dict[str, Key], name: str, passphrase: bytes | None) -> None:
    key = keys[name]
    key.comment = "round trip"
    data = key.to_openssh(passphrase)
    assert data.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    back = Key.from_bytes(data, passphrase)
    assert back.is_private and back == key and back.comment == "round trip"
    assert key.verify(back.sign(b"m"), b"m")


@pytest.mark.parametrize("name", KIND_IDS)
@pytest.mark.parametrize("passphrase", [None, PASS])
def test_pkcs8_round_trip(keys: dict[str, Key], name: str, passphrase: bytes | None) -> None:
    data = keys[name].to_pkcs8_pem(passphrase)
    assert (b"ENCRYPTED" in data) == bool(passphrase)
    assert Key.from_bytes(data, passphrase) == keys[name]


def test_passphrase_errors(keys: dict[str, Key]) -> None:
    key = keys["ed25519"]
    for data in (key.to_openssh(PASS), key.to_pkcs8_pem(PASS)):
        with pytest.raises(PassphraseError, match="passphrase is needed"):
            Key.from_bytes(data)
        with pytest.raises(PassphraseError, match="wrong passphrase"):
            Key.from_bytes(data, b"wrong")
    assert Key.from_bytes(key.to_openssh(PASS), PASS.decode()) == key


def test_from_file(tmp_path: Path, keys: dict[str, Key]) -> None:
    path = tmp_path / "id"
    path.write_bytes(keys["p256"].to_openssh(PASS))
    assert Key.from_file(path, PASS) == keys["p256"]
    with pytest.raises(PassphraseError, match=str(path)):
        Key.from_file(path)
    with pytest.raises(KeyFormatError, match="No such file"):
        Key.from_file(tmp_path / "missing")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"\xff\xfe binary", "binary"),
    ("hello", "expected 'type base64"),
    ("ssh-dss AAAAB3NzaC1kc3M= x", "unsupported"),
    ("ssh-ed25519 !!!! x", "bad base64"),
    ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBRmY8bdqyB4P0nrBRwj/FNXNqXjWIRXQ/LkcyuH/qri",
     "says ssh-rsa but holds ssh-ed25519"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRmY8bdqyB4P0nrBRwj", "bad public key blob"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", "END line"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----", "magic"),
    ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "bad PEM"),
    ("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n", "END line"),
])
def test_bad_input_is_key_format_error(data: bytes | str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        Key.from_bytes(data)


def test_damaged_openssh_files(keys: dict[str, Key]) -> None:
    key = keys["ed25519"]
    text = key.to_openssh().decode()
    lines = text.splitlines()
    raw = bytearray(base64.b64decode("".join(lines[1:-1])))
    # Flip a check byte (unencrypted: "damaged", not a passphrase problem).
    offset = raw.index(key.public_blob()) + len(key.public_blob()) + 4
    raw[offset] ^= 1
    damaged = "\n".join([lines[0], base64.b64encode(bytes(raw)).decode(), lines[-1]])
    with pytest.raises(KeyFormatError, match="check bytes"):
        Key.from_bytes(damaged)
    truncated = "\n".join([lines[0], base64.b64encode(bytes(raw[:60])).decode(), lines[-1]])
    with pytest.raises(KeyFormatError, match="damaged OpenSSH private key"):
        Key.from_bytes(truncated)


def test_kdf_rounds_limit(keys: dict[str, Key]) -> None:
    lines = keys["ed25519"].to_openssh(PASS).decode().splitlines()
    raw = bytearray(base64.b64decode("".join(lines[1:-1])))
    # magic, string "aes256-ctr", string "bcrypt", string (string salt[16], uint32 rounds)
    offset = 15 + 4 + 10 + 4 + 6 + 4 + 4 + 16
    assert raw[offset:offset + 4] == (16).to_bytes(4, "big")
    raw[offset:offset + 4] = (2000).to_bytes(4, "big")   # ~30 s of bcrypt: refused unread
    data = "\n".join([lines[0], base64.b64encode(bytes(raw)).decode(), lines[-1]])
    with pytest.raises(KeyFormatError, match="2000 KDF rounds"):
        Key.from_bytes(data, PASS)
    assert Key.from_bytes(keys["ed25519"].to_openssh(PASS, rounds=4), PASS) == keys["ed25519"]


def test_rfc4716_headers_and_comment(keys: dict[str, Key]) -> None:
    key = keys["ed25519"]
    b64 = base64.b64encode(key.public_blob()).decode()
    text = ("---- BEGIN SSH2 PUBLIC KEY ----\n"
            'Comment: "a long comment \\\nthat continues"\n'
            "x-private: value\n"
            f"{b64[:30]}\n{b64[30:]}\n"
            "---- END SSH2 PUBLIC KEY ----\n")
    parsed = Key.from_bytes(text)
    assert parsed == key and parsed.comment == "a long comment that continues"


# ------------------------------------------------------------------ ssh-keygen


def _keygen_fingerprint(path: Path) -> str:
    return run_keygen("-l", "-E", "sha256", "-f", path).split()[1]


@pytest.mark.interop
@pytest.mark.parametrize(("kind", "bits"), [("ed25519", "256"), ("ecdsa", "256"),
                                            ("ecdsa", "384"), ("ecdsa", "521"),
                                            ("rsa", "2048")])
@pytest.mark.parametrize("fmt", ["default", "PEM", "PKCS8"])
@pytest.mark.parametrize("passphrase", ["", "secret phrase"])
def test_reads_ssh_keygen_keys(tmp_path: Path, kind: str, bits: str, fmt: str,
                               passphrase: str) -> None:
    path = tmp_path / "id"
    args: list[str | Path] = ["-q", "-t", kind, "-b", bits, "-N", passphrase, "-C", "from keygen",
                              "-f", path]
    if fmt != "default":
        args += ["-m", fmt]
    run_keygen(*args)
    key = Key.from_file(path, passphrase.encode() or None)
    assert key.is_private
    assert key.fingerprint() == _keygen_fingerprint(path)
    assert key.fingerprint("md5") == run_keygen("-l", "-E", "md5", "-f", path).split()[1]
    public = Key.from_file(path.with_suffix(".pub"))
    assert public == key and public.comment == "from keygen"
    if fmt == "default" or kind == "ed25519":   # ed25519 is always openssh-key-v1
        assert key.comment == "from keygen"
    assert public.verify(key.sign(b"payload"), b"payload")
    if passphrase:
        with pytest.raises(PassphraseError):
            Key.from_file(path, b"not it")


@pytest.mark.interop
def test_reads_aes256_gcm_openssh_key(tmp_path: Path) -> None:
    path = tmp_path / "id"
    run_keygen("-q", "-t", "ed25519", "-N", "gcm phrase", "-Z", "aes256-gcm@openssh.com",
               "-f", path)
    assert b"aes256-gcm" in base64.b64decode("".join(path.read_text().splitlines()[1:-1]))
    key = Key.from_file(path, b"gcm phrase")
    assert key.fingerprint() == _keygen_fingerprint(path)
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        Key.from_file(path, b"nope")


@pytest.mark.interop
def test_reads_rfc4716_from_ssh_keygen(tmp_path: Path, keys: dict[str, Key]) -> None:
    path = tmp_path / "id.pub"
    path.write_text(keys["rsa2048"].public_line("exported") + "\n")
    exported = run_keygen("-e", "-f", path)
    assert Key.from_bytes(exported) == keys["rsa2048"]
    imported = tmp_path / "ours.pub"
    imported.write_text(keys["p521"].to_rfc4716())
    line = run_keygen("-i", "-f", imported).strip()
    assert Key.from_bytes(line) == keys["p521"]


@pytest.mark.interop
@pytest.mark.parametrize("name", KIND_IDS)
@pytest.mark.parametrize("writer", ["openssh", "openssh-pass", "pkcs8", "pkcs8-pass"])
def test_ssh_keygen_reads_our_keys(tmp_path: Path, keys: dict[str, Key], name: str,
                                   writer: str) -> None:
    key = keys[name]
    if name == "ed25519" and writer.startswith("pkcs8"):
        pytest.skip("OpenSSH reads Ed25519 private keys only from openssh-key-v1 files")
    key.comment = "written by plait"
    path = tmp_path / "id"
    passphrase = PASS if writer.endswith("-pass") else None
    data = key.to_openssh(passphrase) if writer.startswith("openssh") else \
        key.to_pkcs8_pem(passphrase)
    path.write_bytes(data)
    path.chmod(0o600)
    out = run_keygen("-y", "-P", (passphrase or b"").decode(), "-f", path).strip()
    assert Key.from_bytes(out) == key
    if writer.startswith("openssh"):
        assert out.endswith(" written by plait")
    if writer != "pkcs8-pass":  # (its public half is encrypted too)
        assert _keygen_fingerprint(path) == key.fingerprint()
    pub = tmp_path / "line.pub"
    pub.write_text(key.public_line() + "\n")
    listed = run_keygen("-l", "-f", pub).split()
    assert listed[1] == key.fingerprint() and listed[0] == str(key.bits)


# ------------------------------------------------------------------ paramiko


def _paramiko_keys(key: Key) -> tuple[paramiko.PKey, paramiko.PKey]:
    """paramiko's private key (read from our openssh-key-v1 file) and public key."""
    cls = {"ssh-ed25519": paramiko.Ed25519Key, "ssh-rsa": paramiko.RSAKey}.get(
        key.key_type, paramiko.ECDSAKey)
    private = cls.from_private_key(io.StringIO(key.to_openssh().decode()))
    return private, cls(data=key.public_blob())


@pytest.mark.interop
@pytest.mark.parametrize("name", KIND_IDS)
def test_signatures_interoperate_with_paramiko(keys: dict[str, Key], name: str) -> None:
    key = keys[name]
    pkey, ppub = _paramiko_keys(key)
    assert pkey.asbytes() == ppub.asbytes() == key.public_blob()
    for alg in key.signature_algorithms():
        ours = key.sign(b"session data", alg)
        assert ppub.verify_ssh_sig(b"session data", paramiko.Message(ours))
        assert not ppub.verify_ssh_sig(b"other data", paramiko.Message(ours))
        kwargs = {"algorithm": alg} if key.key_type == "ssh-rsa" else {}
        theirs = pkey.sign_ssh_data(b"session data", **kwargs).asbytes()
        assert theirs.startswith(Writer().string(alg).getvalue())
        assert key.public_key().verify(theirs, b"session data")
        assert not key.verify(theirs, b"other data")


def test_public_only_reads_no_secret(keys: dict[str, Key]) -> None:
    key = keys["p256"]
    data = key.to_openssh(PASS)
    public = Key.from_bytes(data, public_only=True)
    assert public == key and not public.is_private
    unencrypted = Key.from_bytes(key.to_pkcs8_pem(), public_only=True)
    assert unencrypted == key and not unencrypted.is_private
    with pytest.raises(PassphraseError):   # an encrypted PEM hides its public key too
        Key.from_bytes(key.to_pkcs8_pem(PASS), public_only=True)


@pytest.mark.parametrize("name", KIND_IDS)
def test_mutated_files_and_blobs_raise_only_key_format_error(keys: dict[str, Key],
                                                             name: str) -> None:
    """Random damage to a key file, blob or signature: KeyFormatError or False, nothing
    else (a negative mpint once escaped as OverflowError)."""
    rng = random.Random(name)
    key = keys[name]
    lines = key.to_openssh().decode().splitlines()
    raw, blob, sig = base64.b64decode("".join(lines[1:-1])), key.public_blob(), key.sign(b"d")
    for _ in range(200):
        damaged = []
        for original in (raw, blob, sig):
            data = bytearray(original)
            for _ in range(rng.randint(1, 3)):
                pos = rng.randrange(len(data))
                if rng.random() < 0.7:
                    data[pos] ^= rng.randrange(1, 256)
                else:
                    del data[pos:pos + rng.randint(1, 9)]
            damaged.append(bytes(data))
        text = "\n".join([lines[0], base64.b64encode(damaged[0]).decode(), lines[-1]])
        with contextlib.suppress(KeyFormatError):
            Key.from_bytes(text)
        with contextlib.suppress(KeyFormatError):
            Key.from_public_blob(damaged[1])
        if damaged[2] != sig:   # (two flips of one byte can cancel out)
            assert key.verify(damaged[2], b"d") is False
