"""The SSH peer launchers and client helpers of tests/conch/peers.py work.

These fail loudly (not skip) when a launcher or the `make peers` install is broken, since
every SSH interop test and bench leans on them.
"""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncssh
import paramiko
import pytest

from conch.peers import (
    HOST,
    SSHD,
    Dropbear,
    PeerError,
    banner,
    current_user,
    dbclient,
    free_port,
    keygen,
    remote,
    scp,
    sftp_batch,
    ssh_run,
)

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def sshd() -> object:
    with SSHD() as server:
        yield server


@pytest.fixture(scope="module")
def dropbear() -> object:
    with Dropbear() as server:
        yield server


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind((HOST, port))


def test_sshd_banner_and_host_keys(sshd: SSHD) -> None:
    line = banner(sshd.port)
    assert line is not None and line.startswith(b"SSH-2.0-OpenSSH_")
    kinds = {line.split()[1] for line in sshd.known_hosts.read_text().splitlines()}
    assert kinds == {"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"}
    assert all(line.startswith(f"[{HOST}]:{sshd.port} ")
               for line in sshd.known_hosts.read_text().splitlines())


def test_ssh_key_login_runs_echo(sshd: SSHD) -> None:
    r = ssh_run(sshd.port, "echo hello; echo err >&2; exit 3", key=sshd.client_key,
                known_hosts=sshd.known_hosts)
    assert (r.returncode, r.stdout, r.stderr) == (3, b"hello\n", b"err\n"), sshd.log()[-2000:]


def test_ssh_each_host_key_type_verifies(sshd: SSHD) -> None:
    for alg in ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"):
        r = ssh_run(sshd.port, "true", key=sshd.client_key, known_hosts=sshd.known_hosts,
                    options={"HostKeyAlgorithms": alg})
        assert r.returncode == 0, (alg, r.stderr)


def test_ssh_wrong_key_is_refused(sshd: SSHD, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger", "ed25519")
    r = ssh_run(sshd.port, "true", key=tmp_path / "stranger", known_hosts=sshd.known_hosts)
    assert r.returncode == 255
    assert b"Permission denied" in r.stderr


def test_ssh_known_hosts_mismatch_is_refused(sshd: SSHD, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    public = keygen(tmp_path / "otherhost", "ed25519")
    other.write_text(f"[{HOST}]:{sshd.port} {' '.join(public.split()[:2])}\n")
    r = ssh_run(sshd.port, "true", key=sshd.client_key, known_hosts=other,
                options={"HostKeyAlgorithms": "ssh-ed25519"})
    assert r.returncode == 255
    assert b"HOST IDENTIFICATION HAS CHANGED" in r.stderr or b"verification failed" in r.stderr


def test_sftp_batch_and_scp(sshd: SSHD, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    r = sftp_batch(sshd.port, f"put {src} {tmp_path}/up.bin\nls {tmp_path}\n",
                   key=sshd.client_key, known_hosts=sshd.known_hosts)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "up.bin").read_bytes() == src.read_bytes()
    r = scp(sshd.port, [remote(tmp_path / "up.bin")], tmp_path / "down.bin",
            key=sshd.client_key, known_hosts=sshd.known_hosts)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "down.bin").read_bytes() == src.read_bytes()
    r = scp(sshd.port, [src], remote(tmp_path / "legacy.bin"), key=sshd.client_key,
            known_hosts=sshd.known_hosts, legacy=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "legacy.bin").read_bytes() == src.read_bytes()


def test_dropbear_banner(dropbear: Dropbear) -> None:
    line = banner(dropbear.port)
    assert line is not None and line.startswith(b"SSH-2.0-dropbear")


def test_dbclient_key_login_runs_echo(dropbear: Dropbear) -> None:
    r = dbclient(dropbear.port, "echo hello; exit 4", key=dropbear.client_key)
    assert (r.returncode, r.stdout) == (4, b"hello\n"), (r.stderr, dropbear.log()[-2000:])


def test_ssh_to_dropbear_verifies_its_host_keys(dropbear: Dropbear) -> None:
    for alg in ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256"):
        r = ssh_run(dropbear.port, "echo ok", key=dropbear.client_key,
                    known_hosts=dropbear.known_hosts, options={"HostKeyAlgorithms": alg})
        assert (r.returncode, r.stdout) == (0, b"ok\n"), (alg, r.stderr)


def test_dbclient_to_sshd(sshd: SSHD) -> None:
    r = dbclient(sshd.port, "echo via-dbclient", key=sshd.client_key)
    assert (r.returncode, r.stdout) == (0, b"via-dbclient\n"), r.stderr


def test_dbclient_without_password_or_key_fails_fast(dropbear: Dropbear) -> None:
    r = dbclient(dropbear.port, "true", timeout=30)
    assert r.returncode != 0


def test_sshd_extra_config_is_applied() -> None:
    with SSHD(host_keys=("ecdsa:384",), extra_config={"Ciphers": "aes256-ctr",
                                                      "MACs": "hmac-sha2-512"}) as server:
        ok = ssh_run(server.port, "true", key=server.client_key, known_hosts=server.known_hosts,
                     options={"Ciphers": "aes256-ctr", "MACs": "hmac-sha2-512"})
        assert ok.returncode == 0, ok.stderr
        refused = ssh_run(server.port, "true", key=server.client_key,
                          known_hosts=server.known_hosts,
                          options={"Ciphers": "aes128-gcm@openssh.com", "LogLevel": "INFO"})
        assert refused.returncode == 255
        assert b"no matching cipher" in refused.stderr
        assert "ecdsa-sha2-nistp384" in server.known_hosts.read_text()


def test_sshd_stops_and_port_closes() -> None:
    server = SSHD(host_keys=("ed25519",)).start()
    port = server.port
    server.stop()
    assert banner(port, timeout=0.5) is None


def test_sshd_bad_config_raises() -> None:
    with pytest.raises(PeerError, match="did not start"):
        SSHD(host_keys=("ed25519",), extra_config=["NoSuchKeyword yes"]).start()


def test_paramiko_client_to_sshd(sshd: SSHD) -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(sshd.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = paramiko.Ed25519Key.from_private_key_file(str(sshd.client_key))
    client.connect(HOST, sshd.port, username=current_user(), pkey=key, allow_agent=False,
                   look_for_keys=False, timeout=10)
    try:
        _, out, _ = client.exec_command("echo paramiko", timeout=10)
        assert out.read() == b"paramiko\n"
        assert out.channel.recv_exit_status() == 0
    finally:
        client.close()


async def test_asyncssh_client_to_sshd(sshd: SSHD) -> None:
    async with asyncssh.connect(HOST, sshd.port, username=current_user(),
                                client_keys=[str(sshd.client_key)],
                                known_hosts=str(sshd.known_hosts), agent_path=None,
                                config=None) as conn:
        r = await conn.run("echo asyncssh; exit 2", check=False)
        assert (r.exit_status, r.stdout) == (2, "asyncssh\n")
        async with conn.start_sftp_client() as sftp:
            assert await sftp.isdir("/")
    await asyncio.sleep(0)
