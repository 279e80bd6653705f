"""Axiom's errors: one base class, so callers can catch every store problem at once."""
from __future__ import annotations

__all__ = [
    "AxiomError",
    "CorruptStore",
    "DeletionDisallowed",
    "DuplicateUniqueItem",
    "ItemNotFound",
    "NoSuchItem",
    "NoUpgradePathAvailable",
    "NotAStore",
    "SchemaTooNew",
    "StoreLocked",
    "UnsupportedComparison",
]


class AxiomError(Exception):
    """Base of every error ``plait.axiom`` raises on purpose."""


class NoSuchItem(AxiomError, KeyError):
    """``get_item_by_id`` was given a store id that names no item in this store."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "no such item"


class ItemNotFound(AxiomError, LookupError):
    """``find_unique`` matched nothing and no default was given."""


class DuplicateUniqueItem(AxiomError, LookupError):
    """``find_unique`` matched more than one item."""


class DeletionDisallowed(AxiomError):
    """An item is still referenced by a ``reference(when_deleted=DISALLOW)`` attribute."""


class NotAStore(AxiomError):
    """The path exists but is not an Axiom store (a plain file, or a foreign database)."""


class StoreLocked(AxiomError):
    """Another process (or another ``Store`` in this one) holds the store's writer lock."""


class SchemaTooNew(AxiomError):
    """The store was written by newer code: its schema version is above the class's."""


class NoUpgradePathAvailable(AxiomError):
    """An item's stored schema version is older and no upgrader chain reaches the current."""


class CorruptStore(AxiomError):
    """The store's database file is damaged (SQLite cannot read it)."""


class UnsupportedComparison(AxiomError, TypeError):
    """A comparison that this attribute type cannot express in SQL."""
