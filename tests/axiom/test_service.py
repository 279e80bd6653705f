"""Services as items: StoreService starts IService powerups and the scheduler; port items."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from plait.axiom.attributes import boolean, integer, text
from plait.axiom.dependency import install_on, uninstall_from
from plait.axiom.item import Item
from plait.axiom.scheduler import scheduler_for
from plait.axiom.service import (
    IService,
    StoreService,
    StringEndpointPort,
    TCPPort,
)
from plait.axiom.store import Store
from plait.core.service import MultiService
from plait.epsilon.extime import Time

WAIT = 10.0
T0 = Time.from_iso8601_time_and_date("2005-10-01T12:00:00Z")

#: what the Recorder items did, in order
events: list[str] = []


class Recorder(Item):
    type_name = "test_svc_recorder"
    powerup_interfaces = [IService]
    name = text(default="r")
    fail_start = boolean(default=False)

    async def start(self) -> None:
        if self.fail_start:
            events.append(f"fail {self.name}")
            raise RuntimeError(f"{self.name} cannot start")
        events.append(f"start {self.name}")

    async def stop(self) -> None:
        events.append(f"stop {self.name}")

    def endpoints(self) -> list[str]:
        return [f"fake:{self.name}"]


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


class EchoFactory(Item):
    type_name = "test_svc_echo_factory"
    built = integer(default=0)

    def build_protocol(self) -> asyncio.Protocol:
        self.built += 1
        return Echo()


class Tick(Item):
    type_name = "test_svc_tick"
    runs = integer(default=0)

    def run(self) -> None:
        self.runs += 1


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


async def round_trip(port: int) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
    try:
        writer.write(b"hello\n")
        return await asyncio.wait_for(reader.readline(), WAIT)
    finally:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)


async def test_services_start_by_priority_and_stop_in_reverse(loop_kind: str) -> None:
    s = Store()
    low, high = Recorder(store=s, name="low"), Recorder(store=s, name="high")
    s.power_up(low, IService, priority=0)
    s.power_up(high, IService, priority=10)
    service = StoreService(s)
    assert isinstance(service, MultiService)
    events.clear()
    await service.start()
    assert service.running
    assert events == ["start high", "start low"]
    assert service.endpoints() == ["fake:high", "fake:low"]
    await service.stop()
    assert events == ["start high", "start low", "stop low", "stop high"]
    assert not service.running


async def test_a_failing_start_stops_those_started(loop_kind: str) -> None:
    s = Store()
    s.power_up(Recorder(store=s, name="ok"), IService, priority=5)
    s.power_up(Recorder(store=s, name="bad", fail_start=True), IService, priority=1)
    service = StoreService(s)
    events.clear()
    with pytest.raises(RuntimeError, match="bad cannot start"):
        await service.start()
    assert events == ["start ok", "fail bad", "stop ok"]
    assert not service.running


async def test_items_installed_while_stopped_run_on_next_start(loop_kind: str) -> None:
    s = Store()
    service = StoreService(s)
    await service.start()
    await service.stop()
    rec = Recorder(store=s, name="new")
    install_on(rec, s)
    events.clear()
    await service.start()
    await service.stop()
    uninstall_from(rec, s)
    await service.start()
    await service.stop()
    assert events == ["start new", "stop new"]


async def test_tcp_port_item_listens_and_closes(loop_kind: str) -> None:
    s = Store()
    factory = EchoFactory(store=s)
    port = TCPPort(store=s, port_number=0, interface="127.0.0.1", factory=factory)
    install_on(port, s)
    assert port.endpoints() == ["tcp:0:interface=127.0.0.1"]
    service = StoreService(s)
    await service.start()
    try:
        [address] = service.endpoints()
        assert address.startswith("tcp:127.0.0.1:")
        assert await round_trip(port_of(address)) == b"HELLO\n"
        assert factory.built == 1
    finally:
        await service.stop()
    with pytest.raises(OSError):
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port_of(address)), WAIT)
    assert port.endpoints() == ["tcp:0:interface=127.0.0.1"]


async def test_string_endpoint_port_item(loop_kind: str) -> None:
    s = Store()
    factory = EchoFactory(store=s)
    port = StringEndpointPort(store=s, description="tcp:0:interface=127.0.0.1",
                              factory=factory)
    port.check()
    install_on(port, s)
    service = StoreService(s)
    await service.start()
    try:
        [address] = port.endpoints()
        assert await round_trip(port_of(address)) == b"HELLO\n"
    finally:
        await service.stop()
    bad = StringEndpointPort(store=s, description="tcp:notaport", factory=factory)
    with pytest.raises(ValueError, match="tcp:notaport"):
        bad.check()


async def test_port_without_a_usable_factory_fails_to_start(loop_kind: str) -> None:
    s = Store()
    no_factory = TCPPort(store=s, interface="127.0.0.1")
    with pytest.raises(ValueError, match="no factory"):
        await no_factory.start()
    wrong = TCPPort(store=s, interface="127.0.0.1", factory=Tick(store=s))
    with pytest.raises(TypeError, match="build_protocol"):
        await wrong.start()


async def test_port_items_persist_and_serve_after_reopening(
        tmp_path: Path, loop_kind: str) -> None:
    s = Store(tmp_path / "site")
    install_on(StringEndpointPort(store=s, description="tcp:0:interface=127.0.0.1",
                                  factory=EchoFactory(store=s)), s)
    s.close()
    s = Store(tmp_path / "site")
    try:
        service = StoreService(s)
        await service.start()
        try:
            [address] = service.endpoints()
            assert await round_trip(port_of(address)) == b"HELLO\n"
        finally:
            await service.stop()
    finally:
        s.close()


async def test_store_service_runs_the_scheduler(loop_kind: str) -> None:
    s = Store()
    tick = Tick(store=s)
    now = T0
    scheduler_for(s).schedule(tick, now - timedelta(seconds=1))
    service = StoreService(s, clock=lambda: now)
    await service.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while tick.runs == 0 and loop.time() < deadline:
            await asyncio.sleep(0.001)
        assert tick.runs == 1
    finally:
        await service.stop()
    assert not scheduler_for(s).running

    without = StoreService(s, scheduler=False)
    await without.start()
    try:
        assert not scheduler_for(s).running
    finally:
        await without.stop()
