"""RFC 1143 option negotiation (the Q method) for both sides of every option.

Why the Q method: naive "answer every WILL with DO" loops forever when both ends change
their minds at once; RFC 1143 keeps, per option and side, one of NO/YES/WANTNO/WANTYES
plus a one-bit queue (OPPOSITE) so every request is answered at most once and a change of
mind during negotiation is remembered instead of sent twice. This module is pure state:
each call returns the bytes to send and the events it caused.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from plait.conch.telnet.constants import DO, DONT, IAC, WILL, WONT
from plait.conch.telnet.events import (
    Event,
    OptionDisabled,
    OptionEnabled,
    OptionRefused,
    ProtocolViolation,
    option_name,
)

__all__ = ["Negotiator", "OptionState", "Q"]


class Q(enum.IntEnum):
    """RFC 1143 states of one side of one option."""

    NO = 0
    YES = 1
    WANTNO = 2
    WANTYES = 3


@dataclass
class OptionState:
    """``us``: our side (we WILL/WONT); ``him``: the peer's side (he WILL/WONT); the
    ``*_opposite`` flags are the RFC's queue bits (True = OPPOSITE)."""

    us: Q = Q.NO
    us_opposite: bool = False
    him: Q = Q.NO
    him_opposite: bool = False


class Negotiator:
    """The Q method for all 256 options.

    ``accept_local``: options we agree to enable on our side when the peer sends DO;
    ``accept_remote``: options we let the peer enable when it sends WILL. Anything else is
    refused (WONT / DONT), as RFC 854 requires for unknown options.
    """

    def __init__(self, accept_local: Iterable[int] = (), accept_remote: Iterable[int] = ()
                 ) -> None:
        self.accept_local = set(accept_local)
        self.accept_remote = set(accept_remote)
        self._states: dict[int, OptionState] = {}

    def state(self, option: int) -> OptionState:
        """The (mutable) state of ``option``; a fresh NO/NO one if never negotiated."""
        st = self._states.get(option)
        if st is None:
            st = self._states[option] = OptionState()
        return st

    def local_enabled(self, option: int) -> bool:
        return self.state(option).us is Q.YES

    def remote_enabled(self, option: int) -> bool:
        return self.state(option).him is Q.YES

    # -- requests from our side

    def enable_local(self, option: int) -> tuple[bytes, list[Event]]:
        """Offer WILL ``option`` (no-op when already on or already asked)."""
        return self._ask(option, local=True, enable=True)

    def disable_local(self, option: int) -> tuple[bytes, list[Event]]:
        return self._ask(option, local=True, enable=False)

    def enable_remote(self, option: int) -> tuple[bytes, list[Event]]:
        """Ask the peer DO ``option``."""
        return self._ask(option, local=False, enable=True)

    def disable_remote(self, option: int) -> tuple[bytes, list[Event]]:
        return self._ask(option, local=False, enable=False)

    def _ask(self, option: int, *, local: bool, enable: bool) -> tuple[bytes, list[Event]]:
        st = self.state(option)
        side, queued = (st.us, st.us_opposite) if local else (st.him, st.him_opposite)
        positive, negative = (WILL, WONT) if local else (DO, DONT)
        out = b""
        events: list[Event] = []
        if enable:
            if side is Q.NO:
                side = Q.WANTYES
                out = bytes((IAC, positive, option))
            elif side is Q.WANTNO and not queued:
                queued = True
            elif side is Q.WANTYES and queued:
                queued = False
            # YES, WANTNO+OPPOSITE, WANTYES+EMPTY: already there or already asked
        else:
            if side is Q.YES:
                side = Q.WANTNO
                out = bytes((IAC, negative, option))
                events.append(OptionDisabled(option, local))
            elif side is Q.WANTYES and not queued:
                queued = True
            elif side is Q.WANTNO and queued:
                queued = False
        self._store(st, local, side, queued)
        return out, events

    # -- what the peer sent

    def receive(self, command: int, option: int) -> tuple[bytes, list[Event]]:
        """Handle WILL/WONT/DO/DONT ``option`` from the peer."""
        st = self.state(option)
        local = command in (DO, DONT)
        positive = command in (WILL, DO)
        side, queued = (st.us, st.us_opposite) if local else (st.him, st.him_opposite)
        send_yes, send_no = (WILL, WONT) if local else (DO, DONT)
        accept = self.accept_local if local else self.accept_remote
        was_on = side is Q.YES
        out = b""
        events: list[Event] = []
        if positive:
            if side is Q.NO:
                if option in accept:
                    side = Q.YES
                    out = bytes((IAC, send_yes, option))
                else:
                    out = bytes((IAC, send_no, option))
            elif side is Q.WANTNO:
                events.append(ProtocolViolation(
                    f"{'DONT' if not local else 'WONT'} {option_name(option)} answered by "
                    f"{'WILL' if not local else 'DO'}"))
                side, queued = (Q.YES, False) if queued else (Q.NO, False)
            elif side is Q.WANTYES:
                if queued:
                    side, queued = Q.WANTNO, False
                    out = bytes((IAC, send_no, option))
                else:
                    side = Q.YES
        else:
            if side is Q.YES:
                side = Q.NO
                out = bytes((IAC, send_no, option))
            elif side is Q.WANTNO:
                if queued:
                    side, queued = Q.WANTYES, False
                    out = bytes((IAC, send_yes, option))
                else:
                    side = Q.NO
            elif side is Q.WANTYES:
                if not queued:
                    events.append(OptionRefused(option, local))
                side, queued = Q.NO, False
        self._store(st, local, side, queued)
        now_on = side is Q.YES
        if now_on and not was_on:
            events.append(OptionEnabled(option, local))
        elif was_on and not now_on:
            events.append(OptionDisabled(option, local))
        return out, events

    @staticmethod
    def _store(st: OptionState, local: bool, side: Q, queued: bool) -> None:
        if local:
            st.us, st.us_opposite = side, queued
        else:
            st.him, st.him_opposite = side, queued
