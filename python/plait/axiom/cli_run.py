"""`axiomatic start | stop | status | upgrade | browse`.

A running store is locked against other writers, so `start` publishes what `status` and
`stop` need (its pid and endpoints) in a status file beside the database (mode 0600),
removed when it stops; a status file whose process is gone is stale and cleared.
"""
from __future__ import annotations

import argparse
import code
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from plait.axiom.errors import StoreLocked
from plait.core.files import write_file_atomically
from plait.core.loop import run

STATUS_FILE = "axiomatic.json"
STOP_WAIT = 30.0
STOP_GRACE = 10.0


class RunError(Exception):
    """Why start/stop/status/upgrade/browse cannot do their job, as one readable line."""


def status_path(store_dir: Path) -> Path:
    return store_dir / STATUS_FILE


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(store_dir: Path) -> dict[str, Any] | None:
    """The running `axiomatic start`'s published status, or None (clearing a stale file)."""
    path = status_path(store_dir)
    try:
        info = json.loads(path.read_text())
        pid = int(info["pid"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError):
        path.unlink(missing_ok=True)
        return None
    if not _pid_alive(pid):
        path.unlink(missing_ok=True)
        return None
    return dict(info)


def _write_status(store_dir: Path, endpoints: dict[str, list[str]]) -> None:
    path = status_path(store_dir)
    status = json.dumps({"pid": os.getpid(), "services": endpoints})
    write_file_atomically(path, status.encode(), 0o600)


def open_store(store_dir: Path, *, create: bool = False) -> Any:
    from plait.axiom.store import Store

    if not create and not store_dir.exists():
        raise RunError(f"no store at {store_dir}")
    try:
        return Store(store_dir)
    except StoreLocked:
        running = read_status(store_dir)
        who = (f"`axiomatic start` (pid {running['pid']})" if running
               else "another process (a running `plait serve`?)")
        raise RunError(f"the store {store_dir} is in use by {who}; stop it first") from None


def start(store_dir: Path, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run the store's services until SIGINT/SIGTERM."""
    store = open_store(store_dir, create=True)
    try:
        run(_serve(store, store_dir, out))
    except OSError as exc:
        raise RunError(f"cannot start: {exc.strerror or exc}") from None
    finally:
        store.close()
    return 0


async def _serve(store: Any, store_dir: Path, out: TextIO) -> None:
    from plait.axiom.service import StoreService
    from plait.core.service import run_until_signalled

    service = StoreService(store)

    def ready() -> None:
        endpoints = {child.name: child.endpoints() for child in service.services}
        _write_status(store_dir, endpoints)
        print(f"axiomatic: serving {store_dir} (pid {os.getpid()})", file=out)
        for name, where in endpoints.items():
            print(f"  {name:<24} {', '.join(where) or '-'}", file=out)
        out.flush()

    try:
        await run_until_signalled(service, grace=STOP_GRACE, ready=ready)
    finally:
        status_path(store_dir).unlink(missing_ok=True)
    print("axiomatic: stopped", file=out, flush=True)


def stop(store_dir: Path, args: argparse.Namespace) -> int:
    """Ask the running `axiomatic start` to stop, and wait for it."""
    info = read_status(store_dir)
    if info is None:
        raise RunError(f"nothing is running on {store_dir}")
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT
    while _pid_alive(pid) and status_path(store_dir).exists():
        if time.monotonic() > deadline:
            raise RunError(f"pid {pid} did not stop within {STOP_WAIT:.0f} s")
        time.sleep(0.05)
    print(f"stopped (pid {pid})")
    return 0


def status(store_dir: Path, args: argparse.Namespace) -> int:
    """Print whether the store's services run, and their endpoints."""
    info = read_status(store_dir)
    if info is None:
        print(f"{store_dir}: not running")
        return 0
    print(f"{store_dir}: running (pid {info['pid']})")
    for name, where in info.get("services", {}).items():
        print(f"  {name:<24} {', '.join(where) or '-'}")
    return 0


def progress_bar(out: TextIO = sys.stderr, width: int = 40) -> Any:
    """A ``progress(done, total)`` callback drawing a bar (plain lines when not a tty)."""
    tty = out.isatty()
    last = [-1]

    def progress(done: int, total: int) -> None:
        if total <= 0:
            return
        percent = done * 100 // total
        if percent == last[0]:
            return
        last[0] = percent
        if tty:
            filled = width * done // total
            out.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} items")
            if done >= total:
                out.write("\n")
        elif percent % 10 == 0:
            out.write(f"upgraded {done}/{total} items ({percent}%)\n")
        out.flush()

    return progress


def upgrade(store_dir: Path, args: argparse.Namespace) -> int:
    """Upgrade every item in the store to its class's current schema version."""
    from plait.axiom.upgrade import upgrade_all

    store = open_store(store_dir)
    try:
        count = upgrade_all(store, progress=progress_bar())
    finally:
        store.close()
    print(f"upgraded {count} item(s)" if count else "everything is up to date")
    return 0


def browse(store_dir: Path, args: argparse.Namespace) -> int:
    """An interactive Python prompt with ``store`` bound (and the usual Axiom names)."""
    from plait import axiom

    store = open_store(store_dir)
    namespace: dict[str, Any] = {"store": store, "axiom": axiom}
    namespace.update({name: getattr(axiom, name) for name in axiom.__all__})
    banner = f"axiomatic browse: `store` is {store!r}; Ctrl-D leaves (changes are committed)"
    try:
        with contextlib.suppress(SystemExit):
            code.interact(banner=banner, local=namespace, exitmsg="")
    finally:
        store.close()
    return 0
