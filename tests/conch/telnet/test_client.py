"""The plait telnet client against inetutils telnetd (and its own limits)."""
from __future__ import annotations

import asyncio

import pytest

from conch.telnet.telnetd import HOST, Telnetd
from plait.conch.telnet import constants as c
from plait.conch.telnet.client import MAX_EVENTS, open_connection
from plait.conch.telnet.errors import TelnetError
from plait.conch.telnet.events import LinemodeChanged, OptionDisabled


@pytest.fixture
def telnetd() -> Telnetd:
    with Telnetd() as daemon:
        yield daemon


async def test_negotiates_with_telnetd_and_reports_type_and_size(telnetd: Telnetd) -> None:
    client = await open_connection(HOST, telnetd.port, term="vt220", size=(100, 40))
    async with client:
        assert b"TERM=vt220 SIZE=40 100\r\n" in await client.read_until(b"SIZE=40 100\r\n")
        # telnetd echoes and suppresses go-ahead; it offered nothing we did not answer
        assert client.server_echoes and client.conn.remote_enabled(c.SGA)
        assert client.conn.local_enabled(c.TTYPE) and client.conn.local_enabled(c.NAWS)
        # telnetd tries LINEMODE first: its MODE EDIT|TRAPSIG is acknowledged and the SLC
        # exchange ends (it then turns LINEMODE off again and echoes itself)
        assert LinemodeChanged(c.MODE_EDIT | c.MODE_TRAPSIG) in client.events
        assert OptionDisabled(c.LINEMODE, True) in client.events
        for option in (c.AUTHENTICATION, c.ENCRYPT, c.NEW_ENVIRON, c.TSPEED, c.XDISPLOC):
            assert not client.conn.local_enabled(option)
            assert not client.conn.remote_enabled(option)
        client.write_line("héllo ✓ \\ done")
        seen = await client.read_until("got:héllo ✓ \\ done\r\n".encode(), max_bytes=4096)
        assert seen.startswith("héllo ✓ \\ done\r\n".encode())     # the pty's echo first
        client.set_size(132, 50)
        client.write_line("size")
        await client.read_until(b"SIZE=50 132\r\n")


async def test_interrupt_reaches_the_program(telnetd: Telnetd) -> None:
    client = await open_connection(HOST, telnetd.port)
    async with client:
        await client.read_until(b"SIZE=24 80\r\n")
        client.send_command(c.IP)
        await client.read_until(b"INTERRUPTED")
        client.write_line("exit")
        while await client.read():
            pass
        assert client.at_eof()


async def test_terminal_type_list_cycles_with_telnetd(telnetd: Telnetd) -> None:
    # telnetd asks until the list repeats and picks the first it knows (all of these).
    client = await open_connection(HOST, telnetd.port, term=["xterm-256color", "vt100"])
    async with client:
        await client.read_until(b"TERM=xterm-256color")


async def test_read_until_limits_and_connection_errors() -> None:
    server = await asyncio.start_server(
        lambda r, w: (w.write(b"x" * 5000), w.close()), HOST, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        client = await open_connection(HOST, port, size=None, limit=1024)
        with pytest.raises(TelnetError, match="not found in 100 bytes"):
            await client.read_until(b"never", max_bytes=100)
        with pytest.raises(TelnetError, match="closed before"):
            await client.read_until(b"never", max_bytes=10_000)
        assert not client.conn.local_enabled(c.NAWS)
        with pytest.raises(TelnetError):
            client.write("late")
    with pytest.raises(TelnetError, match="cannot connect"):
        await open_connection(HOST, port)
    with pytest.raises(ValueError):
        await open_connection(HOST, port, size=(1 << 16, 1))


async def test_client_buffers_are_bounded_but_lose_nothing() -> None:
    payload = bytes(range(256)).replace(b"\xff", b"") * 4000     # about 1 MB, no IAC
    nops = bytes((c.IAC, c.NOP)) * (MAX_EVENTS + 500)

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(nops + payload)
        await w.drain()
        w.write_eof()
        while await r.read(65536):      # the client's negotiation, until it hangs up
            pass
        w.close()

    server = await asyncio.start_server(serve, HOST, 0)
    async with server:
        client = await open_connection(HOST, server.sockets[0].getsockname()[1], limit=1024)
        got = bytearray()
        while chunk := await client.read(4096):
            got += chunk
        assert bytes(got) == payload
        assert len(client.events) == MAX_EVENTS
