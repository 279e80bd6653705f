"""Which event loop plait runs on: uvloop unless ``PLAIT_LOOP=asyncio`` says otherwise."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOP_ENV = "PLAIT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory for new loops: uvloop's, or asyncio's when ``PLAIT_LOOP=asyncio``."""
    choice = os.environ.get(LOOP_ENV, "uvloop").strip().lower()
    if choice == "asyncio":
        return asyncio.new_event_loop
    if choice != "uvloop":
        raise ValueError(f"{LOOP_ENV}={choice!r}: expected 'uvloop' or 'asyncio'")
    import uvloop

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run ``main`` to completion on a fresh loop of the configured kind and return its result."""
    with asyncio.Runner(debug=debug, loop_factory=loop_factory()) as runner:
        return runner.run(main)
