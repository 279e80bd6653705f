"""The file transfer protocol behind `vertex send` and `vertex receive`.

It runs over any reliable byte stream (a Q2Q connection, whichever method carried it; plain
TCP in tests).  The sender offers a name, a size and a SHA-256; the receiver accepts or
refuses; data flows in chunks within the credit the receiver grants (so the receiver never
holds more than its window in memory, whatever the transport buffers); the receiver hashes as
it writes to a temporary file and renames it into place only after the checksum matches, then
tells the sender.  Two layers, as every plait protocol: ``FileTransfer`` is the sans-IO core
(frames, limits, state), ``FileSender``/``FileReceiver`` the asyncio adapters.

Frame: type (1 byte), length (4 bytes, big-endian), payload.
"""
from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any, BinaryIO, cast

from plait.vertex.progress import NullProgress, Progress

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DEFAULT_WINDOW",
    "MAX_CHUNK",
    "MAX_CONTROL",
    "MAX_NAME_BYTES",
    "PROGRESS_STEP",
    "PROTOCOL_NAME",
    "Aborted",
    "Accepted",
    "Credit",
    "Data",
    "Done",
    "FileReceiver",
    "FileSender",
    "FileTransfer",
    "FileTransferError",
    "Offer",
    "ProtocolError",
    "Received",
    "Refused",
    "Result",
    "Role",
    "TransferResult",
    "check_name",
    "prepare_offer",
]

#: The Q2Q protocol name `vertex send` asks for and `vertex receive` listens for.
PROTOCOL_NAME = "file-transfer"
VERSION = 1
MAX_CHUNK = 64 * 1024
#: Largest offer/refuse/result/abort frame: a name, a size and a digest fit many times over.
MAX_CONTROL = 4096
MAX_NAME_BYTES = 255
DEFAULT_WINDOW = 1024 * 1024
DEFAULT_MAX_SIZE = 16 * 1024**3
#: Seconds without any progress before either side gives up (a lossy link can go quiet
#: for tens of seconds while the transport backs off and retransmits).
DEFAULT_IDLE_TIMEOUT = 120.0
_HEADER = struct.Struct("!BI")
_CREDIT = struct.Struct("!I")
_RECEIVED = struct.Struct("!Q")
#: The receiver reports how much it has stored every this many bytes (and at the end): the
#: sender's bar shows delivered bytes (not bytes queued in a transport), and a slow link
#: still shows life.  Not smaller: over lossy PTCP each small reverse write costs a lot.
PROGRESS_STEP = 256 * 1024


class FileTransferError(Exception):
    """A transfer failed; ``str(err)`` is one line fit for the command line."""


class ProtocolError(FileTransferError):
    """The peer broke the protocol (bad frame, out of order, over a limit)."""


class UnsafeName(FileTransferError):
    """An offered name that could escape the directory or is not a plain file name."""


class Role(Enum):
    SENDER = "sender"
    RECEIVER = "receiver"


class _Frame(IntEnum):
    OFFER = 1
    ACCEPT = 2
    REFUSE = 3
    DATA = 4
    CREDIT = 5
    DONE = 6
    RESULT = 7
    ABORT = 8
    RECEIVED = 9


@dataclass(frozen=True)
class Offer:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Accepted:
    credit: int


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class Data:
    data: bytes


@dataclass(frozen=True)
class Credit:
    amount: int


@dataclass(frozen=True)
class Received:
    """The receiver has stored this many bytes so far."""

    total: int


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str


@dataclass(frozen=True)
class Aborted:
    reason: str


Event = Offer | Accepted | Refused | Data | Credit | Received | Done | Result | Aborted


@dataclass(frozen=True)
class TransferResult:
    """A finished transfer: what was sent or received, and where it was stored."""

    name: str
    size: int
    sha256: str
    elapsed: float
    stored_as: str


def check_name(name: str) -> str:
    """Return ``name`` if it is a plain file name, else raise UnsafeName saying why."""
    if not name:
        raise UnsafeName("empty file name")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UnsafeName(f"file name longer than {MAX_NAME_BYTES} bytes")
    if "/" in name or "\\" in name:
        raise UnsafeName(f"file name {name!r} contains a path separator")
    if name in (".", "..") or name.startswith("."):
        raise UnsafeName(f"file name {name!r} starts with a dot")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        raise UnsafeName(f"file name {name!r} contains control characters")
    if name != name.strip():
        raise UnsafeName(f"file name {name!r} starts or ends with white space")
    return name


def _text(payload: bytes, what: str) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{what} is not UTF-8") from None


class FileTransfer:
    """Sans-IO core of one transfer (one file per connection), for either role.

    Feed bytes with ``receive_data``, take events with ``next_event``, call the action
    methods of the role, and write ``data_to_send()`` to the stream.  Bad input raises
    ProtocolError; the caller then sends ``abort`` and closes.
    """

    def __init__(self, role: Role, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.role = role
        self.max_size = max_size
        self.state = "idle"
        self.offer: Offer | None = None
        #: Sender: bytes it may still send.  Receiver: bytes granted and not yet received.
        self.credit = 0
        self.transferred = 0
        #: Sender: the largest stored-bytes report from the receiver.
        self.reported = 0
        self._in = bytearray()
        self._out: list[bytes] = []

    # -- output ---------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _emit(self, kind: _Frame, payload: bytes = b"") -> None:
        self._out.append(_HEADER.pack(kind, len(payload)))
        if payload:
            self._out.append(payload)

    def _expect(self, role: Role, *states: str) -> None:
        if self.role is not role or self.state not in states:
            raise FileTransferError(f"cannot do that as {self.role.value} in state {self.state}")

    # -- sender actions -------------------------------------------------------------------
    def send_offer(self, offer: Offer) -> None:
        self._expect(Role.SENDER, "idle")
        check_name(offer.name)
        body = {"v": VERSION, "name": offer.name, "size": offer.size, "sha256": offer.sha256}
        self._emit(_Frame.OFFER, json.dumps(body).encode())
        self.offer = offer
        self.state = "offered"

    def send_data(self, chunk: bytes) -> None:
        self._expect(Role.SENDER, "sending")
        assert self.offer is not None
        if len(chunk) > min(MAX_CHUNK, self.credit):
            raise FileTransferError("chunk larger than the credit or MAX_CHUNK")
        if self.transferred + len(chunk) > self.offer.size:
            raise FileTransferError("more data than offered")
        self.credit -= len(chunk)
        self.transferred += len(chunk)
        self._emit(_Frame.DATA, chunk)

    def send_done(self) -> None:
        self._expect(Role.SENDER, "sending")
        assert self.offer is not None
        if self.transferred != self.offer.size:
            raise FileTransferError("done before all the data was sent")
        self._emit(_Frame.DONE)
        self.state = "done-sent"

    # -- receiver actions -----------------------------------------------------------------
    def accept(self, credit: int = DEFAULT_WINDOW) -> None:
        self._expect(Role.RECEIVER, "offered")
        self.credit = credit
        self._emit(_Frame.ACCEPT, _CREDIT.pack(credit))
        self.state = "receiving"

    def refuse(self, reason: str) -> None:
        self._expect(Role.RECEIVER, "idle", "offered")
        self._emit(_Frame.REFUSE, reason.encode()[: MAX_CONTROL - 1])
        self.state = "closed"

    def grant(self, amount: int) -> None:
        self._expect(Role.RECEIVER, "receiving")
        if amount <= 0 or self.credit + amount > 0xFFFFFFFF:
            raise FileTransferError("credit out of range")
        self.credit += amount
        self._emit(_Frame.CREDIT, _CREDIT.pack(amount))

    def report(self, total: int) -> None:
        """Tell the sender how many bytes are stored (grows; at most the offered size)."""
        self._expect(Role.RECEIVER, "receiving", "verifying")
        self._emit(_Frame.RECEIVED, _RECEIVED.pack(total))

    def send_result(self, ok: bool, message: str) -> None:
        self._expect(Role.RECEIVER, "verifying")
        body = json.dumps({"ok": ok, "message": message[:1024]}).encode()
        self._emit(_Frame.RESULT, body)
        self.state = "closed"

    # -- either side ------------------------------------------------------------------------
    def abort(self, reason: str) -> None:
        if self.state != "closed":
            self._emit(_Frame.ABORT, reason.encode()[:1024])
        self.state = "closed"

    # -- input ----------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``next_event`` parses them one frame at a time, so an
        action taken on one event (accept, refuse) applies before the next frame is judged."""
        self._in += data

    def next_event(self) -> Event | None:
        if len(self._in) < _HEADER.size:
            return None
        kind, length = _HEADER.unpack_from(self._in)
        limit = MAX_CHUNK if kind == _Frame.DATA else MAX_CONTROL
        if length > limit:
            raise ProtocolError(f"frame of {length} bytes is over the {limit}-byte limit")
        if len(self._in) < _HEADER.size + length:
            return None
        payload = bytes(self._in[_HEADER.size : _HEADER.size + length])
        del self._in[: _HEADER.size + length]
        return self._frame(kind, payload)

    def _frame(self, kind: int, payload: bytes) -> Event:
        if kind == _Frame.ABORT:
            self.state = "closed"
            return Aborted(_text(payload, "abort reason"))
        if self.state == "closed":
            raise ProtocolError("frame after the transfer ended")
        if self.role is Role.RECEIVER:
            if kind == _Frame.OFFER and self.state == "idle":
                self.offer = self._parse_offer(payload)
                self.state = "offered"
                return self.offer
            if kind == _Frame.DATA and self.state == "receiving":
                assert self.offer is not None
                if len(payload) > self.credit:
                    raise ProtocolError("data beyond the granted credit")
                if self.transferred + len(payload) > self.offer.size:
                    raise ProtocolError("more data than offered")
                self.credit -= len(payload)
                self.transferred += len(payload)
                return Data(payload)
            if kind == _Frame.DONE and self.state == "receiving" and not payload:
                assert self.offer is not None
                if self.transferred != self.offer.size:
                    raise ProtocolError(
                        f"done after {self.transferred} of {self.offer.size} bytes"
                    )
                self.state = "verifying"
                return Done()
        else:
            if kind == _Frame.ACCEPT and self.state == "offered" and len(payload) == 4:
                (self.credit,) = _CREDIT.unpack(payload)
                self.state = "sending"
                return Accepted(self.credit)
            if kind == _Frame.REFUSE and self.state == "offered":
                self.state = "closed"
                return Refused(_text(payload, "refusal"))
            if kind == _Frame.CREDIT and self.state in ("sending", "done-sent"):
                if len(payload) != 4:
                    raise ProtocolError("credit frame must be 4 bytes")
                (amount,) = _CREDIT.unpack(payload)
                if self.credit + amount > 0xFFFFFFFF:
                    raise ProtocolError("credit overflow")
                self.credit += amount
                return Credit(amount)
            if kind == _Frame.RECEIVED and self.state in ("sending", "done-sent"):
                assert self.offer is not None
                if len(payload) != _RECEIVED.size:
                    raise ProtocolError("received frame must be 8 bytes")
                (total,) = _RECEIVED.unpack(payload)
                if not self.reported <= total <= min(self.offer.size, self.transferred):
                    raise ProtocolError(f"receiver reports {total} bytes stored out of order")
                self.reported = total
                return Received(total)
            if kind == _Frame.RESULT and self.state == "done-sent":
                self.state = "closed"
                try:
                    body = json.loads(payload)
                    return Result(bool(body["ok"]), str(body["message"]))
                except (ValueError, KeyError, TypeError):
                    raise ProtocolError("malformed result") from None
        name = _Frame(kind).name if kind in _Frame._value2member_map_ else str(kind)
        raise ProtocolError(f"unexpected {name} frame in state {self.state}")

    def _parse_offer(self, payload: bytes) -> Offer:
        try:
            body = json.loads(payload)
            version, name, size, digest = body["v"], body["name"], body["size"], body["sha256"]
        except (ValueError, KeyError, TypeError):
            raise ProtocolError("malformed offer") from None
        if version != VERSION:
            raise ProtocolError(f"unsupported protocol version {version!r}")
        if not isinstance(name, str) or not isinstance(digest, str):
            raise ProtocolError("malformed offer")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ProtocolError("malformed offer size")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ProtocolError("malformed offer checksum")
        return Offer(name, size, digest)


async def prepare_offer(path: Path, name: str | None = None) -> Offer:
    """Hash ``path`` (in a worker thread: it may be large) and build the offer."""
    path = Path(path)
    if not path.is_file():
        raise FileTransferError(f"{path}: not a regular file")

    def digest() -> tuple[int, str]:
        h = hashlib.sha256()
        size = 0
        with path.open("rb") as f:
            while block := f.read(1024 * 1024):
                h.update(block)
                size += len(block)
        return size, h.hexdigest()

    try:
        size, hexdigest = await asyncio.get_running_loop().run_in_executor(None, digest)
    except OSError as e:
        raise FileTransferError(f"{path}: {e.strerror or e}") from None
    return Offer(check_name(name if name is not None else path.name), size, hexdigest)


class _Endpoint(asyncio.Protocol, abc.ABC):
    """What both adapters share: the core, the transport, the result, the idle timer."""

    role: Role

    def __init__(self, progress: Progress | None, idle_timeout: float, max_size: int) -> None:
        self.core = FileTransfer(self.role, max_size=max_size)
        self.progress: Progress = progress if progress is not None else NullProgress()
        self.idle_timeout = idle_timeout
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.result: asyncio.Future[TransferResult] = loop.create_future()
        #: Set when the stream has ended: a program waits for it before exiting, so the last
        #: frames (the result, the close) are delivered and not cut off by the exit.
        self.closed: asyncio.Future[None] = loop.create_future()
        self._activity = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._started = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._started = time.monotonic()
        self._arm()
        self.started()

    def started(self) -> None:
        pass

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.idle_timeout, self._check_idle)

    def _check_idle(self) -> None:
        idle = time.monotonic() - self._activity
        if self.result.done():
            return
        if idle >= self.idle_timeout:
            self.fail(f"no progress for {self.idle_timeout:g} seconds", tell_peer=True)
        else:
            self._timer = asyncio.get_running_loop().call_later(
                self.idle_timeout - idle, self._check_idle
            )

    def _flush(self) -> None:
        out = self.core.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    def data_received(self, data: bytes) -> None:
        self._activity = time.monotonic()
        try:
            self.core.receive_data(data)
            while (event := self.core.next_event()) is not None:
                self.handle(event)
                if self.result.done() and self.core.state == "closed":
                    break
        except ProtocolError as e:
            self.fail(f"protocol error from peer: {e}", tell_peer=True)
        except FileTransferError as e:
            self.fail(str(e), tell_peer=True)
        self._flush()

    @abc.abstractmethod
    def handle(self, event: Event) -> None:
        """React to one event from the peer (each role has its own)."""

    def succeed(self, result: TransferResult) -> None:
        if not self.result.done():
            self.progress.finish(True)
            self.result.set_result(result)

    def fail(self, message: str, *, tell_peer: bool = False) -> None:
        if tell_peer:
            self.core.abort(message)
        self._flush()  # a refusal or result queued before failing still reaches the peer
        if not self.result.done():
            self.progress.finish(False)
            self.result.set_exception(FileTransferError(message))
        self.cleanup()
        if self.transport is not None:
            self.transport.close()

    def cleanup(self) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self.result.done():
            why = f": {exc}" if exc else ""
            self.fail(f"connection closed before the transfer finished{why}")
        self.cleanup()
        if not self.closed.done():
            self.closed.set_result(None)


class FileSender(_Endpoint):
    """Sends one file (the Offer from ``prepare_offer``); ``await sender.result``."""

    role = Role.SENDER

    def __init__(
        self,
        path: Path,
        offer: Offer,
        *,
        progress: Progress | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        super().__init__(progress, idle_timeout, DEFAULT_MAX_SIZE)
        self.path = Path(path)
        self.offer = offer
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._paused = False

    def started(self) -> None:
        try:
            self._file = self.path.open("rb")
        except OSError as e:
            self.fail(f"{self.path}: {e.strerror or e}")
            return
        self.core.send_offer(self.offer)
        self._flush()

    def handle(self, event: Event) -> None:
        if isinstance(event, Accepted):
            self.progress.start(self.offer.size, self.offer.name)
            self._pump()
        elif isinstance(event, Credit):
            self._pump()
        elif isinstance(event, Received):
            self.progress.update(event.total)
        elif isinstance(event, Refused):
            self.fail(f"refused by the receiver: {event.reason}")
        elif isinstance(event, Aborted):
            self.fail(f"aborted by the receiver: {event.reason}")
        elif isinstance(event, Result):
            if event.ok:
                self.progress.update(self.offer.size)
                elapsed = time.monotonic() - self._started
                o = self.offer
                self.succeed(TransferResult(o.name, o.size, o.sha256, elapsed, event.message))
                assert self.transport is not None
                self.transport.close()
            else:
                self.fail(f"receiver failed: {event.message}")

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._pump()

    def _pump(self) -> None:
        core = self.core
        if core.state != "sending" or self._file is None:
            return
        while not self._paused and core.credit > 0 and core.transferred < self.offer.size:
            want = min(MAX_CHUNK, core.credit, self.offer.size - core.transferred)
            chunk = self._file.read(want)
            if not chunk:
                self.fail(f"{self.path}: file shrank while sending")
                return
            self._hash.update(chunk)
            core.send_data(chunk)
            self._flush()
            self._activity = time.monotonic()
        if core.transferred == self.offer.size:
            if self._hash.hexdigest() != self.offer.sha256:
                self.fail(f"{self.path}: file changed while sending", tell_peer=True)
                return
            core.send_done()
            self._flush()

    def cleanup(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class FileReceiver(_Endpoint):
    """Receives one file into ``directory``; ``await receiver.result``.

    ``on_offer(offer, peer)`` may return a reason to refuse it (None accepts).
    """

    role = Role.RECEIVER

    def __init__(
        self,
        directory: Path,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        window: int = DEFAULT_WINDOW,
        progress: Progress | None = None,
        on_offer: Callable[[Offer, Any], str | None] | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        super().__init__(progress, idle_timeout, max_size)
        if not 0 < window <= 0xFFFFFFFF:
            raise ValueError("window must be between 1 and 2**32-1 bytes")
        self.directory = Path(directory)
        self.window = window
        self.on_offer = on_offer
        self.peer: Any = None
        self._fd: int | None = None
        self._temp: str | None = None
        self._hash = hashlib.sha256()
        self._ungranted = 0
        self._reported = 0

    def started(self) -> None:
        assert self.transport is not None
        extra = self.transport.get_extra_info
        self.peer = extra("q2q_peer") or extra("peername")  # a Q2Q address, else a socket

    def handle(self, event: Event) -> None:
        if isinstance(event, Offer):
            self._offered(event)
        elif isinstance(event, Data):
            assert self._fd is not None
            self._write(event.data)
        elif isinstance(event, Done):
            self._verify()
        elif isinstance(event, Aborted):
            self.fail(f"aborted by the sender: {event.reason}")

    def _offered(self, offer: Offer) -> None:
        try:
            check_name(offer.name)
        except UnsafeName as e:
            self._refuse(str(e))
            return
        if offer.size > self.core.max_size:
            self._refuse(f"{offer.size} bytes is over the {self.core.max_size}-byte limit")
            return
        try:
            free = shutil.disk_usage(self.directory).free
        except OSError as e:
            self._refuse(f"cannot store files: {e.strerror or e}")
            return
        if offer.size > free:
            self._refuse(f"not enough space ({free} bytes free)")
            return
        if self.on_offer is not None and (reason := self.on_offer(offer, self.peer)):
            self._refuse(reason)
            return
        try:
            self._fd, self._temp = tempfile.mkstemp(
                dir=self.directory, prefix=".vertex-", suffix=".part"
            )
        except OSError as e:
            self._refuse(f"cannot store files: {e.strerror or e}")
            return
        self.progress.start(offer.size, offer.name)
        self.core.accept(min(self.window, max(offer.size, 1)))

    def _refuse(self, reason: str) -> None:
        self.core.refuse(reason)
        self.fail(f"refused: {reason}")

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as e:
            self.fail(f"cannot write: {e.strerror or e}", tell_peer=True)
            return
        self._hash.update(data)
        offer = self.core.offer
        assert offer is not None
        stored = self.core.transferred
        self.progress.update(stored)
        if stored - self._reported >= PROGRESS_STEP or stored == offer.size:
            self.core.report(stored)
            self._reported = stored
        self._ungranted += len(data)
        left = offer.size - stored
        want = min(self._ungranted, max(0, left - self.core.credit))
        if want and (self._ungranted >= self.window // 4 or self.core.credit == 0):
            self.core.grant(want)
            self._ungranted = 0

    def _verify(self) -> None:
        offer = self.core.offer
        assert offer is not None and self._fd is not None and self._temp is not None
        digest = self._hash.hexdigest()
        if digest != offer.sha256:
            self.core.send_result(False, "checksum mismatch")
            self._flush()
            self.fail(f"checksum mismatch for {offer.name}: got {digest}")
            return
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            stored = self._place(offer.name)
        except OSError as e:
            self.core.send_result(False, f"cannot store the file: {e.strerror or e}")
            self._flush()
            self.fail(f"cannot store {offer.name}: {e.strerror or e}")
            return
        self.core.send_result(True, stored)
        self._flush()
        elapsed = time.monotonic() - self._started
        self.succeed(TransferResult(offer.name, offer.size, digest, elapsed, stored))

    def _place(self, name: str) -> str:
        """Link the verified temp file to ``name`` (or ``name.1``, ...) without overwriting."""
        assert self._temp is not None
        stem, dot, ext = name.rpartition(".")
        for n in range(1000):
            final = name if n == 0 else (f"{stem}.{n}{dot}{ext}" if dot else f"{name}.{n}")
            try:
                os.link(self._temp, self.directory / final)
            except FileExistsError:
                continue
            os.unlink(self._temp)
            self._temp = None
            return final
        raise OSError(f"too many files named like {name}")

    def cleanup(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            self._temp = None
