"""The SSH server API: ``server = await listen(host, port, server_host_keys=[...],
portal=portal, session_factory=MySession)``.

A logged-in user's session channels are served by :class:`SSHServerSession` objects made by
``session_factory(avatar)`` (``avatar`` is what the portal's realm returned): override the
callbacks (``pty_requested``, ``shell_requested``, ``exec_requested``, ``data_received``,
...) and answer through ``self.channel``. Programs that prefer streams pass
``process_factory=async def handler(process)`` instead and read ``process.stdin``, write
``process.stdout``/``process.stderr`` and call ``process.exit(status)``.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from plait.core.cred import Portal
from plait.core.cred.errors import LoginFailed, ValidPublicKey
from plait.core.listening import ListeningServer

from .constants import ChannelOpenFailure, DisconnectReason
from .errors import ProtocolError
from .forward import Listener, accept_to, bridge_incoming
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
from .transport import Transport, TransportConfig
from .userauth import (
    AuthSucceeded,
    CheckCredentials,
    GraceTimeExpired,
    TooManyAttempts,
    UserAuthServer,
)

__all__ = [
    "SFTPSession", "SSHServer", "SSHServerChannel", "SSHServerProcess", "SSHServerSession",
    "listen",
]

log = logging.getLogger("plait.conch.ssh.server")

MAX_FORWARDS = 16          # remote-forwarded ports one connection may hold


class SSHServerSession:
    """Override what your program needs. Requests return True to accept; ``channel`` is
    set before any callback and is how the session answers."""

    channel: SSHServerChannel

    def connection_made(self, channel: SSHServerChannel) -> None:
        self.channel = channel

    def pty_requested(self, pty: PtyRequest) -> bool:
        return False

    def env_requested(self, name: str, value: str) -> bool:
        return False

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, name: str) -> bool:
        return False

    def data_received(self, data: bytes, ext: int | None) -> None:
        pass

    def eof_received(self) -> None:
        pass

    def window_changed(self, change: WindowChange) -> None:
        pass

    def signal_received(self, name: str) -> None:
        pass

    def connection_lost(self) -> None:
        pass


class SSHServerChannel(Channel):
    """A session channel on the server: ``write``, ``write_stderr``, ``write_eof``,
    ``exit(status)``; ``username`` and ``avatar`` say who is logged in."""

    def __init__(self, proto: _ServerProtocol, channel: int, session: SSHServerSession) -> None:
        super().__init__(proto, channel)
        self.session = session
        self.username = proto.username
        self.avatar = proto.avatar
        self.pty: PtyRequest | None = None
        self.env: dict[str, str] = {}
        self.started = False

    def exit(self, status: int) -> None:
        """Send exit-status, EOF and close (after the reply, if inside a request)."""
        if self.closed:
            return
        if self._in_request:
            self._after_request.append(lambda: self.exit(status))
            return
        self.send_request("exit-status", ExitStatus(status & 0xFFFFFFFF).encode())
        self.write_eof()
        self.close()

    def exit_with_signal(self, name: str, core_dumped: bool = False, message: str = "") -> None:
        if self.closed:
            return
        if self._in_request:
            self._after_request.append(lambda: self.exit_with_signal(name, core_dumped, message))
            return
        self.send_request("exit-signal", ExitSignal(name, core_dumped, message).encode())
        self.write_eof()
        self.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self.proto.peername
        return default

    # events to the session; a failing callback ends this channel, not the connection
    def on_data(self, data: bytes, ext: int | None) -> None:
        try:
            self.session.data_received(data, ext)
        except Exception:
            log.exception("SSH session data_received failed")
            self.close()

    def on_eof(self) -> None:
        try:
            self.session.eof_received()
        except Exception:
            log.exception("SSH session eof_received failed")
            self.close()

    def on_close(self) -> None:
        self.session.connection_lost()

    def on_request(self, name: str, want_reply: bool, data: bytes) -> bool:
        try:
            return self._request(name, data)
        except ProtocolError:
            raise
        except Exception:
            # the application's callback failed: this request fails, the connection lives
            log.exception("SSH session callback for %r failed", name)
            return False

    def _request(self, name: str, data: bytes) -> bool:
        s = self.session
        if name == "pty-req" and not self.started:
            pty = PtyRequest.decode(data)
            ok = bool(s.pty_requested(pty))
            if ok:
                self.pty = pty
            return ok
        if name == "env" and not self.started:
            env = Env.decode(data)
            ok = bool(s.env_requested(env.name, env.value))
            if ok:
                self.env[env.name] = env.value
            return ok
        if name in ("shell", "exec", "subsystem"):
            if self.started:
                return False
            if name == "shell":
                ok = bool(s.shell_requested())
            elif name == "exec":
                ok = bool(s.exec_requested(Exec.decode(data).command))
            else:
                ok = bool(s.subsystem_requested(Subsystem.decode(data).name))
            self.started = ok
            return ok
        if name == "window-change":
            s.window_changed(WindowChange.decode(data))
            return True
        if name == "signal":
            s.signal_received(Signal.decode(data).name)
            return True
        return False


class _Writer:
    """process.stdout / process.stderr: write(), drain(), write_eof()."""

    def __init__(self, channel: SSHServerChannel, stderr: bool) -> None:
        self._channel = channel
        self._stderr = stderr

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        if self._stderr:
            self._channel.write_stderr(data)
        else:
            self._channel.write(data)

    async def drain(self) -> None:
        await self._channel.drain()

    def write_eof(self) -> None:
        self._channel.write_eof()


class SSHServerProcess(SSHServerSession):
    """The stream style: accepts a pty, env, a shell, exec or a subsystem, then runs
    ``handler(self)``; ``stdin`` is a StreamReader, ``stdout``/``stderr`` have write/drain;
    the handler's return value (an int) is the exit status unless it called ``exit``."""

    def __init__(self, handler: Callable[[SSHServerProcess], Awaitable[Any]]) -> None:
        self._handler = handler
        self.stdin = asyncio.StreamReader(limit=1 << 20)
        self.command: str | None = None
        self.subsystem: str | None = None
        self.term: PtyRequest | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, channel: SSHServerChannel) -> None:
        super().connection_made(channel)
        self.stdout = _Writer(channel, False)
        self.stderr = _Writer(channel, True)
        channel.throttle(self.stdin)

    @property
    def env(self) -> dict[str, str]:
        return self.channel.env

    @property
    def username(self) -> str | None:
        return self.channel.username

    def pty_requested(self, pty: PtyRequest) -> bool:
        self.term = pty
        return True

    def env_requested(self, name: str, value: str) -> bool:
        return True

    def _start(self) -> bool:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return True

    def shell_requested(self) -> bool:
        return self._start()

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return self._start()

    def subsystem_requested(self, name: str) -> bool:
        self.subsystem = name
        return self._start()

    def data_received(self, data: bytes, ext: int | None) -> None:
        self.stdin.feed_data(data)

    def eof_received(self) -> None:
        self.stdin.feed_eof()

    def connection_lost(self) -> None:
        self.stdin.feed_eof()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def exit(self, status: int) -> None:
        self.channel.exit(status)

    async def _run(self) -> None:
        try:
            result = await self._handler(self)
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("SSH session handler failed")
            result = 1
        self.channel.exit(result if isinstance(result, int) else 0)


class SFTPSession(SSHServerSession):
    """Serves the "sftp" subsystem from ``root`` (the user cannot leave it), e.g.
    ``session_factory=lambda avatar: SFTPSession(avatar.home)``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = root
        self._sftp: Any = None

    def subsystem_requested(self, name: str) -> bool:
        if name != "sftp" or self._sftp is not None:
            return False
        from .sftp_server import SFTPServer
        self._sftp = SFTPServer(self.root)
        return True

    def data_received(self, data: bytes, ext: int | None) -> None:
        if self._sftp is None:
            return
        try:
            self._sftp.receive_data(data)
        except ProtocolError as exc:
            log.info("SFTP session ended: %s", exc)
            self._end(1)
            return
        out = self._sftp.data_to_send()
        if out:
            self.channel.write(out)

    def eof_received(self) -> None:
        self._end(0)

    def connection_lost(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None

    def _end(self, status: int) -> None:
        self.connection_lost()
        self.channel.exit(status)


class _ServerProtocol(SSHProtocol):
    def __init__(self, server: SSHServer) -> None:
        self.server = server
        transport = Transport(server=True, host_keys=server.host_keys, config=server.config)
        super().__init__(transport)
        self.auth: UserAuthServer | None = None
        self.username: str | None = None
        self.avatar: Any = None
        self._logout: Callable[[], Any] | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._forwards: dict[tuple[str, int], Listener] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.server._connections.add(self)
        super().connection_made(transport)

    def _payload_sources(self) -> list[Any]:
        return [s for s in (self.auth, self.conn) if s is not None]

    def _next_deadline(self) -> float | None:
        times = [t for t in (self.ssh.get_timer(),
                             self.auth.get_timer() if self.auth else None) if t is not None]
        return min(times) if times else None

    def _handle_timer(self, now: float) -> None:
        self.ssh.handle_timer(now)
        if self.auth is not None:
            self.auth.handle_timer(now)
            self._auth_events()

    def _service_requested(self, name: str) -> None:
        if name == "ssh-userauth" and self.auth is not None and self.conn is None:
            self.ssh.accept_service(name)      # asked again before login: as sshd does
            return
        if name != "ssh-userauth" or self.auth is not None:
            raise ProtocolError(DisconnectReason.SERVICE_NOT_AVAILABLE,
                                f"service {name!r} not available")
        assert self.ssh.session_id is not None
        s = self.server
        self.auth = UserAuthServer(self.ssh.session_id, methods=s.auth_methods,
                                   max_attempts=s.max_attempts, banner=s.banner,
                                   grace_time=s.grace_time, now=self.loop.time(),
                                   failure_delay=s.failure_delay)
        self.ssh.accept_service(name)

    def _userauth_payload(self, payload: bytes) -> None:
        if self.auth is None:
            raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "user-auth before the service")
        self.auth.receive_payload(payload)
        self._auth_events()

    def _auth_events(self) -> None:
        assert self.auth is not None
        while (ev := self.auth.next_event()) is not None:
            if isinstance(ev, CheckCredentials):
                task = self.loop.create_task(self._check(ev))
                self._checks.add(task)
                task.add_done_callback(self._checks.discard)
            elif isinstance(ev, AuthSucceeded):
                self.username = ev.username
                for payload in self.auth.payloads_to_send():   # SUCCESS goes uncompressed
                    self.ssh.send_payload(payload)
                self.ssh.enable_delayed_compression()
                self._start_connection()
            elif isinstance(ev, TooManyAttempts):
                self.ssh.disconnect(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
                                    "too many authentication failures")
            elif isinstance(ev, GraceTimeExpired):
                self.ssh.disconnect(DisconnectReason.BY_APPLICATION, "login grace time over")

    async def _check(self, ev: CheckCredentials) -> None:
        ok = False
        try:
            _, avatar, logout = await self.server.portal.login(ev.credentials, self,
                                                               *self.server.interfaces)
            ok = True
            if self.avatar is None:
                self.avatar, self._logout = avatar, logout
            else:   # pragma: no cover - a second success cannot happen (auth is finished)
                await _maybe_await(logout())
        except ValidPublicKey:
            ok = True
        except LoginFailed as exc:
            log.info("SSH login refused from %s: %s", self.peername, exc)
        except Exception:
            log.exception("SSH login check failed")
        if not ok and self.auth is not None:
            await asyncio.sleep(self.auth.failure_delay)
        if self.ssh.closed or self.auth is None:
            return
        try:
            self.auth.credentials_result(ev.request_id, ok)
            self._auth_events()
        except ProtocolError as exc:
            self.ssh.disconnect(int(exc.reason), exc.description)
        self.process()

    def _channel_open_requested(self, channel: int, kind: str, extra: bytes) -> None:
        assert self.conn is not None
        if kind == "direct-tcpip":
            req = DirectTcpip.decode(extra)
            if not self._forwarding_allowed("direct-tcpip", req.host, req.port):
                self.conn.reject_channel(channel, ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
                                         "port forwarding is not allowed")
                return
            self._spawn(accept_to(self, channel, req.host, req.port))
            return
        if kind != "session" or self.server.session_factory is None:
            super()._channel_open_requested(channel, kind, extra)
            return
        try:
            session = self.server.session_factory(self.avatar)
        except Exception:
            log.exception("session factory failed")
            self.conn.reject_channel(channel, ChannelOpenFailure.RESOURCE_SHORTAGE,
                                     "session refused")
            return
        chan = SSHServerChannel(self, channel, session)
        self.channels[channel] = chan
        self.conn.accept_channel(channel)
        chan.open = True
        chan.opened.set_result(b"")
        session.connection_made(chan)

    def _forwarding_allowed(self, kind: str, host: str, port: int) -> bool:
        """The avatar's ``allow_forwarding(kind, host, port)`` if it has one, else the
        server's ``allow_forwarding`` (a bool or the same callable with the avatar first)."""
        check = getattr(self.avatar, "allow_forwarding", None)
        if callable(check):
            return bool(check(kind, host, port))
        rule = self.server.allow_forwarding
        if callable(rule):
            return bool(rule(self.avatar, kind, host, port))
        return bool(rule)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    def _global_request(self, name: str, data: bytes
                        ) -> tuple[bool, bytes] | Awaitable[tuple[bool, bytes]]:
        if self.conn is None:
            return False, b""
        if name == "tcpip-forward":
            req = TcpipForward.decode(data)
            if not self._forwarding_allowed("tcpip-forward", req.address, req.port):
                return False, b""
            return self._listen_forward(req.address, req.port)
        if name == "cancel-tcpip-forward":
            cancel = CancelTcpipForward.decode(data)
            listener = self._forwards.pop((cancel.address, cancel.port), None)
            if listener is None:
                return False, b""
            listener.close()
            return True, b""
        return False, b""

    async def _listen_forward(self, address: str, port: int) -> tuple[bool, bytes]:
        if len(self._forwards) >= MAX_FORWARDS:
            return False, b""
        # "" and the wildcards bind loopback only: wider needs an explicit address
        host = "127.0.0.1" if address in ("", "localhost", "0.0.0.0", "*", "::") else address
        bound = {"port": port}

        async def incoming(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername") or ("", 0)
            extra = ForwardedTcpip(address, bound["port"], str(peer[0]), int(peer[1])).encode()
            await bridge_incoming(self, "forwarded-tcpip", extra, reader, writer)

        try:
            server = await asyncio.start_server(incoming, host, port)
        except OSError as exc:
            log.info("tcpip-forward %s:%d refused: %s", address, port, exc)
            return False, b""
        bound["port"] = server.sockets[0].getsockname()[1]
        if self.ssh.closed:
            server.close()
            return False, b""
        self._forwards[(address, port)] = Listener(server, bound["port"])
        return True, TcpipForwardReply(bound["port"]).encode() if port == 0 else b""

    def _connection_closed(self) -> None:
        for task in list(self._checks):
            task.cancel()
        for listener in self._forwards.values():
            listener.close()
        self._forwards.clear()
        self.server._connections.discard(self)
        logout, self._logout = self._logout, None
        if logout is not None:
            result = logout()
            if inspect.isawaitable(result):
                self.loop.create_task(_maybe_await(result))


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class SSHServer(ListeningServer):
    """A listening SSH server; ``port`` is the bound port; ``close()`` stops listening and
    ends every connection."""

    def __init__(self, *, host_keys: Sequence[Key], portal: Portal,
                 session_factory: Callable[[Any], SSHServerSession] | None,
                 config: TransportConfig | None, auth_methods: Sequence[str],
                 max_attempts: int, banner: str | None, grace_time: float | None,
                 failure_delay: float, interfaces: Sequence[Any],
                 allow_forwarding: bool | Callable[..., bool] = True) -> None:
        self.host_keys = list(host_keys)
        self.portal = portal
        self.session_factory = session_factory
        self.config = config
        self.auth_methods = tuple(auth_methods)
        self.max_attempts = max_attempts
        self.banner = banner
        self.grace_time = grace_time
        self.failure_delay = failure_delay
        self.interfaces = tuple(interfaces)
        self.allow_forwarding = allow_forwarding
        self._connections: set[_ServerProtocol] = set()

    @property
    def peers(self) -> list[Any]:
        """The peer addresses of the connections open now."""
        return [proto.peername for proto in self._connections]

    def close_connections(self) -> None:
        for proto in list(self._connections):
            proto.close(DisconnectReason.BY_APPLICATION, "server shutting down")


def _default_config(keys: Sequence[Key]) -> TransportConfig:
    config = TransportConfig.hardened()
    offered = {a for k in keys for a in k.signature_algorithms()}
    if not offered & set(config.host_key_algorithms):
        return TransportConfig.hardened(host_key_algorithms=TransportConfig.host_key_algorithms)
    return config


def _load_host_keys(keys: Sequence[Key | str | os.PathLike[str]]) -> list[Key]:
    out = [k if isinstance(k, Key) else Key.from_file(k) for k in keys]
    for key in out:
        if not key.is_private:
            raise ValueError(f"host key {key.fingerprint()} has no private part")
    if not out:
        raise ValueError("listen() needs at least one host key")
    return out


async def listen(host: str = "127.0.0.1", port: int = 0, *,
                 server_host_keys: Sequence[Key | str | os.PathLike[str]], portal: Portal,
                 session_factory: Callable[[Any], SSHServerSession] | None = None,
                 process_factory: Callable[[SSHServerProcess], Awaitable[Any]] | None = None,
                 config: TransportConfig | None = None,
                 auth_methods: Sequence[str] = ("publickey", "password",
                                                "keyboard-interactive"),
                 max_attempts: int = 6, banner: str | None = None,
                 grace_time: float | None = 120.0, failure_delay: float = 2.0,
                 interfaces: Sequence[Any] = (object,),
                 allow_forwarding: bool | Callable[..., bool] = True) -> SSHServer:
    """Listen for SSH connections on ``host``:``port`` (0 picks a free port); ``config``
    defaults to :meth:`TransportConfig.hardened` (plus ECDSA host key algorithms if no
    other host key is given): post-quantum key exchange first, with curve25519 and large
    DH groups kept as fallbacks for the clients a library server meets (paramiko, older
    OpenSSH); ``TransportConfig.hardened(post_quantum_only=True)`` drops them, as
    ``plait serve`` does. ``allow_forwarding`` (True, False or
    ``f(avatar, kind, host, port)``; an avatar's own ``allow_forwarding(kind, host, port)``
    wins) decides direct-tcpip and tcpip-forward requests."""
    if process_factory is not None:
        if session_factory is not None:
            raise ValueError("give session_factory or process_factory, not both")
        handler = process_factory
        session_factory = lambda avatar: SSHServerProcess(handler)
    keys = _load_host_keys(server_host_keys)
    server = SSHServer(host_keys=keys, portal=portal,
                       session_factory=session_factory,
                       config=config or _default_config(keys),
                       auth_methods=auth_methods, max_attempts=max_attempts, banner=banner,
                       grace_time=grace_time, failure_delay=failure_delay,
                       interfaces=interfaces, allow_forwarding=allow_forwarding)
    loop = asyncio.get_running_loop()
    server._server = await loop.create_server(lambda: _ServerProtocol(server), host, port)
    return server
