"""listen_terminal: negotiation, login, the application behind ServerProtocol, bad clients."""
from __future__ import annotations

import asyncio

from conch.telnet.apps import PASSWORD, USER, Recorder, make_portal
from plait.conch.insults.keys import UP_ARROW, Modifier
from plait.conch.telnet import constants as c
from plait.conch.telnet.client import TelnetClient, open_connection
from plait.conch.telnet.server import MAX_PENDING_INPUT, TelnetServer, listen_terminal

HOST = "127.0.0.1"


async def until(predicate, what: str, tries: int = 500) -> None:
    """Poll (bounded) until ``predicate()`` holds."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def login(client: TelnetClient, user: str = USER, password: str = PASSWORD) -> bytes:
    seen = await client.read_until(b"login: ")
    client.write(user + "\r\n")
    seen += await client.read_until(b"Password: ")
    client.write(password + "\r\n")
    return seen


async def test_terminal_without_login_gets_size_type_and_keys() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder)
    async with server:
        client = await open_connection(HOST, server.port, term="xterm-256color", size=(100, 30))
        greeting = await client.read_until(b"\r\n")
        assert greeting.endswith(b"hello None 100x30\r\n")
        app = Recorder.instances[-1]
        assert app.first_size == (100, 30)
        transport = app.terminal.transport                 # type: ignore[union-attr]
        assert transport.get_extra_info("terminal_type") == "xterm-256color"
        assert transport.get_extra_info("peername")[0] == HOST
        assert client.server_echoes and client.conn.remote_enabled(c.SGA)
        client.write("ab\r\n")
        assert await client.read_until(b"<ab>\r\n") == b"ab\r\n<ab>\r\n"
        client.write(b"\x1b[A\r")                          # arrow, then CR NUL (Enter)
        await client.read_until(b"<>\r\n")
        assert app.keys == [("a", Modifier.NONE), ("b", Modifier.NONE), ("\r", Modifier.NONE),
                            (UP_ARROW, Modifier.NONE), ("\r", Modifier.NONE)]
        client.set_size(132, 43)
        await client.read_until(b"[size 132x43]")
        assert app.sizes == [(132, 43)]
        client.send_command(c.IP)                           # interrupt arrives as ^C
        await until(lambda: ("\x03", Modifier.NONE) in app.keys, "IP as ^C")
        client.write("q")
        assert await client.read() == b""                   # the application hung up
        await until(lambda: app.lost == [None], "connection_lost")
        await until(lambda: server.connections == 0, "session gone")


async def test_login_then_application_with_avatar() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), failure_delay=0.01)
    async with server:
        client = await open_connection(HOST, server.port, size=(90, 20))
        await login(client)
        after = await client.read_until(b"x20\r\n")
        assert PASSWORD.encode() not in after               # the password is not echoed
        assert after.endswith(b"hello avatar:alice 90x20\r\n")
        assert Recorder.instances[-1].avatar == "avatar:alice"
        client.close()
        await client.wait_closed()


async def test_login_echoes_the_name_and_edits() -> None:
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), failure_delay=0.01)
    async with server:
        client = await open_connection(HOST, server.port)
        await client.read_until(b"login: ")
        client.write("alX\x7fice\r\n")
        echoed = await client.read_until(b"Password: ")
        assert echoed == b"alX\x08 \x08ice\r\nPassword: "
        client.write(PASSWORD + "\r")                      # CR NUL ends the line too
        assert await client.read_until(b"80x24\r\n") == b"\r\nhello avatar:alice 80x24\r\n"
        client.close()


async def test_failed_logins_are_limited() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), max_attempts=2,
                                   failure_delay=0.01)
    async with server:
        client = await open_connection(HOST, server.port)
        seen = await login(client, USER, "wrong")
        seen += await login(client, "mallory", PASSWORD)
        rest = b""
        while chunk := await client.read():
            rest += chunk
        assert rest.count(b"Login incorrect") == 1 and b"Too many failed logins." in rest
        assert seen.count(b"Login incorrect") == 1
        assert Recorder.instances == []


async def test_login_timeout_hangs_up() -> None:
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), login_timeout=0.3)
    async with server:
        client = await open_connection(HOST, server.port)
        await client.read_until(b"login: ")
        rest = b""
        while chunk := await client.read():
            rest += chunk
        assert b"Login timed out." in rest


async def raw_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, port)


async def read_all(reader: asyncio.StreamReader, limit: int = 1 << 20) -> bytes:
    out = b""
    while chunk := await reader.read(65536):
        out += chunk
        assert len(out) < limit
    return out


async def healthy(server: TelnetServer) -> None:
    client = await open_connection(HOST, server.port)
    await login(client)
    assert (await client.read_until(b"80x24\r\n")).endswith(b"hello avatar:alice 80x24\r\n")
    client.close()
    await client.wait_closed()


async def test_bad_clients_do_not_disturb_others() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder, portal=make_portal(), failure_delay=0.01,
                                   negotiation_timeout=0.05)
    async with server:
        bystander = await open_connection(HOST, server.port, size=(70, 20))
        await login(bystander)
        await bystander.read_until(b"70x20\r\n")
        # garbage IAC sequences and an oversize SB: served on, still answers the prompt
        r, w = await raw_client(server.port)
        w.write(bytes((c.IAC, 3, c.IAC, c.SE, c.IAC, c.SB, c.NAWS)) + b"\x01" * 100_000
                + bytes((c.IAC, c.SE, c.IAC, c.SB, c.TTYPE, c.IAC, c.WILL, 99, 0xFF)))
        await w.drain()
        assert b"login: " in await r.readuntil(b"login: ")
        w.close()
        # a negotiation flood is cut off (the connection closes, bounded output)
        r, w = await raw_client(server.port)
        w.write(bytes((c.IAC, c.WILL, 200, c.IAC, c.DO, 201)) * 5000)
        await w.drain()
        flood_answer = await read_all(r)
        assert len(flood_answer) < 5 * 4096 + 1000
        w.close()
        # a broken application closes only its own connection
        broken = await open_connection(HOST, server.port)
        await login(broken)
        await broken.read_until(b"80x24\r\n")
        broken.write("!")
        assert await broken.read() == b""
        await healthy(server)
        bystander.write("ok\r\n")
        assert (await bystander.read_until(b"<ok>\r\n")).endswith(b"<ok>\r\n")
        bystander.close()



async def test_close_hangs_up_on_everyone() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder)
    client = await open_connection(HOST, server.port)
    await client.read_until(b"\r\n")
    server.close()
    await server.wait_closed()
    assert await client.read() == b""
    await until(lambda: Recorder.instances[-1].lost == [None], "app told")


async def test_silent_client_gets_the_application_after_the_negotiation_timeout() -> None:
    Recorder.instances.clear()
    server = await listen_terminal(HOST, 0, Recorder, negotiation_timeout=0.05)
    async with server:
        r, w = await raw_client(server.port)                 # never answers DO NAWS/TTYPE
        typed = MAX_PENDING_INPUT * 20                       # typed before the app starts:
        w.write(b"x" * typed)                                # held back, not lost
        await w.drain()
        assert (await r.readuntil(b"80x24\r\n")).endswith(b"hello None 80x24\r\n")
        await until(lambda: len(Recorder.instances[-1].keys) == typed, "all the type-ahead")
        w.close()


async def test_linemode_offered_by_the_client_is_set_to_character_mode() -> None:
    server = await listen_terminal(HOST, 0, Recorder, negotiation_timeout=0.05)
    async with server:
        r, w = await raw_client(server.port)
        w.write(bytes((c.IAC, c.WILL, c.LINEMODE)))
        await w.drain()
        expected = bytes((c.IAC, c.DO, c.LINEMODE, c.IAC, c.SB, c.LINEMODE, c.LM_MODE, 0,
                          c.IAC, c.SE))
        seen = await r.readuntil(expected)
        assert seen.endswith(expected)
        w.close()
