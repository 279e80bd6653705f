"""SSH message numbers, disconnect reasons and other wire constants (RFC 4250-4254)."""
from __future__ import annotations

from enum import IntEnum

__all__ = ["ChannelOpenFailure", "DisconnectReason", "ExtendedData", "Msg", "TerminalMode"]


class Msg(IntEnum):
    """Message numbers (RFC 4250 §4.1, RFC 4419, RFC 5656, RFC 8308)."""

    DISCONNECT = 1
    IGNORE = 2
    UNIMPLEMENTED = 3
    DEBUG = 4
    SERVICE_REQUEST = 5
    SERVICE_ACCEPT = 6
    EXT_INFO = 7
    KEXINIT = 20
    NEWKEYS = 21
    KEXDH_INIT = 30          # also KEX_ECDH_INIT and KEX_DH_GEX_REQUEST_OLD
    KEXDH_REPLY = 31         # also KEX_ECDH_REPLY and KEX_DH_GEX_GROUP
    KEX_DH_GEX_INIT = 32
    KEX_DH_GEX_REPLY = 33
    KEX_DH_GEX_REQUEST = 34
    USERAUTH_REQUEST = 50
    USERAUTH_FAILURE = 51
    USERAUTH_SUCCESS = 52
    USERAUTH_BANNER = 53
    USERAUTH_PK_OK = 60      # also USERAUTH_PASSWD_CHANGEREQ and USERAUTH_INFO_REQUEST
    USERAUTH_INFO_RESPONSE = 61
    GLOBAL_REQUEST = 80
    REQUEST_SUCCESS = 81
    REQUEST_FAILURE = 82
    CHANNEL_OPEN = 90
    CHANNEL_OPEN_CONFIRMATION = 91
    CHANNEL_OPEN_FAILURE = 92
    CHANNEL_WINDOW_ADJUST = 93
    CHANNEL_DATA = 94
    CHANNEL_EXTENDED_DATA = 95
    CHANNEL_EOF = 96
    CHANNEL_CLOSE = 97
    CHANNEL_REQUEST = 98
    CHANNEL_SUCCESS = 99
    CHANNEL_FAILURE = 100


USERAUTH_INFO_REQUEST = 60
KEX_ECDH_INIT = 30
KEX_ECDH_REPLY = 31
KEX_DH_GEX_GROUP = 31


class DisconnectReason(IntEnum):
    """SSH_MSG_DISCONNECT reason codes (RFC 4250 §4.2.2)."""

    HOST_NOT_ALLOWED_TO_CONNECT = 1
    PROTOCOL_ERROR = 2
    KEY_EXCHANGE_FAILED = 3
    RESERVED = 4
    MAC_ERROR = 5
    COMPRESSION_ERROR = 6
    SERVICE_NOT_AVAILABLE = 7
    PROTOCOL_VERSION_NOT_SUPPORTED = 8
    HOST_KEY_NOT_VERIFIABLE = 9
    CONNECTION_LOST = 10
    BY_APPLICATION = 11
    TOO_MANY_CONNECTIONS = 12
    AUTH_CANCELLED_BY_USER = 13
    NO_MORE_AUTH_METHODS_AVAILABLE = 14
    ILLEGAL_USER_NAME = 15


class ChannelOpenFailure(IntEnum):
    """SSH_MSG_CHANNEL_OPEN_FAILURE reason codes (RFC 4254 §5.1)."""

    ADMINISTRATIVELY_PROHIBITED = 1
    CONNECT_FAILED = 2
    UNKNOWN_CHANNEL_TYPE = 3
    RESOURCE_SHORTAGE = 4


class ExtendedData(IntEnum):
    """Extended data type codes (RFC 4254 §5.2)."""

    STDERR = 1


class TerminalMode(IntEnum):
    """A few encoded terminal modes (RFC 4254 §8); TTY_OP_END ends the list."""

    TTY_OP_END = 0
    VINTR = 1
    VERASE = 3
    VEOF = 4
    ECHO = 53
    ICANON = 51
    ISIG = 50
    ICRNL = 36
    OPOST = 70
    ONLCR = 72
    TTY_OP_ISPEED = 128
    TTY_OP_OSPEED = 129
