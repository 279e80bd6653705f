"""Real SSH peers for interop tests and benches: OpenSSH sshd, dropbear, and the client tools.

Each daemon runs in the foreground as a subprocess (its own session), listening only on
127.0.0.1 at a free port, with everything it reads -- config, host keys (one of each type
asked for), authorized_keys -- written into its own temporary directory. ``start()`` waits
(bounded) until the port answers with an SSH banner; ``stop()`` ends it by PID (SIGTERM, then
SIGKILL to its process group). Every launcher makes a client key (``client_key``, ed25519) and
authorizes it, so a test can log in straight away::

    from conch.peers import SSHD, ssh_run

    with SSHD() as sshd:
        r = ssh_run(sshd.port, "echo hi", key=sshd.client_key, known_hosts=sshd.known_hosts)
        assert r.stdout == b"hi\\n"

Logins are as the current user (root in the test container) by key. No system user is
created and no password is set: password logins are tested against plait's own server.
Dropbear has no option for where authorized_keys lives (it reads ``~USER/.ssh``), so it runs
in a private mount namespace (``unshare --mount``) with a temporary home bound over the
user's home directory; nothing outside the temp dir is touched.

The client helpers (``ssh_run``, ``sftp_batch``, ``scp``, ``dbclient``) are non-interactive:
``-F /dev/null``, BatchMode (or sshpass for a password), IdentitiesOnly, no agent, a
temporary or given known_hosts, and a timeout. The Debian packages come from ``make peers``:
a missing binary fails loudly with that hint rather than skipping.
"""
from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from process_group import stop_process_group

HOST = "127.0.0.1"
START_TIMEOUT = 30.0       # seconds for a daemon to show its banner
STOP_TIMEOUT = 10.0        # seconds between SIGTERM and SIGKILL
TOOL_TIMEOUT = 60.0        # seconds for one client tool run
CONNECT_TIMEOUT = 10       # ssh -o ConnectTimeout
PORT_RANGE = (20000, 60000)
PORT_TRIES = 50
START_TRIES = 3            # launches tried when a daemon dies at start (port taken meanwhile)
SFTP_SERVER = "/usr/lib/openssh/sftp-server"

# host key specs: "ed25519", "ecdsa" (= ecdsa:256), "ecdsa:384", "ecdsa:521", "rsa" (= rsa:3072)
DEFAULT_HOST_KEYS = ("ed25519", "ecdsa", "rsa")


class PeerError(RuntimeError):
    """A peer could not be started, or a peer tool failed to run."""


def require(binary: str) -> str:
    """The path of ``binary``, or PeerError naming the make target that installs it."""
    if os.path.isabs(binary):
        if os.access(binary, os.X_OK):
            return binary
        path = None
    else:
        path = shutil.which(binary) or next(
            (p for d in ("/usr/sbin", "/usr/bin") if os.access(p := f"{d}/{binary}", os.X_OK)),
            None)
    if path is None:
        raise PeerError(f"{binary} is not installed: run `make peers` (as root)")
    return path


def free_port() -> int:
    """A random high TCP port free on 127.0.0.1 right now."""
    for _ in range(PORT_TRIES):
        port = random.randint(*PORT_RANGE)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((HOST, port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise PeerError(f"no free port on {HOST} after {PORT_TRIES} tries")


def current_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _key_spec(spec: str) -> tuple[str, int | None]:
    kind, _, bits = spec.partition(":")
    if kind not in ("ed25519", "ecdsa", "rsa"):
        raise ValueError(f"unknown key type {spec!r}")
    return kind, int(bits) if bits else None


def keygen(path: Path, spec: str = "ed25519", *, comment: str = "",
           passphrase: str = "") -> str:
    """Write an OpenSSH private key (and ``.pub``) with ssh-keygen; its public line."""
    kind, bits = _key_spec(spec)
    argv = [require("ssh-keygen"), "-q", "-t", kind, "-f", str(path), "-N", passphrase,
            "-C", comment]
    if bits:
        argv += ["-b", str(bits)]
    _run(argv, timeout=TOOL_TIMEOUT)
    return Path(f"{path}.pub").read_text().strip()


def banner(port: int, timeout: float = 2.0) -> bytes | None:
    """The first line (the SSH identification string) a server sends, or None."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            data = b""
            deadline = time.monotonic() + timeout
            while b"\n" not in data and time.monotonic() < deadline and len(data) < 8192:
                chunk = s.recv(1024)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    for line in data.split(b"\n"):
        if line.startswith(b"SSH-"):
            return line.rstrip(b"\r")
    return None


def _run(argv: Sequence[str], *, timeout: float, input: bytes | None = None,
         env: Mapping[str, str] | None = None, cwd: Path | None = None,
         check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        p = subprocess.run(list(argv), input=input, capture_output=True, timeout=timeout,
                           env=dict(env) if env is not None else None, cwd=cwd, check=False,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           start_new_session=True)   # no terminal: no prompt can wait
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"{' '.join(argv)} did not finish within {timeout}s: "
                        f"{(exc.stderr or b'')[-2000:]!r}") from None
    if check and p.returncode != 0:
        raise PeerError(f"{' '.join(argv)} exited with {p.returncode}: {p.stderr[-2000:]!r}")
    return p


class Daemon(ABC):
    """An SSH server subprocess in a temporary directory; see the module docstring."""

    name = "daemon"

    def __init__(self, *, authorized_keys: Iterable[str] = (),
                 host_keys: Sequence[str] = DEFAULT_HOST_KEYS, port: int | None = None) -> None:
        self.fixed_port = port
        self.port = port or 0
        self.host_key_specs = tuple(host_keys)
        self.extra_authorized = list(authorized_keys)
        self.user = current_user()
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.dir = Path()
        self.host_key_paths: list[Path] = []
        self.host_public_lines: list[str] = []

    # ---- paths
    @property
    def address(self) -> tuple[str, int]:
        return HOST, self.port

    @property
    def client_key(self) -> Path:
        """An ed25519 private key (OpenSSH format, no passphrase) the server accepts."""
        return self.dir / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file naming this server's host keys (``[127.0.0.1]:PORT``)."""
        return self.dir / "known_hosts"

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ---- subclass hooks
    @abstractmethod
    def prepare(self) -> None:
        """Write keys and config into ``self.dir`` (once, before the first launch)."""

    @abstractmethod
    def argv(self) -> list[str]:
        """The command line of the daemon at ``self.port``."""

    # ---- life cycle
    def authorized_lines(self) -> list[str]:
        line = Path(f"{self.client_key}.pub").read_text().strip()
        return [line, *self.extra_authorized]

    def start(self) -> Self:
        self._tmp = tempfile.TemporaryDirectory(prefix=f"plait-{self.name}-")
        self.dir = Path(self._tmp.name)
        keygen(self.client_key, "ed25519", comment="plait-test-client")
        self.prepare()
        for attempt in range(START_TRIES):
            self.port = self.fixed_port or free_port()
            self._write_known_hosts()
            with open(self.log_path, "ab") as out:
                self.proc = subprocess.Popen(self.argv(), cwd=self.dir, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if banner(self.port, timeout=1.0) is not None:
                    return self
                time.sleep(0.05)
            died = self.proc.poll() is not None
            self._kill()
            if not died or attempt == START_TRIES - 1 or self.fixed_port:
                log = self.log()
                self.stop()
                raise PeerError(f"{self.name} did not start on port {self.port} "
                                f"({' '.join(self.argv())}):\n{log[-3000:]}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _write_known_hosts(self) -> None:
        self.known_hosts.write_text("".join(
            f"[{HOST}]:{self.port} {' '.join(line.split()[:2])}\n"
            for line in self.host_public_lines))

    def _kill(self) -> None:
        proc = self.proc
        if proc is None:
            return
        # sshd/dropbear fork a child per connection into the same process group
        stop_process_group(proc, STOP_TIMEOUT)
        self.proc = None

    def stop(self) -> None:
        self._kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class SSHD(Daemon):
    """OpenSSH's sshd: ``/usr/sbin/sshd -D -e -f CONF -p PORT`` on 127.0.0.1.

    Key logins only, for the current user (root logins allowed by key: ``PermitRootLogin
    prohibit-password``); TCP forwarding on; SFTP through OpenSSH's sftp-server.
    ``extra_config`` lines (or a mapping ``{"Ciphers": "aes128-ctr"}``) are written first:
    sshd keeps the first value it reads for a keyword, so they override the defaults here.
    """

    name = "sshd"

    def __init__(self, *, authorized_keys: Iterable[str] = (),
                 host_keys: Sequence[str] = DEFAULT_HOST_KEYS,
                 extra_config: Mapping[str, str] | Iterable[str] = (),
                 port: int | None = None) -> None:
        super().__init__(authorized_keys=authorized_keys, host_keys=host_keys, port=port)
        if isinstance(extra_config, Mapping):
            self.extra_config = [f"{k} {v}" for k, v in extra_config.items()]
        else:
            self.extra_config = list(extra_config)

    @property
    def config_path(self) -> Path:
        return self.dir / "sshd_config"

    def prepare(self) -> None:
        require("sshd")
        require(SFTP_SERVER)
        # the privilege separation directory sshd insists on (root-owned, not group-writable)
        run_sshd = Path("/run/sshd")
        if not run_sshd.is_dir():
            run_sshd.mkdir(mode=0o755, parents=True, exist_ok=True)
        for spec in self.host_key_specs:
            path = self.dir / f"host_{spec.replace(':', '_')}"
            self.host_public_lines.append(keygen(path, spec, comment=f"host-{spec}"))
            self.host_key_paths.append(path)
        (self.dir / "authorized_keys").write_text("\n".join(self.authorized_lines()) + "\n")
        lines = [
            *self.extra_config,
            f"ListenAddress {HOST}",
            *(f"HostKey {p}" for p in self.host_key_paths),
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            "PidFile none",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AllowTcpForwarding yes",
            "GatewayPorts no",
            "X11Forwarding no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "LogLevel VERBOSE",
            f"Subsystem sftp {SFTP_SERVER}",
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def argv(self) -> list[str]:
        # sshd re-execs itself and wants its absolute path
        return [require("sshd"), "-D", "-e", "-f", str(self.config_path), "-p", str(self.port)]


class Dropbear(Daemon):
    """Dropbear: ``dropbear -F -E -s -p 127.0.0.1:PORT -r HOSTKEY...`` with keys from
    dropbearkey, run under ``unshare --mount`` with a temporary home (holding
    ``.ssh/authorized_keys``) bound over the current user's home directory."""

    name = "dropbear"

    def __init__(self, *, authorized_keys: Iterable[str] = (),
                 host_keys: Sequence[str] = DEFAULT_HOST_KEYS,
                 extra_args: Sequence[str] = (), port: int | None = None) -> None:
        super().__init__(authorized_keys=authorized_keys, host_keys=host_keys, port=port)
        self.extra_args = list(extra_args)

    def prepare(self) -> None:
        require("dropbear")
        keygen_bin = require("dropbearkey")
        require("dropbearconvert")
        require("unshare")
        for spec in self.host_key_specs:
            kind, bits = _key_spec(spec)
            path = self.dir / f"host_{spec.replace(':', '_')}"
            argv = [keygen_bin, "-t", kind, "-f", str(path)]
            if bits:
                argv += ["-s", str(bits)]
            _run(argv, timeout=TOOL_TIMEOUT)
            out = _run([keygen_bin, "-y", "-f", str(path)], timeout=TOOL_TIMEOUT).stdout
            line = next(ln for ln in out.decode().splitlines()
                        if ln.startswith(("ssh-", "ecdsa-")))
            self.host_public_lines.append(line.strip())
            self.host_key_paths.append(path)
        home = self.dir / "home"
        (home / ".ssh").mkdir(parents=True, mode=0o700)
        home.chmod(0o700)
        keys = home / ".ssh" / "authorized_keys"
        keys.write_text("\n".join(self.authorized_lines()) + "\n")
        keys.chmod(0o600)

    def argv(self) -> list[str]:
        home = pwd.getpwuid(os.getuid()).pw_dir
        cmd = [require("dropbear"), "-F", "-E", "-s", "-m", "-p", f"{HOST}:{self.port}",
               "-P", str(self.dir / "dropbear.pid"), "-W", str(1024 * 1024)]
        for p in self.host_key_paths:
            cmd += ["-r", str(p)]
        cmd += self.extra_args
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        return [require("unshare"), "--mount", "--propagation", "private", "sh", "-c", script,
                "sh", str(self.dir / "home"), home, *cmd]


# ---------------------------------------------------------------- client tools


def ssh_options(*, key: Path | str | None = None, known_hosts: Path | str | None = None,
                options: Mapping[str, str] | None = None, password: bool = False) -> list[str]:
    """The common non-interactive options of ssh, sftp and scp (as ``-o`` pairs)."""
    opts = {
        "BatchMode": "no" if password else "yes",
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "ConnectTimeout": str(CONNECT_TIMEOUT),
        "LogLevel": "ERROR",
        "GlobalKnownHostsFile": "/dev/null",
        "UpdateHostKeys": "no",
        "ControlMaster": "no",
        "ControlPath": "none",
    }
    if known_hosts is not None:
        opts |= {"UserKnownHostsFile": str(known_hosts), "StrictHostKeyChecking": "yes"}
    else:
        opts |= {"UserKnownHostsFile": "/dev/null", "StrictHostKeyChecking": "no"}
    if password:
        opts |= {"PreferredAuthentications": "password,keyboard-interactive",
                 "PubkeyAuthentication": "no", "NumberOfPasswordPrompts": "1"}
    elif key is not None:
        opts |= {"IdentityFile": str(key), "PreferredAuthentications": "publickey"}
    for k, v in (options or {}).items():
        opts[k] = v
    out = ["-F", "/dev/null"]
    for k, v in opts.items():
        out += ["-o", f"{k}={v}"]
    return out


def _password_env(password: str | None) -> tuple[list[str], dict[str, str] | None]:
    if password is None:
        return [], None
    return [require("sshpass"), "-e"], dict(os.environ, SSHPASS=password)


def ssh_run(port: int, command: str | Sequence[str] | None = None, *,
            key: Path | str | None = None, user: str | None = None,
            password: str | None = None, known_hosts: Path | str | None = None,
            options: Mapping[str, str] | None = None, args: Sequence[str] = (),
            input: bytes | None = None, timeout: float = TOOL_TIMEOUT,
            check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run OpenSSH ``ssh`` to ``user@127.0.0.1:port`` (``args`` go before the destination,
    e.g. ``["-L", "..."]``, ``["-T"]``); the CompletedProcess (bytes)."""
    prefix, env = _password_env(password)
    argv = [*prefix, require("ssh"), "-p", str(port),
            *ssh_options(key=key, known_hosts=known_hosts, options=options,
                         password=password is not None),
            *args, f"{user or current_user()}@{HOST}"]
    if command is not None:
        argv += [command] if isinstance(command, str) else list(command)
    return _run(argv, timeout=timeout, input=input, env=env, check=check)


def sftp_batch(port: int, batch: str, *, key: Path | str | None = None,
               user: str | None = None, password: str | None = None,
               known_hosts: Path | str | None = None,
               options: Mapping[str, str] | None = None, cwd: Path | None = None,
               timeout: float = TOOL_TIMEOUT,
               check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run ``sftp -b -`` with ``batch`` (one command a line) on stdin; the CompletedProcess.
    sftp stops at the first failing command (unless it is prefixed with ``-``)."""
    prefix, env = _password_env(password)
    argv = [*prefix, require("sftp"), "-q", "-P", str(port),
            *ssh_options(key=key, known_hosts=known_hosts, options=options,
                         password=password is not None),
            "-b", "-", f"{user or current_user()}@{HOST}"]
    return _run(argv, timeout=timeout, input=batch.encode(), env=env, cwd=cwd, check=check)


def remote(path: str | Path, user: str | None = None) -> str:
    """An scp operand naming ``path`` on the server at 127.0.0.1."""
    return f"{user or current_user()}@{HOST}:{path}"


def scp(port: int, sources: Sequence[str | Path], dest: str | Path, *,
        key: Path | str | None = None, password: str | None = None,
        known_hosts: Path | str | None = None, options: Mapping[str, str] | None = None,
        legacy: bool = False, recursive: bool = False, timeout: float = TOOL_TIMEOUT,
        check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run ``scp`` (SFTP protocol, or the old SCP protocol with ``legacy``); remote operands
    are written with ``remote(path)``."""
    prefix, env = _password_env(password)
    argv = [*prefix, require("scp"), "-q", "-P", str(port),
            *ssh_options(key=key, known_hosts=known_hosts, options=options,
                         password=password is not None)]
    if legacy:
        argv.append("-O")
    if recursive:
        argv.append("-r")
    argv += [str(s) for s in sources] + [str(dest)]
    return _run(argv, timeout=timeout, env=env, check=check)


def dropbear_key(key: Path, out: Path) -> Path:
    """``key`` in dropbear's own format (dbclient reads no OpenSSH private keys): written to
    ``out`` by dropbearconvert, or ``key`` itself when it is one already."""
    if not key.read_bytes().startswith(b"-----BEGIN"):
        return key
    _run([require("dropbearconvert"), "openssh", "dropbear", str(key), str(out)],
         timeout=TOOL_TIMEOUT)
    return out


def dbclient(port: int, command: str | None = None, *, key: Path | str | None = None,
             user: str | None = None, password: str | None = None,
             args: Sequence[str] = (), input: bytes | None = None,
             timeout: float = TOOL_TIMEOUT,
             check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run dropbear's ``dbclient`` to ``user@127.0.0.1:port``.

    It accepts an unknown host key (``-y``) into a known_hosts under a temporary HOME (so
    nothing is written to the real one); an OpenSSH private key is converted for it; a
    password goes through DROPBEAR_PASSWORD (without one there is no terminal to prompt on,
    so password auth fails rather than waits). ``-c``/``-m``/``-o``/``-L`` go in ``args``."""
    with tempfile.TemporaryDirectory(prefix="plait-dbclient-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        argv = [require("dbclient"), "-y", "-T", "-p", str(port)]
        if password is not None:
            env["DROPBEAR_PASSWORD"] = password
        if key is not None:
            argv += ["-i", str(dropbear_key(Path(key), Path(home) / "id_dropbear"))]
        argv += [*args, f"{user or current_user()}@{HOST}"]
        if command is not None:
            argv.append(command)
        return _run(argv, timeout=timeout, input=input, env=env, check=check)


AUDIT_TIMEOUT = 300.0      # seconds for one ssh-audit run (its own -t is per connection)


def ssh_audit(port: int, host: str = HOST) -> tuple[int, list[str], dict[str, Any]]:
    """``ssh-audit -j`` against ``host:port``: (exit status, every failure, warning and CVE
    as one line each, the JSON report). ssh-audit exits 0 only with neither failures nor
    warnings; its "(nfo)" additional notes (the Terrapin reminder, the DHEat rate test)
    are neither and are not listed."""
    audit = Path(sys.executable).with_name("ssh-audit")
    audit_bin = str(audit) if audit.exists() else require("ssh-audit")
    p = subprocess.run([audit_bin, "-j", "-t", "20", "-p", str(port), host],
                       capture_output=True, text=True, timeout=AUDIT_TIMEOUT, check=False)
    report: dict[str, Any] = json.loads(p.stdout)
    problems = []
    for section in ("kex", "key", "enc", "mac"):
        for entry in report.get(section, []):
            notes = entry.get("notes", {})
            for level in ("fail", "warn"):
                for note in notes.get(level, []) or []:
                    problems.append(f"{level.upper()} {section} {entry['algorithm']}: {note}")
    for cve in report.get("cves", []) or []:
        problems.append(f"CVE {cve}")
    return p.returncode, problems, report


@contextlib.contextmanager
def password_account(password: str, home: Path) -> Iterator[str]:
    """A throwaway local account with ``password`` and ``home`` (for sshd password logins:
    sshd checks passwords against the system's accounts), removed on exit. Needs root."""
    if os.geteuid() != 0:
        raise PeerError("a local account for sshd password logins needs root")
    name = f"plaitpw{random.randrange(10**6):06d}"
    _run([require("useradd"), "-M", "-d", str(home), "-s", "/bin/sh", name],
         timeout=TOOL_TIMEOUT)
    try:
        _run([require("chpasswd")], input=f"{name}:{password}\n".encode(), timeout=TOOL_TIMEOUT)
        home.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam(name)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        yield name
    finally:
        _run([require("userdel"), name], timeout=TOOL_TIMEOUT, check=False)
