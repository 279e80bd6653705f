"""plait.core.listening: port, sockets, close (listening and connections), async with."""
from __future__ import annotations

import asyncio

from plait.core.listening import ListeningServer


class Echoes(ListeningServer):
    def __init__(self) -> None:
        self.transports: list[asyncio.Transport] = []

    def close_connections(self) -> None:
        for transport in self.transports:
            transport.close()


async def test_close_stops_listening_and_ends_connections() -> None:
    server = Echoes()
    assert server.sockets == ()
    loop = asyncio.get_running_loop()

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            server.transports.append(transport)  # type: ignore[arg-type]

    server._server = await loop.create_server(Proto, "127.0.0.1", 0)
    port = server.port
    assert port == server.sockets[0].getsockname()[1] > 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(100):
        if server.transports:
            break
        await asyncio.sleep(0.01)
    async with server:
        pass
    assert await asyncio.wait_for(reader.read(), 5) == b""      # our end was closed
    writer.close()
    try:
        await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        pass
    else:
        raise AssertionError("still listening after close()")
