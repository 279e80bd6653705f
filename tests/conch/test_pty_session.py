"""PtySession: the login shell in a real pty, exec on pipes or a pty, env allow-list,
terminal modes, exit status and signal, EOF, the child killed on close, sftp confined to
the user's directory; driven by plait's client over a real socket."""
from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import termios
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from plait.conch.pty_session import (
    PtySession,
    apply_modes,
    modes_from_termios,
    set_window_size,
    user_directory,
)
from plait.conch.ssh import Key, SSHClientConnection, connect, listen
from plait.conch.ssh.sftp_protocol import SFTPPermissionDenied
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal

HOST_KEY = Key.generate("ed25519")
USER, PASSWORD = "alice", "s3cret"


class Realm:
    def request_avatar(self, avatar_id: object, mind: object, *interfaces: object) -> tuple:
        return interfaces[0], avatar_id, lambda: None


@asynccontextmanager
async def session_server(home: Path, **kw: object) -> AsyncIterator[SSHClientConnection]:
    portal = Portal(Realm(), [InMemoryUsernamePasswordChecker({USER: PASSWORD})])
    srv = await listen("127.0.0.1", 0, server_host_keys=[HOST_KEY], portal=portal,
                       session_factory=lambda avatar: PtySession(home=home, sftp_root=home,
                                                                 **kw),  # type: ignore[arg-type]
                       failure_delay=0.05)
    try:
        conn = await connect("127.0.0.1", srv.port, username=USER, password=PASSWORD,
                             known_hosts=HOST_KEY.public_key())
        try:
            yield conn
        finally:
            conn.close()
            await conn.wait_closed()
    finally:
        srv.close()
        await srv.wait_closed()


async def read_until(stream: asyncio.StreamReader, marker: bytes, timeout: float = 10.0) -> bytes:
    out = b""
    async with asyncio.timeout(timeout):
        while marker not in out:
            chunk = await stream.read(4096)
            if not chunk:
                break
            out += chunk
    return out


async def test_exec_on_pipes_output_stderr_status(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        r = await conn.run("echo out; echo err >&2; pwd; exit 3")
        assert r.exit_status == 3
        assert r.stdout == f"out\n{os.path.realpath(tmp_path)}\n".encode()
        assert r.stderr == b"err\n"


async def test_exec_stdin_and_eof(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        r = await conn.run("tr a-z A-Z", input=b"hello\nworld\n")
        assert (r.exit_status, r.stdout) == (0, b"HELLO\nWORLD\n")


async def test_slow_reader_gets_all_input(tmp_path: Path) -> None:
    # the child reads nothing for a second: the connection stops reading its socket past
    # the high-water mark instead of buffering without end, and nothing is lost
    data = os.urandom(12 * 1024 * 1024)
    async with session_server(tmp_path) as conn:
        r = await conn.run("sleep 1; sha256sum", input=data)
        assert r.exit_status == 0
        assert r.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()
        s = await conn.open_session("sleep 1; wc -c", term="dumb", modes={53: 0})  # -echo
        line = b"x" * 999 + b"\n"      # canonical mode: lines under the tty's 4095 limit
        for _ in range(4000):
            s.write(line)
        s.write_eof()                  # VEOF at the start of a line
        out = await read_until(s.stdout, b"\n", timeout=30)
        assert out.strip() == b"4000000", out
        assert await s.wait() == 0


async def test_exec_killed_by_signal_reports_exit_signal(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        r = await conn.run("kill -TERM $$")
        assert r.exit_status is None
        assert r.exit_signal == "TERM"


async def test_exec_in_pty_with_size_modes_and_term(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        s = await conn.open_session("echo T=$TERM; stty size; stty -a", term="vt220",
                                    cols=100, rows=40, modes={53: 0})   # ECHO off
        out = await read_until(s.stdout, b"never")
        assert await s.wait() == 0
        text = out.decode()
        assert "T=vt220" in text
        assert "40 100" in text
        assert "-echo " in text


async def test_login_shell_in_pty_window_change_and_exit(tmp_path: Path) -> None:
    async with session_server(tmp_path, shell="/bin/sh") as conn:
        s = await conn.open_session(term="xterm", cols=80, rows=24)
        s.write(b"tty; stty size\n")
        out = await read_until(s.stdout, b"24 80")
        assert b"/dev/pts/" in out
        s.resize(132, 50)
        await asyncio.sleep(0.1)
        s.write(b"stty size\n")
        await read_until(s.stdout, b"50 132")
        s.write(b"exit 7\n")
        assert await s.wait() == 7


async def test_shell_without_pty_runs_on_pipes(tmp_path: Path) -> None:
    async with session_server(tmp_path, shell="/bin/sh") as conn:
        s = await conn.open_session()
        s.write(b"test -t 0 || echo notty; exit 4\n")
        s.write_eof()
        assert await s.stdout.read() == b"notty\n"
        assert await s.wait() == 4


async def test_env_allow_list(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        s = await conn.open_session('echo "$LANG|$LC_ALL|${FOO-unset}"',
                                    env={"LANG": "C.UTF-8", "LC_ALL": "C", "FOO": "bar"})
        assert await s.stdout.read() == b"C.UTF-8|C|unset\n"
        assert await s.wait() == 0


async def test_eof_in_pty_ends_cat(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        s = await conn.open_session("cat", term="dumb")
        s.write(b"abc\n")
        await read_until(s.stdout, b"abc")
        s.write_eof()            # VEOF at the start of a line
        assert await asyncio.wait_for(s.wait(), 10) == 0


async def test_child_killed_when_channel_closes(tmp_path: Path) -> None:
    async with session_server(tmp_path, kill_grace=0.5) as conn:
        # a child that ignores SIGHUP: SIGKILL must follow within the grace time
        s = await conn.open_session("trap '' HUP; echo $$; exec sleep 300")
        pid = int((await s.stdout.readline()).strip())
        os.kill(pid, 0)
        s.close()
        await s.wait_closed()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
        else:
            os.kill(pid, 9)
            pytest.fail("the child outlived its channel")


async def test_sftp_confined_to_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "a.txt").write_bytes(b"data")
    (tmp_path / "secret").write_bytes(b"no")
    async with session_server(home) as conn:
        sftp = await conn.start_sftp()
        assert sorted(await sftp.listdir("/")) == ["a.txt"]
        assert await sftp.realpath(".") == "/"
        assert await (await sftp.open("a.txt")).read() == b"data"
        for escape in ("..", "/../secret"):
            with pytest.raises(SFTPPermissionDenied):
                await sftp.stat(escape)


async def test_subsystem_other_than_sftp_refused(tmp_path: Path) -> None:
    async with session_server(tmp_path) as conn:
        with pytest.raises(Exception, match="subsystem"):
            await conn.open_session(subsystem="nope")


def test_modes_round_trip_on_a_pty() -> None:
    master, slave = os.openpty()
    try:
        modes = modes_from_termios(slave)
        assert modes[53] == 1          # ECHO on by default
        apply_modes(slave, {53: 0, 3: 8, 129: 9600, 200: 1})   # unknown opcode ignored
        attrs = termios.tcgetattr(slave)
        assert not attrs[3] & termios.ECHO
        assert attrs[6][termios.VERASE] == b"\x08"
        assert attrs[5] == termios.B9600
        after = modes_from_termios(slave)
        assert (after[53], after[3], after[129]) == (0, 8, 9600)
        set_window_size(slave, 90, 30)
        assert os.get_terminal_size(slave) == os.terminal_size((90, 30))
    finally:
        os.close(master)
        os.close(slave)


def test_user_directory(tmp_path: Path) -> None:
    path = user_directory(tmp_path / "homes", "u@example.test")
    assert path.is_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "homes").stat().st_mode) == 0o700
    assert user_directory(tmp_path / "homes", "u@example.test") == path
    for bad in ("", "..", ".", "a/b", "a\0b"):
        with pytest.raises(ValueError):
            user_directory(tmp_path / "homes", bad)


def test_env_request_names_checked(tmp_path: Path) -> None:
    s = PtySession(home=tmp_path)
    assert s.env_requested("LC_TIME", "C")
    assert s.env_requested("TERM", "xterm")
    assert not s.env_requested("LD_PRELOAD", "/x.so")
    assert not s.env_requested("PATH", "/tmp")
    assert not s.env_requested("LC_X=Y", "1")
    assert s.env == {"LC_TIME": "C", "TERM": "xterm"}
