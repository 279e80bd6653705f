"""An on-path attacker for the NAT lab: watches a PTCP flow, then injects bad input into it.

    python attacker.py [--garbage N] [--rsts N] [--syns N] [--wait SECONDS]

Run in the ``pub`` namespace (the "internet" between the NATs).  It sniffs every interface
(packets arriving there from either NAT) until a
PTCP data packet passes, learns the flow (addresses, ports, connection ids, sequence
numbers), then sends, spoofed from each end's public address and port so they pass the NATs'
connection tracking and reach the real sockets:

* garbage: random datagrams, PTCP-looking ones with a bad CRC, truncated headers;
* forged RSTs with valid CRCs and the right connection ids but wrong sequence numbers;
* a flood of SYNs (valid CRCs, random connection ids) at the receiver's socket.

Prints one JSON line: what it saw and how many of each it sent.  The PTCP wire layout is
``native/ptcp/src/packet.rs``'s (40-byte header, CRC-32 over all but bytes 8..12).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import struct
import sys
import time
import zlib

MAGIC = b"\xd7PT"
VERSION = 1
SYN, ACK, RST = 0x01, 0x02, 0x08
HEADER = struct.Struct("!3sBBBH4xIIIIIII")  # magic ver flags nsack reserved crc ids seq ...
ETH_P_IP = 0x0800


def ptcp_packet(flags: int, src_id: int, dst_id: int, seq: int, ack: int,
                window: int = 65536, payload: bytes = b"") -> bytes:
    raw = bytearray(HEADER.pack(MAGIC, VERSION, flags, 0, 0, src_id, dst_id, seq & 0xFFFFFFFF,
                                ack & 0xFFFFFFFF, window, random.randrange(1, 2**32), 0))
    raw += payload
    crc = zlib.crc32(bytes(raw[:8]) + bytes(raw[12:])) & 0xFFFFFFFF
    raw[8:12] = struct.pack("!I", crc)
    return bytes(raw)


def ip_udp(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload  # no checksum
    total = 20 + len(udp)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.randrange(65536), 0x4000, 64,
                         socket.IPPROTO_UDP, 0, socket.inet_aton(src[0]),
                         socket.inet_aton(dst[0]))
    words = struct.unpack("!10H", header)
    s = sum(words)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    header = header[:10] + struct.pack("!H", ~s & 0xFFFF) + header[12:]
    return header + udp


def sniff(wait: float) -> dict[str, object] | None:
    """The first PTCP packet carrying data seen arriving: the flow it belongs to."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sock.settimeout(0.5)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            frame = sock.recv(65535)
        except TimeoutError:
            continue
        if len(frame) < 28 or frame[9] != socket.IPPROTO_UDP:
            continue
        ihl = (frame[0] & 0x0F) * 4
        src_ip, dst_ip = socket.inet_ntoa(frame[12:16]), socket.inet_ntoa(frame[16:20])
        sport, dport = struct.unpack_from("!HH", frame, ihl)
        data = frame[ihl + 8:]
        if len(data) <= 40 or data[:3] != MAGIC:
            continue
        nsack = data[5]
        if len(data) <= 40 + 8 * nsack:
            continue  # no payload: an ACK, not data
        src_id, dst_id, seq, ack = struct.unpack_from("!IIII", data, 12)
        sock.close()
        return {"src": [src_ip, sport], "dst": [dst_ip, dport], "src_id": src_id,
                "dst_id": dst_id, "seq": seq, "ack": ack}
    sock.close()
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--garbage", type=int, default=3000)
    parser.add_argument("--rsts", type=int, default=2000)
    parser.add_argument("--syns", type=int, default=20000)
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args()
    flow = sniff(args.wait)
    if flow is None:
        print(json.dumps({"error": "no PTCP data seen"}), flush=True)
        return 3
    a = (str(flow["src"][0]), int(flow["src"][1]))  # type: ignore[index]
    b = (str(flow["dst"][0]), int(flow["dst"][1]))  # type: ignore[index]
    a_id, b_id = int(flow["src_id"]), int(flow["dst_id"])  # type: ignore[call-overload]
    a_seq, b_seq = int(flow["seq"]), int(flow["ack"])  # type: ignore[call-overload]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = {"garbage": 0, "bad_crc": 0, "truncated": 0, "rst": 0, "syn": 0}

    def send(src: tuple[str, int], dst: tuple[str, int], payload: bytes, kind: str) -> None:
        try:
            raw.sendto(ip_udp(src, dst, payload), (dst[0], 0))
        except OSError:
            return  # a full queue drops, as the network would
        sent[kind] += 1

    directions = ((a, b), (b, a))
    for i in range(args.garbage):
        src, dst = directions[i % 2]
        payload = os.urandom(random.randrange(1, 1400))
        if payload[:3] == MAGIC:
            payload = b"\0" + payload
        send(src, dst, payload, "garbage")
        bad = bytearray(ptcp_packet(ACK, a_id, b_id, a_seq, b_seq, payload=os.urandom(100)))
        bad[-1] ^= 0xFF  # the CRC no longer matches
        send(src, dst, bytes(bad), "bad_crc")
        send(src, dst, MAGIC + bytes([VERSION]) + os.urandom(random.randrange(0, 30)),
             "truncated")
    for i in range(args.rsts):
        offset = random.randrange(1 << 20, 1 << 31)  # far outside any window
        if i % 2 == 0:  # "from" a to b, ids as a uses them
            send(a, b, ptcp_packet(RST | ACK, a_id, b_id, a_seq + offset, b_seq), "rst")
        else:
            send(b, a, ptcp_packet(RST | ACK, b_id, a_id, b_seq - offset, a_seq), "rst")
    for _ in range(args.syns):
        send(a, b, ptcp_packet(SYN, random.randrange(1, 2**32), 0,
                               random.randrange(2**32), 0), "syn")
    raw.close()
    print(json.dumps({"flow": flow, "sent": sent}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
