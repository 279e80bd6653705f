"""Q2Q addresses: parsing, text, and errors that name the bad part."""
from __future__ import annotations

import pytest

from plait.vertex.q2q import Q2QAddress


def test_user_domain_resource() -> None:
    address = Q2QAddress.parse("alice@Example.TEST/laptop")
    assert (address.user, address.domain, address.resource) == ("alice", "example.test", "laptop")
    assert str(address) == "alice@example.test/laptop"
    assert str(address.claim()) == "alice@example.test"
    assert address.domain_address() == Q2QAddress("example.test")


def test_domain_only() -> None:
    assert Q2QAddress.parse("example.test") == Q2QAddress("example.test")
    assert str(Q2QAddress.parse("example.test.")) == "example.test"


def test_coerce() -> None:
    address = Q2QAddress.parse("a@b.test")
    assert Q2QAddress.coerce(address) is address
    assert Q2QAddress.coerce("a@b.test") == address


@pytest.mark.parametrize(("text", "part"), [
    ("", "it is empty"),
    ("@example.test", "the user ''"),
    ("a b@example.test", "the user 'a b'"),
    ("alice@", "the domain ''"),
    ("alice@exa_mple.test", "bad label 'exa_mple'"),
    ("alice@-x.test", "bad label '-x'"),
    ("alice@example.test/", "the resource ''"),
    ("alice@example.test/a b", "the resource 'a b'"),
    ("a" * 300 + "@x.test", "longer than 255"),
])
def test_bad_addresses_name_the_part(text: str, part: str) -> None:
    with pytest.raises(ValueError, match="bad Q2Q address") as info:
        Q2QAddress.parse(text)
    assert part in str(info.value)
    assert "\n" not in str(info.value)


def test_not_text() -> None:
    with pytest.raises(TypeError):
        Q2QAddress.parse(b"a@b.test")  # type: ignore[arg-type]
