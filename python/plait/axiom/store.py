"""``Store``: items in one SQLite file, with an identity map and nested transactions.

Why it is built this way: every write happens at once inside the current transaction
(an attribute assignment is an UPDATE, a new item two INSERTs), so a commit is the only
durability point and a rollback only has to put the in-memory values back, from an undo
log kept per transaction level.  Loading is one SELECT and a tight per-class loop
(``cls.__new__`` plus a dict fill; see ``_loader``), so queries cost what raw sqlite3
costs.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from . import _schema
from . import upgrade as _upgrade
from .attributes import Attribute, WhenDeleted
from .comparison import AND, Comparison
from .errors import (
    AxiomError,
    DeletionDisallowed,
    DuplicateUniqueItem,
    ItemNotFound,
    NoSuchItem,
    NoUpgradePathAvailable,
    SchemaTooNew,
)
from .item import Item, current_versions, item_class, registered_classes

if TYPE_CHECKING:
    from .query import ItemQuery, MultipleItemQuery

try:  # the compiled materialisation loop (built by setup.py); same algorithm as below
    from ._load import Loader as _CLoader
except ImportError:  # pragma: no cover - a source checkout before the build
    _CLoader = None  # type: ignore[assignment,misc]

__all__ = ["Store"]

T = TypeVar("T")
I = TypeVar("I", bound=Item)
_MISSING: Any = object()
_SET, _CREATED, _DELETED = 0, 1, 2
Loader = Callable[[Iterable[Any]], list[Any]]  # rows, or a cursor to fetch them from


class Store:
    """An Axiom store: ``Store()`` in memory, ``Store(path)`` a directory holding
    ``db.sqlite`` and ``files/`` (created if missing, locked against a second writer)."""

    def __init__(self, path: str | Path | None = None, *, parent: Store | None = None) -> None:
        self.path: Path | None = Path(path).absolute() if path is not None else None
        self.parent = parent
        self._lock_fd: int | None = None
        self._tempdir: Path | None = None
        if self.path is None:
            self.connection = _schema.connect(":memory:", journal_wal=False)
        else:
            _schema.check_directory(self.path)
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _schema.take_lock(self.path)
            try:
                (self.path / _schema.FILES_DIR).mkdir(exist_ok=True)
                self.connection = _schema.connect(str(self.path / _schema.DB_NAME), True)
            except BaseException:
                _schema.release_lock(self._lock_fd)
                self._lock_fd = None
                raise
        self._imap: dict[int, weakref.ref[Item]] = {}
        self._imap_limit = 4096
        self._depth = 0
        self._undo: list[list[tuple[Any, ...]]] = []
        self._type_ids: dict[type[Item], int] = {}
        self._classes: dict[int, type[Item]] = {}
        self._loaders: dict[type[Item], Loader] = {}
        self._stored_types: dict[tuple[str, int], int] = {}
        for oid, name, version in self.connection.execute(
                "SELECT oid, type_name, version FROM axiom_types"):
            self._stored_types[(name, version)] = oid
        self._in_memory_powerups: dict[str, list[tuple[int, Any]]] = {}

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def files_dir(self) -> Path:
        """Where files kept with the store live (a temporary directory for ``Store()``)."""
        if self.path is not None:
            return self.path / _schema.FILES_DIR
        if self._tempdir is None:
            self._tempdir = Path(tempfile.mkdtemp(prefix="plait-axiom-"))
        return self._tempdir

    def new_file_path(self, *segments: str) -> Path:
        """A path under ``files_dir`` for a file kept with the store (parents created)."""
        if not segments:
            raise ValueError("new_file_path() needs at least one path segment")
        p = Path(os.path.normpath(self.files_dir.joinpath(*segments)))
        if self.files_dir not in p.parents:
            raise ValueError(f"{'/'.join(segments)!r} leaves the store's files directory")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def close(self) -> None:
        """Close open substores, the database, and release the writer lock (idempotent)."""
        substore = sys.modules.get("plait.axiom.substore")
        if substore is not None:
            substore.close_substores(self)
        conn = getattr(self, "connection", None)
        if conn is not None:
            conn.close()
        if self._lock_fd is not None:
            _schema.release_lock(self._lock_fd)
            self._lock_fd = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path) if self.path else ''})"

    # -- transactions -------------------------------------------------------------------

    def transact(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a transaction (a savepoint when nested) and
        return its result.  An exception rolls the database back, puts back the attribute
        values of items changed inside, and propagates."""
        depth = self._depth
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT s{depth}")
        self._undo.append([])
        self._depth = depth + 1
        try:
            result = fn(*args, **kwargs)
            conn.execute("COMMIT" if depth == 0 else f"RELEASE s{depth}")
        except BaseException:
            self._roll_back(depth)
            raise
        log = self._undo.pop()
        self._depth = depth
        if depth:
            self._undo[-1].extend(log)
        return result

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _roll_back(self, depth: int) -> None:
        conn = self.connection
        try:
            if depth == 0:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO s{depth}")
                conn.execute(f"RELEASE s{depth}")
        finally:
            log = self._undo.pop()
            self._depth = depth
            self._undo_log(log)

    def _undo_log(self, log: list[tuple[Any, ...]]) -> None:
        imap = self._imap
        for entry in reversed(log):
            kind, item = entry[0], entry[1]
            d = item.__dict__
            if kind == _SET:
                d[entry[2]] = entry[3]
            elif kind == _CREATED:
                imap.pop(d["store_id"], None)
                d["store"] = None
                d["store_id"] = None
            else:
                d["store"] = self
                d["store_id"] = entry[2]
                imap[entry[2]] = weakref.ref(item)
        if log:  # loaders may have cached types/tables created in the rolled-back part
            self._forget_rolled_back_types()

    def _forget_rolled_back_types(self) -> None:
        existing = {r[0] for r in self.connection.execute("SELECT oid FROM axiom_types")}
        for cls, tid in list(self._type_ids.items()):
            if tid not in existing:
                del self._type_ids[cls]
                self._classes.pop(tid, None)
                self._loaders.pop(cls, None)
                self._stored_types.pop((cls.type_name, cls.schema_version), None)

    def _atomically(self, fn: Callable[[], T]) -> T:
        """Run fn inside the current transaction, or in a new one if there is none."""
        return fn() if self._depth else self.transact(fn)

    # -- types --------------------------------------------------------------------------

    def _type_id(self, cls: type[Item]) -> int:
        tid = self._type_ids.get(cls)
        return tid if tid is not None else self._register_type(cls)

    def _register_type(self, cls: type[Item]) -> int:
        key = (cls.type_name, cls.schema_version)
        if not cls.__legacy__:
            newer = [v for (n, v) in self._stored_types if n == key[0] and v > key[1]]
            if newer:
                raise SchemaTooNew(f"{self}: {key[0]!r} is stored at version {max(newer)}, "
                                   f"newer than this code's version {key[1]}")
            _upgrade.check_upgrade_path(self, cls)  # before anything is written
        tid = self._stored_types.get(key)
        if tid is None:
            tid = self._atomically(lambda: _schema.create_type(self.connection, cls))
            self._stored_types[key] = tid
            if self._depth:  # a rollback must forget it again
                self._undo[-1].append((_SET, _Dummy(), "x", None))
        else:
            stored = [tuple(r) for r in _schema.stored_attributes(self.connection, tid)]
            declared = [(a.name, a.sql_type) for a in cls.__persistent__]
            if sorted(stored) != sorted(declared):
                raise AxiomError(
                    f"{cls.__name__}: the attributes of {key[0]!r} version {key[1]} in "
                    f"{self} differ from the class ({stored} != {declared}); changing a "
                    "schema needs a new schema_version and an upgrader")
        self._type_ids[cls] = tid
        self._classes[tid] = cls
        if not cls.__legacy__:
            _upgrade.upgrade_type(self, cls)  # rows still at older versions, if any
        return tid

    def _class_for_type_id(self, tid: int) -> type[Item]:
        cls = self._classes.get(tid)
        if cls is not None:
            return cls
        row = self.connection.execute(
            "SELECT type_name, version, module FROM axiom_types WHERE oid = ?", (tid,)).fetchone()
        if row is None:
            raise AxiomError(f"{self}: unknown type id {tid}")
        name, version, module = row
        cls = item_class(name, version)
        if cls is None and module:
            # As Divmod did: the module that defined the type when it was stored defines
            # (or declares the legacy version of) it now; `axiomatic start` relies on this.
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
            cls = item_class(name, version)
        if cls is None:
            current = current_versions().get(name)
            if current is not None and current < version:
                raise SchemaTooNew(f"{self}: {name!r} is stored at version {version}, newer "
                                   f"than this code's version {current}")
            raise NoUpgradePathAvailable(
                f"{self}: no class for {name!r} version {version} (import the module that "
                "defines it, or declare_legacy_item() and register an upgrader)")
        self._register_type(cls)
        return cls

    # -- loading ------------------------------------------------------------------------

    def _loader(self, cls: type[Item]) -> Loader:
        """The per-class loader: rows ``(oid, col1, col2, ...)`` to items."""
        loader = self._loaders.get(cls)
        if loader is None:
            self._type_id(cls)
            loader = self._loaders[cls] = _make_loader(self, cls)
        return loader

    def _remember(self, oid: int, item: Item) -> None:
        self._imap[oid] = weakref.ref(item)

    def _sweep_identity_map(self) -> None:
        """Drop dead entries once the map has doubled (amortised O(1) per load)."""
        imap = self._imap
        if len(imap) > self._imap_limit:
            for oid in [k for k, w in imap.items() if w() is None]:
                del imap[oid]
            self._imap_limit = max(4096, 2 * len(imap))

    def get_item_by_id(self, store_id: int, default: Any = _MISSING) -> Any:
        """The item with this store id (the live object if it is loaded)."""
        w = self._imap.get(store_id)
        if w is not None:
            item = w()
            if item is not None:
                return item
        row = self.connection.execute(
            "SELECT type_id FROM axiom_objects WHERE oid = ?", (store_id,)).fetchone()
        if row is not None:
            cls = self._class_for_type_id(row[0])
            if cls.__legacy__:
                cls = _upgrade.upgraded_class(self, cls, store_id)
            loader = self._loader(cls)
            names = ", ".join(f'"{a.column_name}"' for a in cls.__persistent__)
            rows = self.connection.execute(
                f"SELECT oid{', ' if names else ''}{names} FROM {cls.__table_name__} "
                "WHERE oid = ?", (store_id,)).fetchall()
            if rows:
                return loader(rows)[0]
        if default is _MISSING:
            raise NoSuchItem(f"{self}: no item with store id {store_id}")
        return default

    # -- writing ------------------------------------------------------------------------

    def _insert(self, item: Item) -> None:
        cls = type(item)
        tid = self._type_id(cls)
        d = item.__dict__
        if d.get("store") is not None:
            raise AxiomError(f"{item!r} is already in a store")
        values = [a.store_value(self, d[a.name]) for a in cls.__persistent__]
        sql = _insert_sql(cls)

        def insert() -> None:
            conn = self.connection
            oid = conn.execute("INSERT INTO axiom_objects (type_id) VALUES (?)", (tid,)).lastrowid
            assert oid is not None
            try:
                conn.execute(sql, (oid, *values))
            except BaseException:
                conn.execute("DELETE FROM axiom_objects WHERE oid = ?", (oid,))
                raise
            d["store"] = self
            d["store_id"] = oid
            self._imap[oid] = weakref.ref(item)
            self._undo[-1].append((_CREATED, item))
            if cls.stored is not Item.stored:
                item.stored()

        if self._depth:
            insert()
        else:
            self.transact(insert)

    def _attribute_changed(self, item: Item, attr: Attribute[Any], old: Any, new: Any) -> None:
        sql = f'UPDATE {type(item).__table_name__} SET "{attr.column_name}" = ? WHERE oid = ?'
        self.connection.execute(sql, (attr.store_value(self, new), item.__dict__["store_id"]))
        if self._depth:
            self._undo[-1].append((_SET, item, attr.name, old))

    def batch_insert(self, cls: type[Item], columns: Sequence[Attribute[Any]],
                     rows: Iterable[Sequence[Any]]) -> None:
        """Insert many items of ``cls`` at once, without creating Python objects (no
        ``stored()`` hooks).  Values are checked as assignment checks them."""
        from ._batch import batch_insert

        self._atomically(lambda: batch_insert(self, cls, columns, rows))

    def _delete(self, item: Item) -> None:
        self._atomically(lambda: self._delete_now(item, set()))

    def _delete_now(self, item: Item, deleting: set[int]) -> None:
        d = item.__dict__
        oid = d["store_id"]
        if oid in deleting:
            return
        deleting.add(oid)
        conn = self.connection
        refs = list(self._references_to(item))
        for cls, attr in refs:
            if attr.when_deleted is WhenDeleted.DISALLOW and conn.execute(
                    f'SELECT 1 FROM {cls.__table_name__} WHERE "{attr.column_name}" = ? '
                    "AND oid != ? LIMIT 1", (oid, oid)).fetchone():
                raise DeletionDisallowed(f"{item!r} is still referenced by {attr.qualname}")
        if type(item).deleted is not Item.deleted:
            item.deleted()
        for cls, attr in refs:
            if attr.when_deleted is WhenDeleted.DISALLOW:
                continue
            col = attr.column_name
            oids = [r[0] for r in conn.execute(
                f'SELECT oid FROM {cls.__table_name__} WHERE "{col}" = ?', (oid,))]
            if attr.when_deleted is WhenDeleted.CASCADE:
                for other_oid in oids:
                    other = self.get_item_by_id(other_oid, default=None)
                    if other is not None:
                        self._delete_now(other, deleting)
            else:
                conn.execute(f'UPDATE {cls.__table_name__} SET "{col}" = NULL WHERE "{col}" = ?',
                             (oid,))
                for other_oid in oids:
                    w = self._imap.get(other_oid)
                    other = w() if w is not None else None
                    if other is not None:
                        self._undo[-1].append((_SET, other, attr.name, other.__dict__[attr.name]))
                        other.__dict__[attr.name] = None
        conn.execute(f"DELETE FROM {type(item).__table_name__} WHERE oid = ?", (oid,))
        conn.execute("DELETE FROM axiom_objects WHERE oid = ?", (oid,))
        self._imap.pop(oid, None)
        d["store"] = None
        d["store_id"] = None
        self._undo[-1].append((_DELETED, item, oid))

    def _references_to(self, item: Item) -> Iterable[tuple[type[Item], Any]]:
        """Every (class, reference attribute) in this store that may point at item."""
        for cls in registered_classes():
            if not cls.__references__:
                continue
            if (cls.type_name, cls.schema_version) not in self._stored_types:
                continue
            self._type_id(cls)
            for attr in cls.__references__:
                if attr.reftype is None or isinstance(item, attr.reftype):
                    yield cls, attr

    # -- queries ------------------------------------------------------------------------

    @overload
    def query(self, table_class: type[I], comparison: Comparison | None = None, *,
              sort: Any = None, limit: int | None = None,
              offset: int | None = None) -> ItemQuery[I]: ...

    @overload
    def query(self, table_class: tuple[Any, ...], comparison: Comparison | None = None, *,
              sort: Any = None, limit: int | None = None,
              offset: int | None = None) -> MultipleItemQuery: ...

    @overload
    def query(self, table_class: Any, comparison: Comparison | None = None, *,
              sort: Any = None, limit: int | None = None,
              offset: int | None = None) -> ItemQuery[Any]: ...

    def query(self, table_class: Any, comparison: Comparison | None = None, *,
              sort: Any = None, limit: int | None = None,
              offset: int | None = None) -> ItemQuery[Any] | MultipleItemQuery:
        """A lazy query: items of a class (or tuples, for a tuple of classes) matching
        ``comparison``; iterating it runs exactly one SELECT."""
        from .query import ItemQuery, MultipleItemQuery

        if isinstance(table_class, tuple):
            return MultipleItemQuery(self, table_class, comparison, sort, limit, offset)
        return ItemQuery(self, table_class, comparison, sort, limit, offset)

    def find_first(self, cls: type[I], comparison: Comparison | None = None, *,
                   sort: Any = None) -> I | None:
        """The first matching item, or None."""
        for item in self.query(cls, comparison, sort=sort, limit=1):
            return item
        return None

    def find_unique(self, cls: type[I], comparison: Comparison | None = None,
                    default: Any = _MISSING) -> I:
        """The one matching item; ``ItemNotFound`` (or default) if none, and
        ``DuplicateUniqueItem`` if several."""
        found = list(self.query(cls, comparison, limit=2))
        if len(found) > 1:
            raise DuplicateUniqueItem(f"more than one {cls.__name__} matches")
        if not found:
            if default is _MISSING:
                raise ItemNotFound(f"no {cls.__name__} matches")
            return default  # type: ignore[no-any-return]
        return found[0]

    def find_or_create(self, cls: type[I], **values: Any) -> I:
        """The first item whose attributes equal ``values``, created if there is none."""
        def find_or_create() -> I:
            comparison = AND(*(getattr(cls, k) == v for k, v in values.items()))
            found = self.find_first(cls, comparison)
            return found if found is not None else cls(store=self, **values)

        return self._atomically(find_or_create)

    # -- powerups (implemented in powerup.py) -------------------------------------------

    def power_up(self, item: Item, interface: type, priority: int = 0) -> None:
        """Install ``item`` as a powerup of this store for ``interface``."""
        from . import powerup

        powerup.power_up(self, item, interface, priority)

    def power_down(self, item: Item, interface: type) -> None:
        from . import powerup

        powerup.power_down(self, item, interface)

    def powerups_for(self, interface: type) -> Iterable[Any]:
        """Powerups of this store for ``interface``, highest priority first."""
        from . import powerup

        return powerup.powerups_for(self, interface)

    def interfaces_for(self, item: Item) -> list[Any]:
        from . import powerup

        return powerup.interfaces_for(self, item)

    def in_memory_power_up(self, obj: Any, interface: type, priority: int = 0) -> None:
        """A powerup that is never stored (lost when the store is closed)."""
        from . import powerup

        powerup.in_memory_power_up(self, obj, interface, priority)


class _Dummy:
    """An undo-log entry's target that only marks 'schema changed here'."""


def _insert_sql(cls: type[Item]) -> str:
    sql: str | None = cls.__dict__.get("__insert_sql__")
    if sql is None:
        cols = ", ".join(["oid"] + [f'"{a.column_name}"' for a in cls.__persistent__])
        marks = ", ".join("?" * (len(cls.__persistent__) + 1))
        sql = f"INSERT INTO {cls.__table_name__} ({cols}) VALUES ({marks})"
        type.__setattr__(cls, "__insert_sql__", sql)
    return sql


def _make_loader(store: Store, cls: type[Item]) -> Loader:
    """Build the tight loop that turns result rows into items of ``cls``.

    Why this shape: it is the whole cost of a large query.  A template dict (store,
    in-memory attributes) is copied and updated from ``zip(names, row)`` in C; only
    attributes whose DB form differs from their Python form get a converter; the
    identity map is one dict lookup, holding plain weakrefs swept lazily.
    """
    names = ("store_id", *(a.name for a in cls.__persistent__))
    template: dict[str, Any] = {"store": store}
    for name, attr in cls.__attributes__.items():
        if not attr.persistent:
            template[name] = attr.default
    converters = [(a.name, a.load_value) for a in cls.__persistent__
                  if type(a).converts_on_load()]
    activate = cls.activate if cls.activate is not Item.activate else None
    imap = store._imap
    if _CLoader is not None:
        c_loader = _CLoader(store, cls, names, template, converters, activate, imap)

        def load_c(rows: Iterable[Any]) -> list[Any]:
            store._sweep_identity_map()  # before: the items about to load are all live
            out: list[Any] = c_loader(rows)
            return out

        return load_c
    new = object.__new__
    ref = weakref.ref

    def load(rows: Iterable[Any]) -> list[Any]:
        store._sweep_identity_map()
        out: list[Any] = []
        append = out.append
        get = imap.get
        for row in rows if isinstance(rows, list) else list(rows):  # all fetched first
            w = get(row[0])
            if w is not None:
                item = w()
                if item is not None:
                    append(item)
                    continue
            d = template.copy()
            d.update(zip(names, row))
            for name, conv in converters:
                d[name] = conv(store, d[name])
            item = new(cls)
            item.__dict__ = d
            imap[row[0]] = ref(item)
            if activate is not None:
                activate(item)
            append(item)
        return out

    return load


