"""The SFTP server core driven with raw packets, by OpenSSH's ``sftp -b -D`` and by
paramiko's SFTPClient over a socket pair."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from plait.conch.ssh.sftp_protocol import (
    FX,
    FXF,
    MAX_PACKET,
    OPENSSH_EXTENSIONS,
    Attrs,
    Msg,
    PacketReader,
    SFTPProtocolError,
    packet,
    read_attrs,
)
from plait.conch.ssh.sftp_server import OUTPUT_HIGH_WATER, SFTPServer
from plait.conch.ssh.wire import Reader, Writer

SFTP = shutil.which("sftp")


class Driver:
    """Feeds whole requests to a server core and reads its replies."""

    def __init__(self, root: Path, **kw: object) -> None:
        self.server = SFTPServer(root, **kw)  # type: ignore[arg-type]
        self.replies = PacketReader(1 << 30)
        self.rid = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.server.receive_data(data)
        out: list[tuple[int, bytes]] = []
        while chunk := self.server.data_to_send():
            out.extend(self.replies.feed(chunk))
        return out

    def init(self) -> dict[str, bytes]:
        [(kind, body)] = self.feed(packet(Msg.INIT, Writer().uint32(3).getvalue()))
        assert kind == Msg.VERSION
        r = Reader(body)
        assert r.uint32() == 3
        ext = {}
        while r.remaining:
            name = r.text()
            ext[name] = r.string()
        return ext

    def request(self, kind: int, body: bytes) -> tuple[int, Reader]:
        self.rid += 1
        [(rkind, rbody)] = self.feed(packet(kind, Writer().uint32(self.rid).getvalue() + body))
        r = Reader(rbody)
        assert r.uint32() == self.rid
        return rkind, r

    def status(self, kind: int, body: bytes) -> tuple[int, str]:
        rkind, r = self.request(kind, body)
        assert rkind == Msg.STATUS
        code, message = r.uint32(), r.text()
        assert r.text() == "en"
        return code, message

    def handle(self, kind: int, body: bytes) -> bytes:
        rkind, r = self.request(kind, body)
        assert rkind == Msg.HANDLE, (rkind, r.rest())
        return r.string()

    def open(self, path: str, flags: int) -> bytes:
        return self.handle(Msg.OPEN, Writer().string(path).uint32(flags).getvalue()
                           + Attrs().encode())


def s(*parts: str | bytes) -> bytes:
    w = Writer()
    for p in parts:
        w.string(p)
    return w.getvalue()


def test_version_announces_openssh_extensions(tmp_path: Path) -> None:
    d = Driver(tmp_path)
    assert d.init() == OPENSSH_EXTENSIONS


def test_requests_before_init_and_double_init_end_the_session(tmp_path: Path) -> None:
    d = Driver(tmp_path)
    with pytest.raises(SFTPProtocolError):
        d.feed(packet(Msg.STAT, Writer().uint32(1).string("/").getvalue()))
    d = Driver(tmp_path)
    d.init()
    with pytest.raises(SFTPProtocolError):
        d.feed(packet(Msg.INIT, Writer().uint32(3).getvalue()))
    d = Driver(tmp_path)
    d.init()
    with pytest.raises(SFTPProtocolError):
        d.feed(packet(Msg.STAT, b"\x00\x01"))          # no room for a request id
    d = Driver(tmp_path)
    d.init()
    with pytest.raises(SFTPProtocolError):
        d.feed(struct_len(MAX_PACKET + 1))


def struct_len(n: int) -> bytes:
    return n.to_bytes(4, "big") + b"\x03"


def test_unknown_and_malformed_requests_get_status(tmp_path: Path) -> None:
    d = Driver(tmp_path)
    d.init()
    assert d.status(99, b"")[0] == FX.OP_UNSUPPORTED
    assert d.status(Msg.EXTENDED, s("nope@example.com"))[0] == FX.OP_UNSUPPORTED
    assert d.status(Msg.STAT, b"\x00\x00\x00\x09ab")[0] == FX.BAD_MESSAGE   # string too short
    assert d.status(Msg.STAT, s("/", "trailing"))[0] == FX.BAD_MESSAGE
    assert d.status(Msg.STAT, s(b"a\x00b"))[0] == FX.BAD_MESSAGE
    assert d.status(Msg.CLOSE, s("no-such-handle"))[0] == FX.FAILURE
    # still serving
    assert d.request(Msg.STAT, s("/"))[0] == Msg.ATTRS


def test_every_chunk_size(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    stream = packet(Msg.INIT, Writer().uint32(3).getvalue()) + b"".join(
        packet(Msg.STAT, Writer().uint32(i).string("f").getvalue()) for i in range(1, 4))
    for size in (1, 3, 7, len(stream)):
        d = Driver(tmp_path)
        replies = []
        for i in range(0, len(stream), size):
            replies += d.feed(stream[i:i + size])
        assert [k for k, _ in replies] == [Msg.VERSION, Msg.ATTRS, Msg.ATTRS, Msg.ATTRS]
        r = Reader(replies[1][1])
        r.uint32()
        assert read_attrs(r).size == 3


def test_read_is_capped_and_eof_reported(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 100_000)
    d = Driver(tmp_path, max_read=4096)
    d.init()
    h = d.open("/big", FXF.READ)
    kind, r = d.request(Msg.READ, Writer().string(h).uint64(0).uint32(1 << 20).getvalue())
    assert kind == Msg.DATA and len(r.string()) == 4096
    kind, r = d.request(Msg.READ, Writer().string(h).uint64(99_990).uint32(100).getvalue())
    assert r.string() == b"x" * 10
    assert d.status(Msg.READ, Writer().string(h).uint64(100_000).uint32(100).getvalue())[0] \
        == FX.EOF
    assert d.status(Msg.CLOSE, s(h))[0] == FX.OK
    assert d.server.open_handles == 0


def test_handle_count_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    d = Driver(tmp_path, max_handles=3)
    d.init()
    handles = [d.open("f", FXF.READ) for _ in range(3)]
    code, message = d.status(Msg.OPEN, s("f") + Writer().uint32(FXF.READ).getvalue()
                             + Attrs().encode())
    assert code == FX.FAILURE and "too many" in message
    assert d.status(Msg.OPENDIR, s("/"))[0] == FX.FAILURE
    d.status(Msg.CLOSE, s(handles[0]))
    d.open("f", FXF.READ)
    d.server.close()
    assert d.server.open_handles == 0


def test_output_is_produced_lazily(tmp_path: Path) -> None:
    """Many READs in one burst do not build more than the high-water mark at once."""
    (tmp_path / "big").write_bytes(os.urandom(256 * 1024))
    d = Driver(tmp_path)
    d.init()
    h = d.open("big", FXF.READ)
    burst = b"".join(packet(Msg.READ, Writer().uint32(1000 + i).string(h).uint64(0)
                            .uint32(256 * 1024).getvalue()) for i in range(64))
    d.server.receive_data(burst)
    sizes = []
    while chunk := d.server.data_to_send():
        sizes.append(len(chunk))
    assert len(sizes) > 1 and max(sizes) <= OUTPUT_HIGH_WATER + 256 * 1024 + 64
    assert sum(sizes) == 64 * (256 * 1024 + 13)


def test_readdir_long_names_and_batches(tmp_path: Path) -> None:
    for i in range(250):
        (tmp_path / f"f{i:03d}").write_bytes(b"x" * i)
    d = Driver(tmp_path)
    d.init()
    h = d.handle(Msg.OPENDIR, s("/"))
    names: dict[str, str] = {}
    batches = 0
    while True:
        kind, r = d.request(Msg.READDIR, s(h))
        if kind == Msg.STATUS:
            assert r.uint32() == FX.EOF
            break
        batches += 1
        for _ in range(r.uint32()):
            name, longname = r.text(), r.text()
            read_attrs(r)
            names[name] = longname
    assert batches == 3 and len(names) == 252 and {".", ".."} <= set(names)
    fields = names["f042"].split()
    assert fields[0].startswith("-rw") and fields[4] == "42" and fields[-1] == "f042"
    assert names["."].startswith("d")


def test_symlink_takes_target_first_like_openssh(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"t")
    d = Driver(tmp_path)
    d.init()
    assert d.status(Msg.SYMLINK, s("target", "/link"))[0] == FX.OK
    assert os.readlink(tmp_path / "link") == "target"
    # an absolute target names a path inside the root, and reads back the same way
    assert d.status(Msg.SYMLINK, s("/target", "/abs"))[0] == FX.OK
    assert os.readlink(tmp_path / "abs") == str(tmp_path.resolve() / "target")
    kind, r = d.request(Msg.READLINK, s("abs"))
    assert kind == Msg.NAME and r.uint32() == 1 and r.text() == "/target"


def test_escapes_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside").write_bytes(b"secret")
    os.symlink("../../outside", root / "sub" / "up")
    os.symlink(tmp_path, root / "abs")
    d = Driver(root)
    d.init()
    for path in ("..", "/..", "sub/../..", "sub/up", "abs/outside", "abs"):
        assert d.status(Msg.STAT, s(path))[0] == FX.PERMISSION_DENIED, path
        assert d.status(Msg.OPENDIR, s(path))[0] == FX.PERMISSION_DENIED, path
    assert d.status(Msg.OPEN, s("abs/new") + Writer().uint32(FXF.WRITE | FXF.CREAT)
                    .getvalue() + Attrs().encode())[0] == FX.PERMISSION_DENIED
    assert d.status(Msg.REALPATH, s("sub/up"))[0] == FX.PERMISSION_DENIED
    assert d.status(Msg.MKDIR, s("abs/x") + Attrs().encode())[0] == FX.PERMISSION_DENIED
    assert d.status(Msg.RENAME, s("sub", "abs/sub"))[0] == FX.PERMISSION_DENIED
    assert d.status(Msg.EXTENDED, s("hardlink@openssh.com", "abs/outside", "h"))[0] \
        == FX.PERMISSION_DENIED
    assert d.status(Msg.SETSTAT, s("abs/outside") + Attrs(permissions=0o777).encode())[0] \
        == FX.PERMISSION_DENIED
    assert d.status(Msg.RMDIR, s("/"))[0] == FX.PERMISSION_DENIED
    assert d.status(Msg.SYMLINK, s("/../../etc", "x"))[0] == FX.PERMISSION_DENIED
    # inside paths through the links that stay inside are fine
    kind, r = d.request(Msg.REALPATH, s("sub/../sub/."))
    assert kind == Msg.NAME and r.uint32() == 1 and r.text() == "/sub"
    # lstat and remove see the link itself
    assert d.request(Msg.LSTAT, s("sub/up"))[0] == Msg.ATTRS
    assert d.status(Msg.REMOVE, s("abs"))[0] == FX.OK
    assert (tmp_path / "outside").read_bytes() == b"secret"
    assert sorted(os.listdir(tmp_path)) == ["outside", "root"]


def test_errno_mapping(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"")
    (tmp_path / "file").write_bytes(b"")
    d = Driver(tmp_path)
    d.init()
    assert d.status(Msg.STAT, s("missing"))[0] == FX.NO_SUCH_FILE
    assert d.status(Msg.STAT, s("file/x"))[0] == FX.NO_SUCH_FILE        # ENOTDIR
    assert d.status(Msg.RMDIR, s("d"))[0] == FX.FAILURE                  # ENOTEMPTY
    assert d.status(Msg.REMOVE, s("d"))[0] == FX.FAILURE
    assert d.status(Msg.RENAME, s("file", "d/f"))[0] == FX.FAILURE       # exists
    assert d.status(Msg.RENAME, s("missing", "new"))[0] == FX.NO_SUCH_FILE
    code, message = d.status(Msg.OPENDIR, s("file"))
    assert code == FX.NO_SUCH_FILE and message


def test_statvfs_and_limits(tmp_path: Path) -> None:
    d = Driver(tmp_path, max_read=8192, max_handles=7)
    d.init()
    kind, r = d.request(Msg.EXTENDED, s("statvfs@openssh.com", "/"))
    assert kind == Msg.EXTENDED_REPLY
    st = os.statvfs(tmp_path)
    fields = [r.uint64() for _ in range(11)]
    assert fields[0] == st.f_bsize and fields[2] == st.f_blocks and fields[10] == st.f_namemax
    kind, r = d.request(Msg.EXTENDED, s("limits@openssh.com"))
    assert [r.uint64() for _ in range(4)] == [MAX_PACKET, 8192, MAX_PACKET - 1024, 7]


# -- OpenSSH's sftp client against `python -m plait.conch.ssh.sftp_server` -----------------

def run_batch(root: Path, batch: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    assert SFTP is not None
    (tmp / "batch").write_text(batch)
    server = f"{sys.executable} -m plait.conch.ssh.sftp_server --root {root}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([SFTP, "-b", str(tmp / "batch"), "-D", server], check=False,
                          capture_output=True, text=True, timeout=60, cwd=tmp, env=env)


@pytest.mark.interop
@pytest.mark.skipif(SFTP is None, reason="no OpenSSH sftp client")
def test_openssh_sftp_batch(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    local = tmp_path / "local"
    local.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 17)
    (local / "up.bin").write_bytes(data)
    (tmp_path / "secret").write_text("secret")
    os.symlink(tmp_path / "secret", root / "escape")
    batch = f"""\
put {local}/up.bin up.bin
get up.bin {local}/down.bin
mkdir dir
rename up.bin dir/moved.bin
ln -s moved.bin dir/link
chmod 640 dir/moved.bin
ls -l dir
df
rm dir/link
ln dir/moved.bin hard
rm hard
put {local}/up.bin gone.bin
rm gone.bin
mkdir empty
rmdir empty
pwd
"""
    result = run_batch(root, batch, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (local / "down.bin").read_bytes() == data
    assert hashlib.sha256((root / "dir" / "moved.bin").read_bytes()).digest() == \
        hashlib.sha256(data).digest()
    assert (root / "dir" / "moved.bin").stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(root)) == ["dir", "escape"]
    assert os.listdir(root / "dir") == ["moved.bin"]
    out = result.stdout
    assert "-rw-r-----" in out and "moved.bin" in out and "lrwxrwxrwx" in out
    assert "Remote working directory: /" in out
    assert "%Capacity" in out or "Size" in out


@pytest.mark.interop
@pytest.mark.skipif(SFTP is None, reason="no OpenSSH sftp client")
@pytest.mark.parametrize("command", [
    "cd ..", "get /etc/passwd {local}/passwd", "get ../secret {local}/s",
    "get escape {local}/s2", "ls escape/", "put {local}/x /../x", "mkdir ../x",
])
def test_openssh_sftp_escapes_fail(tmp_path: Path, command: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    local = tmp_path / "local"
    local.mkdir()
    (local / "x").write_bytes(b"x")
    (tmp_path / "secret").write_text("s3cr3t-content")
    os.symlink(tmp_path, root / "escape")
    result = run_batch(root, command.format(local=local) + "\n", tmp_path)
    assert result.returncode != 0
    assert sorted(os.listdir(local)) == ["x"]
    assert sorted(os.listdir(tmp_path)) == ["batch", "local", "root", "secret"]
    assert "s3cr3t" not in result.stdout + result.stderr
    assert any(why in result.stderr for why in ("outside", "not found", "Permission denied"))


# -- paramiko's SFTPClient over a socket pair ---------------------------------------------

class _Channel:
    """What paramiko.SFTPClient needs of a channel: send, recv, close, get_name."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, data: bytes) -> int:
        return self.sock.send(data)

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def close(self) -> None:
        self.sock.close()

    def get_name(self) -> str:
        return "sftp"


def _serve(sock: socket.socket, server: SFTPServer) -> None:
    try:
        while data := sock.recv(65536):
            server.receive_data(data)
            while out := server.data_to_send():
                sock.sendall(out)
    except OSError:
        pass
    finally:
        server.close()
        sock.close()


def test_paramiko_client(tmp_path: Path) -> None:
    paramiko = pytest.importorskip("paramiko")
    root = tmp_path / "root"
    root.mkdir()
    a, b = socket.socketpair()
    thread = threading.Thread(target=_serve, args=(b, SFTPServer(root)), daemon=True)
    thread.start()
    sftp = paramiko.SFTPClient(_Channel(a))
    try:
        data = os.urandom(2 * 1024 * 1024 + 3)
        (tmp_path / "src").write_bytes(data)
        sftp.put(str(tmp_path / "src"), "/up.bin")
        assert (root / "up.bin").read_bytes() == data
        sftp.get("up.bin", str(tmp_path / "back"))
        assert (tmp_path / "back").read_bytes() == data
        sftp.mkdir("d")
        sftp.symlink("../up.bin", "d/l")        # paramiko sends OpenSSH's order too
        assert sftp.readlink("d/l") == "../up.bin"
        assert sftp.stat("d/l").st_size == len(data)
        sftp.chmod("up.bin", 0o600)
        assert sftp.stat("up.bin").st_mode & 0o777 == 0o600
        sftp.posix_rename("up.bin", "d/up2.bin")
        assert sorted(sftp.listdir("d")) == ["l", "up2.bin"]
        assert {a.filename for a in sftp.listdir_attr("/")} == {"d"}
        sftp.chdir("d")
        assert sftp.getcwd() == "/d"
        assert sftp.normalize("..") == "/"
        with pytest.raises(PermissionError):
            sftp.normalize("../..")
        with pytest.raises(FileNotFoundError):
            sftp.stat("/nope")
        with sftp.open("/d/up2.bin", "rb") as f:
            f.seek(1000)
            assert f.read(10) == data[1000:1010]
        sftp.remove("/d/l")
        sftp.remove("/d/up2.bin")
        sftp.rmdir("/d")
        assert os.listdir(root) == []
    finally:
        sftp.close()
        thread.join(5)


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    d = Driver(tmp_path)
    d.init()
    for name in ("fifo", "dir"):     # a FIFO would block open() with no writer
        code, message = d.status(Msg.OPEN, s(name) + Writer().uint32(FXF.READ).getvalue()
                                 + Attrs().encode())
        assert code == FX.FAILURE and "regular" in message
    assert d.server.open_handles == 0


def test_main_exits_on_a_protocol_error(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-m", "plait.conch.ssh.sftp_server", "--root",
                             str(tmp_path)], input=b"\xff\xff\xff\xff\x01", env=env,
                            capture_output=True, timeout=30, check=False)
    assert result.returncode == 1 and b"packet length" in result.stderr
    # a clean session on stdin/stdout: INIT, STAT, end of input
    stream = packet(Msg.INIT, Writer().uint32(3).getvalue()) + \
        packet(Msg.STAT, Writer().uint32(7).string("/").getvalue())
    result = subprocess.run([sys.executable, "-m", "plait.conch.ssh.sftp_server", "--root",
                             str(tmp_path)], input=stream, env=env, capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 0
    replies = PacketReader().feed(result.stdout)
    assert [k for k, _ in replies] == [Msg.VERSION, Msg.ATTRS]
