"""The dig-like query command, against an in-test server, in-process and as a command."""
from __future__ import annotations

import asyncio
import importlib.util
import io
import os
import sys
from pathlib import Path

import pytest

from names.test_resolver import zone_server
from names.test_stub import FakeServer, a_record, answer
from plait.names.constants import RRClass, RRType
from plait.names.query_cli import parse_args, run

ROOT = Path(__file__).resolve().parents[2]


async def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = await run(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


async def test_answer_printed_as_dig_does() -> None:
    async with FakeServer(zone_server) as server:
        status, out, err = await _run("www.example.test", f"@{server.host}", "-p",
                                      str(server.port))
        assert status == 0 and err == ""
        assert ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: " in out
        assert ";; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1" in out
        assert "; EDNS: version: 0, flags:; udp: 1232" in out
        assert ";; QUESTION SECTION:\n;www.example.test.\t\tIN\tA" in out
        assert ";; ANSWER SECTION:\nwww.example.test.\t100\tIN\tA\t192.0.2.1" in out
        assert ";; Query time: " in out
        assert f";; SERVER: 127.0.0.1#{server.port}(127.0.0.1) (UDP)" in out
        assert ";; WARNING: recursion requested but not available" in out
        wire = answer(server.udp_queries[0][0], a_record(server.udp_queries[0][0])).to_wire()
        assert f";; MSG SIZE  rcvd: {len(wire)}" in out
        query = server.udp_queries[0][0]
        assert query.rd and query.edns is not None and not query.edns.dnssec_ok


async def test_types_classes_and_options() -> None:
    async with FakeServer(zone_server) as server:
        at = (f"@{server.host}", "-p", str(server.port))
        status, out, _ = await _run("example.test", "MX", *at, "+short")
        assert (status, out) == (0, "10 mail.example.test.\n")
        status, out, _ = await _run("-x", "192.0.2.1", *at, "+short")
        assert (status, out) == (0, "www.example.test.\n")
        assert str(server.udp_queries[-1][0].questions[0].name) == "1.2.0.192.in-addr.arpa."
        status, out, _ = await _run(*at, "example.test", "txt", "+tcp", "+short")
        assert out == '"v=spf1 -all"\n' and len(server.tcp_queries) == 1
        await _run("www.example.test", "AAAA", "IN", *at, "+norecurse", "+dnssec")
        query = server.udp_queries[-1][0]
        assert not query.rd and query.edns is not None and query.edns.dnssec_ok
        assert query.questions[0].rtype == RRType.AAAA
        await _run("www.example.test", *at, "+noedns", "-t", "TYPE65280", "-c", "CH")
        query = server.udp_queries[-1][0]
        assert query.edns is None and query.questions[0].rtype == 65280
        assert query.questions[0].rclass == RRClass.CH


async def test_nxdomain_printed_with_authority() -> None:
    async with FakeServer(zone_server) as server:
        status, out, _ = await _run("none.example.test", f"@{server.host}", "-p",
                                    str(server.port))
        assert status == 0
        assert "status: NXDOMAIN" in out
        assert ";; AUTHORITY SECTION:\nexample.test.\t300\tIN\tSOA" in out


async def test_axfr() -> None:
    async with FakeServer(zone_server) as server:
        status, out, err = await _run("example.test", "AXFR", f"@{server.host}", "-p",
                                      str(server.port))
        assert status == 0, err
        lines = [line for line in out.splitlines() if line and not line.startswith(";")]
        assert lines[0].startswith("example.test.\t300\tIN\tSOA")
        assert lines[-1] == lines[0]
        assert any("_sip._udp.example.test.\t300\tIN\tSRV\t1 2 5060 sip.example.test." in
                   line for line in lines)
        assert f";; XFR size: {len(lines)} records" in out


async def test_no_answer_is_one_line_and_status_1() -> None:
    async with FakeServer(lambda q, tcp: []) as silent:
        status, out, err = await _run("a.test", f"@{silent.host}", "-p", str(silent.port),
                                      "+timeout=1", "+tries=1")
    assert status == 1 and out == ""
    assert err.startswith(";; no servers could be reached") and err.count("\n") == 1
    async with FakeServer(zone_server) as gone:
        port = gone.port
    status, _, err = await _run("a.test", "@127.0.0.1", "-p", str(port), "+tries=1")
    assert status == 1 and err.count("\n") == 1
    status, _, err = await _run("example.test", "AXFR", "@127.0.0.1", "-p", str(port))
    assert status == 1 and "transfer of example.test." in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    [], ["a.test", "BOGUS"], ["a.test", "-p", "99999"], ["a.test", "-p"], ["a.test", "+bogus"],
    ["a.test", "-z"], ["-x", "not-an-ip"], ["a.test", "+timeout=0"], ["a.test", "+tries=x"],
    ["a..test"], ["a.test", "A", "IN", "MX"],
])
async def test_usage_errors(argv: list[str]) -> None:
    status, out, err = await _run(*argv)
    assert status == 2 and out == ""
    assert err.startswith("query: ") and err.endswith("\n") and "usage:" in err


async def test_help() -> None:
    status, out, _ = await _run("--help")
    assert status == 0 and out.startswith("usage:") and "+short" in out


def test_parse_args_defaults() -> None:
    opts = parse_args(["www.example.test"])
    assert (opts.rtype, opts.rclass, opts.port, opts.tcp, opts.recurse) == (
        RRType.A, RRClass.IN, 53, False, True)
    assert (opts.timeout, opts.tries) == (5.0, 3)
    assert parse_args(["x.test", "+retry=0"]).tries == 1
    assert parse_args(["x.test", "ns"]).rtype == RRType.NS


async def test_as_a_command() -> None:
    """``python -m plait.names query`` once the names CLI dispatches to it; until then the
    module's ``main`` run as a program."""
    if importlib.util.find_spec("plait.names.__main__") is not None:
        prefix = [sys.executable, "-m", "plait.names", "query"]
    else:
        prefix = [sys.executable, "-c",
                  ("import sys; from plait.names.query_cli import main; "
                  "sys.exit(main(sys.argv[1:]))")]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    async with FakeServer(zone_server) as server:
        proc = await asyncio.create_subprocess_exec(
            *prefix, "www.example.test", "A", f"@{server.host}", "-p", str(server.port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
        assert b"www.example.test.\t100\tIN\tA\t192.0.2.1" in out
        proc = await asyncio.create_subprocess_exec(
            *prefix, "www.example.test", "NOPE", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 2 and b"unexpected argument 'NOPE'" in err


PLAIT_ZONE = """\
$TTL 300
@       IN SOA ns hostmaster 2026112401 3600 600 86400 60
        IN NS  ns
ns      IN A   127.0.0.1
www     IN A   192.0.2.80
        IN AAAA 2001:db8::80
@       IN MX  10 mail
mail    IN A   192.0.2.25
"""


async def test_against_plait_server() -> None:
    """``python -m plait.names query`` against plait's own server (UDP, TCP, AXFR)."""
    from names.test_root import native_authority
    if not native_authority():
        pytest.skip("plait._native has no DnsCatalog: the native authority is not built")
    from plait.names.catalog import ZoneCatalog
    from plait.names.server import serve
    from plait.names.zone import Zone
    from plait.names.zonefile import parse_zone

    catalog = ZoneCatalog()
    catalog.put(Zone.from_records("example.test.", parse_zone(PLAIT_ZONE, "example.test.")))
    server = await serve(catalog, "127.0.0.1", 0)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}

    async def query(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "plait.names", "query", "@127.0.0.1", "-p",
            str(server.port), *args, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    try:
        status, out, _ = await query("www.example.test", "AAAA")
        assert status == 0
        assert "(UDP)" in out
        assert ") (TCP)" in (await query("www.example.test", "+tcp"))[1]
        assert "status: NOERROR" in out and "flags: qr aa rd;" in out
        assert "www.example.test.\t300\tIN\tAAAA\t2001:db8::80" in out
        assert await query("example.test.", "MX", "+short", "+tcp") == (
            0, "10 mail.example.test.\n", "")
        status, out, _ = await query("example.test", "NS", "+short", "+tcp")
        assert (status, out) == (0, "ns.example.test.\n")
        status, out, _ = await query("nothing.example.test")
        assert "status: NXDOMAIN" in out and ";; AUTHORITY SECTION:" in out
        status, out, _ = await query("www.elsewhere.test", "+norecurse")
        assert "status: REFUSED" in out
        status, out, err = await query("example.test", "AXFR")
        assert status == 0, err
        assert ";; XFR size: 8 records" in out
        assert "example.test.\t300\tIN\tMX\t10 mail.example.test." in out
    finally:
        await server.close()
