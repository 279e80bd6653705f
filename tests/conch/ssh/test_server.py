"""The plait SSH server against real clients: OpenSSH ``ssh`` with each kex, cipher, MAC
and host key type forced one at a time, password and key logins, sessions with callbacks
and streams, paramiko and asyncssh clients."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh
import paramiko
import pytest

from conch.peers import dbclient, keygen, require, ssh_run
from plait.conch.ssh import Key, SSHServer, TransportConfig, listen
from plait.conch.ssh.kex import KEX_METHODS
from plait.conch.ssh.packet import CIPHERS, MACS
from plait.conch.ssh.server import SSHServerProcess, SSHServerSession
from plait.conch.ssh.session import PtyRequest, WindowChange
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal, SSHPublicKeyChecker

pytestmark = pytest.mark.interop

HOST_KEYS = {"ed25519": Key.generate("ed25519"), "ecdsa": Key.generate("ecdsa"),
             "ecdsa384": Key.generate("ecdsa", 384), "ecdsa521": Key.generate("ecdsa", 521),
             "rsa": Key.generate("rsa", 2048)}
USER = "alice"


class Realm:
    def request_avatar(self, avatar_id: object, mind: object, *interfaces: object) -> tuple:
        return interfaces[0], avatar_id, lambda: None


async def echo_handler(process: SSHServerProcess) -> int:
    """exec "echo X" prints X; "cat" copies stdin; "exit N" exits N; shell says hello."""
    cmd = process.command or ""
    if cmd.startswith("echo "):
        process.stdout.write(cmd[5:].encode() + b"\n")
        return 0
    if cmd.startswith("exit "):
        process.stderr.write(b"leaving\n")
        return int(cmd[5:])
    if cmd in ("cat", "") or process.subsystem:
        while chunk := await process.stdin.read(65536):
            process.stdout.write(chunk)
            await process.stdout.drain()
        return 0
    if cmd == "count":
        total = 0
        while chunk := await process.stdin.read(1 << 20):
            total += len(chunk)
        process.stdout.write(f"{total}\n".encode())
        return 0
    process.stderr.write(b"unknown command\n")
    return 127


class Keys:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="plait-ssh-test-"))
        self.line = keygen(self.dir / "id_ed25519", "ed25519")
        self.path = self.dir / "id_ed25519"


@asynccontextmanager
async def server(keys: Keys, **kw: object) -> AsyncIterator[SSHServer]:
    portal = Portal(Realm(), [SSHPublicKeyChecker({USER: [keys.line]}),
                              InMemoryUsernamePasswordChecker({USER: "s3cret"})])
    kw.setdefault("process_factory", echo_handler)
    kw.setdefault("config", TransportConfig())   # every algorithm, not the hardened default
    srv = await listen("127.0.0.1", 0, server_host_keys=list(HOST_KEYS.values()),
                       portal=portal, failure_delay=0.05, **kw)  # type: ignore[arg-type]
    try:
        yield srv
    finally:
        srv.close()
        await srv.wait_closed()


def _known_hosts(keys: Keys, port: int) -> Path:
    path = keys.dir / f"known_hosts_{port}"
    path.write_text("".join(f"[127.0.0.1]:{port} {k.public_line()}\n"
                            for k in HOST_KEYS.values()))
    return path


async def _ssh(port: int, command: str, keys: Keys, *, options: dict[str, str] | None = None,
               input: bytes | None = None, verbose: bool = False, password: str | None = None
               ) -> tuple[int, bytes, str]:
    r = await asyncio.to_thread(
        ssh_run, port, command, key=None if password else keys.path, user=USER,
        password=password, known_hosts=_known_hosts(keys, port), options=options,
        input=input, args=["-vv"] if verbose else [])
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


async def test_openssh_exec_with_key() -> None:
    keys = Keys()
    async with server(keys) as srv:
        code, out, err = await _ssh(srv.port, "echo hello", keys, verbose=True)
        assert (code, out) == (0, b"hello\n"), err
        assert "SSH2_MSG_NEWKEYS received" in err
        assert 'Authenticated to 127.0.0.1' in err and "publickey" in err
        code, out, err = await _ssh(srv.port, "exit 42", keys)
        assert code == 42 and out == b""
        code, out, _ = await _ssh(srv.port, "cat", keys, input=b"x" * 300_000)
        assert code == 0 and out == b"x" * 300_000


async def test_openssh_password_login() -> None:
    keys = Keys()
    async with server(keys) as srv:
        code, out, err = await _ssh(srv.port, "echo pw", keys, password="s3cret")
        assert (code, out) == (0, b"pw\n"), err
        code, out, err = await _ssh(srv.port, "echo pw", keys, password="wrong")
        assert code in (5, 255) and out == b""   # sshpass says 5: wrong password


def _openssh_kex() -> set[str]:
    out = subprocess.run([require("ssh"), "-Q", "kex"], capture_output=True, check=True)
    return set(out.stdout.decode().split())


def _matrix() -> list[tuple[str, str]]:
    cases = [("KexAlgorithms", k) for k in KEX_METHODS if k in _openssh_kex()]
    cases += [("Ciphers", c) for c in CIPHERS if c != "none"]
    cases += [("MACs", m) for m in MACS]
    cases += [("HostKeyAlgorithms", h) for h in (
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "rsa-sha2-512", "rsa-sha2-256")]
    return cases


@pytest.mark.parametrize("option,value", _matrix())
async def test_openssh_each_algorithm(option: str, value: str) -> None:
    keys = Keys()
    options = {option: value}
    if option == "MACs":    # a MAC is only used with a non-AEAD cipher
        options["Ciphers"] = "aes128-ctr"
    async with server(keys) as srv:
        code, out, err = await _ssh(srv.port, "echo algo", keys, options=options, verbose=True)
        assert (code, out) == (0, b"algo\n"), err
        kex_lines = [line for line in err.splitlines() if "kex: " in line]
        if option == "KexAlgorithms":
            assert f"kex: algorithm: {value}" in err
        elif option == "HostKeyAlgorithms":
            assert f"kex: host key algorithm: {value}" in err
        elif option == "Ciphers":
            assert f"server->client cipher: {value}" in err, kex_lines
        else:
            assert f"MAC: {value}" in err, kex_lines


async def test_openssh_compression_and_rekey() -> None:
    keys = Keys()
    async with server(keys) as srv:
        code, out, err = await _ssh(srv.port, "count", keys, input=b"z" * 3_000_000,
                                    options={"Compression": "yes", "RekeyLimit": "256K"},
                                    verbose=True)
        assert (code, out) == (0, b"3000000\n"), err[-2000:]
        assert "compression: zlib@openssh.com" in err
        assert err.count("SSH2_MSG_NEWKEYS received") >= 3


class Recorder(SSHServerSession):
    """A callback-style session recording what it was asked."""

    log: list[object] = []

    def pty_requested(self, pty: PtyRequest) -> bool:
        self.log.append(("pty", pty.term, pty.cols, pty.rows))
        return True

    def shell_requested(self) -> bool:
        self.log.append("shell")
        self.channel.write(b"welcome\r\n")
        return True

    def exec_requested(self, command: str) -> bool:
        self.log.append(("exec", command))
        self.channel.write(f"ran {command}\n".encode())
        self.channel.exit(7)
        return True

    def data_received(self, data: bytes, ext: int | None) -> None:
        self.log.append(("data", data))
        if b"q" in data:
            self.channel.write(b"bye\r\n")
            self.channel.exit(0)
        else:
            self.channel.write(data.upper())

    def window_changed(self, change: WindowChange) -> None:
        self.log.append(("resize", change.cols, change.rows))


async def test_callback_session_with_paramiko_pty_shell() -> None:
    keys = Keys()
    Recorder.log = []
    async with server(keys, process_factory=None, session_factory=lambda avatar: Recorder()
                      ) as srv:
        def run() -> tuple[bytes, int]:
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect("127.0.0.1", srv.port, username=USER, password="s3cret",
                           allow_agent=False, look_for_keys=False, timeout=10)
            try:
                chan = client.get_transport().open_session()  # type: ignore[union-attr]
                chan.get_pty("xterm", 100, 30)
                chan.invoke_shell()
                got = b""
                while b"welcome" not in got:
                    got += chan.recv(1024)
                chan.resize_pty(120, 40)
                chan.send(b"abc")
                while b"ABC" not in got:
                    got += chan.recv(1024)
                chan.send(b"q")
                while b"bye" not in got:
                    got += chan.recv(1024)
                status = chan.recv_exit_status()
                _stdin, stdout, _ = client.exec_command("uname")
                assert stdout.read() == b"ran uname\n"
                assert stdout.channel.recv_exit_status() == 7
                return got, status
            finally:
                client.close()
        _got, status = await asyncio.to_thread(run)
        assert status == 0
        assert ("pty", "xterm", 100, 30) in Recorder.log and "shell" in Recorder.log
        assert ("resize", 120, 40) in Recorder.log
        assert ("exec", "uname") in Recorder.log


async def test_asyncssh_client_exec_and_key_login() -> None:
    keys = Keys()
    async with server(keys) as srv, asyncssh.connect("127.0.0.1", srv.port, username=USER,
                                client_keys=[str(keys.path)], known_hosts=None) as conn:
        r = await conn.run("echo from-asyncssh")
        assert r.exit_status == 0 and r.stdout == "from-asyncssh\n"
        r = await conn.run("cat", input="piped")
        assert r.stdout == "piped"
        r = await conn.run("exit 3")
        assert r.exit_status == 3 and r.stderr == "leaving\n"


async def test_wrong_key_refused_and_server_keeps_serving() -> None:
    keys = Keys()
    other = Keys()
    async with server(keys) as srv:
        code, _, err = await _ssh(srv.port, "echo no", other)
        assert code == 255 and "Permission denied" in err
        code, out, _ = await _ssh(srv.port, "echo yes", keys)
        assert (code, out) == (0, b"yes\n")


async def test_hardened_default_and_mlkem_with_asyncssh() -> None:
    keys = Keys()
    async with server(keys, config=None) as srv:
        # the default refuses NIST-curve ECDH and non-ETM MACs ...
        code, _, err = await _ssh(srv.port, "echo x", keys,
                                  options={"KexAlgorithms": "ecdh-sha2-nistp256"}, verbose=True)
        assert code == 255 and "no matching key exchange method" in err
        code, _, err = await _ssh(srv.port, "echo x", keys,
                                  options={"Ciphers": "aes128-ctr", "MACs": "hmac-sha2-256"},
                                  verbose=True)
        assert code == 255 and "no matching MAC" in err
        # ... and speaks the post-quantum hybrid (asyncssh has it; Debian 12's ssh has not)
        async with asyncssh.connect("127.0.0.1", srv.port, username=USER,
                                    client_keys=[str(keys.path)], known_hosts=None,
                                    kex_algs=["mlkem768x25519-sha256"]) as conn:
            assert conn.get_extra_info("kex_alg", "") in ("", "mlkem768x25519-sha256")
            r = await conn.run("echo pq")
            assert r.stdout == "pq\n"
        code, out, _ = await _ssh(srv.port, "echo classic", keys)
        assert (code, out) == (0, b"classic\n")


async def test_dropbear_client() -> None:
    keys = Keys()
    async with server(keys, config=None) as srv:
        r = await asyncio.to_thread(dbclient, srv.port, "echo from-dbclient", key=keys.path,
                                    user=USER)
        assert (r.returncode, r.stdout) == (0, b"from-dbclient\n"), r.stderr
        r = await asyncio.to_thread(dbclient, srv.port, "cat", password="s3cret", user=USER,
                                    input=b"via password")
        assert (r.returncode, r.stdout) == (0, b"via password"), r.stderr
        r = await asyncio.to_thread(dbclient, srv.port, "exit 6", key=keys.path, user=USER)
        assert r.returncode == 6


async def test_dropbear_right_guess_is_used() -> None:
    # dropbear sends its guessed kex packet; with curve25519-sha256 and ssh-ed25519 first on
    # both sides the guess is right and must be answered, not dropped
    keys = Keys()
    config = TransportConfig.hardened(kex_algorithms=("curve25519-sha256",),
                                      host_key_algorithms=("ssh-ed25519",))
    async with server(keys, config=config) as srv:
        r = await asyncio.to_thread(dbclient, srv.port, "echo guessed", key=keys.path,
                                    user=USER)
        assert (r.returncode, r.stdout) == (0, b"guessed\n"), r.stderr


async def test_ssh_audit_defaults() -> None:
    """ssh-audit against listen()'s defaults (ed25519 and RSA host keys): no failures; the
    only warnings left are ssh-audit 3.9's "no post-quantum protection" on the classic key
    exchanges, which OpenSSH before 9.9 (Debian 12's included) still needs."""
    portal = Portal(Realm(), [InMemoryUsernamePasswordChecker({USER: "s3cret"})])
    srv = await listen("127.0.0.1", 0, server_host_keys=[HOST_KEYS["ed25519"],
                                                         Key.generate("rsa", 3072)],
                       portal=portal, process_factory=echo_handler)
    try:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "ssh-audit"),
            "--skip-rate-test", "-n", "-p", str(srv.port), "127.0.0.1",
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        srv.close()
        await srv.wait_closed()
    text = out.decode(errors="replace")
    assert "mlkem768x25519-sha256" in text and "kex-strict-s-v00@openssh.com" in text
    assert "[fail]" not in text, text
    warnings = [line for line in text.splitlines() if "[warn]" in line]
    assert all("post-quantum" in line for line in warnings), warnings
