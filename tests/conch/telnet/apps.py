"""A recording terminal application and a portal for the telnet server tests."""
from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key, TerminalProtocol
from plait.core.cred import InMemoryUsernamePasswordChecker, Portal

USER, PASSWORD = "alice", "s3cret-pass"
# Cheap argon2 parameters: the tests check the login flow, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


class Realm:
    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> tuple:
        return interfaces[0], f"avatar:{avatar_id}", lambda: None


def make_portal() -> Portal:
    checker = InMemoryUsernamePasswordChecker({USER: PASSWORD}, hasher=FAST_HASHER)
    return Portal(Realm(), [checker])


class Recorder(TerminalProtocol):
    """Draws a greeting with its size, echoes printable keys, records everything.

    Enter writes "<line>" back on a new line; "q" hangs up; "!" raises (a broken app).
    """

    instances: list[Recorder] = []

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar
        self.keys: list[tuple[Key, Modifier]] = []
        self.sizes: list[tuple[int, int]] = []
        self.first_size: tuple[int, int] | None = None
        self.lost: list[Exception | None] = []
        self.line = ""
        Recorder.instances.append(self)

    def connection_made(self) -> None:
        t = self.terminal
        assert t is not None
        self.first_size = (t.width, t.height)
        t.write(f"hello {self.avatar} {t.width}x{t.height}\n")

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        self.keys.append((key, modifier))
        t = self.terminal
        assert t is not None
        if key == "!":
            raise RuntimeError("a broken application")
        if key == "q":
            t.lose_connection()
        elif key == "\r":
            t.write(f"\n<{self.line}>\n")
            self.line = ""
        elif isinstance(key, str) and key.isprintable():
            self.line += key
            t.write(key)

    def terminal_size(self, width: int, height: int) -> None:
        self.sizes.append((width, height))
        t = self.terminal
        assert t is not None
        t.write(f"[size {width}x{height}]")

    def connection_lost(self, reason: Exception | None) -> None:
        self.lost.append(reason)
