"""plait._native's AMP box codec: round trips, Twisted as the reference, chunking, limits.

Twisted (a test dependency) is the reference implementation of the wire format: boxes it
serialises must decode here, and boxes encoded here must parse in its ``BinaryBoxProtocol``.
"""

from __future__ import annotations

import array
import inspect
import random
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import pytest
from twisted.protocols import amp

from plait._native import BoxDecoder, JuiceError, encode_box, encode_boxes

Box = dict[bytes, bytes]


# ---------------------------------------------------------------- helpers


class _Collector:
    """A Twisted box receiver that keeps what it receives."""

    def __init__(self) -> None:
        self.boxes: list[Box] = []

    def ampBoxReceived(self, box: amp.AmpBox) -> None:
        self.boxes.append(dict(box))


def twisted_parse(wire: bytes, chunk: int | None = None) -> list[Box]:
    """Boxes Twisted's ``BinaryBoxProtocol`` reads from ``wire``."""
    collector = _Collector()
    protocol = amp.BinaryBoxProtocol(collector)
    step = chunk or max(len(wire), 1)
    for start in range(0, len(wire), step):
        protocol.dataReceived(wire[start : start + step])
    return collector.boxes


def twisted_serialize(box: Box) -> bytes:
    return amp.AmpBox(box).serialize()


def decode(wire: bytes, chunk: int | None = None, **limits: int) -> list[Box]:
    decoder = BoxDecoder(**limits)
    step = chunk or max(len(wire), 1)
    boxes: list[Box] = []
    for start in range(0, len(wire), step):
        boxes.extend(decoder.feed(wire[start : start + step]))
    assert decoder.buffered == 0
    return boxes


def random_box(rng: random.Random, max_pairs: int = 6) -> Box:
    box: Box = {}
    for _ in range(rng.randint(0, max_pairs)):
        key_len = rng.choice([1, 2, 5, 8, 255, rng.randint(1, 255)])
        value_len = rng.choice([0, 1, 3, 40, 65_535, rng.randint(0, 2000)])
        box[rng.randbytes(key_len)] = rng.randbytes(value_len)
    return box


SAMPLE: list[Box] = [
    {b"_command": b"Sum", b"_ask": b"1", b"a": b"13", b"b": b"81"},
    {},
    {b"_answer": b"1", b"total": b"94"},
    {b"k" * 255: b"\xff" * 65_535},
    {b"empty": b"", b"\x00": b"\x00\x00"},
    {
        b"_error": b"2",
        b"_error_code": b"UNHANDLED",
        b"_error_description": b"Unhandled Command: 'Nope'",
    },
]


# ---------------------------------------------------------------- round trips


def test_round_trip_sample() -> None:
    wire = encode_boxes(SAMPLE)
    assert wire == b"".join(encode_box(b) for b in SAMPLE)
    assert decode(wire) == SAMPLE


def test_round_trip_random() -> None:
    rng = random.Random(1)
    for _ in range(100):
        boxes = [random_box(rng) for _ in range(rng.randint(1, 4))]
        assert decode(encode_boxes(boxes)) == boxes


def test_known_bytes() -> None:
    wire = b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x00"
    assert encode_box({b"_ask": b"1", b"_command": b"Sum"}) == wire
    assert BoxDecoder().feed(wire) == [{b"_ask": b"1", b"_command": b"Sum"}]
    assert encode_box({}) == b"\x00\x00"
    assert encode_boxes([]) == b""


def test_encode_keeps_insertion_order() -> None:
    assert encode_box({b"b": b"2", b"a": b"1"}) == b"\x00\x01b\x00\x012\x00\x01a\x00\x011\x00\x00"


def test_str_keys_and_values_are_utf8() -> None:
    mixed: dict[bytes | str, bytes | str] = {"_command": "Grüß", b"raw": "☃", "k": b"\xff"}
    wire = encode_box(mixed)
    assert encode_box({"a": "b"}) == encode_box({b"a": b"b"})
    assert BoxDecoder().feed(wire) == [
        {b"_command": "Grüß".encode(), b"raw": "☃".encode(), b"k": b"\xff"}
    ]
    with pytest.raises(UnicodeEncodeError):
        encode_box({"\ud800": "lone surrogate"})


def test_encode_accepts_any_mapping_and_iterable() -> None:
    class Custom(Mapping[bytes, bytes]):
        def __init__(self, data: Box) -> None:
            self._data = data

        def __getitem__(self, key: bytes) -> bytes:
            return self._data[key]

        def __iter__(self) -> Iterator[bytes]:
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    box = {b"a": b"1", b"b": b""}
    expected = encode_box(box)
    assert encode_box(MappingProxyType(box)) == expected
    assert encode_box(Custom(box)) == expected
    assert encode_box(amp.AmpBox(box)) == expected
    assert encode_boxes(b for b in [box, box]) == expected * 2
    assert encode_boxes((box,)) == expected


def test_encode_type_errors() -> None:
    for bad in ({1: b"v"}, {b"k": 1}, {b"k": bytearray(b"v")}, {b"k": None}):
        with pytest.raises(TypeError):
            encode_box(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_box([(b"k", b"v")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_boxes([{b"k": b"v"}, 5])  # type: ignore[list-item]


# ---------------------------------------------------------------- Twisted as the reference


def test_twisted_serialized_boxes_decode() -> None:
    rng = random.Random(2)
    for _ in range(150):
        box = random_box(rng)
        assert BoxDecoder().feed(twisted_serialize(box)) == [box]


def test_encoded_boxes_parse_in_twisted() -> None:
    rng = random.Random(3)
    for _ in range(150):
        box = random_box(rng)
        assert twisted_parse(encode_box(box)) == [box]


def test_sorted_boxes_encode_byte_for_byte_like_twisted() -> None:
    # Twisted sorts keys; given the same order, the bytes are identical.
    rng = random.Random(4)
    for _ in range(150):
        box = random_box(rng)
        assert encode_box(dict(sorted(box.items()))) == twisted_serialize(box)


def test_streams_both_ways_in_chunks() -> None:
    rng = random.Random(5)
    boxes = [random_box(rng, 4) for _ in range(20)]
    ours = encode_boxes(boxes)
    theirs = b"".join(twisted_serialize(b) for b in boxes)
    for chunk in (1, 2, 3, 7, 64, 1000, 100_000):
        assert decode(theirs, chunk) == boxes
        assert twisted_parse(ours, chunk) == boxes


# ---------------------------------------------------------------- chunking


def test_every_chunk_size() -> None:
    wire = encode_boxes(SAMPLE[:3] + SAMPLE[4:] + [{b"x": b"y" * 300}])
    expected = SAMPLE[:3] + SAMPLE[4:] + [{b"x": b"y" * 300}]
    for chunk in range(1, len(wire) + 2):
        assert decode(wire, chunk) == expected, chunk


def test_every_chunk_size_with_the_largest_pair() -> None:
    wire = encode_boxes(SAMPLE)
    for chunk in [*range(1, 40), 255, 256, 257, 4096, 65_535, 65_536, 65_537, len(wire)]:
        assert decode(wire, chunk) == SAMPLE, chunk


def test_byte_by_byte_buffered() -> None:
    boxes: list[Box] = [{b"_command": b"Ping", b"_ask": b"a"}, {}, {b"x": b""}]
    encoded = [encode_box(b) for b in boxes]
    wire = b"".join(encoded)
    ends = [sum(len(e) for e in encoded[: i + 1]) for i in range(len(encoded))]
    decoder = BoxDecoder()
    got: list[Box] = []
    for i in range(len(wire)):
        got.extend(decoder.feed(wire[i : i + 1]))
        consumed = max([end for end in ends if end <= i + 1], default=0)
        assert decoder.buffered == i + 1 - consumed
        assert len(got) == ends.index(consumed) + 1 if consumed else not got
    assert got == boxes


def test_feed_accepts_buffers() -> None:
    wire = encode_boxes(SAMPLE)
    for make in (
        bytes,
        bytearray,
        memoryview,
        lambda b: memoryview(bytearray(b)),
        lambda b: memoryview(b"junk" + b + b"junk")[4:-4],
        lambda b: array.array("B", b),
    ):
        decoder = BoxDecoder()
        got = decoder.feed(make(wire[:1000])) + decoder.feed(make(wire[1000:]))
        assert got == SAMPLE
    assert BoxDecoder().feed(b"") == []
    assert BoxDecoder().feed(memoryview(b"")) == []


def test_fed_buffer_may_change_afterwards() -> None:
    data = bytearray(encode_box({b"k": b"v"}) + encode_box({b"partial": b"x"})[:5])
    decoder = BoxDecoder()
    assert decoder.feed(data) == [{b"k": b"v"}]
    data[:] = b"\xff" * len(data)  # the decoder kept its own copy of the partial box
    rest = encode_box({b"partial": b"x"})[5:]
    assert decoder.feed(rest) == [{b"partial": b"x"}]


def test_feed_type_errors() -> None:
    decoder = BoxDecoder()
    for bad in ("text", 5, None, [0, 0]):
        with pytest.raises(TypeError):
            decoder.feed(bad)  # type: ignore[arg-type]
    with pytest.raises(BufferError):
        decoder.feed(memoryview(b"\x00\x00\x00\x00")[::2])
    assert decoder.feed(b"\x00\x00") == [{}]  # type errors do not break the decoder


def test_duplicate_keys_keep_the_last_value_like_twisted() -> None:
    wire = b"\x00\x01k\x00\x011\x00\x01k\x00\x012\x00\x00"
    assert BoxDecoder().feed(wire) == twisted_parse(wire) == [{b"k": b"2"}]


# ---------------------------------------------------------------- limits


def test_default_limits() -> None:
    params = inspect.signature(BoxDecoder).parameters
    assert params["max_box_size"].default == 4 * 1024 * 1024
    assert params["max_keys"].default == 1024


def test_key_length_255_and_256() -> None:
    assert decode(encode_box({b"k" * 255: b"v"})) == [{b"k" * 255: b"v"}]
    with pytest.raises(JuiceError, match="key of 256 bytes"):
        encode_box({b"k" * 256: b"v"})
    wire = b"\x01\x00" + b"k" * 256 + b"\x00\x01v\x00\x00"
    for chunk in (1, 2, len(wire)):
        with pytest.raises(JuiceError, match=r"key length 256 .* offset 0"):
            decode(wire, chunk)


def test_value_length_limit_when_encoding() -> None:
    assert len(encode_box({b"k": b"v" * 65_535})) == 2 + 1 + 2 + 65_535 + 2
    with pytest.raises(JuiceError, match="65536"):
        encode_box({b"k": b"v" * 65_536})
    with pytest.raises(JuiceError, match="empty key"):
        encode_box({b"": b"v"})
    with pytest.raises(JuiceError, match="empty key"):
        encode_box({"": ""})
    with pytest.raises(JuiceError):
        encode_boxes([{b"ok": b""}, {b"": b""}])


@pytest.mark.parametrize("max_keys", [0, 1, 7, 1024])
def test_max_keys_at_and_past_the_limit(max_keys: int) -> None:
    at = {f"k{i}".encode(): b"v" for i in range(max_keys)}
    over = {f"k{i}".encode(): b"v" for i in range(max_keys + 1)}
    limits = {} if max_keys == 1024 else {"max_keys": max_keys}
    assert decode(encode_box(at), **limits) == [at]
    for chunk in (1, 5, None):
        with pytest.raises(JuiceError, match=f"more than {max_keys} keys"):
            decode(encode_box(over), chunk, **limits)


def _box_of_size(size: int) -> bytes:
    """A box exactly ``size`` bytes long on the wire (2, or 7 and more)."""
    box: Box = {}
    left = size - 2  # after the terminator
    while left:
        key = str(len(box)).encode()
        if left <= 4 + len(key) + 65_535:
            value_len = left - 4 - len(key)  # the last pair takes what is left
        else:
            value_len = min(65_535, left - 4 - len(key) - 8)  # leave room for another pair
        box[key] = b"\x00" * value_len
        left -= 4 + len(key) + value_len
    wire = encode_box(box)
    assert len(wire) == size
    return wire


@pytest.mark.parametrize("size", [2, 7, 8, 100, 65_541, 65_542, 200_000])
def test_max_box_size_at_and_past_the_limit(size: int) -> None:
    wire = _box_of_size(size)
    assert len(decode(wire * 3, max_box_size=size)) == 3
    for chunk in (1, 3, None) if size < 100_000 else (4096, None):
        with pytest.raises(JuiceError, match=f"over the limit of {size - 1} bytes"):
            decode(wire, chunk, max_box_size=size - 1)


def test_default_max_box_size_at_and_past_the_limit() -> None:
    limit = 4 * 1024 * 1024
    at = _box_of_size(limit)
    over = _box_of_size(limit + 1)
    assert BoxDecoder().feed(at)[0] == BoxDecoder(max_box_size=limit).feed(at)[0]
    for chunk in (65_536, len(over)):
        with pytest.raises(JuiceError, match=f"over the limit of {limit} bytes"):
            decode(over, chunk)


def test_oversize_box_fails_before_it_is_buffered() -> None:
    decoder = BoxDecoder(max_box_size=1000)
    with pytest.raises(JuiceError, match="at least 65542 bytes"):
        decoder.feed(b"\x00\x01k\xff\xff")
    assert decoder.buffered == 0


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_box_size"):
        BoxDecoder(max_box_size=-1)
    with pytest.raises(ValueError, match="max_keys"):
        BoxDecoder(max_keys=-1)


# ---------------------------------------------------------------- errors


def test_every_raised_error_has_its_own_boxes_list() -> None:
    with pytest.raises(JuiceError) as encoding:
        encode_box({b"": b""})
    assert encoding.value.boxes == []
    assert encoding.value.boxes is not JuiceError.boxes
    with pytest.raises(JuiceError) as decoding:
        BoxDecoder().feed(b"\xff\xff")
    assert decoding.value.boxes == []
    assert decoding.value.boxes is not encoding.value.boxes


def test_juice_error_is_a_value_error() -> None:
    assert issubclass(JuiceError, ValueError)
    assert JuiceError.__module__ == "plait._native"
    with pytest.raises(ValueError):
        BoxDecoder().feed(b"\xff\xff")


def test_error_says_what_and_where() -> None:
    wire = encode_box({b"a": b"b"}) + encode_box({}) + b"\x00\x01x\x00\x00\x02\x00"
    with pytest.raises(JuiceError) as info:
        BoxDecoder().feed(wire)
    assert str(info.value) == (
        "key length 512 exceeds the AMP maximum of 255 bytes "
        "(box 2, length prefix at stream offset 15)"
    )


def test_a_failed_decoder_stays_failed() -> None:
    decoder = BoxDecoder()
    good = encode_box({b"a": b"b"})
    with pytest.raises(JuiceError) as first:
        decoder.feed(good + good + b"\x01\x00")
    # The boxes completed before the violation, in the same chunk, ride on the error.
    assert first.value.boxes == [{b"a": b"b"}, {b"a": b"b"}]
    assert decoder.buffered == 0
    for data in (good, b"", bytearray(good)):
        with pytest.raises(JuiceError) as again:
            decoder.feed(data)
        assert str(again.value) == str(first.value)
        assert again.value.boxes == []


def test_garbage_never_crashes_and_chunking_agrees() -> None:
    rng = random.Random(6)
    outcomes = {"boxes": 0, "errors": 0}
    for _ in range(400):
        if rng.random() < 0.5:
            data = rng.randbytes(rng.randint(0, 300))
        else:
            # Mostly-small length prefixes get further into the decoder.
            data = bytes(
                rng.choice([0, 0, 0, 1, 2, 255]) if i % 2 == 0 else rng.randrange(256)
                for i in range(rng.randint(0, 300))
            )
        limits = rng.choice(
            [{}, {"max_box_size": rng.randint(0, 64), "max_keys": rng.randint(0, 4)}]
        )
        results: list[tuple[str, object]] = []
        for chunk in (None, 1, rng.randint(1, 20)):
            try:
                results.append(("ok", decode_allow_partial(data, chunk, **limits)))
            except JuiceError as err:
                results.append(("error", str(err)))
        assert results[0] == results[1] == results[2], data
        outcomes["boxes" if results[0][0] == "ok" else "errors"] += 1
        if results[0][0] == "ok":
            boxes, rest = decode_allow_partial(data, None, **limits)
            assert encode_boxes(boxes) + data[len(data) - rest :] == data
    assert outcomes["boxes"] > 20 and outcomes["errors"] > 20, outcomes


def decode_allow_partial(data: bytes, chunk: int | None, **limits: int) -> tuple[list[Box], int]:
    decoder = BoxDecoder(**limits)
    step = chunk or max(len(data), 1)
    boxes: list[Box] = []
    for start in range(0, len(data), step):
        boxes.extend(decoder.feed(data[start : start + step]))
    return boxes, decoder.buffered


def test_mutated_streams_never_crash() -> None:
    rng = random.Random(7)
    base = encode_boxes([random_box(rng, 3) for _ in range(5)] + SAMPLE[:3])
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            op = rng.randrange(4)
            if op == 0:
                data[at] ^= 1 << rng.randrange(8)
            elif op == 1:
                del data[at]
            elif op == 2:
                data.insert(at, rng.randrange(256))
            else:
                data[at : at + 2] = rng.choice([b"\x00\x00", b"\x01\x00", b"\x00\xff", b"\xff\xff"])
        try:
            whole = decode_allow_partial(bytes(data), None)
        except JuiceError as err:
            with pytest.raises(JuiceError) as chunked:
                decode_allow_partial(bytes(data), 3)
            assert str(chunked.value) == str(err)
        else:
            assert decode_allow_partial(bytes(data), 3) == whole


def test_repr() -> None:
    decoder = BoxDecoder(max_box_size=100, max_keys=3)
    decoder.feed(b"\x00")
    assert repr(decoder) == "<BoxDecoder max_box_size=100 max_keys=3 buffered=1>"
