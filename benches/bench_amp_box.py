"""AMP box encode and decode: plait's native core beside Twisted's ``amp`` module.

Encode: one typical box (``_command``, ``_ask`` and four short arguments), prebuilt on both
sides, so only serialisation is timed (``encode_box(dict)`` vs ``AmpBox.serialize()``).

Decode: one buffer of ``N_BOXES`` such boxes, fed whole to plait's ``BoxDecoder.feed`` and to
Twisted's ``BinaryBoxProtocol.dataReceived`` (boxes collected by a box receiver), both reused
across rounds. A round is the whole buffer; run.py reports boxes/s.
"""
from __future__ import annotations

from typing import Any

import pytest
from _harness import record

N_BOXES = 1000

BOX: dict[bytes, bytes] = {
    b"_command": b"Sum",
    b"_ask": b"1f",
    b"a": b"12345",
    b"b": b"67890",
    b"name": b"alice",
    b"flag": b"True",
}


def _twisted_amp() -> Any:
    from twisted.protocols import amp

    return amp


def _native() -> Any:
    return pytest.importorskip("plait._native", reason="plait._native is not built")


@pytest.fixture(scope="module")
def wire() -> bytes:
    return _twisted_amp().AmpBox(BOX).serialize() * N_BOXES


# ---------------------------------------------------------------- encode


@pytest.mark.benchmark(group="amp-encode")
def test_encode_plait(benchmark: Any) -> None:
    native = _native()
    encode_box = getattr(native, "encode_box", None)
    if encode_box is None:
        pytest.skip("plait._native.encode_box does not exist yet")
    box = dict(BOX)
    # Twisted sorts keys, plait keeps insertion order: compare what the wire decodes to.
    received = _Receiver()
    parser = _twisted_amp().BinaryBoxProtocol(received)
    parser.dataReceived(encode_box(box))
    assert [dict(b) for b in received.boxes] == [BOX], "plait's box does not parse in Twisted"
    record(benchmark, "plait")
    benchmark(encode_box, box)


@pytest.mark.benchmark(group="amp-encode")
def test_encode_twisted(benchmark: Any) -> None:
    box = _twisted_amp().AmpBox(BOX)
    record(benchmark, "twisted")
    benchmark(box.serialize)


# ---------------------------------------------------------------- decode


@pytest.mark.benchmark(group="amp-decode")
def test_decode_plait(benchmark: Any, wire: bytes) -> None:
    native = _native()
    box_decoder = getattr(native, "BoxDecoder", None)
    if box_decoder is None:
        pytest.skip("plait._native.BoxDecoder does not exist yet")
    decoder = box_decoder()
    boxes = decoder.feed(wire)
    assert len(boxes) == N_BOXES and dict(boxes[-1]) == BOX, "decoded boxes differ"
    record(benchmark, "plait", per_round=N_BOXES, unit="boxes")
    benchmark(decoder.feed, wire)


class _Receiver:
    """A minimal IBoxReceiver: collects boxes into ``self.boxes``."""

    def __init__(self) -> None:
        self.boxes: list[Any] = []

    def startReceivingBoxes(self, sender: Any) -> None:
        self.sender = sender

    def ampBoxReceived(self, box: Any) -> None:
        self.boxes.append(box)

    def stopReceivingBoxes(self, reason: Any) -> None:
        pass


@pytest.mark.benchmark(group="amp-decode")
def test_decode_twisted(benchmark: Any, wire: bytes) -> None:
    from twisted.internet.testing import StringTransport

    amp = _twisted_amp()
    receiver = _Receiver()
    proto = amp.BinaryBoxProtocol(receiver)
    proto.makeConnection(StringTransport())

    def feed() -> list[Any]:
        receiver.boxes = out = []
        proto.dataReceived(wire)
        return out

    boxes = feed()
    assert len(boxes) == N_BOXES and dict(boxes[-1]) == BOX
    record(benchmark, "twisted", per_round=N_BOXES, unit="boxes")
    benchmark(feed)
