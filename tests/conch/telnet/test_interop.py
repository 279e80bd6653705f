"""Real peers against the plait telnet server: telnetlib3 (PyPI) and Debian's telnet via expect."""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import telnetlib3

from conch.telnet.apps import PASSWORD, USER, Recorder, make_portal
from plait.conch.telnet import constants as c
from plait.conch.telnet.protocol import TelnetConnection
from plait.conch.telnet.server import listen_terminal

pytestmark = pytest.mark.interop

HOST = "127.0.0.1"
STEP = 10.0          # seconds for one expected answer from a peer
EXPECT_TIMEOUT = 60.0


def server_core(app: Recorder) -> TelnetConnection:
    assert app.terminal is not None and app.terminal.transport is not None
    conn = app.terminal.transport.get_extra_info("telnet")         # type: ignore[attr-defined]
    assert isinstance(conn, TelnetConnection)
    return conn


async def test_telnetlib3_negotiates_logs_in_and_round_trips() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), failure_delay=0.01)
    async with server:
        reader, writer = await telnetlib3.open_connection(
            HOST, server.port, term="xterm-kitty", cols=111, rows=33, encoding="utf8",
            connect_minwait=0.05)
        try:
            await asyncio.wait_for(reader.readuntil(b"login: "), STEP)
            writer.write(USER + "\r\n")
            await asyncio.wait_for(reader.readuntil(b"Password: "), STEP)
            writer.write(PASSWORD + "\r\n")
            hello = (await asyncio.wait_for(reader.readuntil(b"33\r\n"), STEP)).decode()
            assert hello.endswith("hello avatar:alice 111x33\r\n")
            assert PASSWORD not in hello
            # what telnetlib3 ended up with: the server echoes, suppresses GA, is 8-bit clean;
            # the client reports its window and terminal type
            for option in (c.ECHO, c.SGA, c.BINARY):
                assert writer.remote_option.enabled(bytes((option,)))
            for option in (c.NAWS, c.TTYPE, c.BINARY):
                assert writer.local_option.enabled(bytes((option,)))
            app = Recorder.instances[-1]
            assert app.first_size == (111, 33)
            core = server_core(app)
            assert core.terminal_type == "xterm-kitty"
            for option in (c.NAWS, c.TTYPE, c.BINARY):
                assert core.remote_enabled(option)
            for option in (c.ECHO, c.SGA, c.BINARY):
                assert core.local_enabled(option)
            writer.write("héllo ✓\r")
            assert (await asyncio.wait_for(reader.readuntil("<héllo ✓>\r\n".encode()), STEP)
                    ).endswith("héllo ✓\r\n<héllo ✓>\r\n".encode())
            assert [k for k, _ in app.keys] == [*"héllo ✓", "\r"]
            # a new window size: telnetlib3 re-sends NAWS from its (private) size record
            writer.protocol._extra.update(rows=50, cols=150)
            writer._send_naws()
            await asyncio.wait_for(reader.readuntil(b"[size 150x50]"), STEP)
            assert app.sizes == [(150, 50)]
        finally:
            writer.close()
        await asyncio.wait_for(writer.wait_closed(), STEP)


EXPECT_SCRIPT = r"""
set timeout 10
set port [lindex $argv 0]
set stty_init "rows 30 columns 100"
spawn telnet 127.0.0.1 $port
proc fail {why} {
  puts "FAIL $why"
  exit 3
}
expect {
  "login: " {}
  timeout { fail login-prompt }
}
send "alice\r"
expect {
  "Password: " {}
  timeout { fail password-prompt }
}
send "s3cret-pass\r"
expect {
  "s3cret" { fail password-echoed }
  -re "hello avatar:alice (\[0-9]+x\[0-9]+)" { puts "SIZE=$expect_out(1,string)" }
  timeout { fail hello }
}
send "hé"
expect {
  "hé" {}
  timeout { fail echo }
}
send "\r"
expect {
  "<hé>" {}
  timeout { fail line }
}
exec stty rows 40 columns 120 < $spawn_out(slave,name)
expect {
  "size 120x40" { puts "RESIZED=120x40" }
  timeout { fail resize }
}
send "q"
expect {
  eof {}
  timeout { fail hangup }
}
puts "DONE"
"""


async def test_debian_telnet_under_expect_logs_in_types_and_resizes() -> None:
    for tool in ("telnet", "expect"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing: run `make peers`")
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), failure_delay=0.01)
    async with server:
        with tempfile.TemporaryDirectory(prefix="plait-telnet-expect-") as tmp:
            script = Path(tmp) / "session.exp"
            script.write_text(EXPECT_SCRIPT)
            env = {**os.environ, "TERM": "xterm-256color"}
            proc = await asyncio.create_subprocess_exec(
                "expect", str(script), str(server.port), env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), EXPECT_TIMEOUT)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        text = out.decode("utf-8", "replace")
        assert proc.returncode == 0, text
        assert "SIZE=100x30" in text and "RESIZED=120x40" in text and "DONE" in text
        app = Recorder.instances[-1]
        # stty sets rows, then columns: telnet may report the halfway size first
        assert app.first_size == (100, 30) and app.sizes[-1] == (120, 40)
        assert set(app.sizes) <= {(100, 40), (120, 40)}
        assert [k for k, _ in app.keys] == ["h", "é", "\r", "q"]
        assert app.lost == [None]
        core = server_core(app)
        assert (core.terminal_type or "").lower() == "xterm-256color"
        for option in (c.NAWS, c.TTYPE):
            assert core.remote_enabled(option)
        for option in (c.ECHO, c.SGA):
            assert core.local_enabled(option)
