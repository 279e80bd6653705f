"""Interop with Twisted's AMP, the real peer, over loopback TCP, in both directions.

Twisted runs in a subprocess on its own reactor (``juice_twisted_peer.py``): as a server
for plait's client, and as a client of plait's server.  StartTLS uses a self-signed
certificate made here with ``cryptography``.
"""
from __future__ import annotations

import asyncio
import decimal
import importlib.util
import json
import math
import pathlib
import select
import ssl
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from certs import make_self_signed
from plait.vertex.juice import (
    AMP,
    AmpList,
    Boolean,
    Command,
    DateTime,
    Decimal,
    Float,
    Integer,
    ListOf,
    OnlyOneTLS,
    Path,
    StartTLS,
    String,
    TLSError,
    UnhandledCommand,
    Unicode,
    UnknownRemoteError,
    connect,
    listen,
)

pytestmark = pytest.mark.interop

TIMEOUT = 30.0
PEER_SCRIPT = pathlib.Path(__file__).with_name("juice_twisted_peer.py")


def _load_peer_values() -> Any:
    spec = importlib.util.spec_from_file_location("juice_twisted_peer", PEER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PEER = _load_peer_values()
VALUES: dict[str, Any] = PEER.VALUES
SPECIAL_VALUES: dict[str, Any] = PEER.SPECIAL_VALUES


# -- the same commands as the Twisted peer's, declared with plait's API -------------------


class FatalError(Exception):
    pass


class AllTypes(Command):
    arguments = [
        ("i", Integer()), ("s", String()), ("u", Unicode()), ("fl", Float()),
        ("b", Boolean()), ("d", Decimal()), ("dt", DateTime()), ("p", Path()),
        ("li", ListOf(Integer())), ("lu", ListOf(Unicode())),
        ("al", AmpList([("a", Integer()), ("b", Unicode())])),
        ("opt", Integer(optional=True)),
    ]
    response = arguments


class Floats(Command):
    arguments = [("values", ListOf(Float()))]
    response = [("reprs", ListOf(Unicode()))]


class Decimals(Command):
    arguments = [("values", ListOf(Decimal()))]
    response = [("texts", ListOf(Unicode()))]


class Divide(Command):
    arguments = [("a", Integer()), ("b", Integer())]
    response = [("quotient", Integer())]
    errors = {ZeroDivisionError: "ZERO_DIVISION"}
    fatal_errors = {FatalError: "FATAL"}


class Boom(Command):
    pass


class Missing(Command):
    arguments = [("x", Integer())]


class Notify(Command):
    arguments = [("message", Unicode())]
    requires_answer = False


class Notes(Command):
    response = [("notes", ListOf(Unicode()))]


class Secure(Command):
    response = [("secure", Boolean())]


class Peer(AMP):
    """plait's server: the same behaviour as the Twisted peer's responders."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    @AllTypes.responder
    def all_types(self, **kw: Any) -> dict[str, Any]:
        return kw

    @Floats.responder
    def floats(self, values: list[float]) -> dict[str, Any]:
        return {"reprs": [repr(v) for v in values]}

    @Decimals.responder
    def decimals(self, values: list[decimal.Decimal]) -> dict[str, Any]:
        return {"texts": [str(v) for v in values]}

    @Divide.responder
    async def divide(self, a: int, b: int) -> dict[str, Any]:
        if b < 0:
            raise FatalError("negative divisor")
        return {"quotient": a // b}

    @Boom.responder
    def boom(self) -> dict[str, Any]:
        raise RuntimeError("kaboom")

    @Notify.responder
    def notify(self, message: str) -> dict[str, Any]:
        self.notes.append(message)
        return {}

    @Notes.responder
    def get_notes(self) -> dict[str, Any]:
        return {"notes": self.notes}

    @Secure.responder
    def secure(self) -> dict[str, Any]:
        assert self.transport is not None
        return {"secure": self.transport.get_extra_info("ssl_object") is not None}


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost / 127.0.0.1: (cert path, key path)."""
    cert_path, key_path = make_self_signed(tmp_path_factory.mktemp("juice-tls"))
    return str(cert_path), str(key_path)


def server_context(certificate: tuple[str, str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certificate)
    return ctx


def client_context(certificate: tuple[str, str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certificate[0])
    return ctx


@pytest.fixture(scope="module")
def twisted_server(certificate: tuple[str, str],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Twisted AMP server in a subprocess; yields its port.  Its log is printed when
    the module's tests are done (pytest shows it for failures)."""
    log_path = tmp_path_factory.mktemp("twisted-peer") / "server.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(PEER_SCRIPT), "server", *certificate],
        stdout=subprocess.PIPE, stderr=log_file, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            proc.kill()
            proc.wait(timeout=TIMEOUT)
            pytest.fail(f"Twisted peer did not start: {line!r} {log_path.read_text()}")
        yield int(line.split()[1])
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        log_file.close()
        print("Twisted server log:\n" + log_path.read_text()[-5000:])


async def dial(port: int) -> AMP:
    return await asyncio.wait_for(connect("127.0.0.1", port, AMP), TIMEOUT)


async def call(proto: AMP, command: type[Command], **kw: Any) -> Any:
    future = proto.call_remote(command, **kw)
    assert future is not None
    return await asyncio.wait_for(future, TIMEOUT)


def assert_same(sent: dict[str, Any], got: dict[str, Any]) -> None:
    for key, value in sent.items():
        back = got[key]
        if key == "p":
            assert isinstance(back, pathlib.Path) and str(back) == value
        elif isinstance(value, float) and math.isnan(value):
            assert math.isnan(back)
        elif isinstance(value, decimal.Decimal):
            assert str(back) == str(value)
        else:
            assert back == value, key


# -- plait client -> Twisted server ------------------------------------------------------


async def test_plait_client_every_argument_type(loop_kind: str, twisted_server: int) -> None:
    proto = await dial(twisted_server)
    assert_same(VALUES, await call(proto, AllTypes, **VALUES))
    assert_same(SPECIAL_VALUES, await call(proto, AllTypes, **SPECIAL_VALUES))
    got = await call(proto, Floats, values=PEER.EXTRA_FLOATS)
    assert got == {"reprs": [repr(v) for v in PEER.EXTRA_FLOATS]}
    decimals = [decimal.Decimal(t) for t in PEER.EXTRA_DECIMALS]
    assert await call(proto, Decimals, values=decimals) == {"texts": [str(d) for d in decimals]}
    proto.close()


async def test_plait_client_errors(loop_kind: str, twisted_server: int) -> None:
    proto = await dial(twisted_server)
    assert await call(proto, Divide, a=7, b=2) == {"quotient": 3}
    with pytest.raises(ZeroDivisionError):
        await call(proto, Divide, a=1, b=0)
    with pytest.raises(UnhandledCommand):
        await call(proto, Missing, x=1)
    assert await call(proto, Divide, a=8, b=2) == {"quotient": 4}  # still connected
    with pytest.raises(FatalError, match="negative divisor"):
        await call(proto, Divide, a=1, b=-1)
    await asyncio.wait_for(proto.wait_closed(), TIMEOUT)

    proto = await dial(twisted_server)
    with pytest.raises(UnknownRemoteError):
        await call(proto, Boom)
    await asyncio.wait_for(proto.wait_closed(), TIMEOUT)  # Twisted closes after UNKNOWN


async def test_plait_client_no_answer_and_pipelining(loop_kind: str,
                                                     twisted_server: int) -> None:
    proto = await dial(twisted_server)
    assert proto.call_remote(Notify, message="one") is None
    assert proto.call_remote(Notify, message="tw\u00f6") is None
    assert await call(proto, Notes) == {"notes": ["one", "tw\u00f6"]}
    futures = [proto.call_remote(Divide, a=10 * i, b=10) for i in range(100)]
    assert proto.outstanding == 100
    results = await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT)  # type: ignore[arg-type]
    assert [r["quotient"] for r in results] == list(range(100))
    proto.close()


async def test_plait_client_starttls(loop_kind: str, twisted_server: int,
                                     certificate: tuple[str, str]) -> None:
    proto = await dial(twisted_server)
    assert await call(proto, Secure) == {"secure": False}
    switching = proto.call_remote(StartTLS, tls_context=client_context(certificate),
                                  tls_server_hostname="localhost")
    # Sent before the answer: held back and sent over TLS, as Twisted does.
    early = proto.call_remote(Secure)
    assert await asyncio.wait_for(switching, TIMEOUT) == {}  # type: ignore[arg-type]
    assert proto.transport is not None
    assert proto.transport.get_extra_info("ssl_object") is not None
    assert await asyncio.wait_for(early, TIMEOUT) == {"secure": True}  # type: ignore[arg-type]
    assert await call(proto, Divide, a=4, b=2) == {"quotient": 2}
    with pytest.raises(OnlyOneTLS):
        proto.call_remote(StartTLS, tls_context=client_context(certificate),
                          tls_server_hostname="localhost")
    proto.close()


# -- Twisted client -> plait server ------------------------------------------------------


async def test_twisted_client_against_plait_server(loop_kind: str,
                                                   certificate: tuple[str, str]) -> None:
    class TLSPeer(Peer):
        tls_context = server_context(certificate)

    port = await listen("tcp:0:interface=127.0.0.1", TLSPeer)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(PEER_SCRIPT), "client", str(port.port), certificate[0],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 2 * TIMEOUT)
        except BaseException:
            proc.kill()
            await proc.wait()
            raise
        reports = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        failed = [r for r in reports if not r["ok"]]
        assert not failed, (failed, err.decode()[-3000:])
        assert {r["case"] for r in reports} == {
            "case_all_types", "case_special_values", "case_floats", "case_decimals",
            "case_divide", "case_declared_error", "case_fatal_error", "case_unknown_error",
            "case_unhandled", "case_no_answer", "case_pipelined", "case_starttls",
        }
        details = {r["case"]: r["detail"] for r in reports}
        assert details["case_declared_error"] == "ZeroDivisionError"
        assert details["case_fatal_error"] == "FatalError"
        assert details["case_unknown_error"] == "UnknownRemoteError"
        assert details["case_unhandled"] == "UnhandledCommand"
        assert details["case_starttls"] == ""
    finally:
        await port.close()


# -- StartTLS between two plait peers ----------------------------------------------------


async def test_plait_starttls_both_sides(loop_kind: str, certificate: tuple[str, str]) -> None:
    class TLSPeer(Peer):
        tls_context = server_context(certificate)

    port = await listen("tcp:0:interface=127.0.0.1", TLSPeer)
    try:
        proto = await dial(port.port)
        switching = proto.call_remote(StartTLS, tls_context=client_context(certificate),
                                      tls_server_hostname="localhost")
        early = proto.call_remote(Secure)
        assert await asyncio.wait_for(switching, TIMEOUT) == {}  # type: ignore[arg-type]
        assert await asyncio.wait_for(early, TIMEOUT) == {"secure": True}  # type: ignore[arg-type]
        assert_same(VALUES, await call(proto, AllTypes, **VALUES))
        proto.close()
    finally:
        await port.close()


async def test_plait_starttls_refused_without_context(
        loop_kind: str, certificate: tuple[str, str]) -> None:
    port = await listen("tcp:0:interface=127.0.0.1", Peer)
    try:
        proto = await dial(port.port)
        switching = proto.call_remote(StartTLS, tls_context=client_context(certificate),
                                      tls_server_hostname="localhost")
        held = proto.call_remote(Secure)
        with pytest.raises(TLSError):
            await asyncio.wait_for(switching, TIMEOUT)  # type: ignore[arg-type]
        # Refused: what was held goes out in the clear, and the connection goes on.
        assert await asyncio.wait_for(held, TIMEOUT) == {"secure": False}  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            proto.call_remote(StartTLS)  # the caller must give a context
        proto.close()
    finally:
        await port.close()
