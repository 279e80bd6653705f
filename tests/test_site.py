"""`plait serve` on the site store: first-run defaults, what persists, and `axiomatic` beside it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from plait.axiom.service import StringEndpointPort
from plait.axiom.store import Store
from plait.axiom.userbase import LoginSystem
from plait.site import InstalledPlugins, install_defaults, move_services, site_store_path
from plait.vertex.amp_service import AmpServiceMaker
from serve_process import ServerProcess, plait


def axiomatic(store: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plait.axiom.cli", "-d", str(store), *args],
                          input=stdin, capture_output=True, text=True, timeout=60, check=False)


def test_first_run_installs_defaults_once(tmp_path: Path) -> None:
    makers = {"amp": AmpServiceMaker()}
    with Store(tmp_path / "site.axiom") as store:
        assert install_defaults(store, makers) == ["amp"]
        assert install_defaults(store, makers) == []
        assert store.find_first(LoginSystem) is not None
        assert [p.name for p in store.query(StringEndpointPort)] == ["amp"]
        store.query(StringEndpointPort).delete()  # an operator removes the service
    with Store(tmp_path / "site.axiom") as store:
        assert install_defaults(store, makers) == []  # removed stays removed
        assert store.query(StringEndpointPort).count() == 0
        assert store.find_unique(InstalledPlugins).names == ["amp"]


def test_listen_moves_are_checked_and_saved(tmp_path: Path) -> None:
    with Store(tmp_path / "site.axiom") as store:
        install_defaults(store, {"amp": AmpServiceMaker()})
        move_services(store, {"amp": "tcp:9999:interface=127.0.0.1"})
    with Store(tmp_path / "site.axiom") as store:
        [port] = store.query(StringEndpointPort)
        assert port.description == "tcp:9999:interface=127.0.0.1"


def test_serve_runs_from_the_store_and_axiomatic_adds_users(tmp_path: Path) -> None:
    data = tmp_path / "data"
    site = site_store_path(data)
    server = ServerProcess(data)
    try:
        banner = server.wait_ready()
        assert f"axiomatic -d {site} userbase create USER@DOMAIN" in banner
        assert re.search(r"scheduler\s+-", banner)
        busy = axiomatic(site, "userbase", "list")
        assert busy.returncode == 1
        assert busy.stderr.count("\n") == 1 and "is in use" in busy.stderr
        assert plait("stop", data=data).returncode == 0
        assert server.wait() == 0
    finally:
        server.ensure_stopped()

    created = axiomatic(site, "userbase", "create", "ann@example.com", "--password-stdin",
                        stdin="pw\n")
    assert created.returncode == 0, created.stderr
    with Store(site) as store:  # the same service items, no duplicates
        assert [p.name for p in store.query(StringEndpointPort)] == ["amp"]
        assert store.find_first(LoginSystem).account_by_address("ann@example.com") is not None

    again = ServerProcess(data)
    try:
        again.wait_ready()
        status = plait("status", data=data)
        assert re.search(rf"amp\s+tcp:127\.0\.0\.1:{again.amp_port}", status.stdout)
    finally:
        again.ensure_stopped()
    assert axiomatic(site, "userbase", "list").stdout.strip() == "ann@example.com"


def test_bad_listen_endpoint_is_one_line(tmp_path: Path) -> None:
    result = plait("serve", "--listen", "amp=tcp:notaport", data=tmp_path / "data")
    assert result.returncode == 1
    assert result.stderr.startswith("plait serve: --listen amp=tcp:notaport:")
    assert result.stderr.count("\n") == 1


def test_axiomatic_start_status_stop_on_a_site(tmp_path: Path) -> None:
    """`axiomatic start` runs a site's services with no plait code imported beforehand: the
    store imports the module recorded for each stored type."""
    site = tmp_path / "site.axiom"
    with Store(site) as store:
        install_defaults(store, {"amp": AmpServiceMaker()})
        move_services(store, {"amp": "tcp:0:interface=127.0.0.1"})
    proc = subprocess.Popen([sys.executable, "-m", "plait.axiom.cli", "-d", str(site), "start"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"axiomatic: serving {site}"), (first, proc.stderr.read())
        amp_line = proc.stdout.readline()
        assert re.match(r"\s+amp\s+tcp:127\.0\.0\.1:\d+", amp_line), amp_line
        status = axiomatic(site, "status")
        assert status.stdout.startswith(f"{site}: running (pid {proc.pid})")
        assert amp_line.split()[1] in status.stdout
        busy = axiomatic(site, "userbase", "list")
        assert "in use by `axiomatic start`" in busy.stderr
        stopped = axiomatic(site, "stop")
        assert stopped.returncode == 0 and stopped.stdout.strip() == f"stopped (pid {proc.pid})"
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert axiomatic(site, "status").stdout.strip() == f"{site}: not running"
