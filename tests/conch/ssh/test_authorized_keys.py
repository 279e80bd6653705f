"""authorized_keys: options as sshd reads them, and the checker behind a cred Portal."""
from __future__ import annotations

import datetime as dt
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.conch.ssh.authorized_keys import (
    AuthorizedKeysChecker,
    KeyOptions,
    SSHPublicKeyFrom,
    parse_authorized_keys,
    parse_line,
    parse_options,
)
from plait.conch.ssh.errors import KeyFormatError
from plait.conch.ssh.keys import Key
from plait.core.cred import Portal, SSHPublicKey, UnauthorizedLogin, ValidPublicKey


@pytest.fixture(scope="module")
def ed() -> Key:
    return Key.generate("ed25519")


@pytest.fixture(scope="module")
def rsa() -> Key:
    return Key.generate("rsa", 2048)


def test_plain_line(ed: Key) -> None:
    entry = parse_line(ed.public_line("me@laptop"), 3)
    assert entry is not None and entry.key == ed and entry.key.comment == "me@laptop"
    assert entry.options == KeyOptions() and entry.line_number == 3
    assert parse_line("   ") is None and parse_line("# comment") is None


def test_every_option(ed: Key) -> None:
    line = ('restrict,pty,command="echo \\"hi\\" there",from="10.0.0.0/8,!10.9.9.9,*.corp",'
            'permitopen="db:5432",permitopen="[::1]:*",permitlisten="8080",'
            'permitlisten="localhost:9000",environment="LANG=C.UTF-8",environment="X=a b",'
            'expiry-time="20300101Z",principals="alice,bob",tunnel="3",no-touch-required '
            + ed.public_line("c"))
    entry = parse_line(line)
    assert entry is not None
    o = entry.options
    assert o.command == 'echo "hi" there'
    assert o.from_patterns == ("10.0.0.0/8", "!10.9.9.9", "*.corp")
    assert o.permit_open == (("db", 5432), ("::1", None))
    assert o.permit_listen == (("*", 8080), ("localhost", 9000))
    assert o.environment == (("LANG", "C.UTF-8"), ("X", "a b"))
    assert o.expiry_time == dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    assert o.principals == ("alice", "bob") and o.tunnel == 3
    assert (o.pty, o.port_forwarding, o.agent_forwarding, o.x11_forwarding, o.user_rc) == \
        (True, False, False, False, False)
    assert entry.key.comment == "c"


def test_flags_in_order() -> None:
    assert parse_options("no-pty,no-port-forwarding,no-agent-forwarding,"
                         "no-X11-forwarding,no-user-rc") == KeyOptions(
        pty=False, port_forwarding=False, agent_forwarding=False, x11_forwarding=False,
        user_rc=False)
    assert not parse_options("pty,restrict").pty           # restrict after pty wins
    assert parse_options("restrict,port-forwarding").port_forwarding
    assert parse_options("NO-PTY").pty is False              # names fold case
    assert parse_options("cert-authority").cert_authority


@pytest.mark.parametrize(("options", "message"), [
    ("bogus", "unknown option"), ('bogus="x"', "unknown option"),
    ("command=echo", "quoted value"), ('command="a",command="b"', "given twice"),
    ('from="a",from="b"', "given twice"), ('command="unterminated', "unterminated quote"),
    ('permitopen="nohost"', "host:port"), ('permitopen="h:0"', "bad port"),
    ('permitopen="h:99999"', "bad port"), ('environment="1BAD=x"', "NAME=value"),
    ('expiry-time="2030"', "YYYYMMDD"), ('expiry-time="20301340"', "not a date"),
    ('expiry-time="00010101"', "not a date"),
    ('tunnel="x"', "number"), ("no-pty,,", "empty option"),
])
def test_bad_options(options: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        parse_options(options)


def test_expiry_forms() -> None:
    local = dt.datetime(2031, 2, 3, 4, 5, 6).timestamp()
    assert parse_options('expiry-time="20310203040506"').expiry_time == local
    assert parse_options('expiry-time="203102030405"').expiry_time == local - 6
    o = parse_options('expiry-time="20310203Z"')
    assert o.expired(o.expiry_time or 0) and not o.expired((o.expiry_time or 0) - 1)
    assert not KeyOptions().expired(1e12)


def test_from_patterns() -> None:
    o = parse_options('from="10.0.0.0/8,!10.9.9.9,*.corp,192.168.1.?"')
    assert o.allows_from("10.1.2.3") and o.allows_from("192.168.1.7")
    assert not o.allows_from("10.9.9.9")
    assert not o.allows_from("172.16.0.1")
    assert o.allows_from("172.16.0.1", "host.corp")
    assert not o.allows_from("10.9.9.9", "host.corp")        # a negated address vetoes
    assert not o.allows_from(None)                           # no address: refused
    assert KeyOptions().allows_from(None)


def test_permit_open_and_listen() -> None:
    o = parse_options('permitopen="db:5432",permitopen="web:*",permitlisten="8080"')
    assert o.allows_open("db", 5432) and o.allows_open("DB", 5432)
    assert not o.allows_open("db", 5433) and o.allows_open("web", 1)
    assert not o.allows_open("other", 5432)
    assert o.allows_listen("0.0.0.0", 8080) and not o.allows_listen("", 8081)
    assert KeyOptions().allows_open("any", 1)
    assert not parse_options("no-port-forwarding").allows_open("any", 1)
    assert not parse_options('restrict,permitopen="db:1"').allows_open("db", 1)


def test_file_with_bad_lines(ed: Key, rsa: Key, caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join([
        "# keys", "",
        ed.public_line(),
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4Ed dsa@old",
        "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t x",
        'bogus-option ' + rsa.public_line(),
        'no-pty ' + rsa.public_line(),
        "ssh-ed25519 !!!notbase64",
    ])
    with caplog.at_level(logging.WARNING):
        entries = parse_authorized_keys(text, "ak")
    assert [(e.line_number, e.key) for e in entries] == [(3, ed), (7, rsa)]
    assert "ak:4: ignored: unsupported key type 'ssh-dss'" in caplog.text
    assert "ak:6: ignored: unknown option 'bogus-option'" in caplog.text
    assert {r.getMessage().split(":")[1] for r in caplog.records} == {"4", "5", "6", "8"}


# ------------------------------------------------------------------ the checker


class Realm:
    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        return interfaces[0], f"avatar of {avatar_id}", lambda: None


SIGNED = b"session id and request"


def credentials(key: Key, username: str = "alice", *, signed: bool = True,
                algorithm: str | None = None, data: bytes = SIGNED,
                address: str | None = None) -> SSHPublicKey:
    algorithm = algorithm or key.signature_algorithms()[0]
    signature = key.sign(data, algorithm) if signed else None
    cls = SSHPublicKeyFrom if address else SSHPublicKey
    extra = {"client_address": address} if address else {}
    return cls(username, algorithm.encode(), key.public_blob(),
               SIGNED if signed else None, signature, **extra)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "alice").mkdir()
    return tmp_path


def checker_for(home: Path, **kwargs: Any) -> AuthorizedKeysChecker:
    def path_for_user(username: str) -> Path:
        if username not in ("alice", "bob"):
            raise KeyError(username)
        return home / username / "authorized_keys"
    return AuthorizedKeysChecker(path_for_user, **kwargs)


def write(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / "alice" / "authorized_keys"
    path.write_text(text)
    path.chmod(mode)
    return path


async def test_query_then_signed_login(home: Path, ed: Key, rsa: Key) -> None:
    write(home, f"{ed.public_line()}\nno-pty {rsa.public_line()}\n")
    checker = checker_for(home)
    portal = Portal(Realm(), [checker])
    for key in (ed, rsa):
        with pytest.raises(ValidPublicKey):
            await portal.login(credentials(key, signed=False), None, "shell")
        iface, avatar, _ = await portal.login(credentials(key), None, "shell")
        assert (iface, avatar) == ("shell", "avatar of alice")
    await portal.login(credentials(rsa, algorithm="rsa-sha2-256"), None, "shell")
    options = checker.options_for("alice", rsa.public_blob())
    assert options is not None and not options.pty
    assert checker.options_for("alice", Key.generate().public_blob()) is None


async def test_refusals(home: Path, ed: Key, rsa: Key) -> None:
    write(home, f"{ed.public_line()}\n{rsa.public_line()}\n")
    checker = checker_for(home)
    other = Key.generate()
    with pytest.raises(UnauthorizedLogin, match="bad signature"):
        await checker.request_avatar_id(credentials(ed, data=b"something else"))
    with pytest.raises(UnauthorizedLogin) as info:
        await checker.request_avatar_id(credentials(other, signed=False))
    assert not isinstance(info.value, ValidPublicKey)
    for username in ("bob", "mallory"):   # no file / unknown user
        with pytest.raises(UnauthorizedLogin) as info:
            await checker.request_avatar_id(credentials(ed, username, signed=False))
        assert not isinstance(info.value, ValidPublicKey)
    with pytest.raises(UnauthorizedLogin, match="unsupported algorithm"):   # no SHA-1
        await checker.request_avatar_id(credentials(rsa, algorithm="ssh-rsa"))
    with pytest.raises(UnauthorizedLogin, match="unsupported algorithm"):   # alg != key type
        await checker.request_avatar_id(SSHPublicKey("alice", b"ecdsa-sha2-nistp256",
                                                     ed.public_blob()))


async def test_unsafe_file_refused(home: Path, ed: Key) -> None:
    write(home, ed.public_line() + "\n", mode=0o666)
    with pytest.raises(UnauthorizedLogin):
        await checker_for(home).request_avatar_id(credentials(ed, signed=False))
    with pytest.raises(ValidPublicKey):
        await checker_for(home, strict_modes=False).request_avatar_id(
            credentials(ed, signed=False))


async def test_cert_authority_and_expiry(home: Path, ed: Key, rsa: Key,
                                         caplog: pytest.LogCaptureFixture) -> None:
    write(home, f'cert-authority,principals="alice" {ed.public_line()}\n'
                f'expiry-time="20300101Z" {rsa.public_line()}\n')
    expiry = dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    now = [expiry - 10]
    checker = checker_for(home, clock=lambda: now[0])
    with caplog.at_level(logging.INFO), pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(credentials(ed))
    assert "certificates are not supported" in caplog.text
    assert await checker.request_avatar_id(credentials(rsa)) == "alice"
    now[0] = expiry
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(credentials(rsa))


async def test_from_needs_the_address(home: Path, ed: Key) -> None:
    write(home, f'from="127.0.0.1,::1" {ed.public_line()}\n')
    checker = checker_for(home)
    portal = Portal(Realm(), [checker])
    with pytest.raises(UnauthorizedLogin):
        await portal.login(credentials(ed), None, "shell")           # no address: refused
    with pytest.raises(UnauthorizedLogin):
        await portal.login(credentials(ed, address="10.0.0.1"), None, "shell")
    _, avatar, _ = await portal.login(credentials(ed, address="127.0.0.1"), None, "shell")
    assert avatar == "avatar of alice"
    with pytest.raises(ValidPublicKey):
        await portal.login(credentials(ed, signed=False, address="::1"), None, "shell")


async def test_duplicate_key_first_usable_line_wins(home: Path, ed: Key) -> None:
    write(home, f'from="10.0.0.0/8" {ed.public_line()}\nno-pty {ed.public_line()}\n')
    checker = checker_for(home)
    assert checker.options_for("alice", ed.public_blob(), "10.1.1.1") == \
        parse_options('from="10.0.0.0/8"')
    options = checker.options_for("alice", ed.public_blob(), "192.168.0.1")
    assert options is not None and not options.pty


# ------------------------------------------------------------------ the same file, sshd's verdict


@pytest.fixture(scope="module")
def sshd() -> Iterator[Any]:
    from conch.peers import SSHD
    with SSHD(host_keys=("ed25519",)) as daemon:
        yield daemon


@pytest.mark.interop
@pytest.mark.parametrize(("options", "accepted", "output"), [
    ("", True, b"plain\n"),
    ('command="echo forced"', True, b"forced\n"),
    ('restrict,command="echo \\"quoted words\\""', True, b"quoted words\n"),
    ('from="127.0.0.1"', True, b"plain\n"),
    ('from="127.0.0.0/8,!10.0.0.1"', True, b"plain\n"),
    ('from="10.0.0.0/8"', False, None),
    ('from="!127.0.0.1,*"', False, None),
    ('expiry-time="20000101"', False, None),
    ('expiry-time="29990101"', True, b"plain\n"),
    ('no-pty,no-port-forwarding,environment="A=B"', True, b"plain\n"),
    ("bogus-option", False, None),
    ('permitopen="no-port-here"', False, None),
    ('command="unterminated', False, None),
    ("cert-authority", False, None),
])
def test_same_verdict_as_sshd(sshd: Any, options: str, accepted: bool,
                              output: bytes | None) -> None:
    from conch.peers import current_user, ssh_run
    line = Path(f"{sshd.client_key}.pub").read_text().strip()
    text = f"{options} {line}\n" if options else line + "\n"
    (sshd.dir / "authorized_keys").write_text(text)
    result = ssh_run(sshd.port, "echo plain", key=sshd.client_key, known_hosts=sshd.known_hosts)
    assert (result.returncode == 0) is accepted, result.stderr
    if accepted:
        assert result.stdout == output
    path = sshd.dir / "authorized_keys"
    checker = AuthorizedKeysChecker(lambda _user: path, strict_modes=False)
    blob = Key.from_file(sshd.client_key).public_blob()
    entry = checker.find(current_user(), blob, client_address="127.0.0.1")
    assert (entry is not None) is accepted
    if entry is not None and entry.options.command:   # the command sshd forced, as we read it
        done = subprocess.run(["sh", "-c", entry.options.command], capture_output=True,
                              check=True, timeout=10)
        assert done.stdout == output
