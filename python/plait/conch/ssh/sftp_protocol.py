"""SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, plus OpenSSH's extensions).

Shared by the server core and the client: message and status numbers, :class:`Attrs`,
the errors that carry a status code, the length-prefixed packet framing with an explicit
size limit (:class:`PacketReader`), and the ``ls -l`` long name of a READDIR entry.
"""
from __future__ import annotations

import stat as stat_mod
import struct
import time
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from .constants import DisconnectReason
from .errors import ProtocolError, SSHError
from .wire import Reader, Writer

__all__ = [
    "FX",
    "FXF",
    "MAX_PACKET",
    "OPENSSH_EXTENSIONS",
    "SFTPEOF",
    "SFTP_VERSION",
    "Attrs",
    "Msg",
    "Name",
    "PacketReader",
    "SFTPBadMessage",
    "SFTPConnectionLost",
    "SFTPError",
    "SFTPFailure",
    "SFTPNoSuchFile",
    "SFTPOpUnsupported",
    "SFTPPermissionDenied",
    "SFTPProtocolError",
    "VFSAttrs",
    "error_for_status",
    "long_name",
    "packet",
    "read_attrs",
]

SFTP_VERSION = 3
#: Largest packet either end accepts: 256 KiB of data plus room for the headers.
MAX_PACKET = 256 * 1024 + 1024


class Msg(IntEnum):
    """SFTP packet types (draft-02 §3)."""

    INIT = 1
    VERSION = 2
    OPEN = 3
    CLOSE = 4
    READ = 5
    WRITE = 6
    LSTAT = 7
    FSTAT = 8
    SETSTAT = 9
    FSETSTAT = 10
    OPENDIR = 11
    READDIR = 12
    REMOVE = 13
    MKDIR = 14
    RMDIR = 15
    REALPATH = 16
    STAT = 17
    RENAME = 18
    READLINK = 19
    SYMLINK = 20
    STATUS = 101
    HANDLE = 102
    DATA = 103
    NAME = 104
    ATTRS = 105
    EXTENDED = 200
    EXTENDED_REPLY = 201


class FX(IntEnum):
    """Status codes (draft-02 §7)."""

    OK = 0
    EOF = 1
    NO_SUCH_FILE = 2
    PERMISSION_DENIED = 3
    FAILURE = 4
    BAD_MESSAGE = 5
    NO_CONNECTION = 6
    CONNECTION_LOST = 7
    OP_UNSUPPORTED = 8


class FXF(IntFlag):
    """OPEN pflags (draft-02 §6.3)."""

    READ = 0x01
    WRITE = 0x02
    APPEND = 0x04
    CREAT = 0x08
    TRUNC = 0x10
    EXCL = 0x20


class _AttrFlag(IntFlag):
    SIZE = 0x01
    UIDGID = 0x02
    PERMISSIONS = 0x04
    ACMODTIME = 0x08
    EXTENDED = 0x80000000


#: The extensions the server announces in VERSION, with OpenSSH's version strings.
OPENSSH_EXTENSIONS: dict[str, bytes] = {
    "posix-rename@openssh.com": b"1",
    "statvfs@openssh.com": b"2",
    "fstatvfs@openssh.com": b"2",
    "hardlink@openssh.com": b"1",
    "fsync@openssh.com": b"1",
    "limits@openssh.com": b"1",
}


# -- errors -------------------------------------------------------------------------------

class SFTPError(SSHError):
    """A request failed: ``code`` is the SFTP status (:class:`FX`), ``message`` the server's
    text."""

    code: int = FX.FAILURE

    def __init__(self, code: int | None = None, message: str = "", lang: str = "") -> None:
        if code is not None:
            self.code = code
        self.message = message or _DEFAULT_MESSAGES.get(self.code, "failure")
        self.lang = lang
        super().__init__(self.message)

    def __str__(self) -> str:
        name = FX(self.code).name if self.code in FX._value2member_map_ else str(self.code)
        return f"{self.message} ({name})"


class SFTPEOF(SFTPError):
    code = FX.EOF


class SFTPNoSuchFile(SFTPError, FileNotFoundError):
    code = FX.NO_SUCH_FILE


class SFTPPermissionDenied(SFTPError, PermissionError):
    code = FX.PERMISSION_DENIED


class SFTPFailure(SFTPError):
    code = FX.FAILURE


class SFTPBadMessage(SFTPError):
    code = FX.BAD_MESSAGE


class SFTPOpUnsupported(SFTPError):
    code = FX.OP_UNSUPPORTED


class SFTPConnectionLost(SFTPError, ConnectionError):
    code = FX.CONNECTION_LOST


class SFTPProtocolError(SFTPError):
    """The peer broke the framing or the message grammar; the session cannot go on."""

    code = FX.BAD_MESSAGE


_DEFAULT_MESSAGES: dict[int, str] = {
    FX.OK: "Success", FX.EOF: "End of file", FX.NO_SUCH_FILE: "No such file",
    FX.PERMISSION_DENIED: "Permission denied", FX.FAILURE: "Failure",
    FX.BAD_MESSAGE: "Bad message", FX.NO_CONNECTION: "No connection",
    FX.CONNECTION_LOST: "Connection lost", FX.OP_UNSUPPORTED: "Operation unsupported",
}

_ERRORS: dict[int, type[SFTPError]] = {
    FX.EOF: SFTPEOF, FX.NO_SUCH_FILE: SFTPNoSuchFile, FX.PERMISSION_DENIED: SFTPPermissionDenied,
    FX.FAILURE: SFTPFailure, FX.BAD_MESSAGE: SFTPBadMessage,
    FX.NO_CONNECTION: SFTPConnectionLost, FX.CONNECTION_LOST: SFTPConnectionLost,
    FX.OP_UNSUPPORTED: SFTPOpUnsupported,
}


def error_for_status(code: int, message: str = "", lang: str = "") -> SFTPError:
    """The :class:`SFTPError` subclass for a STATUS code."""
    return _ERRORS.get(code, SFTPError)(code, message, lang)


# -- attributes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Attrs:
    """File attributes (draft-02 §5); ``None`` means "not sent"."""

    size: int | None = None
    uid: int | None = None
    gid: int | None = None
    permissions: int | None = None
    atime: int | None = None
    mtime: int | None = None
    extended: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def from_stat(cls, st: object) -> Attrs:
        return cls(size=st.st_size, uid=st.st_uid, gid=st.st_gid,  # type: ignore[attr-defined]
                   permissions=st.st_mode,  # type: ignore[attr-defined]
                   atime=int(st.st_atime), mtime=int(st.st_mtime))  # type: ignore[attr-defined]

    def is_dir(self) -> bool:
        return self.permissions is not None and stat_mod.S_ISDIR(self.permissions)

    def is_file(self) -> bool:
        return self.permissions is not None and stat_mod.S_ISREG(self.permissions)

    def is_symlink(self) -> bool:
        return self.permissions is not None and stat_mod.S_ISLNK(self.permissions)

    def encode(self) -> bytes:
        flags = 0
        w = Writer()
        if self.size is not None:
            flags |= _AttrFlag.SIZE
            w.uint64(self.size)
        if self.uid is not None or self.gid is not None:
            if self.uid is None or self.gid is None:
                raise ValueError("uid and gid are sent together")
            flags |= _AttrFlag.UIDGID
            w.uint32(self.uid).uint32(self.gid)
        if self.permissions is not None:
            flags |= _AttrFlag.PERMISSIONS
            w.uint32(self.permissions)
        if self.atime is not None or self.mtime is not None:
            if self.atime is None or self.mtime is None:
                raise ValueError("atime and mtime are sent together")
            flags |= _AttrFlag.ACMODTIME
            w.uint32(self.atime & 0xFFFFFFFF).uint32(self.mtime & 0xFFFFFFFF)
        if self.extended:
            flags |= _AttrFlag.EXTENDED
            w.uint32(len(self.extended))
            for kind, data in self.extended:
                w.string(kind).string(data)
        return struct.pack(">I", flags) + w.getvalue()


MAX_EXTENDED_ATTRS = 64


def read_attrs(r: Reader) -> Attrs:
    """Read an ATTRS structure; a bad one is a :class:`ProtocolError` from the reader."""
    flags = r.uint32()
    size = r.uint64() if flags & _AttrFlag.SIZE else None
    uid = gid = None
    if flags & _AttrFlag.UIDGID:
        uid, gid = r.uint32(), r.uint32()
    perms = r.uint32() if flags & _AttrFlag.PERMISSIONS else None
    atime = mtime = None
    if flags & _AttrFlag.ACMODTIME:
        atime, mtime = r.uint32(), r.uint32()
    extended: list[tuple[bytes, bytes]] = []
    if flags & _AttrFlag.EXTENDED:
        count = r.uint32()
        if count > MAX_EXTENDED_ATTRS:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, f"{count} extended attributes (limit {MAX_EXTENDED_ATTRS})")
        for _ in range(count):
            extended.append((r.string(), r.string()))
    return Attrs(size, uid, gid, perms, atime, mtime, tuple(extended))


@dataclass(frozen=True)
class Name:
    """One entry of a NAME reply: the file name, its ``ls -l`` line and its attributes."""

    filename: str
    longname: str = ""
    attrs: Attrs = field(default_factory=Attrs)


@dataclass(frozen=True)
class VFSAttrs:
    """statvfs@openssh.com's reply (the fields of statvfs(3))."""

    bsize: int
    frsize: int
    blocks: int
    bfree: int
    bavail: int
    files: int
    ffree: int
    favail: int
    fsid: int
    flag: int
    namemax: int

    ST_RDONLY = 0x1
    ST_NOSUID = 0x2

    def encode(self) -> bytes:
        return struct.pack(">11Q", self.bsize, self.frsize, self.blocks, self.bfree, self.bavail,
                           self.files, self.ffree, self.favail, self.fsid, self.flag,
                           self.namemax)

    @classmethod
    def decode(cls, data: bytes) -> VFSAttrs:
        if len(data) != 88:
            raise SFTPBadMessage(message=f"statvfs reply of {len(data)} bytes, not 88")
        return cls(*struct.unpack(">11Q", data))


# -- framing ------------------------------------------------------------------------------

def packet(kind: int, body: bytes) -> bytes:
    """One framed packet: uint32 length, byte type, body."""
    return struct.pack(">IB", len(body) + 1, kind) + body


class PacketReader:
    """Splits a byte stream into ``(type, body)`` packets, across any chunking.

    A length of zero or over ``max_packet`` is a :class:`SFTPProtocolError`: the stream
    cannot be resynchronised, so the session ends.
    """

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.max_packet = max_packet
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 4:
            (length,) = struct.unpack_from(">I", buf, pos)
            if length == 0 or length > self.max_packet:
                del buf[:pos]
                raise SFTPProtocolError(
                    message=f"packet length {length} (limit {self.max_packet})")
            if len(buf) - pos - 4 < length:
                break
            out.append((buf[pos + 4], bytes(buf[pos + 5:pos + 4 + length])))
            pos += 4 + length
        del buf[:pos]
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)


# -- long names ---------------------------------------------------------------------------

_TYPE_CHARS = {
    stat_mod.S_IFDIR: "d", stat_mod.S_IFLNK: "l", stat_mod.S_IFCHR: "c",
    stat_mod.S_IFBLK: "b", stat_mod.S_IFIFO: "p", stat_mod.S_IFSOCK: "s",
}
_SIX_MONTHS = 182 * 24 * 3600


def long_name(filename: str, attrs: Attrs, now: float, *, nlink: int = 1,
              user: str | None = None, group: str | None = None) -> str:
    """The ``ls -l`` line OpenSSH's sftp-server sends for a READDIR entry."""
    mode = attrs.permissions or 0
    if attrs.permissions is not None:
        kind = _TYPE_CHARS.get(stat_mod.S_IFMT(mode), "-")
        perms = kind + stat_mod.filemode(mode)[1:]
    else:
        perms = "?---------"
    user = user if user is not None else str(attrs.uid if attrs.uid is not None else 0)
    group = group if group is not None else str(attrs.gid if attrs.gid is not None else 0)
    mtime = attrs.mtime or 0
    t = time.localtime(mtime)
    if abs(now - mtime) < _SIX_MONTHS:
        when = time.strftime("%b %e %H:%M", t)
    else:
        when = time.strftime("%b %e  %Y", t)
    return (f"{perms} {nlink:4d} {user:<8} {group:<8} {attrs.size or 0:8d} {when} "
            f"{filename}")
