"""plait.names.Name: text and labels, case-insensitive equality, subdomains, canonical order."""
from __future__ import annotations

import pickle

import pytest

from plait.names import ROOT, Name


def test_text_labels_and_wire() -> None:
    name = Name.from_text("www.Example.com")
    assert name.labels == (b"www", b"Example", b"com")
    assert name.wire == b"\x03www\x07Example\x03com\x00"
    assert str(name) == "www.Example.com."
    assert Name.from_labels(["www", b"Example", "com"]) == name
    assert Name.from_wire(name.wire) == name
    assert Name.from_text(".") is ROOT and ROOT.is_root() and ROOT.labels == ()
    assert str(ROOT) == "."


def test_escapes_round_trip() -> None:
    name = Name.from_text(r"a\.b\032c.\\x.example.")
    assert name.labels == (b"a.b c", b"\\x", b"example")
    assert Name.from_text(str(name)) == name
    assert str(Name.from_labels([b"\x00\xff"])) == "\\000\\255."


def test_relative_to_origin() -> None:
    origin = Name.from_text("example.com.")
    assert Name.from_text("www", origin) == Name.from_text("www.example.com.")
    assert Name.from_text("www.", origin) == Name.from_text("www")
    assert Name.from_text("@", origin) is origin


def test_case_insensitive_eq_and_hash() -> None:
    a, b = Name.from_text("WWW.EXAMPLE.COM"), Name.from_text("www.example.com.")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Name.from_text("www.example.org")
    assert a.__eq__("www.example.com.") is NotImplemented


def test_is_subdomain_and_parent() -> None:
    name = Name.from_text("a.b.Example.com")
    assert name.is_subdomain(Name.from_text("example.COM"))
    assert name.is_subdomain(name) and name.is_subdomain(ROOT)
    assert not Name.from_text("xexample.com").is_subdomain(Name.from_text("example.com"))
    assert not Name.from_text("com").is_subdomain(Name.from_text("example.com"))
    assert name.parent() == Name.from_text("b.example.com")
    with pytest.raises(ValueError):
        ROOT.parent()


def test_canonical_order_rfc4034() -> None:
    # The example of RFC 4034 §6.1.
    texts = ["example", "a.example", "yljkjljk.a.example", "Z.a.example", "zABC.a.EXAMPLE",
             "z.example", "\\001.z.example", "*.z.example", "\\200.z.example"]
    names = [Name.from_text(t) for t in texts]
    assert sorted(names[5:] + names[:5]) == names


@pytest.mark.parametrize("bad", ["a..b", "x" * 64 + ".com", ".".join(["abcdefghi"] * 26)])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(ValueError):
        Name.from_text(bad)


def test_from_wire_checks() -> None:
    for wire in (b"", b"\x03abc", b"\x00\x00", b"\x40" + b"a" * 64 + b"\x00"):
        with pytest.raises(ValueError):
            Name.from_wire(wire)


def test_pickle() -> None:
    name = Name.from_text("example.com")
    assert pickle.loads(pickle.dumps(name)) == name
