"""The peer launchers of tests/names/peers.py: each daemon starts, answers, and stops.

These fail loudly (not skip) when a launcher or the `make peers` install is broken, since every
interop test leans on them.
"""
from __future__ import annotations

import subprocess

import pytest

from names.peers import (
    NSD,
    Daemon,
    Knot,
    Named,
    PeerError,
    PeerZone,
    PlaitProcess,
    PlaitServer,
    Unbound,
    dig,
    drill,
    free_port,
    kdig,
    primary,
    secondary,
    serial_of,
)

pytestmark = pytest.mark.interop

ZONE = """$ORIGIN example.com.
$TTL 300
@    IN SOA ns1 hostmaster {serial} 3600 600 86400 300
     IN NS  ns1
ns1  IN A   127.0.0.1
www  IN A   192.0.2.{serial}
"""


def _gone(proc: subprocess.Popen[bytes] | None) -> bool:
    return proc is not None and proc.poll() is not None


@pytest.mark.parametrize("cls", [NSD, Named, Knot, PlaitProcess], ids=lambda c: c.name)
def test_primary_answers_and_stops(cls: type[Daemon]) -> None:
    daemon = cls([primary("example.com", ZONE.format(serial=7))])
    with daemon:
        proc = daemon.proc
        assert serial_of(daemon.address, "example.com") == 7
        assert dig("+short", "www.example.com", "A", server=daemon.address).split() == [
            "192.0.2.7"]
        assert kdig("+short", "www.example.com", "A", server=daemon.address).split() == [
            "192.0.2.7"]
        out = drill("www.example.com", "A", server=daemon.address)
        assert "rcode: NOERROR" in out and "192.0.2.7" in out
        tmp = daemon.dir
    assert _gone(proc), "the daemon is still running after stop()"
    assert not tmp.exists()


@pytest.mark.parametrize("cls", [NSD, Named, Knot, PlaitProcess], ids=lambda c: c.name)
def test_secondary_transfers_and_follows_notify(cls: type[Daemon]) -> None:
    port = free_port()
    nsd = NSD([primary("example.com", ZONE.format(serial=1), notify=[("127.0.0.1", port)])])
    with nsd, cls([secondary("example.com", [nsd.address])], port=port) as sec:
        assert sec.wait_serial("example.com", 1, timeout=20) == 1
        nsd.set_zone("example.com", ZONE.format(serial=2))
        # the refresh timer is an hour: only NOTIFY brings serial 2 this fast
        assert sec.wait_serial("example.com", 2, timeout=20) == 2
        assert dig("+short", "www.example.com", server=sec.address).split() == ["192.0.2.2"]


def test_unbound_resolves_through_a_stub_zone() -> None:
    nsd = NSD([primary("example.com", ZONE.format(serial=3))])
    with nsd, Unbound({"example.com": [nsd.address]}) as unbound:
        out = dig("+noall", "+answer", "www.example.com", "A", server=unbound.address)
        assert out.split()[-1] == "192.0.2.3"
        # no AA from a resolver: the answer came through unbound, not NSD directly
        flags = dig("+noall", "+comments", "www.example.com", "A", server=unbound.address)
        assert " aa" not in flags.split("flags:")[1].split(";")[0]


def test_broken_config_fails_loudly_with_the_daemon_output() -> None:
    bad = NSD([primary("example.com", "this is not a zone file\n")], start_timeout=2)
    with pytest.raises(PeerError, match="nsd"):
        bad.start()
    assert bad.proc is None


def test_zone_must_be_primary_or_secondary() -> None:
    with pytest.raises(ValueError):
        PeerZone("example.com")
    with pytest.raises(ValueError):
        PeerZone("example.com", text=ZONE, primaries=[("127.0.0.1", 1)])


def test_tools_raise_on_failure_unless_asked_not_to() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(PeerError, match="status"):
        dig("example.com", "+time=1", server=("127.0.0.1", port))
    out = dig("example.com", "+time=1", server=("127.0.0.1", port), check=False)
    assert "timed out" in out or "no servers could be reached" in out


def test_plait_server_in_a_thread_answers_and_stops() -> None:
    server = PlaitServer([("example.com.", ZONE.format(serial=9))])
    with server:
        thread = server._thread
        assert serial_of(server.address, "example.com") == 9
        assert dig("+short", "www.example.com", server=server.address).split() == ["192.0.2.9"]
        port = server.port
    assert thread is not None and not thread.is_alive()
    assert server.loop is None and server.server is None
    out = dig("+short", "www.example.com", "+time=1", server=("127.0.0.1", port), check=False)
    assert "192.0.2.9" not in out   # nothing answers there any more


def test_plait_server_with_a_bad_zone_raises_and_leaves_no_thread() -> None:
    server = PlaitServer([("example.com.", "www 300 IN A 192.0.2.1\n")])   # no SOA
    with pytest.raises(Exception, match="SOA"):
        server.start()
    assert server.loop is None and (server._thread is None or not server._thread.is_alive())


def test_plait_process_as_a_primary_notifies_named() -> None:
    port = free_port()
    plait = PlaitProcess([primary("example.com", ZONE.format(serial=4),
                                  notify=[("127.0.0.1", port)])])
    with plait, Named([secondary("example.com", [plait.address])], port=port) as named:
        assert named.wait_serial("example.com", 4, timeout=20) == 4
        assert dig("+short", "www.example.com", server=named.address).split() == ["192.0.2.4"]
