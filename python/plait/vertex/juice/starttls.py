"""StartTLS: switch an AMP connection to TLS in place, as Twisted's ``amp.StartTLS`` does.

On the wire it is an argument-less command named ``StartTLS`` and an empty answer.  The
responder switches right after writing its answer; the caller holds every box it sends
after the command until the answer arrives, then starts its side of the handshake.

TLS options never travel; they are local keyword arguments:

* caller: ``await proto.call_remote(StartTLS, tls_context=ctx, tls_server_hostname="h")``
  (``tls_server_side`` to override the role);
* responder: return ``{"tls_context": ctx}`` from a ``@StartTLS.responder``, or set
  ``AMP.tls_context`` and keep the default responder.

The TLS role defaults from the context (``PROTOCOL_TLS_SERVER`` contexts serve): the
caller is the TLS client and the responder the TLS server, which is also what Twisted
does when the TCP client sends StartTLS.
"""
from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .command import Command
from .errors import TLS_ERROR_CODE, TLSError, TLSNotAvailable

CALLER_OPTIONS = frozenset({"tls_context", "tls_server_hostname", "tls_server_side"})
RESPONDER_OPTIONS = frozenset({"tls_context", "tls_server_side"})


class StartTLS(Command):
    """Switch the connection to TLS (see the module docstring)."""

    command_name = b"StartTLS"
    arguments = ()
    response = ()
    errors: ClassVar[Mapping[type[BaseException], bytes | str]] = {TLSError: TLS_ERROR_CODE}
    local_arguments = CALLER_OPTIONS
    switches_tls = True


@dataclass(frozen=True, slots=True)
class TLSOptions:
    """How one side starts TLS: its context, role, and (clients) the name to verify."""

    context: ssl.SSLContext
    server_side: bool
    server_hostname: str | None = None

    @classmethod
    def for_caller(cls, options: Mapping[str, Any]) -> TLSOptions:
        """The caller's options from ``call_remote`` keywords; the context is required."""
        context = options.get("tls_context")
        if not isinstance(context, ssl.SSLContext):
            raise TypeError("StartTLS needs tls_context=<ssl.SSLContext> on the calling side")
        server_side = options.get("tls_server_side")
        if server_side is None:
            server_side = context.protocol == ssl.PROTOCOL_TLS_SERVER
        hostname = options.get("tls_server_hostname")
        if hostname is None and not server_side and context.check_hostname:
            raise TypeError(
                "StartTLS with a hostname-checking context needs tls_server_hostname"
            )
        return cls(context, bool(server_side), None if server_side else hostname)

    @classmethod
    def for_responder(
        cls, result: Mapping[str, Any], default: ssl.SSLContext | None
    ) -> TLSOptions:
        """The responder's options from its result dict (or the protocol's default)."""
        context = result.get("tls_context") or default
        if context is None:
            raise TLSNotAvailable("this side has no TLS context (set AMP.tls_context)")
        if not isinstance(context, ssl.SSLContext):
            raise TypeError(f"tls_context must be an ssl.SSLContext, not {context!r}")
        server_side = result.get("tls_server_side")
        if server_side is None:
            server_side = context.protocol != ssl.PROTOCOL_TLS_CLIENT
        return cls(context, bool(server_side))


def strip_options(values: Mapping[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """``values`` without the local TLS options (what is left goes on the wire)."""
    return {k: v for k, v in values.items() if k not in names}


__all__ = ["StartTLS", "TLSOptions", "strip_options"]
