"""plait.names.pyzone: zones written as Python source (Twisted's --pyzone)."""
from __future__ import annotations

from pathlib import Path

import pytest

from plait.names.errors import ZoneError
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone

RELATIVE = '''\
origin = "example.test"
default_ttl = 600
zone = [
    SOA("@", mname="ns1", rname="hostmaster", serial=2026112401,
        refresh=3600, retry=600, expire=86400, minimum=300),
    NS("@", "ns1"),
    A("ns1", "192.0.2.1"),
    A("www", "192.0.2.2", ttl=60),
    AAAA("www", "2001:DB8:0:0::2"),
    MX("@", 10, "mail.example.net."),
    TXT("@", "v=spf1 -all", b"second"),
    SRV("_sip._udp", 10, 5, 5060, "sip"),
    CNAME("alias", "www"),
    PTR("1.ptr", "www"),
    CAA("@", 0, "issue", "ca.example"),
    HINFO("ns1", "x86", "Linux"),
    record("_xmpp._tcp 300 IN SRV 5 0 5269 xmpp"),
]
'''

EXPECTED = """\
$TTL 600
@ SOA ns1 hostmaster 2026112401 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www 60 A 192.0.2.2
www AAAA 2001:db8::2
@ MX 10 mail.example.net.
@ TXT "v=spf1 -all" "second"
_sip._udp SRV 10 5 5060 sip
alias CNAME www
1.ptr PTR www
@ CAA 0 issue "ca.example"
ns1 HINFO "x86" "Linux"
_xmpp._tcp 300 SRV 5 0 5269 xmpp
"""


def write(tmp_path: Path, text: str, name: str = "example.test.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_relative_names_with_origin(tmp_path: Path) -> None:
    z = Zone.from_python_file(write(tmp_path, RELATIVE))
    assert z == Zone.from_records("example.test", parse_zone(EXPECTED, "example.test"))
    assert z.serial == 2026112401


def test_twisted_style_absolute_names_without_origin(tmp_path: Path) -> None:
    text = '''
zone = [
    SOA("example.test", mname="ns1.example.test", rname="root.example.test", serial=7),
    NS("example.test", "ns1.example.test"),
    A("ns1.example.test", "127.0.0.1"),
    MX("example.test", 5, "mail.example.test"),
]
'''
    z = Zone.from_python_file(write(tmp_path, text))
    assert str(z.origin) == "example.test."
    lines = [str(rr) for rr in z.records]
    assert lines[0] == ("example.test. 3600 IN SOA ns1.example.test. root.example.test. "
                        "7 3600 600 604800 300")
    assert "example.test. 3600 IN MX 5 mail.example.test." in lines


def test_origin_argument_names_the_zone(tmp_path: Path) -> None:
    text = 'zone = [SOA("example.test", mname="a.", rname="b.", serial=1), NS("example.test", "a.")]'
    path = write(tmp_path, text)
    assert str(Zone.from_python_file(path, "example.test").origin) == "example.test."
    with pytest.raises(ZoneError, match="outside the zone"):
        Zone.from_python_file(path, "other.test")


@pytest.mark.parametrize(("text", "line", "words"), [
    ("zone = [\n  A('x', \n", 2, "never closed"),
    ("x = 1\nzone = [NS('a.', 'b.')]\nraise RuntimeError('boom')\n", 3, "RuntimeError: boom"),
    ("zone = [\n A('www.example.test', '300.1.1.1'),\n]\n", 2, "300.1.1.1"),
    ("zone = [\n MX('example.test', 'mail')]\n", 2, "TypeError"),
    ("zone = 5\n", 0, "must define zone"),
    ("x = 1\n", 0, "got nothing"),
    ("zone = [('example.test', 1)]\n", 0, "not a record"),
    ("origin = 'example.test'\nzone = [\n\n A('bad..name', '192.0.2.1')]\n", 4, "bad name"),
    ("origin = 'example.test'\nzone = [record('www IN A')]\n", 2, "missing data"),
    ("origin = 'example.test'\nzone = [A('www', '192.0.2.1', ttl=-1)]\n", 2, "bad ttl"),
    ("zone = [A('www.example.test', '192.0.2.1')]\n", 0, "no SOA"),
    ("zone = [\n\n SOA('example.test', mname='a.', rname='b.', serial=1)]\n", 0, "no NS"),
])
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ZoneError) as info:
        Zone.from_python_file(path)
    message = str(info.value)
    assert words in message
    if line:
        assert message.startswith(f"{path}:{line}:")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match="cannot read"):
        Zone.from_python_file(tmp_path / "missing.py")
