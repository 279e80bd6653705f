"""The test harness itself: async tests run once on each loop, with or without `loop_kind`."""
import asyncio


async def test_runs_without_asking_for_loop_kind() -> None:
    await asyncio.sleep(0)


async def test_runs_on_the_named_loop(loop_kind: str, tmp_path) -> None:
    loop = asyncio.get_running_loop()
    assert ("uvloop" in type(loop).__module__) == (loop_kind == "uvloop")
    assert tmp_path.is_dir()
