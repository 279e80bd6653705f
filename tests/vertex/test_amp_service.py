"""The AMP hub `plait serve` runs: plait's own client and Twisted's, against the real service."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from plait.axiom.service import StoreService, StringEndpointPort
from plait.axiom.store import Store
from plait.epsilon.extime import Time
from plait.epsilon.version import version
from plait.vertex.amp_service import AmpHub, AmpServiceMaker, Echo, Ping, Version
from plait.vertex.juice import connect

TWISTED_CLIENT = r"""
import json, sys
from twisted.internet import reactor, defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

class Ping(amp.Command):
    commandName = b"plait.Ping"
    response = [(b"time", amp.Unicode())]

class Echo(amp.Command):
    commandName = b"plait.Echo"
    arguments = [(b"value", amp.String())]
    response = [(b"value", amp.String())]

class Version(amp.Command):
    commandName = b"plait.Version"
    response = [(b"version", amp.Unicode())]

@defer.inlineCallbacks
def main():
    proto = yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", int(sys.argv[1])), amp.AMP())
    ping = yield proto.callRemote(Ping)
    echo = yield proto.callRemote(Echo, value=b"\x00twisted\xff")
    ver = yield proto.callRemote(Version)
    print(json.dumps({"time": ping["time"], "echo": echo["value"].hex(), "version": ver["version"]}))
    proto.transport.loseConnection()

def done(result):
    reactor.stop()
    return result

main().addBoth(done)
reactor.callLater(20, reactor.stop)
reactor.run()
"""


def hub_service(store_dir: Path) -> StoreService:
    """The hub as `plait serve` runs it: items installed in a store, run by its service."""
    store = Store(store_dir)
    AmpServiceMaker().install(store, "tcp:0:interface=127.0.0.1")
    return StoreService(store, scheduler=False)


def test_install_creates_a_named_port_serving_the_hub(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as store:
        AmpServiceMaker().install(store, "tcp:0:interface=127.0.0.1")
    with Store(tmp_path / "s") as store:  # it persists
        [port] = [p for p in store.query(StringEndpointPort)]
        assert port.name == "amp" and port.description == "tcp:0:interface=127.0.0.1"
        assert isinstance(port.factory, AmpHub)


async def test_plait_client(loop_kind: str, tmp_path: Path) -> None:
    service = hub_service(tmp_path / "s")
    await service.start()
    try:
        [endpoint] = service.endpoints()
        port = int(endpoint.rsplit(":", 1)[1])
        proto = await connect("127.0.0.1", port)
        try:
            pong = await proto.call_remote(Ping)
            assert abs((Time() - Time.from_iso8601_time_and_date(pong["time"])).total_seconds()) < 60
            assert await proto.call_remote(Echo, value=b"\x00\xff" * 1000) == {"value": b"\x00\xff" * 1000}
            assert await proto.call_remote(Version) == {"version": version.short()}
        finally:
            proto.close()
    finally:
        await service.stop()
        service.store.close()


async def test_twisted_client(loop_kind: str, tmp_path: Path) -> None:
    service = hub_service(tmp_path / "s")
    await service.start()
    try:
        port = service.endpoints()[0].rsplit(":", 1)[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", TWISTED_CLIENT, port,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        answer = json.loads(out)
        assert answer["echo"] == b"\x00twisted\xff".hex()
        assert answer["version"] == version.short()
        Time.from_iso8601_time_and_date(answer["time"])
    finally:
        await service.stop()
        service.store.close()
