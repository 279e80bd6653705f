"""Reliability: a writer SIGKILLed mid-stream loses nothing it reported committed and
leaves nothing half-applied; foreign, locked and corrupt stores each give one clear error."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plait.axiom.attributes import integer
from plait.axiom.errors import CorruptStore, NotAStore, StoreLocked
from plait.axiom.item import Item
from plait.axiom.store import Store

ITEMS = """
from plait.axiom.attributes import integer
from plait.axiom.item import Item
from plait.axiom.store import Store

class Entry(Item):
    type_name = "core_rel_entry"
    n = integer()
    half = integer()

class Counter(Item):
    type_name = "core_rel_counter"
    value = integer(default=0)
"""

WRITER = ITEMS + """
import sys
store = Store(sys.argv[1])
counter = store.find_or_create(Counter)
def commit(i):
    Entry(store=store, n=i, half=0)
    counter.value = i
    Entry(store=store, n=i, half=1)
i = counter.value
while True:
    i += 1
    store.transact(commit, i)
    print(i, flush=True)
"""

HOLDER = """
import sys, time
from plait.axiom.store import Store
store = Store(sys.argv[1])
print("ready", flush=True)
time.sleep(60)
"""


class Entry(Item):
    type_name = "core_rel_entry"
    n = integer()
    half = integer()


class Counter(Item):
    type_name = "core_rel_counter"
    value = integer(default=0)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args],
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("rounds", [2])
def test_sigkill_mid_stream_keeps_every_reported_commit(tmp_path: Path, rounds: int) -> None:
    path = tmp_path / "st"
    reported = 0
    for _ in range(rounds):
        writer = _spawn(WRITER, str(path))
        assert writer.stdout is not None
        target = reported + 150
        while reported < target:
            line = writer.stdout.readline()
            assert line, "the writer died on its own"
            reported = int(line)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        for line in writer.stdout:  # anything printed before the kill also committed
            reported = int(line)
        writer.stdout.close()

        with Store(path) as store:
            value = store.find_unique(Counter).value
            assert value >= reported
            entries = sorted((e.n, e.half) for e in store.query(Entry))
            assert entries == [(n, h) for n in range(1, value + 1) for h in (0, 1)]
            objects = store.connection.execute("SELECT count(*) FROM axiom_objects").fetchone()
            assert objects[0] == len(entries) + 1


def test_a_second_writer_gets_store_locked(tmp_path: Path) -> None:
    path = tmp_path / "st"
    Store(path).close()
    holder = _spawn(HOLDER, str(path))
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        with pytest.raises(StoreLocked, match="in use by another writer"):
            Store(path)
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    Store(path).close()  # the lock died with its holder


def test_the_same_store_twice_in_one_process_is_locked(tmp_path: Path) -> None:
    first = Store(tmp_path / "st")
    with pytest.raises(StoreLocked):
        Store(tmp_path / "st")
    first.close()
    Store(tmp_path / "st").close()


def test_a_plain_file_is_not_a_store(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    with pytest.raises(NotAStore, match="is a file, not a store directory"):
        Store(f)


def test_a_directory_of_other_files_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "README").write_text("x")
    with pytest.raises(NotAStore, match="has no db.sqlite"):
        Store(tmp_path / "d")
    assert not (tmp_path / "d" / "db.sqlite").exists()


def test_a_foreign_sqlite_database_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    conn = sqlite3.connect(tmp_path / "d" / "db.sqlite")
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotAStore, match="not an Axiom store"):
        Store(tmp_path / "d")
    Store(tmp_path / "empty").close()  # while an empty directory becomes one


def _filled(path: Path) -> Path:
    with Store(path) as s:
        s.batch_insert(Entry, [Entry.n, Entry.half], [(i, 0) for i in range(5000)])
        s.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path / "db.sqlite"


def test_garbage_instead_of_a_database_is_corrupt(tmp_path: Path) -> None:
    db = _filled(tmp_path / "st")
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CorruptStore, match="damaged"):
        Store(tmp_path / "st")
    with pytest.raises(CorruptStore):  # and again: the failed open released the lock
        Store(tmp_path / "st")


@pytest.mark.parametrize("where", ["schema page", "data pages"])
def test_damaged_pages_are_corrupt(tmp_path: Path, where: str) -> None:
    db = _filled(tmp_path / "st")
    data = bytearray(db.read_bytes())
    if where == "schema page":
        data[100:4096] = b"\xff" * (4096 - 100)
    else:
        middle = len(data) // 2
        data[middle:middle + 8192] = os.urandom(8192)
    db.write_bytes(bytes(data))
    with pytest.raises(CorruptStore, match="damaged"):
        Store(tmp_path / "st")
