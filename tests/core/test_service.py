"""Services: order of start and stop, rollback, graceful stop, signals."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from plait.core.endpoints import client_endpoint
from plait.core.service import (
    MultiService,
    Service,
    StreamServerService,
    request_stop,
    run_until_signalled,
    service_stop_requested,
)
from plait.core.transport import StreamProtocol

WAIT = 10.0


class Recording(Service):
    def __init__(self, name: str, log: list[str], fail_start: bool = False) -> None:
        super().__init__(name)
        self.log = log
        self.fail_start = fail_start

    async def start(self) -> None:
        if self.fail_start:
            self.log.append(f"fail {self.name}")
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")
        await super().start()

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")
        await super().stop()


async def test_children_start_in_order_and_stop_in_reverse(loop_kind: str) -> None:
    log: list[str] = []
    root = MultiService("root", [Recording("a", log), Recording("b", log)])
    inner = MultiService("inner", [Recording("c", log)])
    root.add_service(inner)
    await root.start()
    assert root.running and all(s.running for s in root.services)
    await root.stop()
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    assert not root.running and not any(s.running for s in root.services)


async def test_failing_start_stops_the_started_ones_and_reraises(loop_kind: str) -> None:
    log: list[str] = []
    root = MultiService(
        "root",
        [Recording("a", log), Recording("b", log), Recording("c", log, True), Recording("d", log)],
    )
    with pytest.raises(RuntimeError, match="c cannot start"):
        await root.start()
    assert log == ["start a", "start b", "fail c", "stop b", "stop a"]
    assert not root.running
    assert not any(s.running for s in root.services)


async def test_stop_continues_past_a_failing_child_and_reraises(loop_kind: str) -> None:
    log: list[str] = []

    class BadStop(Recording):
        async def stop(self) -> None:
            await super().stop()
            raise OSError("stuck")

    root = MultiService("root", [Recording("a", log), BadStop("b", log), Recording("c", log)])
    await root.start()
    with pytest.raises(OSError, match="stuck"):
        await root.stop()
    assert log[-3:] == ["stop c", "stop b", "stop a"]


def test_names_and_membership() -> None:
    log: list[str] = []
    a, b = Recording("a", log), Recording("b", log)
    root = MultiService("root")
    root.add_service(a)
    root.add_service(b)
    assert root.get_service_named("b") is b
    assert a.parent is root
    with pytest.raises(KeyError):
        root.get_service_named("zz")
    with pytest.raises(ValueError, match="already has a service named 'a'"):
        root.add_service(Recording("a", log))
    with pytest.raises(ValueError, match="already in"):
        root.add_service(a)
    root.remove_service(a)
    assert root.services == [b] and a.parent is None
    assert list(root) == [b]


def test_bad_endpoint_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="port 'x' is not an integer"):
        StreamServerService("s", "tcp:x", StreamProtocol)


class Polite(StreamProtocol):
    """Server side: says hello, finishes (closes) when the client says bye."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()

    def stream_started(self) -> None:
        self.write(b"hello\n")

    def stream_received(self, data: memoryview) -> None:
        if b"bye" in bytes(data):
            self.write(b"goodbye\n")
            self.close()

    def stream_ended(self, exc: BaseException | None) -> None:
        self.ended.set()


class Client(StreamProtocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.changed = asyncio.Event()
        self.ended = asyncio.Event()

    def stream_received(self, data: memoryview) -> None:
        self.data += data
        self.changed.set()

    def stream_ended(self, exc: BaseException | None) -> None:
        self.ended.set()

    async def wait_for(self, text: bytes) -> None:
        while text not in self.data:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), WAIT)


async def connect(service: StreamServerService) -> Client:
    address = service.endpoints()[0]  # "tcp:127.0.0.1:PORT"
    _, host, port = address.split(":")
    client = await client_endpoint(f"tcp:host={host}:port={port}").connect(Client)
    await client.wait_for(b"hello\n")
    return client


async def test_stream_service_endpoints_and_restartable(loop_kind: str) -> None:
    service = StreamServerService("polite", "tcp:0:interface=127.0.0.1", Polite)
    assert service.endpoints() == ["tcp:0:interface=127.0.0.1"]
    await service.start()
    assert service.running
    address = service.endpoints()[0]
    assert address.startswith("tcp:127.0.0.1:") and not address.endswith(":0")
    await service.stop()
    assert not service.running
    assert service.endpoints() == ["tcp:0:interface=127.0.0.1"]
    await service.stop()  # stopping twice is harmless


async def test_graceful_stop_waits_for_in_flight_connection(loop_kind: str) -> None:
    service = StreamServerService("polite", "tcp:0:interface=127.0.0.1", Polite, grace=WAIT * 3)
    await service.start()
    client = await connect(service)
    stopping = asyncio.ensure_future(service.stop())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done()  # the connection is still in flight
    client.write(b"bye\n")  # the in-flight work finishes on its own
    await asyncio.wait_for(stopping, WAIT)
    await client.wait_for(b"goodbye\n")
    await asyncio.wait_for(client.ended.wait(), WAIT)


async def test_stragglers_are_closed_after_grace(loop_kind: str) -> None:
    service = StreamServerService("polite", "tcp:0:interface=127.0.0.1", Polite, grace=0.05)
    await service.start()
    number = int(service.endpoints()[0].rsplit(":", 1)[1])
    client = await connect(service)
    await asyncio.wait_for(service.stop(), WAIT)
    await asyncio.wait_for(client.ended.wait(), WAIT)  # the server closed it
    assert client.data == b"hello\n"
    with pytest.raises(OSError):  # and no longer accepts
        await client_endpoint(f"tcp:127.0.0.1:{number}").connect(Client)


async def test_run_until_signalled_stops_on_request(loop_kind: str) -> None:
    log: list[str] = []
    root = MultiService("root", [Recording("a", log), Recording("b", log)])
    readied = asyncio.Event()

    def ready() -> None:
        readied.set()
        log.append("ready")

    runner = asyncio.ensure_future(run_until_signalled(root, grace=1.0, ready=ready))
    await asyncio.wait_for(readied.wait(), WAIT)
    assert root.running and not runner.done()
    request_stop()
    await asyncio.wait_for(runner, WAIT)
    assert log == ["start a", "start b", "ready", "stop b", "stop a"]
    assert not service_stop_requested().is_set()  # cleared for the next run


async def test_run_until_signalled_stops_on_stop_event(loop_kind: str) -> None:
    log: list[str] = []
    event = asyncio.Event()
    runner = asyncio.ensure_future(
        run_until_signalled(Recording("a", log), ready=event.set, stop_event=event)
    )
    await asyncio.wait_for(runner, WAIT)  # ready() sets the event: start then stop
    assert log == ["start a", "stop a"]


async def test_run_until_signalled_propagates_start_failure(loop_kind: str) -> None:
    log: list[str] = []
    with pytest.raises(RuntimeError, match="cannot start"):
        await run_until_signalled(Recording("x", log, fail_start=True))
    loop = asyncio.get_running_loop()
    assert loop.remove_signal_handler(signal.SIGTERM) is False  # handlers were removed


SCRIPT = textwrap.dedent(
    """
    import sys
    from plait.core.loop import run
    from plait.core.service import MultiService, StreamServerService, run_until_signalled
    from plait.core.transport import StreamProtocol

    class Echo(StreamProtocol):
        def stream_received(self, data):
            self.write(data)

    async def main():
        root = MultiService("root", [
            StreamServerService("echo", "tcp:0:interface=127.0.0.1", Echo, grace=30.0),
        ])
        def ready():
            print("READY", root.endpoints()[0], flush=True)
        await run_until_signalled(root, grace=30.0, ready=ready)
        print("STOPPED", flush=True)

    run(main())
    """
)


async def test_sigterm_stops_a_real_process_gracefully(loop_kind: str, tmp_path: Path) -> None:
    script = tmp_path / "serve_echo.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PLAIT_LOOP=loop_kind)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), WAIT * 3)).decode()
        assert line.startswith("READY tcp:127.0.0.1:"), line
        port = int(line.strip().rsplit(":", 1)[1])
        client = await client_endpoint(f"tcp:127.0.0.1:{port}").connect(Client)
        client.write(b"in flight")
        await client.wait_for(b"in flight")
        proc.send_signal(signal.SIGTERM)
        # The server waits for this in-flight connection; it still echoes meanwhile.
        client.write(b" and more")
        await client.wait_for(b"in flight and more")
        client.close()  # the connection finishes on its own: the server can stop
        rest = await asyncio.wait_for(proc.stdout.read(), WAIT * 3)
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
        assert rest.decode().strip() == "STOPPED"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
