"""Two sans-IO telnet cores wired together in memory, delivering in fixed-size chunks."""
from __future__ import annotations

from plait.conch.telnet.events import Event
from plait.conch.telnet.protocol import TelnetConnection

MAX_ROUNDS = 50


def feed(conn: TelnetConnection, data: bytes, chunk: int) -> None:
    """Give ``data`` to ``conn`` ``chunk`` bytes at a time."""
    for i in range(0, len(data), chunk):
        conn.receive_data(data[i:i + chunk])


def drain(conn: TelnetConnection) -> list[Event]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


class Pair:
    """A client and a server core; ``run()`` shuttles bytes until both are quiet."""

    def __init__(self, client: TelnetConnection, server: TelnetConnection, chunk: int = 1 << 20
                 ) -> None:
        self.client, self.server, self.chunk = client, server, chunk
        self.client_events: list[Event] = []
        self.server_events: list[Event] = []
        self.rounds = 0

    def run(self) -> None:
        for _ in range(MAX_ROUNDS):
            to_client = self.server.data_to_send()
            to_server = self.client.data_to_send()
            if not to_client and not to_server:
                break
            feed(self.client, to_client, self.chunk)
            feed(self.server, to_server, self.chunk)
            self.rounds += 1
        else:
            raise AssertionError(f"still talking after {MAX_ROUNDS} rounds: a negotiation loop")
        self.client_events += drain(self.client)
        self.server_events += drain(self.server)
