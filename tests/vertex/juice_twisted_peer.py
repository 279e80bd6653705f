"""The Twisted side of the AMP interop tests, run as a subprocess on Twisted's own reactor.

    python juice_twisted_peer.py server CERT KEY      # prints "PORT <n>", serves until killed
    python juice_twisted_peer.py client PORT CERT     # runs every case, prints JSON lines

The command declarations here are Twisted's, written independently of plait's; the test
module declares the same commands with plait's API.  ``VALUES`` and ``SPECIAL_VALUES``
are the argument sets both sides exchange.
"""
from __future__ import annotations

import datetime
import decimal
import json
import math
import sys
from typing import Any

from twisted.internet import defer, protocol, reactor, ssl  # ssl needs twisted[tls]
from twisted.internet.interfaces import ISSLTransport
from twisted.protocols import amp
from twisted.python.filepath import FilePath

TZ = datetime.timezone(datetime.timedelta(hours=5, minutes=30))

VALUES: dict[str, Any] = {
    "i": -12345678901234567890,
    "s": b"\x00bytes\xff\r\n",
    "u": "unicod\u00e9 \u2603 \U0001f600",
    "fl": 1.5e-7,
    "b": True,
    "d": decimal.Decimal("-1.50E+3"),
    "dt": datetime.datetime(2005, 10, 3, 12, 34, 56, 789012, tzinfo=TZ),
    "p": "/tmp/plait/juice path",
    "li": [1, -2, 300000000000],
    "lu": ["a", "", "\u00e9\u00e8"],
    "al": [{"a": 7, "b": "hello"}, {"a": -9, "b": "goodbye"}],
    "opt": 42,
}

SPECIAL_VALUES: dict[str, Any] = {
    "i": 0,
    "s": b"",
    "u": "",
    "fl": math.inf,
    "b": False,
    "d": decimal.Decimal("NaN"),
    "dt": datetime.datetime(1999, 12, 31, 23, 59, 59, 0, tzinfo=datetime.UTC),
    "p": "/",
    "li": [],
    "lu": [],
    "al": [],
    "opt": None,
}

EXTRA_FLOATS = [math.nan, -math.inf, -0.0, 1e300, 5e-324]
EXTRA_DECIMALS = ["Infinity", "-Infinity", "sNaN", "-NaN", "1E+2", "0.000", "-0"]


class AllTypes(amp.Command):
    arguments = [
        (b"i", amp.Integer()),
        (b"s", amp.String()),
        (b"u", amp.Unicode()),
        (b"fl", amp.Float()),
        (b"b", amp.Boolean()),
        (b"d", amp.Decimal()),
        (b"dt", amp.DateTime()),
        (b"p", amp.Path()),
        (b"li", amp.ListOf(amp.Integer())),
        (b"lu", amp.ListOf(amp.Unicode())),
        (b"al", amp.AmpList([(b"a", amp.Integer()), (b"b", amp.Unicode())])),
        (b"opt", amp.Integer(optional=True)),
    ]
    response = arguments


class Floats(amp.Command):
    arguments = [(b"values", amp.ListOf(amp.Float()))]
    response = [(b"reprs", amp.ListOf(amp.Unicode()))]


class Decimals(amp.Command):
    arguments = [(b"values", amp.ListOf(amp.Decimal()))]
    response = [(b"texts", amp.ListOf(amp.Unicode()))]


class FatalError(Exception):
    pass


class Divide(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"quotient", amp.Integer())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}
    fatalErrors = {FatalError: b"FATAL"}


class Boom(amp.Command):
    arguments: list = []
    response: list = []


class Missing(amp.Command):
    arguments = [(b"x", amp.Integer())]
    response: list = []


class Notify(amp.Command):
    arguments = [(b"message", amp.Unicode())]
    requiresAnswer = False


class Notes(amp.Command):
    arguments: list = []
    response = [(b"notes", amp.ListOf(amp.Unicode()))]


class Secure(amp.Command):
    arguments: list = []
    response = [(b"secure", amp.Boolean())]


class Peer(amp.AMP):
    """Twisted's responders: the same behaviour as the plait server in the test."""

    certificate: Any = None  # a twisted.internet.ssl.PrivateCertificate

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
    def divide(self, a: int, b: int) -> dict[str, Any]:
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
        return {"secure": ISSLTransport.providedBy(self.transport)}

    @amp.StartTLS.responder
    def start_tls(self) -> dict[str, Any]:
        return {"tls_localCertificate": self.certificate}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(b, FilePath):
        return a == b.path
    return a == b


def _check_all(sent: dict[str, Any], got: dict[str, Any]) -> list[str]:
    return [k for k in sent if not _same(sent[k], got.get(k))]


def _as_twisted(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["p"] = FilePath(values["p"])
    return out


def serve(cert_path: str, key_path: str) -> None:
    from twisted.logger import globalLogBeginner, textFileLogObserver

    # Twisted's own log (responder failures included) goes to stderr for the test to show.
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr)], redirectStandardIO=False
    )
    with open(cert_path, "rb") as f:
        cert = f.read()
    with open(key_path, "rb") as f:
        key = f.read()
    Peer.certificate = ssl.PrivateCertificate.loadPEM(cert + key)
    factory = protocol.Factory.forProtocol(Peer)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
    print(f"PORT {port.getHost().port}", flush=True)
    reactor.run()  # type: ignore[attr-defined]


class Client:
    """Runs each case on a fresh connection and reports one JSON line per case."""

    def __init__(self, port: int, cert_path: str) -> None:
        self.port = port
        with open(cert_path, "rb") as f:
            self.authority = ssl.Certificate.loadPEM(f.read())

    def report(self, case: str, ok: bool, detail: str = "") -> None:
        print(json.dumps({"case": case, "ok": ok, "detail": detail}), flush=True)

    async def connect(self) -> amp.AMP:
        creator = protocol.ClientCreator(reactor, amp.AMP)
        return await creator.connectTCP("127.0.0.1", self.port)

    async def expect_error(self, proto: amp.AMP, command: type, kinds: tuple, **kw: Any) -> str:
        try:
            await proto.callRemote(command, **kw)
        except kinds as exc:
            return type(exc).__name__
        raise AssertionError(f"{command.__name__} did not fail with {kinds}")

    async def run(self) -> None:
        cases = [
            self.case_all_types,
            self.case_special_values,
            self.case_floats,
            self.case_decimals,
            self.case_divide,
            self.case_declared_error,
            self.case_fatal_error,
            self.case_unknown_error,
            self.case_unhandled,
            self.case_no_answer,
            self.case_pipelined,
            self.case_starttls,
        ]
        for case in cases:
            try:
                detail = await case()
            except Exception as exc:  # noqa: BLE001 - report, then go on with the next case
                self.report(case.__name__, False, f"{type(exc).__name__}: {exc}")
            else:
                self.report(case.__name__, True, detail or "")

    async def case_all_types(self) -> str:
        proto = await self.connect()
        got = await proto.callRemote(AllTypes, **_as_twisted(VALUES))
        proto.transport.loseConnection()
        bad = _check_all(VALUES, got)
        assert not bad, f"mismatched {bad}: {got}"
        return ""

    async def case_special_values(self) -> str:
        proto = await self.connect()
        got = await proto.callRemote(AllTypes, **_as_twisted(SPECIAL_VALUES))
        proto.transport.loseConnection()
        bad = _check_all(SPECIAL_VALUES, got)
        assert not bad, f"mismatched {bad}: {got}"
        return ""

    async def case_floats(self) -> str:
        proto = await self.connect()
        got = await proto.callRemote(Floats, values=EXTRA_FLOATS)
        proto.transport.loseConnection()
        assert got["reprs"] == [repr(v) for v in EXTRA_FLOATS], got
        return ""

    async def case_decimals(self) -> str:
        proto = await self.connect()
        values = [decimal.Decimal(t) for t in EXTRA_DECIMALS]
        got = await proto.callRemote(Decimals, values=values)
        proto.transport.loseConnection()
        assert got["texts"] == [str(v) for v in values], got
        return ""

    async def case_divide(self) -> str:
        proto = await self.connect()
        got = await proto.callRemote(Divide, a=7, b=2)
        proto.transport.loseConnection()
        assert got == {"quotient": 3}, got
        return ""

    async def case_declared_error(self) -> str:
        proto = await self.connect()
        kind = await self.expect_error(proto, Divide, (ZeroDivisionError,), a=1, b=0)
        # a declared error keeps the connection open
        got = await proto.callRemote(Divide, a=9, b=3)
        proto.transport.loseConnection()
        assert got == {"quotient": 3}
        return kind

    async def case_fatal_error(self) -> str:
        proto = await self.connect()
        lost: defer.Deferred[None] = defer.Deferred()
        proto.connectionLost = lambda reason: lost.callback(None)  # type: ignore[method-assign]
        kind = await self.expect_error(proto, Divide, (FatalError,), a=1, b=-1)
        await lost
        return kind

    async def case_unknown_error(self) -> str:
        proto = await self.connect()
        kind = await self.expect_error(proto, Boom, (amp.UnknownRemoteError,))
        proto.transport.loseConnection()
        return kind

    async def case_unhandled(self) -> str:
        proto = await self.connect()
        kind = await self.expect_error(proto, Missing, (amp.UnhandledCommand,), x=1)
        got = await proto.callRemote(Divide, a=4, b=2)
        proto.transport.loseConnection()
        assert got == {"quotient": 2}
        return kind

    async def case_no_answer(self) -> str:
        proto = await self.connect()
        assert proto.callRemote(Notify, message="one") is None
        assert proto.callRemote(Notify, message="tw\u00f6") is None
        got = await proto.callRemote(Notes)
        proto.transport.loseConnection()
        assert got == {"notes": ["one", "tw\u00f6"]}, got
        return ""

    async def case_pipelined(self) -> str:
        proto = await self.connect()
        results = await defer.gatherResults(
            [proto.callRemote(Divide, a=i * 10, b=10) for i in range(100)]
        )
        proto.transport.loseConnection()
        assert [r["quotient"] for r in results] == list(range(100))
        return ""

    async def case_starttls(self) -> str:
        proto = await self.connect()
        before = await proto.callRemote(Secure)
        await proto.callRemote(amp.StartTLS, tls_verifyAuthorities=[self.authority])
        after = await proto.callRemote(Secure)
        proto.transport.loseConnection()
        assert before == {"secure": False} and after == {"secure": True}, (before, after)
        return ""


def client(port: int, cert_path: str) -> None:
    async def main(_reactor: Any) -> None:
        await Client(port, cert_path).run()

    from twisted.internet import task

    task.react(lambda r: defer.Deferred.fromCoroutine(main(r)))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], sys.argv[3])
    else:
        client(int(sys.argv[2]), sys.argv[3])
