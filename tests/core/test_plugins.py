"""Entry point plugins, found through a temporary dist-info on sys.path."""
from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from plait.core.plugins import (
    PluginError,
    ServiceMaker,
    axiomatic_commands,
    service_makers,
)

MODULE = textwrap.dedent(
    """
    class GopherMaker:
        name = "gopher"
        description = "a test gopher"
        default_endpoint = "tcp:7070:interface=127.0.0.1"

        def install(self, store, endpoint):
            store.installed[self.name] = endpoint

    finger_maker = GopherMaker()
    finger_maker.name = "finger"

    class NotAMaker:
        pass

    def list_users(store, args):
        return len(store.installed)
    """
)


class FakeStore:
    """Stands in for the site store: records what a maker installs."""

    def __init__(self) -> None:
        self.installed: dict[str, str] = {}


def install_dist(root: Path, entry_points: str, module: str = "plait_test_plugin") -> None:
    (root / f"{module}.py").write_text(MODULE)
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install_dist(
        tmp_path,
        """
        [plait.services]
        gopher = plait_test_plugin:GopherMaker
        finger = plait_test_plugin:finger_maker

        [plait.axiomatic]
        list-users = plait_test_plugin:list_users
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_service_makers_found(plugin_path: Path) -> None:
    makers = service_makers()
    assert {"gopher", "finger"} <= set(makers)
    gopher = makers["gopher"]  # a class in the entry point: instantiated
    assert isinstance(gopher, ServiceMaker)
    assert gopher.default_endpoint == "tcp:7070:interface=127.0.0.1"
    site = FakeStore()
    gopher.install(site, gopher.default_endpoint)
    assert site.installed == {"gopher": "tcp:7070:interface=127.0.0.1"}
    assert makers["finger"].name == "finger"  # an instance: used as is


def test_axiomatic_commands_found(plugin_path: Path) -> None:
    commands = axiomatic_commands()
    assert callable(commands["list-users"])
    assert commands["list-users"](FakeStore(), None) == 0  # type: ignore[operator]


def test_broken_plugins_are_skipped_or_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    install_dist(
        tmp_path,
        """
        [plait.services]
        missing = plait_no_such_module:Maker
        wrong = plait_broken_plugin:NotAMaker
        good = plait_broken_plugin:GopherMaker
        """,
        module="plait_broken_plugin",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="plait.core.plugins"):
        makers = service_makers()
    assert "good" in makers and "missing" not in makers and "wrong" not in makers
    assert "'missing'" in caplog.text and "is not a ServiceMaker" in caplog.text
    with pytest.raises(PluginError, match="missing|wrong"):
        service_makers(strict=True)
