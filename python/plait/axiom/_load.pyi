from collections.abc import Callable, Iterable
from typing import Any

class Loader:
    def __init__(self, store: Any, cls: type, names: tuple[str, ...], template: dict[str, Any],
                 converters: list[Any],
                 activate: Callable[[Any], None] | None, imap: dict[int, Any]) -> None: ...
    def __call__(self, rows: Iterable[Any]) -> list[Any]: ...
