"""Endpoint descriptions: every kind listens and connects; bad ones name the bad part."""
from __future__ import annotations

import asyncio
import datetime
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from certs import make_self_signed
from plait.core.endpoints import (
    StreamListeningPort,
    client_endpoint,
    parse_description,
    quote,
    server_endpoint,
)
from plait.core.transport import StreamProtocol

WAIT = 10.0


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_IPV6 = _has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(
    not HAS_IPV6, reason="this machine has no IPv6 loopback (cannot bind ::1)"
)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return make_self_signed(tmp_path)


class Echo(StreamProtocol):
    def stream_received(self, data: memoryview) -> None:
        self.write(data)


class Client(StreamProtocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.got = asyncio.Event()
        self.ended = asyncio.Event()

    def stream_received(self, data: memoryview) -> None:
        self.data += data
        self.got.set()

    def stream_ended(self, exc: BaseException | None) -> None:
        self.ended.set()


async def echo_round_trip(server_desc: str, client_desc_for: Any) -> StreamListeningPort:
    port = await server_endpoint(server_desc).listen(Echo)
    client = await asyncio.wait_for(client_endpoint(client_desc_for(port)).connect(Client), WAIT)
    client.write(b"ping")
    while bytes(client.data) != b"ping":
        client.got.clear()
        await asyncio.wait_for(client.got.wait(), WAIT)
    assert len(port.connections) == 1
    client.close()
    await asyncio.wait_for(client.ended.wait(), WAIT)
    return port  # type: ignore[return-value]


async def test_tcp(loop_kind: str) -> None:
    port = await echo_round_trip(
        "tcp:0:interface=127.0.0.1", lambda p: f"tcp:host=127.0.0.1:port={p.port}"
    )
    assert port.port and port.port > 0
    assert port.addresses == [f"tcp:127.0.0.1:{port.port}"]
    assert port.description == f"tcp:{port.port}:interface=127.0.0.1"
    await port.close()


async def test_tcp_positional_client_and_backlog(loop_kind: str) -> None:
    port = await echo_round_trip(
        "tcp:port=0:interface=127.0.0.1:backlog=5", lambda p: f"tcp:127.0.0.1:{p.port}:timeout=5"
    )
    assert port.description == f"tcp:{port.port}:interface=127.0.0.1:backlog=5"
    await port.close()


@needs_ipv6
async def test_tcp6(loop_kind: str) -> None:
    port = await echo_round_trip("tcp6:0:interface=::1", lambda p: f"tcp6:host=::1:port={p.port}")
    assert port.addresses == [f"tcp6:[::1]:{port.port}"]
    assert port.description == f"tcp6:{port.port}:interface=\\:\\:1"
    # the real description parses back to the same interface
    assert parse_description(port.description)[2]["interface"] == "::1"
    await port.close()


async def test_unix_with_mode(loop_kind: str, tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    port = await echo_round_trip(f"unix:{path}:mode=0600", lambda p: f"unix:path={path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert port.addresses == [f"unix:{path}"]
    await port.close()
    assert not path.exists()  # the socket file is removed on close


async def test_unix_other_mode_and_stale_socket(loop_kind: str, tmp_path: Path) -> None:
    path = tmp_path / "t.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # leaves a socket file nobody listens on
    port = await echo_round_trip(f"unix:{path}:mode=0640", lambda p: f"unix:{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    await port.close()


async def test_ssl(loop_kind: str, cert: tuple[Path, Path]) -> None:
    cert_path, key_path = cert
    desc = f"ssl:0:interface=127.0.0.1:certKey={cert_path}:privateKey={key_path}"
    port = await echo_round_trip(
        desc, lambda p: f"ssl:host=127.0.0.1:port={p.port}:trustRoots={cert_path}"
    )
    assert port.addresses == [f"ssl:127.0.0.1:{port.port}"]
    assert port.description.startswith(f"ssl:{port.port}:interface=127.0.0.1:certKey=")
    await port.close()


@pytest.fixture
def ca_dir(cert: tuple[Path, Path], tmp_path: Path) -> Path:
    """An OpenSSL hashed CA directory (``<subject hash>.0``) holding the test cert."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to hash a CA directory")
    cert_path = cert[0]
    h = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(cert_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    directory = tmp_path / "ca"
    directory.mkdir()
    (directory / f"{h.stdout.strip()}.0").write_bytes(cert_path.read_bytes())
    return directory


async def test_ssl_with_ca_dir_and_hostname(
    loop_kind: str, cert: tuple[Path, Path], ca_dir: Path
) -> None:
    cert_path, key_path = cert
    desc = f"ssl:0:interface=127.0.0.1:certKey={cert_path}:privateKey={key_path}"
    port = await echo_round_trip(
        desc,
        lambda p: f"ssl:host=127.0.0.1:port={p.port}:caCertsDir={ca_dir}:hostname=localhost",
    )
    await port.close()


async def test_ssl_client_rejects_untrusted_server(
    loop_kind: str, cert: tuple[Path, Path], tmp_path: Path
) -> None:
    cert_path, key_path = cert
    other = tmp_path / "other"
    other.mkdir()
    port = await server_endpoint(
        f"ssl:0:interface=127.0.0.1:certKey={cert_path}:privateKey={key_path}"
    ).listen(Echo)
    empty_roots = other / "roots.pem"
    # trust a different self-signed certificate only
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else")])
    now = datetime.datetime.now(datetime.UTC)
    c = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None)
    )
    empty_roots.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    endpoint = client_endpoint(f"ssl:host=127.0.0.1:port={port.port}:trustRoots={empty_roots}")
    with pytest.raises(OSError):  # ssl.SSLCertVerificationError is an OSError
        await asyncio.wait_for(endpoint.connect(Client), WAIT)
    await port.close()


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait((data, addr))


class DatagramEcho(Datagrams):
    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        self.transport.sendto(b"echo:" + data, addr)


async def test_udp(loop_kind: str) -> None:
    port = await server_endpoint("udp:0:interface=127.0.0.1").listen(DatagramEcho)
    assert port.addresses == [f"udp:127.0.0.1:{port.port}"]  # type: ignore[attr-defined]
    assert port.description == f"udp:{port.port}:interface=127.0.0.1"  # type: ignore[attr-defined]
    assert len(port.connections) == 1
    number = port.port  # type: ignore[attr-defined]
    client = await client_endpoint(f"udp:host=127.0.0.1:port={number}").connect(Datagrams)
    client.transport.sendto(b"hi")
    data, _ = await asyncio.wait_for(client.received.get(), WAIT)
    assert data == b"echo:hi"
    client.transport.close()
    await port.close()
    assert port.connections == []


async def test_close_stops_accepting_but_keeps_connections(loop_kind: str) -> None:
    port = await server_endpoint("tcp:0:interface=127.0.0.1").listen(Echo)
    number = port.port  # type: ignore[attr-defined]
    client = await client_endpoint(f"tcp:host=127.0.0.1:port={number}").connect(Client)
    while not port.connections:
        await asyncio.sleep(0.01)
    await port.close()
    client.write(b"still here")
    while bytes(client.data) != b"still here":
        client.got.clear()
        await asyncio.wait_for(client.got.wait(), WAIT)
    with pytest.raises(OSError):
        await asyncio.wait_for(client_endpoint(f"tcp:127.0.0.1:{number}").connect(Client), WAIT)
    client.close()
    await asyncio.wait_for(client.ended.wait(), WAIT)
    while port.connections:
        await asyncio.sleep(0.01)


def test_parse_and_quote() -> None:
    assert parse_description("tcp:80:interface=127.0.0.1") == (
        "tcp",
        ["80"],
        {"interface": "127.0.0.1"},
    )
    assert parse_description("unix:/a\\:b:mode=600") == ("unix", ["/a:b"], {"mode": "600"})
    assert parse_description("tcp6:1:interface=\\:\\:1")[2] == {"interface": "::1"}
    assert parse_description("tcp6:host=fe80::1%lo:port=1")[2]["host"] == "fe80::1%lo"
    assert parse_description("unix:" + quote("/x:y\\z"))[1] == ["/x:y\\z"]
    assert parse_description("TCP:1")[0] == "tcp"


SERVER_ERRORS = [
    ("", "empty"),
    (":80", "missing endpoint type"),
    ("bogus:80", "unknown endpoint type 'bogus'"),
    ("tcp", "missing port"),
    ("tcp:port=abc", "port 'abc' is not an integer"),
    ("tcp:abc", "port 'abc' is not an integer"),
    ("tcp:70000", "port '70000' is out of range"),
    ("tcp:80:90", "unexpected argument '90'"),
    ("tcp:80:colour=red", "unknown option 'colour'"),
    ("tcp:80:backlog=lots", "backlog 'lots' is not an integer"),
    ("tcp:80:interface=::1", "interface '::1' is not an IPv4 address"),
    ("tcp:80:interface=a b", "interface 'a b' is not a valid address"),
    ("tcp6:80:interface=127.0.0.1", "interface '127.0.0.1' is not an IPv6 address"),
    ("tcp:80:port=81", "port given both"),
    ("tcp:80:interface=1.2.3.4:interface=1.2.3.5", "option 'interface' given twice"),
    ("tcp:80:=x", "option with no name"),
    ("tcp:80\\", "trailing backslash"),
    ("unix", "missing path"),
    ("unix:/tmp/x:mode=rw", "mode 'rw' is not an octal number"),
    ("unix:/tmp/x:mode=77777", "mode '77777' is out of range"),
    ("ssl:443", "missing privateKey"),
    ("ssl:443:privateKey=/no/such/key.pem", "privateKey '/no/such/key.pem': no such file"),
    ("ssl:https:privateKey=/x", "port 'https' is not an integer"),
    ("udp", "missing port"),
    ("udp:53:interface=nope nope", "interface 'nope nope' is not a valid address"),
]


@pytest.mark.parametrize(("description", "message"), SERVER_ERRORS)
def test_malformed_server_descriptions(description: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        server_endpoint(description)
    assert message in str(info.value)
    if description:
        assert str(info.value).startswith(description.strip())


CLIENT_ERRORS = [
    ("tcp:port=abc", "missing host"),
    ("tcp:host=h:port=abc", "port 'abc' is not an integer"),
    ("tcp:host=h:port=0", "port '0' is out of range 1..65535"),
    ("tcp:host=h", "missing port"),
    ("tcp:host=h:port=1:timeout=soon", "timeout 'soon' is not a number"),
    ("tcp:host=h:port=1:timeout=-1", "timeout '-1' must be positive"),
    ("tcp:host=h:port=1:interface=x", "unknown option 'interface'"),
    ("tcp6:host=127.0.0.1:port=1", "host '127.0.0.1' is not an IPv6 address"),
    ("unix", "missing path"),
    ("unix:path=/x:mode=0600", "unknown option 'mode'"),
    ("ssl:host=h:port=1:trustRoots=/no/roots.pem", "trustRoots '/no/roots.pem': no such file"),
    ("ssl:host=h:port=1:caCertsDir=/no/such/dir", "caCertsDir '/no/such/dir': no such directory"),
    ("ssl:host=h:port=1:certificate=/no/c.pem", "certificate '/no/c.pem': no such file"),
    ("udp:host=h", "missing port"),
    ("udp:host=h:port=x", "port 'x' is not an integer"),
    ("carrier-pigeon:host=h", "unknown endpoint type 'carrier-pigeon'"),
]


@pytest.mark.parametrize(("description", "message"), CLIENT_ERRORS)
def test_malformed_client_descriptions(description: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        client_endpoint(description)
    assert message in str(info.value)
    assert str(info.value).startswith(description)


def test_brief_example_message() -> None:
    with pytest.raises(ValueError, match=r"^tcp:port=abc: port 'abc' is not an integer$"):
        server_endpoint("tcp:port=abc")


def test_ssl_bad_key_material(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(ValueError, match="privateKey"):
        server_endpoint(f"ssl:443:privateKey={junk}")
