"""Types for the compiled VT102 parser (plait/conch/insults/_vt102.pyx), and the names it
re-exports from _keys, _screen and _width."""
from typing import Any

from plait.conch.insults._keys import KeyHandler as KeyHandler
from plait.conch.insults._keys import KeyParser as KeyParser
from plait.conch.insults._screen import TerminalBuffer as TerminalBuffer
from plait.conch.insults._width import char_width as char_width

__all__ = ["KeyHandler", "KeyParser", "TerminalBuffer", "TerminalParser", "char_width"]

class TerminalParser:
    terminal: Any
    def __init__(self, terminal: Any) -> None: ...
    def feed(self, data: bytes | bytearray | memoryview) -> None: ...
