"""Declarative commands, as Twisted's ``amp.Command``, compiled once at class creation.

A subclass declares ``arguments``, ``response``, ``errors``, ``fatal_errors`` and
``requires_answer``; ``__init_subclass__`` turns those into generated encode/decode
functions and error tables so that a call costs one function per direction.  When every
argument (or response value) is a simple type, a native ``ArgumentSchema`` does that work
instead: it writes wire bytes and reads received boxes without a dict of bytes between.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from plait._native import ArgumentSchema

from .arguments import Boolean, Float, Integer, String, Unicode
from .errors import BadLocalReturn, InvalidSignature
from .schema import Decoder, Encoder, Schema

if TYPE_CHECKING:
    from .arguments import Argument

COMMAND = b"_command"
ASK = b"_ask"
ANSWER = b"_answer"
ERROR = b"_error"
ERROR_CODE = b"_error_code"
ERROR_DESCRIPTION = b"_error_description"

RESPONDER_ATTRIBUTE = "__juice_commands__"

_F = TypeVar("_F", bound=Callable[..., Any])


def _code(value: bytes | str) -> bytes:
    code = value.encode("ascii") if isinstance(value, str) else bytes(value)
    if not code or len(code) > 0xFFFF:
        raise ValueError(f"error code {value!r} must be 1-65535 bytes")
    return code


#: The argument types the native codec writes exactly as they do (exact classes only: a
#: subclass may override ``to_bytes``/``from_bytes``).
_NATIVE_KINDS = {Integer: "Integer", String: "String", Unicode: "Unicode",
                 Boolean: "Boolean", Float: "Float"}


def _native_schema(schema: Schema, head: tuple[tuple[bytes, bytes], ...], tag_key: bytes,
                   *, strict: bool, fallback: Decoder) -> ArgumentSchema | None:
    """The native codec for ``schema`` when every argument is a simple type, else None:
    it encodes a call or answer straight to wire bytes and decodes boxes in one call."""
    fields = []
    for f in schema.fields:
        kind = _NATIVE_KINDS.get(type(f.argument))  # type: ignore[call-overload]
        if kind is None:
            return None
        fields.append((f.wire, f.python, kind, f.argument.optional))
    if len(schema.python_names) != len(fields):  # two wire names, one Python name
        return None
    return ArgumentSchema(fields, head, tag_key, strict, fallback)


def _instantiate_error(cls: type[BaseException], description: str) -> BaseException:
    """Build ``cls(description)`` as Twisted does; fall back when its signature differs."""
    try:
        return cls(description)
    except Exception:  # noqa: BLE001 - a custom __init__ that wants other arguments
        exc = cls.__new__(cls)
        exc.args = (description,)
        return exc


class Command:
    """Subclass to declare a command (see the module docstring).

    ``command_name`` defaults to the class name.  ``errors`` and ``fatal_errors`` map
    exception classes to wire codes and are inherited (a subclass adds to its bases').
    """

    command_name: ClassVar[bytes] = b"Command"
    arguments: ClassVar[Sequence[tuple[str | bytes, Argument]]] = ()
    response: ClassVar[Sequence[tuple[str | bytes, Argument]]] = ()
    errors: ClassVar[Mapping[type[BaseException], bytes | str]] = {}
    fatal_errors: ClassVar[Mapping[type[BaseException], bytes | str]] = {}
    requires_answer: ClassVar[bool] = True
    #: Names ``call_remote`` accepts that never go on the wire (StartTLS's TLS options).
    local_arguments: ClassVar[frozenset[str]] = frozenset()
    #: True for StartTLS and its subclasses: the connection switches to TLS on success.
    switches_tls: ClassVar[bool] = False

    # Filled in by __init_subclass__.
    argument_schema: ClassVar[Schema]
    response_schema: ClassVar[Schema]
    all_errors: ClassVar[dict[type[BaseException], bytes]]
    reverse_errors: ClassVar[dict[bytes, type[BaseException]]]
    _fatal_classes: ClassVar[frozenset[type[BaseException]]]
    _encode_ask: ClassVar[Encoder]
    _encode_send: ClassVar[Encoder]
    _encode_answer: ClassVar[Encoder]
    #: Native codecs (None unless every argument is a simple type): ``encode`` gives the
    #: wire bytes of an ask (or answer) box, or None for the Python path.
    _native_ask: ClassVar[ArgumentSchema | None]
    _native_answer: ClassVar[ArgumentSchema | None]
    #: What AMP's compiled call path reads, in one lookup: (plain asked call, native ask
    #: encoder, native response codec).
    _amp_hot: ClassVar[tuple[Any, ...]]
    decode_arguments: ClassVar[Decoder]
    decode_response: ClassVar[Decoder]

    def __init__(self) -> None:
        raise TypeError("Commands are declarations: pass the class to call_remote()")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("command_name", cls.__name__)
        cls.command_name = _code(name) if isinstance(name, str) else bytes(name)
        if not 0 < len(cls.command_name) <= 0xFFFF:
            raise ValueError(f"command name {name!r} must be 1-65535 bytes")

        cls.argument_schema = Schema(cls.arguments)
        cls.response_schema = Schema(cls.response)
        name_head = (COMMAND, cls.command_name)
        cls._encode_ask = staticmethod(
            cls.argument_schema.encoder((name_head, (ASK, None)), strict=True)
        )
        cls._encode_send = staticmethod(
            cls.argument_schema.encoder((name_head,), strict=True)
        )
        cls._encode_answer = staticmethod(
            cls.response_schema.encoder(((ANSWER, None),))
        )
        cls._native_ask = _native_schema(
            cls.argument_schema, (name_head,), ASK, strict=True,
            fallback=cls.argument_schema.decode,
        )
        cls._native_answer = _native_schema(
            cls.response_schema, (), ANSWER, strict=False, fallback=cls.response_schema.decode
        )
        cls.decode_arguments = staticmethod(
            cls.argument_schema.decode if cls._native_ask is None else cls._native_ask.decode
        )
        cls.decode_response = staticmethod(
            cls.response_schema.decode
            if cls._native_answer is None
            else cls._native_answer.decode
        )
        ask, answer = cls._native_ask, cls._native_answer
        cls._amp_hot = (
            bool(cls.requires_answer and not cls.switches_tls),
            None if ask is None else ask.encode,
            answer,
        )

        errors: dict[type[BaseException], bytes] = {}
        fatal: dict[type[BaseException], bytes] = {}
        for klass in reversed(cls.__mro__):
            for exc_type, code in klass.__dict__.get("errors", {}).items():
                errors[exc_type] = _code(code)
            for exc_type, code in klass.__dict__.get("fatal_errors", {}).items():
                fatal[exc_type] = _code(code)
        cls.all_errors = {**errors, **fatal}
        cls.reverse_errors = {code: exc_type for exc_type, code in cls.all_errors.items()}
        cls._fatal_classes = frozenset(fatal)

    # -- encoding and decoding -------------------------------------------------------------

    @classmethod
    def make_ask(cls, values: Mapping[str, Any], tag: bytes | None) -> dict[bytes, bytes]:
        """The ``_command`` box for a call (with ``_ask`` unless ``tag`` is None)."""
        try:
            if tag is None:
                return cls._encode_send(values)
            return cls._encode_ask(values, tag)
        except KeyError:
            problem = cls.argument_schema.explain_values(values, strict=True)
            if not problem:
                raise
            raise InvalidSignature(
                f"{cls.command_name.decode('ascii', 'replace')}: {problem}"
            ) from None

    @classmethod
    def make_answer(cls, result: Mapping[str, Any], tag: bytes) -> dict[bytes, bytes]:
        """The ``_answer`` box for a responder's result, or ``BadLocalReturn``."""
        try:
            return cls._encode_answer(result, tag)
        except Exception as exc:
            raise BadLocalReturn(
                f"responder for {cls.command_name!r} returned {result!r}, which its "
                f"response cannot encode: {exc!r}"
            ) from exc

    @classmethod
    def error_for(cls, exc: BaseException) -> tuple[bytes, bool] | None:
        """The ``(code, fatal)`` declared for ``exc``, or None: first match wins."""
        for exc_type, code in cls.all_errors.items():
            if isinstance(exc, exc_type):
                return code, exc_type in cls._fatal_classes
        return None

    @classmethod
    def exception_for(cls, code: bytes, description: str) -> BaseException | None:
        """The local exception declared for a wire code, or None when undeclared."""
        exc_type = cls.reverse_errors.get(code)
        if exc_type is None:
            return None
        return _instantiate_error(exc_type, description)

    # -- responders ------------------------------------------------------------------------

    @classmethod
    def responder(cls, func: _F) -> _F:
        """Decorate an ``AMP`` subclass method to answer this command; returns it unchanged.

        The method takes the command's arguments as keywords and returns (or, when async,
        resolves to) a dict of the response's values.
        """
        commands = getattr(func, RESPONDER_ATTRIBUTE, ())
        setattr(func, RESPONDER_ATTRIBUTE, (*commands, cls))
        return func


__all__ = ["Command"]
