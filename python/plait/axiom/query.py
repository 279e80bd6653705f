"""Lazy queries: ``store.query(...)`` builds one; iterating it runs exactly one SELECT.

Why lazy: a query object can be refined (``distinct()``, ``get_column()``), counted or
deleted without loading anything, and iterating it always costs one statement whatever
the number of items (the rows are materialised by the store's per-class loader).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from .attributes import Attribute, _decimal, reference
from .comparison import AND, OR, Column, Comparison, Compiler, SortKey, table_of

if TYPE_CHECKING:
    import sqlite3

    from .item import Item
    from .store import Store

I = TypeVar("I", bound="Item")

__all__ = ["AND", "OR", "AttributeQuery", "ItemQuery", "MultipleItemQuery"]


def _sort_keys(sort: Any) -> list[SortKey]:
    if sort is None:
        return []
    keys = list(sort) if isinstance(sort, (list, tuple)) else [sort]
    for key in keys:
        if not isinstance(key, SortKey):
            raise TypeError(f"sort= takes attr.ascending / attr.descending, got {key!r}")
    return keys


class _Query:
    """What every query shares: sources, condition, order, window."""

    def __init__(self, store: Store, sources: Sequence[Any], comparison: Comparison | None,
                 sort: Any, limit: int | None, offset: int | None,
                 is_distinct: bool = False) -> None:
        if comparison is not None and not isinstance(comparison, Comparison):
            raise TypeError(f"a query takes a comparison, got {type(comparison).__name__}")
        for source in sources:
            store._type_id(table_of(source))
        self.store = store
        self.sources = tuple(sources)
        self.comparison = comparison
        self.sort = _sort_keys(sort)
        self.limit = limit
        self.offset = offset
        self.is_distinct = is_distinct

    def _select(self, columns: Any, c: Compiler | None = None, *, window: bool = True,
                distinct: bool | None = None) -> tuple[str, list[Any]]:
        """``SELECT <columns(c)> FROM ... WHERE ... ORDER BY ... LIMIT ...`` and its args."""
        c = c or Compiler()
        for source in self.sources:
            c.alias(source)
        head = columns(c) if callable(columns) else columns
        where = self.comparison.compile(c) if self.comparison is not None else ""
        order = ", ".join(k.compile(c) for k in self.sort)
        use_distinct = self.is_distinct if distinct is None else distinct
        sql = [f"SELECT {'DISTINCT ' if use_distinct else ''}{head} FROM {c.from_clause()}"]
        if where:
            sql.append(f"WHERE {where}")
        if order:
            sql.append(f"ORDER BY {order}")
        if window and (self.limit is not None or self.offset is not None):
            sql.append("LIMIT ? OFFSET ?")
            c.args.extend([-1 if self.limit is None else self.limit, self.offset or 0])
        return " ".join(sql), c.args

    def _item_columns(self, c: Compiler, source: Any) -> str:
        alias = c.alias(source)
        cls = table_of(source)
        return ", ".join([f"{alias}.oid"] + [f'{alias}."{a.column_name}"'
                                             for a in cls.__persistent__])

    def _clone(self, **changes: Any) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(changes)
        return clone

    def distinct(self) -> Self:
        """The same query without duplicate results (joins can repeat items)."""
        return self._clone(is_distinct=True)

    def count(self) -> int:
        """How many results iterating would give (one SELECT COUNT)."""
        if self.limit is None and self.offset is None and not self.is_distinct:
            sql, args = self._select("COUNT(*)")
        else:
            inner, args = self._select(self._count_columns)
            sql = f"SELECT COUNT(*) FROM ({inner})"
        return int(self.store.connection.execute(sql, args).fetchone()[0])

    def _count_columns(self, c: Compiler) -> str:
        return ", ".join(f"{c.alias(s)}.oid" for s in self.sources)


class ItemQuery(_Query, Generic[I]):
    """Items of one class (or Placeholder) matching a comparison."""

    def __init__(self, store: Store, source: Any, comparison: Comparison | None = None,
                 sort: Any = None, limit: int | None = None, offset: int | None = None) -> None:
        super().__init__(store, (source,), comparison, sort, limit, offset)
        self.source = source

    def _cursor(self) -> sqlite3.Cursor:
        sql, args = self._select(lambda c: self._item_columns(c, self.source))
        return self.store.connection.execute(sql, args)

    def __iter__(self) -> Iterator[I]:
        loader = self.store._loader(table_of(self.source))
        # the cursor, not its rows: the loader fetches them with the cyclic GC paused
        return iter(loader(self._cursor()))

    def get_column(self, attribute: Column) -> AttributeQuery:
        """The values of one attribute of the matching items (and aggregates of them)."""
        return AttributeQuery(self, attribute)

    def delete(self) -> None:
        """Delete every matching item (hooks and ``when_deleted`` honoured)."""
        def delete_all() -> None:
            for item in list(self):
                if item.store is self.store:
                    item.delete_from_store()

        self.store._atomically(delete_all)

    def paginate(self, page_size: int = 100) -> Iterator[I]:
        """Every matching item, fetched ``page_size`` at a time (one SELECT per page), in
        the query's order with the store id as tie-break, so pages never overlap."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        cls_id = self.source.store_id if hasattr(self.source, "store_id") else None
        sort = list(self.sort) + ([cls_id.ascending] if cls_id is not None else [])
        start = self.offset or 0
        remaining = self.limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            page = list(self._clone(sort=sort, limit=size, offset=start))
            yield from page
            if len(page) < size:
                return
            start += size
            if remaining is not None:
                remaining -= size


class MultipleItemQuery(_Query):
    """Tuples of items, one per class (or Placeholder) given: a join."""

    def __init__(self, store: Store, sources: tuple[Any, ...],
                 comparison: Comparison | None = None, sort: Any = None,
                 limit: int | None = None, offset: int | None = None) -> None:
        if not sources:
            raise TypeError("a tuple query needs at least one class")
        super().__init__(store, sources, comparison, sort, limit, offset)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        sql, args = self._select(
            lambda c: ", ".join(self._item_columns(c, s) for s in self.sources))
        rows = self.store.connection.execute(sql, args).fetchall()
        spans = []
        start = 0
        for source in self.sources:
            cls = table_of(source)
            width = len(cls.__persistent__) + 1
            spans.append((self.store._loader(cls), start, start + width))
            start += width
        columns = [loader([row[a:b] for row in rows]) for loader, a, b in spans]
        return iter(list(zip(*columns)))


class AttributeQuery:
    """One attribute's values over a query: iterate, or ask for an aggregate."""

    def __init__(self, query: ItemQuery[Any], attribute: Column, is_distinct: bool = False) -> None:
        self.query = query
        self.attribute = attribute
        self.is_distinct = is_distinct

    def distinct(self) -> AttributeQuery:
        return AttributeQuery(self.query, self.attribute, True)

    def _convert(self, value: Any) -> Any:
        attr = self.attribute
        if value is None:
            return None
        if isinstance(attr, reference):
            return self.query.store.get_item_by_id(value, default=None)
        if isinstance(attr, Attribute):
            return attr.load_value(self.query.store, value)
        return value

    def __iter__(self) -> Iterator[Any]:
        sql, args = self.query._select(self.attribute.sql, distinct=self.is_distinct)
        rows = self.query.store.connection.execute(sql, args).fetchall()
        if isinstance(self.attribute, Attribute) and (
                isinstance(self.attribute, reference) or type(self.attribute).converts_on_load()):
            return iter([self._convert(r[0]) for r in rows])
        return iter([r[0] for r in rows])

    def _aggregate(self, function: str) -> Any:
        inner, args = self.query._select(lambda c: f"{self.attribute.sql(c)} AS v",
                                         distinct=self.is_distinct)
        sql = f"SELECT {function}(v) FROM ({inner})"
        return self.query.store.connection.execute(sql, args).fetchone()[0]

    def sum(self) -> Any:
        """The sum (0 for no rows; a Decimal for decimal attributes)."""
        value = self._aggregate("SUM")
        if value is None:
            return 0
        if isinstance(self.attribute, _decimal):
            return Decimal(int(value)).scaleb(-self.attribute.places)
        return value

    def average(self) -> Any:
        """The mean, or None for no rows (a Decimal for decimal attributes)."""
        value = self._aggregate("AVG")
        if value is None or not isinstance(self.attribute, _decimal):
            return value
        return Decimal(value).scaleb(-self.attribute.places)

    def min(self) -> Any:
        return self._convert(self._aggregate("MIN"))

    def max(self) -> Any:
        return self._convert(self._aggregate("MAX"))

    def count(self) -> int:
        """How many non-None values."""
        return int(self._aggregate("COUNT"))


