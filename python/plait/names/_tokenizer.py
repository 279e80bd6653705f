"""Splitting master-format (RFC 1035 §5) text into logical lines of tokens.

A logical line is one physical line, or several joined by parentheses; ``;`` starts a comment
to the end of the line; ``"..."`` is one token (it may hold spaces, ``;`` and parentheses);
``\\`` outside quotes makes the next character part of the token. Tokens keep their escapes:
what they mean depends on the field (a name, a character-string), so the field decodes them.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Line", "Token", "ZoneFileError", "decode_escapes", "tokenize"]


class ZoneFileError(ValueError):
    """A zone file that cannot be read: ``filename:line: what is wrong``."""

    def __init__(self, message: str, filename: str | None = None, line: int = 0) -> None:
        self.filename = filename or "<string>"
        self.line = line
        self.message = message
        super().__init__(f"{self.filename}:{line}: {message}")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its text (escapes kept), whether it was quoted, the line it is on."""

    text: str
    quoted: bool
    line: int


@dataclass(frozen=True, slots=True)
class Line:
    """A logical line: its tokens, and whether it began with blank space (no owner)."""

    tokens: tuple[Token, ...]
    indented: bool
    line: int


_SPACE = " \t\r"
_DELIM = _SPACE + '\n;()"'


def tokenize(text: str, filename: str | None = None) -> list[Line]:
    """The logical lines of ``text`` that hold at least one token."""
    lines: list[Line] = []
    tokens: list[Token] = []
    lineno = 1
    start_line = 1
    indented = False
    at_line_start = True
    depth = 0
    open_line = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if at_line_start and depth == 0:
            at_line_start = False
            indented = c in _SPACE
            start_line = lineno
        if c == "\n":
            if depth == 0:
                if tokens:
                    lines.append(Line(tuple(tokens), indented, start_line))
                tokens = []
                at_line_start = True
            lineno += 1
            i += 1
        elif c in _SPACE:
            i += 1
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "(":
            if depth == 0:
                open_line = lineno
            depth += 1
            i += 1
        elif c == ")":
            if depth == 0:
                raise ZoneFileError("')' without '('", filename, lineno)
            depth -= 1
            i += 1
        elif c == '"':
            j = i + 1
            while True:
                if j >= n or text[j] == "\n":
                    raise ZoneFileError("unterminated quoted string", filename, lineno)
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == '"':
                    break
                j += 1
            tokens.append(Token(text[i + 1:j], True, lineno))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in _DELIM:
                if text[j] == "\\":
                    if j + 1 >= n or text[j + 1] == "\n":
                        raise ZoneFileError("backslash at the end of a line", filename, lineno)
                    j += 2
                    continue
                j += 1
            tokens.append(Token(text[i:j], False, lineno))
            i = j
    if depth:
        raise ZoneFileError("'(' not closed", filename, open_line)
    if tokens:
        lines.append(Line(tuple(tokens), indented, start_line))
    return lines


def decode_escapes(raw: str) -> bytes:
    """The bytes of a character-string token: ``\\DDD`` is a byte, ``\\X`` is X.

    Raises ValueError on a bad ``\\DDD`` (over 255) or a trailing backslash.
    """
    if "\\" not in raw:
        return raw.encode("utf-8")
    data = raw.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        digits = data[i + 1:i + 4]
        if len(digits) == 3 and digits.isdigit():
            value = int(digits)
            if value > 255:
                raise ValueError(f"bad escape \\{digits.decode()}")
            out.append(value)
            i += 4
        elif i + 1 < len(data):
            out.append(data[i + 1])
            i += 2
        else:
            raise ValueError("trailing backslash")
    return bytes(out)
