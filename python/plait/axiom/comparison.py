"""Comparisons and sort keys: the small SQL expression language queries are built from.

Why a module of its own: attributes build comparisons (``Person.age > 3``), queries compile
them, and placeholders rebind them to another table alias; none of those should know the
others' internals.  Everything here compiles to a SQL fragment with ``?`` parameters, so a
query is always exactly one statement.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import UnsupportedComparison

if TYPE_CHECKING:
    from .item import Item

__all__ = ["AND", "OR", "Column", "Comparison", "Compiler", "SortKey", "table_of"]


def table_of(source: Any) -> type[Item]:
    """The item class behind a query source (an Item class or a ``Placeholder``)."""
    cls = getattr(source, "_placeholder_class", None)
    return cls if cls is not None else source  # type: ignore[no-any-return]


class Compiler:
    """Collects table aliases and parameters while one query's SQL is built."""

    def __init__(self) -> None:
        self.aliases: dict[int, str] = {}
        self.sources: list[tuple[str, Any]] = []
        self.args: list[Any] = []

    def alias(self, source: Any) -> str:
        """The alias of a class or Placeholder in this query, adding it to FROM if new."""
        key = id(source)
        alias = self.aliases.get(key)
        if alias is None:
            alias = f"t{len(self.sources)}"
            self.aliases[key] = alias
            self.sources.append((alias, source))
        return alias

    def from_clause(self) -> str:
        return ", ".join(f"{table_of(src).__table_name__} AS {alias}"
                         for alias, src in self.sources)


class Comparison(ABC):
    """A SQL condition; combine with ``AND`` / ``OR`` and pass to ``store.query``."""

    @abstractmethod
    def compile(self, c: Compiler) -> str:
        """The SQL text of this condition, its parameters added to ``c``."""

    def __bool__(self) -> bool:
        raise TypeError("a comparison has no truth value: pass it to store.query(), "
                        "combine with AND()/OR(), and use 'is' to compare attributes")

    def __and__(self, other: Comparison) -> Comparison:
        return AND(self, other)

    def __or__(self, other: Comparison) -> Comparison:
        return OR(self, other)


class _Binary(Comparison):
    def __init__(self, column: Column, op: str, value: Any) -> None:
        self.column, self.op, self.value = column, op, value
        if not isinstance(value, Column):  # converted now, so a bad value fails here
            self.param = column.to_param(value)

    def compile(self, c: Compiler) -> str:
        left = self.column.sql(c)
        if isinstance(self.value, Column):
            return f"{left} {self.op} {self.value.sql(c)}"
        c.args.append(self.param)
        return f"{left} {self.op} ?"


class _Null(Comparison):
    def __init__(self, column: Column, negate: bool) -> None:
        self.column, self.negate = column, negate

    def compile(self, c: Compiler) -> str:
        return f"{self.column.sql(c)} IS {'NOT ' if self.negate else ''}NULL"


class _In(Comparison):
    def __init__(self, column: Column, values: Iterable[Any], negate: bool) -> None:
        self.column, self.negate = column, negate
        self.values = [column.to_param(v) for v in values]

    def compile(self, c: Compiler) -> str:
        if not self.values:
            return "1" if self.negate else "0"
        c.args.extend(self.values)
        marks = ", ".join("?" * len(self.values))
        return f"{self.column.sql(c)} {'NOT ' if self.negate else ''}IN ({marks})"


class _Pattern(Comparison):
    def __init__(self, column: Column, op: str, pattern: Any) -> None:
        self.column, self.op, self.pattern = column, op, pattern

    def compile(self, c: Compiler) -> str:
        c.args.append(self.pattern)
        return f"{self.column.sql(c)} {self.op} ?"


class _Const(Comparison):
    def __init__(self, value: bool) -> None:
        self.value = value

    def compile(self, c: Compiler) -> str:
        return "1" if self.value else "0"


class _Junction(Comparison):
    def __init__(self, op: str, parts: tuple[Comparison, ...]) -> None:
        for part in parts:
            if not isinstance(part, Comparison):
                raise TypeError(f"{op}() takes comparisons, got {type(part).__name__}")
        self.op, self.parts = op, parts

    def compile(self, c: Compiler) -> str:
        if not self.parts:
            return "1" if self.op == "AND" else "0"
        return "(" + f" {self.op} ".join(p.compile(c) for p in self.parts) + ")"


def AND(*comparisons: Comparison) -> Comparison:
    """All of the comparisons hold (true when given none)."""
    return _Junction("AND", comparisons)


def OR(*comparisons: Comparison) -> Comparison:
    """Any of the comparisons holds (false when given none)."""
    return _Junction("OR", comparisons)


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


class SortKey:
    """``attr.ascending`` / ``attr.descending``: one ORDER BY term."""

    def __init__(self, column: Column, direction: str) -> None:
        self.column, self.direction = column, direction

    def compile(self, c: Compiler) -> str:
        return f"{self.column.sql(c)} {self.direction}"


class Column:
    """Something stored in a SQL column (an attribute or an item's ``store_id``).

    Its Python operators build comparisons instead of answering them, as in Divmod Axiom;
    ``source`` is the class (or ``Placeholder``) whose table holds the column.
    """

    source: Any = None
    column_name: str = "oid"
    name: str = "store_id"

    def sql(self, c: Compiler) -> str:
        if self.source is None:
            raise TypeError(f"{self!r} is not bound to an item class")
        return f'{c.alias(self.source)}."{self.column_name}"'

    def to_param(self, value: Any) -> Any:
        """A Python value as the database stores it, for a query parameter."""
        return value

    def bound_to(self, source: Any) -> Column:
        """This column seen through another source (a Placeholder: a self-join alias)."""
        clone = copy.copy(self)
        clone.source = source
        return clone

    def __eq__(self, other: object) -> Comparison:  # type: ignore[override]
        return _Null(self, False) if other is None else _Binary(self, "=", other)

    def __ne__(self, other: object) -> Comparison:  # type: ignore[override]
        return _Null(self, True) if other is None else _Binary(self, "!=", other)

    def __lt__(self, other: Any) -> Comparison:
        return _Binary(self, "<", other)

    def __le__(self, other: Any) -> Comparison:
        return _Binary(self, "<=", other)

    def __gt__(self, other: Any) -> Comparison:
        return _Binary(self, ">", other)

    def __ge__(self, other: Any) -> Comparison:
        return _Binary(self, ">=", other)

    __hash__ = object.__hash__

    def one_of(self, values: Iterable[Any]) -> Comparison:
        return _In(self, values, False)

    def not_one_of(self, values: Iterable[Any]) -> Comparison:
        return _In(self, values, True)

    def like(self, pattern: str) -> Comparison:
        """SQL LIKE: ``%`` and ``_`` wildcards, case-insensitive for ASCII letters."""
        return _Pattern(self, "LIKE", pattern)

    def not_like(self, pattern: str) -> Comparison:
        return _Pattern(self, "NOT LIKE", pattern)

    def startswith(self, prefix: str) -> Comparison:
        """Case-sensitive prefix match (GLOB, so an index on the column can serve it)."""
        self._need_text("startswith")
        return _Pattern(self, "GLOB", _glob_escape(prefix) + "*")

    def endswith(self, suffix: str) -> Comparison:
        self._need_text("endswith")
        return _Pattern(self, "GLOB", "*" + _glob_escape(suffix))

    def is_none(self) -> Comparison:
        return _Null(self, False)

    def is_not_none(self) -> Comparison:
        return _Null(self, True)

    @property
    def ascending(self) -> SortKey:
        return SortKey(self, "ASC")

    @property
    def descending(self) -> SortKey:
        return SortKey(self, "DESC")

    def _need_text(self, what: str) -> None:
        if getattr(self, "sql_type", "TEXT") != "TEXT":
            raise UnsupportedComparison(f"{what}() needs a text column, not {self!r}")


TRUE: Comparison = _Const(True)
