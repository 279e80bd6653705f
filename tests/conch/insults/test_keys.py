"""KeyParser: what a user types -> keystroke_received / paste_received, in every chunk size."""
from __future__ import annotations

import pytest

from plait.conch.insults import keys
from plait.conch.insults._vt102 import KeyParser
from plait.conch.insults.keys import FunctionKey, Modifier

Event = tuple[object, ...]


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def keystroke_received(self, key: str | FunctionKey, modifier: Modifier) -> None:
        assert isinstance(modifier, Modifier)
        self.events.append((key, modifier))

    def paste_received(self, text: str) -> None:
        self.events.append(("paste", text))


def parse(data: bytes, chunk: int | None = None, flush: bool = True) -> list[Event]:
    rec = Recorder()
    parser = KeyParser(rec)
    step = chunk or max(1, len(data))
    for i in range(0, len(data), step):
        parser.feed(data[i:i + step])
    if flush:
        parser.flush()
    assert not parser.pending or not flush
    return merge_pastes(rec.events)


def merge_pastes(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if event[0] == "paste" and out and out[-1][0] == "paste":
            out[-1] = ("paste", str(out[-1][1]) + str(event[1]))
        else:
            out.append(event)
    return out


N = Modifier.NONE
CASES: list[tuple[bytes, list[Event]]] = [
    (b"ab", [("a", N), ("b", N)]),
    ("h\u00e9\u20ac\U0001f600".encode(), [("h", N), ("\u00e9", N), ("\u20ac", N),
                                          ("\U0001f600", N)]),
    (b"\r\x7f\x08\t\x03", [("\r", N), ("\x7f", N), ("\x08", N), ("\t", N), ("\x03", N)]),
    (b"\x1b[A\x1b[B\x1b[C\x1b[D", [(keys.UP_ARROW, N), (keys.DOWN_ARROW, N),
                                    (keys.RIGHT_ARROW, N), (keys.LEFT_ARROW, N)]),
    (b"\x1bOA\x1bOB\x1bOC\x1bOD", [(keys.UP_ARROW, N), (keys.DOWN_ARROW, N),
                                    (keys.RIGHT_ARROW, N), (keys.LEFT_ARROW, N)]),
    (b"\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[7~\x1b[8~",
     [(keys.HOME, N), (keys.END, N)] * 4),
    (b"\x1b[2~\x1b[3~\x1b[5~\x1b[6~\x1b[E\x1bOE",
     [(keys.INSERT, N), (keys.DELETE, N), (keys.PGUP, N), (keys.PGDN, N),
      (keys.NUMPAD_MIDDLE, N), (keys.NUMPAD_MIDDLE, N)]),
    ((b"\x1bOP\x1bOQ\x1bOR\x1bOS\x1b[11~\x1b[12~\x1b[13~\x1b[14~\x1b[15~\x1b[17~\x1b[18~"
     b"\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~"),
     [(k, N) for k in (keys.F1, keys.F2, keys.F3, keys.F4)]
     + [(getattr(keys, f"F{i}"), N) for i in range(1, 13)]),
    (b"\x1b[[A\x1b[[E", [(keys.F1, N), (keys.F5, N)]),
    (b"\x1b[1;5A\x1b[1;2B\x1b[1;3C\x1b[1;8D\x1b[1;9H",
     [(keys.UP_ARROW, Modifier.CTRL), (keys.DOWN_ARROW, Modifier.SHIFT),
      (keys.RIGHT_ARROW, Modifier.ALT),
      (keys.LEFT_ARROW, Modifier.SHIFT | Modifier.ALT | Modifier.CTRL),
      (keys.HOME, Modifier.META)]),
    (b"\x1b[3;5~\x1b[15;2~\x1b[1;5P\x1bO2Q",
     [(keys.DELETE, Modifier.CTRL), (keys.F5, Modifier.SHIFT), (keys.F1, Modifier.CTRL),
      (keys.F2, Modifier.SHIFT)]),
    (b"\x1bx\x1b\x7f\x1b\xc3\xa9", [("x", Modifier.ALT), ("\x7f", Modifier.ALT),
                                    ("\u00e9", Modifier.ALT)]),
    (b"\x1b\x1b[A\x1b\x1b", [(keys.UP_ARROW, Modifier.ALT), ("\x1b", Modifier.ALT)]),
    (b"\x1b[Z", [("\t", Modifier.SHIFT)]),
    (b"\x1bOj\x1bOy\x1bOM", [("*", N), ("9", N), ("\r", N)]),
    (b"\x1b[200~a\x1b[Ab\r\n\xc3\xa9\x1b[201~z",
     [("paste", "a\x1b[Ab\r\n\u00e9"), ("z", N)]),
    (b"\x1b[<0;3;4M\x1b[99~q", [("q", N)]),  # mouse report and unknown key: no key
    (b"a\xffb\xc3(\xed\xa0\x80", [("a", N), ("\ufffd", N), ("b", N), ("\ufffd", N), ("(", N),
                                   ("\ufffd", N), ("\ufffd", N), ("\ufffd", N)]),
    (b"\x1b", [("\x1b", N)]),
    (b"\x1b[", [("[", Modifier.ALT)]),
    (b"\x1bO", [("O", Modifier.ALT)]),
    (b"\x1b[1;5", [("\x1b", N), ("[", N), ("1", N), (";", N), ("5", N)]),
    (b"\xe2\x82", [("\ufffd", N)]),
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_every_chunk_size(data: bytes, expected: list[Event]) -> None:
    for chunk in range(1, len(data) + 1):
        assert parse(data, chunk) == expected, chunk


def test_lone_escape_waits_for_flush() -> None:
    rec = Recorder()
    parser = KeyParser(rec)
    parser.feed(b"\x1b")
    assert parser.pending and rec.events == []
    parser.flush()
    assert rec.events == [("\x1b", N)] and not parser.pending
    parser.feed(b"\xe2\x82")
    assert parser.pending and rec.events == [("\x1b", N)]
    parser.feed(b"\xac")
    assert rec.events[-1] == ("\u20ac", N)


def test_paste_waits_for_its_end_and_flush_does_not_end_it() -> None:
    rec = Recorder()
    parser = KeyParser(rec)
    parser.feed(b"\x1b[200~abc\x1b[20")
    parser.flush()
    assert parser.in_paste
    parser.feed(b"1~x")
    assert merge_pastes(rec.events) == [("paste", "abc"), ("x", N)]
    assert not parser.in_paste


def test_huge_paste_arrives_in_bounded_chunks() -> None:
    rec = Recorder()
    parser = KeyParser(rec)
    body = ("\u00e9" * 700_000).encode()  # 1.4 MB, over the 1 MiB chunk limit
    parser.feed(b"\x1b[200~" + body[:1_100_001])
    assert rec.events and len(rec.events[0][1]) < 1_100_001  # type: ignore[arg-type]
    parser.feed(body[1_100_001:] + b"\x1b[201~")
    assert merge_pastes(rec.events) == [("paste", "\u00e9" * 700_000)]


def test_overlong_sequence_is_text_not_a_hang() -> None:
    data = b"\x1b[" + b"1;" * 100 + b"A"
    events = parse(data)
    assert events[0] == ("\x1b", N)
    assert events[-1] == ("A", N)
    assert len(events) == len(data)


def test_function_keys_and_modifiers() -> None:
    assert repr(keys.UP_ARROW) == "<FunctionKey up_arrow>"
    assert len(keys.FUNCTION_KEYS) == 23
    assert len({k.name for k in keys.FUNCTION_KEYS}) == 23
    assert Modifier.CTRL | Modifier.SHIFT == 5


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_raise(seed: int) -> None:
    import random

    rng = random.Random(seed)
    alphabet = b"\x1b[O;0123456789~ABCDPQ\xc3\xa9\xff\x80\xe2\x82\xac\x07\r~200201"
    data = bytes(rng.choice(alphabet) for _ in range(2000))
    whole = parse(data)
    assert parse(data, 1) == whole
    assert parse(data, 7) == whole
