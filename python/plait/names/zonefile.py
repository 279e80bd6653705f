"""Zone files in BIND master format (RFC 1035 §5, with BIND's ``$TTL`` and ``$GENERATE``).

    >>> from plait.names.zonefile import parse_zone
    >>> rrs = parse_zone("$TTL 1h\\n@ IN MX 10 mail\\nmail A 192.0.2.1\\n", "example.com")
    >>> [str(rr) for rr in rrs]
    ['example.com. 3600 IN MX 10 mail.example.com.', 'mail.example.com. 3600 IN A 192.0.2.1']

Supported: ``$ORIGIN``, ``$TTL``, ``$INCLUDE file [origin]`` (relative to the including file,
at most :data:`MAX_INCLUDE_DEPTH` deep), ``$GENERATE start-stop[/step] lhs [ttl] [class] type
rhs`` (``$``, ``${offset,width,base}``, ``\\$``), relative names and ``@``, a blank owner for
the previous one, parentheses, comments, quoted strings with escapes, TTL and class in either
order, TTL units (``1h30m``), and RFC 3597 ``TYPEnnn \\# LENGTH HEX`` for any type. Every
error is a :class:`ZoneFileError` naming the file and line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ._rdata_text import (
    Fields,
    class_from_text,
    name_from_text,
    parse_rdata,
    parse_ttl,
    type_from_text,
)
from ._tokenizer import Line, Token, ZoneFileError, tokenize
from .constants import RRClass, RRType
from .message import RR
from .name import Name
from .rdata import SOA, RData

__all__ = [
    "MAX_INCLUDE_DEPTH", "ZoneFileError", "load_zone", "parse_zone", "rdata_from_text",
    "rr_from_text",
]

MAX_INCLUDE_DEPTH = 16
MAX_GENERATE = 65536


@dataclass
class _State:
    origin: Name | None
    default_ttl: int | None = None
    last_ttl: int | None = None
    last_name: Name | None = None
    last_class: int = RRClass.IN


def _origin(origin: Name | str | None) -> Name | None:
    if isinstance(origin, str):
        text = origin if origin.endswith(".") else origin + "."
        try:
            return Name.from_text(text)
        except ValueError as exc:
            raise ZoneFileError(f"bad origin {origin!r}: {exc}") from None
    return origin


def parse_zone(text: str, origin: Name | str | None = None, *,
               filename: str | None = None) -> list[RR]:
    """The records of zone-file ``text``, in file order.

    ``origin`` (absolute even without the final dot) completes relative names until a
    ``$ORIGIN``; ``filename`` names the text in errors, and ``$INCLUDE`` files are found
    relative to its directory (the current directory without it).
    """
    out: list[RR] = []
    _parse(text, _State(_origin(origin)), filename, out, 0)
    return out


def load_zone(path: str | os.PathLike[str], origin: Name | str | None = None) -> list[RR]:
    """The records of the zone file at ``path`` (see :func:`parse_zone`)."""
    filename = os.fspath(path)
    try:
        with open(filename, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ZoneFileError(f"cannot read: {exc}", filename, 0) from None
    return parse_zone(text, origin, filename=filename)


def rr_from_text(line: str, origin: Name | str | None = None,
                 default_ttl: int | None = None) -> RR:
    """One record from one zone-file entry (an owner is required; parentheses allowed)."""
    state = _State(_origin(origin), default_ttl=default_ttl)
    lines = tokenize(line)
    if len(lines) != 1:
        raise ZoneFileError(f"expected one record, found {len(lines)} entries", None,
                            lines[1].line if lines else 1)
    if lines[0].indented:
        raise ZoneFileError("a record needs an owner name", None, lines[0].line)
    out: list[RR] = []
    _record(lines[0].tokens, lines[0], state, None, out)
    return out[0]


def rdata_from_text(rtype: int, text: str, origin: Name | str | None = None) -> RData:
    """Record data of type ``rtype`` from its presentation form (what follows the type)."""
    lines = tokenize(text)
    if len(lines) > 1:
        raise ZoneFileError("record data on more than one line", None, lines[1].line)
    rdata = parse_rdata(rtype, Fields(lines[0].tokens if lines else (), _origin(origin), None, 1))
    return rdata


def _parse(text: str, state: _State, filename: str | None, out: list[RR], depth: int) -> None:
    for line in tokenize(text, filename):
        first = line.tokens[0]
        if not line.indented and not first.quoted and first.text.startswith("$"):
            _directive(line, state, filename, out, depth)
        else:
            _record(line.tokens, line, state, filename, out)


def _err(message: str, filename: str | None, tok: Token | Line) -> ZoneFileError:
    return ZoneFileError(message, filename, tok.line)


def _directive(line: Line, state: _State, filename: str | None, out: list[RR],
               depth: int) -> None:
    toks = line.tokens
    word = toks[0].text.upper()
    args = toks[1:]
    if word == "$ORIGIN":
        if len(args) != 1:
            raise _err("$ORIGIN takes one name", filename, line)
        state.origin = name_from_text(args[0].text, state.origin,
                                      lambda m: _err(m, filename, args[0]))
    elif word == "$TTL":
        if len(args) != 1:
            raise _err("$TTL takes one TTL", filename, line)
        try:
            state.default_ttl = parse_ttl(args[0].text)
        except ValueError as exc:
            raise _err(str(exc), filename, args[0]) from None
    elif word == "$INCLUDE":
        _include(line, state, filename, out, depth)
    elif word == "$GENERATE":
        _generate(line, state, filename, out)
    else:
        raise _err(f"unknown directive {toks[0].text}", filename, line)


def _include(line: Line, state: _State, filename: str | None, out: list[RR],
             depth: int) -> None:
    args = line.tokens[1:]
    if not 1 <= len(args) <= 2:
        raise _err("$INCLUDE takes a file name and an optional origin", filename, line)
    if depth >= MAX_INCLUDE_DEPTH:
        raise _err(f"$INCLUDE nested deeper than {MAX_INCLUDE_DEPTH}", filename, line)
    path = args[0].text
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(filename) if filename else "", path)
    origin = state.origin
    if len(args) == 2:
        origin = name_from_text(args[1].text, state.origin, lambda m: _err(m, filename, args[1]))
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(f"$INCLUDE cannot read {path!r}: {exc}", filename, line) from None
    # The included file starts from the including file's state; that state is restored after.
    inner = _State(origin, state.default_ttl, state.last_ttl, state.last_name, state.last_class)
    _parse(text, inner, path, out, depth + 1)


_GEN_RANGE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
_GEN_MOD = re.compile(r"\{([+-]?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\}")
_MAX_WIDTH = 127


def _nibbles(value: int, width: int, upper: bool) -> str:
    # BIND's nibble mode: hex digits least significant first, dot-separated, zero nibbles
    # added until the text (dots included) is at least ``width`` characters long.
    digits = "0123456789ABCDEF" if upper else "0123456789abcdef"
    out = []
    while True:
        out.append(digits[value & 0xF])
        value >>= 4
        if width > 0:
            width -= 1
        if width > 0 or value:
            out.append(".")
            if width > 0:
                width -= 1
        if not value and not width:
            return "".join(out)


def _substitute(template: str, value: int, error: ZoneFileError) -> str:
    """``$`` is the counter, ``${offset[,width[,base]]}`` a modified one, ``$$`` and ``\\$``
    a dollar sign (as BIND)."""
    out = []
    i = 0
    while i < len(template):
        c = template[i]
        if c == "\\":
            out.append(template[i:i + 2])
            i += 2
        elif c != "$":
            out.append(c)
            i += 1
        elif template.startswith("$", i + 1):
            out.append("$")
            i += 2
        else:
            i += 1
            offset, width, base = 0, 0, "d"
            if template.startswith("{", i):
                m = _GEN_MOD.match(template, i)
                if m is None or int(m.group(2) or 0) > _MAX_WIDTH:
                    raise error
                offset, width, base = int(m.group(1)), int(m.group(2) or 0), m.group(3) or "d"
                i = m.end()
            v = value + offset
            if base in "nN":
                if v < 0:
                    raise error
                out.append(_nibbles(v, width, base == "N"))
            else:
                out.append(format(v, base).zfill(width))
    return "".join(out)


def _generate(line: Line, state: _State, filename: str | None, out: list[RR]) -> None:
    args = line.tokens[1:]
    if len(args) < 4:
        raise _err("$GENERATE takes a range, an owner, a type and data", filename, line)
    m = _GEN_RANGE.fullmatch(args[0].text)
    if m is None:
        raise _err(f"bad $GENERATE range {args[0].text!r}", filename, args[0])
    start, stop, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    if stop < start or step == 0 or (stop - start) // step >= MAX_GENERATE:
        raise _err(f"bad $GENERATE range {args[0].text!r}", filename, args[0])
    bad = _err("bad $GENERATE modifier (${offset[,width[,base]]}, base one of doxXnN)",
               filename, line)
    rest = args[2:]
    for value in range(start, stop + 1, step):
        owner = Token(_substitute(args[1].text, value, bad), False, args[1].line)
        fixed, templ = _split_generate(rest)
        body = [owner, *fixed]
        body += [Token(_substitute(t.text, value, bad), t.quoted, t.line) for t in templ]
        _record(tuple(body), line, state, filename, out)


def _split_generate(rest: tuple[Token, ...]) -> tuple[list[Token], list[Token]]:
    for i, tok in enumerate(rest):
        if type_from_text(tok.text) is not None and not tok.quoted:
            return list(rest[:i + 1]), list(rest[i + 1:])
    return list(rest), []


def _record(toks: tuple[Token, ...], line: Line, state: _State, filename: str | None,
            out: list[RR]) -> None:
    def err(message: str, at: Token | Line = line) -> ZoneFileError:
        return _err(message, filename, at)

    i = 0
    if line.indented:
        if state.last_name is None:
            raise err("no owner name, and no previous record to take it from")
        owner = state.last_name
    else:
        tok = toks[0]
        if tok.text == "@":
            if state.origin is None:
                raise err("'@' and no origin", tok)
            owner = state.origin
        else:
            owner = name_from_text(tok.text, state.origin, lambda m: err(m, tok))
        i = 1
    ttl: int | None = None
    rclass: int | None = None
    rtype: int | None = None
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok.quoted:
            raise err(f"expected a type, found the string {tok.text!r}", tok)
        if ttl is None and tok.text[:1].isdigit():
            try:
                ttl = parse_ttl(tok.text)
            except ValueError as exc:
                raise err(str(exc), tok) from None
            continue
        if rclass is None and (c := class_from_text(tok.text)) is not None:
            rclass = c
            continue
        rtype = type_from_text(tok.text)
        if rtype is None:
            raise err(f"unknown type {tok.text!r}", tok)
        break
    if rtype is None:
        raise err("missing type")
    if rclass is None:
        rclass = state.last_class
    fields = Fields(toks[i:], state.origin, filename, toks[i - 1].line)
    if not fields.more():
        raise err(f"missing data for {tok.text}", tok)
    rdata = parse_rdata(rtype, fields)
    if ttl is not None:
        state.last_ttl = ttl
    elif state.default_ttl is not None:
        ttl = state.default_ttl
    elif state.last_ttl is not None:
        ttl = state.last_ttl
    elif isinstance(rdata, SOA):
        ttl = rdata.minimum
    else:
        raise err("no TTL, no $TTL and no previous TTL")
    if rtype == RRType.SOA and state.default_ttl is None and state.last_ttl is None:
        state.last_ttl = ttl
    state.last_name = owner
    state.last_class = rclass
    out.append(RR(owner, rtype, rclass, ttl, rdata))
