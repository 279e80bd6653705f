"""Compile a list of ``(name, Argument)`` pairs into two small generated functions.

Why generated code: a command's box is encoded and decoded once per call on each side, and
a loop over field descriptors costs several times more than a straight-line dict display
(``{b"a": int(box[b"a"]), ...}``).  Names and keys enter the generated source only as
``repr()`` literals and codecs only through the namespace, so any wire name is safe.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .arguments import Argument

# Twisted's list (amp.PYTHON_KEYWORDS): wire names equal to these are title-cased in Python.
_TWISTED_KEYWORDS = frozenset(
    ["and", "del", "for", "is", "raise", "assert", "elif", "from", "lambda", "return", "break", "else", "global", "not", "try", "class", "except", "if", "or", "while", "continue", "exec", "import", "pass", "yield", "def", "finally", "in", "print"]
)

_RESERVED = frozenset(
    [b"_command", b"_ask", b"_answer", b"_error", b"_error_code", b"_error_description"]
)

Encoder = Callable[..., dict[bytes, bytes]]
Decoder = Callable[[Mapping[bytes, bytes]], dict[str, Any]]

_counter = itertools.count()


def wire_name_to_python_identifier(key: bytes) -> str:
    """Twisted's rule: dashes become underscores and (Twisted's list of) keywords are
    title-cased, so ``from`` on the wire is ``From`` in Python."""
    name = key.replace(b"-", b"_").decode("ascii")
    return name.title() if name in _TWISTED_KEYWORDS else name


def _as_wire_name(name: str | bytes) -> bytes:
    wire = name.encode("ascii") if isinstance(name, str) else bytes(name)
    if not 0 < len(wire) <= 0xFF:
        raise ValueError(f"AMP key {wire!r} must be 1-255 bytes long")
    if wire in _RESERVED:
        raise ValueError(f"AMP key {wire!r} is reserved by the protocol")
    return wire


@dataclass(frozen=True, slots=True)
class Field:
    """One declared argument: its wire key, its Python keyword and its codec."""

    wire: bytes
    python: str
    argument: Argument


def _inline_template(argument: Argument, method: str, attribute: str) -> str | None:
    """An argument type's inline expression (``$`` stands for the value), honoured only
    when the class that defines the method also defines the template, so a subclass
    overriding ``to_bytes``/``from_bytes`` is always called."""
    for klass in type(argument).__mro__:
        if method in klass.__dict__:
            template = klass.__dict__.get(attribute)
            return template if isinstance(template, str) else None
    return None


class Schema:
    """The compiled form of an ``arguments``/``response``/``AmpList`` declaration.

    ``encoder(head)`` builds ``f(values, *head_values) -> box`` where the box starts with
    the given protocol keys (``_command``/``_ask``, ``_answer``); ``decode(box)`` returns
    the Python values keyed by Python names (missing optional arguments are ``None``).
    """

    def __init__(
        self, fields: Iterable[tuple[str | bytes, Argument]], *, sort: bool = False
    ) -> None:
        compiled: list[Field] = []
        seen: set[bytes] = set()
        for name, argument in fields:
            wire = _as_wire_name(name)
            if wire in seen:
                raise ValueError(f"AMP key {wire!r} declared twice")
            seen.add(wire)
            compiled.append(Field(wire, wire_name_to_python_identifier(wire), argument))
        if sort:
            # Twisted serializes boxes with sorted keys; sorting makes nested boxes (AmpList)
            # byte-identical to Twisted's.
            compiled.sort(key=lambda f: f.wire)
        self.fields: tuple[Field, ...] = tuple(compiled)
        self.python_names: frozenset[str] = frozenset(f.python for f in compiled)
        self.required: tuple[str, ...] = tuple(
            f.python for f in compiled if not f.argument.optional
        )
        self.decode: Decoder = self._compile_decoder()

    # -- code generation -------------------------------------------------------------------

    def _namespace(self) -> dict[str, Any]:
        ns: dict[str, Any] = {}
        for i, f in enumerate(self.fields):
            ns[f"e{i}"] = f.argument.to_bytes
            ns[f"d{i}"] = f.argument.from_bytes
        return ns

    def encoder(
        self,
        head: Sequence[tuple[bytes, bytes | None]] = (),
        *,
        strict: bool = False,
    ) -> Encoder:
        """Compile ``f(values, *head_values) -> box``.

        ``head`` lists the protocol keys that start the box: a ``(key, constant)`` pair is
        written as is, a ``(key, None)`` pair becomes a parameter.  ``strict`` rejects
        unknown names (for calls, as Twisted's ``makeArguments`` does) with ``KeyError``.
        """
        heads: list[str] = []
        items: list[str] = []
        for i, (key, constant) in enumerate(head):
            if constant is None:
                heads.append(f"h{i}")
                items.append(f"{key!r}: h{i}")
            else:
                items.append(f"{key!r}: {bytes(constant)!r}")
        params = ", ".join(["values", *heads])
        optional: list[tuple[int, Field]] = []
        for i, f in enumerate(self.fields):
            if f.argument.optional:
                optional.append((i, f))
            else:
                items.append(f"{f.wire!r}: {self._encode_expr(i, f, f'values[{f.python!r}]')}")
        lines = [f"def encode({params}):"]
        if strict:
            if optional:
                lines.append("    if not ALLOWED.issuperset(values): raise KeyError(values)")
            else:
                lines.append(f"    if len(values) != {len(self.fields)}: raise KeyError(values)")
        lines.append(f"    box = {{{', '.join(items)}}}")
        for i, f in optional:
            lines.append(f"    v = values.get({f.python!r})")
            lines.append("    if v is not None:")
            lines.append(f"        box[{f.wire!r}] = {self._encode_expr(i, f, 'v')}")
        lines.append("    return box")
        ns = self._namespace()
        ns["ALLOWED"] = self.python_names
        encode: Encoder = self._exec(lines, ns, "encode")
        return encode

    def _compile_decoder(self) -> Decoder:
        items = []
        for i, f in enumerate(self.fields):
            if f.argument.optional:
                items.append(
                    f"{f.python!r}: ({self._decode_expr(i, f, f'v{i}')} "
                    f"if (v{i} := box.get({f.wire!r})) is not None else None)"
                )
            else:
                items.append(f"{f.python!r}: {self._decode_expr(i, f, f'box[{f.wire!r}]')}")
        lines = ["def decode(box):", f"    return {{{', '.join(items)}}}"]
        decode: Decoder = self._exec(lines, self._namespace(), "decode")
        return decode

    def _encode_expr(self, i: int, f: Field, value: str) -> str:
        template = _inline_template(f.argument, "to_bytes", "inline_encode")
        return template.replace("$", value) if template else f"e{i}({value})"

    def _decode_expr(self, i: int, f: Field, raw: str) -> str:
        template = _inline_template(f.argument, "from_bytes", "inline_decode")
        return template.replace("$", raw) if template else f"d{i}({raw})"

    @staticmethod
    def _exec(lines: list[str], ns: dict[str, Any], name: str) -> Any:
        source = "\n".join(lines) + "\n"
        filename = f"<plait.vertex.juice schema {next(_counter)}>"
        exec(compile(source, filename, "exec"), ns)  # noqa: S102 - names enter as repr() only
        return ns[name]

    # -- diagnostics (slow path, only after a failure) -------------------------------------

    def explain_values(self, values: Mapping[str, Any], *, strict: bool) -> str:
        """Say which names are missing or unexpected, for a clear error message."""
        missing = [n for n in self.required if n not in values]
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if strict:
            extra = sorted(set(values) - self.python_names)
            if extra:
                parts.append("unexpected " + ", ".join(extra))
        return "; ".join(parts)
