"""Keys a terminal user can press, as ``KeyParser`` delivers them.

Printable and control characters arrive as one-character ``str`` (Enter ``"\\r"``, Backspace
``"\\x7f"``, Tab ``"\\t"``, a lone Escape ``"\\x1b"``); everything else is a ``FunctionKey``.
Modifiers use xterm's encoding (``CSI 1;<1+bits>A``), so the flag values equal xterm's bits.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionKey:
    """A key that has no character: arrows, editing keys, F1..F12."""

    name: str

    def __repr__(self) -> str:
        return f"<FunctionKey {self.name}>"


class Modifier(enum.IntFlag):
    """Modifier keys held with a key; values are xterm's modifier parameter minus one."""

    NONE = 0
    SHIFT = 1
    ALT = 2
    CTRL = 4
    META = 8


UP_ARROW = FunctionKey("up_arrow")
DOWN_ARROW = FunctionKey("down_arrow")
RIGHT_ARROW = FunctionKey("right_arrow")
LEFT_ARROW = FunctionKey("left_arrow")
HOME = FunctionKey("home")
END = FunctionKey("end")
INSERT = FunctionKey("insert")
DELETE = FunctionKey("delete")
PGUP = FunctionKey("pgup")
PGDN = FunctionKey("pgdn")
NUMPAD_MIDDLE = FunctionKey("numpad_middle")
F1 = FunctionKey("f1")
F2 = FunctionKey("f2")
F3 = FunctionKey("f3")
F4 = FunctionKey("f4")
F5 = FunctionKey("f5")
F6 = FunctionKey("f6")
F7 = FunctionKey("f7")
F8 = FunctionKey("f8")
F9 = FunctionKey("f9")
F10 = FunctionKey("f10")
F11 = FunctionKey("f11")
F12 = FunctionKey("f12")

FUNCTION_KEYS: tuple[FunctionKey, ...] = (
    UP_ARROW, DOWN_ARROW, RIGHT_ARROW, LEFT_ARROW, HOME, END, INSERT, DELETE, PGUP, PGDN,
    NUMPAD_MIDDLE, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12,
)

__all__ = [
    "DELETE", "DOWN_ARROW", "END", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10",
    "F11", "F12", "FUNCTION_KEYS", "HOME", "INSERT", "LEFT_ARROW", "NUMPAD_MIDDLE", "PGDN",
    "PGUP", "RIGHT_ARROW", "UP_ARROW", "FunctionKey", "Modifier",
]
