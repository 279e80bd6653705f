"""SSH user authentication (RFC 4252, keyboard-interactive RFC 4256) as sans-IO cores.

Why sans-IO: the decision (a cred Portal, maybe a database) is asynchronous and lives in the
adapter; the cores only speak the protocol.  The server core parses requests, verifies
public-key signatures itself (over the RFC 4252 §7 data, with an allowed algorithm matching
the key), and asks the adapter with :class:`CheckCredentials`; the adapter answers with
:meth:`UserAuthServer.credentials_result` after the portal (and, on failure, a delay).
The client core tries none, each public key (query, then signature), a password, then
keyboard-interactive, and reports :class:`AuthSucceeded` or :class:`AuthFailed`.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from plait.core.cred.credentials import SSHPublicKey, UsernamePassword

from .constants import DisconnectReason, Msg
from .errors import KeyFormatError, ProtocolError
from .keys import Key
from .wire import Reader, Writer

__all__ = [
    "DEFAULT_PUBLICKEY_ALGORITHMS", "AuthFailed", "AuthSucceeded", "Banner", "CheckCredentials",
    "Event", "GraceTimeExpired", "KbdPrompts", "PasswordNeeded", "SigningKey",
    "TooManyAttempts",
    "UserAuthClient", "UserAuthServer", "publickey_signed_data",
]

DEFAULT_PUBLICKEY_ALGORITHMS = (
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "rsa-sha2-512", "rsa-sha2-256",
)
_KEY_TYPE_OF = {"rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa", "ssh-rsa": "ssh-rsa"}

MAX_USERNAME = 256
MAX_PASSWORD = 1024
MAX_KBD_ROUNDS = 16
MAX_KBD_PROMPTS = 32
MAX_QUEUED = 16


@dataclass(frozen=True)
class CheckCredentials:
    """Server: ask the portal.  An SSHPublicKey with ``signature`` None is the query form
    ("would you accept this key?"); a signed one has been verified by the core already."""

    request_id: int
    credentials: UsernamePassword | SSHPublicKey


@dataclass(frozen=True)
class AuthSucceeded:
    username: str


@dataclass(frozen=True)
class TooManyAttempts:
    """Server: the attempt limit was reached; disconnect with NO_MORE_AUTH_METHODS_AVAILABLE."""

    username: str
    attempts: int


@dataclass(frozen=True)
class GraceTimeExpired:
    """Server: no successful login within the grace time; drop the connection."""


@dataclass(frozen=True)
class AuthFailed:
    """Client: every method we had was refused; ``methods`` is the server's last list."""

    methods: tuple[str, ...]


@dataclass(frozen=True)
class Banner:
    """Client: the server's USERAUTH_BANNER text (show it to the user, sanitized)."""

    text: str


@dataclass(frozen=True)
class PasswordNeeded:
    """Client (``ask_password``): the next request needs a password; answer with
    :meth:`UserAuthClient.supply_password`. ``attempt`` counts from 1; ``prompt`` is the
    server's keyboard-interactive prompt when it asks that way, else None."""

    attempt: int
    prompt: str | None = None


Event = (CheckCredentials | AuthSucceeded | TooManyAttempts | GraceTimeExpired | AuthFailed
         | Banner | PasswordNeeded)


def _protocol_error(description: str) -> ProtocolError:
    return ProtocolError(DisconnectReason.PROTOCOL_ERROR, description)


def publickey_signed_data(session_id: bytes, username: str, service: str, algorithm: str,
                          blob: bytes) -> bytes:
    """What a publickey request signs (RFC 4252 §7)."""
    return (Writer().string(session_id).byte(Msg.USERAUTH_REQUEST).string(username)
            .string(service).string("publickey").boolean(True).string(algorithm).string(blob)
            .getvalue())


def _key_type(blob: bytes) -> str | None:
    try:
        return Reader(blob).text(64)
    except ProtocolError:
        return None


# -------------------------------------------------------------------------------- server

KbdPrompts = tuple[str, str, Sequence[tuple[str, bool]]]
"""keyboard-interactive questions: (name, instruction, [(prompt, echo), ...])."""


def _password_prompts(username: str) -> KbdPrompts:
    return ("", "", [("Password: ", False)])


def _password_answers(username: str, answers: Sequence[str]) -> UsernamePassword | None:
    return UsernamePassword(username, answers[0]) if len(answers) == 1 else None


class UserAuthServer:
    """The server side of ssh-userauth.

    ``methods`` are offered in FAILURE messages; ``max_attempts`` failed attempts (the first
    "none" does not count, as with OpenSSH) end in TooManyAttempts; ``grace_time`` seconds
    after ``now`` without success end in GraceTimeExpired (see get_timer/handle_timer);
    ``failure_delay`` is the pause the adapter should make before answering a failed check.
    keyboard-interactive asks ``kbd_prompts(username)`` and turns the answers into
    credentials with ``kbd_credentials(username, answers)`` (by default one "Password:"
    checked as UsernamePassword).
    """

    def __init__(self, session_id: bytes, *,
                 methods: Sequence[str] = ("publickey", "password", "keyboard-interactive"),
                 max_attempts: int = 6, banner: str | None = None,
                 service: str = "ssh-connection", grace_time: float | None = 120.0,
                 now: float = 0.0, failure_delay: float = 2.0,
                 publickey_algorithms: Sequence[str] = DEFAULT_PUBLICKEY_ALGORITHMS,
                 kbd_prompts: Callable[[str], KbdPrompts] = _password_prompts,
                 kbd_credentials: Callable[[str, Sequence[str]], UsernamePassword | None]
                 = _password_answers) -> None:
        unknown = set(methods) - {"publickey", "password", "keyboard-interactive"}
        if unknown:
            raise ValueError(f"unknown methods: {sorted(unknown)}")
        self.session_id = session_id
        self.methods = tuple(methods)
        self.max_attempts = max_attempts
        self.banner = banner
        self.service = service
        self.failure_delay = failure_delay
        self.publickey_algorithms = frozenset(publickey_algorithms)
        self.kbd_prompts = kbd_prompts
        self.kbd_credentials = kbd_credentials
        self.deadline = None if grace_time is None else now + grace_time
        self.attempts = 0
        self.username: str | None = None   # set on success
        self.finished = False               # succeeded, timed out or too many attempts
        self._banner_sent = False
        self._seen_request = False
        self._out: list[bytes] = []
        self._events: deque[Event] = deque()
        self._queue: deque[bytes] = deque()
        self._next_id = 1
        # the check in progress: (request id, username, PK_OK payload if a key query)
        self._pending: tuple[int, str, bytes | None] | None = None
        self._kbd_user: str | None = None   # keyboard-interactive waiting for INFO_RESPONSE
        self._kbd_count = 0

    # -- sans-IO surface ---------------------------------------------------------------------

    def payloads_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        return None if self.finished else self.deadline

    def handle_timer(self, now: float) -> None:
        if not self.finished and self.deadline is not None and now >= self.deadline:
            self.finished = True
            self._events.append(GraceTimeExpired())

    def receive_payload(self, payload: bytes) -> None:
        """A message 50..79 from the client; requests wait while a check is in progress."""
        if not payload:
            raise _protocol_error("empty message")
        if payload[0] not in (Msg.USERAUTH_REQUEST, Msg.USERAUTH_INFO_RESPONSE):
            raise _protocol_error(f"message {payload[0]} is not a client user-auth message")
        if self.finished:
            return  # RFC 4252 §5.1: requests after success are ignored
        if self._pending is not None or self._queue:
            if len(self._queue) >= MAX_QUEUED:
                raise _protocol_error("too many user-auth requests sent ahead")
            self._queue.append(payload)
            return
        self._handle(payload)

    def credentials_result(self, request_id: int, ok: bool) -> None:
        """The portal's answer to CheckCredentials ``request_id`` (after the failure delay)."""
        if self._pending is None or self._pending[0] != request_id:
            raise ValueError(f"no credentials check {request_id} in progress")
        _, username, pk_ok = self._pending
        self._pending = None
        if self.finished:
            return
        if ok and pk_ok is not None:
            self._out.append(pk_ok)
        elif ok:
            self._succeed(username)
        else:
            self._fail(username, counts=True)
        while self._queue and self._pending is None and not self.finished:
            self._handle(self._queue.popleft())
        self._queue_if_finished()

    # -- internals ---------------------------------------------------------------------------

    def _queue_if_finished(self) -> None:
        if self.finished:
            self._queue.clear()

    def _handle(self, payload: bytes) -> None:
        if not self._banner_sent:
            self._banner_sent = True
            if self.banner:
                self._out.append(Writer(Msg.USERAUTH_BANNER).string(self.banner).string("")
                                 .getvalue())
        r = Reader(payload, 1)
        if payload[0] == Msg.USERAUTH_INFO_RESPONSE:
            self._on_info_response(r)
            return
        username = r.text(MAX_USERNAME)
        service = r.text(64)
        method = r.text(64)
        if service != self.service:
            raise ProtocolError(DisconnectReason.SERVICE_NOT_AVAILABLE,
                                f"user-auth for unknown service {service!r}")
        self._kbd_user = None  # a new request abandons keyboard-interactive (RFC 4256 §3.4)
        first = not self._seen_request
        self._seen_request = True
        if method == "none":
            r.end()
            self._fail(username, counts=not first)
        elif method not in self.methods:
            self._fail(username, counts=True)
        elif method == "publickey":
            self._on_publickey(username, service, r)
        elif method == "password":
            self._on_password(username, r)
        else:
            self._on_kbd(username, r)

    def _on_publickey(self, username: str, service: str, r: Reader) -> None:
        signed = r.boolean()
        algorithm = r.text(64)
        blob = r.string(16384)
        signature = r.string(16384) if signed else None
        r.end()
        key_type = _key_type(blob)
        if (algorithm not in self.publickey_algorithms
                or key_type != _KEY_TYPE_OF.get(algorithm, algorithm)):
            self._fail(username, counts=True)
            return
        if signature is None:
            pk_ok = Writer(Msg.USERAUTH_PK_OK).string(algorithm).string(blob).getvalue()
            self._check(username, SSHPublicKey(username, algorithm.encode(), blob), pk_ok)
            return
        data = publickey_signed_data(self.session_id, username, service, algorithm, blob)
        if not self._signature_ok(algorithm, blob, signature, data):
            self._fail(username, counts=True)
            return
        self._check(username, SSHPublicKey(username, algorithm.encode(), blob, data, signature))

    @staticmethod
    def _signature_ok(algorithm: str, blob: bytes, signature: bytes, data: bytes) -> bool:
        try:
            sig_alg = Reader(signature).text(64)
        except ProtocolError:
            return False
        if sig_alg != algorithm:
            return False
        try:
            key = Key.from_public_blob(blob)
        except KeyFormatError:
            return False
        return key.verify(signature, data)

    def _on_password(self, username: str, r: Reader) -> None:
        change = r.boolean()
        password = r.text(MAX_PASSWORD)
        if change:
            r.text(MAX_PASSWORD)
            r.end()
            # Changing passwords is not offered: refused outright, the portal never sees it.
            self._fail(username, counts=True)
            return
        r.end()
        self._check(username, UsernamePassword(username, password))

    def _on_kbd(self, username: str, r: Reader) -> None:
        r.text(256)          # language tag (deprecated)
        r.text(1024)         # submethods (hints we do not use)
        r.end()
        name, instruction, prompts = self.kbd_prompts(username)
        w = (Writer(Msg.USERAUTH_PK_OK).string(name).string(instruction).string("")
             .uint32(len(prompts)))
        for prompt, echo in prompts:
            w.string(prompt).boolean(echo)
        self._kbd_user = username
        self._kbd_count = len(prompts)
        self._out.append(w.getvalue())

    def _on_info_response(self, r: Reader) -> None:
        username = self._kbd_user
        if username is None:
            raise _protocol_error("INFO_RESPONSE without a keyboard-interactive request")
        self._kbd_user = None
        count = r.uint32()
        if count != self._kbd_count:
            raise _protocol_error(f"INFO_RESPONSE with {count} answers to "
                                  f"{self._kbd_count} prompts")
        answers = [r.text(MAX_PASSWORD) for _ in range(count)]
        r.end()
        credentials = self.kbd_credentials(username, answers)
        if credentials is None:
            self._fail(username, counts=True)
        else:
            self._check(username, credentials)

    def _check(self, username: str, credentials: UsernamePassword | SSHPublicKey,
               pk_ok: bytes | None = None) -> None:
        request_id = self._next_id
        self._next_id += 1
        self._pending = (request_id, username, pk_ok)
        self._events.append(CheckCredentials(request_id, credentials))

    def _fail(self, username: str, *, counts: bool) -> None:
        if counts:
            self.attempts += 1
            if self.attempts >= self.max_attempts:
                self.finished = True
                self._events.append(TooManyAttempts(username, self.attempts))
                return
        self._out.append(Writer(Msg.USERAUTH_FAILURE).name_list(self.methods).boolean(False)
                         .getvalue())

    def _succeed(self, username: str) -> None:
        self.finished = True
        self.username = username
        self._out.append(bytes((Msg.USERAUTH_SUCCESS,)))
        self._events.append(AuthSucceeded(username))


# -------------------------------------------------------------------------------- client


class SigningKey(Protocol):
    """What the client needs of a private key (a :class:`~plait.conch.ssh.keys.Key`)."""

    def public_blob(self) -> bytes: ...
    def signature_algorithms(self) -> list[str]: ...
    def sign(self, data: bytes, algorithm: str | None = None) -> bytes: ...


KbdCallback = Callable[[str, str, list[tuple[str, bool]]], Sequence[str] | None]
"""keyboard-interactive answers: (name, instruction, [(prompt, echo)]) -> answers, or None
to give up on the method."""


class UserAuthClient:
    """The client side of ssh-userauth: none, then each key (query, then signature), then
    ``password``, then keyboard-interactive (``kbd_interactive`` answers the prompts; without
    it, a lone hidden prompt is answered with ``password``).

    With ``ask_password`` the password is not known up front: each time one is needed
    (a password request, or a lone hidden keyboard-interactive prompt) a
    :class:`PasswordNeeded` event asks for it, and after a refusal it is asked again, up to
    ``password_attempts`` times in all, on the same connection (OpenSSH's
    NumberOfPasswordPrompts).

    Call :meth:`start` once the server accepted the ssh-userauth service.
    ``server_sig_algs`` (from EXT_INFO) picks the RSA signature algorithm the server takes.
    """

    def __init__(self, session_id: bytes, username: str, *, keys: Sequence[SigningKey] = (),
                 password: str | None = None, kbd_interactive: KbdCallback | None = None,
                 service: str = "ssh-connection",
                 server_sig_algs: Sequence[str] | None = None, ask_password: bool = False,
                 password_attempts: int = 3) -> None:
        if password_attempts < 1:
            raise ValueError("password_attempts must be at least 1")
        self.session_id = session_id
        self.ask_password = ask_password
        self.password_attempts = password_attempts
        self._asked = 0                          # passwords asked for so far
        self.username = username
        self.keys = list(keys)
        self.password = password
        self.kbd_interactive = kbd_interactive
        self.service = service
        self.server_sig_algs = None if server_sig_algs is None else list(server_sig_algs)
        self.methods: tuple[str, ...] = ()      # the server's last list of methods
        self.method: str | None = None          # the method that succeeded, or in progress
        self.finished = False
        # idle | none | pk_query | pk_sign | password | kbd | done, and while a
        # PasswordNeeded waits for its answer: password_wait | kbd_wait
        self._state = "idle"
        self._key_index = 0
        self._key_alg = ""
        self._password_tried = False
        self._kbd_tried = False
        self._kbd_asked = False      # this keyboard-interactive try asked someone (retry it)
        self._kbd_rounds = 0
        self._out: list[bytes] = []
        self._events: deque[Event] = deque()

    # -- sans-IO surface ---------------------------------------------------------------------

    def payloads_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def set_server_sig_algs(self, names: Sequence[str]) -> None:
        self.server_sig_algs = list(names)

    def start(self) -> None:
        if self._state != "idle":
            raise ValueError("user-auth already started")
        self._state = "none"
        self.method = "none"
        self._out.append(self._request("none").getvalue())

    def receive_payload(self, payload: bytes) -> None:
        """A message 50..79 from the server."""
        if not payload:
            raise _protocol_error("empty message")
        msg = payload[0]
        r = Reader(payload, 1)
        if msg == Msg.USERAUTH_BANNER:
            text = r.text(65536)
            r.text(256)
            r.end()
            if not self.finished:
                self._events.append(Banner(text))
            return
        if self._state in ("idle", "done", "password_wait", "kbd_wait"):
            raise _protocol_error(f"user-auth message {msg} when no request is outstanding")
        if msg == Msg.USERAUTH_SUCCESS:
            r.end()
            self._state = "done"
            self.finished = True
            self._events.append(AuthSucceeded(self.username))
        elif msg == Msg.USERAUTH_FAILURE:
            self.methods = tuple(r.name_list())
            r.boolean()  # partial success: we never have a second factor to add
            r.end()
            self._failed()
        elif msg == Msg.USERAUTH_PK_OK and self._state == "pk_query":
            self._on_pk_ok(r)
        elif msg == Msg.USERAUTH_PK_OK and self._state == "password":
            # PASSWD_CHANGEREQ: we have no new password to give; try the next method.
            r.text(1024)
            r.text(256)
            r.end()
            self._password_tried = True
            self._next_method()
        elif msg == Msg.USERAUTH_PK_OK and self._state == "kbd":
            self._on_info_request(r)
        else:
            raise _protocol_error(f"unexpected user-auth message {msg} in state {self._state}")

    def supply_password(self, password: str | None) -> None:
        """The answer to a :class:`PasswordNeeded`: the password, or None to give up on
        password logins (the next method is tried)."""
        if self._state not in ("password_wait", "kbd_wait"):
            raise ValueError("no password was asked for")
        waiting = self._state
        if password is None:
            self._password_tried = True
            if waiting == "kbd_wait":
                self._kbd_tried = True
            self._next_method()
        elif waiting == "password_wait":
            self._state = "password"
            self._out.append(self._request("password").boolean(False).string(password)
                             .getvalue())
        else:
            self._state = "kbd"
            self._out.append(Writer(Msg.USERAUTH_INFO_RESPONSE).uint32(1).string(password)
                             .getvalue())

    def _ask(self, state: str, prompt: str | None) -> None:
        self._state = state
        self._asked += 1
        self._events.append(PasswordNeeded(self._asked, prompt))

    def _may_ask_again(self) -> bool:
        return self._asked < self.password_attempts

    # -- internals ---------------------------------------------------------------------------

    def _request(self, method: str) -> Writer:
        return (Writer(Msg.USERAUTH_REQUEST).string(self.username).string(self.service)
                .string(method))

    def _failed(self) -> None:
        if self._state in ("pk_query", "pk_sign"):
            self._key_index += 1
        elif self._state == "password":
            self._password_tried = not (self.ask_password and self._may_ask_again())
        elif self._state == "kbd":
            self._kbd_tried = not (self._kbd_asked and self._may_ask_again())
        self._next_method()

    def _algorithm_for(self, key: SigningKey) -> str | None:
        for algorithm in key.signature_algorithms():
            if self.server_sig_algs is None or algorithm in self.server_sig_algs:
                return algorithm
        return None

    def _next_method(self) -> None:
        if "publickey" in self.methods:
            while self._key_index < len(self.keys):
                key = self.keys[self._key_index]
                algorithm = self._algorithm_for(key)
                if algorithm is None:
                    self._key_index += 1
                    continue
                self._state = "pk_query"
                self.method = "publickey"
                self._key_alg = algorithm
                self._out.append(self._request("publickey").boolean(False).string(algorithm)
                                 .string(key.public_blob()).getvalue())
                return
        if (self.password is not None or self.ask_password) and not self._password_tried \
                and "password" in self.methods:
            self.method = "password"
            if self.ask_password:
                self._ask("password_wait", None)
                return
            assert self.password is not None
            self._state = "password"
            self._out.append(self._request("password").boolean(False).string(self.password)
                             .getvalue())
            return
        if ((self.kbd_interactive is not None or self.password is not None
             or self.ask_password)
                and not self._kbd_tried and "keyboard-interactive" in self.methods):
            self._state = "kbd"
            self.method = "keyboard-interactive"
            self._kbd_tried = True
            self._kbd_asked = False
            self._kbd_rounds = 0
            self._out.append(self._request("keyboard-interactive").string("").string("")
                             .getvalue())
            return
        self._state = "done"
        self.method = None
        self.finished = True
        self._events.append(AuthFailed(self.methods))

    def _on_pk_ok(self, r: Reader) -> None:
        algorithm = r.text(64)
        blob = r.string(16384)
        r.end()
        key = self.keys[self._key_index]
        public = key.public_blob()
        if algorithm != self._key_alg or blob != public:
            raise _protocol_error("PK_OK for a key we did not offer")
        data = publickey_signed_data(self.session_id, self.username, self.service, algorithm,
                                     public)
        signature = key.sign(data, algorithm)
        self._state = "pk_sign"
        self._out.append(self._request("publickey").boolean(True).string(algorithm)
                         .string(public).string(signature).getvalue())

    def _on_info_request(self, r: Reader) -> None:
        name = r.text(1024)
        instruction = r.text(4096)
        r.text(256)  # language tag
        count = r.uint32()
        if count > MAX_KBD_PROMPTS:
            raise _protocol_error(f"INFO_REQUEST with {count} prompts")
        prompts = [(r.text(1024), r.boolean()) for _ in range(count)]
        r.end()
        self._kbd_rounds += 1
        if self._kbd_rounds > MAX_KBD_ROUNDS:
            raise ProtocolError(DisconnectReason.AUTH_CANCELLED_BY_USER,
                                f"more than {MAX_KBD_ROUNDS} keyboard-interactive rounds")
        answers: Sequence[str] | None
        if not prompts:
            answers = []
        elif self.kbd_interactive is not None or (
                self.ask_password and len(prompts) == 1 and not prompts[0][1]):
            # someone is asked: a try counted against password_attempts (later rounds of
            # the same try are not), and retried after a refusal while tries are left
            if not self._kbd_asked:
                if not self._may_ask_again():
                    self._next_method()
                    return
                self._kbd_asked = True
                if self.kbd_interactive is not None:
                    self._asked += 1
            if self.kbd_interactive is None:
                self._ask("kbd_wait", prompts[0][0])
                return
            answers = self.kbd_interactive(name, instruction, prompts)
        elif len(prompts) == 1 and not prompts[0][1]:
            answers = [self.password or ""]
        else:
            answers = None
        if answers is None or len(answers) != len(prompts):
            self._next_method()  # a new request abandons keyboard-interactive
            return
        w = Writer(Msg.USERAUTH_INFO_RESPONSE).uint32(len(answers))
        for answer in answers:
            w.string(answer)
        self._out.append(w.getvalue())
