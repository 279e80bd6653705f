"""LINEMODE (RFC 1184): MODE handshake and SLC answers, alone and between two cores."""
from __future__ import annotations

import pytest

from conch.telnet.pair import Pair
from plait.conch.telnet import constants as c
from plait.conch.telnet.events import LinemodeChanged, ProtocolViolation, SlcChanged
from plait.conch.telnet.linemode import DEFAULT_SLC, Linemode, parse_slc, render_slc
from plait.conch.telnet.protocol import TelnetConnection


def test_mode_handshake() -> None:
    server, client = Linemode(server=True), Linemode(server=False)
    payload = server.mode_payload(c.MODE_EDIT | c.MODE_TRAPSIG)
    replies, events = client.receive(payload)
    assert replies == [bytes((c.LM_MODE, c.MODE_EDIT | c.MODE_TRAPSIG | c.MODE_ACK))]
    assert events == [LinemodeChanged(c.MODE_EDIT | c.MODE_TRAPSIG)]
    assert server.receive(replies[0]) == ([], [LinemodeChanged(3)])
    assert server.mode == 3 and server.pending_mode is None
    # an ACK is never answered; an unsolicited ACK is a violation on the server
    assert client.receive(bytes((c.LM_MODE, 3 | c.MODE_ACK))) == ([], [])
    replies, events = server.receive(bytes((c.LM_MODE, 1 | c.MODE_ACK)))
    assert replies == [] and isinstance(events[0], ProtocolViolation)
    # the same mode again is acknowledged but not reported as a change
    assert client.receive(bytes((c.LM_MODE, 3))) == ([bytes((c.LM_MODE, 3 | c.MODE_ACK))], [])


def test_slc_default_request_gets_the_whole_table() -> None:
    server = Linemode(server=True)
    replies, _ = server.receive(render_slc([(0, c.SLC_DEFAULT, 0)]))
    got = {f: (fl, v) for f, fl, v in parse_slc(replies[0][1:])}
    assert got == dict(DEFAULT_SLC)


def test_slc_rules() -> None:
    fixed = dict(DEFAULT_SLC)
    fixed[c.SLC_EC] = (c.SLC_CANTCHANGE, 0x08)
    server = Linemode(server=True, slc=fixed)
    triplets = [
        (c.SLC_IP, c.SLC_VALUE | c.SLC_FLUSHIN | c.SLC_FLUSHOUT, 0x03),   # same: no answer
        (c.SLC_EL, c.SLC_VALUE, 0x18),                                   # accepted with ACK
        (c.SLC_EC, c.SLC_VALUE, 0x7F),                                   # we cannot change
        (c.SLC_EW, c.SLC_NOSUPPORT, 0),                                  # dropped, ACKed
        (c.SLC_AO, c.SLC_DEFAULT, 0),                                    # our default
        (c.SLC_XON, c.SLC_VALUE | c.SLC_ACK, 0x01),                      # an ACK: ignored
        (200, c.SLC_VALUE, 1),                                           # unknown function
    ]
    replies, events = server.receive(render_slc(triplets))
    assert parse_slc(replies[0][1:]) == [
        (c.SLC_EL, c.SLC_VALUE | c.SLC_ACK, 0x18),
        (c.SLC_EC, c.SLC_CANTCHANGE, 0x08),
        (c.SLC_EW, c.SLC_NOSUPPORT | c.SLC_ACK, 0),
        (c.SLC_AO, c.SLC_VALUE, 0x0F),
        (200, c.SLC_NOSUPPORT, 0),
    ]
    assert events == [SlcChanged(((c.SLC_EL, c.SLC_VALUE, 0x18), (c.SLC_EW, 0, 0)))]
    assert server.slc[c.SLC_XON] == DEFAULT_SLC[c.SLC_XON]
    # both ends insist on different fixed values: NOSUPPORT, and no loop
    replies, _ = server.receive(render_slc([(c.SLC_EC, c.SLC_CANTCHANGE, 0x7F)]))
    assert parse_slc(replies[0][1:]) == [(c.SLC_EC, c.SLC_NOSUPPORT, 0)]


def test_forwardmask_is_refused_by_the_client() -> None:
    client = Linemode(server=False)
    replies, _ = client.receive(bytes((c.DO, c.LM_FORWARDMASK, 0xFF, 0xFF)))
    assert replies == [bytes((c.WONT, c.LM_FORWARDMASK))]
    assert isinstance(client.receive(b"")[1][0], ProtocolViolation)
    assert isinstance(client.receive(bytes((9,)))[1][0], ProtocolViolation)


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_two_cores_agree_on_slc_and_mode(chunk: int) -> None:
    client_table = dict(DEFAULT_SLC)
    client_table[c.SLC_EC] = (c.SLC_VALUE, 0x08)          # a client whose erase is ^H
    client_table[c.SLC_EOF] = (c.SLC_NOSUPPORT, 0)
    client = TelnetConnection(server=False, slc=client_table)
    server = TelnetConnection(server=True, linemode=c.MODE_EDIT)
    server.enable_remote(c.LINEMODE)
    pair = Pair(client, server, chunk)
    pair.run()
    assert server.linemode.mode == client.linemode.mode == c.MODE_EDIT
    assert server.linemode.slc == client.linemode.slc
    assert server.linemode.slc[c.SLC_EC] == (c.SLC_VALUE, 0x08)
    assert server.linemode.slc[c.SLC_EOF] == (c.SLC_NOSUPPORT, 0)
    server.set_linemode(0)
    pair.run()
    assert LinemodeChanged(0) in pair.client_events and server.linemode.mode == 0
