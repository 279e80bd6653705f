"""plait.conch.telnet: telnet (RFC 854) with Q-method option negotiation (RFC 1143).

The sans-IO core is :class:`TelnetConnection`; ``listen_terminal`` serves terminal
applications (``plait.conch.insults``) behind a login, ``listen_lines`` serves line-at-a-time
programs, and ``open_connection`` is a client.
"""
from plait.conch.telnet.client import TelnetClient, open_connection
from plait.conch.telnet.constants import BINARY, ECHO, LINEMODE, NAWS, SGA, TTYPE
from plait.conch.telnet.errors import LoginTimeout, TelnetError
from plait.conch.telnet.events import (
    CommandReceived,
    DataReceived,
    Event,
    LinemodeChanged,
    OptionDisabled,
    OptionEnabled,
    OptionRefused,
    ProtocolViolation,
    SlcChanged,
    TerminalType,
    TerminalTypeList,
    WindowSize,
)
from plait.conch.telnet.lines import TelnetLineSession, listen_lines
from plait.conch.telnet.protocol import TelnetConnection
from plait.conch.telnet.server import TelnetServer, listen_terminal

__all__ = [
    "BINARY", "ECHO", "LINEMODE", "NAWS", "SGA", "TTYPE",
    "CommandReceived", "DataReceived", "Event", "LinemodeChanged", "LoginTimeout",
    "OptionDisabled", "OptionEnabled", "OptionRefused", "ProtocolViolation", "SlcChanged",
    "TelnetClient", "TelnetConnection", "TelnetError", "TelnetLineSession", "TelnetServer",
    "TerminalType", "TerminalTypeList", "WindowSize", "listen_lines", "listen_terminal",
    "open_connection",
]
