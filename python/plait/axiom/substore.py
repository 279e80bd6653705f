"""Substores: a store inside a store, e.g. one SQLite file per user.

Why: in Divmod each user's data lives in its own store, reachable from the site store
through a :class:`SubStore` item; a user can be moved between sites by moving one
directory, and one user's writes never lock another's.  ::

    sub = SubStore.create_new(site, ["account", "example.com", "ann.axiom"])
    user_store = sub.open()          # the child Store (cached: the same object next time)
    user_store.parent is site        # True
    site.close()                     # closes the open children too

The child lives in ``<parent files dir>/<path segments...>`` and ``store_path`` records
that directory relative to the parent's files directory, so the site directory can move.
An in-memory parent gets in-memory children (kept open for as long as the parent).
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plait.axiom.attributes import path
from plait.axiom.errors import AxiomError
from plait.axiom.item import Item
from plait.axiom.store import Store

__all__ = ["SubStore", "close_substores", "open_substores", "substore_item_for"]

#: The open children of each parent: parent store -> {SubStore store id: child Store}.
_children: weakref.WeakKeyDictionary[Any, dict[int, Store]] = weakref.WeakKeyDictionary()
#: Parents whose ``close`` already closes their children.
_hooked: weakref.WeakSet[Store] = weakref.WeakSet()


class SubStore(Item):
    """An item in a parent store standing for a child store on disk."""

    type_name = "axiom_substore"
    schema_version = 1

    store_path = path(doc="the child store's directory (None: an in-memory child)")

    @classmethod
    def create_new(cls, store: Store, path_segments: Sequence[str]) -> SubStore:
        """Create a child store under ``store``'s files directory at ``path_segments``.

        ``ValueError`` for empty or unsafe segments (``..``, separators, absolute);
        :class:`~plait.axiom.errors.AxiomError` if something already exists there.
        For an in-memory ``store`` the child is in memory and ``path_segments`` only
        names it.
        """
        segments = _check_segments(path_segments)
        if _files_dir(store) is None:
            sub = cls(store=store, store_path=None)
            _attach(store, sub, Store(parent=store))
            return sub
        target = Path(_files_dir(store)).joinpath(*segments)
        if target.exists():
            raise AxiomError(f"cannot create a substore at {target}: it already exists")
        directory = store.new_file_path(*segments)
        sub = cls(store=store, store_path=Path(directory))
        sub.open()
        return sub

    def open(self) -> Store:
        """The child :class:`~plait.axiom.store.Store`, opened once and then cached."""
        parent = self.store
        if parent is None:
            raise AxiomError(f"{self!r} is not in a store")
        opened = _children.setdefault(parent, {})
        child = opened.get(self.store_id)
        if child is not None:
            return child
        if self.store_path is None:
            raise AxiomError(
                f"{self!r} is an in-memory substore that is gone "
                "(in-memory children live only as long as their parent's process)"
            )
        child = Store(Path(self.store_path), parent=parent)
        _attach(parent, self, child)
        return child

    def close(self) -> None:
        """Close the child store if it is open (the next ``open()`` reopens it)."""
        parent = self.store
        if parent is None:
            return
        child = _children.get(parent, {}).pop(self.store_id, None)
        if child is not None:
            child.close()

    def deleted(self) -> None:
        """Close the child when this item is deleted (its files are left on disk)."""
        self.close()

    def __repr__(self) -> str:
        return f"<SubStore {self.store_id} {self.store_path}>"


def _files_dir(store: Any) -> Any:
    return getattr(store, "files_dir", None) if getattr(store, "path", None) else None


def _check_segments(path_segments: Sequence[str]) -> list[str]:
    if isinstance(path_segments, str):
        path_segments = [path_segments]
    segments = [str(s) for s in path_segments]
    if not segments:
        raise ValueError("a substore needs at least one path segment")
    for seg in segments:
        if seg in ("", ".", "..") or "/" in seg or "\\" in seg or "\x00" in seg:
            raise ValueError(f"bad substore path segment: {seg!r}")
    return segments


def _attach(parent: Store, sub: SubStore, child: Store) -> None:
    child.parent = parent
    _children.setdefault(parent, {})[sub.store_id] = child
    _close_children_with(parent)


def _close_children_with(parent: Store) -> None:
    """Make ``parent.close()`` close its open children first.

    ``Store`` has no close hook, so this shadows ``close`` on the parent instance (once)
    with a function that closes the children and then calls ``Store.close``.
    """
    if parent in _hooked:
        return
    _hooked.add(parent)
    ref = weakref.ref(parent)  # no cycle: the instance attribute does not hold parent
    store_close = type(parent).close

    def close() -> None:
        store = ref()
        if store is None:  # pragma: no cover - close() called on a collected store
            return
        try:
            close_substores(store)
        finally:
            store_close(store)

    close.__doc__ = store_close.__doc__
    parent.close = close  # type: ignore[method-assign]


def substore_item_for(child: Store) -> SubStore | None:
    """The SubStore item (in ``child.parent``) that ``child`` was opened through, or None."""
    parent = child.parent
    if parent is None:
        return None
    for sub_id, opened in _children.get(parent, {}).items():
        if opened is child:
            item = parent.get_item_by_id(sub_id, default=None)
            return item if isinstance(item, SubStore) else None
    return None


def open_substores(parent: Any) -> list[Store]:
    """The children of ``parent`` that are open now."""
    return list(_children.get(parent, {}).values())


def close_substores(parent: Any) -> None:
    """Close every open child of ``parent`` (called when the parent closes)."""
    opened = _children.pop(parent, {})
    for child in opened.values():
        child.close()  # closes its own children first
