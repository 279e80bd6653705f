"""The `plait` command line, run as a user runs it: serve, status, stop, --version."""
from __future__ import annotations

import re
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from serve_process import ServerProcess, plait, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data")
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.ensure_stopped()


def test_version() -> None:
    result = plait("--version")
    assert result.returncode == 0
    assert re.match(r"plait 0\.1\.0(\+g[0-9a-f]+)?$", result.stdout.strip())


def test_no_command_is_a_usage_error() -> None:
    result = plait()
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_status_without_server_is_one_line_failure(tmp_path: Path) -> None:
    result = plait("status", data=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("plait status: no plait server is running in")


def test_banner_status_and_stop(server: ServerProcess) -> None:
    banner = "\n".join(server.lines)
    socket_path = server.data / "control.sock"
    assert f"control    unix:{socket_path}" in banner
    assert server.amp_port > 0

    status = plait("status", data=server.data)
    assert status.returncode == 0, status.stderr
    assert f"pid {server.proc.pid}" in status.stdout
    assert re.search(rf"amp\s+tcp:127\.0\.0\.1:{server.amp_port}", status.stdout)
    assert re.search(r"control\s+unix:", status.stdout)

    stopped = plait("stop", data=server.data)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "stopped"
    assert server.wait() == 0
    assert server.lines[-1] == "plait stopped"
    assert not socket_path.exists()


def test_control_socket_is_private(server: ServerProcess) -> None:
    mode = stat.S_IMODE((server.data / "control.sock").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(server.data.stat().st_mode) == 0o700


def test_sigterm_stops_gracefully(server: ServerProcess) -> None:
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert server.lines[-1] == "plait stopped"


def test_second_server_on_same_data_is_refused(server: ServerProcess) -> None:
    second = ServerProcess(server.data)
    try:
        assert second.wait() == 1
        err = second.stderr()
        assert f"already running in {server.data} (pid {server.proc.pid})" in err
        assert err.count("\n") == 1
    finally:
        second.ensure_stopped()
    assert plait("status", data=server.data).returncode == 0


def test_stale_control_socket_is_cleared(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(data / "control.sock"))
    stale.close()  # the file stays, nobody listens: a server that died
    proc = ServerProcess(data)
    try:
        proc.wait_ready()
        assert plait("status", data=data).returncode == 0
    finally:
        proc.ensure_stopped()


def test_bad_listen_option(tmp_path: Path) -> None:
    result = plait("serve", "--listen", "nonsense", data=tmp_path)
    assert result.returncode == 1
    assert "expected NAME=ENDPOINT" in result.stderr
    unknown = plait("serve", "--listen", "nosuch=tcp:0", data=tmp_path)
    assert unknown.returncode == 1
    assert "unknown service(s) nosuch" in unknown.stderr


def test_busy_port_is_one_line_failure(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = plait("serve", "--listen", f"amp=tcp:{port}:interface=127.0.0.1",
                       data=tmp_path / "data")
    assert result.returncode == 1
    assert result.stderr.startswith("plait serve: cannot start")
    assert result.stderr.count("\n") == 1
    assert wait_for(lambda: not (tmp_path / "data" / "control.sock").exists())
