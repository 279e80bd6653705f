"""Declared powerups and dependencies: install an item, and what it needs comes with it.

Why: in Divmod's ``axiom.dependency`` an application does not wire its powerups by hand.
An item class says which interfaces it powers its target up for and which other items it
needs; :func:`install_on` then creates (or reuses) those dependencies, installs them first,
and powers the target up, and :func:`uninstall_from` takes it all back down again::

    class Mailer(Item):
        powerup_interfaces = [IMailer, (IService, 10)]   # (interface, priority)
        queue = depends_on(OutgoingQueue)                # created and installed with it

    m = Mailer(store=s)
    install_on(m, s)              # installs an OutgoingQueue first (or reuses the one
                                  # already installed on s), sets m.queue, powers s up
    installed_on(m)               # -> s
    installed_requirements(m, s)  # -> [m.queue]
    uninstall_from(m, s)          # powers down; the queue goes too unless someone else
                                  # needs it or it was installed explicitly

The target is a :class:`~plait.axiom.store.Store` or an item in the same store (powerups
of items, as :mod:`plait.axiom.powerup` keeps them).  Which item is installed on which target is
recorded in the store (``_DependencyConnector`` items), so it survives reopening.  An item
may define ``installed()`` and ``uninstalled()`` hooks, called after each step.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from plait.axiom import powerup
from plait.axiom.attributes import CASCADE, boolean, reference
from plait.axiom.comparison import Comparison
from plait.axiom.errors import AxiomError
from plait.axiom.item import Item
from plait.axiom.store import Store

__all__ = [
    "DependencyError",
    "dependencies_of",
    "depends_on",
    "install_on",
    "installed_dependents",
    "installed_on",
    "installed_requirements",
    "installed_unique_requirements",
    "powerup_interfaces_of",
    "uninstall_from",
]

Customizer = Callable[[Any], None]


class DependencyError(AxiomError):
    """An install or uninstall that would break a dependency (or repeat an install)."""


class _DependsOn(reference):
    """A reference attribute that also declares a dependency (see :func:`depends_on`)."""

    dependency_type: type[Item]
    customizer: Customizer | None


def depends_on(
    item_type: type[Item],
    customizer: Customizer | None = None,
    *,
    doc: str = "",
    indexed: bool = True,
) -> Any:
    """Declare, as a class attribute, that this item needs an installed ``item_type``.

    It is a ``reference`` attribute (NULLIFY when the dependency is deleted) that
    :func:`install_on` fills: with the ``item_type`` already installed on the target if
    there is one, else with a new ``item_type(store=...)`` (passed to ``customizer`` to be
    set up) installed there first.
    """
    if not (isinstance(item_type, type) and issubclass(item_type, Item)):
        raise TypeError(f"depends_on: expected an Item subclass, got {item_type!r}")
    attr = _DependsOn(reftype=item_type, doc=doc, indexed=indexed)
    attr.dependency_type = item_type
    attr.customizer = customizer
    return attr


class _DependencyConnector(Item):
    """Records that ``installee`` is installed on ``target`` (None: the store itself)."""

    type_name = "axiom_dependency_connector"
    schema_version = 1

    installee = reference(when_deleted=CASCADE, doc="the item installed")
    target = reference(when_deleted=CASCADE, indexed=True,
                       doc="the item installed on, or None for the store itself")
    explicitly_installed = boolean(default=False,
                                   doc="installed by install_on, not only as a dependency")


# ----------------------------------------------------------------- declarations


def _attribute_name(owner: type, attr: object) -> str:
    for klass in owner.__mro__:
        for name, value in vars(klass).items():
            if value is attr:
                return name
    raise LookupError(attr)  # pragma: no cover


def dependencies_of(item_type: type[Any]) -> list[tuple[str, type[Item], Customizer | None]]:
    """The dependencies ``item_type`` declares: ``(attribute name, type, customizer)``,
    in declaration order (base classes first)."""
    seen: set[str] = set()
    found: list[tuple[str, type[Item], Customizer | None]] = []
    for klass in reversed(item_type.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, _DependsOn) and name not in seen:
                seen.add(name)
                found.append((name, value.dependency_type, value.customizer))
    # a subclass may override a dependency: keep the most derived declaration
    out = []
    for name, _t, _c in found:
        value = getattr(item_type, name, None)
        if isinstance(value, _DependsOn):
            out.append((name, value.dependency_type, value.customizer))
    return out


def powerup_interfaces_of(item: Any) -> list[tuple[type, int]]:
    """``item``'s declared ``powerup_interfaces`` as ``(interface, priority)`` pairs.

    Entries are an interface or an ``(interface, priority)`` tuple; an item may instead
    define ``powerup_interfaces`` as a method or property computing them.
    """
    declared = getattr(item, "powerup_interfaces", ())
    if callable(declared):
        declared = declared()
    out: list[tuple[type, int]] = []
    for entry in declared or ():
        if isinstance(entry, tuple):
            iface, priority = entry
            out.append((iface, int(priority)))
        else:
            out.append((entry, 0))
    return out


# ----------------------------------------------------------------- targets


Target = Store | Item


def _target_store(target: Target) -> Store:
    if isinstance(target, Store):
        return target
    if not isinstance(target, Item):
        raise TypeError(f"install target must be a Store or an Item, not {target!r}")
    if target.store is None:
        raise DependencyError(f"{target!r} is not in a store")
    return target.store


def _on(target: Target) -> Item | None:
    return None if isinstance(target, Store) else target


def _is_target(target: Target) -> Comparison:
    on = _on(target)
    column = _DependencyConnector.target
    return column.is_none() if on is None else column == on


def _check_same_store(item: Item, target: Target) -> Store:
    store = item.store
    if store is None:
        raise DependencyError(f"{item!r} is not in a store; create it with store=")
    if _target_store(target) is not store:
        raise DependencyError(f"{item!r} and its target {target!r} are in different stores")
    return store


def _connectors(target: Target) -> Iterator[_DependencyConnector]:
    store = _target_store(target)
    yield from store.query(_DependencyConnector, _is_target(target))  # type: ignore[misc]


def _connector_for(item: Item) -> _DependencyConnector | None:
    store = item.store
    if store is None:
        return None
    return store.find_first(_DependencyConnector, _DependencyConnector.installee == item)


def _target_of(store: Store, dc: _DependencyConnector) -> Target:
    target = dc.target
    return store if target is None else target


def _installed_here(item: Item, target: Target) -> bool:
    dc = _connector_for(item)
    return dc is not None and _target_of(_target_store(target), dc) is target


# ----------------------------------------------------------------- install / uninstall


def install_on(item: Item, target: Target) -> None:
    """Install ``item`` on ``target``: its dependencies first, then its powerups.

    Each ``depends_on`` attribute is set to the item of that type already installed on
    ``target``, or to a new one installed now.  Raises :class:`DependencyError` if
    ``item`` is already installed (anywhere), or if it is an item of a type other items
    depend on and one of that type is already installed on ``target``.  The whole
    install is one transaction.
    """
    store = _check_same_store(item, target)
    store.transact(_install_on, item, target, True)


def _install_on(item: Item, target: Target, explicit: bool) -> None:
    store = _check_same_store(item, target)
    existing = _connector_for(item)
    if existing is not None:
        where = _target_of(store, existing)
        raise DependencyError(f"{item!r} is already installed on {where!r}")
    installed = [dc.installee for dc in _connectors(target) if dc.installee is not None]
    for other in installed:
        if type(other) is type(item) and _is_dependency_type(type(item)):
            raise DependencyError(
                f"an instance of {type(item).__name__} is already installed on {target!r}"
            )
    for name, dep_type, customizer in dependencies_of(type(item)):
        current = getattr(item, name)
        if current is not None:
            if _connector_for(current) is None:
                _install_on(current, target, False)
            continue
        reuse = next((o for o in installed if type(o) is dep_type), None)
        if reuse is None:
            reuse = dep_type(store=store)
            if customizer is not None:
                customizer(reuse)
            _install_on(reuse, target, False)
            installed.append(reuse)
        setattr(item, name, reuse)
    _DependencyConnector(store=store, installee=item, target=_on(target),
                         explicitly_installed=explicit)
    for iface, priority in powerup_interfaces_of(item):
        powerup.power_up(target, item, iface, priority)
    hook = getattr(item, "installed", None)
    if callable(hook):
        hook()


def _is_dependency_type(item_type: type) -> bool:
    """Whether some loaded Item class declares ``depends_on(item_type)``."""
    pending: list[type] = [Item]
    while pending:
        klass = pending.pop()
        pending.extend(klass.__subclasses__())
        for value in vars(klass).values():
            if isinstance(value, _DependsOn) and value.dependency_type is item_type:
                return True
    return False


def uninstall_from(item: Item, target: Target) -> None:
    """Undo :func:`install_on`: power ``target`` down, forget the install, and uninstall
    the dependencies it brought that nothing else needs (and were not installed
    explicitly).  Raises :class:`DependencyError` if an installed item still depends on
    ``item``, or if ``item`` is not installed on ``target``."""
    store = _check_same_store(item, target)
    store.transact(_uninstall_from, item, target)


def _uninstall_from(item: Item, target: Target) -> None:
    store = _check_same_store(item, target)
    dc = _connector_for(item)
    if dc is None or _target_of(store, dc) is not target:
        raise DependencyError(f"{item!r} is not installed on {target!r}")
    dependents = installed_dependents(item, target)
    if dependents:
        names = ", ".join(repr(d) for d in dependents)
        raise DependencyError(f"cannot uninstall {item!r}: {names} depend(s) on it")
    requirements = installed_unique_requirements(item, target)
    for iface, _priority in powerup_interfaces_of(item):
        if iface in powerup.interfaces_for(target, item):
            powerup.power_down(target, item, iface)
    dc.delete_from_store()
    hook = getattr(item, "uninstalled", None)
    if callable(hook):
        hook()
    for req in requirements:
        req_dc = _connector_for(req)
        if req_dc is not None and not req_dc.explicitly_installed:
            _uninstall_from(req, target)


# ----------------------------------------------------------------- introspection


def installed_on(item: Item) -> Target | None:
    """The target ``item`` is installed on (a Store or an item), or None."""
    dc = _connector_for(item)
    if dc is None or item.store is None:
        return None
    return _target_of(item.store, dc)


def installed_requirements(item: Item, target: Target) -> list[Item]:
    """The items ``item`` depends on that are installed on ``target``."""
    out: list[Item] = []
    for name, _dep_type, _c in dependencies_of(type(item)):
        dep = getattr(item, name)
        if dep is None or any(dep is o for o in out):
            continue
        if _installed_here(dep, target):
            out.append(dep)
    return out


def installed_dependents(item: Item, target: Target) -> list[Item]:
    """The items installed on ``target`` that depend on ``item``."""
    out: list[Item] = []
    for dc in _connectors(target):
        other = dc.installee
        if other is None or other is item:
            continue
        for name, _t, _c in dependencies_of(type(other)):
            if getattr(other, name) is item:
                out.append(other)
                break
    return out


def installed_unique_requirements(item: Item, target: Target) -> list[Item]:
    """The requirements of ``item`` on ``target`` that no other installed item needs."""
    return [req for req in installed_requirements(item, target)
            if all(d is item for d in installed_dependents(req, target))]
