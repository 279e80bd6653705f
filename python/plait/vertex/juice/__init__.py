"""AMP, the final form of JUICE: asynchronous messages, wire-compatible with Twisted's AMP.

Declare commands, respond to them, call them::

    class Sum(Command):
        arguments = [("a", Integer()), ("b", Integer())]
        response = [("total", Integer())]

    class Calculator(AMP):
        @Sum.responder
        def sum(self, a: int, b: int) -> dict:
            return {"total": a + b}

    proto = await connect("127.0.0.1", port, AMP)
    assert await proto.call_remote(Sum, a=1, b=2) == {"total": 3}

Boxes are framed by the native decoder and encoder (``plait._native``).
"""
from .arguments import (
    AmpList,
    Argument,
    Boolean,
    DateTime,
    Decimal,
    Float,
    Integer,
    ListOf,
    Path,
    String,
    Unicode,
)
from .command import Command
from .endpoints import connect, listen
from .errors import (
    TLS_ERROR_CODE,
    UNHANDLED_ERROR_CODE,
    UNKNOWN_ERROR_CODE,
    AmpError,
    BadLocalReturn,
    ConnectionLost,
    InvalidSignature,
    OnlyOneTLS,
    ProtocolError,
    RemoteAmpError,
    TLSError,
    TLSNotAvailable,
    TooLong,
    UnhandledCommand,
    UnknownRemoteError,
)
from .protocol import AMP
from .starttls import StartTLS

__all__ = [
    "AMP",
    "TLS_ERROR_CODE",
    "UNHANDLED_ERROR_CODE",
    "UNKNOWN_ERROR_CODE",
    "AmpError",
    "AmpList",
    "Argument",
    "BadLocalReturn",
    "Boolean",
    "Command",
    "ConnectionLost",
    "DateTime",
    "Decimal",
    "Float",
    "Integer",
    "InvalidSignature",
    "ListOf",
    "OnlyOneTLS",
    "Path",
    "ProtocolError",
    "RemoteAmpError",
    "StartTLS",
    "String",
    "TLSError",
    "TLSNotAvailable",
    "TooLong",
    "UnhandledCommand",
    "Unicode",
    "UnknownRemoteError",
    "connect",
    "listen",
]
