"""The SSH client API: ``conn = await connect(host, port, username=..., client_keys=...)``,
then ``await conn.run("cmd")``, ``await conn.open_session(...)`` or
``await conn.start_sftp()``; ``conn.close()``.
"""
from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from .constants import DisconnectReason, ExtendedData
from .errors import (
    AuthenticationError,
    ChannelOpenError,
    ConnectionLost,
    HostKeyError,
    ProtocolError,
)
from .forward import Listener, accept_to, bridge_incoming
from .keepalive import Keepalive, KeepaliveAction
from .keys import Key
from .protocol import Channel, SSHProtocol
from .session import (
    CancelTcpipForward,
    DirectTcpip,
    Env,
    Exec,
    ExitSignal,
    ExitStatus,
    ForwardedTcpip,
    PtyRequest,
    Signal,
    Subsystem,
    TcpipForward,
    TcpipForwardReply,
    WindowChange,
)
from .transport import Disconnected, KexCompleted, Transport, TransportConfig
from .userauth import (
    AuthFailed,
    AuthSucceeded,
    Banner,
    KbdCallback,
    PasswordNeeded,
    UserAuthClient,
)

__all__ = ["PasswordCallback", "RunResult", "SSHClientConnection", "SSHClientSession",
           "connect"]

log = logging.getLogger("plait.conch.ssh")

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
READ_LIMIT = 1 << 20     # a reader holding more than twice this stops the peer's window
KEEPALIVE_REQUEST = "keepalive@openssh.com"

#: ``password=`` as a callable: asked each time a password is needed (a retry after a
#: refusal asks again on the same connection); may be async; None gives up on passwords.
PasswordCallback = Callable[[], "str | None | Awaitable[str | None]"]


@dataclass(frozen=True)
class RunResult:
    """What :meth:`SSHClientConnection.run` returns."""

    exit_status: int | None
    stdout: bytes = field(repr=False)
    stderr: bytes = field(repr=False)
    exit_signal: str | None = None

    @property
    def returncode(self) -> int | None:
        return self.exit_status


class SSHClientSession(Channel):
    """A session channel: ``write``/``write_eof`` feed the remote stdin, ``stdout`` and
    ``stderr`` are :class:`asyncio.StreamReader` objects (``read``, ``readline``, ``async
    for``), ``await wait()`` gives the exit status."""

    def __init__(self, proto: SSHProtocol, channel: int) -> None:
        super().__init__(proto, channel)
        self.stdout = asyncio.StreamReader(limit=READ_LIMIT)
        self.stderr = asyncio.StreamReader(limit=READ_LIMIT)
        self.throttle(self.stdout)
        self.throttle(self.stderr)
        self.exit_status: int | None = None
        self.exit_signal: ExitSignal | None = None

    # stdin
    async def read(self, n: int = -1) -> bytes:
        """Read the remote stdout (for stream-style users like the SFTP client)."""
        return await self.stdout.read(n)

    def resize(self, cols: int, rows: int, width_px: int = 0, height_px: int = 0) -> None:
        self.send_request("window-change", WindowChange(cols, rows, width_px, height_px)
                          .encode())

    def signal(self, name: str) -> None:
        self.send_request("signal", Signal(name).encode())

    async def wait(self) -> int | None:
        """Wait for the channel to close; the exit status (None if the server sent none)."""
        await self.wait_closed()
        return self.exit_status

    def __aiter__(self) -> SSHClientSession:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.stdout.read(65536)
        if not chunk:
            raise StopAsyncIteration
        return chunk

    # events
    def on_data(self, data: bytes, ext: int | None) -> None:
        (self.stderr if ext == ExtendedData.STDERR else self.stdout).feed_data(data)

    def on_eof(self) -> None:
        self.stdout.feed_eof()
        self.stderr.feed_eof()

    def on_request(self, name: str, want_reply: bool, data: bytes) -> bool:
        if name == "exit-status":
            self.exit_status = ExitStatus.decode(data).code
            return True
        if name == "exit-signal":
            self.exit_signal = ExitSignal.decode(data)
            return True
        return False

    def on_close(self) -> None:
        self.on_eof()


class _ClientProtocol(SSHProtocol):
    def __init__(self, transport: Transport, *, username: str, keys: Sequence[Key],
                 password: str | PasswordCallback | None,
                 kbd_interactive: KbdCallback | None, password_attempts: int = 3,
                 keepalive: Keepalive | None = None) -> None:
        super().__init__(transport)
        self.username = username
        self.keys = list(keys)
        self.password_callback = password if callable(password) else None
        self.password = password if isinstance(password, str) else None
        self.password_attempts = password_attempts
        self.kbd_interactive = self._timed(kbd_interactive) if kbd_interactive else None
        self.keepalive = keepalive
        self.asking = False          # a password callback is running (the user may be typing)
        self.asking_time = 0.0       # seconds spent in password callbacks
        self.auth: UserAuthClient | None = None
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.banners: list[str] = []
        self.remote_forwards: dict[tuple[str, int], tuple[str, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _payload_sources(self) -> list[Any]:
        return [s for s in (self.auth, self.conn) if s is not None]

    def _kex_completed(self, ev: KexCompleted) -> None:
        if ev.first:
            self.ssh.request_service("ssh-userauth")

    def _service_accepted(self, name: str) -> None:
        if name != "ssh-userauth" or self.auth is not None:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, f"unexpected service {name}")
        assert self.ssh.session_id is not None
        self.auth = UserAuthClient(self.ssh.session_id, self.username, keys=self.keys,
                                   password=self.password, kbd_interactive=self.kbd_interactive,
                                   server_sig_algs=self.ssh.server_sig_algs,
                                   ask_password=self.password_callback is not None,
                                   password_attempts=self.password_attempts)
        self.auth.start()

    def _userauth_payload(self, payload: bytes) -> None:
        if self.auth is None or self.conn is not None:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                f"user-auth message {payload[0]} out of place")
        if self.ssh.server_sig_algs is not None and self.auth.server_sig_algs is None:
            self.auth.set_server_sig_algs(self.ssh.server_sig_algs)
        self.auth.receive_payload(payload)
        self._auth_events()

    def _auth_events(self) -> None:
        assert self.auth is not None
        while (ev := self.auth.next_event()) is not None:
            if isinstance(ev, AuthSucceeded):
                self.ssh.enable_delayed_compression()
                self._start_connection()
                if self.keepalive is not None:
                    self.keepalive.start(self.loop.time())
                if not self.ready.done():
                    self.ready.set_result(None)
            elif isinstance(ev, PasswordNeeded):
                task = asyncio.ensure_future(self._ask_password())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif isinstance(ev, AuthFailed):
                self.error = AuthenticationError(
                    f"authentication failed (server offers {', '.join(ev.methods)})")
                self.ssh.disconnect(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
                                    "no more authentication methods")
            elif isinstance(ev, Banner):
                self.banners.append(ev.text)

    def _timed(self, callback: KbdCallback) -> KbdCallback:
        """``callback`` whose running time (a person answering prompts) is not counted
        against the connect timeout."""
        def timed(name: str, instruction: str, prompts: list[tuple[str, bool]]
                  ) -> Sequence[str] | None:
            started = self.loop.time()
            try:
                return callback(name, instruction, prompts)
            finally:
                self.asking_time += self.loop.time() - started
        return timed

    async def _ask_password(self) -> None:
        """Run the password callback (the transport keeps going meanwhile) and hand its
        answer to user-auth; a failing callback ends the login."""
        assert self.password_callback is not None
        started = self.loop.time()
        self.asking = True
        try:
            value = self.password_callback()
            if inspect.isawaitable(value):
                value = await value
            if value is not None and not isinstance(value, str):
                raise TypeError(f"the password callback returned {type(value).__name__}")
        except Exception as exc:  # noqa: BLE001 - the caller's code: any failure ends the login
            if self.error is None:
                self.error = AuthenticationError(f"password callback failed: {exc}")
            self.close(DisconnectReason.AUTH_CANCELLED_BY_USER, "login cancelled")
            return
        finally:
            self.asking = False
            self.asking_time += self.loop.time() - started
        if self.ssh.closed or self.auth is None:
            return
        try:
            self.auth.supply_password(value)
            self._auth_events()
        except ProtocolError as exc:
            self.ssh.disconnect(int(exc.reason), exc.description)
        self.process()

    # -- keepalives (ServerAliveInterval) ----------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.keepalive is not None:
            self.keepalive.received(self.loop.time())
        super().data_received(data)

    def _next_deadline(self) -> float | None:
        deadlines = [d for d in (self.ssh.get_timer(),
                                 self.keepalive.get_timer() if self.keepalive else None)
                     if d is not None]
        return min(deadlines) if deadlines else None

    def _handle_timer(self, now: float) -> None:
        super()._handle_timer(now)
        if self.keepalive is None or self.ssh.closed:
            return
        action = self.keepalive.handle_timer(now)
        if action is KeepaliveAction.PROBE and self.conn is not None:
            self.global_request(KEEPALIVE_REQUEST)
        elif action is KeepaliveAction.TIMEOUT:
            ka = self.keepalive
            log.info("SSH connection %s: no answer to %d keepalives in %.0f s", self.peername,
                     ka.unanswered, ka.interval * (ka.count_max + 1))
            if self.error is None:
                self.error = ConnectionLost(
                    f"server not responding ({ka.unanswered} keepalives unanswered)",
                    DisconnectReason.CONNECTION_LOST)
            self.ssh.disconnect(DisconnectReason.BY_APPLICATION, "keepalive timeout")
            self.process()
            if self.sock is not None:      # the peer may read nothing: do not wait to flush
                self.sock.abort()

    def _channel_open_requested(self, channel: int, kind: str, extra: bytes) -> None:
        assert self.conn is not None
        if kind == "forwarded-tcpip":
            req = ForwardedTcpip.decode(extra)
            dest = self.remote_forwards.get((req.address, req.port))
            if dest is not None:
                task = asyncio.ensure_future(accept_to(self, channel, *dest))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
        super()._channel_open_requested(channel, kind, extra)

    def _disconnected(self, ev: Disconnected) -> None:
        if self.error is None and ev.reason == DisconnectReason.HOST_KEY_NOT_VERIFIABLE \
                and not ev.by_peer:
            self.error = HostKeyError(ev.description)
        super()._disconnected(ev)
        if not self.ready.done():
            assert self.error is not None
            self.ready.set_exception(self.error)
            self.ready.exception()


class SSHClientConnection:
    """An authenticated SSH connection: run commands, open sessions, start SFTP."""

    def __init__(self, proto: _ClientProtocol) -> None:
        self._proto = proto

    @property
    def transport(self) -> Transport:
        return self._proto.ssh

    @property
    def server_host_key(self) -> Key | None:
        return self._proto.ssh.host_key

    @property
    def banners(self) -> list[str]:
        return list(self._proto.banners)

    @property
    def keepalives_sent(self) -> int:
        """keepalive@openssh.com probes sent so far (0 without ``keepalive_interval``)."""
        ka = self._proto.keepalive
        return 0 if ka is None else ka.probes_sent

    @property
    def is_closed(self) -> bool:
        return self._proto.closed.done()

    @property
    def error(self) -> BaseException | None:
        """Why the connection ended (None while it is open or after a clean close)."""
        return self._proto.error

    async def open_session(self, command: str | None = None, *, subsystem: str | None = None,
                           term: str | None = None, cols: int = 80, rows: int = 24,
                           modes: dict[int, int] | None = None,
                           env: dict[str, str] | None = None) -> SSHClientSession:
        """Open a session channel and start ``command`` (exec), ``subsystem``, or a shell
        when neither is given; ``term`` asks for a pty first."""
        proto = self._proto
        if proto.conn is None or proto.ssh.closed:
            raise ConnectionLost("the connection is closed")
        chan_id = proto.conn.open_channel("session")
        session = SSHClientSession(proto, chan_id)
        proto.channels[chan_id] = session
        proto.flush()
        await session.opened
        if term is not None:
            ok = await _reply(session.send_request(
                "pty-req", PtyRequest(term, cols, rows, 0, 0, modes or {}).encode(), True))
            if not ok:
                session.close()
                raise ChannelOpenError(1, "the server refused a pty")
        for name, value in (env or {}).items():
            session.send_request("env", Env(name, value).encode())
        if subsystem is not None:
            name, data = "subsystem", Subsystem(subsystem).encode()
        elif command is not None:
            name, data = "exec", Exec(command).encode()
        else:
            name, data = "shell", b""
        if not await _reply(session.send_request(name, data, True)):
            session.close()
            raise ChannelOpenError(1, f"the server refused the {name} request")
        return session

    async def run(self, command: str, *, input: bytes | None = None,
                  check: bool = False) -> RunResult:
        """Run ``command``, feed it ``input`` (then EOF), and collect its output."""
        session = await self.open_session(command)
        if input:
            session.write(input)
            await session.drain()
        session.write_eof()
        out, err = await asyncio.gather(session.stdout.read(), session.stderr.read())
        await session.wait()
        sig = session.exit_signal.name if session.exit_signal else None
        result = RunResult(session.exit_status, out, err, sig)
        if check and result.exit_status != 0:
            raise ProcessError(result)
        return result

    async def start_sftp(self) -> Any:
        """Open the "sftp" subsystem and return a started SFTPClient."""
        from .sftp_client import SFTPClient
        session = await self.open_session(subsystem="sftp")
        client = SFTPClient(session.stdout, session)  # type: ignore[arg-type]
        await client.start()
        return client

    async def open_connection(self, host: str, port: int, *, origin_host: str = "127.0.0.1",
                              origin_port: int = 0
                              ) -> tuple[asyncio.StreamReader, SSHClientSession]:
        """A TCP connection to ``host:port`` made by the server (direct-tcpip): a reader,
        and the channel as writer (``write``, ``drain``, ``write_eof``, ``close``)."""
        proto = self._proto
        if proto.conn is None or proto.ssh.closed:
            raise ConnectionLost("the connection is closed")
        chan_id = proto.conn.open_channel(
            "direct-tcpip", DirectTcpip(host, port, origin_host, origin_port).encode())
        session = SSHClientSession(proto, chan_id)
        proto.channels[chan_id] = session
        proto.flush()
        await session.opened
        return session.stdout, session

    async def forward_local_port(self, listen_host: str, listen_port: int, dest_host: str,
                                 dest_port: int) -> Listener:
        """``ssh -L``: connections to ``listen_host:listen_port`` here are carried to
        ``dest_host:dest_port`` from the server."""
        proto = self._proto

        async def incoming(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
            extra = DirectTcpip(dest_host, dest_port, str(peer[0]), int(peer[1])).encode()
            await bridge_incoming(proto, "direct-tcpip", extra, reader, writer)

        server = await asyncio.start_server(incoming, listen_host, listen_port)
        return Listener(server, server.sockets[0].getsockname()[1])

    async def forward_remote_port(self, listen_host: str, listen_port: int, dest_host: str,
                                  dest_port: int) -> Listener:
        """``ssh -R``: the server listens on ``listen_host:listen_port`` (0: it picks) and
        its connections are carried to ``dest_host:dest_port`` from here."""
        proto = self._proto
        ok, data = await proto.global_request(
            "tcpip-forward", TcpipForward(listen_host, listen_port).encode())
        if not ok:
            raise ChannelOpenError(1, f"the server refused to listen on "
                                      f"{listen_host}:{listen_port}")
        port = TcpipForwardReply.decode(data).port if listen_port == 0 and data \
            else listen_port
        proto.remote_forwards[(listen_host, port)] = (dest_host, dest_port)

        def cancel() -> None:
            proto.remote_forwards.pop((listen_host, port), None)
            if proto.conn is not None and not proto.ssh.closed:
                proto.conn.global_request("cancel-tcpip-forward",
                                          CancelTcpipForward(listen_host, port).encode())
                proto.flush()
        return Listener(None, port, cancel)

    def close(self) -> None:
        self._proto.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._proto.closed)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()


class ProcessError(Exception):
    """A command run with ``check=True`` exited with a non-zero status."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"exit status {result.exit_status}")
        self.result = result


async def _reply(fut: asyncio.Future[bool] | None) -> bool:
    return True if fut is None else await fut


def _load_keys(client_keys: Sequence[Key | str | os.PathLike[str]],
               passphrase: bytes | None) -> list[Key]:
    keys = []
    for item in client_keys:
        if not isinstance(item, Key):      # a path; "~" as a shell user would write it
            item = Key.from_file(os.path.expanduser(os.fspath(item)), passphrase)
        keys.append(item)
    return keys


def _host_key_checker(known_hosts: Any, host: str, port: int
                      ) -> tuple[Callable[[Key], bool] | None, list[Key]]:
    """``known_hosts``: None (accept any key), a callable, a Key or list of Keys, a
    KnownHosts or a known_hosts file path. Returns the check and the keys known for the host
    (their algorithms are asked for first)."""
    from .known_hosts import KnownHosts, Match
    if known_hosts is None:
        return None, []
    if callable(known_hosts) and not isinstance(known_hosts, KnownHosts):
        return known_hosts, []
    if isinstance(known_hosts, Key):
        trusted = [known_hosts]
    elif isinstance(known_hosts, (list, tuple)):
        trusted = list(known_hosts)
    else:
        if isinstance(known_hosts, KnownHosts):
            db = known_hosts
        else:
            path = os.path.expanduser(os.fspath(known_hosts))
            db = KnownHosts.from_file(path) if os.path.exists(path) else KnownHosts()
        return (lambda key: isinstance(db.lookup(host, key, port), Match)), \
            db.keys_for(host, port)
    blobs = {k.public_blob() for k in trusted}
    return (lambda key: key.public_blob() in blobs), trusted


def _prefer(config: TransportConfig | None, known: list[Key]) -> TransportConfig | None:
    """Ask first for the host key algorithms of the keys we know for this host."""
    if not known:
        return config
    config = config or TransportConfig()
    wanted = [a for k in known for a in k.signature_algorithms()]
    first = [a for a in config.host_key_algorithms if a in wanted]
    rest = [a for a in config.host_key_algorithms if a not in wanted]
    return dataclasses.replace(config, host_key_algorithms=tuple(first + rest))


async def connect(host: str, port: int = 22, *, username: str | None = None,
                  password: str | PasswordCallback | None = None,
                  client_keys: Sequence[Key | str | os.PathLike[str]] = (),
                  passphrase: bytes | None = None,
                  known_hosts: Any = DEFAULT_KNOWN_HOSTS,
                  kbd_interactive: KbdCallback | None = None,
                  config: TransportConfig | None = None,
                  connect_timeout: float | None = 30.0,
                  password_attempts: int = 3,
                  keepalive_interval: float = 0.0,
                  keepalive_count_max: int = 3) -> SSHClientConnection:
    """Connect, exchange keys, check the host key (``known_hosts``: a known_hosts path, by
    default ~/.ssh/known_hosts, a KnownHosts, a Key, a list of Keys or a callable
    ``(key) -> bool``; None accepts any key, which is unsafe) and log in with
    ``client_keys`` and/or ``password``. Raises HostKeyError, AuthenticationError,
    ConnectionLost or OSError.

    ``password`` may be a callable (sync or async, no arguments) asked each time a password
    is needed -- for the password method or a lone hidden keyboard-interactive prompt --
    and asked again after a refusal, on the same connection, up to ``password_attempts``
    times; it returns the password, or None to stop trying passwords. ``connect_timeout``
    does not count the time spent in it or in ``kbd_interactive`` (a person may be
    typing).

    ``keepalive_interval`` > 0 (seconds) turns on keepalives as OpenSSH's
    ServerAliveInterval / ServerAliveCountMax: after that long without hearing from the
    server, keepalive@openssh.com is sent; when more than ``keepalive_count_max`` go
    unanswered in a row the connection is dropped (ConnectionLost, "server not
    responding")."""
    if password_attempts < 1:
        raise ValueError("password_attempts must be at least 1")
    keepalive = Keepalive(keepalive_interval, keepalive_count_max) \
        if keepalive_interval else None
    loop = asyncio.get_running_loop()
    user = username or os.environ.get("USER") or "root"
    keys = _load_keys(client_keys, passphrase)
    verify, known = _host_key_checker(known_hosts, host, port)
    transport = Transport(server=False, config=_prefer(config, known), verify_host_key=verify)
    proto = _ClientProtocol(transport, username=user, keys=keys, password=password,
                            kbd_interactive=kbd_interactive,
                            password_attempts=password_attempts, keepalive=keepalive)

    async def _open() -> None:
        await loop.create_connection(lambda: proto, host, port)
        await proto.ready

    task = asyncio.ensure_future(_open())
    try:
        await _within(task, proto, connect_timeout)
    except BaseException:
        task.cancel()
        proto.close()
        raise
    return SSHClientConnection(proto)


ASK_POLL = 1.0     # seconds between looks at the clock while a password callback runs


async def _within(task: asyncio.Future[None], proto: _ClientProtocol,
                  timeout: float | None) -> None:
    """Await ``task`` for at most ``timeout`` seconds not spent in password callbacks."""
    if timeout is None:
        await task
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline + proto.asking_time - loop.time()
        if proto.asking:
            remaining = max(remaining, ASK_POLL)
        if remaining <= 0:
            raise TimeoutError(f"no SSH login within {timeout:g} s")
        done, _ = await asyncio.wait({task}, timeout=remaining)
        if done:
            task.result()
            return
