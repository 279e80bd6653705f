"""Errors of the runtime (``plait.core``); cred's own are in ``plait.core.cred.errors``.

Why a module of its own: callers catch these without importing the machinery that
raises them (services, plugins, transports).
"""
from __future__ import annotations

__all__ = ["ConnectionLost", "CoreError", "PluginError"]


class CoreError(Exception):
    """Base of the runtime's own errors."""


class PluginError(CoreError):
    """An entry point could not be loaded or is not what its group expects."""


class ConnectionLost(ConnectionResetError):
    """The connection went away while something still waited on it (e.g. ``drain()``)."""
