"""ckeygen: make, inspect and re-protect SSH keys, with ssh-keygen's flags.

Why a tool of our own: a plait install should not need OpenSSH to make a host or user
key, and the keys it writes must work with OpenSSH (openssh-key-v1 with bcrypt-pbkdf +
aes256-ctr, exactly as ssh-keygen writes them).  Errors are one line on stderr; exit 1
for a failure, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import getpass
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from plait.conch.ssh.errors import KeyFormatError, PassphraseError
from plait.conch.ssh.keys import Key
from plait.core.files import write_file_atomically

__all__ = ["Terminal", "main"]

TYPE_NAMES = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}
DEFAULT_FILES = {"ed25519": "id_ed25519", "ecdsa": "id_ecdsa", "rsa": "id_rsa"}


class Failure(Exception):
    """A one-line error for the user (exit status 1)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ckeygen", description="Make, fingerprint and re-protect SSH keys.",
        epilog="Keys are written as openssh-key-v1 (FILE, mode 0600) and FILE.pub.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-l", dest="fingerprint", action="store_true",
                      help="show the fingerprint of a key file")
    mode.add_argument("-p", dest="change", action="store_true",
                      help="change the passphrase of a private key file")
    mode.add_argument("-y", dest="public", action="store_true",
                      help="print the public key of a private key file")
    p.add_argument("-t", dest="type", choices=("ed25519", "ecdsa", "rsa"),
                   help="type of key to make (default ed25519)")
    p.add_argument("-b", dest="bits", type=int, help="bits: ecdsa 256/384/521, rsa >= 2048")
    p.add_argument("-f", dest="file", help="key file (default ~/.ssh/id_TYPE)")
    new = p.add_mutually_exclusive_group()
    new.add_argument("-N", dest="new_passphrase", metavar="PASS",
                     help="new passphrase ('' for none)")
    new.add_argument("--no-passphrase", action="store_true", help="no passphrase")
    p.add_argument("-P", dest="old_passphrase", metavar="PASS", help="current passphrase")
    p.add_argument("-C", dest="comment", help="comment (default user@host)")
    p.add_argument("-o", dest="hash", choices=("sha256-base64", "md5-hex"),
                   default="sha256-base64", help="fingerprint form for -l")
    p.add_argument("-E", dest="hash_alias", choices=("sha256", "md5"),
                   help="ssh-keygen's spelling of -o")
    p.add_argument("-q", dest="quiet", action="store_true", help="quiet")
    return p


class Terminal:
    """The terminal: prompts only when stdin is one (else a missing answer is an error)."""

    def __init__(self, interactive: bool | None = None,
                 ask_secret: Callable[[str], str] = getpass.getpass,
                 ask: Callable[[str], str] = input) -> None:
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self._secret, self._ask = ask_secret, ask

    def secret(self, prompt: str, missing: str) -> str:
        if not self.interactive:
            raise Failure(missing)
        try:
            return self._secret(prompt)
        except (EOFError, KeyboardInterrupt):
            raise Failure("cancelled") from None

    def new_secret(self, missing: str) -> bytes | None:
        first = self.secret("Enter passphrase (empty for no passphrase): ", missing)
        if self.secret("Enter same passphrase again: ", missing) != first:
            raise Failure("passphrases do not match")
        return first.encode() or None

    def yes(self, question: str, missing: str) -> bool:
        if not self.interactive:
            raise Failure(missing)
        try:
            return self._ask(question).strip().lower() in ("y", "yes")
        except (EOFError, KeyboardInterrupt):
            return False


def _new_passphrase(args: argparse.Namespace, io: Terminal) -> bytes | None:
    if args.no_passphrase:
        return None
    if args.new_passphrase is not None:
        return args.new_passphrase.encode() or None
    return io.new_secret("no passphrase given: use -N PASS or --no-passphrase")


def _key_file(args: argparse.Namespace) -> Path:
    if args.file:
        return Path(args.file).expanduser()
    return Path("~/.ssh").expanduser() / DEFAULT_FILES[args.type or "ed25519"]


def _load_private(path: Path, given: str | None, io: Terminal) -> Key:
    try:
        return Key.from_file(path, given.encode() if given else None)
    except PassphraseError:
        if given is not None:
            raise Failure(f"{path}: wrong passphrase") from None
    answer = io.secret(f"Enter passphrase for {path}: ",
                       f"{path} is encrypted: give its passphrase with -P")
    try:
        return Key.from_file(path, answer.encode())
    except PassphraseError:
        raise Failure(f"{path}: wrong passphrase") from None


def _generate(args: argparse.Namespace, io: Terminal, out: Callable[[str], None]) -> None:
    path = _key_file(args)
    pub = path.with_name(path.name + ".pub")
    exists = f"{path} already exists (not overwritten)"
    if (path.exists() or pub.exists()) and \
            not io.yes(f"{path} already exists.\nOverwrite (y/n)? ", exists):
        raise Failure(exists)
    key = Key.generate(args.type or "ed25519", args.bits)
    key.comment = args.comment if args.comment is not None else \
        f"{getpass.getuser()}@{socket.gethostname()}"
    passphrase = _new_passphrase(args, io)
    if not args.file:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        write_file_atomically(path, key.to_openssh(passphrase), 0o600)
        write_file_atomically(pub, (key.public_line() + "\n").encode(), 0o644)
    except OSError as exc:
        raise Failure(f"cannot write {exc.filename or path}: {exc.strerror}") from None
    out(f"Your identification has been saved in {path}")
    out(f"Your public key has been saved in {pub}")
    out("The key fingerprint is:")
    out(f"{key.fingerprint()} {key.comment}".rstrip())


def _fingerprint(args: argparse.Namespace, io: Terminal, out: Callable[[str], None]) -> None:
    path = _key_file(args)
    hash_name = args.hash_alias or args.hash.split("-")[0]
    pub = path.with_name(path.name + ".pub")
    try:
        key = Key.from_file(path, args.old_passphrase)
    except PassphraseError:
        if pub.exists():
            key = Key.from_file(pub)
        else:   # openssh-key-v1 keeps the public key in clear; an encrypted PEM does not
            try:
                key = Key.from_file(path, public_only=True)
            except PassphraseError:
                key = _load_private(path, args.old_passphrase, io)
    kind = TYPE_NAMES.get(key.key_type, "ECDSA")
    print(f"{key.bits} {key.fingerprint(hash_name)} {key.comment or 'no comment'} ({kind})")


def _change(args: argparse.Namespace, io: Terminal, out: Callable[[str], None]) -> None:
    path = _key_file(args)
    key = _load_private(path, args.old_passphrase, io)
    if not key.is_private:
        raise Failure(f"{path} holds a public key, not a private one")
    passphrase = _new_passphrase(args, io)
    try:
        write_file_atomically(path, key.to_openssh(passphrase), 0o600)
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc.strerror}") from None
    out("Your identification has been saved with the new passphrase.")


def _public(args: argparse.Namespace, io: Terminal, out: Callable[[str], None]) -> None:
    key = _load_private(_key_file(args), args.old_passphrase, io)
    print(key.public_line())
    del out


def main(argv: Sequence[str] | None = None, *, io: Terminal | None = None) -> int:
    """Run ckeygen; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    io = io or Terminal()
    if (args.fingerprint or args.change or args.public) and (args.type or args.bits):
        parser.error("-t and -b only make sense when making a key")
    if not (args.fingerprint or args.change or args.public) and args.old_passphrase:
        parser.error("-P is for -l, -p and -y")

    def out(line: str) -> None:
        if not args.quiet:
            print(line)

    action = _fingerprint if args.fingerprint else _change if args.change else \
        _public if args.public else _generate
    try:
        action(args, io, out)
    except (Failure, KeyFormatError) as exc:
        print(f"ckeygen: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
