"""plait's SSH server and client against real peers (issue 5, "Tests with real peers").

* OpenSSH ``ssh`` against the plait server with each kex, cipher, MAC and host-key
  algorithm forced one at a time (``-o KexAlgorithms=...`` and so on), key and password
  logins, ``sftp -b``, ``scp`` (SFTP and legacy), ``ssh -L`` / ``-R``; ``dbclient``;
  paramiko and asyncssh clients (exec, shell with a pty, SFTP).
* The plait client against OpenSSH ``sshd`` and dropbear (tests/conch/peers.py): exec,
  shell, SFTP, forwarding, each algorithm.
* ``ssh-audit -j`` against the plait server with listen()'s default settings (plait serve's
  own settings are audited in tests/conch/ssh/test_service.py).
* Bad input -- garbage before/after the banner, oversize packets, bad MACs, messages out of
  state, auth floods -- drops the connection with the right disconnect reason, while another
  session on the same server keeps working.

The plait server runs in a thread with its own event loop (the peers are subprocesses, whose
runs block the test's thread), with plait's own PtySession (what ``plait serve`` uses: the
login shell in a pty, exec, SFTP), as the server's own user, home and SFTP root a temporary
directory.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest

from conch.peers import (
    HOST,
    SSHD,
    Dropbear,
    banner,
    current_user,
    dbclient,
    free_port,
    keygen,
    remote,
    require,
    scp,
    sftp_batch,
    ssh_audit,
    ssh_options,
    ssh_run,
)
from plait.conch.ssh.constants import DisconnectReason
from plait.conch.ssh.kex import POST_QUANTUM_KEX
from plait.conch.ssh.transport import TransportConfig

pytestmark = pytest.mark.interop

PASSWORD_USER = "alice"
PASSWORD = "correct horse battery staple"
KEX = tuple(TransportConfig().kex_algorithms)
HOST_KEY_ALGS = tuple(TransportConfig().host_key_algorithms)
CIPHERS = tuple(TransportConfig().ciphers)
MACS = tuple(TransportConfig().macs)
NON_AEAD = "aes128-ctr"            # MACs are only used with a non-AEAD cipher
SERVER_HOST_KEYS = ("ed25519", "ecdsa", "ecdsa:384", "ecdsa:521", "rsa")
THREAD_TIMEOUT = 30.0
OPENSSH_KEX = set(subprocess.run(["ssh", "-Q", "kex"], capture_output=True, text=True,
                                 check=False).stdout.split())


def _openssh_has(kex: str) -> None:
    """Skip when the installed OpenSSH predates ``kex`` (mlkem768x25519 came in 9.9)."""
    if kex not in OPENSSH_KEX:
        pytest.skip(f"the installed OpenSSH has no {kex} (ssh -Q kex)")
READ_TIMEOUT = 20.0


def _ssh() -> Any:
    """plait.conch.ssh with its asyncio API."""
    from plait.conch import ssh
    return ssh


def _key(path: Path) -> Any:
    from plait.conch.ssh.keys import Key
    return Key.from_file(path)


# ---------------------------------------------------------------- echo helper


class EchoServer:
    """A TCP echo server on 127.0.0.1 in a thread: the far end of forwarding tests."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(READ_TIMEOUT)
            with contextlib.suppress(OSError):
                while data := conn.recv(65536):
                    conn.sendall(data)

    def close(self) -> None:
        self.stopping = True
        self.thread.join(THREAD_TIMEOUT)
        self.sock.close()


def echo_through(port: int, payload: bytes, deadline: float = READ_TIMEOUT) -> bytes:
    """Connect to 127.0.0.1:port (retrying while a forwarder starts), send, read it back."""
    end = time.monotonic() + deadline
    while True:
        try:
            s = socket.create_connection((HOST, port), timeout=2)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)
    with s:
        s.settimeout(deadline)
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


# ---------------------------------------------------------------- the plait server


class _Realm:
    """Every authenticated user gets their name as avatar."""

    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        return interfaces[0] if interfaces else object, avatar_id, lambda: None


@dataclass
class PlaitServer:
    """The plait SSH server in a thread (its own loop), with keys and files in ``dir``."""

    dir: Path
    config: Any = None
    host_key_dir: Path | None = None       # use the keys found here (else make one per type)
    listen_kwargs: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    host_key_paths: list[Path] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    server: Any = None
    thread: threading.Thread | None = None
    error: BaseException | None = None

    @property
    def client_key(self) -> Path:
        return self.dir / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def sftp_root(self) -> Path:
        return self.dir / "sftp-root"

    def start(self) -> PlaitServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sftp_root.mkdir(exist_ok=True)
        if not self.client_key.exists():
            keygen(self.client_key, "ed25519", comment="plait-interop-client")
        lines = []
        if self.host_key_dir is not None:
            self.host_key_paths = sorted(p for p in self.host_key_dir.iterdir()
                                         if p.name.endswith("_key"))
        else:
            for spec in SERVER_HOST_KEYS:
                path = self.dir / f"host_{spec.replace(':', '_')}"
                if not path.exists():
                    keygen(path, spec)
                self.host_key_paths.append(path)
        for path in self.host_key_paths:
            lines.append(" ".join(Path(f"{path}.pub").read_text().split()[:2]))
        self.port = free_port()
        self.known_hosts.write_text("".join(f"[{HOST}]:{self.port} {ln}\n" for ln in lines))
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(THREAD_TIMEOUT) or self.error is not None:
            raise RuntimeError(f"the plait server did not start: {self.error!r}")
        return self

    def _run(self, ready: threading.Event) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.server = self.loop.run_until_complete(self._listen())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self.error = exc
            ready.set()
            self.loop.close()
            return
        ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    async def _listen(self) -> Any:
        from plait.conch.pty_session import PtySession
        from plait.core.cred import Portal
        from plait.core.cred.checkers import (
            InMemoryUsernamePasswordChecker,
            SSHPublicKeyChecker,
        )

        ssh = _ssh()
        public = Path(f"{self.client_key}.pub").read_text().strip()
        checkers = [SSHPublicKeyChecker({current_user(): [public]}),
                    InMemoryUsernamePasswordChecker({PASSWORD_USER: PASSWORD})]
        portal = Portal(_Realm(), checkers)
        root = self.sftp_root
        kwargs: dict[str, Any] = {"allow_forwarding": True, **self.listen_kwargs}
        if self.config is not None:
            kwargs["config"] = self.config
        return await ssh.listen(
            HOST, self.port, server_host_keys=[_key(p) for p in self.host_key_paths],
            portal=portal, session_factory=lambda avatar: PtySession(home=root, sftp_root=root),
            **kwargs)

    def stop(self) -> None:
        if self.loop is not None and self.server is not None and not self.loop.is_closed():
            async def close() -> None:
                self.server.close()
                await self.server.wait_closed()
            fut = asyncio.run_coroutine_threadsafe(close(), self.loop)
            with contextlib.suppress(Exception):
                fut.result(THREAD_TIMEOUT)
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(THREAD_TIMEOUT)

    def ssh(self, command: str, **kw: Any) -> subprocess.CompletedProcess[bytes]:
        """OpenSSH ``ssh`` to this server by key (``kw`` as for ``ssh_run``)."""
        kw.setdefault("key", self.client_key)
        kw.setdefault("known_hosts", self.known_hosts)
        return ssh_run(self.port, command, **kw)


@pytest.fixture(scope="module")
def plait_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaitServer]:
    # every algorithm of issue 5 offered (listen's default is TransportConfig.hardened(),
    # which ssh-audit checks below)
    server = PlaitServer(tmp_path_factory.mktemp("plait-ssh"), config=TransportConfig()).start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- OpenSSH ssh -> plait


def test_openssh_key_login_exec(plait_server: PlaitServer) -> None:
    r = plait_server.ssh("echo hello; echo oops >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, b"hello\n", b"oops\n")


@pytest.mark.parametrize("kex", KEX)
def test_openssh_each_kex(plait_server: PlaitServer, kex: str) -> None:
    _openssh_has(kex)
    r = plait_server.ssh("echo ok", options={"KexAlgorithms": kex})
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r.stderr


@pytest.mark.parametrize("cipher", CIPHERS)
def test_openssh_each_cipher(plait_server: PlaitServer, cipher: str) -> None:
    r = plait_server.ssh("echo ok", options={"Ciphers": cipher})
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r.stderr


@pytest.mark.parametrize("mac", MACS)
def test_openssh_each_mac(plait_server: PlaitServer, mac: str) -> None:
    r = plait_server.ssh("echo ok", options={"Ciphers": NON_AEAD, "MACs": mac})
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r.stderr


@pytest.mark.parametrize("alg", HOST_KEY_ALGS)
def test_openssh_each_host_key_algorithm(plait_server: PlaitServer, alg: str) -> None:
    # known_hosts holds every host key, StrictHostKeyChecking=yes: the signature is verified
    r = plait_server.ssh("echo ok", options={"HostKeyAlgorithms": alg})
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r.stderr


def test_openssh_compression(plait_server: PlaitServer) -> None:
    data = b"compressible " * 50_000
    r = plait_server.ssh("cat", input=data, options={"Compression": "yes"})
    assert (r.returncode, r.stdout) == (0, data), r.stderr


def test_openssh_ssh_rsa_sha1_refused_by_default(plait_server: PlaitServer) -> None:
    r = plait_server.ssh("true", options={"HostKeyAlgorithms": "ssh-rsa", "LogLevel": "INFO"})
    assert r.returncode == 255
    assert b"no matching host key type" in r.stderr


@pytest.mark.parametrize("option", [
    {"Ciphers": "aes128-cbc"}, {"Ciphers": NON_AEAD, "MACs": "hmac-sha1"},
    {"KexAlgorithms": "diffie-hellman-group14-sha1"}])
def test_openssh_legacy_algorithms_refused(plait_server: PlaitServer,
                                           option: dict[str, str]) -> None:
    r = plait_server.ssh("true", options={**option, "LogLevel": "INFO"})
    assert r.returncode == 255
    assert b"no matching" in r.stderr


def test_openssh_password_login(plait_server: PlaitServer) -> None:
    r = plait_server.ssh("echo pw-ok", key=None, user=PASSWORD_USER, password=PASSWORD)
    assert (r.returncode, r.stdout) == (0, b"pw-ok\n"), r.stderr


def test_openssh_keyboard_interactive_login(plait_server: PlaitServer) -> None:
    r = plait_server.ssh("echo kbd-ok", key=None, user=PASSWORD_USER, password=PASSWORD,
                         options={"PreferredAuthentications": "keyboard-interactive"})
    assert (r.returncode, r.stdout) == (0, b"kbd-ok\n"), r.stderr


def test_openssh_wrong_password_refused(plait_server: PlaitServer) -> None:
    r = plait_server.ssh("true", key=None, user=PASSWORD_USER, password="wrong")
    assert r.returncode == 5, r.stderr     # sshpass: the password was refused


def test_openssh_unknown_key_refused(plait_server: PlaitServer, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger", "ed25519")
    r = plait_server.ssh("true", key=tmp_path / "stranger", options={"LogLevel": "INFO"})
    assert r.returncode == 255
    assert b"Permission denied" in r.stderr


def test_openssh_key_types_login(plait_server: PlaitServer, tmp_path: Path) -> None:
    # client keys of each kind: only the authorized ed25519 one may log in; the others are
    # offered and refused cleanly (signature algorithms negotiated through server-sig-algs)
    for spec in ("ecdsa", "rsa"):
        keygen(tmp_path / spec, spec)
        r = plait_server.ssh("true", key=tmp_path / spec, options={"LogLevel": "INFO"})
        assert r.returncode == 255 and b"Permission denied" in r.stderr, spec


def test_sftp_batch(plait_server: PlaitServer, tmp_path: Path) -> None:
    src = tmp_path / "local.bin"
    src.write_bytes(os.urandom(300_000))
    batch = "\n".join([
        "mkdir /dir", f"put {src} /dir/up.bin", "rename /dir/up.bin /dir/moved.bin",
        "ls -l /dir", f"get /dir/moved.bin {tmp_path}/back.bin", "symlink /dir/moved.bin /ln",
        "df /", "rm /ln", "rm /dir/moved.bin", "rmdir /dir", ""])
    r = sftp_batch(plait_server.port, batch, key=plait_server.client_key,
                   known_hosts=plait_server.known_hosts)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    assert b"moved.bin" in r.stdout
    assert list(plait_server.sftp_root.iterdir()) == []


def test_sftp_cannot_escape_root(plait_server: PlaitServer, tmp_path: Path) -> None:
    r = sftp_batch(plait_server.port, f"get /../../etc/passwd {tmp_path}/pw\n",
                   key=plait_server.client_key, known_hosts=plait_server.known_hosts)
    assert not (tmp_path / "pw").exists() or (tmp_path / "pw").read_bytes() != Path(
        "/etc/passwd").read_bytes()
    assert r.returncode != 0


def test_scp_sftp_and_legacy(plait_server: PlaitServer, tmp_path: Path) -> None:
    src = tmp_path / "s.bin"
    src.write_bytes(os.urandom(100_000))
    r = scp(plait_server.port, [src], remote("/scp.bin"), key=plait_server.client_key,
            known_hosts=plait_server.known_hosts)
    assert r.returncode == 0, r.stderr
    assert (plait_server.sftp_root / "scp.bin").read_bytes() == src.read_bytes()
    r = scp(plait_server.port, [remote("/scp.bin")], tmp_path / "d.bin",
            key=plait_server.client_key, known_hosts=plait_server.known_hosts)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d.bin").read_bytes() == src.read_bytes()
    # the old protocol: scp -O runs `scp -t PATH` on the server through exec
    target = tmp_path / "legacy.bin"
    r = scp(plait_server.port, [src], remote(target), key=plait_server.client_key,
            known_hosts=plait_server.known_hosts, legacy=True)
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() == src.read_bytes()


def _forwarder(port: int, spec: list[str], key: Path, known: Path,
               log_level: str = "ERROR") -> subprocess.Popen[bytes]:
    argv = [require("ssh"), "-p", str(port), "-N",
            *ssh_options(key=key, known_hosts=known,
                         options={"ExitOnForwardFailure": "yes", "LogLevel": log_level}),
            *spec, f"{current_user()}@{HOST}"]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return err


def test_openssh_local_forwarding(plait_server: PlaitServer, echo: EchoServer) -> None:
    lport = free_port()
    proc = _forwarder(plait_server.port, ["-L", f"{HOST}:{lport}:{HOST}:{echo.port}"],
                      plait_server.client_key, plait_server.known_hosts)
    try:
        payload = os.urandom(200_000)
        assert echo_through(lport, payload) == payload
    finally:
        err = _stop(proc)
    assert b"refused" not in err


def test_openssh_remote_forwarding(plait_server: PlaitServer, echo: EchoServer) -> None:
    rport = free_port()
    proc = _forwarder(plait_server.port, ["-R", f"{HOST}:{rport}:{HOST}:{echo.port}"],
                      plait_server.client_key, plait_server.known_hosts)
    try:
        payload = os.urandom(200_000)
        assert echo_through(rport, payload) == payload
    finally:
        err = _stop(proc)
    assert b"failed" not in err
    # the listener goes away with the connection
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            socket.create_connection((HOST, rport), timeout=1).close()
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the remote forward's listener outlived its connection")


@pytest.fixture(scope="module")
def no_forwarding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaitServer]:
    server = PlaitServer(tmp_path_factory.mktemp("plait-nofwd"),
                         listen_kwargs={"allow_forwarding": False}).start()
    try:
        yield server
    finally:
        server.stop()


def test_openssh_forwarding_denied(no_forwarding_server: PlaitServer,
                                   echo: EchoServer) -> None:
    server = no_forwarding_server
    lport = free_port()
    proc = _forwarder(server.port, ["-L", f"{HOST}:{lport}:{HOST}:{echo.port}"],
                      server.client_key, server.known_hosts, log_level="INFO")
    try:   # ssh listens locally, but each channel it opens is refused
        try:
            got = echo_through(lport, b"must not pass", deadline=5)
        except OSError:
            got = b""
        assert got == b""
    finally:
        err = _stop(proc)
    assert b"administratively prohibited" in err or b"open failed" in err, err
    r = ssh_run(server.port, "true", key=server.client_key, known_hosts=server.known_hosts,
                args=["-N", "-R", f"{HOST}:{free_port()}:{HOST}:{echo.port}"],
                options={"ExitOnForwardFailure": "yes", "LogLevel": "INFO"})
    assert r.returncode == 255
    assert b"remote port forwarding failed" in r.stderr.lower() or b"forward" in r.stderr


def test_dbclient_key_and_password(plait_server: PlaitServer) -> None:
    r = dbclient(plait_server.port, "echo from-dbclient", key=plait_server.client_key)
    assert (r.returncode, r.stdout) == (0, b"from-dbclient\n"), r.stderr
    r = dbclient(plait_server.port, "echo pw", user=PASSWORD_USER, password=PASSWORD)
    assert (r.returncode, r.stdout) == (0, b"pw\n"), r.stderr
    for cipher in ("chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr"):
        r = dbclient(plait_server.port, "echo c", key=plait_server.client_key,
                     args=["-c", cipher, "-m", "hmac-sha2-256"])
        assert (r.returncode, r.stdout) == (0, b"c\n"), (cipher, r.stderr)


# ---------------------------------------------------------------- paramiko, asyncssh -> plait


def _paramiko(server: PlaitServer) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(HOST, server.port, username=current_user(),
                   pkey=paramiko.Ed25519Key.from_private_key_file(str(server.client_key)),
                   allow_agent=False, look_for_keys=False, timeout=10, banner_timeout=10)
    return client


def _read_until(chan: paramiko.Channel, marker: bytes) -> bytes:
    chan.settimeout(READ_TIMEOUT)
    got = b""
    while marker not in got:
        chunk = chan.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def test_paramiko_exec_shell_sftp(plait_server: PlaitServer, tmp_path: Path) -> None:
    client = _paramiko(plait_server)
    try:
        _, out, err = client.exec_command("echo para; echo e >&2; exit 5", timeout=10)
        assert (out.read(), err.read()) == (b"para\n", b"e\n")
        assert out.channel.recv_exit_status() == 5
        chan = client.invoke_shell(term="xterm", width=100, height=30)
        chan.send(b"stty size; tty; echo $TERM; exit 0\n")
        got = _read_until(chan, b"xterm")
        assert b"30 100" in got and b"/dev/pts/" in got and b"xterm" in got, got
        chan.close()
        sftp = client.open_sftp()
        src = tmp_path / "p.bin"
        src.write_bytes(os.urandom(150_000))
        sftp.put(str(src), "/p.bin")
        assert sftp.stat("/p.bin").st_size == 150_000
        assert "p.bin" in sftp.listdir("/")
        sftp.get("/p.bin", str(tmp_path / "p2.bin"))
        assert (tmp_path / "p2.bin").read_bytes() == src.read_bytes()
        sftp.remove("/p.bin")
        sftp.close()
    finally:
        client.close()


@pytest.mark.parametrize("kex", ["mlkem768x25519-sha256", "curve25519-sha256",
                                 "diffie-hellman-group16-sha512"])
def test_paramiko_kex(plait_server: PlaitServer, kex: str) -> None:
    # paramiko has mlkem768x25519-sha256, which this OpenSSH lacks
    if kex not in paramiko.Transport._preferred_kex:
        pytest.skip(f"this paramiko has no {kex}")
    others = [k for k in paramiko.Transport._preferred_kex if k != kex]
    client = paramiko.SSHClient()
    client.load_host_keys(str(plait_server.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(HOST, plait_server.port, username=current_user(),
                   pkey=paramiko.Ed25519Key.from_private_key_file(str(plait_server.client_key)),
                   allow_agent=False, look_for_keys=False, timeout=10,
                   disabled_algorithms={"kex": others})
    try:   # every other kex disabled: a login proves this one worked
        _, out, _ = client.exec_command("echo kex", timeout=10)
        assert out.read() == b"kex\n"
    finally:
        client.close()


def test_openssh_against_default_server(default_server: PlaitServer) -> None:
    """listen()'s hardened defaults still take OpenSSH's own defaults, and refuse what
    they left out."""
    r = default_server.ssh("echo default")
    assert (r.returncode, r.stdout) == (0, b"default\n"), r.stderr
    r = default_server.ssh("true", options={"KexAlgorithms": "ecdh-sha2-nistp256",
                                            "LogLevel": "INFO"})
    assert r.returncode == 255 and b"no matching key exchange" in r.stderr


async def test_asyncssh_exec_pty_sftp(plait_server: PlaitServer, tmp_path: Path) -> None:
    async with asyncssh.connect(HOST, plait_server.port, username=current_user(),
                                client_keys=[str(plait_server.client_key)],
                                known_hosts=str(plait_server.known_hosts), agent_path=None,
                                config=None) as conn:
        r = await conn.run("echo async; exit 3", check=False)
        assert (r.exit_status, r.stdout) == (3, "async\n")
        r = await conn.run("tty; stty size", term_type="vt100", term_size=(90, 20),
                           check=False)
        assert r.exit_status == 0 and "/dev/pts/" in str(r.stdout), r
        assert "20 90" in str(r.stdout)
        async with conn.create_process("cat", term_type="xterm") as proc:
            proc.change_terminal_size(120, 40)
            proc.stdin.write("hello\n")
            line = await asyncio.wait_for(proc.stdout.readline(), READ_TIMEOUT)
            assert line.strip() == "hello"
            proc.stdin.write_eof()
        async with conn.start_sftp_client() as sftp:
            src = tmp_path / "a.bin"
            src.write_bytes(os.urandom(120_000))
            await sftp.put(str(src), "/a.bin")
            await sftp.get("/a.bin", str(tmp_path / "a2.bin"))
            assert (tmp_path / "a2.bin").read_bytes() == src.read_bytes()
            top = f"/{tmp_path.name}"
            await sftp.mkdir(top)
            await sftp.rename("/a.bin", f"{top}/a.bin")
            await sftp.mkdir(f"{top}/d")
            assert sorted(await sftp.listdir(top)) == [".", "..", "a.bin", "d"]
            assert (await sftp.stat(f"{top}/a.bin")).size == 120_000
            await sftp.rmdir(f"{top}/d")
            await sftp.remove(f"{top}/a.bin")
            await sftp.rmdir(top)


# ---------------------------------------------------------------- plait client -> sshd, dropbear


@pytest.fixture(scope="module")
def sshd() -> Iterator[SSHD]:
    with SSHD(host_keys=SERVER_HOST_KEYS) as server:
        yield server


@pytest.fixture(scope="module")
def dropbear() -> Iterator[Dropbear]:
    with Dropbear() as server:
        yield server


async def _connect(server: SSHD | Dropbear | PlaitServer, **config: Any) -> Any:
    ssh = _ssh()
    kwargs: dict[str, Any] = {}
    if config:
        kwargs["config"] = TransportConfig(**config)
    return await asyncio.wait_for(ssh.connect(
        HOST, server.port, username=current_user(), client_keys=[_key(server.client_key)],
        known_hosts=str(server.known_hosts), **kwargs), READ_TIMEOUT)


async def _run(server: SSHD | Dropbear | PlaitServer, command: str, **config: Any) -> Any:
    conn = await _connect(server, **config)
    try:
        return await asyncio.wait_for(conn.run(command), READ_TIMEOUT)
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_exec_sshd(sshd: SSHD) -> None:
    r = await _run(sshd, "echo out; echo err >&2; exit 9")
    assert (r.exit_status, r.stdout, r.stderr) == (9, b"out\n", b"err\n")


@pytest.mark.parametrize("kex", KEX)
async def test_plait_client_each_kex_sshd(sshd: SSHD, kex: str) -> None:
    _openssh_has(kex)
    r = await _run(sshd, "echo ok", kex_algorithms=[kex])
    assert (r.exit_status, r.stdout) == (0, b"ok\n")


@pytest.mark.parametrize("cipher", CIPHERS)
async def test_plait_client_each_cipher_sshd(sshd: SSHD, cipher: str) -> None:
    r = await _run(sshd, "echo ok", ciphers=[cipher])
    assert (r.exit_status, r.stdout) == (0, b"ok\n")


@pytest.mark.parametrize("mac", MACS)
async def test_plait_client_each_mac_sshd(sshd: SSHD, mac: str) -> None:
    r = await _run(sshd, "echo ok", ciphers=[NON_AEAD], macs=[mac])
    assert (r.exit_status, r.stdout) == (0, b"ok\n")


@pytest.mark.parametrize("alg", HOST_KEY_ALGS)
async def test_plait_client_each_host_key_sshd(sshd: SSHD, alg: str) -> None:
    r = await _run(sshd, "echo ok", host_key_algorithms=[alg])
    assert (r.exit_status, r.stdout) == (0, b"ok\n")


async def test_plait_client_refuses_changed_host_key(sshd: SSHD, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    public = keygen(tmp_path / "other", "ed25519")
    other.write_text(f"[{HOST}]:{sshd.port} {' '.join(public.split()[:2])}\n")
    ssh = _ssh()
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(ssh.connect(
            HOST, sshd.port, username=current_user(), client_keys=[_key(sshd.client_key)],
            known_hosts=str(other), config=TransportConfig(host_key_algorithms=["ssh-ed25519"])),
            READ_TIMEOUT)
    assert "host key" in str(info.value).lower()


async def test_plait_client_pty_shell_sshd(sshd: SSHD) -> None:
    conn = await _connect(sshd)
    try:
        session = await conn.open_session(term="xterm", cols=100, rows=30)
        session.write(b"stty size; echo $TERM; tty; exit 4\n")
        out = await asyncio.wait_for(session.stdout.read(), READ_TIMEOUT)
        assert b"30 100" in out and b"xterm" in out and b"/dev/pts/" in out, out
        assert await session.wait() == 4
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_sftp_sshd(sshd: SSHD, tmp_path: Path) -> None:
    conn = await _connect(sshd)
    try:   # against OpenSSH's sftp-server
        sftp = await conn.start_sftp()
        src = tmp_path / "x.bin"
        src.write_bytes(os.urandom(1_000_000))
        await sftp.put(src, str(tmp_path / "remote.bin"))
        await sftp.get(str(tmp_path / "remote.bin"), tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
        assert "remote.bin" in await sftp.listdir(str(tmp_path))
        await sftp.close()
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_local_forwarding_sshd(sshd: SSHD, echo: EchoServer) -> None:
    conn = await _connect(sshd)
    try:   # direct-tcpip to the echo server through sshd
        reader, writer = await conn.open_connection(HOST, echo.port)
        payload = os.urandom(100_000)
        writer.write(payload)
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(len(payload)), READ_TIMEOUT)
        assert got == payload
        writer.close()
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_remote_forwarding_sshd(sshd: SSHD, echo: EchoServer) -> None:
    conn = await _connect(sshd)
    try:   # tcpip-forward: sshd listens, its connections come back to the echo server
        listener = await conn.forward_remote_port(HOST, 0, HOST, echo.port)
        payload = os.urandom(100_000)
        loop = asyncio.get_running_loop()
        back = await loop.run_in_executor(None, echo_through, listener.port, payload)
        assert back == payload
        listener.close()
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_dropbear(dropbear: Dropbear) -> None:
    r = await _run(dropbear, "echo db; exit 2")
    assert (r.exit_status, r.stdout) == (2, b"db\n")
    for cipher in ("chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr"):
        r = await _run(dropbear, "echo c", ciphers=[cipher], macs=["hmac-sha2-256"])
        assert (r.exit_status, r.stdout) == (0, b"c\n"), cipher
    for kex in ("curve25519-sha256", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha256"):
        r = await _run(dropbear, "echo k", kex_algorithms=[kex])
        assert (r.exit_status, r.stdout) == (0, b"k\n"), kex
    for alg in ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256"):
        r = await _run(dropbear, "echo h", host_key_algorithms=[alg])
        assert (r.exit_status, r.stdout) == (0, b"h\n"), alg


async def test_plait_client_dropbear_pty_shell_and_sftp(dropbear: Dropbear,
                                                        tmp_path: Path) -> None:
    conn = await _connect(dropbear)
    try:
        session = await conn.open_session(term="vt100", cols=91, rows=21)
        session.write(b"stty size; tty; exit 6\n")
        out = await asyncio.wait_for(session.stdout.read(), READ_TIMEOUT)
        assert b"21 91" in out and b"/dev/pts/" in out, out
        assert await session.wait() == 6
        # dropbear runs /usr/lib/sftp-server for the sftp subsystem
        sftp = await conn.start_sftp()
        src = tmp_path / "d.bin"
        src.write_bytes(os.urandom(300_000))
        await sftp.put(src, str(tmp_path / "up.bin"))
        await sftp.get(str(tmp_path / "up.bin"), tmp_path / "down.bin")
        assert (tmp_path / "down.bin").read_bytes() == src.read_bytes()
        await sftp.close()
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_dropbear_forwarding(dropbear: Dropbear, echo: EchoServer) -> None:
    conn = await _connect(dropbear)
    try:
        reader, writer = await conn.open_connection(HOST, echo.port)
        writer.write(b"through dropbear")
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(16), READ_TIMEOUT)
        assert got == b"through dropbear"
        writer.close()
    finally:
        conn.close()
        await conn.wait_closed()


async def test_plait_client_to_plait_server(plait_server: PlaitServer) -> None:
    r = await _run(plait_server, "echo self; exit 1")
    assert (r.exit_status, r.stdout) == (1, b"self\n")


# ---------------------------------------------------------------- ssh-audit


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaitServer]:
    """A plait server as ``plait serve`` sets it up: the host keys the SSH service makes on
    first run (load_or_create_host_keys), default TransportConfig."""
    from plait.conch.ssh.service import load_or_create_host_keys

    d = tmp_path_factory.mktemp("plait-default")
    load_or_create_host_keys(d / "keys")
    server = PlaitServer(d, host_key_dir=d / "keys").start()
    try:
        yield server
    finally:
        server.stop()


def test_ssh_audit_library_default(default_server: PlaitServer) -> None:
    """listen()'s default (TransportConfig.hardened()): no failure, and no warning but the
    post-quantum one on each classic fallback it keeps for older clients (plait serve
    offers post-quantum kex only and gets no warning at all: test_service.py)."""
    _, problems, report = ssh_audit(default_server.port)
    fallbacks = set(TransportConfig.hardened().kex_algorithms) - set(POST_QUANTUM_KEX)
    expected = {f"WARN kex {k}: does not provide protection against post-quantum attacks"
                for k in fallbacks}
    assert set(problems) == expected, "\n".join(problems)
    assert len(problems) == len(expected)
    offered = [e["algorithm"] for e in report["kex"]]
    assert offered[:3] == list(POST_QUANTUM_KEX)
    assert report["banner"]["software"].lower().startswith("plait")


# ---------------------------------------------------------------- bad input


def _packet(payload: bytes, block: int = 8) -> bytes:
    """An unencrypted binary packet (RFC 4253 §6) carrying ``payload``."""
    pad = block - (len(payload) + 5) % block
    if pad < 4:
        pad += block
    return struct.pack(">IB", len(payload) + pad + 1, pad) + payload + os.urandom(pad)


def _read_plain_packets(sock: socket.socket, data: bytes) -> Iterator[bytes]:
    """Payloads of the unencrypted packets the server sends, until it closes."""
    sock.settimeout(READ_TIMEOUT)
    while True:
        while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        length = struct.unpack(">I", data[:4])[0]
        pad = data[4]
        yield data[5:4 + length - pad]
        data = data[4 + length:]


def _disconnect_reason(sock: socket.socket, after_banner: bytes) -> int | None:
    """The reason code of the server's plaintext DISCONNECT (None: closed without one)."""
    for payload in _read_plain_packets(sock, after_banner):
        if payload[:1] == b"\x01":
            return struct.unpack(">I", payload[1:5])[0]
    return None


def _open_raw(server: PlaitServer, first: bytes) -> tuple[socket.socket, bytes]:
    """Connect, send ``first``, read the server's version line; the socket and the bytes
    read past that line."""
    s = socket.create_connection((HOST, server.port), timeout=READ_TIMEOUT)
    s.sendall(first)
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    line, _, rest = data.partition(b"\r\n")
    assert line.startswith(b"SSH-2.0-"), data
    return s, rest


@pytest.fixture
def witness(plait_server: PlaitServer) -> Iterator[paramiko.SSHClient]:
    """A session open on the server during a bad-input test; it must still work after."""
    client = _paramiko(plait_server)
    yield client
    try:
        _, out, _ = client.exec_command("echo alive", timeout=10)
        assert out.read() == b"alive\n", "another session stopped working"
    finally:
        client.close()


def _closed(sock: socket.socket) -> bool:
    """True when the server closes (or resets) the connection within READ_TIMEOUT."""
    sock.settimeout(READ_TIMEOUT)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_garbage_before_banner_is_dropped(plait_server: PlaitServer,
                                          witness: paramiko.SSHClient) -> None:
    with socket.create_connection((HOST, plait_server.port), timeout=READ_TIMEOUT) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed(s)
    line = banner(plait_server.port)
    assert line is not None


def test_overlong_version_line_is_dropped(plait_server: PlaitServer,
                                          witness: paramiko.SSHClient) -> None:
    with socket.create_connection((HOST, plait_server.port), timeout=READ_TIMEOUT) as s:
        s.sendall(b"SSH-2.0-" + b"x" * 100_000)
        start = time.monotonic()
        assert _closed(s)
        assert time.monotonic() - start < READ_TIMEOUT


def test_garbage_after_banner_disconnects_protocol_error(
        plait_server: PlaitServer, witness: paramiko.SSHClient) -> None:
    s, rest = _open_raw(plait_server, b"SSH-2.0-garbage\r\n" + os.urandom(64))
    with s:
        reason = _disconnect_reason(s, rest)
    assert reason == DisconnectReason.PROTOCOL_ERROR


def test_oversize_packet_disconnects_protocol_error(
        plait_server: PlaitServer, witness: paramiko.SSHClient) -> None:
    big = struct.pack(">IB", 1_000_000, 4) + b"\x14" + os.urandom(1000)
    s, rest = _open_raw(plait_server, b"SSH-2.0-big\r\n" + big)
    with s:
        reason = _disconnect_reason(s, rest)
    assert reason == DisconnectReason.PROTOCOL_ERROR


def test_message_out_of_state_before_kex(plait_server: PlaitServer,
                                         witness: paramiko.SSHClient) -> None:
    # a SERVICE_REQUEST (5) before any key exchange: RFC 4253 allows only transport
    # messages until the first NEWKEYS
    req = b"\x05" + struct.pack(">I", 14) + b"ssh-connection"
    s, rest = _open_raw(plait_server, b"SSH-2.0-early\r\n" + _packet(req))
    with s:
        reason = _disconnect_reason(s, rest)
    assert reason == DisconnectReason.PROTOCOL_ERROR


class _DisconnectLog(logging.Handler):
    """Collects the reason codes paramiko logs for DISCONNECT messages it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("Disconnect (code "):
            self.codes.append(int(msg.split("code ", 1)[1].split(")", 1)[0]))


@pytest.fixture
def disconnects() -> Iterator[_DisconnectLog]:
    handler = _DisconnectLog()
    logger = logging.getLogger("paramiko.transport")
    old = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


def _paramiko_transport(server: PlaitServer, **disabled: list[str]) -> paramiko.Transport:
    t = paramiko.Transport((HOST, server.port), disabled_algorithms=disabled or None)
    t.banner_timeout = 10
    t.start_client(timeout=10)
    assert t.get_remote_server_key() is not None
    return t


def _wait_closed(t: paramiko.Transport, timeout: float = READ_TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while t.is_active() and time.monotonic() < end:
        time.sleep(0.05)
    assert not t.is_active(), "the server kept the connection"


def test_bad_mac_disconnects_mac_error(plait_server: PlaitServer, witness: paramiko.SSHClient,
                                       disconnects: _DisconnectLog) -> None:
    # aes128-ctr + hmac-sha2-256-etm: the length is in the clear, so a packet of a valid
    # length with a wrong MAC reaches the MAC check
    t = _paramiko_transport(plait_server, ciphers=[c for c in paramiko.Transport._preferred_ciphers
                                                   if c != "aes128-ctr"],
                            macs=[m for m in paramiko.Transport._preferred_macs
                                  if m != "hmac-sha2-256-etm@openssh.com"])
    try:
        assert t.local_cipher == "aes128-ctr" and t.local_mac == "hmac-sha2-256-etm@openssh.com"
        t.sock.sendall(struct.pack(">I", 32) + os.urandom(32) + os.urandom(32))
        _wait_closed(t)
    finally:
        t.close()
    assert DisconnectReason.MAC_ERROR in disconnects.codes, disconnects.codes


def test_channel_open_before_auth_is_refused(plait_server: PlaitServer,
                                             witness: paramiko.SSHClient,
                                             disconnects: _DisconnectLog) -> None:
    t = _paramiko_transport(plait_server)
    try:
        m = paramiko.Message()
        m.add_byte(bytes([90]))           # CHANNEL_OPEN, before ssh-userauth succeeded
        m.add_string("session")
        m.add_int(0)
        m.add_int(65536)
        m.add_int(32768)
        t._send_message(m)
        _wait_closed(t)
    finally:
        t.close()
    assert DisconnectReason.PROTOCOL_ERROR in disconnects.codes, disconnects.codes


def test_auth_flood_disconnects(plait_server: PlaitServer, witness: paramiko.SSHClient,
                                disconnects: _DisconnectLog) -> None:
    t = _paramiko_transport(plait_server)
    attempts = 0
    try:
        for i in range(50):
            if not t.is_active():
                break
            attempts += 1
            with contextlib.suppress(paramiko.SSHException):
                t.auth_password(PASSWORD_USER, f"wrong-{i}")
        _wait_closed(t)
    finally:
        t.close()
    assert attempts <= 7, f"{attempts} password attempts allowed on one connection"
    assert DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE in disconnects.codes, \
        disconnects.codes


def test_many_half_open_connections_do_not_stop_service(plait_server: PlaitServer) -> None:
    socks = [socket.create_connection((HOST, plait_server.port), timeout=5) for _ in range(30)]
    try:
        r = plait_server.ssh("echo still")
        assert (r.returncode, r.stdout) == (0, b"still\n"), r.stderr
    finally:
        for s in socks:
            s.close()

