"""LINEMODE (RFC 1184): the MODE handshake and the SLC (special line characters) table.

Why its own module: SLC is a small negotiation inside the negotiation, with rules of its
own to avoid loops (acknowledgements are never answered; two CANTCHANGE values degenerate to
NOSUPPORT). Pure state: ``receive`` returns the sub-negotiation payloads to send back.
Only the client sends its SLC table unsolicited; the server answers it with its own table
(whole, for the ``0 SLC_DEFAULT 0`` request), so both ends never race on the same entry.
"""
from __future__ import annotations

from collections.abc import Mapping

from plait.conch.telnet import constants as c
from plait.conch.telnet.events import Event, LinemodeChanged, ProtocolViolation, SlcChanged

__all__ = ["DEFAULT_SLC", "Linemode", "SlcTable", "parse_slc", "render_slc"]

#: function -> (flags, value); flags hold the level bits and FLUSHIN/FLUSHOUT.
SlcTable = dict[int, tuple[int, int]]

_FLUSH = c.SLC_FLUSHIN | c.SLC_FLUSHOUT

#: A Unix tty's special characters (^C, ^\, ^D, ^Z, DEL, ^U, ^W...); the rest unsupported.
DEFAULT_SLC: Mapping[int, tuple[int, int]] = {
    c.SLC_IP: (c.SLC_VALUE | _FLUSH, 0x03),
    c.SLC_AO: (c.SLC_VALUE, 0x0F),
    c.SLC_AYT: (c.SLC_VALUE, 0x14),
    c.SLC_ABORT: (c.SLC_VALUE | _FLUSH, 0x1C),
    c.SLC_EOF: (c.SLC_VALUE, 0x04),
    c.SLC_SUSP: (c.SLC_VALUE | c.SLC_FLUSHIN, 0x1A),
    c.SLC_EC: (c.SLC_VALUE, 0x7F),
    c.SLC_EL: (c.SLC_VALUE, 0x15),
    c.SLC_EW: (c.SLC_VALUE, 0x17),
    c.SLC_RP: (c.SLC_VALUE, 0x12),
    c.SLC_LNEXT: (c.SLC_VALUE, 0x16),
    c.SLC_XON: (c.SLC_VALUE, 0x11),
    c.SLC_XOFF: (c.SLC_VALUE, 0x13),
}


def _full(table: Mapping[int, tuple[int, int]]) -> SlcTable:
    return {f: table.get(f, (c.SLC_NOSUPPORT, 0)) for f in range(1, c.NSLC + 1)}


def parse_slc(payload: bytes) -> list[tuple[int, int, int]]:
    """``(function, flags, value)`` triplets; a trailing partial triplet is dropped."""
    return [(payload[i], payload[i + 1], payload[i + 2]) for i in range(0, len(payload) - 2, 3)]


def render_slc(triplets: list[tuple[int, int, int]]) -> bytes:
    """The LINEMODE SLC payload (framing and IAC doubling are the caller's)."""
    return bytes([c.LM_SLC, *(b for t in triplets for b in t)])


class Linemode:
    """One end's LINEMODE state: the agreed MODE and the SLC table."""

    def __init__(self, *, server: bool, slc: Mapping[int, tuple[int, int]] | None = None,
                 ) -> None:
        self.server = server
        self.default: SlcTable = _full(DEFAULT_SLC if slc is None else slc)
        self.slc: SlcTable = dict(self.default)
        self.mode: int | None = None           # agreed mode (None until MODE_ACK)
        self.pending_mode: int | None = None   # server: sent, not yet acknowledged

    def mode_payload(self, mode: int) -> bytes:
        """Server: the MODE payload to send, remembered until the client acknowledges it."""
        self.pending_mode = mode & c.MODE_MASK & ~c.MODE_ACK
        return bytes((c.LM_MODE, self.pending_mode))

    def table_payload(self) -> bytes:
        """Client: our whole SLC table as a payload, unsupported functions included (so the
        server learns what we lack)."""
        return render_slc([(f, fl, v) for f, (fl, v) in sorted(self.slc.items())])

    def receive(self, payload: bytes) -> tuple[list[bytes], list[Event]]:
        """Handle one ``IAC SB LINEMODE <payload> IAC SE``."""
        if not payload:
            return [], [ProtocolViolation("empty LINEMODE sub-negotiation")]
        verb, rest = payload[0], payload[1:]
        if verb == c.LM_MODE:
            return self._mode(rest)
        if verb == c.LM_SLC:
            return self._slc(rest)
        if verb in (c.DO, c.DONT, c.WILL, c.WONT) and rest[:1] == bytes((c.LM_FORWARDMASK,)):
            if verb == c.DO and not self.server:
                # We forward on the SLC characters only; a mask is refused as RFC 1184 allows.
                return [bytes((c.WONT, c.LM_FORWARDMASK))], []
            return [], []
        return [], [ProtocolViolation(f"unknown LINEMODE sub-negotiation {verb}")]

    def _mode(self, rest: bytes) -> tuple[list[bytes], list[Event]]:
        if len(rest) != 1:
            return [], [ProtocolViolation("LINEMODE MODE needs exactly one byte")]
        raw = rest[0]
        mode = raw & c.MODE_MASK & ~c.MODE_ACK
        acked = bool(raw & c.MODE_ACK)
        if self.server:
            if not acked:
                # A client's suggestion: accept it and acknowledge (never answered again).
                self.mode = self.pending_mode = mode
                return [bytes((c.LM_MODE, mode | c.MODE_ACK))], [LinemodeChanged(mode)]
            if self.pending_mode is None:
                return [], [ProtocolViolation("MODE_ACK for a MODE never sent")]
            self.mode, self.pending_mode = mode, None
            return [], [LinemodeChanged(mode)]
        if acked:
            return [], []                       # a client never answers an ACK
        changed = mode != self.mode
        self.mode = mode
        events: list[Event] = [LinemodeChanged(mode)] if changed else []
        return [bytes((c.LM_MODE, mode | c.MODE_ACK))], events

    def _slc(self, rest: bytes) -> tuple[list[bytes], list[Event]]:
        reply: list[tuple[int, int, int]] = []
        changed: list[tuple[int, int, int]] = []
        events: list[Event] = []
        if len(rest) % 3:
            events.append(ProtocolViolation("SLC payload is not whole triplets"))
        for func, flags, value in parse_slc(rest):
            level = flags & c.SLC_LEVELBITS
            if func == 0:
                if level == c.SLC_DEFAULT:
                    self.slc = dict(self.default)
                if level in (c.SLC_DEFAULT, c.SLC_VALUE):
                    reply += [(f, fl, v) for f, (fl, v) in sorted(self.slc.items())
                              if fl & c.SLC_LEVELBITS != c.SLC_NOSUPPORT]
                continue
            if func > c.NSLC:
                if not flags & c.SLC_ACK:
                    reply.append((func, c.SLC_NOSUPPORT, 0))
                continue
            before = self.slc[func]
            answer = self._one(func, flags, value)
            if answer is not None:
                reply.append(answer)
            if self.slc[func] != before:
                changed.append((func, *self.slc[func]))
        if changed:
            events.append(SlcChanged(tuple(changed)))
        return ([render_slc(reply)] if reply else []), events

    def _one(self, func: int, flags: int, value: int) -> tuple[int, int, int] | None:
        """RFC 1184's rules for one triplet: the answer to send, or None."""
        mine_flags, mine_value = self.slc[func]
        level = flags & c.SLC_LEVELBITS
        my_level = mine_flags & c.SLC_LEVELBITS
        if flags & c.SLC_ACK:
            return None                         # an answer to us: never answered again
        if level == my_level and value == mine_value:
            return None                         # already agreed
        if level == c.SLC_NOSUPPORT:
            self.slc[func] = (c.SLC_NOSUPPORT, 0)
            return (func, c.SLC_NOSUPPORT | c.SLC_ACK, 0)
        if level == c.SLC_DEFAULT:
            self.slc[func] = self.default[func]
            return (func, *self.default[func])
        default_level = self.default[func][0] & c.SLC_LEVELBITS
        if default_level == c.SLC_CANTCHANGE:
            if level == c.SLC_CANTCHANGE:      # both insist: degenerate to NOSUPPORT
                self.slc[func] = (c.SLC_NOSUPPORT, 0)
                return (func, c.SLC_NOSUPPORT, 0)
            return (func, *self.slc[func])      # counter-offer our fixed value
        self.slc[func] = (flags & ~c.SLC_ACK, value)
        return (func, flags | c.SLC_ACK, value)
