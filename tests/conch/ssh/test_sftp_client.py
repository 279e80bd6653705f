"""SFTPClient against OpenSSH's sftp-server (a subprocess on pipes) and against plait's own
server core (in memory): every operation, pipelining, a 20 MiB transfer, errors."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plait.conch.ssh.sftp_client import SFTPClient
from plait.conch.ssh.sftp_protocol import (
    FX,
    Attrs,
    SFTPConnectionLost,
    SFTPError,
    SFTPFailure,
    SFTPNoSuchFile,
    SFTPPermissionDenied,
)
from plait.conch.ssh.sftp_server import SFTPServer

SFTP_SERVER = "/usr/lib/openssh/sftp-server"
BACKENDS = ["plait", pytest.param("openssh", marks=[
    pytest.mark.interop,
    pytest.mark.skipif(not os.path.exists(SFTP_SERVER), reason="no OpenSSH sftp-server")])]


class CorePipe:
    """The client's reader and writer, wired straight to an :class:`SFTPServer` core."""

    def __init__(self, server: SFTPServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.event = asyncio.Event()
        self.eof = False

    def write(self, data: bytes) -> None:
        self.server.receive_data(data)
        while out := self.server.data_to_send():
            self.buf += out
        self.event.set()

    async def drain(self) -> None:
        await asyncio.sleep(0)

    async def read(self, n: int = -1) -> bytes:
        while not self.buf and not self.eof:
            self.event.clear()
            await self.event.wait()
        n = len(self.buf) if n < 0 else n
        chunk = bytes(self.buf[:n])
        del self.buf[:n]
        return chunk

    def close(self) -> None:
        self.eof = True
        self.event.set()


@contextlib.asynccontextmanager
async def session(backend: str, root: Path) -> AsyncIterator[SFTPClient]:
    if backend == "plait":
        pipe = CorePipe(SFTPServer(root))
        async with SFTPClient(pipe, pipe) as client:
            yield client
        return
    proc = await asyncio.create_subprocess_exec(
        SFTP_SERVER, "-d", str(root), "-e", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        async with SFTPClient(proc.stdout, proc.stdin) as client:
            yield client
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def _paths(root: Path, backend: str) -> str:
    """How a path under the root is named to the server: plait's root is "/"; OpenSSH's
    sftp-server starts in the root but does not confine, so use relative names."""
    return "" if backend == "openssh" else "/"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_every_operation(backend: str, tmp_path: Path) -> None:
    p = _paths(tmp_path, backend)
    async with session(backend, tmp_path) as sftp:
        assert "posix-rename@openssh.com" in sftp.extensions
        assert sftp.version == 3
        await sftp.mkdir(f"{p}d", 0o750)
        assert (tmp_path / "d").is_dir() and (tmp_path / "d").stat().st_mode & 0o777 == 0o750
        async with sftp.open(f"{p}d/f.txt", "w") as f:
            assert await f.write(b"hello world") == 11
            assert f.tell() == 11
            await f.fsync()
            assert (await f.stat()).size == 11
            assert (await f.statvfs()).bsize > 0
        assert (tmp_path / "d" / "f.txt").read_bytes() == b"hello world"
        f = await sftp.open(f"{p}d/f.txt", "r+")
        f.seek(6)
        assert await f.read(3) == b"wor"
        assert await f.read() == b"ld"
        assert await f.read() == b""
        f.seek(0)
        await f.write(b"J")
        await f.truncate(5)
        await f.setstat(Attrs(permissions=0o640))
        await f.close()
        assert (tmp_path / "d" / "f.txt").read_bytes() == b"Jello"
        async with sftp.open(f"{p}d/f.txt", "a") as f:
            await f.write(b"!")
        assert (tmp_path / "d" / "f.txt").read_bytes() == b"Jello!"
        st = await sftp.stat(f"{p}d/f.txt")
        assert st.size == 6 and st.is_file() and st.permissions is not None
        assert st.permissions & 0o777 == 0o640
        await sftp.chmod(f"{p}d/f.txt", 0o600)
        await sftp.truncate(f"{p}d/f.txt", 2)
        await sftp.utime(f"{p}d/f.txt", (1_000_000, 2_000_000))
        st = await sftp.stat(f"{p}d/f.txt")
        assert (st.size, st.permissions & 0o777 if st.permissions else None, st.mtime) == \
            (2, 0o600, 2_000_000)
        await sftp.symlink("f.txt", f"{p}d/link")
        assert await sftp.readlink(f"{p}d/link") == "f.txt"
        assert (await sftp.lstat(f"{p}d/link")).is_symlink()
        assert (await sftp.stat(f"{p}d/link")).size == 2
        assert os.readlink(tmp_path / "d" / "link") == "f.txt"
        await sftp.link(f"{p}d/f.txt", f"{p}d/hard")
        assert (tmp_path / "d" / "hard").stat().st_nlink == 2
        assert await sftp.listdir(f"{p}d") == ["f.txt", "hard", "link"]
        names = {n.filename: n for n in await sftp.listdir_attr(f"{p}d")}
        assert names["link"].longname.startswith("l") and names["f.txt"].attrs.size == 2
        assert "f.txt" in names["f.txt"].longname
        with pytest.raises(SFTPError):
            await sftp.rename(f"{p}d/f.txt", f"{p}d/hard")     # draft rename never replaces
        await sftp.rename(f"{p}d/f.txt", f"{p}d/g.txt")
        async with sftp.open(f"{p}d/n.txt", "w") as f:
            await f.write(b"new")
        await sftp.posix_rename(f"{p}d/n.txt", f"{p}d/g.txt")  # posix rename does
        assert (tmp_path / "d" / "g.txt").read_bytes() == b"new"
        assert await sftp.listdir(f"{p}d") == ["g.txt", "hard", "link"]
        real = await sftp.realpath(f"{p}d/../d/./hard")
        assert real == ("/d/hard" if backend == "plait" else str(tmp_path / "d" / "hard"))
        vfs = await sftp.statvfs(f"{p}d")
        assert vfs.bsize > 0 and vfs.blocks > 0
        assert await sftp.exists(f"{p}d/hard") and not await sftp.exists(f"{p}d/nope")
        for name in ("g.txt", "hard", "link"):
            await sftp.remove(f"{p}d/{name}")
        await sftp.rmdir(f"{p}d")
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_errors_carry_status_codes(backend: str, tmp_path: Path) -> None:
    p = _paths(tmp_path, backend)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_bytes(b"x")
    async with session(backend, tmp_path) as sftp:
        with pytest.raises(SFTPNoSuchFile) as e:
            await sftp.stat(f"{p}missing")
        assert e.value.code == FX.NO_SUCH_FILE and isinstance(e.value, FileNotFoundError)
        with pytest.raises(SFTPNoSuchFile):
            await sftp.open(f"{p}missing/f", "w")
        with pytest.raises(SFTPNoSuchFile):
            await sftp.remove(f"{p}missing")
        with pytest.raises(SFTPFailure):
            await sftp.rmdir(f"{p}full")          # not empty
        with pytest.raises(SFTPFailure):
            await sftp.mkdir(f"{p}full")          # exists
        with pytest.raises(SFTPError):
            await sftp.open(f"{p}full/x", "x")    # exclusive create of an existing file
        with pytest.raises(SFTPNoSuchFile):
            await sftp.listdir(f"{p}missing")
        # the session is still good after errors
        assert await sftp.listdir(f"{p}full") == ["x"]


async def test_escapes_are_permission_denied(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text("secret")
    os.symlink(tmp_path / "secret", root / "abs")
    os.symlink("../secret", root / "rel")
    os.symlink(str(tmp_path), root / "outdir")
    async with session("plait", root) as sftp:
        for path in ("abs", "rel", "outdir/secret", "/../secret", "../secret"):
            with pytest.raises(SFTPPermissionDenied):
                await sftp.open(path)
        with pytest.raises(SFTPPermissionDenied):
            await sftp.listdir("outdir")
        with pytest.raises(SFTPPermissionDenied):
            await sftp.realpath("..")
        with pytest.raises(SFTPPermissionDenied):
            await sftp.open("outdir/new", "w")
        assert not (tmp_path / "new").exists()
        # the links themselves are inside and can be looked at and removed
        assert (await sftp.lstat("abs")).is_symlink()
        await sftp.remove("abs")
        # an absolute symlink target is inside the root, not the real filesystem
        await sftp.symlink("/etc/passwd", "pw")
        assert await sftp.readlink("pw") == "/etc/passwd"
        with pytest.raises(SFTPNoSuchFile):
            await sftp.stat("pw")
        assert await sftp.realpath("/") == "/" and await sftp.realpath(".") == "/"
    assert (tmp_path / "secret").read_text() == "secret"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_many_requests_in_flight(backend: str, tmp_path: Path) -> None:
    p = _paths(tmp_path, backend)
    for i in range(50):
        (tmp_path / f"f{i}").write_bytes(b"x" * i)
    async with session(backend, tmp_path) as sftp:
        sizes = await asyncio.gather(*(sftp.stat(f"{p}f{i}") for i in range(50)))
        assert [s.size for s in sizes] == list(range(50))
        results = await asyncio.gather(sftp.stat(f"{p}f1"), sftp.stat(f"{p}zz"),
                                       return_exceptions=True)
        assert isinstance(results[0], Attrs) and isinstance(results[1], SFTPNoSuchFile)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_put_and_get_20_mib_pipelined(backend: str, tmp_path: Path) -> None:
    p = _paths(tmp_path, backend)
    remote = tmp_path / "remote"
    remote.mkdir()
    src = tmp_path / "src.bin"
    data = os.urandom(20 * 1024 * 1024 + 12345)
    src.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    async with session(backend, remote) as sftp:
        assert await sftp.put(src, f"{p}big.bin") == len(data)
        assert hashlib.sha256((remote / "big.bin").read_bytes()).hexdigest() == digest
        assert await sftp.get(f"{p}big.bin", tmp_path / "back.bin") == len(data)
        assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest() == digest
        async with sftp.open(f"{p}big.bin") as f:
            f.seek(10 * 1024 * 1024 + 7)
            assert await f.read(100_000) == data[10 * 1024 * 1024 + 7:][:100_000]
            f.seek(0)
            assert hashlib.sha256(await f.read()).hexdigest() == digest
        # an empty file
        (tmp_path / "empty").write_bytes(b"")
        assert await sftp.put(tmp_path / "empty", f"{p}empty") == 0
        assert await sftp.get(f"{p}empty", tmp_path / "empty2") == 0
        assert (tmp_path / "empty2").read_bytes() == b""


@pytest.mark.interop
@pytest.mark.skipif(not os.path.exists(SFTP_SERVER), reason="no OpenSSH sftp-server")
async def test_server_exit_fails_waiting_requests(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        SFTP_SERVER, "-d", str(tmp_path), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    sftp = await SFTPClient(proc.stdout, proc.stdin).start()
    try:
        assert await sftp.listdir(".") == []
        proc.kill()
        await proc.wait()
        with pytest.raises(SFTPConnectionLost):
            for _ in range(100):
                await sftp.stat(".")
                await asyncio.sleep(0.01)
    finally:
        await sftp.close()


async def test_short_reads_are_reassembled(tmp_path: Path) -> None:
    """A server may return less than asked; get() asks again for the gap."""
    data = os.urandom(300_000)
    (tmp_path / "f").write_bytes(data)
    server = SFTPServer(tmp_path, max_read=10_000)
    pipe = CorePipe(server)
    async with SFTPClient(pipe, pipe) as sftp:
        assert await sftp.get("f", tmp_path / "g", block_size=32768, pipeline=8) == len(data)
        async with sftp.open("f") as f:
            assert await f.read(100_000) == data[:100_000]
            assert await f.read() == data[100_000:]
    assert (tmp_path / "g").read_bytes() == data
    assert shutil.disk_usage(tmp_path).free > 0
