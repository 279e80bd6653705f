"""plait.names.zone: the checks a zone must pass before it is served."""
from __future__ import annotations

from pathlib import Path

import pytest

from plait.names.constants import RRClass, RRType
from plait.names.errors import ZoneError
from plait.names.message import RR
from plait.names.name import Name
from plait.names.rdata import SOA, A
from plait.names.zone import Zone, origin_name
from plait.names.zonefile import parse_zone

BASE = """\
$TTL 300
@    IN SOA ns1 hostmaster 42 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
"""


def rrs(text: str) -> list[RR]:
    return parse_zone(text, "example.test")


def test_from_records_orders_soa_first_and_exposes_serial() -> None:
    records = rrs(BASE)
    z = Zone.from_records("example.test", [records[2], records[1], records[0]])
    assert z.origin == Name.from_text("example.test.")
    assert z.soa.rtype == RRType.SOA and z.records[0] is z.soa
    assert z.serial == 42
    assert isinstance(z.soa.rdata, SOA)
    assert [r.rtype for r in z.records] == [RRType.SOA, RRType.A, RRType.NS]
    assert len(z) == 3


def test_duplicate_records_kept_once() -> None:
    z = Zone.from_records("example.test", rrs(BASE + "ns1 IN A 192.0.2.1\n"))
    assert len(z) == 3


def test_origin_text_without_dot_is_absolute() -> None:
    assert origin_name("example.test") == origin_name("example.test.")
    with pytest.raises(ZoneError):
        origin_name("")
    with pytest.raises(ZoneError):
        origin_name("a..b")


@pytest.mark.parametrize(("extra", "words"), [
    ("", None),
    ("www CNAME ns1\n", None),
    ("www CNAME ns1\nwww RRSIG A 8 3 300 20300101000000 20200101000000 1 example.test. AAAA\n",
     None),
    ("www CNAME ns1\nwww A 192.0.2.9\n", "CNAME beside other data"),
    ("www A 192.0.2.9\nwww CNAME ns1\n", "CNAME beside other data"),
    ("www CNAME ns1\nwww CNAME other\n", "a second CNAME"),
    ("@ CNAME ns1\n", "CNAME beside other data"),
    ("sub IN SOA ns1 h 1 1 1 1 1\n", "SOA below the apex"),
    ("@ IN SOA ns1 h 2 1 1 1 1\n", "a second SOA"),
    ("www.other.test. A 192.0.2.1\n", "outside the zone"),
    ("www CH A 192.0.2.1\n", "only IN"),
])
def test_rules(extra: str, words: str | None) -> None:
    records = rrs(BASE + extra)
    if words is None:
        Zone.from_records("example.test", records)
        return
    with pytest.raises(ZoneError) as info:
        Zone.from_records("example.test", records)
    message = str(info.value)
    assert words in message
    assert message.startswith("zone example.test.: ")   # names the zone...
    assert str(records[-1]) in message                    # ...and the record (the last here)


def test_no_soa_no_ns() -> None:
    with pytest.raises(ZoneError, match="no SOA"):
        Zone.from_records("example.test", rrs("$TTL 1\n@ NS ns1\n"))
    with pytest.raises(ZoneError, match="no NS record at the apex"):
        Zone.from_records("example.test", rrs("$TTL 1\n@ SOA ns1 h 1 1 1 1 1\nsub NS ns1\n"))


def test_class_other_than_in_rejected_even_for_soa() -> None:
    soa = RR(Name.from_text("example.test."), RRType.SOA, RRClass.CH, 1,
             SOA(Name.from_text("a."), Name.from_text("b."), 1, 1, 1, 1, 1))
    with pytest.raises(ZoneError, match="class CH"):
        Zone.from_records("example.test", [soa])


def test_from_bind_file_with_origin_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "example.test.zone"
    path.write_text(BASE + "www A 192.0.2.80\n")
    z = Zone.from_bind_file(path)
    assert str(z.origin) == "example.test."
    assert RR.make("www.example.test.", A("192.0.2.80"), 300) in z.records
    # An explicit origin wins over the file name.
    other = tmp_path / "whatever.txt"
    other.write_text(BASE)
    assert str(Zone.from_bind_file(other, "example.org").origin) == "example.org."


def test_from_bind_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "example.test"
    path.write_text(BASE + "www A not-an-address\n")
    with pytest.raises(ZoneError) as info:
        Zone.from_bind_file(path)
    assert f"{path}:5:" in str(info.value)
    with pytest.raises(ZoneError, match="cannot read"):
        Zone.from_bind_file(tmp_path / "missing.example.test")
    bad = tmp_path / "x.example.test"
    bad.write_text("$ORIGIN example.test.\n$TTL 1\n@ NS ns1\n")
    with pytest.raises(ZoneError, match="no SOA"):
        Zone.from_bind_file(bad)


def test_to_text_round_trips() -> None:
    z = Zone.from_records("example.test", rrs(BASE + 'txt TXT "a b" "c"\n'))
    assert Zone.from_records(z.origin, parse_zone(z.to_text())) == z
