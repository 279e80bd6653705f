"""`conch`: an ssh-like command line client over plait.conch.ssh.

    conch [-p PORT] [-l USER] [-i KEY]... [-L [bind:]port:host:hostport]...
          [-R [bind:]port:host:hostport]... [-N] [-t|-T] [-o Option=value]... [user@]host [command...]

Without a command (or with ``-t``) it runs a shell in a remote pty with the local terminal in
raw mode (restored on exit; SIGWINCH becomes window-change); with a command it runs it and
exits with the remote exit status, stdin forwarded. Exit status 255 means conch itself
failed (connection, host key, authentication), as with ssh. Host keys are checked against
``~/.ssh/known_hosts`` (``-o UserKnownHostsFile=`` / ``KnownHostsFile=``): a new host is
asked about when a terminal is there (``StrictHostKeyChecking=ask``, the default), refused
with ``yes`` or in BatchMode, added (hashed) with ``accept-new``/``no``; a changed key is
always refused.

``-L`` listens here (on 127.0.0.1 unless a bind address is given) and carries each
connection to host:hostport from the server; ``-R`` asks the server to listen (port 0: it
picks, and the port is printed) and carries its connections to host:hostport from here.
A forward that cannot be set up is reported as ssh does, and is fatal (exit 255) with
``-o ExitOnForwardFailure=yes``. ``-o ServerAliveInterval=N`` (and ``ServerAliveCountMax``,
default 3) sends keepalives as ssh does and ends with "Timeout, server HOST not responding."
when they go unanswered. ``-N`` runs no command: conch keeps the forwards until
SIGINT/SIGTERM (exit 255, as ssh) or the end of the connection. A bad command line exits 2.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import getpass
import logging
import os
import signal
import sys
import termios
import threading
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from .ssh.errors import (
    AuthenticationError,
    ChannelOpenError,
    ConnectionLost,
    HostKeyError,
    KeyFormatError,
    PassphraseError,
    ProtocolError,
)
from .ssh.keys import Key
from .ssh.known_hosts import KnownHosts, Match, Mismatch, Revoked, add_known_host

__all__ = ["Forward", "HostKeyPolicy", "Options", "UsageError", "load_identities", "main",
           "parse_args", "parse_forward", "run"]

DEFAULT_IDENTITIES = ("id_ed25519", "id_ecdsa", "id_rsa")
PASSWORD_TRIES = 3
CONNECT_TIMEOUT = 30.0
READ_SIZE = 65536
STRICT_VALUES = {"yes": "yes", "no": "no", "ask": "ask", "accept-new": "accept-new",
                 "off": "no", "false": "no", "on": "yes", "true": "yes"}

CHANGED_WARNING = """\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the {type} key sent by the remote host is
{fingerprint}.
Please contact your system administrator.
Add correct host key in {path} to get rid of this message.
Offending {type} key in {path}:{line}
Host key for {host} has changed and you have requested strict checking.
Host key verification failed."""


USAGE_EXIT = 2              # a bad command line; 255 stays for conch's own failures
DEFAULT_BIND = "127.0.0.1"  # the "localhost" of GatewayPorts=no
MAX_ALIVE = 86_400          # the largest ServerAliveInterval / CountMax taken
YES_NO = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


class UsageError(Exception):
    """A bad command line: the message, then exit status 2."""


@dataclass(frozen=True)
class Forward:
    """One ``-L`` (remote=False) or ``-R`` (remote=True) forward."""

    remote: bool
    bind: str
    port: int
    host: str
    hostport: int


@dataclass
class Options:
    host: str
    port: int = 22
    user: str | None = None
    identities: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    no_command: bool = False
    tty: int = 0                # -t count; -1 for -T
    known_hosts: str = "~/.ssh/known_hosts"
    strict: str = "ask"
    batch: bool = False
    forwards: list[Forward] = field(default_factory=list)
    exit_on_forward_failure: bool = False
    server_alive_interval: int = 0      # seconds; 0: no keepalives (ssh's default)
    server_alive_count_max: int = 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="conch", description="SSH client (plait.conch)")
    p.add_argument("-p", dest="port", type=int, default=None, help="remote port")
    p.add_argument("-l", dest="user", default=None, help="remote user name")
    p.add_argument("-i", dest="identities", action="append", default=[],
                   metavar="KEY", help="private key file (repeatable)")
    p.add_argument("-L", dest="local", action="append", default=[],
                   metavar="[bind:]port:host:hostport", help="local forwarding")
    p.add_argument("-R", dest="remote", action="append", default=[],
                   metavar="[bind:]port:host:hostport", help="remote forwarding")
    p.add_argument("-N", dest="no_command", action="store_true", help="run no command")
    p.add_argument("-t", dest="tty", action="count", default=0, help="force a pty")
    p.add_argument("-T", dest="no_tty", action="store_true", help="no pty")
    p.add_argument("-o", dest="options", action="append", default=[],
                   metavar="Option=value", help="KnownHostsFile, UserKnownHostsFile, "
                   "StrictHostKeyChecking, BatchMode, Port, User, IdentityFile, "
                   "ExitOnForwardFailure, ServerAliveInterval, ServerAliveCountMax")
    p.add_argument("destination", metavar="[user@]host")
    p.add_argument("command", nargs=argparse.REMAINDER)
    return p


def parse_args(argv: Sequence[str]) -> Options:
    """The command line as :class:`Options`; UsageError for what conch does not take."""
    try:
        ns = _parser().parse_args(list(argv))
    except SystemExit as exc:
        if exc.code == 0:       # --help
            raise
        raise UsageError("") from exc
    user, _, host = ns.destination.rpartition("@")
    if not host:
        raise UsageError("no host given")
    opts = Options(host=host, user=user or None, identities=list(ns.identities),
                   command=list(ns.command), no_command=ns.no_command,
                   tty=-1 if ns.no_tty else ns.tty,
                   forwards=[*(parse_forward(s, remote=False) for s in ns.local),
                             *(parse_forward(s, remote=True) for s in ns.remote)])
    for raw in ns.options:
        name, sep, value = raw.partition("=")
        if not sep:
            name, _, value = raw.partition(" ")
        key, value = name.strip().lower(), value.strip()
        if key in ("knownhostsfile", "userknownhostsfile"):
            opts.known_hosts = value.split()[0] if value.split() else value
        elif key == "stricthostkeychecking":
            if value.lower() not in STRICT_VALUES:
                raise UsageError(f"unsupported StrictHostKeyChecking value {value!r}")
            opts.strict = STRICT_VALUES[value.lower()]
        elif key == "batchmode":
            opts.batch = value.lower() in ("yes", "true", "on")
        elif key == "port":
            opts.port = _port(value)
        elif key == "user":
            opts.user = opts.user or value
        elif key == "identityfile":
            opts.identities.append(value)
        elif key == "exitonforwardfailure":
            if value.lower() not in YES_NO:
                raise UsageError(f"unsupported ExitOnForwardFailure value {value!r}")
            opts.exit_on_forward_failure = YES_NO[value.lower()]
        elif key in ("serveraliveinterval", "serveralivecountmax"):
            if not value.isdigit() or int(value) > MAX_ALIVE:
                raise UsageError(f"{name.strip()} wants a number from 0 to {MAX_ALIVE}, "
                                 f"not {value!r}")
            if key == "serveraliveinterval":
                opts.server_alive_interval = int(value)
            else:
                opts.server_alive_count_max = int(value)
        else:
            raise UsageError(f"unsupported option {name!r}")
    if ns.port is not None:
        opts.port = _port(str(ns.port))
    if ns.user is not None and not user:
        opts.user = ns.user
    if opts.user is None:
        opts.user = getpass.getuser()
    return opts


def _spec_fields(spec: str) -> list[str] | None:
    """``a:b:c`` split on colons; a field may be ``[bracketed]`` (an IPv6 address)."""
    fields: list[str] = []
    i = 0
    while True:
        if spec.startswith("[", i):
            end = spec.find("]", i)
            if end < 0:
                return None
            fields.append(spec[i + 1:end])
            i = end + 1
            if i == len(spec):
                return fields
            if spec[i] != ":":
                return None
            i += 1
        else:
            end = spec.find(":", i)
            if end < 0:
                fields.append(spec[i:])
                return fields
            fields.append(spec[i:end])
            i = end + 1


def parse_forward(spec: str, *, remote: bool) -> Forward:
    """``[bind_address:]port:host:hostport`` as ssh takes it for -L / -R (port 0 only for
    -R: the server picks). An empty or ``*`` bind address means every interface."""
    what = "remote" if remote else "local"
    bad = UsageError(f"Bad {what} forwarding specification '{spec}'")
    fields = _spec_fields(spec)
    if fields is None or len(fields) not in (3, 4):
        raise bad
    if len(fields) == 3:
        fields.insert(0, DEFAULT_BIND)
    bind, port_s, host, hostport_s = fields
    if not remote and bind in ("", "*"):
        bind = "0.0.0.0"
    try:
        port, hostport = int(port_s, 10), int(hostport_s, 10)
    except ValueError:
        raise bad from None
    if not port_s.isdigit() or not hostport_s.isdigit() or not host \
            or not (0 if remote else 1) <= port < 65536 or not 0 < hostport < 65536:
        raise bad
    return Forward(remote, bind, port, host, hostport)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise UsageError(f"bad port {value!r}") from None
    if not 0 < port < 65536:
        raise UsageError(f"bad port {value!r}")
    return port


class _Tty:
    """The controlling terminal for questions: write text, read one line."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def flush(self) -> None:
        pass

    def readline(self) -> str:
        line = b""
        while not line.endswith(b"\n") and len(line) < 1024:
            chunk = os.read(self.fd, 1)
            if not chunk:
                break
            line += chunk
        return line.decode(errors="replace")

    def close(self) -> None:
        os.close(self.fd)


def _tty_file() -> _Tty | None:
    """The controlling terminal, for questions and prompts (None without one)."""
    try:
        return _Tty(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return None


class HostKeyPolicy:
    """The ``verify_host_key`` callable for one host: known_hosts, the question, adding."""

    def __init__(self, host: str, port: int, path: str, strict: str, batch: bool,
                 ask: Callable[[str], str | None] | None, err: TextIO) -> None:
        self.host, self.port = host, port
        self.path = os.path.expanduser(path)
        self.strict = strict
        self.batch = batch
        self.ask = ask
        self.err = err
        self.accepted: set[bytes] = set()
        self.failure: str | None = None

    def _db(self) -> KnownHosts:
        try:
            return KnownHosts.from_file(self.path)
        except FileNotFoundError:
            return KnownHosts()

    def known_keys(self) -> list[Key]:
        try:
            return self._db().keys_for(self.host, self.port)
        except (OSError, ValueError):
            return []

    def _writable(self) -> bool:
        """Only a regular file (or none yet) is rewritten: never /dev/null or a device."""
        try:
            import stat
            return stat.S_ISREG(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return True

    def _add(self, key: Key) -> None:
        if not self._writable():
            return
        try:
            add_known_host(self.path, self.host, key, port=self.port, hashed=True)
        except OSError as exc:
            print(f"Failed to add the host to the list of known hosts ({self.path}): {exc}",
                  file=self.err)
            return
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        print(f"Warning: Permanently added '{name}' ({_short_type(key)}) to the list of "
              "known hosts.", file=self.err)

    def __call__(self, key: Key) -> bool:
        if key.public_blob() in self.accepted:
            return True
        try:
            result = self._db().lookup(self.host, key, self.port)
        except (OSError, ValueError) as exc:
            self.failure = f"cannot read {self.path}: {exc}\nHost key verification failed."
            return False
        if isinstance(result, Match):
            return self._ok(key)
        if isinstance(result, Revoked):
            self.failure = (f"@@@ WARNING: REVOKED HOST KEY DETECTED! @@@\nThe {_short_type(key)}"
                            f" host key for {self.host} is marked as revoked.\n"
                            "Host key verification failed.")
            return False
        if isinstance(result, Mismatch):
            entry = result.known[0]
            self.failure = CHANGED_WARNING.format(
                type=_short_type(key), fingerprint=key.fingerprint(), path=self.path,
                line=entry.line_number, host=self.host)
            return False
        # unknown
        if self.strict in ("no", "accept-new"):
            self._add(key)
            return self._ok(key)
        if self.strict == "yes" or self.batch or self.ask is None:
            self.failure = (f"No {_short_type(key)} host key is known for {self.host} and you "
                            "have requested strict checking.\nHost key verification failed.")
            return False
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        question = (f"The authenticity of host '{name}' can't be established.\n"
                    f"{_short_type(key)} key fingerprint is {key.fingerprint()}.\n"
                    "Are you sure you want to continue connecting (yes/no)? ")
        while True:
            answer = self.ask(question)
            if answer is None:
                self.failure = "Host key verification failed."
                return False
            answer = answer.strip().lower()
            if answer in ("yes", "y"):
                self._add(key)
                return self._ok(key)
            if answer in ("no", "n"):
                self.failure = "Host key verification failed."
                return False
            question = "Please type 'yes' or 'no': "

    def _ok(self, key: Key) -> bool:
        self.accepted.add(key.public_blob())
        return True


def _short_type(key: Key) -> str:
    kt = key.key_type
    if kt.startswith("ecdsa"):
        return "ECDSA"
    return {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}.get(kt, kt)


def _ask_on(tty_file: _Tty | None) -> Callable[[str], str | None] | None:
    if tty_file is None:
        return None

    def ask(question: str) -> str | None:
        tty_file.write(question)
        tty_file.flush()
        line = tty_file.readline()
        return line if line else None
    return ask


def load_identities(opts: Options, interactive: bool, err: TextIO) -> list[Key]:
    """-i files (an unreadable one is an error message, as ssh warns), else the default
    ~/.ssh/id_* that exist; an encrypted key asks for its passphrase on a terminal."""
    explicit = bool(opts.identities)
    paths = [os.path.expanduser(p) for p in opts.identities] if explicit else \
        [os.path.expanduser(f"~/.ssh/{n}") for n in DEFAULT_IDENTITIES]
    keys = []
    for path in paths:
        if not os.path.exists(path):
            if explicit:
                print(f"Warning: Identity file {path} not accessible: No such file or "
                      "directory.", file=err)
            continue
        try:
            keys.append(Key.from_file(path))
            continue
        except PassphraseError:
            pass
        except (KeyFormatError, OSError) as exc:
            print(f"Load key \"{path}\": {exc}", file=err)
            continue
        if not interactive:
            continue
        for _ in range(3):
            phrase = getpass.getpass(f"Enter passphrase for key '{path}': ")
            if not phrase:
                break
            try:
                keys.append(Key.from_file(path, phrase.encode()))
                break
            except PassphraseError:
                continue
    return keys


def _methods_of(exc: AuthenticationError) -> set[str]:
    text = str(exc)
    if "(server offers" not in text:
        return set()
    inside = text.split("(server offers", 1)[1].rstrip(")")
    return {m.strip() for m in inside.split(",") if m.strip()}


async def _connect(opts: Options, policy: HostKeyPolicy, keys: list[Key],
                   interactive: bool) -> Any:
    from .ssh.client import _prefer, connect
    # ask first for the key types known_hosts holds for this host, as ssh does
    config = _prefer(None, policy.known_keys())

    asked = 0     # secrets typed so far (keyboard-interactive answers and passwords)

    def kbd(name: str, instruction: str, prompts: list[tuple[str, bool]]) -> list[str] | None:
        nonlocal asked
        if asked >= PASSWORD_TRIES:
            return None
        if asked:
            print("Permission denied, please try again.", file=sys.stderr)
        if instruction:
            print(instruction, file=sys.stderr)
        asked += 1
        who = f"({opts.user}@{opts.host}) "
        return [getpass.getpass(who + p) if not echo else input(who + p) for p, echo in prompts]

    async def password() -> str | None:
        # asked per attempt on the one connection: a refusal asks again, as ssh does
        nonlocal asked
        if asked >= PASSWORD_TRIES:
            return None
        if asked:
            print("Permission denied, please try again.", file=sys.stderr)
        asked += 1
        return await asyncio.to_thread(getpass.getpass, f"{opts.user}@{opts.host}'s password: ")

    return await connect(opts.host, opts.port, username=opts.user,
                         password=password if interactive else None, client_keys=keys,
                         known_hosts=policy, kbd_interactive=kbd if interactive else None,
                         config=config, connect_timeout=CONNECT_TIMEOUT,
                         password_attempts=PASSWORD_TRIES,
                         keepalive_interval=opts.server_alive_interval,
                         keepalive_count_max=opts.server_alive_count_max)


class _StdinPump:
    """Local stdin to the channel, read in a thread (it works for ttys, pipes and files)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, session: Any, fd: int) -> None:
        self.loop, self.session, self.fd = loop, session, fd
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self.fd, READ_SIZE)
            except OSError:
                data = b""
            try:
                self.loop.call_soon_threadsafe(self._deliver, data)
            except RuntimeError:    # the loop is gone
                return
            if not data:
                return

    def _deliver(self, data: bytes) -> None:
        s = self.session
        if s.closed or s.eof_sent:
            return
        with contextlib.suppress(Exception):
            if data:
                s.write(data)
            else:
                s.write_eof()


async def _copy_out(reader: asyncio.StreamReader, fd: int) -> None:
    while data := await reader.read(READ_SIZE):
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                await asyncio.sleep(0.005)


async def run(opts: Options) -> int:
    """Connect, run, and return conch's exit status."""
    stdin_tty = os.isatty(0)
    tty_file = None if opts.batch else _tty_file()
    interactive = tty_file is not None and not opts.batch
    err = sys.stderr
    policy = HostKeyPolicy(opts.host, opts.port, opts.known_hosts, opts.strict, opts.batch,
                           _ask_on(tty_file), err)
    try:
        keys = load_identities(opts, interactive, err)
        try:
            conn = await _connect(opts, policy, keys, interactive)
        except HostKeyError:
            print(policy.failure or "Host key verification failed.", file=err)
            return 255
        except AuthenticationError as exc:
            methods = ",".join(sorted(_methods_of(exc))) or str(exc)
            print(f"{opts.user}@{opts.host}: Permission denied ({methods}).", file=err)
            return 255
        except (TimeoutError, OSError, EOFError) as exc:
            if policy.failure:
                print(policy.failure, file=err)
            else:
                print(f"conch: connect to host {opts.host} port {opts.port}: "
                      f"{getattr(exc, 'strerror', None) or exc or 'timed out'}", file=err)
            return 255
        except (ConnectionLost, ProtocolError) as exc:
            print(policy.failure or f"conch: {opts.host}: {exc}", file=err)
            return 255
    finally:
        if tty_file is not None:
            tty_file.close()
    listeners: list[Any] = []
    try:
        if opts.forwards:
            _show_forward_failures(err)
            if not await _start_forwards(conn, opts, listeners, err) \
                    and opts.exit_on_forward_failure:
                return 255
        return await _session(conn, opts, stdin_tty)
    finally:
        for listener in listeners:
            with contextlib.suppress(Exception):
                listener.close()
        conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.wait_closed(), 5)


async def _start_forwards(conn: Any, opts: Options, listeners: list[Any], err: TextIO) -> bool:
    """Set up every -L and -R in order, with ssh's messages; False if one failed (then,
    with ExitOnForwardFailure, the rest are not tried)."""
    ok = True
    for fwd in opts.forwards:
        try:
            if fwd.remote:
                listener = await conn.forward_remote_port(fwd.bind, fwd.port, fwd.host,
                                                          fwd.hostport)
                if fwd.port == 0:
                    print(f"Allocated port {listener.port} for remote forward to "
                          f"{fwd.host}:{fwd.hostport}", file=err)
            else:
                listener = await conn.forward_local_port(fwd.bind, fwd.port, fwd.host,
                                                         fwd.hostport)
        except (ChannelOpenError, ConnectionLost, OSError) as exc:
            ok = False
            if fwd.remote:
                word = "Error" if opts.exit_on_forward_failure else "Warning"
                print(f"{word}: remote port forwarding failed for listen port {fwd.port}",
                      file=err)
            else:
                errno = getattr(exc, "errno", None)
                print(f"bind [{fwd.bind}]:{fwd.port}: "
                      f"{os.strerror(errno) if errno else exc}", file=err)
                print("Could not request local forwarding.", file=err)
            if opts.exit_on_forward_failure:
                return False
            continue
        listeners.append(listener)
    return ok


class _ForwardFailures(logging.Handler):
    """A forwarded connection the server refused, on stderr as ssh says it."""

    def __init__(self, err: TextIO) -> None:
        super().__init__(logging.INFO)
        self.err = err

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        exc = next((a for a in args if isinstance(a, ChannelOpenError)), None)
        if exc is not None:
            code = exc.code.name.lower().replace("_", " ") \
                if isinstance(exc.code, enum.Enum) else f"code {exc.code}"
            text = f"channel open failed: {code}: {exc.description}"
        else:
            text = record.getMessage()
        with contextlib.suppress(Exception):
            print(f"conch: {text}", file=self.err, flush=True)


def _show_forward_failures(err: TextIO) -> None:
    logger = logging.getLogger("plait.conch.ssh.forward")
    if not any(isinstance(h, _ForwardFailures) for h in logger.handlers):
        logger.addHandler(_ForwardFailures(err))
    logger.setLevel(logging.INFO)
    logger.propagate = False


async def _hold(conn: Any, opts: Options) -> int:
    """-N: keep the connection (and its forwards) until SIGINT/SIGTERM or its end."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    closed = asyncio.ensure_future(conn.wait_closed())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        for task in (closed, stopped):
            task.cancel()
    if not stop.is_set():
        print(_lost(conn, opts), file=sys.stderr)
    return 255


def _lost(conn: Any, opts: Options) -> str:
    """What ssh says when the connection goes under a session."""
    if conn.keepalives_sent and "not responding" in str(conn.error or ""):
        return f"Timeout, server {opts.host} not responding."
    return f"Connection to {opts.host} closed by remote host."


async def _session(conn: Any, opts: Options, stdin_tty: bool) -> int:
    loop = asyncio.get_running_loop()
    if opts.no_command:
        return await _hold(conn, opts)
    command = " ".join(opts.command) if opts.command else None
    want_pty = opts.tty >= 2 or (opts.tty == 1 and stdin_tty) or \
        (opts.tty == 0 and command is None and stdin_tty)
    if opts.tty == 1 and not stdin_tty:
        print("Pseudo-terminal will not be allocated because stdin is not a terminal.",
              file=sys.stderr)
    term = cols = rows = None
    modes: dict[int, int] = {}
    if want_pty:
        from .pty_session import modes_from_termios
        term = os.environ.get("TERM", "xterm")
        cols, rows = _size()
        if stdin_tty:
            with contextlib.suppress(termios.error):
                modes = modes_from_termios(0)
    env = {k: v for k, v in os.environ.items() if k == "LANG" or k.startswith("LC_")}
    try:
        session = await conn.open_session(command, term=term, cols=cols or 80,
                                          rows=rows or 24, modes=modes, env=env)
    except (ChannelOpenError, ConnectionLost) as exc:
        print(f"conch: {exc}", file=sys.stderr)
        return 255
    saved = None
    if want_pty and stdin_tty:
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        loop.add_signal_handler(signal.SIGWINCH, lambda: session.resize(*_size()))
    try:
        _StdinPump(loop, session, 0).start()
        await asyncio.gather(_copy_out(session.stdout, 1), _copy_out(session.stderr, 2))
        await session.wait()
    finally:
        if saved is not None:
            loop.remove_signal_handler(signal.SIGWINCH)
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
    if session.exit_status is not None:
        return int(session.exit_status) & 0xFF
    if conn.is_closed and _lost(conn, opts).startswith("Timeout"):
        print(_lost(conn, opts), file=sys.stderr)
    return 255


def _size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(0)
        return size.columns, size.lines
    except OSError:
        return 80, 24


def main(argv: Sequence[str] | None = None) -> int:
    try:
        opts = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        if str(exc):
            print(f"conch: {exc}", file=sys.stderr)
        return USAGE_EXIT
    try:
        return asyncio.run(run(opts))
    except KeyboardInterrupt:
        return 255


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())

