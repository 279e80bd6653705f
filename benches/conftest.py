"""Fixtures and hooks for the benchmarks in benches/ (run them with ``benches/run.py``).

The normal test run never collects these files: pytest's ``testpaths`` is ``tests`` and the
files are named ``bench_*.py``, which only ``run.py`` asks for (``-o python_files=bench_*.py``).

Conventions: each benchmark function is named ``test_<what>_<impl>`` where ``impl`` is
``plait``, ``uvloop`` or ``twisted`` (or ``test_<what>_interleaved`` when one test runs every
implementation in turns), and carries ``@pytest.mark.benchmark(group=...)``.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import TwistedDriver, twisted_driver


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench-group", action="append", default=[], metavar="GROUP",
        help="only run benchmarks of this pytest-benchmark group (repeatable)",
    )


def _group_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("benchmark")
    if marker is None:
        return None
    return marker.kwargs.get("group")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--bench-group")
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        (keep if _group_of(item) in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# ---- outcome report for run.py (skips and errors do not appear in --benchmark-json)

_outcomes: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = os.environ.get("PLAIT_BENCH_REPORT")
    if not path:
        return
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
    if report.failed or (report.skipped and entry["outcome"] == "passed"):
        entry["outcome"] = "skipped" if report.skipped else f"failed in {report.when}"
        if report.skipped and isinstance(report.longrepr, tuple):
            entry["message"] = str(report.longrepr[2]).removeprefix("Skipped: ")
        else:
            text = str(report.longrepr or "").strip().splitlines()
            errors = [line for line in text if line.startswith("E ")]
            entry["message"] = (errors[-1][1:].strip() if errors else (text[-1] if text else ""))


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:
        name = item.name.split("[")[0]
        impl = name.rsplit("_", 1)[-1]
        _outcomes[item.nodeid] = {
            "outcome": "passed", "message": "", "group": _group_of(item), "impl": impl,
            "name": item.name,
        }


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("PLAIT_BENCH_REPORT")
    if path:
        Path(path).write_text(json.dumps(_outcomes, indent=1))


# ---- loops


@pytest.fixture(scope="session")
def uv_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One persistent uvloop loop for every plait and bare-uvloop network benchmark."""
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(scope="session")
def twisted() -> TwistedDriver:
    """Twisted's default reactor, started once and driven by hand."""
    return twisted_driver()
