"""The server side of a terminal: write screen operations as bytes, read keys.

``ServerProtocol`` sits between a byte transport (an SSH session channel, a telnet
connection, a pty) and a ``TerminalProtocol`` application.  Every ``Terminal`` method
writes its VT102/xterm escape sequence, so an application draws with method calls
instead of bytes; what the user types goes through the native ``KeyParser`` and
reaches the application as ``keystroke_received(key, modifier)``.  It is
transport-neutral: anything with ``write(bytes)`` and ``close()`` can carry it.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from plait.conch.insults._keys import KeyParser
from plait.conch.insults.keys import FunctionKey, Modifier
from plait.conch.insults.terminal import (
    CS_ALTERNATE,
    CS_ALTERNATE_SPECIAL,
    CS_DRAWING,
    CS_UK,
    CS_US,
    G0,
    G1,
)

__all__ = [
    "ESCAPE_TIMEOUT",
    "MAX_TERMINAL_HEIGHT",
    "MAX_TERMINAL_WIDTH",
    "Key",
    "ServerProtocol",
    "TerminalProtocol",
    "TerminalTransport",
]

Key = str | FunctionKey

# A lone ESC is ambiguous (the Escape key, or the start of a sequence split across
# packets); after this long without more bytes it is delivered as the Escape key.
ESCAPE_TIMEOUT = 0.05

# Larger sizes from NAWS / window-change are clamped: no real terminal is this big, and
# widget applications paint width x height cells on every update.
MAX_TERMINAL_WIDTH = 1000
MAX_TERMINAL_HEIGHT = 500

_CHARSETS = frozenset({CS_US, CS_UK, CS_DRAWING, CS_ALTERNATE, CS_ALTERNATE_SPECIAL})
_DESIGNATORS = {G0: b"(", G1: b")"}
# OSC text must not contain controls: an ESC or BEL in a title would end the string early
# and let the rest be interpreted as escape sequences.
_TITLE_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TerminalTransport(Protocol):
    """What ``ServerProtocol`` writes to: an SSH channel, a telnet connection, a pty."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class TerminalProtocol:
    """Base class for terminal applications: override the events you care about.

    ``terminal`` is the ``ServerProtocol`` to draw on; it is set by
    ``make_connection`` before ``connection_made`` runs.
    """

    terminal: ServerProtocol | None = None

    def make_connection(self, terminal: ServerProtocol) -> None:
        self.terminal = terminal
        self.connection_made()

    def connection_made(self) -> None:
        """The terminal is ready; ``self.terminal.width``/``height`` hold its size."""

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        """One key: a 1-character ``str`` or a ``FunctionKey``."""

    def paste_received(self, text: str) -> None:
        """Bracketed paste; by default each character arrives as a keystroke so that
        applications that know nothing about pasting still get the text."""
        for char in text:
            self.keystroke_received(char, Modifier.NONE)

    def terminal_size(self, width: int, height: int) -> None:
        """The terminal was resized (SSH window-change, telnet NAWS)."""

    def connection_lost(self, reason: Exception | None) -> None:
        """The transport is gone; ``reason`` is None on a clean close."""


def _number(n: int, name: str = "n") -> bytes:
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")
    return b"%d" % n


def _coordinate(value: int, name: str) -> int:
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}")
    return value + 1


def _mode_list(modes: Sequence[int]) -> bytes:
    if not modes:
        raise ValueError("at least one mode is needed")
    for mode in modes:
        if mode < 0:
            raise ValueError(f"mode numbers are 0 or more, got {mode}")
    return b";".join(b"%d" % mode for mode in modes)


class ServerProtocol:
    """Write terminal operations as escape sequences; parse keys for the application.

    ``protocol_factory(*args, **kwargs)`` builds the ``TerminalProtocol`` when the
    transport connects.  ``width``/``height`` start at 80x24 until ``terminal_size``
    reports the real size.
    """

    def __init__(
        self,
        protocol_factory: Callable[..., TerminalProtocol] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.protocol_factory = protocol_factory
        self.protocol_args = args
        self.protocol_kwargs = kwargs
        self.terminal_protocol: TerminalProtocol | None = None
        self.transport: TerminalTransport | None = None
        self.width = 80
        self.height = 24
        self.escape_timeout = ESCAPE_TIMEOUT
        self._keys = KeyParser(self)
        self._flush_handle: asyncio.TimerHandle | None = None
        self._closed = False

    # -- connection ---------------------------------------------------------------

    def make_connection(self, transport: TerminalTransport) -> None:
        self.transport = transport
        self.connection_made()

    def connection_made(self) -> None:
        if self.protocol_factory is not None:
            self.terminal_protocol = self.protocol_factory(
                *self.protocol_args, **self.protocol_kwargs
            )
            self.terminal_protocol.make_connection(self)

    def data_received(self, data: bytes) -> None:
        """Bytes the user typed: parsed into keystrokes for the application."""
        self._cancel_flush()
        self._keys.feed(data)
        if self._keys.pending and not self._closed:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.escape_timeout, self.flush_keys)

    @property
    def escape_pending(self) -> bool:
        """True while a lone ESC (or a partial sequence) waits for the flush timer."""
        return self._flush_handle is not None

    def flush_keys(self) -> None:
        """Deliver a pending lone ESC (or unfinished sequence) as keys now."""
        self._cancel_flush()
        self._keys.flush()

    def terminal_size(self, width: int, height: int) -> None:
        """The client's window size changed; 0 means "unknown" and keeps the old value."""
        if width < 0 or height < 0:
            raise ValueError(f"terminal size must not be negative, got {width}x{height}")
        width = min(width, MAX_TERMINAL_WIDTH) or self.width
        height = min(height, MAX_TERMINAL_HEIGHT) or self.height
        self.width = width
        self.height = height
        if self.terminal_protocol is not None:
            self.terminal_protocol.terminal_size(width, height)

    def connection_lost(self, reason: Exception | None) -> None:
        self._closed = True
        self._cancel_flush()
        protocol, self.terminal_protocol = self.terminal_protocol, None
        if protocol is not None:
            protocol.connection_lost(reason)

    def lose_connection(self) -> None:
        """Close the transport (the application's way to hang up)."""
        if self.transport is not None:
            self.transport.close()

    def _cancel_flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    # -- KeyParser handler ----------------------------------------------------------

    def keystroke_received(self, key: Key, modifier: Modifier) -> None:
        if self.terminal_protocol is not None:
            self.terminal_protocol.keystroke_received(key, modifier)

    def paste_received(self, text: str) -> None:
        if self.terminal_protocol is not None:
            self.terminal_protocol.paste_received(text)

    # -- output ---------------------------------------------------------------------

    def write_bytes(self, data: bytes) -> None:
        """Raw bytes to the terminal (already-encoded escape sequences)."""
        if data and self.transport is not None and not self._closed:
            self.transport.write(data)

    def _csi(self, params: bytes, final: bytes) -> None:
        self.write_bytes(b"\x1b[" + params + final)

    def write(self, text: str) -> None:
        """Text to show; ``"\\n"`` becomes CR LF as on a cooked terminal."""
        if text:
            self.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))

    def cursor_up(self, n: int = 1) -> None:
        self._csi(_number(n), b"A")

    def cursor_down(self, n: int = 1) -> None:
        self._csi(_number(n), b"B")

    def cursor_forward(self, n: int = 1) -> None:
        self._csi(_number(n), b"C")

    def cursor_backward(self, n: int = 1) -> None:
        self._csi(_number(n), b"D")

    def cursor_position(self, column: int, line: int) -> None:
        row = _coordinate(line, "line")
        col = _coordinate(column, "column")
        self._csi(b"%d;%d" % (row, col), b"H")

    def cursor_home(self) -> None:
        self._csi(b"", b"H")

    def cursor_column(self, column: int) -> None:
        self._csi(b"%d" % _coordinate(column, "column"), b"G")

    def cursor_line(self, line: int) -> None:
        self._csi(b"%d" % _coordinate(line, "line"), b"d")

    def index(self) -> None:
        self.write_bytes(b"\x1bD")

    def reverse_index(self) -> None:
        self.write_bytes(b"\x1bM")

    def next_line(self) -> None:
        self.write_bytes(b"\x1bE")

    def save_cursor(self) -> None:
        self.write_bytes(b"\x1b7")

    def restore_cursor(self) -> None:
        self.write_bytes(b"\x1b8")

    def set_modes(self, modes: Sequence[int]) -> None:
        self._csi(_mode_list(modes), b"h")

    def reset_modes(self, modes: Sequence[int]) -> None:
        self._csi(_mode_list(modes), b"l")

    def set_private_modes(self, modes: Sequence[int]) -> None:
        self._csi(b"?" + _mode_list(modes), b"h")

    def reset_private_modes(self, modes: Sequence[int]) -> None:
        self._csi(b"?" + _mode_list(modes), b"l")

    def application_keypad_mode(self) -> None:
        self.write_bytes(b"\x1b=")

    def numeric_keypad_mode(self) -> None:
        self.write_bytes(b"\x1b>")

    def select_character_set(self, charset: bytes, which: int) -> None:
        if which not in _DESIGNATORS:
            raise ValueError(f"which must be G0 (0) or G1 (1), got {which!r}")
        if charset not in _CHARSETS:
            raise ValueError(f"unknown character set {charset!r}")
        self.write_bytes(b"\x1b" + _DESIGNATORS[which] + charset)

    def shift_in(self) -> None:
        self.write_bytes(b"\x0f")

    def shift_out(self) -> None:
        self.write_bytes(b"\x0e")

    def single_shift2(self) -> None:
        self.write_bytes(b"\x1bN")

    def single_shift3(self) -> None:
        self.write_bytes(b"\x1bO")

    def select_graphic_rendition(self, *params: int) -> None:
        for param in params:
            if not 0 <= param <= 255:
                raise ValueError(f"SGR parameters are 0..255, got {param}")
        self._csi(b";".join(b"%d" % p for p in params), b"m")

    def horizontal_tabulation_set(self) -> None:
        self.write_bytes(b"\x1bH")

    def tabulation_clear(self) -> None:
        self._csi(b"", b"g")

    def tabulation_clear_all(self) -> None:
        self._csi(b"3", b"g")

    def horizontal_tab(self, n: int = 1) -> None:
        self._csi(_number(n), b"I")

    def double_height_line(self, top: bool = True) -> None:
        self.write_bytes(b"\x1b#3" if top else b"\x1b#4")

    def single_width_line(self) -> None:
        self.write_bytes(b"\x1b#5")

    def double_width_line(self) -> None:
        self.write_bytes(b"\x1b#6")

    def erase_to_line_end(self) -> None:
        self._csi(b"", b"K")

    def erase_to_line_beginning(self) -> None:
        self._csi(b"1", b"K")

    def erase_line(self) -> None:
        self._csi(b"2", b"K")

    def erase_to_display_end(self) -> None:
        self._csi(b"", b"J")

    def erase_to_display_beginning(self) -> None:
        self._csi(b"1", b"J")

    def erase_display(self) -> None:
        self._csi(b"2", b"J")

    def erase_character(self, n: int = 1) -> None:
        self._csi(_number(n), b"X")

    def delete_character(self, n: int = 1) -> None:
        self._csi(_number(n), b"P")

    def insert_character(self, n: int = 1) -> None:
        self._csi(_number(n), b"@")

    def insert_line(self, n: int = 1) -> None:
        self._csi(_number(n), b"L")

    def delete_line(self, n: int = 1) -> None:
        self._csi(_number(n), b"M")

    def scroll_up(self, n: int = 1) -> None:
        self._csi(_number(n), b"S")

    def scroll_down(self, n: int = 1) -> None:
        self._csi(_number(n), b"T")

    def set_scroll_region(self, first: int | None = None, last: int | None = None) -> None:
        """Lines ``first``..``last`` (0-based, inclusive) scroll; None means the edge."""
        top = b"" if first is None else b"%d" % _coordinate(first, "first")
        bottom = b"" if last is None else b"%d" % _coordinate(last, "last")
        if first is not None and last is not None and last <= first:
            raise ValueError(f"scroll region needs first < last, got {first}..{last}")
        self._csi(top + b";" + bottom if top or bottom else b"", b"r")

    def carriage_return(self) -> None:
        self.write_bytes(b"\r")

    def line_feed(self) -> None:
        self.write_bytes(b"\n")

    def backspace(self) -> None:
        self.write_bytes(b"\x08")

    def bell(self) -> None:
        self.write_bytes(b"\x07")

    def set_title(self, title: str) -> None:
        self.write_bytes(b"\x1b]2;" + _TITLE_CONTROLS.sub("", title).encode("utf-8") + b"\x07")

    def reset(self) -> None:
        self.write_bytes(b"\x1bc")

    def unhandled_control_sequence(self, seq: bytes) -> None:
        """Pass a sequence this interface has no method for straight through."""
        self.write_bytes(seq)
