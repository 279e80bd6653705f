"""Axiom's object store beside raw ``sqlite3``, SQLAlchemy 2 ORM and peewee: one 100k workload.

Every implementation stores the same objects — ``name`` text (indexed, 5 rows per name),
``age`` integer, ``score`` float, ``flag`` boolean — in its own SQLite file under one temporary
directory, with the same pragmas (``PRAGMAS``: WAL, ``synchronous=NORMAL``) applied the way each
library allows (raw: ``PRAGMA`` on the connection; SQLAlchemy: a ``connect`` event; peewee:
``SqliteDatabase(pragmas=...)``; Axiom: its own ``Store`` setup — which defaults to
``synchronous=FULL`` — then the same pragmas on ``store.connection``). The pragmas in force are
checked on every side (``_check_pragmas``). All sides use the same ``sqlite3`` module and
SQLite library. Timing is process CPU time, so fsync waits would not count anyway.

Axiom stores each item as one row in its type's table plus one row in ``axiom_objects`` (store
ids are global across types), so an Axiom insert writes two rows where the peers write one:
that is the cost of its model, and it is measured.

Groups (a round is one fixed batch through ``benchmark.pedantic``; setup is never timed):

``axiom-insert-batch``
    ``N`` objects in one transaction into a fresh, empty database (schema created in setup):
    Axiom ``store.batch_insert(Cls, columns, rows)`` inside ``store.transact``; raw
    ``executemany``; SQLAlchemy's ORM bulk INSERT ``session.execute(insert(Cls), dicts)`` (the
    2.0 bulk path; the dicts are built once, untimed, which favours SQLAlchemy); peewee
    ``insert_many`` in chunks of ``PEEWEE_CHUNK`` rows inside ``db.atomic()`` (SQLite's
    bound-variable limit forbids one statement of 100k rows; peewee's docs chunk the same way).
``axiom-insert-each``
    ``N`` objects created one at a time in one transaction: ``Cls(store=s, ...)`` in
    ``store.transact`` (each is INSERTed at once); raw ``execute`` per row; SQLAlchemy
    ``session.add(Cls(...))`` per row then one commit (its unit of work flushes them together,
    as a user's code would); peewee ``Cls.create(...)`` per row in ``db.atomic()``.
``axiom-load``
    All ``N`` objects loaded by one query into objects. Each round starts from a fresh
    connection (and so a cold SQLite page cache and an empty identity map): Axiom a newly
    opened ``Store`` (the previous one closed), ``list(store.query(Cls))``; raw a new
    connection, ``fetchall`` into ``__slots__`` objects (``flag`` turned into ``bool`` as every
    ORM does); SQLAlchemy a new ``Session`` after ``engine.dispose()`` (a new connection),
    ``session.scalars(select(Cls)).all()``; peewee reconnected, ``list(Cls.select())``.
``axiom-query-indexed``
    ``N_QUERIES`` queries by the indexed ``name`` (each returns 5 objects), a different name
    each, all materialised. One connection per implementation for the whole group; SQLAlchemy a
    fresh ``Session`` per round. Nothing from one query is kept, so no identity map serves it.

Throughput is objects/s (queries/s for the last group) by process CPU time (run.py's timer).
The objects a load round returns are freed untimed (pytest-benchmark keeps a round's result
until the next round has run), the same for every side.
``--quick`` (``PLAIT_BENCH_QUICK=1``) uses ``QUICK_N`` objects.
"""
from __future__ import annotations

import importlib
import itertools
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _harness import record, size

N = size(100_000, 2_000)
PER_NAME = 5
DISTINCT = N // PER_NAME
N_QUERIES = size(1_000, 100)
BIG_ROUNDS = size(3, 2)      # rounds of the N-object insert groups
EACH_ROUNDS = size(2, 2)     # one-at-a-time inserts: 5-10 s a round for the ORMs
LOAD_ROUNDS = size(5, 2)     # after one untimed checked load, which also warms up
QUERY_ROUNDS = size(5, 2)
PEEWEE_CHUNK = 1_000         # 4 bound variables a row: 4,000 a statement, under SQLite's 32,766

PRAGMAS: dict[str, str] = {"journal_mode": "wal", "synchronous": "NORMAL"}
# what PRAGMA returns for each setting once applied
PRAGMA_VALUES: dict[str, Any] = {"journal_mode": "wal", "synchronous": 1}


def _name(i: int) -> str:
    return f"name{i % DISTINCT:06d}"


# (name, age, score, flag) for object i; the same tuples go to every implementation
ROWS: list[tuple[str, int, float, bool]] = [
    (_name(i), i % 90, i * 0.25, i % 3 == 0) for i in range(N)
]
COLUMNS = ("name", "age", "score", "flag")
# a different name for each query, spread over the whole index (1009 is prime, DISTINCT 2^a 5^b)
QUERY_NAMES: list[str] = [_name((j * 1009) % DISTINCT) for j in range(N_QUERIES)]
assert len(set(QUERY_NAMES)) == N_QUERIES


def _record(benchmark: Any, impl: str, n: int = N, unit: str = "objects") -> None:
    record(benchmark, impl, per_round=n, unit=unit)


def _check_objects(objs: list[Any], n: int = N) -> None:
    """Spot-check that ``objs`` are the workload's objects, fully materialised."""
    assert len(objs) == n, f"expected {n} objects, got {len(objs)}"
    by_score = {o.score: o for o in objs}
    for i in (0, 1, n // 2, n - 1):
        o = by_score[i * 0.25]
        got = (o.name, o.age, o.score, o.flag)
        assert got == ROWS[i], f"object {i}: {got!r} != {ROWS[i]!r}"
        assert type(o.flag) is bool, f"flag is {type(o.flag).__name__}, not bool"


def _check_pragmas(con: sqlite3.Connection | Any) -> None:
    for pragma, want in PRAGMA_VALUES.items():
        got = con.execute(f"PRAGMA {pragma}").fetchone()[0]
        assert got == want, f"PRAGMA {pragma} is {got!r}, wanted {want!r}"


class _Dirs:
    """Fresh directories under one temporary directory.

    ``fresh(kind)`` first closes what was opened on the previous directory of that kind
    (``closers[kind]``), then removes it: closing (a WAL checkpoint) is never timed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counter = itertools.count()
        self.last: dict[str, Path] = {}
        self.closers: dict[str, Callable[[], Any]] = {}

    def close(self, kind: str) -> None:
        closer = self.closers.pop(kind, None)
        if closer is not None:
            closer()

    def fresh(self, kind: str) -> Path:
        self.close(kind)
        old = self.last.pop(kind, None)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        path = self.root / f"{kind}-{next(self.counter)}"
        path.mkdir()
        self.last[kind] = path
        return path

    def close_all(self) -> None:
        for kind in list(self.closers):
            self.close(kind)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Dirs]:
    d = _Dirs(tmp_path_factory.mktemp("axiom-bench"))
    yield d
    d.close_all()


def _insert_rounds(benchmark: Any, dirs: _Dirs, fresh: Callable[[], Any],
                   run: Callable[[Any], Any], check: Callable[[Any], None],
                   rounds: int = BIG_ROUNDS) -> None:
    """Each round: ``fresh()`` (untimed) makes an empty database, ``run(db)`` is timed.

    The last round's database is then checked (all ``N`` objects, right values).
    """
    last: list[Any] = []

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        last[:] = [fresh()]
        return (last[0],), {}

    try:
        benchmark.pedantic(run, setup=setup, rounds=rounds, iterations=1)
        check(last[0])
    finally:
        dirs.close_all()


# ====================================================================== raw sqlite3

RAW_SCHEMA = (
    ("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER,"
     " score REAL, flag INTEGER)"),
    "CREATE INDEX item_name ON item (name)",
)
RAW_INSERT = "INSERT INTO item (name, age, score, flag) VALUES (?, ?, ?, ?)"
RAW_SELECT = "SELECT id, name, age, score, flag FROM item"
RAW_SELECT_NAME = RAW_SELECT + " WHERE name = ?"


class RawItem:
    __slots__ = ("age", "flag", "id", "name", "score")

    def __init__(self, id: int, name: str, age: int, score: float, flag: int) -> None:
        self.id = id
        self.name = name
        self.age = age
        self.score = score
        self.flag = bool(flag)


def _raw_connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path / "db.sqlite")
    for pragma, value in PRAGMAS.items():
        con.execute(f"PRAGMA {pragma}={value}")
    return con


def _raw_fresh(dirs: _Dirs) -> sqlite3.Connection:
    con = _raw_connect(dirs.fresh("raw"))
    dirs.closers["raw"] = con.close
    with con:
        for sql in RAW_SCHEMA:
            con.execute(sql)
    _check_pragmas(con)
    return con


def _raw_load(con: sqlite3.Connection) -> list[RawItem]:
    return [RawItem(*row) for row in con.execute(RAW_SELECT).fetchall()]


def _raw_check(con: sqlite3.Connection) -> None:
    _check_objects(_raw_load(con))


@pytest.fixture(scope="module")
def raw_db(dirs: _Dirs) -> Iterator[Path]:
    con = _raw_fresh(dirs)
    with con:
        con.executemany(RAW_INSERT, ROWS)
    dirs.close("raw")
    path = dirs.last.pop("raw")  # kept for the whole module
    yield path


@pytest.mark.benchmark(group="axiom-insert-batch")
def test_insert_batch_sqlite3(benchmark: Any, dirs: _Dirs) -> None:
    def run(con: sqlite3.Connection) -> None:
        with con:
            con.executemany(RAW_INSERT, ROWS)

    _record(benchmark, "sqlite3")
    _insert_rounds(benchmark, dirs, lambda: _raw_fresh(dirs), run, _raw_check)


@pytest.mark.benchmark(group="axiom-insert-each")
def test_insert_each_sqlite3(benchmark: Any, dirs: _Dirs) -> None:
    def run(con: sqlite3.Connection) -> None:
        execute = con.execute
        with con:
            for row in ROWS:
                execute(RAW_INSERT, row)

    _record(benchmark, "sqlite3")
    _insert_rounds(benchmark, dirs, lambda: _raw_fresh(dirs), run, _raw_check,
                   EACH_ROUNDS)


@pytest.mark.benchmark(group="axiom-load")
def test_load_sqlite3(benchmark: Any, raw_db: Path) -> None:
    cons: list[sqlite3.Connection] = []

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        while cons:
            cons.pop().close()
        cons.append(_raw_connect(raw_db))
        return (cons[-1],), {}

    _check_objects(_raw_load(setup()[0][0]))
    _record(benchmark, "sqlite3")
    benchmark.pedantic(_raw_load, setup=setup, rounds=LOAD_ROUNDS)
    while cons:
        cons.pop().close()


@pytest.mark.benchmark(group="axiom-query-indexed")
def test_query_indexed_sqlite3(benchmark: Any, raw_db: Path) -> None:
    con = _raw_connect(raw_db)
    plan = " ".join(str(r[-1]) for r in con.execute("EXPLAIN QUERY PLAN " + RAW_SELECT_NAME, ("x",)))
    assert "item_name" in plan, plan

    def run() -> int:
        found = 0
        execute = con.execute
        for name in QUERY_NAMES:
            found += len([RawItem(*row) for row in execute(RAW_SELECT_NAME, (name,)).fetchall()])
        return found

    assert run() == N_QUERIES * PER_NAME
    _record(benchmark, "sqlite3", N_QUERIES, "queries")
    benchmark.pedantic(run, rounds=QUERY_ROUNDS)
    con.close()


# ====================================================================== SQLAlchemy 2 ORM


def _sa() -> Any:
    """The SQLAlchemy model class (built once, on first use)."""
    global _SA_MODEL
    if _SA_MODEL is None:
        sa = pytest.importorskip("sqlalchemy")
        from sqlalchemy.orm import DeclarativeBase, mapped_column

        class Base(DeclarativeBase):
            pass

        class SAItem(Base):
            __tablename__ = "item"
            # not annotated: this module's `from __future__ import annotations` would hide
            # Mapped[...] from SQLAlchemy; the columns are the same either way
            id = mapped_column(sa.Integer, primary_key=True)
            name = mapped_column(sa.Text, index=True, nullable=False)
            age = mapped_column(sa.Integer)
            score = mapped_column(sa.Float)
            flag = mapped_column(sa.Boolean)

        _SA_MODEL = SAItem
    return _SA_MODEL


_SA_MODEL: Any = None


def _sa_engine(path: Path) -> Any:
    import sqlalchemy as sa

    # its default pool: a Session's end returns the connection to the pool, so the SQLite
    # connection is closed (and the WAL checkpointed) by engine.dispose(), outside timing
    engine = sa.create_engine(f"sqlite:///{path / 'db.sqlite'}")

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_con: Any, _record: Any) -> None:
        for pragma, value in PRAGMAS.items():
            dbapi_con.execute(f"PRAGMA {pragma}={value}")

    return engine


def _sa_fresh(dirs: _Dirs) -> Any:
    model = _sa()
    engine = _sa_engine(dirs.fresh("sqlalchemy"))
    dirs.closers["sqlalchemy"] = engine.dispose
    model.metadata.create_all(engine)
    with engine.connect() as con:
        _check_pragmas(con.connection.dbapi_connection)
    return engine


def _sa_load(session: Any) -> list[Any]:
    from sqlalchemy import select

    return list(session.scalars(select(_sa())).all())


def _sa_check(engine: Any) -> None:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        _check_objects(_sa_load(session))


def _sa_dicts() -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row)) for row in ROWS]


@pytest.fixture(scope="module")
def sa_db(dirs: _Dirs) -> Iterator[Any]:
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    engine = _sa_fresh(dirs)
    with Session(engine) as session, session.begin():
        session.execute(insert(_sa()), _sa_dicts())
    dirs.closers.pop("sqlalchemy")
    dirs.last.pop("sqlalchemy")
    yield engine
    engine.dispose()


@pytest.mark.benchmark(group="axiom-insert-batch")
def test_insert_batch_sqlalchemy(benchmark: Any, dirs: _Dirs) -> None:
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    model = _sa()
    dicts = _sa_dicts()

    def run(engine: Any) -> None:
        with Session(engine) as session, session.begin():
            session.execute(insert(model), dicts)

    _record(benchmark, "sqlalchemy")
    _insert_rounds(benchmark, dirs, lambda: _sa_fresh(dirs), run, _sa_check)


@pytest.mark.benchmark(group="axiom-insert-each")
def test_insert_each_sqlalchemy(benchmark: Any, dirs: _Dirs) -> None:
    from sqlalchemy.orm import Session

    model = _sa()

    def run(engine: Any) -> None:
        with Session(engine) as session, session.begin():
            add = session.add
            for name, age, score, flag in ROWS:
                add(model(name=name, age=age, score=score, flag=flag))

    _record(benchmark, "sqlalchemy")
    _insert_rounds(benchmark, dirs, lambda: _sa_fresh(dirs), run, _sa_check,
                   EACH_ROUNDS)


@pytest.mark.benchmark(group="axiom-load")
def test_load_sqlalchemy(benchmark: Any, sa_db: Any) -> None:
    from sqlalchemy.orm import Session

    sessions: list[Any] = []

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        while sessions:
            sessions.pop().close()
        sa_db.dispose()  # a new SQLite connection for each round, as for the others
        session = Session(sa_db)
        session.connection()  # connect (and run the pragmas) outside the timed part
        sessions.append(session)
        return (session,), {}

    _check_objects(_sa_load(setup()[0][0]))
    _record(benchmark, "sqlalchemy")
    benchmark.pedantic(_sa_load, setup=setup, rounds=LOAD_ROUNDS)
    while sessions:
        sessions.pop().close()


@pytest.mark.benchmark(group="axiom-query-indexed")
def test_query_indexed_sqlalchemy(benchmark: Any, sa_db: Any) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    model = _sa()
    sessions: list[Any] = []

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        while sessions:
            sessions.pop().close()
        session = Session(sa_db)
        session.connection()
        sessions.append(session)
        return (session,), {}

    def run(session: Any) -> int:
        found = 0
        for name in QUERY_NAMES:
            found += len(session.scalars(select(model).where(model.name == name)).all())
        return found

    assert run(setup()[0][0]) == N_QUERIES * PER_NAME
    _record(benchmark, "sqlalchemy", N_QUERIES, "queries")
    benchmark.pedantic(run, setup=setup, rounds=QUERY_ROUNDS)
    while sessions:
        sessions.pop().close()


# ====================================================================== peewee


def _pw() -> Any:
    """The peewee model class (built once; bound to a database per use)."""
    global _PW_MODEL
    if _PW_MODEL is None:
        pw: Any = pytest.importorskip("peewee")

        class PwItem(pw.Model):  # type: ignore[misc,name-defined]
            name = pw.TextField(index=True)
            age = pw.IntegerField()
            score = pw.FloatField()
            flag = pw.BooleanField()

            class Meta:
                table_name = "item"

        _PW_MODEL = PwItem
    return _PW_MODEL


_PW_MODEL: Any = None


def _pw_db(path: Path) -> Any:
    import peewee

    return peewee.SqliteDatabase(str(path / "db.sqlite"), pragmas=list(PRAGMAS.items()))


def _pw_fresh(dirs: _Dirs) -> Any:
    model = _pw()
    db = _pw_db(dirs.fresh("peewee"))
    dirs.closers["peewee"] = db.close
    db.bind([model])
    db.connect()
    db.create_tables([model])
    _check_pragmas(db.connection())
    return db


def _pw_check(db: Any) -> None:
    _check_objects(list(_pw().select()))


@pytest.fixture(scope="module")
def pw_db(dirs: _Dirs) -> Iterator[Any]:
    model = _pw()
    db = _pw_fresh(dirs)
    with db.atomic():
        for start in range(0, N, PEEWEE_CHUNK):
            model.insert_many(ROWS[start:start + PEEWEE_CHUNK], fields=list(COLUMNS)).execute()
    dirs.close("peewee")
    dirs.last.pop("peewee")
    yield db
    db.close()


@pytest.mark.benchmark(group="axiom-insert-batch")
def test_insert_batch_peewee(benchmark: Any, dirs: _Dirs) -> None:
    model = _pw()
    fields = [getattr(model, c) for c in COLUMNS]

    def run(db: Any) -> None:
        with db.atomic():
            for start in range(0, N, PEEWEE_CHUNK):
                model.insert_many(ROWS[start:start + PEEWEE_CHUNK], fields=fields).execute()

    _record(benchmark, "peewee")
    _insert_rounds(benchmark, dirs, lambda: _pw_fresh(dirs), run, _pw_check)


@pytest.mark.benchmark(group="axiom-insert-each")
def test_insert_each_peewee(benchmark: Any, dirs: _Dirs) -> None:
    model = _pw()

    def run(db: Any) -> None:
        create = model.create
        with db.atomic():
            for name, age, score, flag in ROWS:
                create(name=name, age=age, score=score, flag=flag)

    _record(benchmark, "peewee")
    _insert_rounds(benchmark, dirs, lambda: _pw_fresh(dirs), run, _pw_check,
                   EACH_ROUNDS)


@pytest.mark.benchmark(group="axiom-load")
def test_load_peewee(benchmark: Any, pw_db: Any) -> None:
    model = _pw()
    pw_db.bind([model])

    def setup() -> None:
        pw_db.close()
        pw_db.connect()

    def run() -> list[Any]:
        return list(model.select())

    setup()
    _check_pragmas(pw_db.connection())
    _check_objects(run())
    _record(benchmark, "peewee")
    benchmark.pedantic(run, setup=setup, rounds=LOAD_ROUNDS)
    pw_db.close()


@pytest.mark.benchmark(group="axiom-query-indexed")
def test_query_indexed_peewee(benchmark: Any, pw_db: Any) -> None:
    model = _pw()
    pw_db.bind([model])
    pw_db.connect(reuse_if_open=True)

    def run() -> int:
        found = 0
        for name in QUERY_NAMES:
            found += len(list(model.select().where(model.name == name)))
        return found

    assert run() == N_QUERIES * PER_NAME
    _record(benchmark, "peewee", N_QUERIES, "queries")
    benchmark.pedantic(run, rounds=QUERY_ROUNDS)
    pw_db.close()


# ====================================================================== plait Axiom


def _ax() -> Any:
    """The Axiom item class (built once, on first use; skips while plait.axiom is missing)."""
    global _AX_MODEL
    if _AX_MODEL is None:
        try:
            from plait.axiom.attributes import boolean, ieee754_double, integer, text
            from plait.axiom.item import Item

            importlib.import_module("plait.axiom.store")  # skip early if it is missing
        except ImportError as e:
            pytest.skip(f"plait.axiom is not importable: {e}")

        class AxItem(Item):
            type_name = "bench_axiom_item"
            schema_version = 1
            name = text(indexed=True, allow_none=False)
            age = integer()
            score = ieee754_double()
            flag = boolean()

        _AX_MODEL = AxItem
    return _AX_MODEL


_AX_MODEL: Any = None


def _ax_connection(store: Any) -> Any:
    """The store's sqlite3 connection, if it exposes one (for the pragmas), else None."""
    for attr in ("connection", "_connection", "conn", "_conn", "db", "_db"):
        con = getattr(store, attr, None)
        if hasattr(con, "execute"):
            return con
    return None


def _ax_open(path: Path) -> Any:
    from plait.axiom.store import Store

    store = Store(path)
    con = _ax_connection(store)
    if con is not None:
        for pragma, value in PRAGMAS.items():
            con.execute(f"PRAGMA {pragma}={value}")
        _check_pragmas(con)
    return store


def _ax_fresh(dirs: _Dirs) -> Any:
    _ax()
    store = _ax_open(dirs.fresh("axiom") / "store")
    dirs.closers["axiom"] = store.close
    return store


def _ax_load(store: Any) -> list[Any]:
    return list(store.query(_ax()))


def _ax_check(store: Any) -> None:
    _check_objects(_ax_load(store))


def _ax_batch(store: Any) -> None:
    model = _ax()
    store.transact(store.batch_insert, model, [getattr(model, c) for c in COLUMNS], ROWS)


@pytest.fixture(scope="module")
def ax_db(dirs: _Dirs) -> Iterator[Path]:
    store = _ax_fresh(dirs)
    _ax_batch(store)
    dirs.close("axiom")
    yield dirs.last.pop("axiom") / "store"


@pytest.mark.benchmark(group="axiom-insert-batch")
def test_insert_batch_plait(benchmark: Any, dirs: _Dirs) -> None:
    _ax()
    _record(benchmark, "plait")
    _insert_rounds(benchmark, dirs, lambda: _ax_fresh(dirs), _ax_batch, _ax_check)


@pytest.mark.benchmark(group="axiom-insert-each")
def test_insert_each_plait(benchmark: Any, dirs: _Dirs) -> None:
    model = _ax()

    def create_all(store: Any) -> None:
        for name, age, score, flag in ROWS:
            model(store=store, name=name, age=age, score=score, flag=flag)

    def run(store: Any) -> None:
        store.transact(create_all, store)

    _record(benchmark, "plait")
    _insert_rounds(benchmark, dirs, lambda: _ax_fresh(dirs), run, _ax_check,
                   EACH_ROUNDS)


@pytest.mark.benchmark(group="axiom-load")
def test_load_plait(benchmark: Any, ax_db: Path) -> None:
    stores: list[Any] = []

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        # a newly opened Store each round: an empty identity map, a new SQLite connection
        while stores:
            stores.pop().close()
        stores.append(_ax_open(ax_db))
        return (stores[-1],), {}

    try:
        _check_objects(_ax_load(setup()[0][0]))
        _record(benchmark, "plait")
        benchmark.pedantic(_ax_load, setup=setup, rounds=LOAD_ROUNDS)
    finally:
        while stores:
            stores.pop().close()


@pytest.mark.benchmark(group="axiom-query-indexed")
def test_query_indexed_plait(benchmark: Any, ax_db: Path) -> None:
    model = _ax()
    store = _ax_open(ax_db)

    def run() -> int:
        found = 0
        query = store.query
        by_name = model.name
        for name in QUERY_NAMES:
            found += len(list(query(model, by_name == name)))
        return found

    try:
        assert run() == N_QUERIES * PER_NAME
        _record(benchmark, "plait", N_QUERIES, "queries")
        benchmark.pedantic(run, rounds=QUERY_ROUNDS)
    finally:
        store.close()
