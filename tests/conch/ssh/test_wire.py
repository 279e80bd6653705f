import pytest

from plait.conch.ssh.constants import DisconnectReason
from plait.conch.ssh.errors import ProtocolError
from plait.conch.ssh.wire import Reader, Writer, mpint


@pytest.mark.parametrize(("value", "encoded"), [
    # RFC 4251 §5's examples.
    (0, b"\x00\x00\x00\x00"),
    (0x9a378f9b2e332a7, b"\x00\x00\x00\x08\x09\xa3\x78\xf9\xb2\xe3\x32\xa7"),
    (0x80, b"\x00\x00\x00\x02\x00\x80"),
    (-0x1234, b"\x00\x00\x00\x02\xed\xcc"),
    (-0xdeadbeef, b"\x00\x00\x00\x05\xff\x21\x52\x41\x11"),
])
def test_mpint_matches_rfc4251(value: int, encoded: bytes) -> None:
    assert mpint(value) == encoded
    assert Reader(encoded).mpint() == value


def test_round_trip_every_type() -> None:
    data = (Writer(20).byte(7).boolean(True).uint32(1 << 31).uint64(1 << 40).string(b"x\x00y")
            .string("héllo").mpint(-5).name_list(["a", "b-c@d"]).getvalue())
    r = Reader(data)
    assert (r.byte(), r.byte(), r.boolean(), r.uint32(), r.uint64()) == (20, 7, True, 1 << 31, 1 << 40)
    assert (r.string(), r.text(), r.mpint(), r.name_list()) == (b"x\x00y", "héllo", -5, ["a", "b-c@d"])
    r.end()


@pytest.mark.parametrize("data", [b"\x00\x00", b"\x00\x00\x00\x05abc", b"\xff\xff\xff\xff"])
def test_short_data_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        Reader(data).string()
    assert info.value.reason == DisconnectReason.PROTOCOL_ERROR


def test_limits_and_trailing_bytes() -> None:
    with pytest.raises(ProtocolError, match="limit 3"):
        Reader(b"\x00\x00\x00\x04abcd").string(max_length=3)
    reader = Reader(b"\x01\x02")
    reader.byte()
    with pytest.raises(ProtocolError, match="1 trailing"):
        reader.end()
    with pytest.raises(ProtocolError, match="UTF-8"):
        Reader(b"\x00\x00\x00\x01\xff").text()
