"""The `conch` command against OpenSSH sshd: exec with the exit status passed through,
stdin forwarded, known_hosts (BatchMode refuses an unknown host, accept-new adds it hashed,
the question on a terminal, a changed key refused loudly), an interactive shell in a pty,
-L/-R/-N forwarding (echo through sshd and through plait's own server, refused forwards,
ExitOnForwardFailure) and the command-line errors (exit status 2)."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conch.peers import SSHD, free_port
from plait.conch.cli import Forward, UsageError, parse_args, parse_forward
from plait.conch.pty_session import PtySession
from plait.conch.ssh import Key, listen
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal, SSHPublicKeyChecker

pytestmark = pytest.mark.interop

TIMEOUT = 60


@pytest.fixture(scope="module")
def sshd() -> Iterator[SSHD]:
    with SSHD() as daemon:
        yield daemon


def conch(*args: str, home: Path, input: bytes | None = None
          ) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, HOME=str(home))
    return subprocess.run([sys.executable, "-m", "plait.conch", *args], input=input,
                          capture_output=True, timeout=TIMEOUT, env=env, check=False,
                          start_new_session=True)   # no controlling tty: nobody to ask


def base(sshd: SSHD, known_hosts: Path, *extra: str) -> list[str]:
    return ["-p", str(sshd.port), "-i", str(sshd.client_key), "-o",
            f"UserKnownHostsFile={known_hosts}", *extra, f"{sshd.user}@127.0.0.1"]


def test_exec_exit_status_and_output(sshd: SSHD, tmp_path: Path) -> None:
    r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes"),
              "echo hi; echo err >&2; exit 3", home=tmp_path)
    assert r.returncode == 3, r.stderr
    assert r.stdout == b"hi\n"
    assert r.stderr == b"err\n"


def test_exec_stdin_forwarded(sshd: SSHD, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes"), "sha256sum",
              input=data, home=tmp_path)
    import hashlib
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_command_words_joined(sshd: SSHD, tmp_path: Path) -> None:
    r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes"), "echo", "a", "b",
              home=tmp_path)
    assert (r.returncode, r.stdout) == (0, b"a b\n"), r.stderr


def test_forced_pty_for_a_command(sshd: SSHD, tmp_path: Path) -> None:
    r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes", "-tt"), "tty; exit 2",
              home=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stdout.startswith(b"/dev/pts/") and r.stdout.endswith(b"\r\n")
    notty = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes", "-T"), "tty",
                  home=tmp_path)
    assert notty.stdout == b"not a tty\n"


def test_batch_mode_refuses_an_unknown_host(sshd: SSHD, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    r = conch(*base(sshd, kh, "-o", "BatchMode=yes"), "echo ran", home=tmp_path)
    assert r.returncode == 255
    assert b"ran" not in r.stdout
    assert b"Host key verification failed." in r.stderr
    assert not kh.exists()
    strict = conch(*base(sshd, kh, "-o", "StrictHostKeyChecking=yes"), "echo ran",
                   home=tmp_path)
    assert strict.returncode == 255 and b"ran" not in strict.stdout


def test_accept_new_adds_hashed_then_strict_accepts(sshd: SSHD, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    r = conch(*base(sshd, kh, "-o", "StrictHostKeyChecking=accept-new"), "echo ok",
              home=tmp_path)
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r.stderr
    assert b"Permanently added" in r.stderr
    lines = kh.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("|1|")
    assert (kh.stat().st_mode & 0o777) == 0o600
    found = subprocess.run(["ssh-keygen", "-F", f"[127.0.0.1]:{sshd.port}", "-f", str(kh)],
                           capture_output=True, timeout=TIMEOUT, check=False)
    assert found.returncode == 0
    again = conch(*base(sshd, kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"),
                  "echo again", home=tmp_path)
    assert (again.returncode, again.stdout) == (0, b"again\n"), again.stderr
    assert len(kh.read_text().splitlines()) == 1


def test_changed_key_refused_loudly(sshd: SSHD, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    impostor = Key.generate("ed25519")
    kh.write_text(f"[127.0.0.1]:{sshd.port} {impostor.public_line()}\n")
    before = kh.read_text()
    for strict in ("no", "accept-new", "ask"):
        r = conch(*base(sshd, kh, "-o", f"StrictHostKeyChecking={strict}"), "echo ran",
                  home=tmp_path)
        assert r.returncode == 255
        assert b"ran" not in r.stdout
        assert b"REMOTE HOST IDENTIFICATION HAS CHANGED" in r.stderr
        assert f"Offending ED25519 key in {kh}:1".encode() in r.stderr
    assert kh.read_text() == before


def test_dev_null_known_hosts_is_never_rewritten(sshd: SSHD, tmp_path: Path) -> None:
    r = conch(*base(sshd, Path("/dev/null"), "-o", "StrictHostKeyChecking=no"), "echo ok",
              home=tmp_path)
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r.stderr
    assert Path("/dev/null").is_char_device()


def test_auth_failure_is_255(sshd: SSHD, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                   check=True, timeout=TIMEOUT)
    r = conch("-p", str(sshd.port), "-i", str(other), "-o",
              f"UserKnownHostsFile={sshd.known_hosts}", "-o", "BatchMode=yes",
              f"{sshd.user}@127.0.0.1", "echo ran", home=tmp_path)
    assert r.returncode == 255
    assert b"Permission denied" in r.stderr


def test_connection_refused_is_255(tmp_path: Path) -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = conch("-p", str(port), "-o", "BatchMode=yes", "127.0.0.1", "true", home=tmp_path)
    assert r.returncode == 255
    assert b"connect to host 127.0.0.1" in r.stderr


# ---- forwarding (-L, -R, -N) ---------------------------------------------------------------

FORWARD_WAIT = 20.0


class AsyncEcho:
    """A small asyncio TCP echo server on 127.0.0.1, on its own thread's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._echo, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.started.set()
        self.loop.run_forever()

    @staticmethod
    async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def echo() -> Iterator[AsyncEcho]:
    server = AsyncEcho()
    try:
        yield server
    finally:
        server.close()


def echo_once(port: int, payload: bytes) -> bytes:
    """Send ``payload`` to 127.0.0.1:port, half-close, read everything back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    return got


def echo_when_ready(port: int, payload: bytes, proc: subprocess.Popen[bytes]) -> bytes:
    """Retry (bounded) until the forward listens and echoes; fail early if conch exits."""
    deadline = time.monotonic() + FORWARD_WAIT
    while True:
        assert proc.poll() is None, f"conch exited {proc.returncode}: {proc.stderr}"
        try:
            got = echo_once(port, payload)
            if got == payload or time.monotonic() > deadline:
                return got
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def conch_bg(*args: str, home: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, HOME=str(home))
    return subprocess.Popen([sys.executable, "-m", "plait.conch", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> tuple[int, bytes]:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return proc.returncode, err


def wait_for_line(proc: subprocess.Popen[bytes], marker: bytes) -> bytes:
    """Read conch's stderr (bounded) until a line holding ``marker``."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + FORWARD_WAIT
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{marker!r} not seen in {seen!r}"
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if ready:
            line = proc.stderr.readline()
            assert line, f"EOF before {marker!r}: {seen!r}"
            seen += line
    return seen


def test_local_forward_sshd(sshd: SSHD, echo: AsyncEcho, tmp_path: Path) -> None:
    p1, p2 = free_port(), free_port()
    proc = conch_bg(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes", "-N",
                          "-L", f"127.0.0.1:{p1}:127.0.0.1:{echo.port}",
                          "-L", f"{p2}:localhost:{echo.port}"), home=tmp_path)
    try:
        payload = os.urandom(300_000)
        assert echo_when_ready(p1, payload, proc) == payload
        assert echo_when_ready(p2, b"second", proc) == b"second"     # default bind
        assert echo_once(p1, b"again") == b"again"
    finally:
        code, err = stop(proc)
    assert code == 255, err         # ssh's status when a signal ends it
    assert err == b""
    with pytest.raises(OSError):    # the listeners went with conch
        socket.create_connection(("127.0.0.1", p1), timeout=2).close()


def test_remote_forward_sshd(sshd: SSHD, echo: AsyncEcho, tmp_path: Path) -> None:
    rport = free_port()
    proc = conch_bg(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes", "-N",
                          "-R", f"127.0.0.1:{rport}:127.0.0.1:{echo.port}",
                          "-R", f"0:127.0.0.1:{echo.port}"), home=tmp_path)
    try:
        line = wait_for_line(proc, b"Allocated port ")
        picked = int(line.split(b"Allocated port ", 1)[1].split()[0])
        assert f"for remote forward to 127.0.0.1:{echo.port}".encode() in line
        payload = os.urandom(300_000)
        assert echo_when_ready(rport, payload, proc) == payload     # sshd listens there
        assert echo_when_ready(picked, b"picked", proc) == b"picked"
    finally:
        code, err = stop(proc, signal.SIGINT)
    assert code == 255, err


def test_forward_with_a_command(sshd: SSHD, echo: AsyncEcho, tmp_path: Path) -> None:
    """The forward serves while the command runs (the command uses it from the server)."""
    p1 = free_port()
    script = (f"exec 3<>/dev/tcp/127.0.0.1/{p1}; printf via-L >&3; exec 3>&-; echo done")
    r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes",
                    "-L", f"{p1}:127.0.0.1:{echo.port}"), "bash", "-c", repr(script),
              home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"done\n"


@pytest.fixture(scope="module")
def sshd_no_forwarding() -> Iterator[SSHD]:
    with SSHD(extra_config={"AllowTcpForwarding": "no"}) as daemon:
        yield daemon


def test_refused_forwards_sshd(sshd_no_forwarding: SSHD, echo: AsyncEcho,
                               tmp_path: Path) -> None:
    d = sshd_no_forwarding
    p1, rport = free_port(), free_port()
    proc = conch_bg(*base(d, d.known_hosts, "-o", "BatchMode=yes", "-N",
                          "-L", f"{p1}:127.0.0.1:{echo.port}",
                          "-R", f"{rport}:127.0.0.1:{echo.port}"), home=tmp_path)
    try:
        wait_for_line(proc, f"Warning: remote port forwarding failed for listen port "
                            f"{rport}".encode())
        assert proc.poll() is None           # a warning only: conch stays
        assert echo_when_ready(p1, b"x", proc) == b""    # sshd refuses the channel
        refused = wait_for_line(proc, b"channel open failed")
        assert b"administratively prohibited" in refused
    finally:
        stop(proc)
    r = conch(*base(d, d.known_hosts, "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
                    "-R", f"{rport}:127.0.0.1:{echo.port}"), "echo ran", home=tmp_path)
    assert r.returncode == 255
    assert r.stdout == b""
    assert r.stderr == f"Error: remote port forwarding failed for listen port {rport}\n".encode()


def test_local_bind_failure(sshd: SSHD, echo: AsyncEcho, tmp_path: Path) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        spec = f"{port}:127.0.0.1:{echo.port}"
        r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes", "-L", spec),
                  "echo ran", home=tmp_path)
        assert (r.returncode, r.stdout) == (0, b"ran\n"), r.stderr   # ssh goes on
        assert b"Could not request local forwarding." in r.stderr
        assert f"bind [127.0.0.1]:{port}: Address already in use".encode() in r.stderr
        r = conch(*base(sshd, sshd.known_hosts, "-o", "BatchMode=yes", "-o",
                        "ExitOnForwardFailure=yes", "-L", spec), "echo ran", home=tmp_path)
        assert (r.returncode, r.stdout) == (255, b"")
        assert r.stderr.endswith(b"Could not request local forwarding.\n")
    finally:
        taken.close()


@pytest.mark.parametrize("flag,spec", [
    ("-L", "8080:localhost"), ("-L", "0:h:80"), ("-L", "8080:h:0"), ("-L", "x:h:80"),
    ("-L", "8080::80"), ("-L", "a:b:c:d:e"), ("-L", "[::1:80:h:22"), ("-R", "1:h:70000"),
    ("-R", "-1:h:22"), ("-R", "1:h: 22")])
def test_bad_forward_spec_is_a_usage_error(flag: str, spec: str, tmp_path: Path) -> None:
    r = conch(flag + spec, "127.0.0.1", "true", home=tmp_path)     # -Lspec, as ssh takes
    assert r.returncode == 2
    kind = "local" if flag == "-L" else "remote"
    assert r.stderr == f"conch: Bad {kind} forwarding specification '{spec}'\n".encode()


# ---- on a terminal -------------------------------------------------------------------------

def _set_ctty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """conch run with a pty as its controlling terminal, stdin, stdout and stderr."""

    def __init__(self, args: list[str], home: Path) -> None:
        self.master, slave = os.openpty()
        env = dict(os.environ, HOME=str(home), TERM="vt100")
        self.proc = subprocess.Popen([sys.executable, "-m", "plait.conch", *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=env,
                                     preexec_fn=_set_ctty)  # noqa: PLW1509 - setsid+TIOCSCTTY only
        os.close(slave)
        self.out = b""

    def expect(self, marker: bytes, timeout: float = 20.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{marker!r} not seen in {self.out!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"EOF before {marker!r}: {self.out!r}")
                self.out += chunk
        return self.out

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self) -> int:
        try:
            return self.proc.wait(TIMEOUT)
        finally:
            os.close(self.master)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_first_sight_asks_on_the_terminal(sshd: SSHD, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    term = Terminal(base(sshd, kh) + ["echo accepted"], tmp_path)
    try:
        term.expect(b"Are you sure you want to continue connecting (yes/no)? ")
        assert b"can't be established" in term.out
        term.send(b"yes\n")
        term.expect(b"accepted")
        assert term.wait() == 0
    finally:
        term.kill()
    assert kh.read_text().startswith("|1|")
    no = Terminal(base(sshd, tmp_path / "kh2") + ["echo accepted"], tmp_path)
    try:
        no.expect(b"(yes/no)? ")
        no.send(b"no\n")
        assert no.wait() == 255
        assert b"accepted" not in no.out.split(b"(yes/no)? ", 1)[1]
    finally:
        no.kill()
    assert not (tmp_path / "kh2").exists()


def test_interactive_shell_in_a_pty(sshd: SSHD, tmp_path: Path) -> None:
    term = Terminal(base(sshd, sshd.known_hosts), tmp_path)
    try:
        time.sleep(1.0)
        term.send(b"echo T=$TERM M=$((40+2)); tty\r")
        term.expect(b"M=42")
        term.expect(b"/dev/pts/")
        assert b"T=vt100" in term.out
        term.send(b"exit 5\r")
        assert term.wait() == 5
    finally:
        term.kill()


def test_window_change_follows_the_local_terminal(sshd: SSHD, tmp_path: Path) -> None:
    term = Terminal(base(sshd, sshd.known_hosts), tmp_path)
    try:
        time.sleep(1.0)
        term.send(b"stty size\r")
        term.expect(b"24 80")
        # the kernel sends SIGWINCH to conch; conch sends window-change
        fcntl.ioctl(term.master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
        time.sleep(0.5)
        term.send(b"stty size\r")
        term.expect(b"33 111")
        term.send(b"exit\r")
        assert term.wait() == 0
    finally:
        term.kill()


class PlaitServer:
    """plait's own server (password and key logins, PtySession) on a thread's loop."""

    def __init__(self, home: Path, *key_lines: str,
                 auth_methods: tuple[str, ...] = ("publickey", "password",
                                                  "keyboard-interactive")) -> None:
        self.home = home
        self.auth_methods = auth_methods
        self.key_lines = list(key_lines)
        self.password_ports: list[tuple[int, ...]] = []
        self.ready = threading.Event()
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.loop.run_forever()

    async def _start(self) -> None:
        portal = Portal(Realm(), [SSHPublicKeyChecker({"alice": self.key_lines}),
                                  _PeerRecorder(self, {"alice": "s3cret"})])
        self.server = await listen("127.0.0.1", 0, server_host_keys=[Key.generate("ed25519")],
                                   portal=portal, failure_delay=0.05, allow_forwarding=True,
                                   auth_methods=self.auth_methods,
                                   session_factory=lambda a: PtySession(home=self.home))
        self.port = self.server.port
        self.ready.set()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class _PeerRecorder(InMemoryUsernamePasswordChecker):
    """Records which connections were open at each password check."""

    def __init__(self, owner: PlaitServer, users: dict[str, str]) -> None:
        super().__init__(users)
        self.owner = owner

    async def request_avatar_id(self, credentials: Any) -> Any:
        self.owner.password_ports.append(tuple(p[1] for p in self.owner.server.peers))
        return await super().request_avatar_id(credentials)


class Realm:
    def request_avatar(self, avatar_id: object, mind: object, *interfaces: object) -> tuple:
        return interfaces[0], avatar_id, lambda: None


@pytest.fixture(scope="module")
def plait_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlaitServer, Path]]:
    d = tmp_path_factory.mktemp("conch-plait")
    key = d / "id_enc"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(key)],
                   check=True, timeout=TIMEOUT)
    server = PlaitServer(d, (d / "id_enc.pub").read_text())
    try:
        yield server, key
    finally:
        server.stop()


def test_password_prompt_when_offered(plait_server: tuple[PlaitServer, Path],
                                      tmp_path: Path) -> None:
    server, _ = plait_server
    args = ["-p", str(server.port), "-o", "StrictHostKeyChecking=no", "-o",
            f"UserKnownHostsFile={tmp_path / 'kh'}", "alice@127.0.0.1", "echo pw-ok"]
    term = Terminal(args, tmp_path)      # HOME has no keys: straight to the password
    try:
        # asked again after each refusal on the one connection (password_attempts=3)
        term.expect(b"alice@127.0.0.1's password: ")
        term.out = b""          # each prompt is awaited anew (getpass drops typed-ahead input)
        term.send(b"wrong\n")
        term.expect(b"Permission denied, please try again.")
        term.expect(b"alice@127.0.0.1's password: ")
        term.out = b""
        term.send(b"bad again\n")
        term.expect(b"alice@127.0.0.1's password: ")
        term.send(b"s3cret\n")
        term.expect(b"pw-ok")
        assert term.wait() == 0
    finally:
        term.kill()
    # every try went over one TCP connection: the server saw a single client port
    ports = server.password_ports[-3:]
    assert len(ports) == 3 and len(set(ports)) == 1 and len(ports[0]) == 1, ports
    term = Terminal(args, tmp_path)
    try:                                 # three refusals: the login fails, as ssh's does
        for answer in (b"a\n", b"b\n", b"c\n"):
            term.expect(b"alice@127.0.0.1's password: ")
            term.out = b""
            term.send(answer)
        term.expect(b"alice@127.0.0.1: Permission denied (")
        assert term.wait() == 255
    finally:
        term.kill()
    r = conch(*args[:-2], "-o", "BatchMode=yes", "alice@127.0.0.1", "echo no", home=tmp_path)
    assert r.returncode == 255 and b"Permission denied" in r.stderr


def test_keyboard_interactive_asked_again(tmp_path: Path) -> None:
    server = PlaitServer(tmp_path, auth_methods=("keyboard-interactive",))
    try:
        args = ["-p", str(server.port), "-o", "StrictHostKeyChecking=no", "-o",
                f"UserKnownHostsFile={tmp_path / 'kh'}", "alice@127.0.0.1", "echo kbd-ok"]
        term = Terminal(args, tmp_path)
        try:
            term.expect(b"(alice@127.0.0.1) Password: ")
            term.out = b""
            term.send(b"wrong\n")
            term.expect(b"Permission denied, please try again.")
            term.expect(b"(alice@127.0.0.1) Password: ")
            term.send(b"s3cret\n")
            term.expect(b"kbd-ok")
            assert term.wait() == 0
        finally:
            term.kill()
        ports = server.password_ports
        assert len(ports) == 2 and len(set(ports)) == 1, ports    # one connection
    finally:
        server.stop()


def test_encrypted_key_asks_its_passphrase(plait_server: tuple[PlaitServer, Path],
                                           tmp_path: Path) -> None:
    server, key = plait_server
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    shutil.copy(key, ssh_dir / "id_ed25519")        # a default identity
    args = ["-p", str(server.port), "-o", "StrictHostKeyChecking=no", "-o",
            f"UserKnownHostsFile={tmp_path / 'kh'}", "alice@127.0.0.1", "echo key-ok"]
    term = Terminal(args, tmp_path)
    try:
        term.expect(b"Enter passphrase for key")
        term.send(b"pass phrase\n")
        term.expect(b"key-ok")
        assert term.wait() == 0
        assert b"password:" not in term.out
    finally:
        term.kill()


def test_forwards_against_plait_server(echo: AsyncEcho, tmp_path: Path) -> None:
    """listen(allow_forwarding=True): -L and -R through plait's own server; its end ends -N."""
    key = tmp_path / "id_plain"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True, timeout=TIMEOUT)
    server = PlaitServer(tmp_path, (tmp_path / "id_plain.pub").read_text())
    try:
        _forwards_through(server, key, echo, tmp_path)
    finally:
        server.stop()


def _forwards_through(server: PlaitServer, key: Path, echo: AsyncEcho, tmp_path: Path) -> None:
    p1, rport = free_port(), free_port()
    proc = conch_bg("-p", str(server.port), "-i", str(key),
                    "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={tmp_path / 'kh'}",
                    "-o", "ExitOnForwardFailure=yes", "-N",
                    "-L", f"127.0.0.1:{p1}:127.0.0.1:{echo.port}",
                    "-R", f"127.0.0.1:{rport}:127.0.0.1:{echo.port}", "alice@127.0.0.1",
                    home=tmp_path)
    try:
        payload = os.urandom(300_000)
        assert echo_when_ready(p1, payload, proc) == payload
        assert echo_when_ready(rport, payload, proc) == payload    # the plait server listens
        # the server going away ends -N
        server.loop.call_soon_threadsafe(server.server.close)
        deadline = time.monotonic() + FORWARD_WAIT
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        code, err = stop(proc)
    assert code == 255
    assert b"closed by remote host" in err, err


# ---- the command line ----------------------------------------------------------------------

def test_parse_args() -> None:
    o = parse_args(["-p", "2200", "-i", "k1", "-i", "k2", "-o", "BatchMode=yes", "-o",
                    "KnownHostsFile=/x", "-tt", "u@example.test@host", "ls", "-l"])
    assert (o.host, o.user, o.port) == ("host", "u@example.test", 2200)
    assert o.identities == ["k1", "k2"] and o.tty == 2 and o.batch
    assert o.known_hosts == "/x" and o.command == ["ls", "-l"]
    o = parse_args(["-l", "bob", "-T", "-o", "StrictHostKeyChecking=accept-new", "h"])
    assert (o.user, o.tty, o.strict, o.command) == ("bob", -1, "accept-new", [])
    o = parse_args(["-L", "1:a:2", "-R", "[::1]:0:b:3", "-L", "*:4:[::1]:5", "-o",
                    "ExitOnForwardFailure=yes", "-N", "h"])
    assert o.forwards == [Forward(False, "127.0.0.1", 1, "a", 2),
                          Forward(False, "0.0.0.0", 4, "::1", 5), Forward(True, "::1", 0, "b", 3)]
    assert o.exit_on_forward_failure and o.no_command
    assert parse_forward(":7:c:8", remote=True) == Forward(True, "", 7, "c", 8)
    o = parse_args(["-o", "ServerAliveInterval=15", "-o", "serveralivecountmax 5", "h"])
    assert (o.server_alive_interval, o.server_alive_count_max) == (15, 5)
    assert (parse_args(["h"]).server_alive_interval, parse_args(["h"]).server_alive_count_max) \
        == (0, 3)
    for bad in (["-o", "Ciphers=x", "h"], ["-o", "ExitOnForwardFailure=maybe", "h"], ["-p", "0", "h"], ["-p", "x", "h"],
                ["-o", "ServerAliveInterval=-1", "h"], ["-o", "ServerAliveCountMax=x", "h"],
                ["-o", "ServerAliveInterval=99999999", "h"],
                ["-o", "StrictHostKeyChecking=maybe", "h"], ["u@"], []):
        with pytest.raises(UsageError):
            parse_args(bad)


class FreezingRelay:
    """A TCP relay on 127.0.0.1 to ``target`` (threads); after ``freeze()`` it drops every
    byte both ways while keeping the sockets open: a network gone dead."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.frozen = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=TIMEOUT)
        except OSError:
            return
        upstream.settimeout(None)
        self.sockets += [client, upstream]
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    return
                if not self.frozen.is_set():
                    dst.sendall(data)
            except OSError:
                return

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        for sock in (self.listener, *self.sockets):
            with contextlib.suppress(OSError):
                sock.close()


def test_server_alive_timeout(sshd: SSHD, tmp_path: Path) -> None:
    """-o ServerAliveInterval/CountMax: a server gone silent ends conch like ssh."""
    relay = FreezingRelay(sshd.port)
    env = dict(os.environ, HOME=str(tmp_path))
    args = ["-p", str(relay.port), "-i", str(sshd.client_key), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={tmp_path / 'kh'}",
            "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2",
            f"{sshd.user}@127.0.0.1", "echo up; exec cat"]
    # stdin stays open (no EOF is forwarded): the remote cat waits until sshd, seeing the
    # connection end, closes its stdin
    proc = subprocess.Popen([sys.executable, "-m", "plait.conch", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        assert ready and proc.stdout.readline() == b"up\n"
        relay.freeze()
        _, err = proc.communicate(timeout=TIMEOUT)    # its EOF is lost in the frozen relay
        assert proc.returncode == 255
        assert err.strip().endswith(b"Timeout, server 127.0.0.1 not responding."), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        relay.close()           # sshd sees the connection end and ends the session
