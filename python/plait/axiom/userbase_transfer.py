"""Moving an account between stores: `axiomatic extract-user` and `insert-user`.

An extracted account is a directory: ``account.json`` (its addresses, password hash, flags
and SSH keys; mode 0600, since it holds the hash) and ``avatars.axiom``, a copy of the
user's own store. Extraction copies first and deletes from the site store only after the
copy is complete, so a failure part-way loses nothing.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from plait.axiom.userbase import (
    DuplicateUser,
    LoginAccount,
    LoginSystem,
    NoSuchUser,
    UserbaseError,
    _AccountLink,
)

MANIFEST = "account.json"
AVATARS = "avatars.axiom"
FORMAT = 1


def extract_user(system: LoginSystem, address: str, destination: Path) -> None:
    """Move the account with ``address`` (and its substore) out into ``destination``."""
    account = system.account_by_address(address)
    if account is None:
        raise NoSuchUser(f"no account {address}")
    if destination.exists():
        raise UserbaseError(f"{destination} already exists")
    substore = account.avatars
    if substore is None or substore.store_path is None:
        raise UserbaseError(f"account {address} has no substore on disk to extract")
    source = Path(substore.store_path)
    substore.close()  # checkpoints the WAL into db.sqlite
    manifest = {
        "format": FORMAT,
        "password_hash": account.password_hash,
        "disabled": account.disabled,
        "ssh_keys": list(account.ssh_keys),
        "methods": [
            {"localpart": m.localpart, "domain": m.domain, "protocol": m.protocol,
             "verified": m.verified, "internal": m.internal}
            for m in account.login_methods()
        ],
    }
    destination.mkdir(parents=True)
    try:
        shutil.copytree(source, destination / AVATARS)
        _write_private(destination / MANIFEST, json.dumps(manifest, indent=2))
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    store = system.store
    assert store is not None

    def remove() -> None:
        account.delete_from_store()  # its login methods go with it (CASCADE)
        substore.delete_from_store()

    store.transact(remove)
    shutil.rmtree(source, ignore_errors=True)


def insert_user(system: LoginSystem, source: Path) -> LoginAccount:
    """Add the account extracted into ``source`` to ``system``'s store, with its data."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise UserbaseError(f"{source} holds no extracted account (no {MANIFEST})") from None
    except ValueError as exc:
        raise UserbaseError(f"{source / MANIFEST} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT or not manifest.get("methods"):
        raise UserbaseError(f"{source / MANIFEST} is not an extracted account of format {FORMAT}")
    if not (source / AVATARS).is_dir():
        raise UserbaseError(f"{source} has no {AVATARS}")
    for method in manifest["methods"]:
        found = system.account_by_address(f"{method['localpart']}@{method['domain']}")
        if found is not None:
            raise DuplicateUser(f"{method['localpart']}@{method['domain']} already has an account")
    store = system.store
    assert store is not None
    first, *others = manifest["methods"]
    copied: list[Path] = []

    def insert() -> LoginAccount:
        account = system.add_account(
            first["localpart"], first["domain"], None, protocol=first["protocol"],
            verified=first["verified"], internal=first["internal"])
        for method in others:
            account.add_login_method(
                method["localpart"], method["domain"], protocol=method["protocol"],
                verified=method["verified"], internal=method["internal"])
        account.password_hash = manifest.get("password_hash")
        account.disabled = bool(manifest.get("disabled"))
        account.ssh_keys = list(manifest.get("ssh_keys", []))
        substore = account.avatars
        target = Path(substore.store_path)
        substore.close()
        shutil.rmtree(target)
        copied.append(target)
        shutil.copytree(source / AVATARS, target)
        user_store = substore.open()

        def relink() -> None:
            for link in user_store.query(_AccountLink):
                link.account_id = account.store_id

        user_store.transact(relink)
        return account

    try:
        return store.transact(insert)
    except BaseException:
        for target in copied:  # the rolled-back account must leave no files behind
            shutil.rmtree(target, ignore_errors=True)
        raise


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
