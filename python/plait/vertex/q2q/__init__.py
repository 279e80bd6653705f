"""Q2Q: connect to people by address (``user@domain``), wherever they are, both ends
authenticated by certificates their domains signed.

::

    certs = CertStore("~/.q2qcerts")
    await register("alice@example.test", password, server=("127.0.0.1", 8788))
    await request_cert("alice@example.test", password, certs, server=...)
    listener = await listen("bob@example.test", {"chat": ChatProtocol}, certs=certs, server=...)
    transport, proto = await connect("alice@example.test", "bob@example.test", "chat",
                                     ChatProtocol, certs=certs, server=...)
    transport.get_extra_info("q2q_method")   # "tcp", "ptcp", "reverse-ptcp" or "virtual"
"""
from .address import Q2QAddress
from .certs import CertStore, default_cert_dir
from .client import METHODS, Q2QListener, connect, listen, register, request_cert
from .errors import (
    AddressTaken,
    BadCertificateRequest,
    BadPassword,
    CertificateMismatch,
    ConnectionFailed,
    MissingCertificate,
    NoSuchUser,
    NotAuthorized,
    PeerOffline,
    Q2QError,
    RegistrationClosed,
    WrongDomain,
)

__all__ = [
    "METHODS",
    "AddressTaken",
    "BadCertificateRequest",
    "BadPassword",
    "CertStore",
    "CertificateMismatch",
    "ConnectionFailed",
    "MissingCertificate",
    "NoSuchUser",
    "NotAuthorized",
    "PeerOffline",
    "Q2QAddress",
    "Q2QError",
    "Q2QListener",
    "RegistrationClosed",
    "WrongDomain",
    "connect",
    "default_cert_dir",
    "listen",
    "register",
    "request_cert",
]
