import struct
import time

import pytest

from plait.conch.ssh.errors import ProtocolError
from plait.conch.ssh.sftp_protocol import (
    FX,
    MAX_PACKET,
    SFTPEOF,
    Attrs,
    Msg,
    PacketReader,
    SFTPBadMessage,
    SFTPConnectionLost,
    SFTPError,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
    SFTPProtocolError,
    VFSAttrs,
    error_for_status,
    long_name,
    packet,
    read_attrs,
)
from plait.conch.ssh.wire import Reader


@pytest.mark.parametrize("attrs", [
    Attrs(),
    Attrs(size=1 << 40),
    Attrs(uid=1000, gid=100),
    Attrs(permissions=0o100644),
    Attrs(atime=1, mtime=2),
    Attrs(size=5, uid=0, gid=0, permissions=0o40755, atime=3, mtime=4,
          extended=((b"a@b", b"x"), (b"c@d", b""))),
])
def test_attrs_round_trip(attrs: Attrs) -> None:
    r = Reader(attrs.encode())
    assert read_attrs(r) == attrs
    r.end()


def test_attrs_wire_layout_matches_draft() -> None:
    # flags SIZE|PERMISSIONS, uint64 size, uint32 permissions
    assert Attrs(size=7, permissions=0o644).encode() == \
        struct.pack(">IQI", 0x5, 7, 0o644)
    assert Attrs().encode() == b"\x00\x00\x00\x00"


def test_attrs_half_pairs_are_refused() -> None:
    with pytest.raises(ValueError):
        Attrs(uid=1).encode()
    with pytest.raises(ValueError):
        Attrs(mtime=1).encode()


def test_attrs_extended_count_is_bounded() -> None:
    data = struct.pack(">II", 0x80000000, 100_000)
    with pytest.raises(ProtocolError):
        read_attrs(Reader(data))


def test_attrs_truncated_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        read_attrs(Reader(struct.pack(">I", 0x1) + b"\x00\x00"))


def test_attrs_kinds() -> None:
    assert Attrs(permissions=0o40755).is_dir()
    assert Attrs(permissions=0o100644).is_file()
    assert Attrs(permissions=0o120777).is_symlink()
    assert not Attrs().is_dir()


def test_packet_reader_any_chunking() -> None:
    stream = packet(Msg.INIT, b"\x00\x00\x00\x03") + packet(Msg.STATUS, b"x" * 300) + \
        packet(Msg.DATA, b"")
    expected = [(Msg.INIT, b"\x00\x00\x00\x03"), (Msg.STATUS, b"x" * 300), (Msg.DATA, b"")]
    for size in (1, 2, 3, 5, 7, 64, len(stream)):
        reader = PacketReader()
        got = []
        for i in range(0, len(stream), size):
            got.extend(reader.feed(stream[i:i + size]))
        assert got == expected
        assert reader.buffered == 0


@pytest.mark.parametrize("length", [0, MAX_PACKET + 1, 0xFFFFFFFF])
def test_packet_reader_refuses_bad_lengths(length: int) -> None:
    reader = PacketReader()
    with pytest.raises(SFTPProtocolError) as e:
        reader.feed(struct.pack(">I", length) + b"\x01")
    assert e.value.code == FX.BAD_MESSAGE


def test_packet_reader_limit_is_configurable() -> None:
    reader = PacketReader(max_packet=10)
    assert reader.feed(packet(1, b"x" * 9)) == [(1, b"x" * 9)]
    with pytest.raises(SFTPProtocolError):
        reader.feed(packet(1, b"x" * 10))


@pytest.mark.parametrize(("code", "cls"), [
    (FX.EOF, SFTPEOF), (FX.NO_SUCH_FILE, SFTPNoSuchFile),
    (FX.PERMISSION_DENIED, SFTPPermissionDenied), (FX.BAD_MESSAGE, SFTPBadMessage),
    (FX.CONNECTION_LOST, SFTPConnectionLost), (FX.NO_CONNECTION, SFTPConnectionLost),
    (FX.OP_UNSUPPORTED, SFTPOpUnsupported),
])
def test_error_for_status(code: int, cls: type) -> None:
    e = error_for_status(code, "why")
    assert type(e) is cls and e.code == code and e.message == "why"
    assert FX(code).name in str(e)


def test_unknown_status_is_still_an_error() -> None:
    e = error_for_status(99, "")
    assert type(e) is SFTPError and e.code == 99 and "99" in str(e)
    assert isinstance(error_for_status(FX.NO_SUCH_FILE), FileNotFoundError)
    assert isinstance(error_for_status(FX.PERMISSION_DENIED), PermissionError)


def test_vfs_round_trip() -> None:
    v = VFSAttrs(4096, 4096, 100, 50, 40, 1000, 900, 800, 7, VFSAttrs.ST_NOSUID, 255)
    assert VFSAttrs.decode(v.encode()) == v
    with pytest.raises(SFTPBadMessage):
        VFSAttrs.decode(b"\x00" * 87)


def test_long_name_like_ls() -> None:
    now = time.mktime((2026, 11, 24, 12, 0, 0, 0, 0, -1))
    recent = int(now) - 3600
    line = long_name("notes.txt", Attrs(size=1234, uid=0, gid=0, permissions=0o100644,
                                        mtime=recent, atime=recent), now,
                     user="root", group="wheel")
    assert line.startswith("-rw-r--r--    1 root     wheel        1234 Nov 24 11:00 ")
    assert line.endswith(" notes.txt")
    old = int(now) - 400 * 86400
    line = long_name("d", Attrs(size=0, permissions=0o40755, mtime=old, atime=old), now)
    assert line.startswith("drwxr-xr-x    1 0        0               0 ")
    assert " 2025 d" in line
    assert long_name("l", Attrs(permissions=0o120777), now).startswith("lrwxrwxrwx")
    assert long_name("s", Attrs(permissions=0o104755), now).startswith("-rwsr-xr-x")
