"""The `plait serve` SSH service: OpenSSH ``ssh``/``sftp`` log in to a real `plait serve`
(users from ``axiomatic userbase create``): exec output and status, a pty shell with
``ssh -tt``, ``sftp -b`` in the user's directory, key logins from the account's keys;
host keys made once 0600 and reused; the session factory is pluggable."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from conch.peers import keygen, ssh_audit
from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.conch.ssh import ConnectionLost, Key, SSHServerProcess, TransportConfig, connect
from plait.conch.ssh.constants import DisconnectReason
from plait.conch.ssh.kex import POST_QUANTUM_KEX
from plait.conch.ssh.service import (
    DEFAULT_SSH_ENDPOINT,
    SSHService,
    SSHServiceMaker,
    listen_address,
    load_or_create_host_keys,
    resolve_factory,
)
from serve_process import ServerProcess

pytestmark = pytest.mark.interop

USER, PASSWORD = "u@example.test", "pw-Ab3!x"
SSH_BASE = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]


def _axiomatic(data: Path, *args: str, input: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "plait.axiom.cli", "-d", str(data / "site.axiom"),
                    *args], input=input, text=True, check=True, capture_output=True,
                   timeout=60)


class Site:
    def __init__(self, data: Path, server: ServerProcess, key: Path) -> None:
        self.data, self.server, self.key = data, server, key
        match = re.search(r"ssh\s+tcp:127\.0\.0\.1:(\d+)", "\n".join(server.lines))
        assert match, server.lines
        self.port = int(match.group(1))

    def ssh(self, *args: str, password: bool = True, input: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        pre = ["sshpass", "-p", PASSWORD] if password else []
        return subprocess.run([*pre, "ssh", *SSH_BASE, "-p", str(self.port), *args],
                              input=input, capture_output=True, timeout=60,
                              env=env, check=False)

    @property
    def home(self) -> Path:
        return self.data / "ssh-homes" / USER


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    for tool in ("ssh", "sftp", "sshpass"):
        assert shutil.which(tool), f"{tool} missing: run `make peers`"
    data = tmp_path_factory.mktemp("ssh-site")
    _axiomatic(data, "userbase", "create", USER, "--password-stdin", input=PASSWORD + "\n")
    key = data.parent / f"{data.name}-id_ed25519"
    line = keygen(key, "ed25519")
    store = Store(data / "site.axiom")
    try:
        account = install_login_system(store).account_by_address(USER)
        assert account is not None
        store.transact(lambda: account.add_ssh_key(line))
    finally:
        store.close()
    server = ServerProcess(data)
    server.wait_ready()
    try:
        yield Site(data, server, key)
    finally:
        server.ensure_stopped()


def test_exec_output_and_exit_status(site: Site) -> None:
    r = site.ssh(f"{USER}@127.0.0.1", "echo hi; echo oops >&2; pwd; exit 3")
    assert r.returncode == 3, r.stderr
    assert r.stdout == f"hi\n{site.home.resolve()}\n".encode()
    assert r.stderr == b"oops\n"
    assert stat.S_IMODE(site.home.stat().st_mode) == 0o700


def test_exec_with_stdin(site: Site) -> None:
    r = site.ssh(f"{USER}@127.0.0.1", "wc -c", input=b"x" * 100_000)
    assert (r.returncode, r.stdout.strip()) == (0, b"100000"), r.stderr


def test_pty_command_with_ssh_tt(site: Site) -> None:
    # A bare `ssh -tt` opens the application menu (tests/conch/apps cover it and its
    # login shell); a command with -tt runs in a pty of the client's terminal type.
    env = dict(os.environ, TERM="vt100")
    r = site.ssh("-tt", f"{USER}@127.0.0.1", "echo T=$TERM; tty; exit 6", env=env)
    assert r.returncode == 6, r.stderr
    assert b"T=vt100" in r.stdout
    assert b"/dev/pts/" in r.stdout


def test_sftp_batch_in_the_users_directory(site: Site, tmp_path: Path) -> None:
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(300_000))
    batch = f"put {src} up.bin\nmkdir d\nls -l\nget up.bin {tmp_path / 'down.bin'}\n"
    r = subprocess.run(["sshpass", "-p", PASSWORD, "sftp", "-o", "BatchMode=no", *SSH_BASE,
                        "-P", str(site.port), "-b", "-", f"{USER}@127.0.0.1"],
                       input=batch.encode(), capture_output=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert (site.home / "up.bin").read_bytes() == src.read_bytes()
    assert (tmp_path / "down.bin").read_bytes() == src.read_bytes()
    assert (site.home / "d").is_dir()
    bad = subprocess.run(["sshpass", "-p", PASSWORD, "sftp", "-o", "BatchMode=no", *SSH_BASE,
                          "-P", str(site.port), "-b", "-", f"{USER}@127.0.0.1"],
                         input=b"get ../../site.axiom/db.sqlite x\n", capture_output=True,
                         timeout=60, check=False, cwd=tmp_path)
    assert bad.returncode != 0
    assert not (tmp_path / "x").exists()


def test_key_login_from_the_account(site: Site) -> None:
    r = site.ssh("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(site.key),
                 f"{USER}@127.0.0.1", "echo by-key", password=False)
    assert (r.returncode, r.stdout) == (0, b"by-key\n"), r.stderr


def test_key_login_from_an_authorized_keys_file(site: Site, tmp_path: Path) -> None:
    plain, restricted = tmp_path / "plain", tmp_path / "restricted"
    keys_dir = site.data / "ssh-authorized-keys"
    keys_dir.mkdir(exist_ok=True)
    lines = [keygen(plain, "ecdsa"), 'command="echo forced" ' + keygen(restricted, "ed25519")]
    (keys_dir / USER).write_text("\n".join(lines) + "\n")
    opts = ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
    r = site.ssh(*opts, "-i", str(plain), f"{USER}@127.0.0.1", "echo by-file", password=False)
    assert (r.returncode, r.stdout) == (0, b"by-file\n"), r.stderr
    # a line whose options the service cannot enforce is skipped, not half-honoured
    r = site.ssh(*opts, "-i", str(restricted), f"{USER}@127.0.0.1", "echo ran",
                 password=False)
    assert r.returncode == 255 and b"ran" not in r.stdout
    (keys_dir / USER).unlink()
    r = site.ssh(*opts, "-i", str(plain), f"{USER}@127.0.0.1", "echo gone", password=False)
    assert r.returncode == 255


def test_wrong_password_refused(site: Site) -> None:
    r = subprocess.run(["sshpass", "-p", "wrong", "ssh", *SSH_BASE, "-o",
                        "NumberOfPasswordPrompts=1", "-o", "PubkeyAuthentication=no",
                        "-p", str(site.port), f"{USER}@127.0.0.1", "echo no"],
                       capture_output=True, timeout=60, check=False)
    assert r.returncode != 0
    assert b"no\n" not in r.stdout


def test_host_keys_in_data_dir_offered(site: Site) -> None:
    assert not (site.data / "ssh_host_ecdsa_key").exists()
    for kind in ("ed25519", "rsa"):
        path = site.data / f"ssh_host_{kind}_key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    r = subprocess.run(["ssh-keyscan", "-p", str(site.port), "-t", "ed25519,ecdsa,rsa",
                        "127.0.0.1"], capture_output=True, timeout=60, check=False)
    offered = {line.split()[2] for line in r.stdout.decode().splitlines() if line.strip()}
    on_disk = {(site.data / f"ssh_host_{k}_key.pub").read_text().split()[1]
               for k in ("ed25519", "rsa")}
    assert offered == on_disk


def test_ssh_audit_no_failures_no_warnings(site: Site) -> None:
    """ssh-audit against `plait serve` as installed: post-quantum kex only, so not even the
    "does not provide protection against post-quantum attacks" warning."""
    status, problems, report = ssh_audit(site.port)
    assert problems == [], "\n".join(problems)
    assert status == 0
    offered = [e["algorithm"] for e in report["kex"]]
    assert [a for a in offered if not a.startswith(("ext-info-", "kex-strict-"))] == \
        list(POST_QUANTUM_KEX)


def test_classic_kex_refused_by_default(site: Site) -> None:
    base = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-i", str(site.key), "-p", str(site.port), "-v"]
    r = subprocess.run([*base, "-o", "KexAlgorithms=curve25519-sha256", f"{USER}@127.0.0.1",
                        "true"], capture_output=True, timeout=60, check=False)
    assert r.returncode == 255
    # whichever side notices first: ssh ("no matching key exchange method found") or the
    # server's DISCONNECT (key exchange failed, reason 3)
    assert re.search(rb"no matching key exchange method|disconnect.*: ?3:", r.stderr), r.stderr
    # OpenSSH 9.2 (Debian 12) has no ML-KEM: it negotiates an sntrup761 hybrid by itself
    r = subprocess.run([*base, f"{USER}@127.0.0.1", "true"], capture_output=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert re.search(rb"kex: algorithm: (sntrup761x25519-sha512|mlkem768x25519-sha256)",
                     r.stderr), [line for line in r.stderr.splitlines() if b"kex" in line]


def test_classic_kex_attribute(tmp_path: Path) -> None:
    store = Store(tmp_path / "site.axiom")
    try:
        SSHServiceMaker().install(store, "tcp:0:interface=127.0.0.1")
        service = store.find_first(SSHService)
        assert service is not None and service.classic_kex is False
        assert tuple(service.transport_config().kex_algorithms) == POST_QUANTUM_KEX
    finally:
        store.close()
    # what the README says to do: axiomatic browse, set it, leave
    _axiomatic(tmp_path, "browse", input="from plait.conch.ssh.service import SSHService\n"
               "store.find_first(SSHService).classic_kex = True\n")
    store = Store(tmp_path / "site.axiom")
    try:
        service = store.find_first(SSHService)
        assert service is not None and service.classic_kex is True
        kex = tuple(service.transport_config().kex_algorithms)
        assert kex[:3] == POST_QUANTUM_KEX and "curve25519-sha256" in kex
        assert "diffie-hellman-group14-sha256" not in kex    # still hardened
    finally:
        store.close()


OLD_SERVICE = """
from plait.axiom.attributes import integer, text
from plait.axiom.item import Item
from plait.axiom.store import Store

class OldSSHService(Item):   # the version-1 schema, as stores made before classic_kex hold it
    type_name = "plait_conch_ssh_service"
    schema_version = 1
    name = text(allow_none=True, default="ssh")
    description = text(allow_none=False, default="tcp:2222:interface=127.0.0.1")
    session_factory = text(allow_none=False, default="x:y")
    max_attempts = integer(default=6, allow_none=False)
    grace_time = integer(default=120, allow_none=False)

with Store(PATH) as store:
    OldSSHService(store=store, name="old-ssh", description="tcp:2299:interface=127.0.0.1",
                  session_factory="plait.conch.ssh.service:pty_session_factory",
                  max_attempts=4, grace_time=30)
"""


def test_version_1_items_upgrade_without_classic_kex(tmp_path: Path) -> None:
    # the old code runs in its own process: this one knows only the current class
    subprocess.run([sys.executable, "-c", OLD_SERVICE.replace("PATH", repr(str(tmp_path)))],
                   check=True, capture_output=True, timeout=60)
    with Store(tmp_path) as store:
        service = store.find_first(SSHService)
        assert service is not None
        assert (service.name, service.description, service.max_attempts, service.grace_time,
                service.classic_kex) == ("old-ssh", "tcp:2299:interface=127.0.0.1", 4, 30,
                                         False)
        assert service.session_factory == "plait.conch.ssh.service:pty_session_factory"


@pytest.mark.parametrize("classic", [False, True])
async def test_classic_kex_reaches_old_clients(tmp_path: Path, classic: bool) -> None:
    """A client with curve25519 only (OpenSSH < 8.5, paramiko) gets in only with
    classic_kex."""
    module = types.ModuleType("_plait_ssh_service_classic_factory")
    module.factory = _custom_factory  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    store = Store(tmp_path / "site.axiom")
    try:
        store.transact(lambda: install_login_system(store).add_account("v", "example.test",
                                                                         "pw"))
        SSHServiceMaker().install(store, "tcp:0:interface=127.0.0.1")
        service = store.find_first(SSHService)
        assert service is not None
        service.session_factory = f"{module.__name__}:factory"
        service.classic_kex = classic
        await service.start()
        try:
            port = int(service.endpoints()[0].rsplit(":", 1)[1])
            host_key = Key.from_file(tmp_path / "ssh_host_ed25519_key").public_key()
            old = TransportConfig(kex_algorithms=("curve25519-sha256",))
            kw = {"username": "v@example.test", "password": "pw", "known_hosts": [host_key],
                  "config": old}
            if classic:
                async with await connect("127.0.0.1", port, **kw) as conn:  # type: ignore[arg-type]
                    assert conn.transport.algorithms is not None
                    assert conn.transport.algorithms.kex == "curve25519-sha256"
                    assert (await conn.run("x")).exit_status == 9
            else:
                with pytest.raises(ConnectionLost) as info:
                    await connect("127.0.0.1", port, **kw)  # type: ignore[arg-type]
                assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED
        finally:
            await service.stop()
    finally:
        store.close()
        sys.modules.pop(module.__name__, None)


def test_host_keys_created_once_and_reused(tmp_path: Path) -> None:
    first = load_or_create_host_keys(tmp_path)
    assert [k.key_type for k in first] == ["ssh-ed25519", "ssh-rsa"]
    assert first[1].bits == 3072
    again = load_or_create_host_keys(tmp_path)
    assert [k.public_blob() for k in again] == [k.public_blob() for k in first]
    os.chmod(tmp_path / "ssh_host_ed25519_key", 0o644)
    with pytest.raises(PermissionError):
        load_or_create_host_keys(tmp_path)


def test_endpoint_and_factory_checks() -> None:
    assert listen_address(DEFAULT_SSH_ENDPOINT) == ("127.0.0.1", 2222)
    with pytest.raises(ValueError):
        listen_address("udp:22")
    for bad in ("nocolon", "plait.nope:x", "plait.conch.ssh.service:nope",
                "plait.conch.ssh.service:DEFAULT_SSH_ENDPOINT"):
        with pytest.raises(ValueError):
            resolve_factory(bad)


async def _greeter(process: SSHServerProcess) -> int:
    process.stdout.write(f"custom {process.username} {process.command}\n")
    return 9


def _custom_factory(avatar: object, *, user: str, home: Path) -> SSHServerProcess:
    assert home.is_dir()
    return SSHServerProcess(_greeter)


async def test_pluggable_session_factory(tmp_path: Path) -> None:
    module = types.ModuleType("_plait_ssh_service_test_factory")
    module.factory = _custom_factory  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    store = Store(tmp_path / "site.axiom")
    try:
        store.transact(lambda: install_login_system(store).add_account("v", "example.test",
                                                                         "pw"))
        SSHServiceMaker().install(store, "tcp:0:interface=127.0.0.1")
        service = store.find_first(SSHService)
        assert service is not None and service.name == "ssh"
        service.session_factory = f"{module.__name__}:factory"
        service.check()
        await service.start()
        try:
            (endpoint,) = service.endpoints()
            port = int(endpoint.rsplit(":", 1)[1])
            host_key = Key.from_file(tmp_path / "ssh_host_ed25519_key").public_key()
            async with await connect("127.0.0.1", port, username="v@example.test",
                                     password="pw", known_hosts=[host_key]) as conn:
                r = await conn.run("hello")
            assert (r.exit_status, r.stdout) == (9, b"custom v@example.test hello\n")
            assert (tmp_path / "ssh-homes" / "v@example.test").is_dir()
        finally:
            await service.stop()
        assert service.server is None
    finally:
        store.close()
        sys.modules.pop(module.__name__, None)
