"""plait.conch.ssh: SSHv2 server and client.

The layers, bottom up: ``packet`` (the binary packet protocol, native), ``transport``
(version exchange, key exchange, rekeying), ``userauth``, ``connection`` (channels), ``sftp``;
each a sans-IO state machine driven by the asyncio adapter (``protocol``). The API:
``await connect(host, port, username=..., client_keys=...)`` and
``await listen(host, port, server_host_keys=..., portal=..., session_factory=...)``.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError", "ChannelOpenError", "ConnectionLost", "HostKeyError", "Key",
    "ProtocolError", "RunResult", "SFTPSession", "SSHClientConnection", "SSHClientSession", "SSHServer",
    "SSHServerChannel", "SSHServerProcess", "SSHServerSession", "Transport", "TransportConfig",
    "connect", "listen",
]

_WHERE = {
    "AuthenticationError": "errors", "ChannelOpenError": "errors", "ConnectionLost": "errors",
    "HostKeyError": "errors", "ProtocolError": "errors", "Key": "keys",
    "RunResult": "client", "SSHClientConnection": "client", "SSHClientSession": "client",
    "connect": "client", "SFTPSession": "server", "SSHServer": "server", "SSHServerChannel": "server",
    "SSHServerProcess": "server", "SSHServerSession": "server", "listen": "server",
    "Transport": "transport", "TransportConfig": "transport",
}


def __getattr__(name: str) -> Any:
    # lazy: importing plait.conch.ssh.keys must not need the native packet layer
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'plait.conch.ssh' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
