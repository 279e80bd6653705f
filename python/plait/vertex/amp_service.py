"""The AMP service `plait serve` runs on TCP: a hub that answers Ping, Echo and Version.

Later Vertex work (Q2Q) adds its commands here; for now it lets any AMP client (plait's or
Twisted's) check that the server is alive and which version it runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from plait.core.service import Service, StreamServerService
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


class AmpServiceMaker:
    """The ``amp`` entry in the ``plait.services`` plugin group."""

    name = "amp"
    description = "AMP on TCP: Ping, Echo and Version commands"
    default_endpoint = DEFAULT_AMP_ENDPOINT

    def make_service(self, endpoint: str, data_dir: Path) -> Service:
        return StreamServerService(self.name, endpoint, HubProtocol)
