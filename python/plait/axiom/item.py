"""``Item``: the base of every stored class, its class registry, and ``Placeholder``.

Why a registry: a store holds rows of many types, identified by ``(type_name,
schema_version)``; loading a row needs the class, and upgrades need the old versions
(``declare_legacy_item``).  Classes are held weakly so a test can redefine one once the
old definition is gone.
"""
from __future__ import annotations

import gc
import re
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

from .attributes import Attribute, CompoundIndex, StoreIDColumn, reference
from .comparison import Column
from .errors import AxiomError

if TYPE_CHECKING:
    from .store import Store

__all__ = ["Item", "Placeholder", "declare_legacy_item", "item_class", "table_name"]

_registry: weakref.WeakValueDictionary[tuple[str, int], type[Item]] = (
    weakref.WeakValueDictionary())


#: Legacy declarations are usually made for their effect and not kept by the caller; hold them
#: here so the (weak) registry still finds them when old rows are loaded.
_declared_legacy: dict[tuple[str, int], type[Item]] = {}


def table_name(type_name: str, version: int) -> str:
    """The SQL table of one ``(type_name, version)``: ``item_<type_name>_v<version>``."""
    return f"item_{re.sub(r'[^0-9A-Za-z_]', '_', type_name)}_v{version}"


def item_class(type_name: str, version: int) -> type[Item] | None:
    """The live class registered for ``(type_name, version)``, or None."""
    return _registry.get((type_name, version))


def current_versions() -> dict[str, int]:
    """Every registered type name and its newest (non-legacy) schema version."""
    out: dict[str, int] = {}
    for (name, version), cls in list(_registry.items()):
        if not cls.__legacy__ and version > out.get(name, 0):
            out[name] = version
    return out


def registered_classes() -> list[type[Item]]:
    return list(_registry.values())


class Item:
    """A stored object.  Declare attributes in the class body; ``Cls(store=s, ...)``
    inserts the item at once, inside the store's current transaction."""

    type_name: ClassVar[str]
    schema_version: ClassVar[int] = 1

    # filled in per class by __init_subclass__
    __attributes__: ClassVar[dict[str, Attribute[Any]]] = {}
    __persistent__: ClassVar[tuple[Attribute[Any], ...]] = ()
    __compound_indexes__: ClassVar[list[CompoundIndex]] = []
    __table_name__: ClassVar[str] = ""
    __legacy__: ClassVar[bool] = False
    __references__: ClassVar[tuple[reference, ...]] = ()

    #: the Store holding the item (None at run time for an item not (or no longer) stored)
    store: Store
    if TYPE_CHECKING:
        store_id: StoreIDColumn
    else:
        store_id = StoreIDColumn(None)

    def __init_subclass__(cls, *, legacy: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ns = cls.__dict__
        if "type_name" not in ns:
            cls.type_name = f"{cls.__module__}.{cls.__name__}".lower()
        cls.__legacy__ = legacy
        attrs: dict[str, Attribute[Any]] = {}
        for base in reversed(cls.__mro__[1:]):
            for name, attr in getattr(base, "__attributes__", {}).items():
                if name not in ns:
                    attrs[name] = attr
        for name, attr in list(attrs.items()):
            if attr.owner is not cls:
                attrs[name] = copy = attr.for_class(cls)
                setattr(cls, name, copy)
        for name, value in ns.items():
            if isinstance(value, Attribute):
                attrs[name] = value
        for reserved in ("store", "store_id"):
            if reserved in attrs:
                raise TypeError(f"{cls.__name__}: {reserved!r} is reserved")
        cls.__attributes__ = attrs
        cls.__persistent__ = tuple(a for a in attrs.values() if a.persistent)
        cls.__references__ = tuple(a for a in cls.__persistent__ if isinstance(a, reference))
        indexes = list(ns.get("__compound_indexes__", []))
        indexes += [v for v in ns.values() if isinstance(v, CompoundIndex)
                    and not any(v is i for i in indexes)]
        for index in indexes:
            for a in index.attributes:
                if attrs.get(a.name) is not a:
                    raise TypeError(f"{cls.__name__}: compound_index over {a!r}, "
                                    "which is not an attribute of this class")
        cls.__compound_indexes__ = indexes
        cls.store_id = StoreIDColumn(cls)  # type: ignore[assignment]
        cls.__table_name__ = table_name(cls.type_name, cls.schema_version)
        key = (cls.type_name, cls.schema_version)
        if key in _registry:
            gc.collect()  # a dead redefinition (common in tests) may still be uncollected
        if key in _registry:
            old = _registry[key]
            raise AxiomError(f"{cls.__module__}.{cls.__qualname__}: type {key[0]!r} version "
                             f"{key[1]} is already defined by {old.__module__}."
                             f"{old.__qualname__}")
        _registry[key] = cls

    def __init__(self, *, store: Store | None = None, **values: Any) -> None:
        cls = type(self)
        attrs = cls.__attributes__
        d = self.__dict__
        d["store"] = None
        d["store_id"] = None
        for name, value in values.items():
            attr = attrs.get(name)
            if attr is None:
                raise TypeError(f"{cls.__name__}: no attribute {name!r}")
            d[name] = attr._checked(value)
        for name, attr in attrs.items():
            if name not in values:
                value = attr.initial_value()
                if value is None and not attr.allow_none:
                    raise TypeError(f"{attr.qualname}: required (may not be None, no default)")
                d[name] = value
        if store is not None:
            store._insert(self)
        if cls.activate is not Item.activate:
            self.activate()

    # -- hooks ----------------------------------------------------------------------------

    def stored(self) -> None:
        """Called once, inside the transaction, after the item is first inserted."""

    def deleted(self) -> None:
        """Called inside the transaction just before the item is deleted."""

    def activate(self) -> None:
        """Called after the item is created or loaded: set up in-memory state here."""

    # -- operations -----------------------------------------------------------------------

    def delete_from_store(self) -> None:
        """Delete this item, honouring ``when_deleted`` of references pointing at it."""
        store = self.__dict__.get("store")
        if store is None:
            raise AxiomError(f"{self!r} is not in a store")
        store._delete(self)

    def __repr__(self) -> str:
        d = self.__dict__
        shown = ", ".join(f"{n}={d.get(n)!r}" for n in type(self).__attributes__
                          if not isinstance(type(self).__attributes__[n], reference))
        return f"{type(self).__name__}(store_id={d.get('store_id')!r}{', ' if shown else ''}{shown})"


class Placeholder:
    """Another alias of an item class's table, for self-joins:

    ``p = Placeholder(Person); store.query(Person, Person.friend == p.store_id)``
    """

    def __init__(self, cls: type[Item]) -> None:
        self._placeholder_class = cls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._placeholder_class, name)
        if isinstance(value, Column):
            return value.bound_to(self)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Placeholder({self._placeholder_class.__name__})"


def declare_legacy_item(type_name: str, schema_version: int,
                        attributes: dict[str, Attribute[Any]]) -> type[Item]:
    """Declare an old version of a type so that stored rows of it can be loaded and
    upgraded (the current class keeps the newest version)."""
    existing = item_class(type_name, schema_version)
    if existing is not None and existing.__legacy__:
        return existing
    ns: dict[str, Any] = dict(attributes)
    ns["type_name"] = type_name
    ns["schema_version"] = schema_version
    ns["__module__"] = __name__
    name = f"Legacy_{re.sub(r'[^0-9A-Za-z_]', '_', type_name)}_v{schema_version}"
    legacy = type(name, (Item,), ns, legacy=True)
    _declared_legacy[(type_name, schema_version)] = legacy  # a declaration nobody keeps stays
    return legacy
