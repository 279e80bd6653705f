"""plait.names.catalog: zones by origin, kept in step with the authority, with listeners."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import dns.message
import dns.rcode
import pytest

from plait.names.catalog import ZoneCatalog
from plait.names.errors import ZoneError
from plait.names.message import RR
from plait.names.name import Name
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone


def zone(origin: str, serial: int = 1, extra: str = "") -> Zone:
    text = (f"$TTL 60\n@ SOA ns1 h {serial} 3600 600 86400 300\n@ NS ns1\n"
            f"ns1 A 192.0.2.1\n{extra}")
    return Zone.from_records(origin, parse_zone(text, origin))


class RecordingAuthority:
    """Stands in for the native authority to observe the calls the catalog makes."""

    PASS = 1

    def __init__(self) -> None:
        self.calls: list[tuple[str, Name]] = []
        self.refuse: set[Name] = set()

    def set_zone(self, origin: Name, records: Sequence[RR]) -> None:
        if origin in self.refuse:
            raise ZoneError(f"zone {origin}: refused")
        self.calls.append(("set", origin))

    def remove_zone(self, origin: Name) -> None:
        self.calls.append(("remove", origin))


def test_put_get_find_remove_and_listeners() -> None:
    auth = RecordingAuthority()
    cat = ZoneCatalog(authority=auth)
    events: list[tuple[int | None, int | None]] = []
    cat.add_listener(lambda old, new: events.append(
        (old and old.serial, new and new.serial)))
    parent, child = zone("example.test"), zone("sub.example.test", 3)
    cat.put(parent)
    cat.put(child)
    assert cat.get("example.test.") is parent and cat.get("other.test") is None
    assert cat.find(Name.from_text("a.b.sub.example.test.")) is child
    assert cat.find(Name.from_text("www.example.test.")) is parent
    assert cat.find(Name.from_text("example.test.")) is parent
    assert cat.find(Name.from_text("test.")) is None
    assert [str(z.origin) for z in cat.zones()] == ["example.test.", "sub.example.test."]
    assert len(cat) == 2 and "example.test" in cat and "x.test" not in cat
    newer = zone("example.test", 2)
    cat.put(newer)
    cat.remove("sub.example.test")
    assert events == [(None, 1), (None, 3), (1, 2), (3, None)]
    assert auth.calls[-1] == ("remove", Name.from_text("sub.example.test."))
    with pytest.raises(KeyError):
        cat.remove("sub.example.test")


def test_refused_zone_changes_nothing() -> None:
    auth = RecordingAuthority()
    cat = ZoneCatalog(authority=auth)
    first = zone("example.test")
    cat.put(first)
    events: list[object] = []
    cat.add_listener(lambda old, new: events.append(new))
    auth.refuse.add(first.origin)
    with pytest.raises(ZoneError):
        cat.put(zone("example.test", 9))
    assert cat.get("example.test") is first and events == []


def test_failing_listener_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    cat = ZoneCatalog(authority=RecordingAuthority())
    seen: list[object] = []

    def bad(old: Zone | None, new: Zone | None) -> None:
        raise RuntimeError("listener bug")

    cat.add_listener(bad)
    cat.add_listener(lambda old, new: seen.append(new))
    with caplog.at_level(logging.ERROR):
        cat.put(zone("example.test"))
    assert len(seen) == 1 and "listener bug" in caplog.text
    cat.remove_listener(bad)
    cat.put(zone("example.test", 2))
    assert len(seen) == 2


def test_default_authority_answers_from_the_catalog() -> None:
    cat = ZoneCatalog()
    cat.put(zone("example.test", extra="www A 192.0.2.80\n"))
    q = dns.message.make_query("www.example.test", "A")
    r = dns.message.from_wire(cat.authority.answer(q.to_wire(), False))
    assert r.answer[0][0].address == "192.0.2.80"
    cat.remove("example.test")
    r = dns.message.from_wire(cat.authority.answer(q.to_wire(), False))
    assert r.rcode() == dns.rcode.REFUSED
