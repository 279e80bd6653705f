"""What a logged-in terminal user gets from ``plait serve``: a menu of the applications
(widget demo, manhole for administrators, Faucet, and over SSH the login shell), or one
of them straight away by its exec name (``ssh -t host faucet``).

Why one module decides: SSH and telnet offer the same applications to the same userbase
accounts, so the list, the administrator check and the namespace the manhole sees are
made here once (:func:`app_factory`); the SSH session (:class:`MenuSession`) and the
telnet service only differ in how the bytes arrive.  Anything else asked over SSH (other
exec commands, sftp, a shell without a pty) goes to the plain
:class:`~plait.conch.pty_session.PtySession` as before.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plait.axiom.service import IService
from plait.axiom.store import Store
from plait.axiom.userbase import login_system_for
from plait.conch.apps.admin import is_administrator
from plait.conch.apps.demo import DemoProtocol
from plait.conch.apps.faucet.game import FaucetProtocol
from plait.conch.apps.faucet.world import shared_world
from plait.conch.apps.manhole import Manhole
from plait.conch.apps.ssh_session import NO_PTY_MESSAGE, start_terminal
from plait.conch.insults.keys import Modifier
from plait.conch.insults.server import Key, ServerProtocol, TerminalProtocol
from plait.conch.insults.window import Selection, TextOutput, TopWindow, VBox, WindowProtocol
from plait.conch.pty_session import PtySession
from plait.conch.ssh.server import SSHServerChannel, SSHServerSession
from plait.conch.ssh.session import PtyRequest, WindowChange

__all__ = ["APPS", "AppRefused", "MenuProtocol", "MenuSession", "app_factory", "choices_for",
           "menu_session_factory", "switch_to"]

log = logging.getLogger(__name__)

#: exec name -> menu label
APPS = {"demo": "Widget demo", "manhole": "Python manhole (administrators)",
        "faucet": "Faucet: a multi-user adventure"}
SHELL, LOGOUT = "shell", "logout"
LABELS = {**APPS, SHELL: "Login shell", LOGOUT: "Log out"}


class AppRefused(Exception):
    """This user may not run that application (the manhole for a non-administrator)."""


def _display_name(user: str | None) -> str:
    return (user or "guest").split("@", 1)[0][:20] or "guest"


def manhole_namespace(avatar: Any, user: str | None) -> dict[str, Any]:
    """The server's objects an administrator's manhole starts with."""
    site = avatar.parent if isinstance(avatar, Store) else None
    return {"avatar": avatar, "user": user, "site": site,
            "login_system": login_system_for(site) if site is not None else None,
            "services": list(site.powerups_for(IService)) if site is not None else [],
            "world": shared_world()}


def app_factory(name: str, avatar: Any, user: str | None) -> Callable[[], TerminalProtocol]:
    """How to make application ``name`` for this user; KeyError for an unknown name,
    :class:`AppRefused` for the manhole without administrator rights."""
    if name == "demo":
        return DemoProtocol
    if name == "faucet":
        return lambda: FaucetProtocol(_display_name(user))
    if name == "manhole":
        if not is_administrator(avatar):
            raise AppRefused("the manhole is for administrators only")
        namespace = manhole_namespace(avatar, user)
        return lambda: Manhole(namespace)
    raise KeyError(name)


def choices_for(avatar: Any, *, shell: bool) -> list[str]:
    """The menu's entries for this user, as names (keys of ``LABELS``)."""
    names = ["demo", "faucet"]
    if is_administrator(avatar):
        names.insert(1, "manhole")
    if shell:
        names.append(SHELL)
    return [*names, LOGOUT]


def switch_to(current: WindowProtocol, factory: Callable[[], TerminalProtocol]) -> None:
    """Replace ``current`` on its terminal by a new application from ``factory``."""
    terminal = current.terminal
    if terminal is None:
        return
    current.restore_terminal()
    current.terminal = None
    app = factory()
    terminal.terminal_protocol = app
    app.make_connection(terminal)


class MenuProtocol(WindowProtocol):
    """The menu: Up/Down and Enter (or the entry's number) pick ``on_choice(name)``."""

    def __init__(self, names: Sequence[str], on_choice: Callable[[str], None],
                 title: str = "plait") -> None:
        super().__init__(dec_graphics=False)
        self.names = list(names)
        self.on_choice = on_choice
        self.title = title

    def build(self, window: TopWindow) -> None:
        labels = [f"{n + 1}. {LABELS[name]}" for n, name in enumerate(self.names)]
        box = VBox()
        heading = TextOutput((None, 1))
        heading.set_text(f"{self.title}: choose with the arrows and Enter (or a number)")
        self.message = TextOutput((None, 1))
        self.selection = Selection(labels, self._selected, len(labels))
        box.add_child(heading)
        box.add_child(self.message)
        box.add_child(self.selection)
        window.add_child(box)
        window.change_focus()

    def _selected(self, label: str) -> None:
        index = int(label.split(".", 1)[0]) - 1
        self.choose(self.names[index])

    def choose(self, name: str) -> None:
        if name == LOGOUT:
            self.close()
            return
        self.on_choice(name)

    def show_message(self, text: str) -> None:
        self.message.set_text(text)

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if key in ("\x03", "\x04"):
            self.close()
        elif isinstance(key, str) and key.isdigit() and 1 <= int(key) <= len(self.names):
            self.choose(self.names[int(key) - 1])
        else:
            super().keystroke_received(key, modifier)


def terminal_menu(avatar: Any, user: str | None, *, shell: Callable[[], None] | None = None,
                  title: str = "plait") -> MenuProtocol:
    """A menu whose choices start the application on the same terminal (``shell`` runs
    when the login shell is chosen; without it there is no such entry)."""
    menu: MenuProtocol

    def chosen(name: str) -> None:
        if name == SHELL and shell is not None:
            shell()
            return
        try:
            factory = app_factory(name, avatar, user)
        except AppRefused as exc:
            menu.show_message(str(exc))
            return
        switch_to(menu, factory)

    menu = MenuProtocol(choices_for(avatar, shell=shell is not None), chosen, title)
    return menu


class MenuSession(SSHServerSession):
    """An SSH session channel: the menu (or the app named by exec) when there is a pty,
    the plain pty session for everything else."""

    def __init__(self, avatar: Any, *, user: str, home: Path) -> None:
        self.avatar = avatar
        self.user = user
        self.fallback = PtySession(home=home, sftp_root=home, user=user)
        self.pty: PtyRequest | None = None
        self.server: ServerProtocol | None = None

    def connection_made(self, channel: SSHServerChannel) -> None:
        super().connection_made(channel)
        self.fallback.connection_made(channel)

    def pty_requested(self, pty: PtyRequest) -> bool:
        self.pty = pty
        return self.fallback.pty_requested(pty)

    def env_requested(self, name: str, value: str) -> bool:
        return self.fallback.env_requested(name, value)

    def shell_requested(self) -> bool:
        if self.pty is None:
            return self.fallback.shell_requested()
        self.server = start_terminal(self.channel, self.pty, self._menu)
        return True

    def exec_requested(self, command: str) -> bool:
        name = command.strip()
        if name not in APPS:
            return self.fallback.exec_requested(command)
        try:
            factory = app_factory(name, self.avatar, self.user)
        except AppRefused as exc:
            return self._fail(f"plait: {exc}\r\n")
        if self.pty is None:
            return self._fail(NO_PTY_MESSAGE.format(name=name))
        self.server = start_terminal(self.channel, self.pty, factory)
        return True

    def subsystem_requested(self, name: str) -> bool:
        return self.fallback.subsystem_requested(name)

    def _fail(self, message: str) -> bool:
        self.channel.write_stderr(message.encode())
        self.channel.exit(1)
        return True

    def _menu(self) -> TerminalProtocol:
        return terminal_menu(self.avatar, self.user, shell=self._shell)

    def _shell(self) -> None:
        """Leave the menu for the login shell in a pty of the terminal's current size."""
        server, self.server = self.server, None
        assert server is not None and self.pty is not None
        app = server.terminal_protocol
        if isinstance(app, WindowProtocol):
            app.restore_terminal()
        server.connection_lost(None)
        pty = dataclasses.replace(self.pty, cols=server.width, rows=server.height)
        self.fallback.pty_requested(pty)
        self.fallback.shell_requested()

    def data_received(self, data: bytes, ext: int | None) -> None:
        if self.server is not None:
            if ext is None:
                self.server.data_received(data)
        else:
            self.fallback.data_received(data, ext)

    def window_changed(self, change: WindowChange) -> None:
        if self.server is not None:
            self.server.terminal_size(change.cols, change.rows)
        else:
            self.fallback.window_changed(change)

    def eof_received(self) -> None:
        if self.server is not None:
            self.channel.exit(0)
        else:
            self.fallback.eof_received()

    def signal_received(self, name: str) -> None:
        if self.server is None:
            self.fallback.signal_received(name)

    def connection_lost(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.connection_lost(None)
        self.fallback.connection_lost()


def menu_session_factory(avatar: Any, *, user: str, home: Path) -> SSHServerSession:
    """The SSH service's session factory (``plait.conch.apps.menu:menu_session_factory``)."""
    return MenuSession(avatar, user=user, home=home)
