"""Run every ``async def`` test on both the stock asyncio loop and uvloop."""
from __future__ import annotations

import asyncio
import inspect

import pytest
import uvloop

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
ASYNC_TEST_TIMEOUT = 60.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if inspect.iscoroutinefunction(metafunc.function):
        metafunc.fixturenames.append("loop_kind")
        metafunc.parametrize("loop_kind", sorted(LOOPS))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    kind = pyfuncitem.callspec.params["loop_kind"]
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names if name in pyfuncitem.funcargs}
    if "loop_kind" in names:
        kwargs["loop_kind"] = kind
    with asyncio.Runner(loop_factory=LOOPS[kind]) as runner:
        runner.run(asyncio.wait_for(func(**kwargs), ASYNC_TEST_TIMEOUT))
    return True
