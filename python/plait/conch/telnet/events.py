"""Events the sans-IO telnet core reports, as frozen dataclasses (after h11).

Why events: the core never calls application code; an adapter drains
``TelnetConnection.next_event()`` and decides what to do, so the same core serves the
asyncio server, the client and in-memory tests.
"""
from __future__ import annotations

from dataclasses import dataclass

from plait.conch.telnet.constants import COMMAND_NAMES, OPTION_NAMES

__all__ = [
    "CommandReceived", "DataReceived", "Event", "LinemodeChanged", "OptionDisabled",
    "OptionEnabled", "OptionRefused", "ProtocolViolation", "SlcChanged", "TerminalType",
    "TerminalTypeList", "WindowSize", "option_name",
]


def option_name(option: int) -> str:
    """``"NAWS"`` for 31; unknown codes as their number."""
    return OPTION_NAMES.get(option, str(option))


@dataclass(frozen=True)
class DataReceived:
    """Application bytes, IAC-unescaped; in NVT mode CR NUL arrives as ``\\r`` and CR LF as
    ``\\r\\n`` (split between two events only when the CR ended a chunk: a CR is never
    held back waiting for its pair)."""

    data: bytes


@dataclass(frozen=True)
class CommandReceived:
    """A two-byte command such as IP, AYT, BRK, EC, EL, AO, GA, NOP, DM, EOR, SUSP."""

    command: int

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, str(self.command))


@dataclass(frozen=True)
class _OptionEvent:
    option: int
    local: bool

    @property
    def name(self) -> str:
        return option_name(self.option)


@dataclass(frozen=True)
class OptionEnabled(_OptionEvent):
    """``option`` is now on; ``local`` means on our side (we WILL), else on the peer's."""


@dataclass(frozen=True)
class OptionDisabled(_OptionEvent):
    """``option`` was on and is now off (``local`` as in :class:`OptionEnabled`)."""


@dataclass(frozen=True)
class OptionRefused(_OptionEvent):
    """We asked to enable ``option`` and the peer said no."""


@dataclass(frozen=True)
class WindowSize:
    """NAWS (RFC 1073): the client's window in columns and rows (0 means unknown)."""

    width: int
    height: int


@dataclass(frozen=True)
class TerminalType:
    """TTYPE IS (RFC 1091): one name from the client's list."""

    name: str


@dataclass(frozen=True)
class TerminalTypeList:
    """The whole TTYPE list once cycling found its end (a name repeated)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class LinemodeChanged:
    """The LINEMODE MODE (RFC 1184) both ends now agree on (bits MODE_EDIT, MODE_TRAPSIG...)."""

    mode: int


@dataclass(frozen=True)
class SlcChanged:
    """SLC triplets the peer sent and we now hold: ``(function, flags, value)``."""

    triplets: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class ProtocolViolation:
    """The peer broke the protocol (bad command, oversize SB, flood); ``fatal`` asks the
    adapter to close the connection."""

    reason: str
    fatal: bool = False


Event = (DataReceived | CommandReceived | OptionEnabled | OptionDisabled | OptionRefused
         | WindowSize | TerminalType | TerminalTypeList | LinemodeChanged | SlcChanged
         | ProtocolViolation)
