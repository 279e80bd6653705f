"""The sans-IO telnet core: RFC 854 parsing and rendering plus option sub-negotiations.

Why sans-IO: the same state machine runs behind the asyncio server, the client, and the
in-memory tests that feed it one byte at a time. ``receive_data`` never raises on what the
peer sends: malformed input becomes a :class:`ProtocolViolation` event (``fatal`` when a
limit is exceeded, and the adapter closes), and every buffer has an explicit bound.
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from plait.conch.telnet import constants as c
from plait.conch.telnet.events import (
    CommandReceived,
    DataReceived,
    Event,
    OptionEnabled,
    ProtocolViolation,
    TerminalType,
    TerminalTypeList,
    WindowSize,
    option_name,
)
from plait.conch.telnet.linemode import Linemode
from plait.conch.telnet.options import Negotiator

__all__ = [
    "CLIENT_LOCAL", "CLIENT_REMOTE", "MAX_NEGOTIATIONS", "MAX_SUBNEGOTIATION",
    "MAX_TERMINAL_TYPES", "SERVER_LOCAL", "SERVER_REMOTE", "TelnetConnection",
]

#: Longest sub-negotiation payload kept (bytes); longer ones are dropped whole.
MAX_SUBNEGOTIATION = 1024
#: Option commands (WILL/WONT/DO/DONT) accepted from one peer before it counts as a flood.
MAX_NEGOTIATIONS = 4096
#: TTYPE names asked for while cycling (RFC 1091) before the list is taken as complete.
MAX_TERMINAL_TYPES = 16
#: Longest terminal type name kept (RFC 1010 names are at most 40 characters).
MAX_TERMINAL_TYPE_LENGTH = 40

#: What a server agrees to when asked: options it performs, options the client may perform.
SERVER_LOCAL = frozenset({c.ECHO, c.SGA, c.BINARY})
SERVER_REMOTE = frozenset({c.NAWS, c.TTYPE, c.SGA, c.BINARY, c.LINEMODE})
#: The same for a client.
CLIENT_LOCAL = frozenset({c.NAWS, c.TTYPE, c.SGA, c.BINARY, c.LINEMODE})
CLIENT_REMOTE = frozenset({c.ECHO, c.SGA, c.BINARY})

_DATA, _CR, _CR_SENT, _IAC, _NEGOTIATE, _SB_OPTION, _SB, _SB_IAC = range(8)
_LONE_CR = re.compile(rb"\r(?!\n)")
_NEGOTIATION = frozenset({c.WILL, c.WONT, c.DO, c.DONT})


def _subnegotiation(option: int, payload: bytes) -> bytes:
    return (bytes((c.IAC, c.SB, option)) + payload.replace(b"\xff", b"\xff\xff")
            + bytes((c.IAC, c.SE)))


class TelnetConnection:
    """One end of a telnet connection, with no I/O.

    Feed what arrives to :meth:`receive_data`, drain :meth:`next_event` and send what
    :meth:`data_to_send` returns. ``server`` picks the role for the asymmetric options:
    a server reads NAWS and asks for TTYPE and sets LINEMODE's MODE; a client reports its
    ``window_size`` and ``terminal_types`` (cycled as RFC 1091 says) and follows MODE.
    """

    def __init__(self, *, server: bool, accept_local: Iterable[int] | None = None,
                 accept_remote: Iterable[int] | None = None,
                 terminal_types: Sequence[str] = ("xterm",),
                 window_size: tuple[int, int] | None = None,
                 linemode: int | None = None, cycle_terminal_types: bool = False,
                 slc: Mapping[int, tuple[int, int]] | None = None,
                 max_subnegotiation: int = MAX_SUBNEGOTIATION,
                 max_negotiations: int = MAX_NEGOTIATIONS,
                 max_terminal_types: int = MAX_TERMINAL_TYPES) -> None:
        if not server and not terminal_types:
            raise ValueError("a client needs at least one terminal type")
        self.server = server
        self.options = Negotiator(
            (SERVER_LOCAL if server else CLIENT_LOCAL) if accept_local is None else accept_local,
            (SERVER_REMOTE if server else CLIENT_REMOTE) if accept_remote is None
            else accept_remote)
        self.linemode = Linemode(server=server, slc=slc)
        self.initial_linemode = linemode
        self.max_subnegotiation = max_subnegotiation
        self.max_negotiations = max_negotiations
        self.max_terminal_types = max_terminal_types
        self.cycle_terminal_types = cycle_terminal_types
        # client side
        self.terminal_types = tuple(terminal_types)
        self.window_size = window_size
        self._ttype_index = 0
        # server side
        self.terminal_type: str | None = None
        self.received_terminal_types: list[str] = []
        self._ttype_done = False
        # parser
        self._state = _DATA
        self._command = 0
        self._sb_option = 0
        self._sb = bytearray()
        self._sb_overflow = False
        self._negotiations = 0
        self._flooded = False
        self._events: deque[Event] = deque()
        self._out = bytearray()

    # ------------------------------------------------------------------ sans-IO surface

    def receive_data(self, data: bytes) -> None:
        """Parse bytes from the peer; events and answers queue up. Never raises on input."""
        pending = bytearray()
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state == _DATA:
                nvt = not self.options.remote_enabled(c.BINARY)
                j = data.find(b"\xff", i)
                if nvt:
                    k = data.find(b"\r", i, j if j >= 0 else n)
                    if k >= 0:
                        j = k
                if j < 0:
                    pending += data[i:]
                    break
                pending += data[i:j]
                self._state = _CR if data[j] == 0x0D else _IAC
                i = j + 1
                continue
            byte = data[i]
            if state == _CR:
                self._state = _DATA
                if byte == 0x0A:
                    pending += b"\r\n"
                    i += 1
                elif byte == 0x00:
                    pending += b"\r"
                    i += 1
                else:                           # lenient: a bare CR is still a CR
                    pending += b"\r"
                    if byte == c.IAC:
                        self._state = _IAC
                        i += 1
                continue
            if state == _CR_SENT:
                # The CR ended the previous chunk and was delivered; finish its pair.
                self._state = _DATA
                if byte == 0x0A:
                    pending += b"\n"
                    i += 1
                elif byte == 0x00:
                    i += 1
                continue
            i += 1
            if state == _IAC:
                self._state = _DATA
                if byte == c.IAC:
                    pending.append(c.IAC)
                elif byte in _NEGOTIATION:
                    self._command, self._state = byte, _NEGOTIATE
                elif byte == c.SB:
                    self._state = _SB_OPTION
                elif byte == c.SE:
                    self._flush(pending)
                    self._events.append(ProtocolViolation("IAC SE outside a sub-negotiation"))
                elif byte >= c.EOF_CMD:
                    self._flush(pending)
                    self._events.append(CommandReceived(byte))
                else:
                    self._flush(pending)
                    self._events.append(ProtocolViolation(f"IAC followed by {byte}"))
            elif state == _NEGOTIATE:
                self._state = _DATA
                self._flush(pending)
                self._negotiate(self._command, byte)
            elif state == _SB_OPTION:
                self._sb_option, self._state = byte, _SB
                self._sb.clear()
                self._sb_overflow = False
            elif state == _SB:
                j = data.find(b"\xff", i - 1)
                end = n if j < 0 else j
                self._sb_append(data[i - 1:end])
                if j < 0:
                    break
                self._state = _SB_IAC
                i = j + 1
            elif state == _SB_IAC:
                if byte == c.IAC:
                    self._sb_append(b"\xff")
                    self._state = _SB
                    continue
                self._flush(pending)
                self._state = _DATA
                if byte != c.SE:
                    # IAC <command> inside SB: take the SB as ended, then the command.
                    self._events.append(ProtocolViolation(
                        f"sub-negotiation of {option_name(self._sb_option)} ended without SE"))
                    self._state = _IAC
                    i -= 1
                self._end_subnegotiation()
        if self._state == _CR:
            # Do not hold a CR until more bytes come: clients send a bare CR for Enter.
            pending += b"\r"
            self._state = _CR_SENT
        self._flush(pending)

    def next_event(self) -> Event | None:
        """The oldest queued event, or None."""
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> bytes:
        """Everything queued for the peer since the last call."""
        out = bytes(self._out)
        self._out.clear()
        return out

    # ------------------------------------------------------------------ sending

    def send_data(self, data: bytes) -> None:
        """Queue application bytes: IAC doubled; in NVT mode a CR not followed by LF becomes
        CR NUL (RFC 854), so a lone CR in one call is never merged with the next call's LF."""
        data = data.replace(b"\xff", b"\xff\xff")
        if not self.options.local_enabled(c.BINARY):
            data = _LONE_CR.sub(b"\r\x00", data)
        self._out += data

    def send_command(self, command: int) -> None:
        """Queue ``IAC <command>`` (GA, NOP, AYT, IP, BRK, EOR...)."""
        if command in _NEGOTIATION or command in (c.SB, c.SE, c.IAC) or command < c.EOF_CMD:
            raise ValueError(f"{command} is not a two-byte telnet command")
        self._out += bytes((c.IAC, command))

    def enable_local(self, option: int) -> None:
        """Offer ``IAC WILL option`` (Q method: no duplicate, no loop)."""
        self._apply(*self.options.enable_local(option))

    def disable_local(self, option: int) -> None:
        self._apply(*self.options.disable_local(option))

    def enable_remote(self, option: int) -> None:
        """Ask ``IAC DO option``."""
        self._apply(*self.options.enable_remote(option))

    def disable_remote(self, option: int) -> None:
        self._apply(*self.options.disable_remote(option))

    def local_enabled(self, option: int) -> bool:
        return self.options.local_enabled(option)

    def remote_enabled(self, option: int) -> bool:
        return self.options.remote_enabled(option)

    def set_window_size(self, width: int, height: int) -> None:
        """Client: remember the size and send NAWS if it is on."""
        if not (0 <= width <= 0xFFFF and 0 <= height <= 0xFFFF):
            raise ValueError(f"window size {width}x{height} does not fit NAWS (0..65535)")
        self.window_size = (width, height)
        if self.options.local_enabled(c.NAWS):
            self._send_naws()

    def request_terminal_type(self) -> None:
        """Server: ``IAC SB TTYPE SEND IAC SE`` (when the client does TTYPE)."""
        if self.options.remote_enabled(c.TTYPE):
            self._out += _subnegotiation(c.TTYPE, bytes((c.TTYPE_SEND,)))

    def set_linemode(self, mode: int) -> None:
        """Server: ask the client for LINEMODE MODE ``mode`` (MODE_EDIT, MODE_TRAPSIG...);
        remembered and sent when LINEMODE comes on if it is not on yet."""
        self.initial_linemode = mode
        if self.options.remote_enabled(c.LINEMODE):
            self._out += _subnegotiation(c.LINEMODE, self.linemode.mode_payload(mode))

    # ------------------------------------------------------------------ internals

    def _flush(self, pending: bytearray) -> None:
        if pending:
            self._events.append(DataReceived(bytes(pending)))
            pending.clear()

    def _apply(self, out: bytes, events: list[Event]) -> None:
        self._out += out
        for event in events:
            self._events.append(event)
            if isinstance(event, OptionEnabled):
                self._option_on(event)

    def _negotiate(self, command: int, option: int) -> None:
        if self._flooded:
            return
        self._negotiations += 1
        if self._negotiations > self.max_negotiations:
            self._flooded = True
            self._events.append(ProtocolViolation(
                f"more than {self.max_negotiations} option negotiations", fatal=True))
            return
        self._apply(*self.options.receive(command, option))

    def _option_on(self, event: OptionEnabled) -> None:
        """What turning an option on starts: NAWS report, TTYPE request, LINEMODE set-up."""
        option = event.option
        if event.local and not self.server:
            if option == c.NAWS and self.window_size is not None:
                self._send_naws()
            elif option == c.LINEMODE:
                self._out += _subnegotiation(c.LINEMODE, self.linemode.table_payload())
        elif not event.local and self.server:
            if option == c.TTYPE and not self._ttype_done:
                self.request_terminal_type()
            elif option == c.LINEMODE and self.initial_linemode is not None:
                self.set_linemode(self.initial_linemode)

    def _send_naws(self) -> None:
        assert self.window_size is not None
        w, h = self.window_size
        self._out += _subnegotiation(c.NAWS, w.to_bytes(2, "big") + h.to_bytes(2, "big"))

    def _sb_append(self, chunk: bytes) -> None:
        if self._sb_overflow:
            return
        if len(self._sb) + len(chunk) > self.max_subnegotiation:
            self._sb_overflow = True
            self._sb.clear()
            self._events.append(ProtocolViolation(
                f"sub-negotiation of {option_name(self._sb_option)} longer than "
                f"{self.max_subnegotiation} bytes; dropped"))
            return
        self._sb += chunk

    def _end_subnegotiation(self) -> None:
        option, payload = self._sb_option, bytes(self._sb)
        self._sb.clear()
        if self._sb_overflow:
            self._sb_overflow = False
            return
        if option == c.NAWS and self.server and self.options.remote_enabled(c.NAWS):
            if len(payload) != 4:
                self._events.append(ProtocolViolation("NAWS needs exactly 4 bytes"))
                return
            self._events.append(WindowSize(int.from_bytes(payload[:2], "big"),
                                           int.from_bytes(payload[2:], "big")))
        elif option == c.TTYPE:
            self._ttype(payload)
        elif option == c.LINEMODE and self._linemode_on():
            replies, events = self.linemode.receive(payload)
            for reply in replies:
                self._out += _subnegotiation(c.LINEMODE, reply)
            self._events.extend(events)
        # sub-negotiations of options that are off, or unknown, are ignored (RFC 854)

    def _linemode_on(self) -> bool:
        if self.server:
            return self.options.remote_enabled(c.LINEMODE)
        return self.options.local_enabled(c.LINEMODE)

    def _ttype(self, payload: bytes) -> None:
        if not self.server:
            if payload == bytes((c.TTYPE_SEND,)) and self.options.local_enabled(c.TTYPE):
                names, i = self.terminal_types, self._ttype_index
                if i < len(names):
                    name = names[i]
                elif i == len(names):
                    name = names[-1]           # the repeat that ends the list
                else:
                    i, name = 0, names[0]      # asked again: start over
                self._ttype_index = i + 1
                self._out += _subnegotiation(
                    c.TTYPE, bytes((c.TTYPE_IS,)) + name.encode("ascii", "replace"))
            return
        if payload[:1] != bytes((c.TTYPE_IS,)) or not self.options.remote_enabled(c.TTYPE):
            return
        name = payload[1:1 + MAX_TERMINAL_TYPE_LENGTH].decode("ascii", "replace")
        seen = self.received_terminal_types
        if self.terminal_type is None:
            self.terminal_type = name
        self._events.append(TerminalType(name))
        if self._ttype_done:
            return
        if not self.cycle_terminal_types:
            self._ttype_done = True
            return
        ended = bool(seen) and (name == seen[-1] or name == seen[0])
        if not ended:
            seen.append(name)
        if ended or len(seen) >= self.max_terminal_types:
            self._ttype_done = True
            self._events.append(TerminalTypeList(tuple(seen)))
        else:
            self.request_terminal_type()
