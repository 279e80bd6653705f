"""Axiom: an object store on SQLite (Divmod Axiom for today's Python).

Items are Python classes with typed attributes (``plait.axiom.attributes``) living in a
``Store``; queries load many at a time with one SELECT.  See docs/axiom-api.md.
"""
from .errors import (
    AxiomError,
    CorruptStore,
    DeletionDisallowed,
    DuplicateUniqueItem,
    ItemNotFound,
    NoSuchItem,
    NotAStore,
    NoUpgradePathAvailable,
    SchemaTooNew,
    StoreLocked,
    UnsupportedComparison,
)
from .item import Item, Placeholder, declare_legacy_item
from .query import AND, OR
from .store import Store

__all__ = [
    "AND",
    "OR",
    "AxiomError",
    "CorruptStore",
    "DeletionDisallowed",
    "DuplicateUniqueItem",
    "Item",
    "ItemNotFound",
    "NoSuchItem",
    "NoUpgradePathAvailable",
    "NotAStore",
    "Placeholder",
    "SchemaTooNew",
    "Store",
    "StoreLocked",
    "UnsupportedComparison",
    "declare_legacy_item",
]
