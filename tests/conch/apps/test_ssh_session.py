"""TerminalSession over a real SSH connection (plait's server and client in one loop):
the pty size reaches the application, window-change is terminal_size, keys arrive,
hanging up ends the channel with status 0, and no pty means one line and status 1."""
from __future__ import annotations

import asyncio
from typing import Any

from plait.conch.apps.recvline import HistoricRecvLine
from plait.conch.apps.ssh_session import TerminalSession
from plait.conch.insults._vt102 import TerminalBuffer, TerminalParser
from plait.conch.ssh import Key, connect
from plait.conch.ssh.server import listen
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal

HOST_KEY = Key.generate("ed25519")
WAIT = 10.0


class Realm:
    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        return interfaces[0], avatar_id, lambda: None


class SizeEcho(HistoricRecvLine):
    def connection_made(self) -> None:
        assert self.terminal is not None
        self.write_text(f"size {self.terminal.width}x{self.terminal.height}\n")
        super().connection_made()

    def terminal_size(self, width: int, height: int) -> None:
        self.write_text(f"\nresized {width}x{height}\n")
        super().terminal_size(width, height)

    def line_received(self, line: str) -> None:
        self.write_text(f"got {line!r}\n")
        super().line_received(line)


async def _screen_until(stdout: asyncio.StreamReader, buffer: TerminalBuffer,
                        parser: TerminalParser, text: str) -> str:
    async def read() -> str:
        while text not in str(buffer):
            chunk = await stdout.read(4096)
            assert chunk, f"channel closed before {text!r}: {buffer}"
            parser.feed(chunk)
        return str(buffer)
    return await asyncio.wait_for(read(), WAIT)


async def _server() -> Any:
    portal = Portal(Realm(), [InMemoryUsernamePasswordChecker({"u": "pw"})])
    return await listen("127.0.0.1", 0, server_host_keys=[HOST_KEY], portal=portal,
                        session_factory=lambda avatar: TerminalSession(SizeEcho, "echo"),
                        failure_delay=0.01)


async def test_pty_size_keys_resize_and_hangup() -> None:
    server = await _server()
    try:
        async with await connect("127.0.0.1", server.port, username="u", password="pw",
                                 known_hosts=[HOST_KEY.public_key()]) as conn:
            session = await conn.open_session(term="xterm", cols=50, rows=10)
            buffer = TerminalBuffer(50, 10)
            parser = TerminalParser(buffer)
            await _screen_until(session.stdout, buffer, parser, "size 50x10")
            session.write(b"hi\x1b[Dx\r")
            await _screen_until(session.stdout, buffer, parser, "got 'hxi'")
            session.resize(60, 12)
            buffer.resize(60, 12)
            await _screen_until(session.stdout, buffer, parser, "resized 60x12")
            session.write(b"\x04")                     # Ctrl-D: the app hangs up
            await asyncio.wait_for(session.wait(), WAIT)
            assert session.exit_status == 0
    finally:
        server.close()
        await server.wait_closed()


async def test_without_pty_one_line_and_status_1() -> None:
    server = await _server()
    try:
        async with await connect("127.0.0.1", server.port, username="u", password="pw",
                                 known_hosts=[HOST_KEY.public_key()]) as conn:
            result = await asyncio.wait_for(conn.run("anything"), WAIT)
            assert result.exit_status == 1
            assert result.stderr == b"plait: echo needs a terminal: connect with ssh -t\r\n"
            assert result.stdout == b""
    finally:
        server.close()
        await server.wait_closed()
