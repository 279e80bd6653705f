"""`axiomatic`, run as an administrator runs it, on fresh on-disk stores."""
from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from plait.axiom.store import Store
from plait.axiom.userbase import LoginSystem
from plait.core.cred import Portal, UnauthorizedLogin, UsernamePassword


def axiomatic(store: Path | None, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "plait.axiom.cli"]
    if store is not None:
        argv += ["-d", str(store)]
    return subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def fails(result: subprocess.CompletedProcess, code: int = 1) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    if code == 1:
        assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def login(store_dir: Path, address: str, password: str) -> bool:
    async def attempt() -> bool:
        with Store(store_dir) as store:
            system = store.find_first(LoginSystem)
            portal = Portal(system, [system])
            try:
                await portal.login(UsernamePassword(address, password), None, Store)
            except UnauthorizedLogin:
                return False
            return True

    return asyncio.run(attempt())


def test_no_store_is_a_usage_error() -> None:
    assert "use -d STORE_DIR" in fails(axiomatic(None, "status"))
    fails(axiomatic(None), code=2)


def test_userbase_create_list_disable_enable(tmp_path: Path) -> None:
    site = tmp_path / "site.axiom"
    ok(axiomatic(site, "userbase", "install"))
    assert ok(axiomatic(site, "userbase", "create", "Alice@Example.COM", "--password-stdin",
                        stdin="correct horse\n")).strip() == "created alice@example.com"
    ok(axiomatic(site, "userbase", "create", "bob@example.com", "--password-stdin",
                 stdin="battery staple\n"))
    assert "already belongs to an account" in fails(
        axiomatic(site, "userbase", "create", "alice@example.com", "--password-stdin",
                  stdin="x\n"))
    ok(axiomatic(site, "userbase", "disable", "bob@example.com"))
    assert ok(axiomatic(site, "userbase", "list")).splitlines() == [
        "alice@example.com", "bob@example.com  [disabled]"]
    assert login(site, "alice@example.com", "correct horse")
    assert not login(site, "alice@example.com", "wrong")
    assert not login(site, "bob@example.com", "battery staple")  # disabled
    ok(axiomatic(site, "userbase", "enable", "bob@example.com"))
    assert login(site, "bob@example.com", "battery staple")
    assert "no account nobody@example.com" in fails(
        axiomatic(site, "userbase", "disable", "nobody@example.com"))


def test_password_never_in_argv_and_never_empty(tmp_path: Path) -> None:
    site = tmp_path / "site.axiom"
    fails(axiomatic(site, "userbase", "create", "a@example.com", "--password", "x"), code=2)
    assert "empty password" in fails(
        axiomatic(site, "userbase", "create", "a@example.com", "--password-stdin", stdin="\n"))
    ok(axiomatic(site, "userbase", "create", "a@example.com", "--password-stdin",
                 stdin="correct horse battery\n"))
    stored = b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    assert b"correct horse battery" not in stored  # only its argon2id hash
    assert b"$argon2id$" in stored


def test_userbase_commands_need_an_installed_login_system(tmp_path: Path) -> None:
    site = tmp_path / "site.axiom"
    Store(site).close()
    assert "userbase install" in fails(axiomatic(site, "userbase", "list"))


def test_extract_and_insert_user(tmp_path: Path) -> None:
    site, other, moved = tmp_path / "site.axiom", tmp_path / "other.axiom", tmp_path / "alice"
    ok(axiomatic(site, "userbase", "create", "alice@example.com", "--password-stdin",
                 stdin="s3cret\n"))
    with Store(site) as store:
        account = store.find_first(LoginSystem).account_by_address("alice@example.com")
        user_store = account.avatar_store()
        user_store.transact(lambda: user_store.new_file_path("note.txt").write_text("kept"))
    ok(axiomatic(site, "extract-user", "alice@example.com", str(moved)))
    manifest = moved / "account.json"
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert json.loads(manifest.read_text())["methods"][0]["localpart"] == "alice"
    assert ok(axiomatic(site, "userbase", "list")).strip() == ""
    assert "no account alice@example.com" in fails(
        axiomatic(site, "extract-user", "alice@example.com", str(tmp_path / "again")))
    ok(axiomatic(site, "userbase", "create", "bob@example.com", "--password-stdin", stdin="b\n"))
    assert "already exists" in fails(axiomatic(site, "extract-user", "bob@example.com", str(moved)))
    assert ok(axiomatic(other, "insert-user", str(moved))).strip() == "inserted alice@example.com"
    assert login(other, "alice@example.com", "s3cret")
    with Store(other) as store:
        account = store.find_first(LoginSystem).account_by_address("alice@example.com")
        assert (account.avatar_store().files_dir / "note.txt").read_text() == "kept"
    assert "already has an account" in fails(axiomatic(other, "insert-user", str(moved)))


def test_status_and_stop_when_nothing_runs(tmp_path: Path) -> None:
    site = tmp_path / "site.axiom"
    Store(site).close()
    assert ok(axiomatic(site, "status")).strip() == f"{site}: not running"
    assert "nothing is running" in fails(axiomatic(site, "stop"))
    (site / "axiomatic.json").write_text(json.dumps({"pid": 2 ** 22 + 12345}))  # a dead pid
    assert ok(axiomatic(site, "status")).strip() == f"{site}: not running"
    assert not (site / "axiomatic.json").exists()


def test_plugin_command(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "plait_count_items.py").write_text(
        "description = 'count the items of every type'\n"
        "def run(store, args):\n"
        "    print(store.connection.execute('SELECT count(*) FROM axiom_objects').fetchone()[0])\n")
    info = plugin / "plait_count_items-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plait-count-items\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[plait.axiomatic]\ncount-items = plait_count_items\n")
    site = tmp_path / "site.axiom"
    ok(axiomatic(site, "userbase", "install"))
    env = dict(os.environ, PYTHONPATH=str(plugin))
    result = subprocess.run([sys.executable, "-m", "plait.axiom.cli", "-d", str(site),
                             "count-items"], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 1


def test_browse_binds_the_store(tmp_path: Path) -> None:
    site = tmp_path / "site.axiom"
    ok(axiomatic(site, "userbase", "install"))
    result = axiomatic(site, "browse", stdin="print('BROWSE', store.path, Store is not None)\n")
    assert result.returncode == 0, result.stderr
    assert f"BROWSE {site} True" in result.stdout
