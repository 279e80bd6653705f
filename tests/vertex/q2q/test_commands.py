"""The Q2Q argument types and command declarations."""
from __future__ import annotations

import pytest

from plait.vertex.q2q import NoSuchUser, PeerOffline, Q2QAddress
from plait.vertex.q2q.commands import (
    Choke,
    HostPort,
    Inbound,
    Q2QAddressArgument,
    Secure,
    Write,
    parse_host_port,
)


def test_host_port() -> None:
    arg = HostPort()
    assert arg.to_bytes(("127.0.0.1", 8788)) == b"127.0.0.1:8788"
    assert arg.to_bytes(("::1", 80)) == b"[::1]:80"
    assert arg.from_bytes(b"[::1]:80") == ("::1", 80)
    assert parse_host_port("example.test:1") == ("example.test", 1)
    for bad in ("nohost", ":80", "h:", "h:x", "h:70000"):
        with pytest.raises(ValueError, match="bad host:port"):
            parse_host_port(bad)
    with pytest.raises(ValueError, match="out of range"):
        arg.to_bytes(("h", 70000))


def test_address_argument() -> None:
    arg = Q2QAddressArgument()
    assert arg.from_bytes(arg.to_bytes("a@b.test/r")) == Q2QAddress.parse("a@b.test/r")
    with pytest.raises(ValueError, match="bad Q2Q address"):
        arg.from_bytes(b"a@")


def test_declarations() -> None:
    assert Secure.switches_tls and Secure.command_name == b"secure"
    assert not Write.requires_answer and not Choke.requires_answer
    assert Inbound.error_for(PeerOffline("x")) == (b"PeerOffline", False)
    exc = Inbound.exception_for(b"NoSuchUser", "carol@example.test has no account")
    assert isinstance(exc, NoSuchUser) and str(exc) == "carol@example.test has no account"


def test_a_password_that_does_not_decode_keeps_its_bytes_out_of_the_error() -> None:
    from plait.vertex.q2q.commands import Password
    with pytest.raises(ValueError) as info:
        Password().from_bytes(b"s3cr\xffet")
    assert "s3cr" not in repr(info.value) and "s3cr" not in str(info.value)
    assert Password().from_bytes("pässword".encode()) == "pässword"
