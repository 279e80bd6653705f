"""The shared server session: option waits, the negotiation deadline, fatal violations."""
from __future__ import annotations

import asyncio

import pytest

from plait.conch.telnet import constants as c
from plait.conch.telnet.client import open_connection
from plait.conch.telnet.protocol import TelnetConnection
from plait.conch.telnet.session import ServerSession, TelnetServer, start_server

HOST = "127.0.0.1"


class NawsSession(ServerSession):
    """Asks DO NAWS, starts once the size is known, then reports sizes and commands."""

    def __init__(self, server: TelnetServer) -> None:
        super().__init__(server, TelnetConnection(server=True, max_negotiations=50))
        self.started_with: tuple[int, int] | None = None

    def configure(self) -> None:
        self.conn.enable_remote(c.NAWS)

    def negotiated(self) -> bool:
        return not self.waiting_for(c.NAWS) and (
            self.window_size is not None or not self.conn.remote_enabled(c.NAWS))

    async def start(self, typed_ahead: bytes) -> None:
        self.started_with = self.window_size
        self.send(f"start {self.window_size} {typed_ahead!r}\n".encode())

    def on_data(self, data: bytes) -> None:
        self.send(b"data " + data + b"\n")

    def on_resize(self, width: int, height: int) -> None:
        self.send(f"size {width}x{height}\n".encode())


async def serve(negotiation_timeout: float = 10.0) -> TelnetServer:
    server = TelnetServer(login=None, negotiation_timeout=negotiation_timeout)
    return await start_server(HOST, 0, server, lambda: NawsSession(server))


async def test_session_starts_once_the_size_is_known() -> None:
    async with await serve() as server:
        client = await open_connection(HOST, server.port, size=(90, 30))
        assert await client.read_until(b"\n") == b"start (90, 30) b''\n"
        client.set_size(91, 31)
        assert await client.read_until(b"\n") == b"size 91x31\n"
        client.write("hi")
        assert await client.read_until(b"\n") == b"data hi\n"
        assert server.connections == 1
    assert await client.read() == b""                     # closing the server hangs up


async def test_refused_option_and_deadline() -> None:
    async with await serve() as server:
        client = await open_connection(HOST, server.port, size=None)   # refuses NAWS
        assert await client.read_until(b"\n") == b"start None b''\n"
        client.close()
    async with await serve(negotiation_timeout=0.05) as server:
        r, w = await asyncio.open_connection(HOST, server.port)       # never answers
        w.write(b"typed")
        assert (await r.readuntil(b"\n")).endswith(b"start None b'typed'\n")
        w.close()


async def test_fatal_violation_closes_only_that_client() -> None:
    async with await serve() as server:
        good = await open_connection(HOST, server.port)
        await good.read_until(b"\n")
        r, w = await asyncio.open_connection(HOST, server.port)
        w.write(bytes((c.IAC, c.DO, 99)) * 60)                          # over max_negotiations
        assert len(await r.read()) <= 3 * 51
        good.write("still")
        assert await good.read_until(b"\n") == b"data still\n"
        w.close()
        good.close()


def test_negative_negotiation_timeout_is_refused() -> None:
    with pytest.raises(ValueError):
        TelnetServer(login=None, negotiation_timeout=-1)
