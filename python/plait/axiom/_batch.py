"""``Store.batch_insert``: many rows in two C-speed statements.

Why: inserting 100k items one Python object at a time costs far more than SQLite does.
Store ids are allocated as one contiguous range (the writer lock and the open
transaction make that safe), ``axiom_objects`` gets them with one recursive-CTE INSERT,
and the item table with one ``executemany``.  Values are checked column by column, with
a C-speed fast path when a whole column already has the exact expected type.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

from .attributes import Attribute, boolean, ieee754_double, integer, text
from .attributes import bytes as bytes_attr

if TYPE_CHECKING:
    from .item import Item
    from .store import Store

_FAST_TYPES: dict[type, type] = {text: str, integer: int, bytes_attr: bytes, boolean: bool,
                                 ieee754_double: float}
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _check_column(attr: Attribute[Any], col: Sequence[Any]) -> Sequence[Any]:
    fast = _FAST_TYPES.get(type(attr))
    if fast is not None:
        kinds = set(map(type, col))
        if attr.allow_none:
            kinds.discard(type(None))
        if kinds <= {fast}:
            if fast is not int or not kinds:
                return col
            present = [v for v in col if v is not None] if attr.allow_none else col
            if _INT64_MIN <= min(present) and max(present) <= _INT64_MAX:
                return col
    return [attr._checked(v) for v in col]


def batch_insert(store: Store, cls: type[Item], columns: Sequence[Attribute[Any]],
                 rows: Iterable[Sequence[Any]]) -> None:
    tid = store._type_id(cls)
    position: dict[str, int] = {}
    for index, attr in enumerate(columns):
        if cls.__attributes__.get(attr.name) is not attr or not attr.persistent:
            raise TypeError(f"batch_insert({cls.__name__}): {attr!r} is not a stored "
                            f"attribute of {cls.__name__}")
        position[attr.name] = index
    rows = rows if isinstance(rows, list) else list(rows)
    n = len(rows)
    if n == 0:
        return
    try:
        transposed = list(zip(*rows, strict=True))
    except ValueError:
        raise ValueError(f"batch_insert({cls.__name__}): rows differ in length") from None
    if len(transposed) != len(columns):
        raise ValueError(f"batch_insert({cls.__name__}): rows have {len(transposed)} values "
                         f"for {len(columns)} columns")
    db_columns: list[Iterable[Any]] = []
    for attr in cls.__persistent__:
        i = position.get(attr.name)
        if i is None:
            if attr.default_factory is not None:
                values: Sequence[Any] = [attr.initial_value() for _ in range(n)]
            else:
                if attr.default is None and not attr.allow_none:
                    raise TypeError(f"{attr.qualname}: required (may not be None, no default)")
                db_columns.append(repeat(attr.store_value(store, attr.default), n))
                continue
        else:
            values = _check_column(attr, transposed[i])
        if type(attr).converts_on_store():
            values = [attr.store_value(store, v) for v in values]
        db_columns.append(values)
    conn = store.connection
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'axiom_objects'").fetchone()
    start = (row[0] if row else 0) + 1
    end = start + n - 1
    conn.execute("WITH RECURSIVE ids(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM ids "
                 "WHERE x < ?) INSERT INTO axiom_objects (oid, type_id) SELECT x, ? FROM ids",
                 (start, end, tid))
    from .store import _insert_sql

    conn.executemany(_insert_sql(cls), zip(range(start, end + 1), *db_columns))
