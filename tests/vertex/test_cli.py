"""The `vertex` command line, run as a program against a real identity server on 127.0.0.1.

The server (``identity_process.py``) and every `vertex` are subprocesses, so what is tested
is what a user types: output lines, exit statuses (2 usage, 1 failure), files on disk.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent
VERTEX = [sys.executable, "-m", "plait.vertex.cli"]
#: Seconds any one `vertex` run may take (they finish in about a second).
RUN_TIMEOUT = 60.0
PASSWORD = "correct horse"


def run(*args: str, stdin: str | None = None, timeout: float = RUN_TIMEOUT
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VERTEX, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=None if stdin is not None
                          else subprocess.DEVNULL)


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """End a background process we started (by PID) and collect its output."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return out, err


@dataclass
class Site:
    tmp: Path
    server: str
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def certs(self, user: str) -> str:
        return str(self.tmp / f"certs-{user}")

    def vertex(self, user: str, *args: str, stdin: str | None = None
               ) -> subprocess.CompletedProcess[str]:
        return run(*args, "--certs", self.certs(user), "--server", self.server, stdin=stdin)

    def background(self, user: str, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [*VERTEX, *args, "--certs", self.certs(user), "--server", self.server,
             "--bind", "127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the "receiving ..." / "exposing ..." banner
        assert first, stop(proc)
        return proc


def start_server(data: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "identity_process.py"), str(data), "127.0.0.1", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "LISTENING":
        _out, err = stop(proc)
        pytest.fail(f"identity server did not start: {err}")
    return proc, f"{line[1]}:{line[2]}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("vertex-cli")
    server, address = start_server(tmp / "server")
    s = Site(tmp, address)
    try:
        for user in ("alice", "bob", "carol"):
            reg = s.vertex(user, "register", f"{user}@example.test", "--password-stdin",
                           stdin=PASSWORD + "\n")
            assert reg.returncode == 0, reg.stderr
            assert reg.stdout == f"registered {user}@example.test\n"
            got = s.vertex(user, "request-cert", f"{user}@example.test", "--password-stdin",
                           stdin=PASSWORD + "\n")
            assert got.returncode == 0, got.stderr
        yield s
    finally:
        for proc in s.procs:
            stop(proc)
        stop(server)


def one_line_error(result: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert result.returncode == status, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_help_explains() -> None:
    top = run("--help")
    assert top.returncode == 0
    for command in ("register", "request-cert", "authorize", "receive", "send", "tunnel"):
        assert command in top.stdout
    assert "user@domain" in top.stdout
    send = run("send", "--help")
    assert "progress" in send.stdout and "--method" in send.stdout
    assert "expose" in run("tunnel", "--help").stdout
    assert "CA certificate" in run("authorize", "--help").stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [((), "required"), (("frobnicate",), "invalid choice"),
     (("send", "f"), "required: USER@DOMAIN"),
     (("send", "f", "example.test"), "is a domain"),
     (("send", "f", "a@b@c"), "bad Q2Q address"),
     (("register", "bob@example.test", "--server", "nowhere"), "not HOST:PORT"),
     (("send", "f", "bob@example.test", "--method", "carrier-pigeon"), "invalid choice"),
     (("receive", "--max-size", "lots"), "not a size"),
     (("send", "f", "bob@example.test", "--idle-timeout", "0"), "not a number of seconds"),
     (("tunnel", "open", "bob@example.test", "70000"), "not a port")],
)
def test_usage_errors_exit_2(args: tuple[str, ...], text: str) -> None:
    one_line_error(run(*args), 2, text)


def test_password_needs_stdin_or_terminal(tmp_path: Path) -> None:
    result = run("register", "dave@example.test", "--server", "127.0.0.1:9")
    one_line_error(result, 2, "use --password-stdin")
    result = run("register", "dave@example.test", "--password-stdin", "--server",
                 "127.0.0.1:9", stdin="\n")
    one_line_error(result, 2, "empty password")


def test_account_errors(site: Site) -> None:
    again = site.vertex("alice", "register", "alice@example.test", "--password-stdin",
                        stdin="x\n")
    one_line_error(again, 1, "already registered")
    wrong = site.vertex("alice", "request-cert", "alice@example.test", "--password-stdin",
                        stdin="wrong\n")
    one_line_error(wrong, 1, "wrong password")
    unknown = site.vertex("alice", "request-cert", "zed@example.test", "--password-stdin",
                          stdin="x\n")
    one_line_error(unknown, 1, "zed@example.test has no account")
    down = run("register", "eve@example.test", "--password-stdin", "--server", "127.0.0.1:9",
               stdin="x\n")
    one_line_error(down, 1, "cannot reach the identity server")


def test_certificate_mismatch(site: Site, tmp_path: Path) -> None:
    other, address = start_server(tmp_path / "other")  # another server: another CA
    try:
        reg = run("register", "alice@example.test", "--password-stdin", "--server", address,
                  stdin="pw\n")
        assert reg.returncode == 0, reg.stderr
        result = run("request-cert", "alice@example.test", "--password-stdin", "--server",
                     address, "--certs", site.certs("alice"), stdin="pw\n")
        one_line_error(result, 1, "is not the one in")
        result = run("send", __file__, "bob@example.test", "--server", address,
                     "--certs", site.certs("alice"))
        one_line_error(result, 1, "not the one in")
    finally:
        stop(other)


def write_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("method", ["tcp", "virtual"])
def test_send_and_receive(site: Site, tmp_path: Path, method: str) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    digest = write_file(tmp_path / "data.bin", 1_500_000)
    receiver = site.background("bob", "receive", "--once", "--dir", str(inbox))
    sent = site.vertex("alice", "send", str(tmp_path / "data.bin"), "bob@example.test",
                       "--method", method, "--progress", "always")
    assert sent.returncode == 0, sent.stderr
    assert f"via {method}" in sent.stdout
    assert f"sha256 {digest} verified by the receiver" in sent.stdout
    assert "100% [" in sent.stderr and "/s" in sent.stderr  # the bar, with its rate
    assert receiver.wait(RUN_TIMEOUT) == 0
    out, _err = stop(receiver)
    assert f"received data.bin (1500000 bytes) from alice@example.test via {method}" in out
    assert hashlib.sha256((inbox / "data.bin").read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in inbox.iterdir()) == ["data.bin"]


def test_peer_offline(site: Site, tmp_path: Path) -> None:
    write_file(tmp_path / "f", 10)
    result = site.vertex("alice", "send", str(tmp_path / "f"), "carol@example.test")
    one_line_error(result, 1, "carol@example.test is not online")
    result = site.vertex("alice", "send", str(tmp_path / "missing"), "carol@example.test")
    one_line_error(result, 1, "not a regular file")


def test_authorize_and_refusal(site: Site, tmp_path: Path) -> None:
    listed = run("authorize", "--list", "--certs", site.certs("bob"))
    assert "accepts every authenticated peer" in listed.stdout
    added = run("authorize", "carol@example.test", "--certs", site.certs("bob"))
    assert added.returncode == 0 and added.stdout == "carol@example.test may reach bob@example.test\n"
    try:
        assert run("authorize", "--list", "--certs", site.certs("bob")).stdout == \
            "carol@example.test\n"
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        write_file(tmp_path / "f.txt", 1000)
        receiver = site.background("bob", "receive", "--once", "--dir", str(inbox))
        result = site.vertex("alice", "send", str(tmp_path / "f.txt"), "bob@example.test")
        one_line_error(result, 1, "alice@example.test is not authorized to send to bob")
        assert receiver.wait(RUN_TIMEOUT) == 1
        _, err = stop(receiver)
        assert "refused f.txt from alice@example.test" in err
        assert list(inbox.iterdir()) == []
    finally:
        revoked = run("authorize", "--revoke", "carol@example.test", "--certs", site.certs("bob"))
        assert revoked.returncode == 0, revoked.stderr
    again = run("authorize", "--revoke", "carol@example.test", "--certs", site.certs("bob"))
    one_line_error(again, 1, "was not allowed")
    one_line_error(run("authorize", "--certs", site.certs("bob")), 2, "which PEER")
    one_line_error(run("authorize", "b*d@x", "--certs", site.certs("bob")), 2, "bad peer pattern")


def test_authorize_ca_cert(site: Site, tmp_path: Path) -> None:
    ca = Path(site.certs("alice")) / "ca" / "example.test.pem"
    store = tmp_path / "store"
    ok = run("authorize", "example.test", "--ca-cert", str(ca), "--certs", str(store))
    assert ok.returncode == 0, ok.stderr
    assert (store / "ca" / "example.test.pem").read_bytes() == ca.read_bytes()
    (tmp_path / "junk.pem").write_text("not a certificate")
    bad = run("authorize", "example.test", "--ca-cert", str(tmp_path / "junk.pem"),
              "--certs", str(store))
    one_line_error(bad, 1, "not a PEM certificate")
    user = run("authorize", "bob@example.test", "--ca-cert", str(ca), "--certs", str(store))
    one_line_error(user, 2, "takes a domain")


def test_several_addresses_need_as(site: Site, tmp_path: Path) -> None:
    import shutil

    both = tmp_path / "both"
    shutil.copytree(site.certs("alice"), both)
    shutil.copytree(Path(site.certs("bob")) / "bob@example.test", both / "bob@example.test")
    result = run("send", __file__, "carol@example.test", "--certs", str(both),
                 "--server", site.server)
    one_line_error(result, 2, "choose one with --as")


def test_tunnel_both_directions_with_half_close(site: Site) -> None:
    # the target: reads until EOF, answers with the bytes reversed (needs half-close)
    target = socket.create_server(("127.0.0.1", 0))
    target_port = target.getsockname()[1]
    exposer = site.background("bob", "tunnel", "expose", str(target_port))
    opener = subprocess.Popen(
        [*VERTEX, "tunnel", "open", "bob@example.test", str(target_port), "--certs",
         site.certs("alice"), "--server", site.server],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    site.procs.append(opener)
    try:
        assert opener.stdout is not None
        banner = opener.stdout.readline().split()
        assert banner[:1] == ["tunnel"], stop(opener)
        local_port = int(banner[1].rsplit(":", 1)[1])
        payload = os.urandom(300_000)
        client = socket.create_connection(("127.0.0.1", local_port), timeout=RUN_TIMEOUT)
        target.settimeout(RUN_TIMEOUT)
        conn, _ = target.accept()
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        got = bytearray()
        for _ in range(100_000):
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
        assert bytes(got) == payload
        conn.sendall(payload[::-1])
        conn.close()
        back = bytearray()
        for _ in range(100_000):
            chunk = client.recv(65536)
            if not chunk:
                break
            back += chunk
        assert bytes(back) == payload[::-1]
        client.close()
    finally:
        stop(opener)
        stop(exposer)
        target.close()


def test_receive_limits_and_stops_on_sigterm(site: Site, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_file(tmp_path / "big.bin", 2048)
    receiver = site.background("bob", "receive", "--dir", str(inbox), "--max-size", "1K")
    result = site.vertex("alice", "send", str(tmp_path / "big.bin"), "bob@example.test")
    one_line_error(result, 1, "2048 bytes is over the 1024-byte limit")
    assert receiver.poll() is None  # without --once it keeps serving after a refusal
    _, err = stop(receiver)  # SIGTERM: a clean stop
    assert receiver.returncode == 0, err
    assert list(inbox.iterdir()) == []
    missing = site.vertex("bob", "receive", "--dir", str(tmp_path / "nowhere"))
    one_line_error(missing, 1, "not a directory")
