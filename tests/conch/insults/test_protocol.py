"""ClientProtocol over a real loopback connection: output drives the buffer, reports go back."""
from __future__ import annotations

import asyncio

from plait.conch.insults._vt102 import TerminalBuffer
from plait.conch.insults.protocol import ClientProtocol


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def write(self, text: str) -> None:
        self.calls.append(("write", text))

    def cursor_position(self, column: int, line: int) -> None:
        self.calls.append(("cursor_position", column, line))


async def test_client_protocol_feeds_the_buffer_and_answers_reports() -> None:
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[bytes] = asyncio.Queue()
    program_side: list[asyncio.StreamWriter] = []
    connected = asyncio.Event()

    async def program(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        program_side.append(writer)
        connected.set()
        while data := await reader.read(100):
            await received.put(data)

    server = await asyncio.start_server(program, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    buf = TerminalBuffer(20, 4)
    transport, proto = await loop.create_connection(lambda: ClientProtocol(buf), "127.0.0.1", port)
    try:
        await asyncio.wait_for(connected.wait(), 10)
        writer = program_side[0]
        writer.write(b"\x1b[2J\x1b[1;31mhi\x1b[0m\r\nthere\x1b[6n")
        await writer.drain()
        assert await asyncio.wait_for(received.get(), 10) == b"\x1b[2;6R"
        assert buf.lines()[:2] == ["hi", "there"]
        assert buf.cell(0, 0).fg == 1
        assert proto.transport is transport
    finally:
        transport.close()
        server.close()
        await server.wait_closed()
    await asyncio.sleep(0)
    assert proto.transport is None


def test_client_protocol_drives_any_terminal() -> None:
    rec = Recorder()
    proto = ClientProtocol(rec)  # type: ignore[arg-type]
    proto.data_received(b"ab\x1b[3;4Hc")
    assert rec.calls == [("write", "ab"), ("cursor_position", 3, 2), ("write", "c")]
