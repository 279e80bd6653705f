"""plait.names.zone_store: zones as items in an Axiom store."""
from __future__ import annotations

from pathlib import Path

import pytest

from plait.axiom.store import Store
from plait.names.errors import ZoneError
from plait.names.zone import Zone
from plait.names.zone_store import (
    DNSZoneItem,
    delete_zone,
    list_zones,
    load_all,
    load_zone,
    save_zone,
)
from plait.names.zonefile import parse_zone

TEXT = """\
$TTL 300
@    IN SOA ns1 hostmaster {serial} 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
txt  IN TXT "quoted \\"text\\" with ; and \\\\ and \\010 newline"
srv  IN SRV 1 2 3 ns1
"""


def zone(origin: str = "example.test", serial: int = 1) -> Zone:
    return Zone.from_records(origin, parse_zone(TEXT.format(serial=serial), origin))


def test_save_load_round_trip_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "site.axiom"
    s = Store(path)
    z = zone()
    item = save_zone(s, z)
    assert item.origin == "example.test." and item.serial == 1
    assert item.records[0].startswith("example.test. 300 IN SOA")
    s.close()
    s = Store(path)
    try:
        assert load_zone(s, "Example.Test.") == z
        assert load_zone(s, "other.test") is None
    finally:
        s.close()


def test_save_replaces_same_origin_and_lists() -> None:
    s = Store()
    save_zone(s, zone(serial=1))
    save_zone(s, zone("b.example", 5))
    save_zone(s, zone(serial=2))
    assert s.query(DNSZoneItem).count() == 2
    assert list_zones(s) == ["b.example.", "example.test."]
    got = load_zone(s, "example.test")
    assert got is not None and got.serial == 2
    assert delete_zone(s, "b.example") is True
    assert delete_zone(s, "b.example") is False
    assert list_zones(s) == ["example.test."]


def test_load_all_serves_good_zones_and_reports_bad_ones() -> None:
    s = Store()
    save_zone(s, zone("a.example"))
    DNSZoneItem(store=s, origin="broken.example.", records=["broken.example. 1 IN A 1.2.3.4"])
    DNSZoneItem(store=s, origin="garbled.example.", records=["garbled.example. 1 IN A x"])
    zones, errors = load_all(s)
    assert [str(z.origin) for z in zones] == ["a.example."]
    assert len(errors) == 2
    assert any("no SOA" in str(e) for e in errors)
    assert any("garbled.example" in str(e) for e in errors)
    with pytest.raises(ZoneError):
        load_zone(s, "broken.example")
