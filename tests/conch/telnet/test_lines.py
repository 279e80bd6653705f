"""listen_lines: line-at-a-time sessions with the plait client and Debian telnet."""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conch.telnet.apps import PASSWORD, USER, make_portal
from plait.conch.telnet import constants as c
from plait.conch.telnet.client import open_connection
from plait.conch.telnet.errors import TelnetError
from plait.conch.telnet.lines import MAX_QUEUED_LINES, TelnetLineSession, listen_lines

HOST = "127.0.0.1"


async def greeter(session: TelnetLineSession) -> None:
    session.write(f"Hi {session.avatar}. Name?\n")
    while (line := await session.readline()) not in ("", "quit\n"):
        session.write(f"Hello <{line.rstrip()}>\n")
    session.write("bye\n")



async def test_lines_with_every_line_end() -> None:
    server = await listen_lines(HOST, 0, greeter)
    async with server:
        client = await open_connection(HOST, server.port)
        await client.read_until(b"Name?\r\n")
        assert client.linemode == c.MODE_EDIT | c.MODE_TRAPSIG
        assert not client.server_echoes                      # the client edits and echoes
        client.write("a b\r\nhé\rc\nd\r\n\r\n")              # CR LF, CR NUL, LF, empty line
        got = await client.read_until(b"<>\r\n")
        assert got == "Hello <a b>\r\nHello <hé>\r\nHello <c>\r\nHello <d>\r\nHello <>\r\n".encode()
        client.write_line("quit")
        assert await client.read() == b"bye\r\n"


async def test_line_login_hides_only_the_password() -> None:
    server = await listen_lines(HOST, 0, greeter, portal=make_portal(), failure_delay=0.01)
    async with server:
        client = await open_connection(HOST, server.port)
        await client.read_until(b"login: ")
        assert not client.server_echoes
        client.write_line(USER)
        assert await client.read_until(b"Password: ") == b"Password: "   # no echo of the name
        assert client.server_echoes                           # WILL ECHO: the client hides it
        client.write_line(PASSWORD)
        assert (await client.read_until(b"Name?\r\n")).endswith(b"Hi avatar:alice. Name?\r\n")
        assert not client.server_echoes                       # WONT ECHO again
        client.write_line("quit")
        assert await client.read() == b"bye\r\n"


async def test_overlong_line_is_refused_and_others_go_on() -> None:
    failures: list[str] = []

    async def handler(session: TelnetLineSession) -> None:
        session.write("ready\n")
        try:
            while (line := await session.readline()) != "":
                session.write(f"{len(line) - 1}\n")
        except TelnetError as exc:
            failures.append(str(exc))
            raise

    server = await listen_lines(HOST, 0, handler, max_line=64)
    async with server:
        other = await open_connection(HOST, server.port)
        await other.read_until(b"ready\r\n")
        client = await open_connection(HOST, server.port)
        await client.read_until(b"ready\r\n")
        client.write("x" * 64 + "\r\n")
        assert await client.read_until(b"\r\n") == b"64\r\n"
        client.write("y" * 65)
        assert b"line longer than 64 bytes" in await client.read()
        assert failures == ["line longer than 64 bytes"]
        other.write_line("still here")
        assert await other.read_until(b"\r\n") == b"10\r\n"
        other.close()


async def test_many_lines_pause_reading_and_arrive_in_order() -> None:
    release = asyncio.Event()
    got: list[str] = []

    async def slow(session: TelnetLineSession) -> None:
        await release.wait()
        while (line := await session.readline()) not in ("", "last\n"):
            got.append(line)
        session.write("done\n")

    server = await listen_lines(HOST, 0, slow)
    async with server:
        client = await open_connection(HOST, server.port)
        count = MAX_QUEUED_LINES * 8
        client.write("".join(f"line {i}\r\n" for i in range(count)) + "last\r\n")
        await client.drain()
        await asyncio.sleep(0.05)
        release.set()
        assert await client.read_until(b"done\r\n") == b"done\r\n"
        assert got == [f"line {i}\n" for i in range(count)]
        client.close()


async def test_eof_and_interrupt_commands() -> None:
    server = await listen_lines(HOST, 0, greeter)
    async with server:
        client = await open_connection(HOST, server.port)
        await client.read_until(b"Name?\r\n")
        client.send_command(c.EOF_CMD)                      # ^D in LINEMODE: end of input
        assert await client.read() == b"bye\r\n"
        client = await open_connection(HOST, server.port)
        await client.read_until(b"Name?\r\n")
        client.send_command(c.IP)                           # ^C: the session is cut
        assert await client.read() == b""


def test_listen_lines_checks_its_limits() -> None:
    with pytest.raises(ValueError):
        asyncio.run(listen_lines(HOST, 0, greeter, max_line=0))


EXPECT_SCRIPT = r"""
set timeout 10
spawn telnet 127.0.0.1 [lindex $argv 0]
proc fail {why} {
  puts "FAIL $why"
  exit 3
}
expect {
  "Name?" {}
  timeout { fail greeting }
}
send "Bob\r"
expect {
  "Hello <Bob>" {}
  timeout { fail reply }
}
send "quit\r"
expect {
  "bye" {}
  timeout { fail bye }
}
expect {
  eof {}
  timeout { fail hangup }
}
puts "DONE"
"""


@pytest.mark.interop
async def test_debian_telnet_in_line_mode() -> None:
    if shutil.which("telnet") is None or shutil.which("expect") is None:
        raise RuntimeError("telnet or expect is missing: run `make peers`")
    server = await listen_lines(HOST, 0, greeter)
    async with server:
        with tempfile.TemporaryDirectory(prefix="plait-telnet-lines-") as tmp:
            script = Path(tmp) / "lines.exp"
            script.write_text(EXPECT_SCRIPT)
            proc = await asyncio.create_subprocess_exec(
                "expect", str(script), str(server.port), env={**os.environ, "TERM": "vt100"},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        assert proc.returncode == 0 and b"DONE" in out, out.decode(errors="replace")
