"""The hosts file: A, AAAA and PTR answers, aliases, comments, reload on change."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import plait.names.hosts as hosts_module
from plait.names.constants import RRClass, RRType
from plait.names.hosts import HOSTS_TTL, Hosts, HostsTable, parse_hosts, reverse_name
from plait.names.name import Name
from plait.names.rdata import AAAA, PTR, A

HOSTS = """\
# comment line
127.0.0.1   localhost
::1         localhost ip6-localhost   # trailing comment
192.0.2.10  web.example.test web www.example.test
192.0.2.11  Web.Example.Test
2001:db8::10 web.example.test
not-an-ip   ignored.example.test
192.0.2.12
"""


def _hosts(tmp_path: Path, text: str = HOSTS) -> tuple[Hosts, Path]:
    path = tmp_path / "hosts"
    path.write_text(text)
    return Hosts(path), path


def test_a_aaaa_and_aliases(tmp_path: Path) -> None:
    hosts, _ = _hosts(tmp_path)
    records = hosts.lookup("web.example.test", RRType.A)
    assert records is not None
    assert [r.rdata for r in records] == [A("192.0.2.10"), A("192.0.2.11")]
    assert all(r.ttl == HOSTS_TTL and r.rclass == RRClass.IN for r in records)
    assert hosts.lookup("WWW.example.test.", RRType.A)[0].rdata == A("192.0.2.10")  # type: ignore[index]
    assert hosts.lookup("web", RRType.A)[0].rdata == A("192.0.2.10")  # type: ignore[index]
    six = hosts.lookup(Name.from_text("web.example.test."), RRType.AAAA)
    assert six is not None and six[0].rdata == AAAA("2001:db8::10")
    assert hosts.lookup("ip6-localhost", RRType.AAAA)[0].rdata == AAAA("::1")  # type: ignore[index]
    assert hosts.addresses("localhost") == ["127.0.0.1", "::1"]
    assert hosts.addresses("localhost", 6) == ["::1"]


def test_not_answered(tmp_path: Path) -> None:
    hosts, _ = _hosts(tmp_path)
    assert hosts.lookup("ignored.example.test", RRType.A) is None
    assert hosts.lookup("web", RRType.MX) is None
    assert hosts.lookup("web", RRType.A, RRClass.CH) is None
    assert hosts.lookup("ip6-localhost", RRType.A) is None
    assert hosts.lookup("nowhere.test", RRType.A) is None


def test_ptr_gives_the_first_name(tmp_path: Path) -> None:
    hosts, _ = _hosts(tmp_path)
    name = reverse_name("192.0.2.10")
    assert name == Name.from_text("10.2.0.192.in-addr.arpa.")
    ptr = hosts.lookup(name, RRType.PTR)
    assert ptr is not None and ptr[0].rdata == PTR(Name.from_text("web.example.test."))
    six = hosts.lookup(reverse_name("2001:db8::10"), RRType.PTR)
    assert six is not None and six[0].rdata == PTR(Name.from_text("web.example.test."))
    assert str(reverse_name("::1")).endswith(".ip6.arpa.")
    assert hosts.lookup(reverse_name("192.0.2.99"), RRType.PTR) is None


def test_reload_when_the_file_changes(tmp_path: Path) -> None:
    hosts, path = _hosts(tmp_path, "192.0.2.1 a.test\n")
    assert hosts.addresses("a.test") == ["192.0.2.1"]
    path.write_text("192.0.2.2 a.test\n192.0.2.3 b.test\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert hosts.addresses("a.test") == ["192.0.2.2"]
    assert hosts.addresses("b.test") == ["192.0.2.3"]
    path.unlink()
    assert hosts.addresses("a.test") == []


def test_not_reread_while_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hosts"
    path.write_text("192.0.2.1 a.test\n")
    stats: list[str] = []
    parses: list[str] = []

    def stat(p: str) -> os.stat_result:
        stats.append(p)
        return os.stat(p)

    def parse(text: str) -> HostsTable:
        parses.append(text)
        return parse_hosts(text)

    monkeypatch.setattr(hosts_module, "parse_hosts", parse)
    hosts = Hosts(path, stat=stat)
    for _ in range(5):
        assert hosts.addresses("a.test") == ["192.0.2.1"]
    assert len(stats) == 5 and len(parses) == 1


def test_parse_hosts_tables() -> None:
    v4, v6, reverse = parse_hosts(HOSTS)
    assert Name.from_text("web.") in v4
    assert Name.from_text("localhost.") in v6
    assert len(reverse) == 5    # 127.0.0.1 ::1 .10 .11 2001:db8::10; .12 has no name
