"""The terminal applications in a real `plait serve`, driven by real clients in a private
tmux: OpenSSH ``ssh -tt`` (menu, exec names, resize, login shell from the menu, manhole
with colours, non-administrators refused) and inetutils ``telnet`` under expect (login
from the same userbase, the menu, Faucet shared with an SSH player)."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conch.apps.tmux import Tmux
from conch.peers import keygen, ssh_options
from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.conch.apps.admin import grant_administrator
from plait.conch.apps.service import (
    DEFAULT_TELNET_ENDPOINT,
    TelnetService,
    TelnetServiceMaker,
    listen_address,
)
from serve_process import ServerProcess

pytestmark = pytest.mark.interop

ADMIN, USER, PASSWORD = "root@example.test", "bob@example.test", "pw-Xy7!q"


class Site:
    def __init__(self, data: Path, server: ServerProcess, keys: dict[str, Path]) -> None:
        self.data, self.server, self.keys = data, server, keys
        self.ssh_port = server.port_of("ssh")
        self.telnet_port = server.port_of("telnet")

    def ssh_argv(self, user: str, *command: str, tty: bool = True) -> list[str]:
        return ["ssh", *(["-tt"] if tty else ["-T"]), "-p", str(self.ssh_port),
                *ssh_options(key=self.keys[user]), f"{user}@127.0.0.1", *command]

    def ssh_command(self, user: str, *command: str) -> str:
        return shlex.join(self.ssh_argv(user, *command))

    def telnet_command(self, user: str, workdir: Path) -> str:
        script = workdir / f"telnet-{user}.exp"
        script.write_text(
            "set timeout 20\n"
            f"spawn telnet 127.0.0.1 {self.telnet_port}\n"
            # expect does not pass window changes on by itself: copy them to telnet's pty
            "trap {stty rows [stty rows] columns [stty columns] "
            "< $spawn_out(slave,name)} WINCH\n"
            'expect "login: "\n'
            f'send "{user}\\r"\n'
            'expect "Password: "\n'
            f'send "{PASSWORD}\\r"\n'
            "interact\n")
        return f"expect -f {shlex.quote(str(script))}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    for tool in ("ssh", "tmux", "telnet", "expect"):
        assert shutil.which(tool), f"{tool} missing: run `make peers`"
    data = tmp_path_factory.mktemp("apps-site")
    keys = {}
    store = Store(data / "site.axiom")
    try:
        login_system = install_login_system(store)
        for address in (ADMIN, USER):
            local, domain = address.split("@")
            key = data.parent / f"{data.name}-{local}-key"
            line = keygen(key, "ed25519")
            keys[address] = key

            def add(local: str = local, domain: str = domain, line: str = line) -> None:
                login_system.add_account(local, domain, PASSWORD).add_ssh_key(line)

            store.transact(add)
        assert grant_administrator(login_system, ADMIN)
    finally:
        store.close()
    server = ServerProcess(data)
    server.wait_ready()
    try:
        yield Site(data, server, keys)
    finally:
        server.ensure_stopped()


def test_ssh_menu_demo_keys_and_resize(site: Site, tmp_path: Path) -> None:
    with Tmux(site.ssh_command(ADMIN), 80, 24, tmp_path) as tmux:
        menu = tmux.wait_for("Login shell")
        assert "1. Widget demo" in menu and "Python manhole" in menu and "Faucet" in menu
        tmux.type("1")
        tmux.wait_for("Clear")
        tmux.type("hello")
        tmux.send("Enter")
        screen = tmux.wait_for(lambda s: s.count("hello") == 2)   # input and output
        assert all(len(line) <= 80 for line in screen.splitlines())
        tmux.resize(110, 30)
        wide = tmux.wait_for(lambda s: any(len(line.rstrip()) > 80 for line in s.splitlines()))
        assert "Clear" in wide and wide.count("hello") == 2
        tmux.send("C-c")
        tmux.wait_for(lambda _: tmux.pane_dead())


def test_ssh_exec_manhole_colours_and_line_editing(site: Site, tmp_path: Path) -> None:
    with Tmux(site.ssh_command(ADMIN, "manhole"), 80, 24, tmp_path) as tmux:
        tmux.wait_for(">>>")
        tmux.type("2 + 3")
        tmux.send("C-a")
        tmux.type("1")
        tmux.send("End")
        tmux.type("0")
        tmux.send("Enter")
        tmux.wait_for("\n42")
        tmux.type("sorted(a.address for a in login_system.accounts())[0]")
        tmux.send("Enter")
        tmux.wait_for(repr(USER))
        tmux.type("sorted(s.name for s in services if s.name in ('ssh', 'telnet'))")
        tmux.send("Enter")
        tmux.wait_for("['ssh', 'telnet']")
        tmux.send("Up", "Up", "Up", "Enter")
        screen = tmux.wait_for(lambda s: s.count("\n42") == 2)
        assert "12 + 30" in screen
        coloured = tmux.screen(escapes=True)
        # the result is a number, cyan (tmux leaves out the escape when the input's last
        # number was cyan too)
        assert re.search(r"\x1b\[36m(?:[^\x1b]*\n)?42\n", coloured), coloured
        assert re.search(r"\x1b\[35m'bob@example.test'", coloured), coloured  # a string
        tmux.type("if True")
        tmux.wait_for("if True")
        coloured = tmux.screen(escapes=True)
        assert re.search(r"\x1b\[1;34mif|\x1b\[1m\x1b\[34mif", coloured), coloured
        tmux.send("C-u", "C-d")
        tmux.wait_for(lambda _: tmux.pane_dead())


def test_non_administrator_cannot_open_manhole(site: Site) -> None:
    r = subprocess.run(site.ssh_argv(USER, "manhole"), capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL, check=False)
    assert r.returncode == 1
    assert b"manhole is for administrators only" in r.stdout + r.stderr


def test_app_without_pty_and_plain_exec(site: Site) -> None:
    r = subprocess.run(site.ssh_argv(USER, "faucet", tty=False), capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert (r.returncode, r.stderr) == (1, (b"plait: faucet needs a terminal: connect with "
                                           b"ssh -t\r\n"))
    r = subprocess.run(site.ssh_argv(USER, "echo plain-$((6*7))", tty=False),
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert (r.returncode, r.stdout) == (0, b"plain-42\n")


def test_login_shell_from_the_menu(site: Site, tmp_path: Path) -> None:
    with Tmux(site.ssh_command(ADMIN), 80, 24, tmp_path) as tmux:
        tmux.wait_for("4. Login shell")
        tmux.type("4")
        tmux.type("stty size; echo MARK-$((6*7))")
        tmux.send("Enter")
        screen = tmux.wait_for("MARK-42")
        assert "24 80" in screen
        tmux.type("exit")
        tmux.send("Enter")
        tmux.wait_for(lambda _: tmux.pane_dead())


def test_faucet_players_over_ssh_and_telnet_see_each_other(site: Site, tmp_path: Path) -> None:
    with Tmux(site.ssh_command(ADMIN, "faucet"), 80, 24, tmp_path) as root, \
            Tmux(site.telnet_command(USER, tmp_path), 80, 24, tmp_path) as bob:
        root.wait_for("Welcome to Faucet, root")
        menu = bob.wait_for("Log out")
        assert "manhole" not in menu and "Login shell" not in menu   # not admin; telnet
        bob.type("2")
        bob.wait_for("Welcome to Faucet, bob")
        root.wait_for("bob appears.")
        root.type("say hello there")
        root.send("Enter")
        bob.wait_for('root says, "hello there"')
        assert "lamp" in root.screen()
        bob.type("take lamp")
        bob.send("Enter")
        bob.wait_for("You take the lamp.")
        screen = root.wait_for("bob takes the lamp.")
        objects = [line[55:] for line in screen.splitlines()[:10]]
        assert not any("lamp" in line for line in objects), screen
        root.type("who")
        root.send("Enter")
        root.wait_for("bob (The Faucet Hall)")
        bob.resize(100, 30)                     # telnet sends NAWS; the panes re-lay out
        wide = bob.wait_for(lambda s: any(len(line) == 100 and line.startswith("┌")
                                          for line in s.splitlines()))
        assert len(wide.splitlines()) >= 30 and "You take the lamp." in wide
        bob.type("quit")
        bob.send("Enter")
        root.wait_for("bob vanishes.")


def test_service_item_and_maker(tmp_path: Path) -> None:
    assert listen_address(DEFAULT_TELNET_ENDPOINT) == ("127.0.0.1", 2323)
    with pytest.raises(ValueError, match="tcp"):
        listen_address("unix:/tmp/x")
    store = Store(tmp_path / "site.axiom")
    try:
        TelnetServiceMaker().install(store, "tcp:0:interface=127.0.0.1")
        service = store.find_first(TelnetService)
        assert service is not None and service.name == "telnet"
        service.check()
        service.max_attempts = 0
        with pytest.raises(ValueError, match="at least 1"):
            service.check()
    finally:
        store.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
