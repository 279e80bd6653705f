"""`plait serve`: the application server, and the client side of its control endpoint.

The server runs the control endpoint (AMP over a UNIX socket in the data directory) and the
site store ``DATA/site.axiom``: every service item in it and its scheduler (see
:mod:`plait.site`). ``--listen NAME=ENDPOINT`` moves a service, saved in the store.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from plait.axiom.service import StoreService
from plait.axiom.store import Store
from plait.control import Status, Stop, control_socket_path
from plait.core.endpoints import client_endpoint
from plait.core.plugins import service_makers
from plait.core.service import MultiService, Service, StreamServerService, run_until_signalled
from plait.epsilon.version import version
from plait.site import SiteError, install_defaults, move_services, open_site, site_store_path
from plait.vertex.juice import AMP, ConnectionLost

DEFAULT_DATA_DIR = Path("plait-data")
CONTROL_TIMEOUT = 10.0
STOP_GRACE = 10.0


class ServeError(Exception):
    """A reason `plait serve`, `status` or `stop` cannot do its job, as one readable line."""


class ControlProtocol(AMP):
    """Answers `plait status` and `plait stop` for one running server."""

    def __init__(self, root: MultiService, data_dir: Path, request_stop: Callable[[], None]):
        super().__init__()
        self._root = root
        self._data_dir = data_dir
        self._request_stop = request_stop

    @Status.responder
    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "version": version.short(),
            "data_dir": str(self._data_dir),
            "services": [
                {"name": service.name, "endpoints": service.endpoints()}
                for service in leaf_services(self._root)
            ],
        }

    @Stop.responder
    def stop(self) -> dict[str, Any]:
        # Let the answer go out before the tree starts stopping.
        asyncio.get_running_loop().call_soon(self._request_stop)
        return {}


def parse_listen_overrides(items: list[str]) -> dict[str, str]:
    """``["amp=tcp:9000"]`` -> ``{"amp": "tcp:9000"}``; a malformed item raises ServeError."""
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, endpoint = item.partition("=")
        if not sep or not name or not endpoint:
            raise ServeError(f"--listen {item!r}: expected NAME=ENDPOINT, e.g. amp=tcp:8750")
        overrides[name] = endpoint
    return overrides


def leaf_services(root: MultiService) -> list[Service]:
    """The services to show: the store's items, not the StoreService holding them."""
    leaves: list[Service] = []
    for service in root.services:
        if isinstance(service, MultiService):
            leaves.extend(leaf_services(service))
        else:
            leaves.append(service)
    return leaves


def build_site(data_dir: Path, store: Store, request_stop: Callable[[], None]) -> MultiService:
    """The service tree: the control endpoint first, then the site store's services."""
    root = MultiService("plait")
    socket_path = control_socket_path(data_dir)
    root.add_service(
        StreamServerService(
            "control",
            f"unix:{socket_path}:mode=0600",
            lambda: ControlProtocol(root, data_dir, request_stop),
            grace=1.0,
        )
    )
    root.add_service(StoreService(store, name="site"))
    return root


async def _call_control(data_dir: Path, command: type, **kwargs: Any) -> dict[str, Any] | None:
    socket_path = control_socket_path(data_dir)
    if not socket_path.exists():
        raise ServeError(f"no plait server is running in {data_dir} (no {socket_path})")
    try:
        proto = await asyncio.wait_for(
            client_endpoint(f"unix:path={socket_path}").connect(AMP), CONTROL_TIMEOUT
        )
    except (TimeoutError, OSError) as exc:
        raise ServeError(
            f"no plait server answers on {socket_path}: {exc.strerror or exc}"
            if isinstance(exc, OSError) else f"no plait server answers on {socket_path}"
        ) from None
    try:
        return await asyncio.wait_for(proto.call_remote(command, **kwargs), CONTROL_TIMEOUT)
    finally:
        proto.close()


async def _prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory, refusing to run beside a live server, clearing a stale socket."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ServeError(f"cannot create data directory {data_dir}: {exc.strerror}") from None
    socket_path = control_socket_path(data_dir)
    if socket_path.exists() or socket_path.is_symlink():
        try:
            answer = await _call_control(data_dir, Status)
        except (ServeError, ConnectionLost, OSError):
            socket_path.unlink()  # left behind by a server that died
        else:
            pid = answer["pid"] if answer else "?"
            raise ServeError(f"a plait server is already running in {data_dir} (pid {pid})")


def banner(root: MultiService, data_dir: Path) -> str:
    """The start-up text: what is served and how to reach it."""
    lines = [f"plait {version.short()} serving from {data_dir} (pid {os.getpid()})"]
    for service in leaf_services(root):
        lines.append(f"  {service.name:<10} {', '.join(service.endpoints()) or '-'}")
    lines.append(f"  `axiomatic -d {site_store_path(data_dir)} userbase create USER@DOMAIN` "
                 "adds a user")
    lines.append(f"  `plait status --data {data_dir}` lists services; "
                 f"`plait stop --data {data_dir}` stops the server")
    return "\n".join(lines)


async def serve(data_dir: Path, overrides: Mapping[str, str], out: TextIO = sys.stdout) -> None:
    """Run the server until SIGINT, SIGTERM or a control Stop, then stop gracefully."""
    data_dir = data_dir.absolute()
    await _prepare_data_dir(data_dir)
    try:
        store = open_site(data_dir)
    except SiteError as exc:
        raise ServeError(str(exc)) from None
    try:
        try:
            install_defaults(store, service_makers())
            move_services(store, overrides)
        except SiteError as exc:
            raise ServeError(str(exc)) from None
        stop_requested = asyncio.Event()
        root = build_site(data_dir, store, stop_requested.set)

        def ready() -> None:
            print(banner(root, data_dir), file=out, flush=True)

        try:
            await run_until_signalled(root, grace=STOP_GRACE, ready=ready,
                                      stop_event=stop_requested)
        except (OSError, ValueError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ServeError(f"cannot start: {detail}") from None
    finally:
        store.close()
        with contextlib.suppress(FileNotFoundError):
            control_socket_path(data_dir).unlink()
    print("plait stopped", file=out, flush=True)


async def status(data_dir: Path) -> str:
    """The running server's services and endpoints, as `plait status` prints them."""
    answer = await _call_control(data_dir, Status)
    assert answer is not None
    lines = [f"plait {answer['version']} (pid {answer['pid']}) serving from {answer['data_dir']}"]
    for service in answer["services"]:
        endpoints = ", ".join(service["endpoints"]) or "-"
        lines.append(f"  {service['name']:<10} {endpoints}")
    return "\n".join(lines)


async def stop(data_dir: Path, wait: float = STOP_GRACE + 5.0) -> bool:
    """Ask the running server to stop gracefully; True once it has gone within ``wait`` seconds."""
    await _call_control(data_dir, Stop)
    socket_path = control_socket_path(data_dir)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while socket_path.exists() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return not socket_path.exists()


__all__ = ["ServeError", "Service", "banner", "build_site", "serve", "status", "stop"]
