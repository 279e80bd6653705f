"""Opening a store's SQLite file and creating its tables (DDL lives here, nowhere else).

Why separate: ``store.py`` is about items and transactions; what a store directory looks
like on disk, how a foreign or damaged file is told apart, and the DDL for each item
type are what upgrades and substores rely on, so they are kept in one short place.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CorruptStore, NotAStore, StoreLocked

if TYPE_CHECKING:
    from .item import Item

DB_NAME = "db.sqlite"
FILES_DIR = "files"
LOCK_NAME = "lock"
SQLITE_MAGIC = b"SQLite format 3\x00"
#: PRAGMA application_id of an Axiom store ("AXIO")
APPLICATION_ID = 0x4158494F
_OWN_ENTRIES = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", FILES_DIR, LOCK_NAME}

SCHEMA = """
CREATE TABLE IF NOT EXISTS axiom_types (
    oid INTEGER PRIMARY KEY AUTOINCREMENT,
    type_name TEXT NOT NULL,
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (type_name, version)
);
CREATE TABLE IF NOT EXISTS axiom_objects (
    oid INTEGER PRIMARY KEY AUTOINCREMENT,
    type_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS axiom_attributes (
    type_id INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    sql_type TEXT NOT NULL,
    indexed INTEGER NOT NULL,
    allow_none INTEGER NOT NULL,
    PRIMARY KEY (type_id, attribute)
);
"""


def take_lock(directory: Path) -> int:
    """Hold the store's writer lock (an exclusive flock on ``lock``) until closed."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(f"{directory} is in use by another writer") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def release_lock(fd: int) -> None:
    os.close(fd)  # closing the only descriptor drops the flock


def check_directory(directory: Path) -> None:
    """Refuse paths that are not (and cannot become) a store directory."""
    if directory.exists() and not directory.is_dir():
        raise NotAStore(f"{directory} is a file, not a store directory")
    if directory.is_dir() and not (directory / DB_NAME).exists():
        foreign = sorted(e.name for e in directory.iterdir() if e.name not in _OWN_ENTRIES)
        if foreign:
            raise NotAStore(f"{directory} is not a store: it has no {DB_NAME} and holds "
                            f"other files ({', '.join(foreign[:3])})")


def connect(db_path: str, journal_wal: bool) -> sqlite3.Connection:
    """Open and sanity-check the database; raise NotAStore / CorruptStore, never half-open."""
    if db_path != ":memory:" and os.path.exists(db_path) and os.path.getsize(db_path) > 0:
        with open(db_path, "rb") as f:
            header = f.read(len(SQLITE_MAGIC))
        if header != SQLITE_MAGIC:
            raise CorruptStore(f"{db_path} is damaged: not an SQLite database")
    conn = sqlite3.connect(db_path, isolation_level=None, cached_statements=512)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "axiom_types" not in tables:
            raise NotAStore(f"{db_path} is an SQLite database but not an Axiom store")
        if journal_wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        if not tables:
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute("COMMIT")
        else:
            conn.execute("SELECT count(*) FROM axiom_types").fetchone()
            check = conn.execute("PRAGMA quick_check(1)").fetchone()
            if check is None or check[0] != "ok":
                raise CorruptStore(f"{db_path} is damaged: {check[0] if check else '?'}")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise CorruptStore(f"{db_path} is damaged: {e}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def column_ddl(cls: type[Item]) -> str:
    cols = ["oid INTEGER PRIMARY KEY"]
    for a in cls.__persistent__:
        cols.append(f'"{a.column_name}" {a.sql_type}{"" if a.allow_none else " NOT NULL"}')
    return f"CREATE TABLE IF NOT EXISTS {cls.__table_name__} ({', '.join(cols)})"


def index_ddl(cls: type[Item]) -> list[str]:
    table = cls.__table_name__
    out = []
    for a in cls.__persistent__:
        if a.indexed:
            out.append(f'CREATE INDEX IF NOT EXISTS "{table}_{a.column_name}" '
                       f'ON {table}("{a.column_name}")')
    for index in cls.__compound_indexes__:
        names = [a.column_name for a in index.attributes]
        cols = ", ".join(f'"{n}"' for n in names)
        out.append(f'CREATE INDEX IF NOT EXISTS "{table}_{"_".join(names)}" ON {table}({cols})')
    return out


def create_type(conn: sqlite3.Connection, cls: type[Item]) -> int:
    """Record a new (type_name, version) and create its table; the caller holds a
    transaction.  Returns the type id."""
    cur = conn.execute("INSERT INTO axiom_types (type_name, module, version) VALUES (?, ?, ?)",
                       (cls.type_name, cls.__module__, cls.schema_version))
    type_id = cur.lastrowid
    assert type_id is not None
    conn.execute(column_ddl(cls))
    for ddl in index_ddl(cls):
        conn.execute(ddl)
    conn.executemany(
        "INSERT INTO axiom_attributes (type_id, attribute, sql_type, indexed, allow_none) "
        "VALUES (?, ?, ?, ?, ?)",
        [(type_id, a.name, a.sql_type, int(a.indexed), int(a.allow_none))
         for a in cls.__persistent__])
    return type_id


def stored_attributes(conn: sqlite3.Connection, type_id: int) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT attribute, sql_type FROM axiom_attributes WHERE type_id = ? "
                        "ORDER BY rowid", (type_id,)).fetchall()
