"""The AMP service `plait serve` runs on TCP: a hub that answers Ping, Echo and Version.

Later Vertex work (Q2Q) adds its commands here; for now it lets any AMP client (plait's or
Twisted's) check that the server is alive and which version it runs.
"""
from __future__ import annotations

from typing import Any

from plait.axiom.dependency import install_on
from plait.axiom.item import Item
from plait.axiom.service import StringEndpointPort
from plait.axiom.store import Store
from plait.epsilon.extime import Time
from plait.epsilon.version import version
from plait.vertex.juice import AMP, Command, String, Unicode

DEFAULT_AMP_ENDPOINT = "tcp:8750:interface=127.0.0.1"


class Ping(Command):
    """Liveness: answers the server's current time in ISO 8601."""

    command_name = b"plait.Ping"
    arguments = []
    response = [("time", Unicode())]


class Echo(Command):
    """Answers the bytes it was sent."""

    command_name = b"plait.Echo"
    arguments = [("value", String())]
    response = [("value", String())]


class Version(Command):
    """The server's software version."""

    command_name = b"plait.Version"
    arguments = []
    response = [("version", Unicode())]


class HubProtocol(AMP):
    """The server side of the AMP service."""

    @Ping.responder
    def ping(self) -> dict[str, Any]:
        return {"time": Time().as_iso8601_time_and_date()}

    @Echo.responder
    def echo(self, value: bytes) -> dict[str, Any]:
        return {"value": value}

    @Version.responder
    def server_version(self) -> dict[str, Any]:
        return {"version": version.short()}


class AmpHub(Item):
    """The hub's protocol factory, kept in the site store for a port item to use."""

    type_name = "plait_amp_hub"
    schema_version = 1

    def build_protocol(self) -> HubProtocol:
        return HubProtocol()


class AmpServiceMaker:
    """The ``amp`` entry in the ``plait.services`` plugin group."""

    name = "amp"
    description = "AMP on TCP: Ping, Echo and Version commands"
    default_endpoint = DEFAULT_AMP_ENDPOINT

    def install(self, store: Store, endpoint: str) -> None:
        """A port item named ``amp`` serving the hub, started with the store."""
        port = StringEndpointPort(store=store, name=self.name, description=endpoint,
                                  factory=AmpHub(store=store))
        install_on(port, store)
