"""The RFC 1143 Q method: every transition of the table, no loops, changes of mind."""
from __future__ import annotations

import pytest

from plait.conch.telnet.constants import DO, DONT, ECHO, IAC, NAWS, SGA, WILL, WONT
from plait.conch.telnet.events import (
    OptionDisabled,
    OptionEnabled,
    OptionRefused,
    ProtocolViolation,
)
from plait.conch.telnet.options import Negotiator, Q


def neg(*codes: int) -> bytes:
    return bytes(codes)


# (him state, opposite, received, -> him state, opposite, sent) for the peer's side (RFC 1143 6.)
HIM_TABLE = [
    (Q.NO, False, WILL, Q.YES, False, neg(IAC, DO, NAWS)),           # accepted
    (Q.YES, False, WILL, Q.YES, False, b""),
    (Q.WANTNO, False, WILL, Q.NO, False, b""),                        # error: DONT answered by WILL
    (Q.WANTNO, True, WILL, Q.YES, False, b""),
    (Q.WANTYES, False, WILL, Q.YES, False, b""),
    (Q.WANTYES, True, WILL, Q.WANTNO, False, neg(IAC, DONT, NAWS)),
    (Q.NO, False, WONT, Q.NO, False, b""),
    (Q.YES, False, WONT, Q.NO, False, neg(IAC, DONT, NAWS)),
    (Q.WANTNO, False, WONT, Q.NO, False, b""),
    (Q.WANTNO, True, WONT, Q.WANTYES, False, neg(IAC, DO, NAWS)),
    (Q.WANTYES, False, WONT, Q.NO, False, b""),
    (Q.WANTYES, True, WONT, Q.NO, False, b""),
]


@pytest.mark.parametrize("state,opposite,received,new_state,new_opposite,sent", HIM_TABLE)
def test_him_transitions(state: Q, opposite: bool, received: int, new_state: Q,
                         new_opposite: bool, sent: bytes) -> None:
    n = Negotiator(accept_remote={NAWS})
    st = n.state(NAWS)
    st.him, st.him_opposite = state, opposite
    out, _ = n.receive(received, NAWS)
    assert (st.him, st.him_opposite, out) == (new_state, new_opposite, sent)


US_TABLE = [(s, o, {WILL: DO, WONT: DONT}[r], ns, no,
             sent.replace(bytes((DO,)), bytes((WILL,))).replace(bytes((DONT,)), bytes((WONT,))))
            for s, o, r, ns, no, sent in HIM_TABLE]


@pytest.mark.parametrize("state,opposite,received,new_state,new_opposite,sent", US_TABLE)
def test_us_transitions(state: Q, opposite: bool, received: int, new_state: Q,
                        new_opposite: bool, sent: bytes) -> None:
    n = Negotiator(accept_local={NAWS})
    st = n.state(NAWS)
    st.us, st.us_opposite = state, opposite
    out, _ = n.receive(received, NAWS)
    assert (st.us, st.us_opposite, out) == (new_state, new_opposite, sent)


def test_unaccepted_options_are_refused() -> None:
    n = Negotiator()
    assert n.receive(WILL, 99)[0] == neg(IAC, DONT, 99)
    assert n.receive(DO, 99)[0] == neg(IAC, WONT, 99)
    assert not n.remote_enabled(99) and not n.local_enabled(99)


def test_requests_are_idempotent() -> None:
    n = Negotiator()
    assert n.enable_local(ECHO)[0] == neg(IAC, WILL, ECHO)
    assert n.enable_local(ECHO)[0] == b""                  # WANTYES, EMPTY: already asked
    out, events = n.receive(DO, ECHO)
    assert out == b"" and events == [OptionEnabled(ECHO, True)]
    assert n.enable_local(ECHO)[0] == b""                  # already on
    out, events = n.disable_local(ECHO)
    assert out == neg(IAC, WONT, ECHO) and events == [OptionDisabled(ECHO, True)]
    assert n.disable_local(ECHO)[0] == b""
    assert n.receive(DONT, ECHO) == (b"", [])


def test_change_of_mind_is_queued_not_sent_twice() -> None:
    n = Negotiator()
    assert n.enable_remote(SGA)[0] == neg(IAC, DO, SGA)
    assert n.disable_remote(SGA)[0] == b""                 # queued as OPPOSITE
    out, events = n.receive(WILL, SGA)                     # the answer to DO arrives
    assert out == neg(IAC, DONT, SGA)
    assert n.state(SGA).him is Q.WANTNO and events == []
    assert n.enable_remote(SGA)[0] == b""                  # queue again
    out, _ = n.receive(WONT, SGA)
    assert out == neg(IAC, DO, SGA) and n.state(SGA).him is Q.WANTYES


def test_refusal_and_error_events() -> None:
    n = Negotiator()
    n.enable_remote(NAWS)
    assert n.receive(WONT, NAWS) == (b"", [OptionRefused(NAWS, False)])
    st = n.state(ECHO)
    st.him = Q.WANTNO
    _, events = n.receive(WILL, ECHO)
    assert isinstance(events[0], ProtocolViolation)


def test_both_ends_asking_at_once_do_not_loop() -> None:
    a, b = Negotiator({SGA}, {SGA}), Negotiator({SGA}, {SGA})
    to_b = a.enable_local(SGA)[0] + a.enable_remote(SGA)[0]
    to_a = b.enable_local(SGA)[0] + b.enable_remote(SGA)[0]
    for _ in range(4):
        nb = b"".join(b.receive(to_b[i + 1], to_b[i + 2])[0] for i in range(0, len(to_b), 3))
        na = b"".join(a.receive(to_a[i + 1], to_a[i + 2])[0] for i in range(0, len(to_a), 3))
        to_a, to_b = nb, na
    assert to_a == to_b == b""
    assert a.local_enabled(SGA) and a.remote_enabled(SGA)
    assert b.local_enabled(SGA) and b.remote_enabled(SGA)
