"""The Faucet world: rooms, things, exits and the players in them; commands and who sees
what.

Why apart from the screen: the game rules are plain Python with no terminal, so they are
tested directly, and every session (SSH or telnet) of one server shares one
:class:`World` — that is how players see each other.  A player's session is an
:class:`Observer`: it is told messages (its own results and what others do in sight) and
when what it looks at changed (the room, the things in it).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "DIRECTIONS",
    "MAX_COMMAND",
    "MAX_INVENTORY",
    "MAX_PLAYERS",
    "Observer",
    "Player",
    "Room",
    "Thing",
    "World",
    "WorldFull",
    "default_world",
    "shared_world",
]

#: Characters in one command; longer ones are refused.
MAX_COMMAND = 200
#: Things one player may carry.
MAX_INVENTORY = 8
#: Players in one world at a time.
MAX_PLAYERS = 64

DIRECTIONS = {"n": "north", "s": "south", "e": "east", "w": "west", "u": "up", "d": "down"}

HELP = ("Commands: look, go <exit> (or n/s/e/w/u/d), take <thing>, drop <thing>, "
        "inventory (i), say <text> (or 'text), who, help, quit")


class WorldFull(Exception):
    """No room for another player (MAX_PLAYERS)."""


class Observer(Protocol):
    def message(self, text: str) -> None: ...

    def room_changed(self) -> None: ...

    def quit(self) -> None: ...


@dataclasses.dataclass
class Thing:
    name: str
    description: str


@dataclasses.dataclass
class Room:
    key: str
    title: str
    description: str
    exits: dict[str, str] = dataclasses.field(default_factory=dict)
    things: list[Thing] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(eq=False)
class Player:
    name: str
    room: Room
    observer: Observer
    inventory: list[Thing] = dataclasses.field(default_factory=list)


def _find(things: list[Thing], name: str) -> Thing | None:
    name = name.strip().lower()
    for thing in things:
        if thing.name.lower() == name:
            return thing
    for thing in things:
        if thing.name.lower().startswith(name) and name:
            return thing
    return None


class World:
    """Rooms keyed by name; ``start`` is where players arrive."""

    def __init__(self, rooms: list[Room], start: str) -> None:
        self.rooms = {room.key: room for room in rooms}
        if start not in self.rooms:
            raise ValueError(f"no start room {start!r}")
        for room in rooms:
            for direction, target in room.exits.items():
                if target not in self.rooms:
                    raise ValueError(f"{room.key} exit {direction} leads nowhere ({target})")
        self.start = start
        self.players: list[Player] = []

    # -- who is where -----------------------------------------------------------------

    def join(self, name: str, observer: Observer) -> Player:
        if len(self.players) >= MAX_PLAYERS:
            raise WorldFull(f"the world is full ({MAX_PLAYERS} players)")
        taken = {p.name for p in self.players}
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name}#{n}"
        player = Player(unique, self.rooms[self.start], observer)
        self.players.append(player)
        self._others(player, f"{player.name} appears.")
        return player

    def leave(self, player: Player) -> None:
        if player not in self.players:
            return
        self.players.remove(player)
        player.room.things.extend(player.inventory)   # what they carried stays behind
        player.inventory.clear()
        self._others(player, f"{player.name} vanishes.", changed=True)

    def present(self, room: Room) -> list[Player]:
        return [p for p in self.players if p.room is room]

    def describe(self, player: Player) -> str:
        room = player.room
        exits = ", ".join(room.exits) or "none"
        return f"{room.title}\n\n{room.description}\n\nExits: {exits}"

    def objects(self, player: Player) -> list[str]:
        """What the objects pane lists: things, then the other players."""
        room = player.room
        return [t.name for t in room.things] + [
            f"{p.name} (player)" for p in self.present(room) if p is not player]

    def _others(self, player: Player, text: str, changed: bool = True,
                room: Room | None = None) -> None:
        for other in self.present(room or player.room):
            if other is not player:
                other.observer.message(text)
                if changed:
                    other.observer.room_changed()

    # -- commands -------------------------------------------------------------------------

    def command(self, player: Player, text: str) -> None:
        """Run one command line for ``player``; results go to the observers."""
        text = text.strip()
        if not text:
            return
        if len(text) > MAX_COMMAND:
            player.observer.message(f"That is too long (at most {MAX_COMMAND} characters).")
            return
        if text.startswith("'"):
            verb, rest = "say", text[1:]
        else:
            verb, _, rest = text.partition(" ")
            verb = verb.lower()
        if verb in DIRECTIONS or verb in DIRECTIONS.values():
            verb, rest = "go", verb
        handler: Callable[[Player, str], None] | None = getattr(self, f"do_{verb}", None)
        aliases = {"i": self.do_inventory, "inv": self.do_inventory, "l": self.do_look,
                   "get": self.do_take, "exit": self.do_quit, "?": self.do_help}
        handler = handler or aliases.get(verb)
        if handler is None:
            player.observer.message(f"I don't know how to {verb!r}. Try 'help'.")
            return
        handler(player, rest.strip())

    def do_help(self, player: Player, rest: str) -> None:
        player.observer.message(HELP)

    def do_look(self, player: Player, rest: str) -> None:
        if rest:
            thing = _find(player.room.things + player.inventory, rest)
            if thing is None:
                player.observer.message(f"You see no {rest} here.")
            else:
                player.observer.message(thing.description)
            return
        player.observer.room_changed()
        player.observer.message(player.room.title)

    def do_go(self, player: Player, rest: str) -> None:
        direction = DIRECTIONS.get(rest.lower(), rest.lower())
        target = player.room.exits.get(direction)
        if target is None:
            player.observer.message(f"You can't go {rest or 'nowhere'}." if rest
                                    else "Go where?")
            return
        self._others(player, f"{player.name} leaves {direction}.")
        player.room = self.rooms[target]
        self._others(player, f"{player.name} arrives.")
        player.observer.room_changed()
        player.observer.message(f"You go {direction}.")

    def do_take(self, player: Player, rest: str) -> None:
        thing = _find(player.room.things, rest) if rest else None
        if thing is None:
            player.observer.message(f"There is no {rest} here." if rest else "Take what?")
            return
        if len(player.inventory) >= MAX_INVENTORY:
            player.observer.message(f"You can't carry more than {MAX_INVENTORY} things.")
            return
        player.room.things.remove(thing)
        player.inventory.append(thing)
        player.observer.room_changed()
        player.observer.message(f"You take the {thing.name}.")
        self._others(player, f"{player.name} takes the {thing.name}.")

    def do_drop(self, player: Player, rest: str) -> None:
        thing = _find(player.inventory, rest) if rest else None
        if thing is None:
            player.observer.message(f"You have no {rest}." if rest else "Drop what?")
            return
        player.inventory.remove(thing)
        player.room.things.append(thing)
        player.observer.room_changed()
        player.observer.message(f"You drop the {thing.name}.")
        self._others(player, f"{player.name} drops the {thing.name}.")

    def do_inventory(self, player: Player, rest: str) -> None:
        names = ", ".join(t.name for t in player.inventory)
        player.observer.message(f"You carry: {names}." if names else "You carry nothing.")

    def do_say(self, player: Player, rest: str) -> None:
        if not rest:
            player.observer.message("Say what?")
            return
        player.observer.message(f'You say, "{rest}"')
        self._others(player, f'{player.name} says, "{rest}"', changed=False)

    def do_who(self, player: Player, rest: str) -> None:
        lines = [f"  {p.name} ({p.room.title})" for p in self.players]
        player.observer.message("Players here now:\n" + "\n".join(lines))

    def do_quit(self, player: Player, rest: str) -> None:
        player.observer.message("Goodbye.")
        player.observer.quit()


def default_world() -> World:
    """A small house with a garden: five rooms and a few things to carry about."""
    return World([
        Room("hall", "The Faucet Hall",
             "A draughty hall. A brass faucet drips in the middle of the floor, though no "
             "pipe leads to it. Doors lead north to the garden and east to the library; "
             "stairs go down.",
             {"north": "garden", "east": "library", "down": "cellar"},
             [Thing("lamp", "A brass lamp, polished and unlit."),
              Thing("bucket", "A wooden bucket under the faucet, half full.")]),
        Room("garden", "The Overgrown Garden",
             "Brambles and roses fight over a sundial. The hall is south; a path winds "
             "up to a tower.",
             {"south": "hall", "up": "tower"},
             [Thing("apple", "A red apple, only slightly bitten."),
              Thing("trowel", "A rusty trowel.")]),
        Room("library", "The Library",
             "Shelves to the ceiling, and a ladder that goes nowhere. The hall is west.",
             {"west": "hall"},
             [Thing("book", "A book titled 'Insults for the VT102'."),
              Thing("quill", "A goose quill, still sharp.")]),
        Room("cellar", "The Cellar",
             "Damp stone and the sound of water in the walls. Stairs go up.",
             {"up": "hall"},
             [Thing("key", "A large iron key.")]),
        Room("tower", "The Tower Top",
             "Wind, and a view of the whole garden. The path goes back down.",
             {"down": "garden"}, []),
    ], "hall")


_SHARED: World | None = None


def shared_world() -> World:
    """The server process's one world: every session of ``plait serve`` plays in it."""
    global _SHARED
    if _SHARED is None:
        _SHARED = default_world()
    return _SHARED
