"""Schema upgrades: old rows of a type are rewritten as the current class, one version
step at a time, through registered upgraders (Divmod's ``axiom.upgrade``).

A class whose attributes change gets a new ``schema_version``; its old versions are
declared with ``declare_legacy_item(type_name, version, attributes)`` and each step has an
upgrader::

    declare_legacy_item("shop_order", 1, {"amount": integer(), "note": text()})

    def order_1_to_2(old):
        return upgrade_version(old, "shop_order", 1, 2,
                               cents=old.amount * 100, note=old.note)

    register_upgrader(order_1_to_2, "shop_order", 1, 2)
    register_attribute_copying_upgrader(Order, 2, 3)       # same-named attributes copied
    register_deletion_upgrader(Coupon, 1, 2)               # old coupons are dropped

An upgrader takes the item at the old version and returns the item at ``new_version``
keeping the same store id (``upgrade_version`` does exactly that), or deletes the item
and returns None.  References to an upgraded item stay valid: they hold its store id.

When upgrades happen (why this way): a query on the current class reads only the current
class's table, so rows still at an old version would be silently missed if items were
only upgraded one by one as they are loaded.  So the first time a ``Store`` touches the
current class of a type (its first query, insert or load of that type), every row of
that type still at an older version is upgraded, all in one transaction (a savepoint
inside an open one), before the query runs.  Loading one old item by store id (including
through a reference) goes through the same path, and upgrades that item on its own if
the type was already touched.  Types the code never touches are never upgraded, so
opening a big store stays cheap; ``upgrade_all(store)`` (``axiomatic upgrade``) upgrades
everything now, in one transaction, with a progress callback.

Errors change nothing: a type stored at a version above the code's raises ``SchemaTooNew``
and old rows with no declared legacy class or no chain of upgraders up to the current
version raise ``NoUpgradePathAvailable``, both before any table is created or row moved;
an upgrader that raises rolls back every item of the batch.

Upgrading an item does not call ``stored()`` (it is the same item, already stored); it
calls ``activate()`` on the new item.  Deleting an old item (``register_deletion_upgrader``)
honours ``when_deleted`` of references declared without ``reftype`` or with a type the
legacy item is an instance of; a reference typed as the *current* class is left pointing at
the deleted id and reads as None.
"""
from __future__ import annotations

import importlib
import sqlite3
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .attributes import reference
from .errors import AxiomError, NoUpgradePathAvailable, SchemaTooNew
from .item import Item, current_versions, item_class, registered_classes, table_name

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "register_attribute_copying_upgrader",
    "register_deletion_upgrader",
    "register_upgrader",
    "unregister_upgrader",
    "upgrade_all",
    "upgrade_version",
]

Upgrader = Callable[[Any], Any]
Progress = Callable[[int, int], object]


@dataclass(frozen=True)
class _Step:
    new_version: int
    upgrader: Upgrader
    deletes: bool
    #: the legacy classes this step needs, held strongly (the class registry is weak, and
    #: ``declare_legacy_item(...)`` is usually called without keeping its result)
    pinned: tuple[type[Item], ...]


#: (type_name, old_version) -> the step from it
_upgraders: dict[tuple[str, int], _Step] = {}


class _State:
    """Per-store bookkeeping of upgrades under way."""

    def __init__(self) -> None:
        self.items_in_progress: set[int] = set()
        self.types_in_progress: set[str] = set()
        self.progress: Progress | None = None
        self.done = 0
        self.total = 0


_states: weakref.WeakKeyDictionary[Store, _State] = weakref.WeakKeyDictionary()


def _state(store: Store) -> _State:
    state = _states.get(store)
    if state is None:
        state = _states[store] = _State()
    return state


# -- registration ---------------------------------------------------------------------------


def register_upgrader(upgrader: Upgrader, type_name: str, old_version: int,
                      new_version: int) -> None:
    """Register ``upgrader(old_item) -> new_item`` taking items of ``type_name`` from
    ``old_version`` to ``new_version`` (keeping the store id, see ``upgrade_version``), or
    deleting them and returning None.  Registering again for the same ``(type_name,
    old_version)`` replaces the earlier upgrader."""
    _register(type_name, old_version, new_version, upgrader, deletes=False)


def register_attribute_copying_upgrader(item_class: type[Item], old_version: int,
                                        new_version: int,
                                        post_copy: Callable[[Any], object] | None = None
                                        ) -> None:
    """Upgrade ``item_class``'s type from ``old_version`` to ``new_version`` by copying
    every persistent attribute the two versions share by name; attributes only the new
    version has get their defaults, attributes it dropped are dropped.  ``post_copy(new)``
    may then fill in the rest."""
    type_name = item_class.type_name

    def upgrader(old: Item) -> Item:
        new_cls = _class_or_error(type_name, new_version)
        old_attrs = type(old).__attributes__
        d = old.__dict__
        values = {a.name: d[a.name] for a in new_cls.__persistent__
                  if a.name in old_attrs and old_attrs[a.name].persistent}
        new = upgrade_version(old, type_name, old_version, new_version, **values)
        if post_copy is not None:
            post_copy(new)
        return new

    upgrader.__qualname__ = f"attribute_copying_upgrader[{type_name} {old_version}->{new_version}]"
    _register(type_name, old_version, new_version, upgrader, deletes=False)


def register_deletion_upgrader(item_class: type[Item], old_version: int,
                               new_version: int) -> None:
    """Items of ``item_class``'s type at ``old_version`` are deleted by the upgrade
    (``when_deleted`` of references to them is honoured, see the module docstring)."""
    type_name = item_class.type_name

    def upgrader(old: Item) -> None:
        old.delete_from_store()

    upgrader.__qualname__ = f"deletion_upgrader[{type_name} {old_version}->{new_version}]"
    _register(type_name, old_version, new_version, upgrader, deletes=True)


def unregister_upgrader(type_name: str, old_version: int) -> None:
    """Forget the upgrader from ``old_version`` of ``type_name`` (if any)."""
    _upgraders.pop((type_name, old_version), None)


def _register(type_name: str, old_version: int, new_version: int, upgrader: Upgrader,
              *, deletes: bool) -> None:
    if not callable(upgrader):
        raise TypeError(f"an upgrader must be callable, got {upgrader!r}")
    if not (isinstance(old_version, int) and isinstance(new_version, int)
            and 0 <= old_version < new_version):
        raise ValueError(f"{type_name!r}: an upgrader goes from a version to a higher one "
                         f"(got {old_version!r} -> {new_version!r})")
    pinned = tuple(cls for cls in (item_class(type_name, old_version),
                                   item_class(type_name, new_version))
                   if cls is not None and cls.__legacy__)
    _upgraders[(type_name, old_version)] = _Step(new_version, upgrader, deletes, pinned)


# -- the upgrade of one item ----------------------------------------------------------------


def upgrade_version(old: Item, type_name: str, old_version: int, new_version: int,
                    **attributes: Any) -> Item:
    """Replace ``old`` (an item of ``type_name`` at ``old_version``) by a new item of the
    ``new_version`` class with the same store id, attribute values from ``attributes``
    (defaults for the rest), and return it; ``old`` is no longer stored afterwards.

    A reference attribute may be given the old item's raw value (``old.__dict__[name]``,
    a store id not yet loaded) as well as an item."""
    from .store import _CREATED, _DELETED, _insert_sql

    old_cls = type(old)
    if old_cls.type_name != type_name or old_cls.schema_version != old_version:
        raise AxiomError(f"upgrade_version: {old!r} is {old_cls.type_name!r} version "
                         f"{old_cls.schema_version}, not {type_name!r} version {old_version}")
    od = old.__dict__
    store: Store | None = od.get("store")
    oid = od.get("store_id")
    if store is None or oid is None:
        raise AxiomError(f"upgrade_version: {old!r} is not in a store")
    new_cls = _class_or_error(type_name, new_version)
    new_tid = store._type_id(new_cls)
    d = _new_item_dict(new_cls, attributes)
    values = [a.store_value(store, d[a.name]) for a in new_cls.__persistent__]
    new: Item = object.__new__(new_cls)

    def replace() -> None:
        conn = store.connection
        conn.execute(f"DELETE FROM {old_cls.__table_name__} WHERE oid = ?", (oid,))
        conn.execute(_insert_sql(new_cls), (oid, *values))
        conn.execute("UPDATE axiom_objects SET type_id = ? WHERE oid = ?", (new_tid, oid))
        od["store"] = None
        od["store_id"] = None
        d["store"] = store
        d["store_id"] = oid
        new.__dict__ = d
        store._imap[oid] = weakref.ref(new)
        log = store._undo[-1]
        log.append((_DELETED, old, oid))  # undone last: the old item is back in the map
        log.append((_CREATED, new))

    store._atomically(replace)
    if new_cls.activate is not Item.activate:
        new.activate()
    return new


def _new_item_dict(cls: type[Item], values: dict[str, Any]) -> dict[str, Any]:
    """The ``__dict__`` ``cls(**values)`` would build, without inserting anything."""
    attrs = cls.__attributes__
    d: dict[str, Any] = {"store": None, "store_id": None}
    for name, value in values.items():
        attr = attrs.get(name)
        if attr is None:
            raise TypeError(f"{cls.__name__}: no attribute {name!r}")
        if isinstance(attr, reference) and type(value) is int:
            d[name] = value  # a store id not loaded yet: kept as is (loaded on read)
        else:
            d[name] = attr._checked(value)
    for name, attr in attrs.items():
        if name not in values:
            value = attr.initial_value()
            if value is None and not attr.allow_none:
                raise TypeError(f"{attr.qualname}: required (may not be None, no default)")
            d[name] = value
    return d


def _class_or_error(type_name: str, version: int) -> type[Item]:
    cls = item_class(type_name, version)
    if cls is None:
        raise NoUpgradePathAvailable(
            f"{type_name!r}: no class for version {version} (declare it with "
            f"declare_legacy_item({type_name!r}, {version}, {{...}}))")
    return cls


def _upgrade_item(store: Store, item: Item, current: int) -> Item | None:
    """Run ``item`` through the upgrader chain up to version ``current``; the caller
    holds a transaction."""
    state = _state(store)
    oid = item.__dict__["store_id"]
    name = type(item).type_name
    state.items_in_progress.add(oid)
    try:
        result: Item | None = item
        while result is not None and type(result).schema_version < current:
            version = type(result).schema_version
            step = _upgraders.get((name, version))
            if step is None:
                raise NoUpgradePathAvailable(
                    f"{name!r}: no upgrader from version {version} towards version {current}")
            new = step.upgrader(result)
            if new is None:
                if result.__dict__.get("store") is not None:
                    raise AxiomError(f"upgrader {step.upgrader.__qualname__} for {name!r} "
                                     f"{version}->{step.new_version} returned None but did "
                                     "not delete the item")
            elif (not isinstance(new, Item) or type(new).type_name != name
                    or type(new).schema_version != step.new_version
                    or new.__dict__.get("store") is not store
                    or new.__dict__.get("store_id") != oid):
                raise AxiomError(f"upgrader {step.upgrader.__qualname__} for {name!r} "
                                 f"{version}->{step.new_version} returned {new!r}, not the "
                                 f"version {step.new_version} item with store id {oid} "
                                 "(use upgrade_version)")
            result = new
        _report(state)
        return result
    finally:
        state.items_in_progress.discard(oid)


def _report(state: _State) -> None:
    state.done += 1
    if state.progress is not None:
        state.progress(min(state.done, state.total), state.total)


def _load(store: Store, cls: type[Item], oid: int) -> Item | None:
    """The item ``oid`` from ``cls``'s table, or None if it is not (or no longer) there."""
    loader = store._loader(cls)
    names = "".join(f', "{a.column_name}"' for a in cls.__persistent__)
    rows = store.connection.execute(
        f"SELECT oid{names} FROM {cls.__table_name__} WHERE oid = ?", (oid,)).fetchall()
    return loader(rows)[0] if rows else None  # type: ignore[no-any-return]


# -- which rows need upgrading --------------------------------------------------------------


def _has_older(store: Store, name: str, version: int) -> bool:
    for n, v in store._stored_types:
        if v < version and n == name:
            return True
    return False


def _pending_versions(store: Store, name: str, current: int) -> list[int]:
    """The older versions of ``name`` that still have rows in this store."""
    out = []
    for n, v in sorted(store._stored_types):
        if n != name or v >= current:
            continue
        try:
            row = store.connection.execute(
                f"SELECT 1 FROM {table_name(n, v)} LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # a table whose creation was rolled back
            continue
        if row is not None:
            out.append(v)
    return out


def _check_path(name: str, start: int, current: int) -> None:
    """Raise NoUpgradePathAvailable unless rows of ``name`` at ``start`` can be loaded and
    taken to ``current`` by registered upgraders."""
    if item_class(name, start) is None:
        raise NoUpgradePathAvailable(
            f"{name!r}: items are stored at version {start} and the code is at version "
            f"{current}, but version {start} is not declared (declare_legacy_item({name!r}, "
            f"{start}, {{...}}) and register an upgrader)")
    version = start
    while version < current:
        step = _upgraders.get((name, version))
        if step is None:
            raise NoUpgradePathAvailable(
                f"{name!r}: items are stored at version {start} and the code is at version "
                f"{current}, but no upgrader goes from version {version} (register_upgrader"
                f"(fn, {name!r}, {version}, {version + 1}))")
        if step.new_version > current:
            raise NoUpgradePathAvailable(
                f"{name!r}: the upgrader from version {version} goes to version "
                f"{step.new_version}, past the code's version {current}")
        if step.deletes:
            return
        if item_class(name, step.new_version) is None:
            raise NoUpgradePathAvailable(
                f"{name!r}: the upgrader from version {version} makes version "
                f"{step.new_version} items, but that version is not declared "
                f"(declare_legacy_item({name!r}, {step.new_version}, {{...}}))")
        version = step.new_version


# -- hooks called by Store ------------------------------------------------------------------


def check_upgrade_path(store: Store, cls: type[Item]) -> None:
    """Store hook, before a current class's type is first registered in a store (before
    anything is written): refuse old rows that cannot be upgraded."""
    name, current = cls.type_name, cls.schema_version
    if not _has_older(store, name, current):
        return
    for version in _pending_versions(store, name, current):
        _check_path(name, version, current)


def upgrade_type(store: Store, cls: type[Item]) -> None:
    """Store hook, once a current class's type is registered in a store: upgrade every
    row of the type still at an older version (one transaction)."""
    if _has_older(store, cls.type_name, cls.schema_version):
        _upgrade_type(store, cls)


def upgraded_class(store: Store, cls: type[Item], oid: int) -> type[Item]:
    """Store hook, when item ``oid`` is about to be loaded as the old-version ``cls``:
    upgrade it and return the class to load it as (the current class; the row is gone if
    the upgrade deleted it).  Without a current class in this process it stays as is."""
    state = _state(store)
    current_version = current_versions().get(cls.type_name)
    if current_version is None or oid in state.items_in_progress:
        return cls
    if current_version < cls.schema_version:
        raise SchemaTooNew(f"{store}: {cls.type_name!r} is stored at version "
                           f"{cls.schema_version}, newer than this code's version "
                           f"{current_version}")
    current = item_class(cls.type_name, current_version)
    assert current is not None
    store._type_id(current)  # the first touch of the type upgrades all of its rows
    row = store.connection.execute(
        "SELECT type_id FROM axiom_objects WHERE oid = ?", (oid,)).fetchone()
    if row is not None:
        row_cls = store._class_for_type_id(row[0])
        if row_cls.type_name == current.type_name and row_cls.schema_version < current_version:
            _check_path(row_cls.type_name, row_cls.schema_version, current_version)

            def upgrade_one() -> None:
                item = _load(store, row_cls, oid)
                if item is not None:
                    _upgrade_item(store, item, current_version)

            store.transact(upgrade_one)
    return current


def _upgrade_type(store: Store, cls: type[Item]) -> int:
    name, current = cls.type_name, cls.schema_version
    state = _state(store)
    if name in state.types_in_progress:
        return 0
    versions = _pending_versions(store, name, current)
    if not versions:
        return 0
    for version in versions:
        _check_path(name, version, current)

    def upgrade() -> int:
        _forget_on_rollback(store, cls)
        count = 0
        for version in versions:
            old_cls = item_class(name, version)
            assert old_cls is not None
            oids = [r[0] for r in store.connection.execute(
                f"SELECT oid FROM {old_cls.__table_name__} ORDER BY oid")]
            for oid in oids:
                if oid in state.items_in_progress:
                    continue
                item = _load(store, old_cls, oid)
                if item is None:  # upgraded or deleted meanwhile by another item's upgrader
                    continue
                _upgrade_item(store, item, current)
                count += 1
        return count

    state.types_in_progress.add(name)
    try:
        return store.transact(upgrade)
    finally:
        state.types_in_progress.discard(name)


def _forget_on_rollback(store: Store, cls: type[Item]) -> None:
    """If the transaction around an upgrade rolls back, the store must forget that it has
    registered ``cls`` (so the next touch upgrades again): an undo-log entry that puts
    back the store's class→type-id cache without ``cls``."""
    from .store import _SET

    snapshot = {k: v for k, v in store._type_ids.items() if k is not cls}
    store._undo[-1].append((_SET, store, "_type_ids", snapshot))


# -- everything at once ---------------------------------------------------------------------


def _import_stored_modules(store: Store) -> None:
    """Import the modules recorded for stored types that no live class claims, so that
    ``axiomatic upgrade`` sees the application's classes (Divmod did the same)."""
    known = {c.type_name for c in registered_classes() if not c.__legacy__}
    tried: set[str] = set()
    for name, module in store.connection.execute(
            "SELECT type_name, module FROM axiom_types ORDER BY version DESC"):
        if name in known or module in tried:
            continue
        tried.add(module)
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        known = {c.type_name for c in registered_classes() if not c.__legacy__}


def upgrade_all(store: Store, progress: Progress | None = None) -> int:
    """Upgrade every item of ``store`` stored at an older version of its type, now, in one
    transaction; return how many there were.  ``progress(done, total)`` is called as items
    are done (an item removed by another item's upgrader counts as done at the end).

    Types with no class in this process are left alone; modules recorded for them in the
    store are imported first.  Raises ``SchemaTooNew`` / ``NoUpgradePathAvailable`` before
    changing anything."""
    _import_stored_modules(store)
    currents = current_versions()
    for name, version in sorted(store._stored_types):
        current = currents.get(name)
        if current is not None and version > current:
            raise SchemaTooNew(f"{store}: {name!r} is stored at version {version}, newer "
                               f"than this code's version {current}")
    work: list[type[Item]] = []
    total = 0
    for name, current in sorted(currents.items()):
        versions = _pending_versions(store, name, current)
        for version in versions:
            _check_path(name, version, current)
        if versions:
            cls = item_class(name, current)
            assert cls is not None
            work.append(cls)
            for version in versions:
                total += store.connection.execute(
                    f"SELECT COUNT(*) FROM {table_name(name, version)}").fetchone()[0]
    if not total:
        return 0
    state = _state(store)
    state.progress, state.done, state.total = progress, 0, total
    if progress is not None:
        progress(0, total)

    def upgrade() -> None:
        for cls in work:
            store._type_id(cls)  # a first touch upgrades the type ...
            _upgrade_type(store, cls)  # ... otherwise this does

    try:
        store.transact(upgrade)
    finally:
        done = state.done
        state.progress, state.done, state.total = None, 0, 0
    if progress is not None and done < total:
        progress(total, total)
    return total
