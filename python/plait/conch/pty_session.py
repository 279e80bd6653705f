"""A server session that behaves like sshd's: the login shell in a real pty, exec through
``sh -c``, and the ``sftp`` subsystem, all as the server process's own user.

Why here: ``plait serve`` gives an authenticated user this session (the factory is
pluggable, so an application can replace it). The shell is the server user's login shell
from ``pwd`` run with ``-l``; with a pty-req it gets a pty (window size set with TIOCSWINSZ,
terminal modes applied with termios where they map) whose slave is its controlling tty;
without one it runs on pipes with stderr apart. Only allow-listed env requests (LANG,
LC_*, TERM) reach the child. When the channel closes the child's process group gets SIGHUP,
then SIGKILL after ``kill_grace`` seconds.

    listen(..., session_factory=lambda avatar: PtySession(home=path, sftp_root=path))
"""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import fnmatch
import logging
import os
import pwd
import signal
import struct
import subprocess
import termios
from collections.abc import Callable, Sequence
from pathlib import Path

from plait.conch.ssh.server import SSHServerChannel, SSHServerSession
from plait.conch.ssh.session import PtyRequest, WindowChange
from plait.conch.ssh.sftp_protocol import SFTPProtocolError
from plait.conch.ssh.sftp_server import SFTPServer

__all__ = [
    "DEFAULT_ENV_ALLOW",
    "PtySession",
    "apply_modes",
    "modes_from_termios",
    "set_window_size",
    "user_directory",
]

log = logging.getLogger("plait.conch.pty_session")

READ_SIZE = 65536
#: Env request names passed to the child (fnmatch patterns).
DEFAULT_ENV_ALLOW: tuple[str, ...] = ("LANG", "LC_*", "TERM")
#: Client input held for a slow child: past HIGH the connection stops reading its socket
#: (TCP pushes back on the client) until it is under LOW again. Past MAX (more than the
#: channel window can carry while paused: a misbehaving peer) the channel is closed.
INPUT_HIGH_WATER = 1024 * 1024
INPUT_LOW_WATER = 256 * 1024
MAX_PENDING_INPUT = 16 * 1024 * 1024
#: Seconds the output of an exited child may still take to drain (a background job holding
#: the pty or a pipe open must not keep the channel forever).
OUTPUT_DRAIN_TIMEOUT = 2.0
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# RFC 4254 §8 opcodes -> termios: control characters, then flags per termios field.
_CC = {1: "VINTR", 2: "VQUIT", 3: "VERASE", 4: "VKILL", 5: "VEOF", 6: "VEOL", 7: "VEOL2",
       8: "VSTART", 9: "VSTOP", 10: "VSUSP", 12: "VREPRINT", 13: "VWERASE", 14: "VLNEXT",
       16: "VSWTC", 18: "VDISCARD"}
_IFLAG = {30: "IGNPAR", 31: "PARMRK", 32: "INPCK", 33: "ISTRIP", 34: "INLCR", 35: "IGNCR",
          36: "ICRNL", 37: "IUCLC", 38: "IXON", 39: "IXANY", 40: "IXOFF", 41: "IMAXBEL",
          42: "IUTF8"}
_LFLAG = {50: "ISIG", 51: "ICANON", 52: "XCASE", 53: "ECHO", 54: "ECHOE", 55: "ECHOK",
          56: "ECHONL", 57: "NOFLSH", 58: "TOSTOP", 59: "IEXTEN", 60: "ECHOCTL",
          61: "ECHOKE", 62: "PENDIN"}
_OFLAG = {70: "OPOST", 71: "OLCUC", 72: "ONLCR", 73: "OCRNL", 74: "ONOCR", 75: "ONLRET"}
_CFLAG = {90: "CS7", 91: "CS8", 92: "PARENB", 93: "PARODD"}
_FIELDS = ((0, _IFLAG), (1, _OFLAG), (2, _CFLAG), (3, _LFLAG))
TTY_OP_ISPEED, TTY_OP_OSPEED = 128, 129
_SPEEDS = {int(getattr(termios, n)): int(n[1:]) for n in dir(termios)
           if n.startswith("B") and n[1:].isdigit()}


def set_window_size(fd: int, cols: int, rows: int, width_px: int = 0, height_px: int = 0) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ,
                struct.pack("HHHH", min(rows, 0xFFFF), min(cols, 0xFFFF),
                            min(width_px, 0xFFFF), min(height_px, 0xFFFF)))


def apply_modes(fd: int, modes: dict[int, int]) -> None:
    """Set the encoded terminal modes this system has on the tty ``fd``; others are
    ignored, as RFC 4254 §8 allows."""
    attrs = termios.tcgetattr(fd)
    for opcode, value in modes.items():
        if opcode in _CC and hasattr(termios, _CC[opcode]):
            index = getattr(termios, _CC[opcode])
            attrs[6][index] = bytes([value]) if value <= 255 else b"\0"
            continue
        for field_index, table in _FIELDS:
            name = table.get(opcode)
            if name is not None and hasattr(termios, name):
                bit = getattr(termios, name)
                attrs[field_index] = (attrs[field_index] | bit) if value \
                    else (attrs[field_index] & ~bit)
    by_rate = {rate: const for const, rate in _SPEEDS.items()}
    if modes.get(TTY_OP_ISPEED) in by_rate:
        attrs[4] = by_rate[modes[TTY_OP_ISPEED]]
    if modes.get(TTY_OP_OSPEED) in by_rate:
        attrs[5] = by_rate[modes[TTY_OP_OSPEED]]
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def modes_from_termios(fd: int) -> dict[int, int]:
    """The encoded terminal modes of the local tty ``fd`` (what a client sends in pty-req)."""
    attrs = termios.tcgetattr(fd)
    modes: dict[int, int] = {}
    for opcode, name in _CC.items():
        if hasattr(termios, name):
            ch = attrs[6][getattr(termios, name)]
            modes[opcode] = ch[0] if isinstance(ch, bytes) and ch else int(ch or 0)
    for field_index, table in _FIELDS:
        for opcode, name in table.items():
            if hasattr(termios, name):
                bit = getattr(termios, name)
                modes[opcode] = int(attrs[field_index] & bit == bit)
    if attrs[4] in _SPEEDS:
        modes[TTY_OP_ISPEED] = _SPEEDS[attrs[4]]
    if attrs[5] in _SPEEDS:
        modes[TTY_OP_OSPEED] = _SPEEDS[attrs[5]]
    return modes


def _controlling_tty(slave: int) -> Callable[[], None]:
    """For the child: its own session, with the pty slave as controlling tty. The slave is
    named by its own descriptor: uvloop runs this before stdin is set up."""
    def setup() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    return setup


class PtySession(SSHServerSession):
    """One session channel: a login shell, an exec command or the sftp subsystem.

    ``home``: the child's working directory (default the server user's home);
    ``sftp_root``: where the sftp subsystem is confined (None refuses sftp);
    ``shell``: the login shell (default the server user's from pwd, else /bin/sh)."""

    def __init__(self, *, home: str | os.PathLike[str] | None = None,
                 sftp_root: str | os.PathLike[str] | None = None, shell: str | None = None,
                 env_allow: Sequence[str] = DEFAULT_ENV_ALLOW, kill_grace: float = 2.0,
                 user: str | None = None) -> None:
        entry = pwd.getpwuid(os.getuid())
        self.shell = shell or entry.pw_shell or "/bin/sh"
        self.home = os.fspath(home) if home is not None else entry.pw_dir
        self.sftp_root = sftp_root
        self.env_allow = tuple(env_allow)
        self.kill_grace = kill_grace
        self.user = user
        self._pw = entry
        self.pty: PtyRequest | None = None
        self.env: dict[str, str] = {}
        self.proc: asyncio.subprocess.Process | None = None
        self.master: int | None = None
        self.sftp: SFTPServer | None = None
        self.task: asyncio.Task[None] | None = None
        self._sftp_task: asyncio.Task[None] | None = None
        self._input: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._pending = 0
        self._reading_paused = False
        self._reaper: asyncio.Task[None] | None = None

    def connection_made(self, channel: SSHServerChannel) -> None:
        self.channel = channel
        self.loop = asyncio.get_running_loop()

    # ---- requests ------------------------------------------------------------------------

    def pty_requested(self, pty: PtyRequest) -> bool:
        self.pty = pty
        return True

    def env_requested(self, name: str, value: str) -> bool:
        if "\0" in name or "\0" in value or "=" in name or \
                not any(fnmatch.fnmatchcase(name, pat) for pat in self.env_allow):
            return False
        self.env[name] = value
        return True

    def shell_requested(self) -> bool:
        return self._start(None)

    def exec_requested(self, command: str) -> bool:
        if "\0" in command:
            return False
        return self._start(command)

    def subsystem_requested(self, name: str) -> bool:
        if name != "sftp" or self.sftp_root is None:
            return False
        try:
            self.sftp = SFTPServer(self.sftp_root)
        except OSError as exc:
            log.warning("sftp refused: %s", exc)
            return False
        return True

    def _start(self, command: str | None) -> bool:
        self.task = self.loop.create_task(self._run(command))
        return True

    # ---- input ---------------------------------------------------------------------------

    def data_received(self, data: bytes, ext: int | None) -> None:
        if ext is not None:
            return
        if self.sftp is not None:
            try:
                self.sftp.receive_data(data)
            except SFTPProtocolError as exc:
                log.info("sftp session ended: %s", exc)
                self.sftp.close()
                self.channel.exit(1)
                return
            self._pump_sftp()
            return
        self._pending += len(data)
        if self._pending > MAX_PENDING_INPUT:
            log.info("SSH session input not read by the child; closing the channel")
            self.channel.close()
            return
        self._input.put_nowait(data)
        if self._pending > INPUT_HIGH_WATER and not self._reading_paused:
            sock = self.channel.proto.sock
            if sock is not None and not sock.is_closing():
                sock.pause_reading()
                self._reading_paused = True

    def _input_taken(self, n: int) -> None:
        self._pending -= n
        if self._reading_paused and self._pending < INPUT_LOW_WATER:
            self._reading_paused = False
            sock = self.channel.proto.sock
            if sock is not None and not sock.is_closing():
                sock.resume_reading()

    def eof_received(self) -> None:
        if self.sftp is not None:
            self.sftp.close()
            self.channel.exit(0)
            return
        self._input.put_nowait(None)

    def window_changed(self, change: WindowChange) -> None:
        if self.master is not None:
            with contextlib.suppress(OSError):
                set_window_size(self.master, change.cols, change.rows, change.width_px,
                                change.height_px)

    def signal_received(self, name: str) -> None:
        signum = getattr(signal, f"SIG{name}", None)
        if self.proc is not None and isinstance(signum, int) and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signum)

    def connection_lost(self) -> None:
        if self._reading_paused:     # other channels of the connection go on
            self._reading_paused = False
            sock = self.channel.proto.sock
            if sock is not None and not sock.is_closing():
                sock.resume_reading()
        if self.sftp is not None:
            self.sftp.close()
        if self._sftp_task is not None:
            self._sftp_task.cancel()
        proc = self.proc
        if proc is not None and proc.returncode is None:
            self._reaper = self.loop.create_task(self._kill(proc))
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _kill(self, proc: asyncio.subprocess.Process) -> None:
        """SIGHUP to the child's process group, SIGKILL after ``kill_grace`` seconds."""
        for signum in (signal.SIGHUP, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signum)
            try:
                await asyncio.wait_for(proc.wait(), self.kill_grace)
                return
            except TimeoutError:
                continue

    # ---- sftp ----------------------------------------------------------------------------

    def _pump_sftp(self) -> None:
        if self._sftp_task is None or self._sftp_task.done():
            self._sftp_task = self.loop.create_task(self._sftp_out())

    async def _sftp_out(self) -> None:
        assert self.sftp is not None
        while (out := self.sftp.data_to_send()) and not self.channel.closed:
            self.channel.write(out)
            await self.channel.drain()

    # ---- the child -----------------------------------------------------------------------

    def argv(self, command: str | None) -> list[str]:
        if command is not None:
            return ["/bin/sh", "-c", command]
        return [self.shell, "-l"]

    def child_env(self) -> dict[str, str]:
        pw = self._pw
        env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name,
               "SHELL": self.shell, "PATH": os.environ.get("PATH", DEFAULT_PATH)}
        if self.user:
            env["SSH_USER"] = self.user
        peer = self.channel.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            env["SSH_CLIENT"] = f"{peer[0]} {peer[1]} 0"
        env.update(self.env)
        if self.pty is not None:
            env["TERM"] = self.pty.term or env.get("TERM", "dumb")
        return env

    async def _run(self, command: str | None) -> None:
        try:
            status = await (self._run_pty(command) if self.pty else self._run_pipes(command))
        except asyncio.CancelledError:
            return
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("SSH session child failed to start: %s", exc)
            with contextlib.suppress(Exception):
                self.channel.write_stderr(f"plait: cannot run {self.argv(command)[0]}: "
                                          f"{getattr(exc, 'strerror', None) or exc}\r\n"
                                          .encode())
            status = 127
        if self.channel.closed:
            return
        if status < 0:
            try:
                name = signal.Signals(-status).name.removeprefix("SIG")
            except ValueError:
                name = "KILL"
            self.channel.exit_with_signal(name)
        else:
            self.channel.exit(status)

    async def _feed(self, write: object) -> None:
        """Channel data to the child until EOF (``write`` takes bytes, None = EOF)."""
        while True:
            data = await self._input.get()
            await write(data)  # type: ignore[operator]
            if data is not None:
                self._input_taken(len(data))
            if data is None:
                return

    async def _pump(self, reader: asyncio.StreamReader, stderr: bool) -> None:
        while data := await reader.read(READ_SIZE):
            if self.channel.closed or self.channel.eof_sent:
                return
            (self.channel.write_stderr if stderr else self.channel.write)(data)
            await self.channel.drain()

    def _cwd(self) -> str | None:
        return self.home if os.path.isdir(self.home) else None

    async def _run_pipes(self, command: str | None) -> int:
        proc = await asyncio.create_subprocess_exec(
            *self.argv(command), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=self.child_env(), cwd=self._cwd(), start_new_session=True)
        self.proc = proc
        assert proc.stdin and proc.stdout and proc.stderr
        stdin = proc.stdin

        async def write(data: bytes | None) -> None:
            with contextlib.suppress(ConnectionError, BrokenPipeError):
                if data is None:
                    stdin.close()
                else:
                    stdin.write(data)
                    await stdin.drain()

        feeder = self.loop.create_task(self._feed(write))
        pumps = asyncio.gather(self._pump(proc.stdout, False), self._pump(proc.stderr, True))
        try:
            status = await proc.wait()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(pumps), OUTPUT_DRAIN_TIMEOUT)
            return status
        finally:
            feeder.cancel()
            pumps.cancel()

    async def _run_pty(self, command: str | None) -> int:
        assert self.pty is not None
        p = self.pty
        master, slave = os.openpty()
        try:
            set_window_size(slave, p.cols or 80, p.rows or 24, p.width_px, p.height_px)
            with contextlib.suppress(termios.error):
                apply_modes(slave, p.modes)
            proc = await asyncio.create_subprocess_exec(
                *self.argv(command), stdin=slave, stdout=slave, stderr=slave,
                env=self.child_env(), cwd=self._cwd(), preexec_fn=_controlling_tty(slave))
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        self.proc = proc
        os.set_blocking(master, False)
        done: asyncio.Future[None] = self.loop.create_future()
        paused = False

        def readable() -> None:
            nonlocal paused
            try:
                data = os.read(master, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:          # EIO: every holder of the slave side is gone
                data = b""
            if not data:
                self.loop.remove_reader(master)
                if not done.done():
                    done.set_result(None)
                return
            if self.channel.closed or self.channel.eof_sent:
                return
            self.channel.write(data)
            conn = self.channel.proto.conn
            if conn is not None and conn.buffered(self.channel.id) > READ_SIZE * 16:
                paused = True          # the peer's window is full: stop reading the pty
                self.loop.remove_reader(master)
                self.loop.create_task(resume())

        async def resume() -> None:
            nonlocal paused
            with contextlib.suppress(Exception):
                await self.channel.drain()
            if paused and not done.done() and self.master is not None:
                paused = False
                self.loop.add_reader(master, readable)

        async def write(data: bytes | None) -> None:
            if data is None:   # EOF on a terminal: VEOF at the start of a line
                try:
                    data = termios.tcgetattr(master)[6][termios.VEOF] or b"\x04"
                except termios.error:
                    data = b"\x04"
            view = memoryview(data)
            while view:
                try:
                    n = os.write(master, view)
                except BlockingIOError:
                    await asyncio.sleep(0.005)
                    continue
                except OSError:
                    return
                view = view[n:]

        self.loop.add_reader(master, readable)
        feeder = self.loop.create_task(self._feed(write))
        try:
            status = await proc.wait()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(done), OUTPUT_DRAIN_TIMEOUT)
            return status
        finally:
            feeder.cancel()
            self.loop.remove_reader(master)
            self.master = None
            os.close(master)


def user_directory(base: str | os.PathLike[str], user: str) -> Path:
    """``base/<user>``, created 0700 on first use; ValueError for a name that is not one
    path component."""
    if not user or user in (".", "..") or "/" in user or "\0" in user:
        raise ValueError(f"{user!r} cannot name a directory")
    root = Path(base)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = root / user
    path.mkdir(mode=0o700, exist_ok=True)
    return path
