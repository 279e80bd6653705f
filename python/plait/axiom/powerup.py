"""Powerups: items that extend a store (or another item) for an interface.

Interfaces are ``typing.Protocol`` classes, recorded by qualified name
(``module.QualName``), so a stored powerup survives restarts without importing anything
until it is asked for.  Each installation is one ``_PowerUp`` item (type
``axiom_powerup``): its target (None: the store itself), the interface name, the powerup
item and a priority; asking for an interface is one indexed query, highest priority first.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, TypeVar

from .attributes import CASCADE, compound_index, integer, reference, text
from .comparison import AND
from .item import Item
from .store import Store

__all__ = ["in_memory_power_up", "interface_name", "interfaces_for", "power_down",
           "power_up", "powerup_for", "powerups_for"]

P = TypeVar("P")
Target = Store | Item


class _PowerUp(Item):
    """One installed powerup (internal: use ``store.power_up`` and friends)."""

    type_name = "axiom_powerup"
    target = reference(when_deleted=CASCADE, doc="the powered-up item; None for the store")
    interface = text(allow_none=False, doc="qualified name of the interface")
    powerup = reference(when_deleted=CASCADE, allow_none=False)
    priority = integer(default=0, allow_none=False)

    _by_interface = compound_index(interface, priority)


def interface_name(interface: Any) -> str:
    """The key an interface is stored under: its module and qualified name."""
    if isinstance(interface, str):
        return interface
    return f"{interface.__module__}.{interface.__qualname__}"


def _resolve(name: str) -> Any:
    """The interface class for a stored name, or the name if it cannot be imported."""
    module, _, qualname = name.rpartition(".")
    while module:
        try:
            obj: Any = importlib.import_module(module)
        except ImportError:
            qualname = module.rpartition(".")[2] + "." + qualname
            module = module.rpartition(".")[0]
            continue
        try:
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            return name
        return obj
    return name


def _split(target: Target) -> tuple[Store, Item | None]:
    if isinstance(target, Store):
        return target, None
    store = target.store
    if store is None:
        raise ValueError(f"{target!r} is not in a store: it cannot have powerups")
    return store, target


def _target_is(target: Item | None) -> Any:
    return _PowerUp.target.is_none() if target is None else _PowerUp.target == target


def power_up(target: Target, item: Item, interface: Any, priority: int = 0) -> None:
    """Install ``item`` on ``target`` for ``interface`` (again: just update the priority)."""
    store, on = _split(target)
    if item.store is not store:
        raise ValueError(f"{item!r} is not in {store}")
    name = interface_name(interface)

    def install() -> None:
        existing = store.find_first(_PowerUp, AND(_target_is(on), _PowerUp.interface == name,
                                                  _PowerUp.powerup == item))
        if existing is not None:
            existing.priority = priority
        else:
            _PowerUp(store=store, target=on, interface=name, powerup=item, priority=priority)

    store._atomically(install)


def power_down(target: Target, item: Item, interface: Any) -> None:
    """Remove ``item`` as a powerup of ``target`` for ``interface`` (ValueError if it is not)."""
    store, on = _split(target)
    name = interface_name(interface)
    query = store.query(_PowerUp, AND(_target_is(on), _PowerUp.interface == name,
                                      _PowerUp.powerup == item))
    if not query.count():
        raise ValueError(f"{item!r} is not a powerup of {target!r} for {name}")
    query.delete()


def in_memory_power_up(target: Store, obj: Any, interface: Any, priority: int = 0) -> None:
    """A powerup that is never stored: kept on the Store object only."""
    if not isinstance(target, Store):
        raise TypeError("in-memory powerups are kept on a Store")
    entries = target._in_memory_powerups.setdefault(interface_name(interface), [])
    entries.append((priority, obj))


def powerups_for(target: Target, interface: Any) -> Iterator[Any]:
    """Powerups of ``target`` for ``interface``, highest priority first (in-memory ones
    among them by priority; stored ones in installation order within a priority)."""
    store, on = _split(target)
    name = interface_name(interface)
    found: list[tuple[int, int, Any]] = []
    query = store.query(_PowerUp, AND(_target_is(on), _PowerUp.interface == name))
    for record in query:
        item = record.powerup
        if item is not None:
            found.append((record.priority, -record.store_id, item))
    if on is None:
        for n, (priority, obj) in enumerate(store._in_memory_powerups.get(name, ())):
            found.append((priority, -(1 << 62) - n, obj))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return iter([t[2] for t in found])


def powerup_for(target: Target, interface: type[P] | Any, default: Any = None) -> Any:
    """The highest-priority powerup of ``target`` for ``interface``, or ``default``
    (the ``IFoo(store)`` adaptation of Divmod Axiom)."""
    for powerup in powerups_for(target, interface):
        return powerup
    return default


def interfaces_for(target: Target, item: Item) -> list[Any]:
    """The interfaces ``item`` powers ``target`` up for (classes where importable, else
    their qualified names)."""
    store, on = _split(target)
    query = store.query(_PowerUp, AND(_target_is(on), _PowerUp.powerup == item))
    names: list[str] = []
    for record in query:
        if record.interface not in names:
            names.append(record.interface)
    return [_resolve(n) for n in names]
