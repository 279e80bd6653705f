"""The control endpoint's AMP commands: how `plait status` and `plait stop` talk to `plait serve`.

The endpoint is a UNIX socket (mode 0600) in the data directory, so only the server's own user
can reach it; there is no other authentication.
"""
from __future__ import annotations

from pathlib import Path

from plait.vertex.juice import AmpList, Command, Integer, ListOf, Unicode

CONTROL_SOCKET_NAME = "control.sock"


def control_socket_path(data_dir: Path) -> Path:
    """Where the control socket of a server using ``data_dir`` lives."""
    return data_dir / CONTROL_SOCKET_NAME


class Status(Command):
    """What the server runs: its pid, version, data directory and each service's endpoints."""

    command_name = b"plait.Status"
    arguments = []
    response = [
        ("pid", Integer()),
        ("version", Unicode()),
        ("data_dir", Unicode()),
        ("services", AmpList([("name", Unicode()), ("endpoints", ListOf(Unicode()))])),
    ]


class Stop(Command):
    """Stop the server gracefully; answered before the server starts stopping."""

    command_name = b"plait.Stop"
    arguments = []
    response = []
