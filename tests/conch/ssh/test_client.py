"""The plait SSH client against real servers: OpenSSH sshd (every algorithm, exec, stdin,
pty shell, SFTP, host key checks, a password asked again on one connection) and paramiko's
server."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import asyncssh
import paramiko
import pytest

from conch.peers import SSHD, Dropbear, password_account, require
from plait.conch.ssh import AuthenticationError, HostKeyError, Key, TransportConfig, connect
from plait.conch.ssh.kex import KEX_METHODS
from plait.conch.ssh.known_hosts import KnownHosts
from plait.conch.ssh.packet import CIPHERS, MACS

pytestmark = pytest.mark.interop

HOST_KEY_ALGS = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256")


@pytest.fixture(scope="module")
def sshd() -> Iterator[SSHD]:
    with SSHD(host_keys=("ed25519", "ecdsa", "ecdsa:384", "ecdsa:521", "rsa")) as server:
        yield server


async def _connect(sshd: SSHD, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("known_hosts", sshd.known_hosts)
    return await connect("127.0.0.1", sshd.port, username=sshd.user,
                         client_keys=[sshd.client_key], **kw)  # type: ignore[arg-type]


async def test_exec_on_sshd(sshd: SSHD) -> None:
    async with await _connect(sshd) as conn:
        r = await conn.run("echo hello; echo oops >&2; exit 5")
        assert (r.exit_status, r.stdout, r.stderr) == (5, b"hello\n", b"oops\n")
        r = await conn.run("wc -c", input=b"q" * 1_000_000)
        assert r.stdout.strip() == b"1000000"
        assert conn.server_host_key is not None
        results = await asyncio.gather(*(conn.run(f"echo {i}") for i in range(5)))
        assert [x.stdout for x in results] == [f"{i}\n".encode() for i in range(5)]


def _matrix() -> list[tuple[str, str]]:
    sshd_kex = subprocess.run([require("ssh"), "-Q", "kex"], capture_output=True,   # same build
                              check=True).stdout.decode().split()
    cases = [("kex_algorithms", k) for k in KEX_METHODS if k in sshd_kex]
    cases += [("ciphers", c) for c in CIPHERS if c != "none"]
    cases += [("macs", m) for m in MACS]
    cases += [("host_key_algorithms", h) for h in HOST_KEY_ALGS]
    return cases


@pytest.mark.parametrize("field,value", _matrix())
async def test_each_algorithm_against_sshd(sshd: SSHD, field: str, value: str) -> None:
    config = replace(TransportConfig(), **{field: (value,)})
    if field == "macs":
        config = replace(config, ciphers=("aes256-ctr",))
    async with await _connect(sshd, config=config) as conn:
        alg = conn.transport.algorithms
        assert alg is not None
        got = {"kex_algorithms": alg.kex, "ciphers": alg.cipher_cs, "macs": alg.mac_cs,
               "host_key_algorithms": alg.host_key}[field]
        assert got == value and alg.strict_kex
        r = await conn.run("echo ok")
        assert r.stdout == b"ok\n"


async def test_rekey_while_streaming_to_sshd(sshd: SSHD) -> None:
    config = TransportConfig(rekey_bytes=300_000)
    async with await _connect(sshd, config=config) as conn:
        session = await conn.open_session("wc -c")
        for _ in range(40):
            session.write(b"r" * 50_000)
            await session.drain()
        session.write_eof()
        out = await session.stdout.read()
        assert out.strip() == b"2000000"
        assert await session.wait() == 0


async def test_pty_shell_on_sshd(sshd: SSHD) -> None:
    async with await _connect(sshd) as conn:
        session = await conn.open_session(term="xterm", cols=91, rows=27)
        session.write(b"stty size; exit 3\n")
        out = await asyncio.wait_for(session.stdout.read(), 20)
        assert b"27 91" in out
        assert await session.wait() == 3


async def test_sftp_on_sshd(sshd: SSHD, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.txt").write_bytes(b"sftp data" * 1000)
    async with await _connect(sshd) as conn:
        sftp = await conn.start_sftp()
        names = await sftp.listdir(str(tmp_path))
        assert "a.txt" in [n if isinstance(n, str) else n.decode() for n in names]
        await sftp.close()


async def test_unknown_host_key_refused(sshd: SSHD) -> None:
    stranger = Key.generate("ed25519").public_key()
    with pytest.raises(HostKeyError):
        await _connect(sshd, known_hosts=[stranger])
    db = KnownHosts.from_file(sshd.known_hosts)
    async with await _connect(sshd, known_hosts=db) as conn:
        assert (await conn.run("true")).exit_status == 0


async def test_wrong_client_key_refused(sshd: SSHD) -> None:
    with pytest.raises(AuthenticationError):
        await connect("127.0.0.1", sshd.port, username=sshd.user,
                      client_keys=[Key.generate("ed25519")], known_hosts=sshd.known_hosts)


PASSWORD = "Pw-7vq!x2"


class _Answers:
    """A password callback giving ``answers`` in turn (async when ``is_async``)."""

    def __init__(self, answers: list[str | None], is_async: bool) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.is_async = is_async

    def __call__(self) -> object:
        self.calls += 1
        value = self.answers.pop(0)
        if not self.is_async:
            return value

        async def later() -> str | None:
            await asyncio.sleep(0)
            return value
        return later()


@pytest.mark.parametrize("is_async", [True, False], ids=["async", "sync"])
async def test_password_asked_again_on_one_connection_sshd(tmp_path: Path,
                                                           is_async: bool) -> None:
    with password_account(PASSWORD, tmp_path / "home") as user, \
            SSHD(extra_config={"PasswordAuthentication": "yes"}) as sshd:
        answers = _Answers(["wrong", PASSWORD], is_async)
        async with await connect("127.0.0.1", sshd.port, username=user, password=answers,
                                 known_hosts=sshd.known_hosts) as conn:
            r = await conn.run("id -un")
        assert r.stdout == f"{user}\n".encode() and answers.calls == 2
        # sshd saw both tries on the same TCP connection (the same client port)
        log = sshd.log()
        failed = [line.rsplit(" port ", 1)[1].split()[0] for line in log.splitlines()
                  if f"Failed password for {user} from" in line]
        accepted = [line.rsplit(" port ", 1)[1].split()[0] for line in log.splitlines()
                    if f"Accepted password for {user} from" in line]
        assert len(failed) == 1 and accepted == failed, log[-2000:]


async def test_password_callback_limits_and_errors_sshd(tmp_path: Path) -> None:
    with password_account(PASSWORD, tmp_path / "home") as user, \
            SSHD(extra_config={"PasswordAuthentication": "yes"}) as sshd:
        answers = _Answers(["a", "b", "c", PASSWORD], True)
        with pytest.raises(AuthenticationError):     # three attempts, then no more
            await connect("127.0.0.1", sshd.port, username=user, password=answers,
                          known_hosts=sshd.known_hosts, password_attempts=3)
        assert answers.calls == 3
        gave_up = _Answers([None], False)
        with pytest.raises(AuthenticationError):
            await connect("127.0.0.1", sshd.port, username=user, password=gave_up,
                          known_hosts=sshd.known_hosts)
        assert gave_up.calls == 1

        def broken() -> str:
            raise RuntimeError("no terminal")
        with pytest.raises(AuthenticationError, match="password callback failed: no terminal"):
            await connect("127.0.0.1", sshd.port, username=user, password=broken,
                          known_hosts=sshd.known_hosts)
        with pytest.raises(ValueError):
            await connect("127.0.0.1", sshd.port, username=user, password=broken,
                          known_hosts=sshd.known_hosts, password_attempts=0)


async def test_connect_timeout_excludes_time_in_the_password_callback(tmp_path: Path
                                                                        ) -> None:
    with password_account(PASSWORD, tmp_path / "home") as user, \
            SSHD(extra_config={"PasswordAuthentication": "yes"}) as sshd:
        async def slow_typist() -> str:
            await asyncio.sleep(2.5)          # longer than the whole connect_timeout
            return PASSWORD
        async with await connect("127.0.0.1", sshd.port, username=user, password=slow_typist,
                                 known_hosts=sshd.known_hosts, connect_timeout=2.0) as conn:
            assert (await conn.run("true")).exit_status == 0


class _Realm:
    def request_avatar(self, avatar_id: object, mind: object, *interfaces: object) -> tuple:
        return interfaces[0], avatar_id, lambda: None


async def test_connect_timeout_excludes_time_in_keyboard_interactive() -> None:
    from plait.conch.ssh import SSHServerProcess, listen
    from plait.core.cred import InMemoryUsernamePasswordChecker, Portal

    async def hello(process: SSHServerProcess) -> int:
        return 0
    host_key = Key.generate("ed25519")
    server = await listen("127.0.0.1", 0, server_host_keys=[host_key],
                          portal=Portal(_Realm(), [InMemoryUsernamePasswordChecker({"u": "p"})]),
                          process_factory=hello, auth_methods=("keyboard-interactive",),
                          failure_delay=0.0)
    try:
        def slow_person(name: str, instruction: str, prompts: list[tuple[str, bool]]
                        ) -> list[str]:
            time.sleep(2.5)      # a blocking prompt (getpass), longer than connect_timeout
            return ["p"]
        async with await connect("127.0.0.1", server.port, username="u",
                                 kbd_interactive=slow_person, known_hosts=[host_key],
                                 connect_timeout=2.0) as conn:
            assert (await conn.run("true")).exit_status == 0
    finally:
        server.close()
        await server.wait_closed()


class _ParamikoServer(paramiko.ServerInterface):
    def __init__(self) -> None:
        self.done = threading.Event()

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_SUCCESSFUL if password == "pw" else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        def answer() -> None:
            channel.sendall(b"paramiko ran " + command)
            channel.send_exit_status(9)
            channel.close()
        # after paramiko has sent CHANNEL_SUCCESS for this request
        threading.Timer(0.3, answer).start()
        return True


async def test_against_paramiko_server() -> None:
    pm_key = paramiko.ECDSAKey.generate()
    pkey = Key.from_public_blob(pm_key.asbytes())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        sock, _ = listener.accept()
        t = paramiko.Transport(sock)
        t.add_server_key(pm_key)
        t.start_server(server=_ParamikoServer())
        chan = t.accept(10)   # kept: a collected paramiko Channel closes itself
        deadline = time.monotonic() + 20
        while t.is_active() and time.monotonic() < deadline:
            time.sleep(0.05)
        t.close()
        del chan

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        conn = await connect("127.0.0.1", port, username="u", password="pw",
                             known_hosts=[pkey])
        r = await conn.run("hostname")
        assert (r.exit_status, r.stdout) == (9, b"paramiko ran hostname")
        conn.close()
        await conn.wait_closed()
    finally:
        listener.close()
        await asyncio.to_thread(thread.join, 10)


class _AsyncsshServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return password == "pw"


async def test_against_asyncssh_server_with_mlkem() -> None:
    host_key = asyncssh.generate_private_key("ssh-ed25519")

    async def process(proc: asyncssh.SSHServerProcess) -> None:
        data = await proc.stdin.read()
        proc.stdout.write(f"{proc.command}:{data}")
        proc.exit(4)

    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[host_key],
                                   server_factory=_AsyncsshServer, process_factory=process,
                                   kex_algs=["mlkem768x25519-sha256"])
    port = server.sockets[0].getsockname()[1]
    try:
        known = Key.from_public_blob(host_key.public_data)
        async with await connect("127.0.0.1", port, username="u", password="pw",
                                 known_hosts=[known]) as conn:
            alg = conn.transport.algorithms
            assert alg is not None and alg.kex == "mlkem768x25519-sha256"
            r = await conn.run("cmd", input=b"in")
            assert (r.exit_status, r.stdout) == (4, b"cmd:in")
    finally:
        server.close()
        await server.wait_closed()


async def test_against_dropbear() -> None:
    with Dropbear() as dropbear:
        conn = await connect("127.0.0.1", dropbear.port, username=dropbear.user,
                             client_keys=[dropbear.client_key],
                             known_hosts=dropbear.known_hosts)
        async with conn:
            r = await conn.run("echo dropbear; exit 2")
            assert (r.exit_status, r.stdout) == (2, b"dropbear\n")
            r = await conn.run("wc -c", input=b"d" * 500_000)
            assert r.stdout.strip() == b"500000"
