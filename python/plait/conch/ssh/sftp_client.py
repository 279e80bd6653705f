"""An asyncio SFTP v3 client over any byte stream.

``SFTPClient(reader, writer)`` takes a reader with ``async read(n)`` (``b""`` at the end) and
a writer with ``write(data)`` and ``async drain()``: an SSH session channel's streams, or a
subprocess's pipes to OpenSSH's ``sftp-server``. Every request carries an id and several can
be in flight; :meth:`SFTPClient.get` and :meth:`SFTPClient.put` keep a window of block-sized
reads or writes outstanding, which is what makes SFTP fast over a link with latency.
"""
from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Awaitable, Generator
from types import TracebackType
from typing import Any, Protocol, Self

from .errors import ProtocolError
from .sftp_protocol import (
    FX,
    FXF,
    MAX_PACKET,
    SFTP_VERSION,
    SFTPEOF,
    Attrs,
    Msg,
    Name,
    PacketReader,
    SFTPBadMessage,
    SFTPConnectionLost,
    SFTPError,
    SFTPOpUnsupported,
    SFTPProtocolError,
    VFSAttrs,
    error_for_status,
    packet,
    read_attrs,
)
from .wire import Reader, Writer

__all__ = ["BLOCK_SIZE", "SFTPClient", "SFTPFile"]

BLOCK_SIZE = 32 * 1024
#: Requests kept outstanding by get/put and by large reads and writes on a file.
PIPELINE = 64

Path = str | bytes | os.PathLike[str]


class StreamReader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class StreamWriter(Protocol):
    def write(self, data: bytes) -> Any: ...
    async def drain(self) -> None: ...


def _path(path: Path) -> bytes:
    return path if isinstance(path, bytes) else os.fsencode(path)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


_MODES = {
    "r": FXF.READ, "r+": FXF.READ | FXF.WRITE,
    "w": FXF.WRITE | FXF.CREAT | FXF.TRUNC, "w+": FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC,
    "a": FXF.WRITE | FXF.CREAT | FXF.APPEND, "a+": FXF.READ | FXF.WRITE | FXF.CREAT | FXF.APPEND,
    "x": FXF.WRITE | FXF.CREAT | FXF.EXCL, "x+": FXF.READ | FXF.WRITE | FXF.CREAT | FXF.EXCL,
}


class SFTPClient:
    """The client side of one SFTP session. ``await start()`` (or ``async with``) first."""

    def __init__(self, reader: StreamReader, writer: StreamWriter, *,
                 max_packet: int = MAX_PACKET) -> None:
        self._reader = reader
        self._writer = writer
        self._packets = PacketReader(max_packet)
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[tuple[int, Reader]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._error: SFTPError | None = None
        self.version: int | None = None
        self.extensions: dict[str, bytes] = {}

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> SFTPClient:
        """Send INIT, read VERSION (and the server's extensions), start reading replies."""
        self._writer.write(packet(Msg.INIT, Writer().uint32(SFTP_VERSION).getvalue()))
        await self._writer.drain()
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                raise SFTPConnectionLost(message="the server closed before VERSION")
            packets = self._packets.feed(chunk)
            if packets:
                break
        kind, body = packets[0]
        if kind != Msg.VERSION:
            raise SFTPProtocolError(message=f"expected SSH_FXP_VERSION, got type {kind}")
        r = Reader(body)
        try:
            self.version = r.uint32()
            while r.remaining:
                ext_name = _text(r.string())
                self.extensions[ext_name] = r.string()
        except ProtocolError as e:
            raise SFTPProtocolError(message=e.description) from None
        self._task = asyncio.get_running_loop().create_task(self._read_loop(packets[1:]))
        return self

    async def close(self) -> None:
        """Stop reading; requests still waiting fail with :class:`SFTPConnectionLost`."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._fail(SFTPConnectionLost(message="the client closed the session"))
        close = getattr(self._writer, "close", None)
        if close is not None:
            close()

    async def __aenter__(self) -> Self:
        if self._task is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _fail(self, error: SFTPError) -> None:
        if self._error is None:
            self._error = error
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(self._error)
        self._waiting.clear()

    async def _read_loop(self, first: list[tuple[int, bytes]]) -> None:
        try:
            for kind, body in first:
                self._deliver(kind, body)
            while True:
                chunk = await self._reader.read(262144)
                if not chunk:
                    self._fail(SFTPConnectionLost(message="the server closed the session"))
                    return
                for kind, body in self._packets.feed(chunk):
                    self._deliver(kind, body)
        except SFTPError as e:
            self._fail(e)
        except (OSError, ProtocolError) as e:
            self._fail(SFTPConnectionLost(message=str(e)))

    def _deliver(self, kind: int, body: bytes) -> None:
        if len(body) < 4:
            raise SFTPProtocolError(message=f"reply of type {kind} has no request id")
        r = Reader(body)
        fut = self._waiting.pop(r.uint32(), None)
        if fut is None:
            raise SFTPProtocolError(message="reply to a request that was not sent")
        if not fut.done():
            fut.set_result((kind, r))

    # -- requests -------------------------------------------------------------------------

    def _send(self, kind: int, body: bytes) -> asyncio.Future[tuple[int, Reader]]:
        """Queue one request; the future is its reply."""
        if self._error is not None:
            raise self._error
        if self._task is None:
            raise SFTPConnectionLost(message="SFTPClient.start() was not awaited")
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        rid = self._next_id
        fut: asyncio.Future[tuple[int, Reader]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        try:
            self._writer.write(packet(kind, Writer().uint32(rid).getvalue() + body))
        except (OSError, RuntimeError) as e:   # uvloop: RuntimeError on a closed transport
            self._fail(SFTPConnectionLost(message=f"cannot send: {e}"))
            raise self._error from None  # type: ignore[misc]
        return fut

    async def _request(self, kind: int, body: bytes) -> tuple[int, Reader]:
        fut = self._send(kind, body)
        await self._drain()
        return await fut

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as e:
            self._fail(SFTPConnectionLost(message=f"cannot send: {e}"))

    @staticmethod
    def _check(reply: tuple[int, Reader], expect: int | None) -> Reader:
        kind, r = reply
        try:
            if kind == Msg.STATUS:
                code = r.uint32()
                message = _text(r.string()) if r.remaining else ""
                lang = _text(r.string()) if r.remaining else ""
                if code == FX.OK and expect is None:
                    return r
                raise error_for_status(code, message, lang)
            if kind != expect:
                raise SFTPBadMessage(message=f"unexpected reply type {kind}")
        except ProtocolError as e:
            raise SFTPBadMessage(message=e.description) from None
        return r

    async def _status(self, kind: int, body: bytes) -> None:
        self._check(await self._request(kind, body), None)

    async def _handle(self, kind: int, body: bytes) -> bytes:
        return self._check(await self._request(kind, body), Msg.HANDLE).string(256)

    async def _attrs(self, kind: int, body: bytes) -> Attrs:
        return read_attrs(self._check(await self._request(kind, body), Msg.ATTRS))

    async def _names(self, kind: int, body: bytes) -> list[Name]:
        r = self._check(await self._request(kind, body), Msg.NAME)
        return [Name(_text(r.string()), _text(r.string()), read_attrs(r))
                for _ in range(r.uint32())]

    async def _extended(self, name: str, body: bytes, reply: bool) -> Reader:
        if name not in self.extensions:
            raise SFTPOpUnsupported(message=f"the server does not offer {name}")
        r = self._check(await self._request(Msg.EXTENDED, Writer().string(name).getvalue()
                                            + body), Msg.EXTENDED_REPLY if reply else None)
        return r

    # -- the operations -------------------------------------------------------------------

    def open(self, path: Path, mode: str = "r", attrs: Attrs | None = None) -> _Opening:
        """Open a remote file: ``f = await sftp.open(p)`` or ``async with sftp.open(p) as f``.
        Modes as Python's: r, r+, w, w+, a, a+, x, x+ (a "b" is ignored)."""
        flags = _MODES.get(mode.replace("b", ""))
        if flags is None:
            raise ValueError(f"invalid mode {mode!r}")
        return _Opening(self, _path(path), flags, attrs or Attrs(), mode.startswith("a"))

    async def _open(self, path: bytes, flags: int, attrs: Attrs, append: bool) -> SFTPFile:
        handle = await self._handle(Msg.OPEN, Writer().string(path).uint32(flags).getvalue()
                                    + attrs.encode())
        f = SFTPFile(self, handle)
        if append:
            f._pos = (await f.stat()).size or 0
        return f

    async def stat(self, path: Path) -> Attrs:
        return await self._attrs(Msg.STAT, Writer().string(_path(path)).getvalue())

    async def lstat(self, path: Path) -> Attrs:
        return await self._attrs(Msg.LSTAT, Writer().string(_path(path)).getvalue())

    async def setstat(self, path: Path, attrs: Attrs) -> None:
        await self._status(Msg.SETSTAT, Writer().string(_path(path)).getvalue() + attrs.encode())

    async def chmod(self, path: Path, mode: int) -> None:
        await self.setstat(path, Attrs(permissions=mode))

    async def utime(self, path: Path, times: tuple[int, int]) -> None:
        await self.setstat(path, Attrs(atime=times[0], mtime=times[1]))

    async def truncate(self, path: Path, size: int) -> None:
        await self.setstat(path, Attrs(size=size))

    async def opendir(self, path: Path) -> bytes:
        return await self._handle(Msg.OPENDIR, Writer().string(_path(path)).getvalue())

    async def readdir(self, handle: bytes) -> list[Name]:
        """One batch of entries; ``[]`` at the end of the directory."""
        try:
            return await self._names(Msg.READDIR, Writer().string(handle).getvalue())
        except SFTPEOF:
            return []

    async def close_handle(self, handle: bytes) -> None:
        await self._status(Msg.CLOSE, Writer().string(handle).getvalue())

    async def listdir_attr(self, path: Path = ".") -> list[Name]:
        """Every entry but ``.`` and ``..``, with attributes."""
        handle = await self.opendir(path)
        out: list[Name] = []
        try:
            while batch := await self.readdir(handle):
                out.extend(n for n in batch if n.filename not in (".", ".."))
        finally:
            await self.close_handle(handle)
        return out

    async def listdir(self, path: Path = ".") -> list[str]:
        return sorted(n.filename for n in await self.listdir_attr(path))

    async def mkdir(self, path: Path, mode: int | None = None) -> None:
        await self._status(Msg.MKDIR, Writer().string(_path(path)).getvalue()
                           + Attrs(permissions=mode).encode())

    async def rmdir(self, path: Path) -> None:
        await self._status(Msg.RMDIR, Writer().string(_path(path)).getvalue())

    async def remove(self, path: Path) -> None:
        await self._status(Msg.REMOVE, Writer().string(_path(path)).getvalue())

    unlink = remove

    async def rename(self, old: Path, new: Path) -> None:
        """Draft-02 rename: fails if ``new`` exists (see :meth:`posix_rename`)."""
        await self._status(Msg.RENAME, Writer().string(_path(old)).string(_path(new)).getvalue())

    async def posix_rename(self, old: Path, new: Path) -> None:
        """rename(2): replaces ``new`` atomically (posix-rename@openssh.com)."""
        await self._extended("posix-rename@openssh.com",
                             Writer().string(_path(old)).string(_path(new)).getvalue(), False)

    async def link(self, old: Path, new: Path) -> None:
        """A hard link (hardlink@openssh.com)."""
        await self._extended("hardlink@openssh.com",
                             Writer().string(_path(old)).string(_path(new)).getvalue(), False)

    async def realpath(self, path: Path = ".") -> str:
        names = await self._names(Msg.REALPATH, Writer().string(_path(path)).getvalue())
        if len(names) != 1:
            raise SFTPBadMessage(message=f"realpath gave {len(names)} names")
        return names[0].filename

    async def readlink(self, path: Path) -> str:
        names = await self._names(Msg.READLINK, Writer().string(_path(path)).getvalue())
        if len(names) != 1:
            raise SFTPBadMessage(message=f"readlink gave {len(names)} names")
        return names[0].filename

    async def symlink(self, target: Path, linkpath: Path) -> None:
        """Make ``linkpath`` point at ``target``. On the wire the target goes first, as
        OpenSSH sends it (the reverse of draft-02, and what OpenSSH's server expects)."""
        await self._status(Msg.SYMLINK,
                           Writer().string(_path(target)).string(_path(linkpath)).getvalue())

    async def statvfs(self, path: Path = ".") -> VFSAttrs:
        r = await self._extended("statvfs@openssh.com", Writer().string(_path(path)).getvalue(),
                                 True)
        return VFSAttrs.decode(r.rest())

    async def exists(self, path: Path) -> bool:
        try:
            await self.stat(path)
        except SFTPError as e:
            if e.code == FX.NO_SUCH_FILE:
                return False
            raise
        return True

    async def get(self, remote: Path, local: str | os.PathLike[str], *,
                  block_size: int = BLOCK_SIZE, pipeline: int = PIPELINE) -> int:
        """Copy a remote file to a local path with ``pipeline`` reads in flight; the size."""
        async with self.open(remote, "rb") as f:
            with open(local, "wb") as out:  # noqa: ASYNC230 - local disk, block-sized writes
                return await f._copy_to(out, block_size, pipeline)

    async def put(self, local: str | os.PathLike[str], remote: Path, *,
                  block_size: int = BLOCK_SIZE, pipeline: int = PIPELINE) -> int:
        """Copy a local file to a remote path with ``pipeline`` writes in flight; the size."""
        mode = os.stat(local).st_mode & 0o777
        async with self.open(remote, "wb", Attrs(permissions=mode)) as f:
            with open(local, "rb") as src:  # noqa: ASYNC230 - local disk, block-sized reads
                total = 0
                inflight: deque[asyncio.Future[tuple[int, Reader]]] = deque()
                try:
                    while block := src.read(block_size):
                        inflight.append(f._send_write(total, block))
                        total += len(block)
                        await self._drain()
                        while len(inflight) >= pipeline:
                            self._check(await inflight.popleft(), None)
                    while inflight:
                        self._check(await inflight.popleft(), None)
                finally:
                    for fut in inflight:     # collect, so no reply is left unread
                        if not fut.done():
                            try:
                                await fut
                            except SFTPError:
                                pass
                return total


class _Opening(Awaitable["SFTPFile"]):
    """What :meth:`SFTPClient.open` returns: await it, or use it with ``async with``."""

    def __init__(self, client: SFTPClient, path: bytes, flags: int, attrs: Attrs,
                 append: bool) -> None:
        self._args = (path, flags, attrs, append)
        self._client = client
        self._file: SFTPFile | None = None

    def __await__(self) -> Generator[Any, None, SFTPFile]:
        return self._client._open(*self._args).__await__()

    async def __aenter__(self) -> SFTPFile:
        self._file = await self._client._open(*self._args)
        return self._file

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._file is not None:
            await self._file.close()


class SFTPFile:
    """An open remote file with a position, like a Python file but with ``await``."""

    def __init__(self, client: SFTPClient, handle: bytes) -> None:
        self._client = client
        self.handle = handle
        self._pos = 0
        self.closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _h(self) -> Writer:
        if self.closed:
            raise ValueError("I/O on a closed SFTP file")
        return Writer().string(self.handle)

    def _send_read(self, offset: int, length: int) -> asyncio.Future[tuple[int, Reader]]:
        return self._client._send(Msg.READ, self._h().uint64(offset).uint32(length).getvalue())

    def _send_write(self, offset: int, data: bytes) -> asyncio.Future[tuple[int, Reader]]:
        return self._client._send(Msg.WRITE, self._h().uint64(offset).string(data).getvalue())

    def _data(self, reply: tuple[int, Reader]) -> bytes:
        try:
            return self._client._check(reply, Msg.DATA).string(1 << 24)
        except SFTPEOF:
            return b""

    async def read(self, size: int = -1, *, block_size: int = BLOCK_SIZE) -> bytes:
        """Up to ``size`` bytes from the position (all to the end if negative)."""
        parts: list[bytes] = []
        while size != 0:
            want = size if size > 0 else block_size * PIPELINE
            blocks = [(self._pos + i, min(block_size, want - i))
                      for i in range(0, want, block_size)]
            futs = [self._send_read(o, n) for o, n in blocks]
            await self._client._drain()
            replies = await asyncio.gather(*futs, return_exceptions=True)
            short = False
            for (_, n), reply in zip(blocks, replies, strict=True):
                if isinstance(reply, BaseException):
                    raise reply
                data = self._data(reply)
                if short:
                    continue        # past a short read: discard, ask again from the gap
                parts.append(data)
                self._pos += len(data)
                if size > 0:
                    size -= len(data)
                if len(data) < n:
                    short = True
            if short and (not parts or not parts[-1]):
                break               # end of file
        return b"".join(parts)

    async def _copy_to(self, out: Any, block_size: int, pipeline: int) -> int:
        """Pipelined reads from offset 0 into a local file; blocks land where they belong
        even if a short read makes them arrive out of order."""
        inflight: deque[tuple[int, int, asyncio.Future[tuple[int, Reader]]]] = deque()
        next_offset = 0
        end: int | None = None
        size = 0
        try:
            while True:
                while end is None and len(inflight) < pipeline:
                    inflight.append((next_offset, block_size,
                                     self._send_read(next_offset, block_size)))
                    next_offset += block_size
                if not inflight:
                    break
                await self._client._drain()
                offset, length, fut = inflight.popleft()
                data = self._data(await fut)
                if data:
                    out.seek(offset)
                    out.write(data)
                    size = max(size, offset + len(data))
                if len(data) < length:
                    if not data:
                        end = offset if end is None else min(end, offset)
                    elif end is None or offset + len(data) < end:
                        rest = offset + len(data)
                        inflight.append((rest, length - len(data),
                                         self._send_read(rest, length - len(data))))
        finally:
            for _, _, fut in inflight:
                if not fut.done():
                    try:
                        await fut
                    except SFTPError:
                        pass
        out.truncate(size)
        return size

    async def write(self, data: bytes, *, block_size: int = BLOCK_SIZE) -> int:
        """Write at the position, ``block_size`` pieces in flight together."""
        view = memoryview(data)
        futs = []
        for i in range(0, len(view), block_size):
            futs.append(self._send_write(self._pos + i, bytes(view[i:i + block_size])))
        await self._client._drain()
        for reply in await asyncio.gather(*futs, return_exceptions=True):
            if isinstance(reply, BaseException):
                raise reply
            self._client._check(reply, None)
        self._pos += len(view)
        return len(view)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            raise ValueError("SEEK_END needs the size: use await f.seek_end(offset)")
        if self._pos < 0:
            raise ValueError("negative position")
        return self._pos

    async def seek_end(self, offset: int = 0) -> int:
        self._pos = ((await self.stat()).size or 0) + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    async def stat(self) -> Attrs:
        return read_attrs(self._client._check(
            await self._client._request(Msg.FSTAT, self._h().getvalue()), Msg.ATTRS))

    async def setstat(self, attrs: Attrs) -> None:
        self._client._check(await self._client._request(
            Msg.FSETSTAT, self._h().getvalue() + attrs.encode()), None)

    async def truncate(self, size: int | None = None) -> None:
        await self.setstat(Attrs(size=self._pos if size is None else size))

    async def fsync(self) -> None:
        await self._client._extended("fsync@openssh.com", self._h().getvalue(), False)

    async def statvfs(self) -> VFSAttrs:
        r = await self._client._extended("fstatvfs@openssh.com", self._h().getvalue(), True)
        return VFSAttrs.decode(r.rest())

    async def close(self) -> None:
        if not self.closed:
            body = self._h().getvalue()
            self.closed = True
            await self._client._status(Msg.CLOSE, body)
