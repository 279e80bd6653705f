"""Typed, persistent attributes of items.

An attribute is a descriptor declared in an ``Item`` class body.  Reading one is a plain
instance-``__dict__`` read (the descriptor defines no ``__get__`` at run time, so loading
and reading items costs what plain objects cost); assigning checks the type and, for a
stored item, writes the new value inside the store's current transaction.

Defining a new attribute type: subclass ``Attribute`` and set

- ``sql_type``: the SQLite column type (``"INTEGER"``, ``"TEXT"``, ``"REAL"``, ``"BLOB"``);
- ``check(value)``: return the value to keep (normalised) or raise ``TypeError`` /
  ``ValueError`` with a short reason; the name ``Class.attribute`` is prefixed for you.
  ``None`` never reaches ``check`` (``allow_none`` is handled by the base);
- ``to_db(value)`` / ``from_db(value)``: only if the Python and database forms differ.
  The loader calls ``from_db`` only for types that override it, so leaving the identity
  in place keeps loading fast.  Types whose conversion needs the store (``path``) override
  ``store_value(store, value)`` / ``load_value(store, value)`` instead.
"""
from __future__ import annotations

import builtins
import enum
import json
import math
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from ..epsilon.extime import Time
from .comparison import Column

if TYPE_CHECKING:
    from typing import Self

    from .item import Item
    from .store import Store

__all__ = [
    "CASCADE",
    "DISALLOW",
    "NULLIFY",
    "Attribute",
    "CompoundIndex",
    "StoreIDColumn",
    "WhenDeleted",
    "boolean",
    "bytes",
    "compound_index",
    "ieee754_double",
    "inmemory",
    "integer",
    "money",
    "path",
    "point1decimal",
    "point2decimal",
    "point3decimal",
    "point4decimal",
    "point5decimal",
    "point6decimal",
    "point7decimal",
    "point8decimal",
    "point9decimal",
    "point10decimal",
    "reference",
    "text",
    "textlist",
    "timestamp",
]

T = TypeVar("T")

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH_TIME = Time.from_posix_timestamp(0)


class WhenDeleted(enum.Enum):
    """What deleting an item does to references pointing at it."""

    NULLIFY = "nullify"
    CASCADE = "cascade"
    DISALLOW = "disallow"


NULLIFY = WhenDeleted.NULLIFY
CASCADE = WhenDeleted.CASCADE
DISALLOW = WhenDeleted.DISALLOW


class StoreIDColumn(Column):
    """``Cls.store_id`` at class level: the item's id, usable in comparisons and sorts."""

    sql_type = "INTEGER"

    def __init__(self, source: Any = None) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"{getattr(self.source, '__name__', self.source)!r}.store_id"

    if TYPE_CHECKING:
        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> int: ...
        def __get__(self, obj: Any, owner: Any) -> Any: ...


class Attribute(Column, Generic[T]):
    """Base of every persistent attribute type (see the module docstring to subclass)."""

    sql_type: ClassVar[str] = "BLOB"
    #: stored in the database; ``inmemory`` sets this False
    persistent: ClassVar[bool] = True

    def __init__(self, *, indexed: bool = False, default: Any = None,
                 default_factory: Callable[[], Any] | None = None, allow_none: bool = True,
                 doc: str = "") -> None:
        if default is not None and default_factory is not None:
            raise TypeError("give default or default_factory, not both")
        self.indexed = indexed
        self.default = default
        self.default_factory = default_factory
        self.allow_none = allow_none
        self.doc = doc
        self.name = "?"
        self.owner: type | None = None
        if default is not None:
            self.default = self._checked(default)

    # -- declaration --------------------------------------------------------------------

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column_name = name
        self.owner = owner
        self.source = owner

    def for_class(self, owner: type) -> Attribute[T]:
        """A copy of this attribute for a subclass (each class has its own table)."""
        clone = self.bound_to(owner)
        assert isinstance(clone, Attribute)
        clone.owner = owner
        return clone

    @property
    def qualname(self) -> str:
        return f"{getattr(self.owner, '__name__', '?')}.{self.name}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.qualname}>"

    # -- the subclass interface ---------------------------------------------------------

    def check(self, value: Any) -> Any:
        """Return the value to keep, or raise TypeError/ValueError saying why not."""
        return value

    def to_db(self, value: Any) -> Any:
        """The Python value (never None) as SQLite stores it."""
        return value

    def from_db(self, value: Any) -> Any:
        """The SQLite value (never None) as Python sees it."""
        return value

    def store_value(self, store: Store | None, value: Any) -> Any:
        """``to_db`` with the store at hand; None stays None."""
        return None if value is None else self.to_db(value)

    def load_value(self, store: Store | None, value: Any) -> Any:
        """``from_db`` with the store at hand; None stays None."""
        return None if value is None else self.from_db(value)

    @classmethod
    def converts_on_load(cls) -> bool:
        """True when loading must call ``load_value`` (the DB and Python forms differ)."""
        return (cls.from_db is not Attribute.from_db
                or cls.load_value is not Attribute.load_value)

    @classmethod
    def converts_on_store(cls) -> bool:
        return cls.to_db is not Attribute.to_db or cls.store_value is not Attribute.store_value

    # -- values -------------------------------------------------------------------------

    def _checked(self, value: Any) -> Any:
        if value is None:
            if not self.allow_none:
                raise TypeError(f"{self.qualname}: may not be None")
            return None
        try:
            return self.check(value)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{self.qualname}: {e}") from None

    def initial_value(self) -> Any:
        """The value an item gets when its constructor does not name this attribute."""
        if self.default_factory is not None:
            return self._checked(self.default_factory())
        return self.default

    def to_param(self, value: Any) -> Any:
        if value is None:
            return None
        return self.store_value(None, self._checked(value))

    def __set__(self, obj: Item, value: Any) -> None:
        value = self._checked(value)
        d = obj.__dict__
        store = d.get("store")
        if store is not None:
            store._attribute_changed(obj, self, d.get(self.name), value)
        d[self.name] = value

    if TYPE_CHECKING:
        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> T: ...
        def __get__(self, obj: Any, owner: Any) -> Any: ...


def _expected(what: str, value: Any) -> TypeError:
    return TypeError(f"expected {what}, got {type(value).__name__}")


class boolean(Attribute[bool]):
    """True or False, stored as INTEGER 0/1."""

    sql_type = "INTEGER"

    def check(self, value: Any) -> bool:
        if value is not True and value is not False:
            raise _expected("bool", value)
        return value  # type: ignore[no-any-return]

    def from_db(self, value: Any) -> bool:
        return bool(value)


class integer(Attribute[int]):
    """A signed 64-bit integer (SQLite's INTEGER range; bool is refused)."""

    sql_type = "INTEGER"

    def check(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _expected("int", value)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{value} does not fit in 64 bits")
        return value


class bytes(Attribute[builtins.bytes]):
    """Binary data (BLOB); bytearray and memoryview are copied to bytes."""

    sql_type = "BLOB"

    def check(self, value: Any) -> builtins.bytes:
        if type(value) is builtins.bytes:
            return value
        if isinstance(value, (bytearray, memoryview, builtins.bytes)):
            return builtins.bytes(value)
        raise _expected("bytes", value)


class text(Attribute[str]):
    """Unicode text (TEXT)."""

    sql_type = "TEXT"

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise _expected("str", value)
        return value


class path(Attribute[Path]):
    """An absolute filesystem path; under the store's ``files_dir`` it is stored relative
    to it, so a store directory can be moved or copied whole."""

    sql_type = "TEXT"

    def check(self, value: Any) -> Path:
        if isinstance(value, str) or not isinstance(value, Path) and hasattr(value, "__fspath__"):
            value = Path(value)
        if not isinstance(value, Path):
            raise _expected("pathlib.Path", value)
        if not value.is_absolute():
            raise ValueError(f"expected an absolute path, got {str(value)!r}")
        return value

    def store_value(self, store: Store | None, value: Any) -> Any:
        if value is None:
            return None
        if store is not None and store.path is not None:
            try:
                return value.relative_to(store.files_dir).as_posix()
            except ValueError:
                pass
        return str(value)

    def load_value(self, store: Store | None, value: Any) -> Any:
        if value is None:
            return None
        p = Path(value)
        if not p.is_absolute() and store is not None:
            return store.files_dir / p
        return p


class timestamp(Attribute[Time]):
    """A ``plait.epsilon.extime.Time``, stored as INTEGER microseconds since the epoch."""

    sql_type = "INTEGER"

    def check(self, value: Any) -> Time:
        if not isinstance(value, Time):
            raise _expected("plait.epsilon.extime.Time", value)
        return value

    def to_db(self, value: Any) -> int:
        return (value - _EPOCH_TIME) // timedelta(microseconds=1)  # type: ignore[no-any-return]

    def from_db(self, value: Any) -> Time:
        return _EPOCH_TIME + timedelta(microseconds=value)


class reference(Attribute[Any]):
    """Another item in the same store (of ``reftype`` if given), stored as its store id.

    Loaded lazily: the id is kept until the attribute is read.  ``when_deleted`` says what
    deleting the referenced item does: NULLIFY (set this to None), CASCADE (delete this
    item too) or DISALLOW (refuse, with ``DeletionDisallowed``).
    """

    sql_type = "INTEGER"

    def __init__(self, reftype: type | None = None, *,
                 when_deleted: WhenDeleted = NULLIFY, **kwargs: Any) -> None:
        if not isinstance(when_deleted, WhenDeleted):
            raise TypeError("when_deleted must be NULLIFY, CASCADE or DISALLOW")
        self.reftype = reftype
        self.when_deleted = when_deleted
        super().__init__(**kwargs)

    def check(self, value: Any) -> Any:
        from .item import Item

        if not isinstance(value, self.reftype or Item):
            raise _expected((self.reftype or Item).__name__, value)
        return value

    def store_value(self, store: Store | None, value: Any) -> Any:
        if value is None or type(value) is int:
            return value
        oid = value.__dict__.get("store_id")
        if oid is None or (store is not None and value.store is not store):
            raise ValueError(f"{self.qualname}: {value!r} is not an item in this store")
        return oid

    def to_param(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return self.store_value(None, self._checked(value))

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        value = d[self.name]
        if type(value) is int:
            value = d["store"].get_item_by_id(value, default=None)
            d[self.name] = value
        return value


class ieee754_double(Attribute[float]):
    """A float (REAL).  NaN is refused: SQLite would store it as NULL."""

    sql_type = "REAL"

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise _expected("float", value)
        value = float(value)
        if math.isnan(value):
            raise ValueError("NaN cannot be stored (SQLite turns it into NULL)")
        return value


class _decimal(Attribute[Decimal]):
    """A Decimal with a fixed number of places, stored as a scaled INTEGER (exact)."""

    sql_type = "INTEGER"
    places: ClassVar[int] = 0

    def check(self, value: Any) -> Decimal:
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        if not isinstance(value, Decimal):
            raise _expected("decimal.Decimal", value)
        if not value.is_finite():
            raise ValueError(f"{value} is not finite")
        try:
            scaled = value.scaleb(self.places)
            exact = scaled == scaled.to_integral_value()
        except InvalidOperation:
            exact = False
        if not exact:
            raise ValueError(f"{value} has more than {self.places} decimal places")
        if not _INT64_MIN <= int(scaled) <= _INT64_MAX:
            raise ValueError(f"{value} is out of range")
        return value

    def to_db(self, value: Any) -> int:
        return int(value.scaleb(self.places))

    def from_db(self, value: Any) -> Decimal:
        return Decimal(value).scaleb(-self.places)


def _make_decimal(places: int) -> type[_decimal]:
    name = f"point{places}decimal"
    return type(name, (_decimal,), {
        "places": places, "__module__": __name__,
        "__doc__": f"A Decimal with {places} decimal place(s), stored exactly as INTEGER.",
    })


point1decimal = _make_decimal(1)
point2decimal = _make_decimal(2)
point3decimal = _make_decimal(3)
point4decimal = _make_decimal(4)
point5decimal = _make_decimal(5)
point6decimal = _make_decimal(6)
point7decimal = _make_decimal(7)
point8decimal = _make_decimal(8)
point9decimal = _make_decimal(9)
point10decimal = _make_decimal(10)


class money(point4decimal):  # type: ignore[valid-type,misc]
    """An amount of money: a Decimal with 4 places (exact), as Divmod's ``money``."""


class textlist(Attribute[list[str]]):
    """A list of str (stored as a JSON array).  Assign a new list to change it: mutating
    the list in place is not seen by the store."""

    sql_type = "TEXT"

    def check(self, value: Any) -> list[str]:
        if not isinstance(value, (list, tuple)):
            raise _expected("list of str", value)
        for v in value:
            if not isinstance(v, str):
                raise TypeError(f"expected list of str, got a {type(v).__name__} in it")
        return list(value)

    def to_db(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def from_db(self, value: Any) -> list[str]:
        return json.loads(value)  # type: ignore[no-any-return]


class inmemory(Attribute[Any]):
    """Never stored: set freely, reset to None (or its default) when the item is loaded."""

    persistent = False

    def __set__(self, obj: Item, value: Any) -> None:
        obj.__dict__[self.name] = value


class CompoundIndex:
    """An index over several attributes of one class (see ``compound_index``)."""

    def __init__(self, attributes: tuple[Attribute[Any], ...]) -> None:
        self.attributes = attributes


def compound_index(*attributes: Attribute[Any]) -> CompoundIndex:
    """Declare, in an Item class body, an index on several attributes in this order."""
    if len(attributes) < 1 or not all(isinstance(a, Attribute) for a in attributes):
        raise TypeError("compound_index() takes attributes of the class being defined")
    index = CompoundIndex(attributes)
    namespace = sys._getframe(1).f_locals
    namespace.setdefault("__compound_indexes__", []).append(index)
    return index
