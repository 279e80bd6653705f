"""A sans-IO SFTP v3 server confined to one directory.

Bytes in (:meth:`SFTPServer.receive_data`), bytes out (:meth:`SFTPServer.data_to_send`);
file I/O is synchronous on the local disk and bounded per request. Every path is read as
relative to the root (``/`` is the root), ``..`` above it is refused, and symbolic links are
resolved before use: one that leads outside the root gives SSH_FX_PERMISSION_DENIED.
(Resolution and use are two system calls; a local user who can swap a directory for a link
between them is outside this server's threat model, as for OpenSSH's ``sftp-server -d``.)

``python -m plait.conch.ssh.sftp_server --root DIR`` speaks the protocol on stdin/stdout,
so OpenSSH's ``sftp -D`` can drive it.
"""
from __future__ import annotations

import errno
import functools
import grp
import os
import pwd
import stat as stat_mod
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import ProtocolError
from .sftp_protocol import (
    FX,
    FXF,
    MAX_PACKET,
    OPENSSH_EXTENSIONS,
    SFTP_VERSION,
    Attrs,
    Msg,
    PacketReader,
    SFTPError,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
    SFTPProtocolError,
    VFSAttrs,
    long_name,
    packet,
    read_attrs,
)
from .wire import Reader, Writer

__all__ = ["SFTPServer", "main"]

_Reply = tuple[int, bytes] | None

MAX_READ = 256 * 1024
MAX_HANDLES = 256
READDIR_BATCH = 100
#: Stop answering queued requests while this much output waits to be taken.
OUTPUT_HIGH_WATER = 4 * 1024 * 1024

_ERRNO_STATUS = {
    errno.ENOENT: FX.NO_SUCH_FILE, errno.ENOTDIR: FX.NO_SUCH_FILE, errno.EBADF: FX.NO_SUCH_FILE,
    errno.ELOOP: FX.NO_SUCH_FILE, errno.EPERM: FX.PERMISSION_DENIED,
    errno.EACCES: FX.PERMISSION_DENIED, errno.EFAULT: FX.PERMISSION_DENIED,
    errno.EROFS: FX.PERMISSION_DENIED, errno.ENAMETOOLONG: FX.BAD_MESSAGE,
    errno.EINVAL: FX.BAD_MESSAGE, errno.ENOSYS: FX.OP_UNSUPPORTED,
}


@dataclass
class _File:
    fd: int
    path: str


@dataclass
class _Dir:
    path: str
    entries: Iterator[str]


class SFTPServer:
    """The server side of one SFTP session over a byte stream.

    Call :meth:`data_to_send` until it returns ``b""`` after each :meth:`receive_data`:
    requests are answered lazily so that a burst of READs cannot pile up unbounded output.
    A framing or grammar violation raises :class:`SFTPProtocolError`; the caller ends the
    session (and should call :meth:`close`).
    """

    def __init__(self, root: str | os.PathLike[str], *, max_handles: int = MAX_HANDLES,
                 max_read: int = MAX_READ, max_packet: int = MAX_PACKET,
                 clock: Callable[[], float] = time.time) -> None:
        self.root = os.path.realpath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"SFTP root {self.root!r} is not a directory")
        self.max_handles = max_handles
        self.max_read = max_read
        self.max_packet = max_packet
        self._clock = clock
        self._reader = PacketReader(max_packet)
        self._pending: deque[tuple[int, bytes]] = deque()
        self._out = bytearray()
        self._handles: dict[bytes, _File | _Dir] = {}
        self._next_handle = 0
        self._version: int | None = None
        self.closed = False

    # -- the sans-IO surface --------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        if self.closed:
            return
        self._pending.extend(self._reader.feed(data))
        self._pump()

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        self._pump()
        return out

    def close(self) -> None:
        """Close every open handle (the session ended)."""
        self.closed = True
        for h in list(self._handles):
            self._release(h)

    @property
    def open_handles(self) -> int:
        return len(self._handles)

    def _pump(self) -> None:
        while self._pending and len(self._out) < OUTPUT_HIGH_WATER:
            kind, body = self._pending.popleft()
            self._dispatch(kind, body)

    # -- dispatch -------------------------------------------------------------------------

    def _dispatch(self, kind: int, body: bytes) -> None:
        if self._version is None:
            if kind != Msg.INIT or len(body) < 4:
                raise SFTPProtocolError(message=f"expected SSH_FXP_INIT, got type {kind}")
            self._version = min(Reader(body).uint32(), SFTP_VERSION)
            w = Writer().uint32(SFTP_VERSION)
            for name, value in OPENSSH_EXTENSIONS.items():
                w.string(name).string(value)
            self._send(Msg.VERSION, w.getvalue())
            return
        if kind == Msg.INIT:
            raise SFTPProtocolError(message="SSH_FXP_INIT sent twice")
        if len(body) < 4:
            raise SFTPProtocolError(message=f"packet of type {kind} has no request id")
        r = Reader(body)
        rid = r.uint32()
        handler = self._HANDLERS.get(kind)
        try:
            if handler is None:
                raise SFTPOpUnsupported(message=f"unsupported request type {kind}")
            reply = handler(self, r)
            r.end()
        except SFTPError as e:
            self._status(rid, e.code, e.message)
        except ProtocolError as e:
            self._status(rid, FX.BAD_MESSAGE, e.description)
        except OSError as e:
            code = _ERRNO_STATUS.get(e.errno or 0, FX.FAILURE)
            self._status(rid, code, e.strerror or str(e))
        except ValueError as e:       # an embedded NUL in a path, out-of-range times
            self._status(rid, FX.BAD_MESSAGE, str(e))
        else:
            if reply is None:
                self._status(rid, FX.OK, "Success")
            else:
                self._send(reply[0], Writer().uint32(rid).getvalue() + reply[1])

    def _send(self, kind: int, body: bytes) -> None:
        self._out += packet(kind, body)

    def _status(self, rid: int, code: int, message: str) -> None:
        self._send(Msg.STATUS, Writer().uint32(rid).uint32(code).string(message)
                   .string("en").getvalue())

    # -- paths ----------------------------------------------------------------------------

    def _components(self, path: bytes) -> list[str]:
        parts: list[str] = []
        for part in os.fsdecode(path).split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise SFTPPermissionDenied(message="path leads outside the root")
                parts.pop()
            else:
                parts.append(part)
        return parts

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root.rstrip("/") + "/")

    def _checked(self, real: str) -> str:
        if not self._inside(real):
            raise SFTPPermissionDenied(message="path leads outside the root")
        return real

    def _real(self, path: bytes, *, follow: bool = True) -> str:
        """The local path for a client path, every symbolic link resolved (the last one too
        unless ``follow`` is false), refused if it leads outside the root."""
        parts = self._components(path)
        if not parts:
            return self.root
        if path.endswith((b"/", b"/.", b"/..")) or path in (b".", b".."):
            follow = True            # "link/" names what the link points at, as in POSIX
        if follow:
            return self._checked(os.path.realpath(os.path.join(self.root, *parts)))
        parent = self._checked(os.path.realpath(os.path.join(self.root, *parts[:-1])))
        return os.path.join(parent, parts[-1])

    def _virtual(self, real: str) -> str:
        rel = os.path.relpath(real, self.root)
        return "/" if rel == "." else "/" + rel

    # -- handles --------------------------------------------------------------------------

    def _new_handle(self, obj: _File | _Dir) -> bytes:
        self._next_handle += 1
        handle = b"%d" % self._next_handle
        self._handles[handle] = obj
        return handle

    def _check_room(self) -> None:
        if len(self._handles) >= self.max_handles:
            raise SFTPError(FX.FAILURE, f"too many open handles (limit {self.max_handles})")

    def _get(self, r: Reader) -> _File | _Dir:
        obj = self._handles.get(r.string(256))
        if obj is None:
            raise SFTPError(FX.FAILURE, "invalid handle")
        return obj

    def _file(self, r: Reader) -> _File:
        obj = self._get(r)
        if not isinstance(obj, _File):
            raise SFTPError(FX.FAILURE, "handle is not a file")
        return obj

    def _release(self, handle: bytes) -> None:
        obj = self._handles.pop(handle)
        if isinstance(obj, _File):
            os.close(obj.fd)
        else:
            close = getattr(obj.entries, "close", None)
            if close is not None:
                close()

    # -- requests -------------------------------------------------------------------------

    def _handle_reply(self, handle: bytes) -> tuple[int, bytes]:
        return Msg.HANDLE, Writer().string(handle).getvalue()

    def _attrs_reply(self, st: os.stat_result) -> tuple[int, bytes]:
        return Msg.ATTRS, Attrs.from_stat(st).encode()

    def _name_reply(self, names: list[tuple[str, str, Attrs]]) -> tuple[int, bytes]:
        w = Writer().uint32(len(names))
        for filename, longname, attrs in names:
            w.string(os.fsencode(filename)).string(os.fsencode(longname)).raw(attrs.encode())
        return Msg.NAME, w.getvalue()

    def _open(self, r: Reader) -> _Reply:
        path, pflags, attrs = r.string(), r.uint32(), read_attrs(r)
        real = self._real(path)
        self._check_room()
        flags = os.O_CLOEXEC | os.O_NOFOLLOW
        if pflags & FXF.READ and pflags & FXF.WRITE:
            flags |= os.O_RDWR
        elif pflags & FXF.WRITE:
            flags |= os.O_WRONLY
        else:
            flags |= os.O_RDONLY
        if pflags & FXF.APPEND:
            flags |= os.O_APPEND
        if pflags & FXF.CREAT:
            flags |= os.O_CREAT
        if pflags & FXF.TRUNC:
            flags |= os.O_TRUNC
        if pflags & FXF.EXCL:
            flags |= os.O_EXCL
        mode = attrs.permissions & 0o7777 if attrs.permissions is not None else 0o666
        # O_NONBLOCK so that a FIFO cannot stall the server in open(); only regular files
        # are served, and they never block, so the flag is cleared again.
        fd = os.open(real, flags | os.O_NONBLOCK, mode)
        try:
            if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
                raise SFTPError(FX.FAILURE, "not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return self._handle_reply(self._new_handle(_File(fd, real)))

    def _close(self, r: Reader) -> _Reply:
        handle = r.string(256)
        if handle not in self._handles:
            raise SFTPError(FX.FAILURE, "invalid handle")
        self._release(handle)
        return None

    def _read(self, r: Reader) -> _Reply:
        f, offset, length = self._file(r), r.uint64(), r.uint32()
        data = os.pread(f.fd, min(length, self.max_read), offset)
        if not data and length:
            raise SFTPError(FX.EOF, "End of file")
        return Msg.DATA, Writer().string(data).getvalue()

    def _write(self, r: Reader) -> _Reply:
        f, offset, data = self._file(r), r.uint64(), r.string(self.max_packet)
        view = memoryview(data)
        while view:
            n = os.pwrite(f.fd, view, offset)
            view, offset = view[n:], offset + n
        return None

    def _lstat(self, r: Reader) -> _Reply:
        return self._attrs_reply(os.lstat(self._real(r.string(), follow=False)))

    def _stat(self, r: Reader) -> _Reply:
        return self._attrs_reply(os.stat(self._real(r.string())))

    def _fstat(self, r: Reader) -> _Reply:
        return self._attrs_reply(os.fstat(self._file(r).fd))

    def _apply_attrs(self, target: str | int, attrs: Attrs) -> None:
        if attrs.size is not None:
            os.truncate(target, attrs.size)
        if attrs.permissions is not None:
            os.chmod(target, attrs.permissions & 0o7777)
        if attrs.uid is not None and attrs.gid is not None:
            os.chown(target, attrs.uid, attrs.gid)
        if attrs.atime is not None and attrs.mtime is not None:
            os.utime(target, (attrs.atime, attrs.mtime))

    def _setstat(self, r: Reader) -> _Reply:
        path, attrs = r.string(), read_attrs(r)
        self._apply_attrs(self._real(path), attrs)
        return None

    def _fsetstat(self, r: Reader) -> _Reply:
        f, attrs = self._file(r), read_attrs(r)
        self._apply_attrs(f.fd, attrs)
        return None

    def _opendir(self, r: Reader) -> _Reply:
        real = self._real(r.string())
        self._check_room()
        names = os.listdir(real)   # raises NO_SUCH_FILE / not-a-directory before a handle exists
        return self._handle_reply(self._new_handle(_Dir(real, iter([".", "..", *names]))))

    def _readdir(self, r: Reader) -> _Reply:
        d = self._get(r)
        if not isinstance(d, _Dir):
            raise SFTPError(FX.FAILURE, "handle is not a directory")
        batch: list[tuple[str, str, Attrs]] = []
        now = self._clock()
        for name in d.entries:
            try:
                st = os.lstat(os.path.join(d.path, name))
            except OSError:
                continue             # removed since the listing
            attrs = Attrs.from_stat(st)
            batch.append((name, long_name(name, attrs, now, nlink=st.st_nlink,
                                          user=_user(st.st_uid), group=_group(st.st_gid)),
                          attrs))
            if len(batch) >= READDIR_BATCH:
                break
        if not batch:
            raise SFTPError(FX.EOF, "End of directory")
        return self._name_reply(batch)

    def _remove(self, r: Reader) -> _Reply:
        real = self._real(r.string(), follow=False)
        if os.path.isdir(real) and not os.path.islink(real):
            raise SFTPError(FX.FAILURE, "Is a directory")
        os.unlink(real)
        return None

    def _mkdir(self, r: Reader) -> _Reply:
        path, attrs = r.string(), read_attrs(r)
        mode = attrs.permissions & 0o7777 if attrs.permissions is not None else 0o777
        os.mkdir(self._real(path, follow=False), mode)
        return None

    def _rmdir(self, r: Reader) -> _Reply:
        real = self._real(r.string(), follow=False)
        if real == self.root:
            raise SFTPPermissionDenied(message="cannot remove the root")
        os.rmdir(real)
        return None

    def _realpath(self, r: Reader) -> _Reply:
        virtual = self._virtual(self._real(r.string()))
        return self._name_reply([(virtual, virtual, Attrs())])

    def _rename(self, r: Reader) -> _Reply:
        old = self._real(r.string(), follow=False)
        new = self._real(r.string(), follow=False)
        if os.path.lexists(new):     # draft-02: RENAME does not replace
            raise SFTPError(FX.FAILURE, "File exists")
        if not os.path.lexists(old):
            raise SFTPNoSuchFile(message="No such file")
        os.rename(old, new)
        return None

    def _readlink(self, r: Reader) -> _Reply:
        target = os.readlink(self._real(r.string(), follow=False))
        if target.startswith("/") and self._inside(os.path.normpath(target)):
            target = self._virtual(os.path.normpath(target))
        return self._name_reply([(target, target, Attrs())])

    def _symlink(self, r: Reader) -> _Reply:
        # OpenSSH sends the target first and the new link second (swapped from draft-02);
        # every client in use follows OpenSSH, so this does too.
        target, link = r.string(), r.string()
        real_link = self._real(link, follow=False)
        text = os.fsdecode(target)
        if text.startswith("/"):
            text = os.path.join(self.root, *self._components(target))
        os.symlink(text, real_link)
        return None

    def _extended(self, r: Reader) -> _Reply:
        name = r.string(256).decode("ascii", "replace")
        if name == "posix-rename@openssh.com":
            old = self._real(r.string(), follow=False)
            os.rename(old, self._real(r.string(), follow=False))
            return None
        if name == "hardlink@openssh.com":
            old = self._real(r.string(), follow=False)
            os.link(old, self._real(r.string(), follow=False), follow_symlinks=False)
            return None
        if name == "fsync@openssh.com":
            os.fsync(self._file(r).fd)
            return None
        if name == "statvfs@openssh.com":
            return Msg.EXTENDED_REPLY, _vfs(os.statvfs(self._real(r.string())))
        if name == "fstatvfs@openssh.com":
            return Msg.EXTENDED_REPLY, _vfs(os.fstatvfs(self._file(r).fd))
        if name == "limits@openssh.com":
            return Msg.EXTENDED_REPLY, (Writer().uint64(self.max_packet).uint64(self.max_read)
                                        .uint64(self.max_packet - 1024)
                                        .uint64(self.max_handles).getvalue())
        r.rest()
        raise SFTPOpUnsupported(message=f"unsupported extension {name!r}")

    _HANDLERS: dict[int, Callable[[SFTPServer, Reader], _Reply]] = {
        Msg.OPEN: _open, Msg.CLOSE: _close, Msg.READ: _read, Msg.WRITE: _write,
        Msg.LSTAT: _lstat, Msg.FSTAT: _fstat, Msg.SETSTAT: _setstat, Msg.FSETSTAT: _fsetstat,
        Msg.OPENDIR: _opendir, Msg.READDIR: _readdir, Msg.REMOVE: _remove, Msg.MKDIR: _mkdir,
        Msg.RMDIR: _rmdir, Msg.REALPATH: _realpath, Msg.STAT: _stat, Msg.RENAME: _rename,
        Msg.READLINK: _readlink, Msg.SYMLINK: _symlink, Msg.EXTENDED: _extended,
    }


def _vfs(st: os.statvfs_result) -> bytes:
    flag = (VFSAttrs.ST_RDONLY if st.f_flag & os.ST_RDONLY else 0) | \
        (VFSAttrs.ST_NOSUID if st.f_flag & os.ST_NOSUID else 0)
    return VFSAttrs(st.f_bsize, st.f_frsize, st.f_blocks, st.f_bfree, st.f_bavail, st.f_files,
                    st.f_ffree, st.f_favail, st.f_fsid & 0xFFFFFFFFFFFFFFFF, flag,
                    st.f_namemax).encode()


@functools.lru_cache(maxsize=256)
def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@functools.lru_cache(maxsize=256)
def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def main(argv: list[str] | None = None) -> int:
    """Serve one session on stdin/stdout (for ``sftp -D``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m plait.conch.ssh.sftp_server")
    parser.add_argument("--root", required=True, help="the directory clients see as /")
    args = parser.parse_args(argv)
    server = SFTPServer(args.root)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    try:
        while True:
            data = os.read(stdin, 65536)
            if data:
                server.receive_data(data)
            while out := server.data_to_send():
                view = memoryview(out)
                while view:
                    view = view[os.write(stdout, view):]
            if not data:
                return 0
    except SFTPProtocolError as e:
        print(f"sftp_server: {e}", file=sys.stderr)
        return 1
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
