from typing import Any

import pytest

from plait.conch.ssh.constants import TerminalMode
from plait.conch.ssh.errors import ProtocolError
from plait.conch.ssh.session import (
    REQUESTS,
    CancelTcpipForward,
    DirectTcpip,
    Env,
    Exec,
    ExitSignal,
    ExitStatus,
    ForwardedTcpip,
    PtyRequest,
    Shell,
    Signal,
    Subsystem,
    TcpipForward,
    TcpipForwardReply,
    WindowChange,
    decode_modes,
    decode_request,
    encode_modes,
)
from plait.conch.ssh.wire import Writer

VALUES = [
    PtyRequest("xterm-256color", 80, 24, 640, 480,
               {TerminalMode.VINTR: 3, TerminalMode.ECHO: 1, TerminalMode.TTY_OP_ISPEED: 38400}),
    Env("LANG", "C.UTF-8"), Exec("ls -l 'a b'"), Exec("caf\udce9"), Shell(), Subsystem("sftp"),
    WindowChange(132, 43, 0, 0), Signal("TERM"), ExitStatus(255),
    ExitSignal("KILL", True, "killed", "en"), TcpipForward("0.0.0.0", 0),
    CancelTcpipForward("localhost", 8080),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_round_trip(value: object) -> None:
    data = value.encode()  # type: ignore[attr-defined]
    assert decode_request(type(value).request, data) == value  # type: ignore[attr-defined]


def test_every_request_class_is_registered() -> None:
    assert set(REQUESTS) == {"pty-req", "env", "exec", "shell", "subsystem", "window-change",
                             "signal", "exit-status", "exit-signal", "tcpip-forward",
                             "cancel-tcpip-forward"}
    assert decode_request("x11-req", b"anything") is None


def test_pty_req_bytes_as_openssh_sends_them() -> None:
    modes = (bytes([1]) + (3).to_bytes(4, "big") + bytes([53]) + (0).to_bytes(4, "big")
             + bytes([128]) + (9600).to_bytes(4, "big") + b"\x00")
    data = (Writer().string("vt100").uint32(80).uint32(24).uint32(0).uint32(0).string(modes)
            .getvalue())
    pty = PtyRequest.decode(data)
    assert pty == PtyRequest("vt100", 80, 24, 0, 0, {1: 3, 53: 0, 128: 9600})
    assert pty.encode() == data


def test_modes_stop_at_end_or_unknown_opcode() -> None:
    assert decode_modes(b"") == {}
    assert decode_modes(bytes([53]) + (1).to_bytes(4, "big") + b"\x00" + b"junk") == {53: 1}
    assert decode_modes(bytes([53]) + (1).to_bytes(4, "big") + bytes([200]) + b"xyz") == {53: 1}
    with pytest.raises(ProtocolError):
        decode_modes(bytes([53, 0, 0]))    # truncated argument
    with pytest.raises(ValueError):
        encode_modes({0: 1})
    assert encode_modes({}) == b"\x00"


def test_paramiko_pty_request_decodes() -> None:
    """paramiko's Channel.get_pty data (no modes) decodes."""
    paramiko = pytest.importorskip("paramiko")
    m = paramiko.Message()
    m.add_string("vt100")
    m.add_int(80)
    m.add_int(24)
    m.add_int(0)
    m.add_int(0)
    m.add_string(b"")
    assert PtyRequest.decode(m.asbytes()) == PtyRequest("vt100", 80, 24, 0, 0, {})


def test_signal_names_lose_the_sig_prefix() -> None:
    assert Signal.decode(Writer().string("SIGINT").getvalue()) == Signal("INT")
    assert Signal("SIGHUP").encode() == Writer().string("HUP").getvalue()
    assert ExitSignal("SIGSEGV", True).encode() == (Writer().string("SEGV").boolean(True)
                                                   .string("").string("").getvalue())


def test_exec_keeps_undecodable_bytes() -> None:
    raw = Writer().string(b"echo \xff").getvalue()
    assert Exec.decode(raw).encode() == raw


@pytest.mark.parametrize("cls", [DirectTcpip, ForwardedTcpip])
def test_forwarding_opens(cls: Any) -> None:
    value = cls("example.org", 443, "10.0.0.1", 55555)
    data = value.encode()
    assert data == (Writer().string("example.org").uint32(443).string("10.0.0.1").uint32(55555)
                    .getvalue())
    assert cls.decode(data) == value


def test_tcpip_forward_reply() -> None:
    assert TcpipForwardReply(2222).encode() == b"\x00\x00\x08\xae"
    assert TcpipForwardReply.decode(b"\x00\x00\x08\xae").port == 2222


@pytest.mark.parametrize(("cls", "data"), [
    (PtyRequest, Writer().string("x").uint32(1 << 20).uint32(1).uint32(0).uint32(0).string(b"")
     .getvalue()),                                                  # absurd size
    (WindowChange, b"\x00\x00"),                                    # truncated
    (Shell, b"x"),                                                  # trailing bytes
    (Env, Writer().string("A").getvalue()),                        # value missing
    (DirectTcpip, Writer().string("h").uint32(70000).string("o").uint32(1).getvalue()),
    (TcpipForwardReply, b"\x00\x01\x00\x00"),                      # port 65536
    (Subsystem, Writer().string(b"\xff").getvalue()),              # not UTF-8
    (ExitStatus, b"\x00\x00\x00\x00\x00"),
])
def test_malformed_data_is_a_protocol_error(cls: Any, data: bytes) -> None:
    with pytest.raises(ProtocolError):
        cls.decode(data)
