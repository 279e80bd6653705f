"""ckeygen: make, fingerprint, re-protect and print keys; its keys work with ssh-keygen."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plait.conch.ckeygen import Terminal, main
from plait.conch.ssh.keys import Key


def keygen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    path = shutil.which("ssh-keygen")
    if path is None:
        pytest.fail("ssh-keygen is not installed: run `make peers` (as root)")
    return subprocess.run([path, *map(str, args)], check=False, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def answers(*replies: str) -> Iterator[str]:
    yield from replies


def terminal(*replies: str) -> Terminal:
    it = answers(*replies)
    return Terminal(interactive=True, ask_secret=lambda _p: next(it), ask=lambda _p: next(it))


BATCH = Terminal(interactive=False)


def run(argv: list[str], io: Terminal = BATCH) -> int:
    return main(argv, io=io)


@pytest.mark.parametrize(("kind", "bits", "key_type"), [
    ("ed25519", None, "ssh-ed25519"), ("ecdsa", "521", "ecdsa-sha2-nistp521"),
    ("rsa", "2048", "ssh-rsa"),
])
def test_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
                  bits: str | None, key_type: str) -> None:
    path = tmp_path / "id"
    argv = ["-t", kind, "-f", str(path), "-N", "pass phrase", "-C", "me@here"]
    assert run([*argv, "-b", bits] if bits else argv) == 0
    out = capsys.readouterr().out
    key = Key.from_file(path, b"pass phrase")
    assert key.key_type == key_type and key.comment == "me@here"
    assert path.stat().st_mode & 0o777 == 0o600
    pub = path.with_name("id.pub")
    assert pub.read_text() == key.public_line() + "\n"
    assert f"{key.fingerprint()} me@here" in out


def test_generate_refuses_overwrite_without_asking(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "id"
    assert run(["-f", str(path), "--no-passphrase", "-q"]) == 0
    before = path.read_bytes()
    assert run(["-f", str(path), "--no-passphrase"]) == 1
    err = capsys.readouterr().err
    assert err == f"ckeygen: {path} already exists (not overwritten)\n"
    assert path.read_bytes() == before
    assert run(["-f", str(path), "--no-passphrase"], terminal("n")) == 1
    assert path.read_bytes() == before
    assert run(["-f", str(path), "--no-passphrase"], terminal("y")) == 0
    assert path.read_bytes() != before


def test_generate_needs_a_passphrase_decision(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "id"
    assert run(["-f", str(path)]) == 1
    assert "use -N PASS or --no-passphrase" in capsys.readouterr().err
    assert not path.exists()
    assert run(["-f", str(path)], terminal("typed", "typo")) == 1
    assert "do not match" in capsys.readouterr().err
    assert run(["-f", str(path)], terminal("typed", "typed")) == 0
    assert Key.from_file(path, b"typed").is_private
    assert run(["-f", str(path), "-N", ""], terminal("y")) == 0     # -N '' = none
    assert Key.from_file(path).is_private


@pytest.mark.parametrize(("argv", "status"), [
    (["-t", "dsa"], 2), (["-t", "rsa", "-b", "1024", "--no-passphrase"], 1),
    (["-t", "ecdsa", "-b", "300", "--no-passphrase"], 1), (["-l", "-t", "rsa"], 2),
    (["-N", "a", "--no-passphrase"], 2), (["-l", "-p"], 2), (["-P", "x", "-N", "y"], 2),
])
def test_usage_and_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              argv: list[str], status: int) -> None:
    if status == 2:
        with pytest.raises(SystemExit) as info:
            run([*argv, "-f", str(tmp_path / "k")])
        assert info.value.code == 2
    else:
        assert run([*argv, "-f", str(tmp_path / "k")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("ckeygen: ") and err.count("\n") == 1
    assert not (tmp_path / "k").exists()


def test_fingerprint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = Key.generate("ecdsa", 384)
    key.comment = "fp test"
    path = tmp_path / "k"
    path.write_bytes(key.to_openssh(b"secret"))
    for target, extra in ((path, []), (path, ["-o", "md5-hex"]), (path, ["-E", "md5"])):
        assert run(["-l", "-f", str(target), *extra]) == 0
        hash_name = "md5" if extra else "sha256"
        line = capsys.readouterr().out
        # encrypted, no .pub: the public half in clear, without its (encrypted) comment
        assert line == f"384 {key.fingerprint(hash_name)} no comment (ECDSA)\n"
    path.with_name("k.pub").write_text(key.public_line() + "\n")
    assert run(["-l", "-f", str(path)]) == 0
    assert capsys.readouterr().out == f"384 {key.fingerprint()} fp test (ECDSA)\n"
    assert run(["-l", "-q", "-f", str(path.with_name("k.pub"))]) == 0
    assert capsys.readouterr().out == f"384 {key.fingerprint()} fp test (ECDSA)\n"
    assert run(["-l", "-f", str(tmp_path / "missing")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_fingerprint_of_encrypted_pem_asks(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    key = Key.generate("rsa", 2048)
    path = tmp_path / "k"
    path.write_bytes(key.to_pkcs8_pem(b"pem pass"))
    assert run(["-l", "-f", str(path)]) == 1
    assert "give its passphrase with -P" in capsys.readouterr().err
    assert run(["-l", "-f", str(path)], terminal("pem pass")) == 0
    assert key.fingerprint() in capsys.readouterr().out
    assert run(["-l", "-f", str(path), "-P", "pem pass"]) == 0
    assert capsys.readouterr().out.startswith("2048 SHA256:")


def test_change_passphrase(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = Key.generate()
    key.comment = "keep me"
    path = tmp_path / "k"
    path.write_bytes(key.to_openssh(b"old"))
    path.chmod(0o640)
    assert run(["-p", "-f", str(path), "-P", "wrong", "-N", "new"]) == 1
    assert capsys.readouterr().err == f"ckeygen: {path}: wrong passphrase\n"
    assert run(["-p", "-f", str(path), "-N", "new"]) == 1      # encrypted, no -P, batch
    assert run(["-p", "-f", str(path), "-P", "old", "-N", "new"]) == 0
    again = Key.from_file(path, b"new")
    assert again == key and again.comment == "keep me"
    assert path.stat().st_mode & 0o777 == 0o600
    assert run(["-p", "-f", str(path)], terminal("new", "newer", "newer")) == 0
    assert Key.from_file(path, b"newer") == key
    assert run(["-p", "-f", str(path), "-P", "newer", "--no-passphrase"]) == 0
    assert Key.from_file(path) == key
    pub = tmp_path / "k.pub"
    pub.write_text(key.public_line() + "\n")
    assert run(["-p", "-f", str(pub), "--no-passphrase"]) == 1
    assert "public key, not a private one" in capsys.readouterr().err


def test_public_from_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = Key.generate("ecdsa")
    key.comment = "printed"
    path = tmp_path / "k"
    path.write_bytes(key.to_openssh(b"pw"))
    assert run(["-y", "-f", str(path), "-P", "pw"]) == 0
    assert capsys.readouterr().out == key.public_line() + "\n"
    assert run(["-y", "-f", str(path)], terminal("pw")) == 0
    assert capsys.readouterr().out == key.public_line() + "\n"
    assert run(["-y", "-f", str(path)]) == 1


def test_default_file_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert run(["-t", "ecdsa", "--no-passphrase", "-q"]) == 0
    ssh_dir = tmp_path / ".ssh"
    assert ssh_dir.stat().st_mode & 0o777 == 0o700
    assert Key.from_file(ssh_dir / "id_ecdsa").key_type == "ecdsa-sha2-nistp256"


def test_python_dash_m(tmp_path: Path) -> None:
    path = tmp_path / "id"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "python")}
    done = subprocess.run([sys.executable, "-m", "plait.conch.ckeygen", "-f", str(path),
                           "-N", "x", "-C", "dash m"], check=False, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert done.returncode == 0, done.stderr
    assert Key.from_file(path, b"x").comment == "dash m"
    done = subprocess.run([sys.executable, "-m", "plait.conch.ckeygen", "-f", str(path),
                           "-N", "x"], check=False, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert done.returncode == 1 and done.stderr.count("\n") == 1


@pytest.mark.interop
@pytest.mark.parametrize(("kind", "bits"), [("ed25519", None), ("ecdsa", "256"),
                                            ("ecdsa", "384"), ("ecdsa", "521"),
                                            ("rsa", "3072")])
@pytest.mark.parametrize("passphrase", ["", "ckeygen pass"])
def test_ssh_keygen_reads_ckeygen_keys(tmp_path: Path, kind: str, bits: str | None,
                                       passphrase: str) -> None:
    path = tmp_path / "id"
    argv = ["-q", "-t", kind, "-f", str(path), "-N", passphrase, "-C", "from ckeygen"]
    assert run([*argv, "-b", bits] if bits else argv) == 0
    done = keygen("-y", "-P", passphrase, "-f", path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == path.with_name("id.pub").read_text().strip()
    listed = keygen("-l", "-f", path)
    key = Key.from_file(path, passphrase.encode() or None)
    assert listed.stdout.split()[:3] == [str(key.bits), key.fingerprint(), "from"]
    # and ssh-keygen can change the passphrase of what ckeygen wrote
    done = keygen("-p", "-P", passphrase, "-N", "changed by openssh", "-f", path)
    assert done.returncode == 0, done.stderr
    assert Key.from_file(path, b"changed by openssh") == key


@pytest.mark.interop
@pytest.mark.parametrize("fmt", ["RFC4716", "PEM", "PKCS8"])
def test_ckeygen_reads_ssh_keygen_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       fmt: str) -> None:
    path = tmp_path / "id"
    done = keygen("-q", "-t", "ecdsa", "-m", fmt, "-N", "openssh pass", "-C", "theirs",
                  "-f", path)
    assert done.returncode == 0, done.stderr
    expected = keygen("-l", "-f", path).stdout
    assert run(["-l", "-f", str(path)]) == 0
    assert capsys.readouterr().out == expected
    assert run(["-y", "-f", str(path), "-P", "openssh pass"]) == 0
    ours = capsys.readouterr().out.split()
    assert ours[:2] == path.with_name("id.pub").read_text().split()[:2]
    assert run(["-p", "-f", str(path), "-P", "openssh pass", "-N", "ours now"]) == 0
    assert keygen("-y", "-P", "ours now", "-f", path).returncode == 0


@pytest.mark.interop
def test_openssh_logs_in_with_ckeygen_keys(tmp_path: Path) -> None:
    """Keys ckeygen writes (each type, no passphrase) are used by ssh to log in to sshd."""
    from conch.peers import SSHD, ssh_run
    paths = []
    for kind, bits in (("ed25519", None), ("ecdsa", "384"), ("rsa", "2048")):
        path = tmp_path / f"id_{kind}"
        argv = ["-q", "-t", kind, "-f", str(path), "--no-passphrase"]
        assert run([*argv, "-b", bits] if bits else argv) == 0
        paths.append(path)
    lines = [p.with_name(p.name + ".pub").read_text().strip() for p in paths]
    with SSHD(authorized_keys=lines, host_keys=("ed25519",)) as sshd:
        for path in paths:
            done = ssh_run(sshd.port, "echo in", key=path, known_hosts=sshd.known_hosts)
            assert (done.returncode, done.stdout) == (0, b"in\n"), done.stderr
