"""known_hosts: patterns, hashed names, markers, lookups, atomic adds; ssh-keygen -H/-F."""
from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from plait.conch.ssh.keys import Key
from plait.conch.ssh.known_hosts import (
    KnownHosts,
    Match,
    Mismatch,
    Revoked,
    Unknown,
    add_known_host,
    hash_host,
    host_name,
    match_pattern,
    match_pattern_list,
)


@pytest.fixture(scope="module")
def ed() -> Key:
    return Key.generate("ed25519")


@pytest.fixture(scope="module")
def ed2() -> Key:
    return Key.generate("ed25519")


@pytest.fixture(scope="module")
def ecdsa() -> Key:
    return Key.generate("ecdsa")


def keygen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    path = shutil.which("ssh-keygen")
    if path is None:
        pytest.fail("ssh-keygen is not installed: run `make peers` (as root)")
    return subprocess.run([path, *map(str, args)], check=False, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("name", "pattern", "hit"), [
    ("host.example.com", "*.example.com", True), ("example.com", "*.example.com", False),
    ("a1", "a?", True), ("a12", "a?", False), ("x.y", "x.y", True), ("xzy", "x.y", False),
    ("[h]:22", "[h]:22", True), ("anything", "*", True),
])
def test_match_pattern(name: str, pattern: str, hit: bool) -> None:
    assert match_pattern(name, pattern) is hit


def test_pattern_list_negation_vetoes() -> None:
    patterns = ["*.corp", "!secret.corp"]
    assert match_pattern_list("www.corp", patterns) == 1
    assert match_pattern_list("secret.corp", patterns) == -1
    assert match_pattern_list("SECRET.Corp", patterns) == -1   # host names fold case
    assert match_pattern_list("other.org", patterns) == 0
    assert match_pattern_list("10.1.2.3", ["10.0.0.0/8"], cidr=True) == 1
    assert match_pattern_list("10.1.2.3", ["10.0.0.0/8"]) == 0
    assert match_pattern_list("11.1.2.3", ["10.0.0.0/8", "!11.0.0.0/8"], cidr=True) == -1
    assert match_pattern_list("name", ["bad/cidr"], cidr=True) == 0


def test_host_name_and_hash() -> None:
    assert host_name("h") == "h" and host_name("h", 2222) == "[h]:2222"
    salt = bytes(range(20))
    assert hash_host("h", salt) == hash_host("h", salt) != hash_host("h2", salt)
    assert hash_host("h").startswith("|1|") and hash_host("h") != hash_host("h")


def test_lookup_results(ed: Key, ed2: Key, ecdsa: Key) -> None:
    text = "\n".join([
        "# comment", "",
        f"a.example,10.0.0.1 {ed.public_line('a comment')}",
        f"*.wild,!no.wild {ed2.public_line()}",
        f"[a.example]:2222 {ecdsa.public_line()}",
        f"@cert-authority *.example {ed2.public_line()}",
    ])
    kh = KnownHosts.from_text(text)
    assert len(kh) == 4
    assert isinstance(kh.lookup("a.example", ed), Match)
    assert isinstance(kh.lookup("A.EXAMPLE", ed), Match)
    assert isinstance(kh.lookup("other", ed, address="10.0.0.1"), Match)
    changed = kh.lookup("a.example", ed2)
    assert isinstance(changed, Mismatch) and changed.known[0].key == ed
    unknown = kh.lookup("a.example", Key.generate("ecdsa"))
    assert isinstance(unknown, Unknown) and [e.key for e in unknown.other_types] == [ed]
    assert isinstance(kh.lookup("x.wild", ed2), Match)
    assert isinstance(kh.lookup("no.wild", ed2), Unknown)
    assert isinstance(kh.lookup("a.example", ecdsa, port=2222), Match)
    assert isinstance(kh.lookup("a.example", ed, port=2222), Unknown)
    # the CA line does not make its key a host key
    assert isinstance(kh.lookup("b.example", ed2), Unknown)
    assert kh.keys_for("a.example") == [ed]


def test_revoked_wins(ed: Key, ed2: Key) -> None:
    kh = KnownHosts.from_text(f"h {ed.public_line()}\n@revoked * {ed.public_line()}\n"
                              f"h {ed2.public_line()}\n")
    result = kh.lookup("h", ed)
    assert isinstance(result, Revoked) and result.entry.line_number == 2
    assert isinstance(kh.lookup("elsewhere", ed), Revoked)
    assert kh.keys_for("h") == [ed2]


def test_bad_lines_skipped(ed: Key, caplog: pytest.LogCaptureFixture) -> None:
    text = "\n".join(["@bogus h " + ed.public_line(), "lonely-host", "h ssh-ed25519 !!!",
                      "|1|AAAA|BBBB " + ed.public_line(), f"good {ed.public_line()}"])
    with caplog.at_level(logging.WARNING):
        kh = KnownHosts.from_text(text, "kh")
    assert [e.line_number for e in kh] == [5]
    assert {r.getMessage().split(":")[1] for r in caplog.records} == {"1", "2", "3", "4"}


def test_add_known_host_atomic(tmp_path: Path, ed: Key, ed2: Key) -> None:
    path = tmp_path / "sub" / "known_hosts"
    line = add_known_host(path, "h.example", ed, port=2200)
    assert line.startswith("|1|") and path.read_text() == line + "\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    path.write_text(path.read_text() + "# no newline at the end")
    path.chmod(0o644)
    add_known_host(path, "plain.example", ed2, hashed=False, comment="c")
    lines = path.read_text().splitlines()
    assert lines[1] == "# no newline at the end" and lines[2] == f"plain.example {ed2.public_line('c')}"
    assert path.stat().st_mode & 0o777 == 0o644
    kh = KnownHosts.from_file(path)
    assert isinstance(kh.lookup("h.example", ed, port=2200), Match)
    assert isinstance(kh.lookup("h.example", ed), Unknown)
    assert isinstance(kh.lookup("plain.example", ed2), Match)
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]   # no temp file left
    with pytest.raises(ValueError):
        add_known_host(path, "bad host", ed)


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert len(KnownHosts.from_file(tmp_path / "none")) == 0


@pytest.mark.interop
def test_ssh_keygen_hashed_entries_are_matched(tmp_path: Path, ed: Key, ecdsa: Key) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"one.example,10.1.1.1 {ed.public_line()}\n"
                    f"[two.example]:2022 {ecdsa.public_line()}\n")
    done = keygen("-H", "-f", path)
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert "one.example" not in text and text.count("|1|") == 3
    kh = KnownHosts.from_file(path)
    assert isinstance(kh.lookup("one.example", ed), Match)
    assert isinstance(kh.lookup("10.1.1.1", ed), Match)
    assert isinstance(kh.lookup("two.example", ecdsa, port=2022), Match)
    assert isinstance(kh.lookup("two.example", ecdsa), Unknown)
    assert isinstance(kh.lookup("one.example", Key.generate()), Mismatch)


@pytest.mark.interop
@pytest.mark.parametrize("hashed", [True, False])
def test_our_entries_are_found_by_ssh_keygen(tmp_path: Path, ed: Key, ecdsa: Key,
                                             hashed: bool) -> None:
    path = tmp_path / "known_hosts"
    add_known_host(path, "ours.example", ed, hashed=hashed)
    add_known_host(path, "127.0.0.1", ecdsa, port=2222, hashed=hashed)
    found = keygen("-F", "ours.example", "-f", path)
    assert found.returncode == 0 and ed.public_line() in found.stdout
    found = keygen("-F", "[127.0.0.1]:2222", "-f", path)
    assert found.returncode == 0 and ecdsa.public_line() in found.stdout
    assert keygen("-F", "127.0.0.1", "-f", path).returncode == 1
    assert keygen("-F", "other.example", "-f", path).returncode == 1


@pytest.mark.interop
def test_openssh_client_trusts_what_we_write(tmp_path: Path) -> None:
    """ssh itself, StrictHostKeyChecking=yes, against sshd: our hashed entry lets it in,
    our @revoked line (and a changed key) keep it out, and lookup() says the same."""
    from conch.peers import SSHD, ssh_run
    with SSHD(host_keys=("ed25519",)) as sshd:
        host_key = Key.from_bytes(sshd.host_public_lines[0])
        path = tmp_path / "known_hosts"

        def ssh_ok() -> bool:
            done = ssh_run(sshd.port, "true", key=sshd.client_key, known_hosts=path)
            return done.returncode == 0

        add_known_host(path, "127.0.0.1", Key.generate(), port=sshd.port)
        assert isinstance(KnownHosts.from_file(path).lookup("127.0.0.1", host_key, sshd.port),
                          Mismatch)
        assert not ssh_ok()
        path.unlink()
        add_known_host(path, "127.0.0.1", host_key, port=sshd.port)
        assert isinstance(KnownHosts.from_file(path).lookup("127.0.0.1", host_key, sshd.port),
                          Match)
        assert ssh_ok()
        with path.open("a") as f:
            f.write(f"@revoked * {host_key.public_line()}\n")
        assert isinstance(KnownHosts.from_file(path).lookup("127.0.0.1", host_key, sshd.port),
                          Revoked)
        assert not ssh_ok()
