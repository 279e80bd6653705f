"""AMP box encode and decode: plait's native core beside Twisted's ``amp`` module.

Encode: one typical box (``_command``, ``_ask`` and four short arguments), prebuilt on both
sides, so only serialisation is timed (``encode_box(dict)`` vs ``AmpBox.serialize()``).

Decode: one buffer of ``N_BOXES`` such boxes, fed whole to plait's ``BoxDecoder.feed`` and to
Twisted's ``BinaryBoxProtocol.dataReceived`` (boxes collected by a box receiver), both reused
across rounds. A round is the whole buffer; run.py reports boxes/s.

Both run plait and Twisted in turns (``_harness.interleaved``): a round of one, then of the
other, so the ratio compares work done under the same machine load. An encode round is
``N_ENCODES`` calls in a loop.
"""
from __future__ import annotations

from typing import Any

import pytest
from _harness import interleaved, size

N_BOXES = 1000
N_ENCODES = 2000
ROUNDS = size(40, 3)

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
def test_encode_interleaved(benchmark: Any) -> None:
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
    serialize = _twisted_amp().AmpBox(BOX).serialize

    def plait() -> None:
        for _ in range(N_ENCODES):
            encode_box(box)

    def twisted() -> None:
        for _ in range(N_ENCODES):
            serialize()

    interleaved(benchmark, {"plait": plait, "twisted": twisted}, rounds=ROUNDS,
                per_round=N_ENCODES, unit="boxes")


# ---------------------------------------------------------------- decode


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
def test_decode_interleaved(benchmark: Any, wire: bytes) -> None:
    from twisted.internet.testing import StringTransport

    native = _native()
    box_decoder = getattr(native, "BoxDecoder", None)
    if box_decoder is None:
        pytest.skip("plait._native.BoxDecoder does not exist yet")
    decoder = box_decoder()
    boxes = decoder.feed(wire)
    assert len(boxes) == N_BOXES and dict(boxes[-1]) == BOX, "decoded boxes differ"

    receiver = _Receiver()
    proto = _twisted_amp().BinaryBoxProtocol(receiver)
    proto.makeConnection(StringTransport())

    def twisted() -> list[Any]:
        receiver.boxes = out = []
        proto.dataReceived(wire)
        return out

    boxes = twisted()
    assert len(boxes) == N_BOXES and dict(boxes[-1]) == BOX
    interleaved(benchmark, {"plait": lambda: decoder.feed(wire), "twisted": twisted},
                rounds=ROUNDS, per_round=N_BOXES, unit="boxes")
