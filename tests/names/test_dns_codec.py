"""The native DNS wire codec through ``plait.names``, checked against dnspython both ways."""
from __future__ import annotations

import base64
import calendar
import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from plait.names import (
    AAAA,
    AFSDB,
    CAA,
    CNAME,
    DNAME,
    DNSKEY,
    DS,
    HINFO,
    MX,
    NAPTR,
    NS,
    NSEC,
    NSEC3,
    NSEC3PARAM,
    PTR,
    RP,
    RR,
    RRSIG,
    SOA,
    SPF,
    SRV,
    SSHFP,
    TLSA,
    TXT,
    A,
    DNSFormatError,
    DNSRenderError,
    Edns,
    Message,
    Name,
    Opaque,
    Question,
    Rcode,
    RRType,
)
from plait.names.constants import SvcParamKey
from plait.names.rdata import HTTPS, SVCB, TSIG


def N(text: str) -> Name:
    return Name.from_text(text)


KEY = bytes(range(64))
SIG = bytes(range(64, 128))
NEXT_HASH = bytes(range(20))
EXPIRES = calendar.timegm((2023, 11, 14, 22, 13, 20))
INCEPTS = calendar.timegm((2023, 7, 22, 4, 0, 0))

# (owner, type mnemonic, dnspython text, the plait value)
CASES = [
    ("example.com.", "A", "192.0.2.1", A("192.0.2.1")),
    ("example.com.", "AAAA", "2001:db8::1", AAAA("2001:db8::1")),
    ("example.com.", "NS", "ns1.example.com.", NS(N("ns1.example.com"))),
    ("www.example.com.", "CNAME", "example.com.", CNAME(N("example.com"))),
    ("d.example.com.", "DNAME", "example.net.", DNAME(N("example.net"))),
    ("1.2.0.192.in-addr.arpa.", "PTR", "host.example.com.", PTR(N("host.example.com"))),
    ("example.com.", "SOA", "ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300",
     SOA(N("ns1.example.com"), N("hostmaster.example.com"), 2024010101, 7200, 900, 1209600, 300)),
    ("example.com.", "MX", "10 mail.example.com.", MX(10, N("mail.example.com"))),
    ("example.com.", "TXT", '"v=spf1 -all" "a \\"quoted\\" \\255"',
     TXT((b"v=spf1 -all", b'a "quoted" \xff'))),
    ("example.com.", "SPF", '"v=spf1 -all"', SPF((b"v=spf1 -all",))),
    ("_sip._tcp.example.com.", "SRV", "1 2 5060 sip.example.com.", SRV(1, 2, 5060, N("sip.example.com"))),
    ("example.com.", "NAPTR", '100 10 "S" "SIP+D2U" "" _sip._udp.example.com.',
     NAPTR(100, 10, b"S", b"SIP+D2U", b"", N("_sip._udp.example.com"))),
    ("example.com.", "HINFO", '"x86" "Linux"', HINFO(b"x86", b"Linux")),
    ("example.com.", "RP", "admin.example.com. txt.example.com.", RP(N("admin.example.com"), N("txt.example.com"))),
    ("example.com.", "AFSDB", "1 afs.example.com.", AFSDB(1, N("afs.example.com"))),
    ("example.com.", "SSHFP", "4 2 " + "ab" * 32, SSHFP(4, 2, b"\xab" * 32)),
    ("_443._tcp.example.com.", "TLSA", "3 1 1 " + "01" * 32, TLSA(3, 1, 1, b"\x01" * 32)),
    ("example.com.", "CAA", '0 issue "letsencrypt.org"', CAA(0, b"issue", b"letsencrypt.org")),
    ("example.com.", "DS", "12345 13 2 " + "07" * 32, DS(12345, 13, 2, b"\x07" * 32)),
    ("example.com.", "DNSKEY", "257 3 13 " + base64.b64encode(KEY).decode(), DNSKEY(257, 3, 13, KEY)),
    ("example.com.", "RRSIG",
     "A 13 2 3600 20231114221320 20230722040000 12345 example.com. " + base64.b64encode(SIG).decode(),
     RRSIG(1, 13, 2, 3600, EXPIRES, INCEPTS, 12345, N("example.com"), SIG)),
    ("example.com.", "NSEC", "a.example.com. A NS SOA RRSIG NSEC CAA", NSEC(N("a.example.com"), (1, 2, 6, 46, 47, 257))),
    ("h.example.com.", "NSEC3", "1 0 10 AABB " + base64.b32hexencode(NEXT_HASH).decode() + " A AAAA",
     NSEC3(1, 0, 10, b"\xaa\xbb", NEXT_HASH, (1, 28))),
    ("example.com.", "NSEC3PARAM", "1 0 0 -", NSEC3PARAM(1, 0, 0, b"")),
    ("example.com.", "TYPE65280", "\\# 5 c00c010203", Opaque(65280, bytes.fromhex("c00c010203"))),
]
IDS = [c[1] for c in CASES]


def _dns_rrset(owner: str, rtype: str, text: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(owner, 3600, "IN", rtype, text)


def _dns_response(cases: list[tuple[str, str, str, object]]) -> dns.message.Message:
    msg = dns.message.make_query("example.com.", "ANY", use_edns=0, payload=1232, want_dnssec=True)
    resp = dns.message.make_response(msg)
    resp.use_edns(0, dns.flags.DO, 1232)
    resp.flags |= dns.flags.AA
    for owner, rtype, text, _ in cases:
        resp.answer.append(_dns_rrset(owner, rtype, text))
    return resp


@pytest.mark.parametrize(("owner", "rtype", "text", "value"), CASES, ids=IDS)
def test_dnspython_renders_plait_parses(owner: str, rtype: str, text: str, value: object) -> None:
    wire = _dns_response([(owner, rtype, text, value)]).to_wire()
    msg = Message.from_wire(wire)
    assert msg.qr and msg.aa and msg.rd
    assert msg.questions == (Question(N("example.com"), RRType.ANY),)
    (rr,) = msg.answers
    assert rr.name == N(owner)
    assert rr.rtype == dns.rdatatype.from_text(rtype)
    assert (rr.rclass, rr.ttl) == (1, 3600)
    assert rr.rdata == value
    assert msg.edns is not None and msg.edns.dnssec_ok and msg.edns.udp_size == 1232


@pytest.mark.parametrize(("owner", "rtype", "text", "value"), CASES, ids=IDS)
def test_plait_renders_dnspython_parses(owner: str, rtype: str, text: str, value: object) -> None:
    assert isinstance(value, (A, AAAA, NS, CNAME, DNAME, PTR, SOA, MX, TXT, SRV, NAPTR, HINFO, RP,
                              AFSDB, SSHFP, TLSA, CAA, DS, DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, Opaque))
    rr = RR.make(owner, value)
    msg = Message(id=4242, flags=0x8400, answers=(rr,))
    parsed = dns.message.from_wire(msg.to_wire())
    assert parsed.id == 4242 and parsed.flags & dns.flags.QR and parsed.flags & dns.flags.AA
    (rrset,) = parsed.answer
    assert rrset == _dns_rrset(owner, rtype, text)
    # str(rr) is a zone-file line dnspython reads back to the same data.
    name, ttl, rclass, rtype_text, rdata_text = str(rr).split(None, 4)
    assert (dns.name.from_text(name), int(ttl), rclass) == (dns.name.from_text(owner), 3600, "IN")
    assert dns.rdatatype.from_text(rtype_text) == rr.rtype
    assert dns.rdata.from_text("IN", rtype_text, rdata_text) == rrset[0]


def test_whole_response_both_ways_with_compression() -> None:
    resp = _dns_response(CASES)
    wire = resp.to_wire()
    msg = Message.from_wire(wire)
    assert [rr.rdata for rr in msg.answers] == [c[3] for c in CASES]
    again = msg.to_wire()
    # plait compresses at least as well as dnspython, and dnspython reads it back equal.
    assert len(again) <= len(wire)
    back = dns.message.from_wire(again)
    assert back == resp
    assert Message.from_wire(again) == msg
    assert again.count(b"\x07example\x03com\x00") < 10


def test_edns_options_and_extended_rcode() -> None:
    opts = [dns.edns.GenericOption(10, b"\x01" * 8), dns.edns.ECSOption("192.0.2.0", 24),
            dns.edns.GenericOption(12, b"\x00" * 6)]
    query = dns.message.make_query("example.com.", "A", use_edns=0, payload=4096, options=opts)
    resp = dns.message.make_response(query)
    resp.use_edns(0, 0, 4096, options=opts)
    resp.set_rcode(dns.rcode.BADVERS)
    msg = Message.from_wire(resp.to_wire())
    assert msg.rcode == Rcode.BADVERS == 16
    assert msg.edns is not None
    assert msg.edns.udp_size == 4096 and not msg.edns.dnssec_ok
    assert msg.edns.options == tuple((o.otype, o.to_wire()) for o in opts)
    back = dns.message.from_wire(msg.to_wire())
    assert back.rcode() == dns.rcode.BADVERS
    assert [(o.otype, o.to_wire()) for o in back.options] == [(o.otype, o.to_wire()) for o in opts]
    assert back.payload == 4096


def test_header_flags_opcode_and_ids() -> None:
    q = dns.message.make_query("example.com.", "A")
    q.id = 0xFFFF
    q.flags = dns.flags.RD | dns.flags.CD | dns.flags.AD
    q.set_opcode(dns.opcode.NOTIFY)
    msg = Message.from_wire(q.to_wire())
    assert (msg.id, msg.opcode, msg.rd, msg.cd, msg.ad, msg.qr, msg.tc) == (0xFFFF, 4, True, True, True, False, False)
    assert msg.edns is None
    assert msg.to_wire() == q.to_wire()
    flipped = msg.with_flags(qr=True, ra=True, rd=False)
    back = dns.message.from_wire(flipped.to_wire())
    assert back.opcode() == dns.opcode.NOTIFY
    assert back.flags & ~0x7800 == dns.flags.QR | dns.flags.RA | dns.flags.CD | dns.flags.AD


def test_truncation_with_max_size() -> None:
    answers = tuple(RR.make(f"host{i}.example.com", A(f"192.0.2.{i}")) for i in range(60))
    extra = tuple(RR.make("ns.example.com", A("192.0.2.53")) for _ in range(1))
    msg = Message(id=1, flags=0x8000, questions=(Question(N("example.com"), RRType.A),),
                  answers=answers, additional=extra, edns=Edns(udp_size=512))
    full = msg.to_wire()
    assert len(full) > 512 and not Message.from_wire(full).tc
    wire = msg.to_wire(max_size=512)
    assert len(wire) <= 512
    cut = Message.from_wire(wire)
    assert cut.tc and cut.edns is not None and not cut.additional
    assert 0 < len(cut.answers) < 60 and cut.answers == answers[:len(cut.answers)]
    parsed = dns.message.from_wire(wire)
    assert parsed.flags & dns.flags.TC
    # A whole RRset is never cut: an RRset of 60 records does not fit, so none of it goes.
    one_set = tuple(RR.make("big.example.com", A(f"192.0.2.{i}")) for i in range(60))
    cut = Message.from_wire(Message(flags=0x8000, answers=one_set).to_wire(max_size=512))
    assert cut.tc and cut.answers == ()
    with pytest.raises(DNSRenderError):
        msg.to_wire(max_size=20)


def _query(name_wire: bytes) -> bytes:
    return struct.pack("!6H", 1, 0x0100, 1, 0, 0, 0) + name_wire + b"\x00\x01\x00\x01"


@pytest.mark.parametrize(("data", "offset"), [
    (b"\x00\x01\x01", 2),                                           # truncated header
    (b"\x00\x01\x01\x00\x00\x01\x00\x00\x00", 8),                   # truncated header
    (_query(b"\xc0\x0c"), 12),                                      # pointer to itself
    (_query(b"\x01a\xc0\x0c"), 14),                                 # pointer loop
    (_query(b"\xc0\x14" + b"\x00" * 8), 12),                        # forward pointer
    (_query(b"\x40" + b"a" * 64 + b"\x00"), 12),                    # 64-byte label
    (_query((b"\x3f" + b"a" * 63) * 4 + b"\x03abc\x00"), 204),       # 256+-byte name
    (struct.pack("!6H", 1, 0, 1, 9, 0, 0) + b"\x00\x00\x01\x00\x01", 4),  # counts > data
    (_query(b"\x00") + b"junk", 17),                                # trailing bytes
])
def test_malformed_input_is_a_format_error(data: bytes, offset: int) -> None:
    with pytest.raises(DNSFormatError) as info:
        Message.from_wire(data)
    assert isinstance(info.value, ValueError)
    assert info.value.offset == offset, str(info.value)


def test_every_prefix_and_bit_flip_of_a_response_is_handled() -> None:
    wire = _dns_response(CASES).to_wire()
    for cut in range(len(wire)):
        with pytest.raises(DNSFormatError):
            Message.from_wire(wire[:cut])
    for i in range(len(wire)):
        data = bytearray(wire)
        data[i] ^= 0xFF
        try:
            msg = Message.from_wire(bytes(data))
        except DNSFormatError as e:
            assert 0 <= e.offset <= len(wire)
        else:
            assert isinstance(msg, Message)


def test_buffer_types_accepted() -> None:
    wire = dns.message.make_query("example.com.", "A").to_wire()
    assert Message.from_wire(bytearray(wire)) == Message.from_wire(memoryview(wire)) == Message.from_wire(wire)


@pytest.mark.parametrize("rdata", [TXT((b"x" * 256,)), A("300.1.2.3"), AAAA("nope"), TXT(())])
def test_unrenderable_fields_are_render_errors(rdata: object) -> None:
    assert isinstance(rdata, (TXT, A, AAAA))
    with pytest.raises(DNSRenderError):
        Message(answers=(RR.make("example.com", rdata),)).to_wire()


def test_extended_rcode_needs_edns() -> None:
    with pytest.raises(DNSRenderError):
        Message(rcode=Rcode.BADVERS).to_wire()
    msg = Message(rcode=Rcode.BADVERS, edns=Edns())
    assert Message.from_wire(msg.to_wire()).rcode == 16


def test_message_and_record_text() -> None:
    rr = RR.make("example.com", MX(10, N("mail.example.com")), ttl=300)
    assert str(rr) == "example.com. 300 IN MX 10 mail.example.com."
    assert str(RR.make("x.example", Opaque(65280, b"\x01\x02"))) == "x.example. 3600 IN TYPE65280 \\# 2 0102"
    text = str(Message(id=3, flags=0x8400, questions=(Question(N("example.com"), RRType.MX),), answers=(rr,)))
    assert "rcode NOERROR" in text and "flags qr aa" in text and str(rr) in text


# ---------------------------------------------------------------- SVCB, HTTPS, TSIG

ECH = bytes.fromhex("000401020304")  # an ECHConfigList of one 4-byte config
SVCB_CASES = [
    # (type, dnspython text, the plait value); RFC 9460 Appendix D and the rest of the keys
    ("SVCB", "0 foo.example.com.", SVCB(0, N("foo.example.com"))),
    ("SVCB", "1 .", SVCB(1, N("."))),
    ("SVCB", "16 foo.example.com. port=53", SVCB(16, N("foo.example.com"), ((3, 53),))),
    ("SVCB", '1 foo.example.com. key667="hello\\210qoo"',
     SVCB(1, N("foo.example.com"), ((667, b"hello\xd2qoo"),))),
    ("SVCB", '1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"',
     SVCB(1, N("foo.example.com"), ((6, ("2001:db8::1", "2001:db8::53:1")),))),
    ("SVCB", "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1",
     SVCB(16, N("foo.example.org"), ((0, (1, 4)), (1, (b"h2", b"h3-19")), (4, ("192.0.2.1",))))),
    ("SVCB", '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"',
     SVCB(16, N("foo.example.org"), ((1, (b"f\\oo,bar", b"h2")),))),
    ("HTTPS", "1 . alpn=h3,h2 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech="
     + base64.b64encode(ECH).decode() + " ipv6hint=2001:db8::1 key65333",
     HTTPS(1, N("."), ((1, (b"h3", b"h2")), (2, None), (3, 8443), (4, ("192.0.2.1", "192.0.2.2")),
                       (5, ECH), (6, ("2001:db8::1",)), (65333, b"")))),
    ("HTTPS", "0 svc.example.net.", HTTPS(0, N("svc.example.net"))),
]
MAC = bytes(range(32))
TSIG_CASES = [
    ("TSIG", "hmac-sha256. 1700000000 300 32 " + base64.b64encode(MAC).decode() + " 4242 NOERROR 0",
     TSIG(N("hmac-sha256"), 1700000000, 300, MAC, 4242, 0)),
    ("TSIG", 'hmac-sha1. 281474976710655 0 0 "" 1 BADTIME 6 AABlU/EA',
     TSIG(N("hmac-sha1"), 2**48 - 1, 0, b"", 1, 18, bytes.fromhex("00006553f100"))),
    ("TSIG", 'hmac-md5.sig-alg.reg.int. 5 10 0 "" 65535 BADSIG 0',
     TSIG(N("hmac-md5.sig-alg.reg.int"), 5, 10, b"", 65535, 16)),
]


def _rdata_wire(value: object) -> bytes:
    """The RDATA plait renders for ``value`` (read back out of a whole message)."""
    assert isinstance(value, (SVCB, TSIG))
    rr = RR.make("example.com", value)
    section = {"additional": (rr,)} if isinstance(value, TSIG) else {"answers": (rr,)}
    wire = Message(**section).to_wire()  # type: ignore[arg-type]
    return wire[12 + 13 + 10:]  # header, owner example.com., type/class/ttl/rdlength


@pytest.mark.parametrize(("rtype", "text", "value"), SVCB_CASES + TSIG_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SVCB_CASES + TSIG_CASES)])
def test_svcb_https_tsig_against_dnspython(rtype: str, text: str, value: object) -> None:
    assert isinstance(value, (SVCB, TSIG))
    theirs = dns.rdata.from_text("ANY" if rtype == "TSIG" else "IN", rtype, text)
    # wire, both ways: plait renders dnspython's bytes, and reads dnspython's bytes back
    assert _rdata_wire(value) == theirs.to_wire()
    rt = dns.rdatatype.from_text(rtype)
    generic = Opaque(rt, theirs.to_wire())
    section = "additional" if rtype == "TSIG" else "answers"
    msg = Message(**{section: (RR.make("example.com", generic),)})  # type: ignore[arg-type]
    parsed = Message.from_wire(msg.to_wire())
    assert getattr(parsed, section)[0].rdata == value
    # text, both ways: plait reads dnspython's text, dnspython reads plait's
    assert type(value).from_text(text) == value
    assert type(value).from_text(theirs.to_text()) == value
    assert dns.rdata.from_text(theirs.rdclass, rt, value.to_text()) == theirs
    if isinstance(value, TSIG):
        assert value.to_text() == theirs.to_text()


def test_svcb_params_are_sorted_and_typed() -> None:
    rd = SVCB(1, N("."), [(4, ["192.0.2.1"]), (0, [4, 1]), (1, [b"h2"])])  # type: ignore[list-item]
    assert rd.params == ((0, (1, 4)), (1, (b"h2",)), (4, ("192.0.2.1",)))
    assert rd.param(SvcParamKey.ALPN) == (b"h2",)
    with pytest.raises(KeyError):
        rd.param(SvcParamKey.PORT)
    with pytest.raises(ValueError, match="twice"):
        SVCB(1, N("."), ((3, 1), (3, 2)))
    assert rd.to_text() == '1 . mandatory=alpn,ipv4hint alpn="h2" ipv4hint=192.0.2.1'


def test_svcb_text_escapes_round_trip() -> None:
    ids = (b"a,b", b"c\\d", b'q"x', b"\x00\xff", b"sp ace")
    rd = HTTPS(1, N("svc.example"), ((1, ids), (9, b"x,\\\"y\x01")))
    assert HTTPS.from_text(rd.to_text()) == rd
    assert dns.rdata.from_text("IN", "HTTPS", rd.to_text()).to_wire() == _rdata_wire(rd)


def _svcb_rdata(params: bytes) -> bytes:
    rdata = b"\x00\x01\x00" + params  # priority 1, target the root
    owner = b"\x00"
    return (struct.pack("!6H", 1, 0x8000, 0, 1, 0, 0) + owner
            + struct.pack("!HHIH", 64, 1, 0, len(rdata)) + rdata)


@pytest.mark.parametrize(("params", "what"), [
    (b"\x00\x03\x00\x02\x00\x35\x00\x01\x00\x03\x02h2", "strictly increasing"),
    (b"\x00\x03\x00\x02\x00\x35\x00\x03\x00\x02\x00\x36", "strictly increasing"),
    (b"\x00\x03\x00\x09\x00\x35", "past its RDATA"),
    (b"\x00\x03\x00\x03\x00\x35\x01", "port"),
    (b"\x00\x01\x00\x00", "alpn"),
    (b"\x00\x01\x00\x02\x05h", "alpn"),
    (b"\x00\x04\x00\x05\x01\x02\x03\x04\x05", "ipv4hint"),
    (b"\x00\x06\x00\x04\x01\x02\x03\x04", "ipv6hint"),
    (b"\x00\x02\x00\x01\x01", "no-default-alpn"),
    (b"\x00\x00\x00\x04\x00\x03\x00\x01", "mandatory"),
    (b"\x00\x00\x00\x02\x00\x00", "mandatory"),
    (b"\x00\x05\x00\x00", "ech"),
    (b"\x00\x03\x00", "truncated"),
])
def test_malformed_svcb_is_a_format_error(params: bytes, what: str) -> None:
    with pytest.raises(DNSFormatError, match=what):
        Message.from_wire(_svcb_rdata(params))


@pytest.mark.parametrize(("rdata", "what"), [
    (SVCB(1, N("."), ((1, ()),)), "alpn"),
    (SVCB(1, N("."), ((1, (b"",)),)), "alpn"),
    (SVCB(1, N("."), ((1, (b"x" * 256,)),)), "255"),
    (SVCB(1, N("."), ((0, (0, 1)),)), "mandatory"),
    (SVCB(1, N("."), ((4, ("192.0.2.300",)),)), "IPv4"),
    (SVCB(1, N("."), ((6, ("192.0.2.1",)),)), "IPv6"),
    (SVCB(1, N("."), ((2, b"x"),)), "no-default-alpn"),
    (SVCB(1, N("."), ((3, 70000),)), "out of range"),
    (SVCB(1, N("."), ((5, b""),)), "ech"),
    (TSIG(N("hmac-sha256"), 2**48, 300, b"", 1, 0), "48 bits"),
])
def test_unrenderable_svcb_and_tsig(rdata: object, what: str) -> None:
    assert isinstance(rdata, (SVCB, TSIG))
    section = "additional" if isinstance(rdata, TSIG) else "answers"
    with pytest.raises(DNSRenderError, match=what):
        Message(**{section: (RR.make("example.com", rdata),)}).to_wire()  # type: ignore[arg-type]


def test_tsig_signed_message_re_renders_byte_identical() -> None:
    import dns.tsigkeyring
    keyring = dns.tsigkeyring.from_text({"key.example.": base64.b64encode(b"k" * 32).decode()})
    query = dns.message.make_query("example.com.", "SOA", use_edns=0, payload=1232)
    query.use_tsig(keyring, algorithm="hmac-sha256")
    wire = query.to_wire()
    msg = Message.from_wire(wire)
    (rr,) = msg.additional
    assert rr.rtype == RRType.TSIG and rr.rclass == 255 and rr.name == N("key.example")
    assert isinstance(rr.rdata, TSIG) and rr.rdata.algorithm == N("hmac-sha256")
    assert msg.edns is not None and msg.edns.udp_size == 1232
    again = msg.to_wire()
    assert again == wire  # OPT before TSIG, TSIG last, nothing compressed in its RDATA
    dns.message.from_wire(again, keyring=keyring)  # dnspython verifies the MAC
    # TSIG survives truncation and stays last.
    big = Message(id=7, flags=0x8000, answers=tuple(
        RR.make(f"h{i}.example.com", A("192.0.2.1")) for i in range(60)),
        additional=msg.additional, edns=msg.edns)
    cut = Message.from_wire(big.to_wire(max_size=512))
    assert cut.tc and cut.additional == msg.additional and len(big.to_wire(max_size=512)) <= 512


def test_tsig_must_be_last_and_additional() -> None:
    tsig = RR.make("key", TSIG(N("hmac-sha256"), 1, 300, b"", 1, 0), ttl=0, rclass=255)
    a = RR.make("a.example", A("192.0.2.1"))
    for msg in (Message(additional=(tsig, a)), Message(answers=(tsig,)), Message(authority=(tsig,))):
        with pytest.raises(DNSRenderError, match="TSIG"):
            msg.to_wire()
    wire = Message(additional=(a, tsig)).to_wire()
    # swap the two additional records on the wire: TSIG first is a format error
    a_wire = Message(additional=(a,)).to_wire()[12:]
    t_wire = wire[12 + len(a_wire):]
    with pytest.raises(DNSFormatError, match="TSIG"):
        Message.from_wire(wire[:12] + t_wire + a_wire)
    head = struct.pack("!6H", 0, 0, 0, 1, 0, 0)
    with pytest.raises(DNSFormatError, match="TSIG"):
        Message.from_wire(head + t_wire)


# ---------------------------------------------------------------- the native object builder


def _dnspython_view(wire: bytes) -> tuple[object, ...]:
    """What dnspython reads in a message, in wire order: header fields, EDNS, and every
    record as (owner wire, class, type, TTL, uncompressed RDATA wire), case kept."""
    m = dns.message.from_wire(wire, one_rr_per_rrset=True)

    def section(rrsets: list[dns.rrset.RRset]) -> list[tuple[object, ...]]:
        return [(r.name.to_wire(), r.rdclass, r.rdtype, r.ttl, rd.to_wire())
                for r in rrsets for rd in r]

    options = [(o.otype, o.to_wire()) for o in m.options]
    return (m.id, m.flags, m.rcode(), m.edns, m.ednsflags, m.payload, options,
            [(q.name.to_wire(), q.rdclass, q.rdtype) for q in m.question],
            section(m.answer), section(m.authority), section(m.additional))


def _same_as_dnspython(wire: bytes) -> Message:
    """Parses ``wire`` with plait, renders the objects back and checks that dnspython reads
    the same message from both: every field the decoder builds carries what the wire said
    (a field mapped wrong would render other bytes). Returns the parsed message."""
    msg = Message.from_wire(wire)
    assert _dnspython_view(msg.to_wire()) == _dnspython_view(wire)
    return msg


def _mixed_wire() -> bytes:
    resp = _dns_response(CASES + [(o, t, x, v) for t, x, v in SVCB_CASES for o in ("Svc.Example.ORG.",)])
    resp.authority.append(_dns_rrset("example.com.", "NS", "ns1.example.com."))
    resp.additional.append(_dns_rrset("NS1.example.com.", "A", "192.0.2.53"))
    return resp.to_wire(max_size=65535)


def test_builder_objects_carry_every_field_dnspython_reads() -> None:
    for wire in (_mixed_wire(), _dns_response(CASES).to_wire(), dns.message.make_query("a.", "A").to_wire()):
        msg = _same_as_dnspython(wire)
        assert Message.from_wire(msg.to_wire()) == msg


def test_builder_shares_names_and_keeps_their_case() -> None:
    msg = Message.from_wire(_mixed_wire())
    q = msg.questions[0].name
    same = [rr.name for rr in msg.answers if rr.name == q]
    assert len(same) > 15 and all(n is q for n in same)  # one object per distinct wire form
    mixed = next(rr.name for rr in msg.answers if rr.rtype == RRType.SVCB)
    assert mixed.wire == b"\x03Svc\x07Example\x03ORG\x00" and mixed == N("svc.example.org")
    assert hash(mixed) == hash(N("svc.example.org")) and str(mixed) == "Svc.Example.ORG."
    assert msg.additional[0].name == N("ns1.example.com")  # compressed onto an earlier ns1


def test_owner_pointer_reuse_reads_every_owner_right() -> None:
    # owners: pointer to the question, a different pointer, a literal name, the first pointer
    # again, then a pointer into the previous owner: the reuse of an already-read name must
    # never hand a record the wrong one.
    owners = ["example.com.", "www.example.com.", "other.example.net.", "example.com.",
              "www.example.com.", "x.other.example.net.", "example.com."]
    resp = dns.message.make_response(dns.message.make_query("example.com.", "A"))
    for owner in owners:
        resp.answer.append(_dns_rrset(owner, "A", "192.0.2.1"))
    wire = resp.to_wire()
    assert wire.count(b"\xc0\x0c") >= 3  # the question's name, pointed to again and again
    msg = Message.from_wire(wire)
    assert [str(rr.name) for rr in msg.answers] == owners
    _same_as_dnspython(wire)


def test_aaaa_text_is_the_same_from_wire_and_from_text() -> None:
    for text in ("::ffff:192.0.2.1", "::", "2001:db8:0:0:1:0:0:1", "fe80::1:0:0:0", "1:0:0:2::3"):
        from_text = AAAA.from_text(text)
        wire = Message(answers=(RR.make("a.example", from_text),)).to_wire()
        assert Message.from_wire(wire).answers[0].rdata == from_text


def test_decoder_refuses_classes_it_cannot_fill() -> None:
    from plait._native import DnsDecoder
    from plait.names.rdata import RDATA_CLASSES

    classes = {"Name": Name, "Message": Message, "Question": Question, "RR": RR, "Edns": Edns,
               "Opaque": Opaque}

    class Plain:  # no slots
        __match_args__ = ("a", "b")
        a = b = 0

    with pytest.raises(TypeError, match="not a slot"):
        DnsDecoder({**classes, "Opaque": Plain}, RDATA_CLASSES)
    with pytest.raises(ValueError, match="fields"):
        DnsDecoder({**classes, "Question": Edns}, RDATA_CLASSES)
    with pytest.raises(ValueError, match="no RData class for type 1"):
        DnsDecoder(classes, {k: v for k, v in RDATA_CLASSES.items() if k != 1})
    with pytest.raises(ValueError, match="type 15"):
        DnsDecoder(classes, {**RDATA_CLASSES, 15: SOA})


def test_builder_agrees_with_dnspython_on_mutated_messages() -> None:
    import random

    import dns.exception
    rng = random.Random(4)
    wire = _mixed_wire()
    compared = 0
    for _ in range(3000):
        data = bytearray(wire)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            msg = Message.from_wire(bytes(data))
        except DNSFormatError:
            continue
        try:
            expected = _dnspython_view(bytes(data))
        except dns.exception.DNSException:
            continue  # dnspython is stricter about this one
        assert _dnspython_view(msg.to_wire()) == expected
        compared += 1
    assert compared > 1000  # enough of them still parse to compare


# ---------------------------------------------------------------- objects shared across parses


def _bench_like_response(owner: str = "example.com.", base: int = 1) -> bytes:
    resp = dns.message.make_response(dns.message.make_query(owner, "ANY", use_edns=0, payload=1232))
    resp.answer.append(dns.rrset.from_text(owner, 3600, "IN", "A", f"192.0.2.{base}", f"192.0.2.{base + 1}"))
    resp.answer.append(_dns_rrset(owner, "AAAA", f"2001:db8::{base:x}"))
    resp.answer.append(_dns_rrset(owner, "MX", f"10 mail{base}.example.net."))
    return resp.to_wire()


def test_names_addresses_and_edns_recurring_across_messages_are_shared() -> None:
    wire = _bench_like_response("shared.example.", 7)
    first, second, third = (Message.from_wire(wire) for _ in range(3))
    assert first == second == third
    # A value is kept on its second sighting (the owner: within the first message already).
    assert first.answers[0].name is third.answers[0].name is first.questions[0].name
    mx2, mx3 = second.answers[3].rdata, third.answers[3].rdata
    assert isinstance(mx2, MX) and isinstance(mx3, MX) and mx2.exchange is mx3.exchange
    a2, a3 = second.answers[0].rdata, third.answers[0].rdata
    assert isinstance(a2, A) and isinstance(a3, A) and a2.address is a3.address
    assert {r.rdata for r in third.answers[:2]} == {A("192.0.2.7"), A("192.0.2.8")}
    v6 = [m.answers[2].rdata for m in (second, third)]
    assert isinstance(v6[0], AAAA) and isinstance(v6[1], AAAA) and v6[0].address is v6[1].address
    assert second.edns is third.edns and third.edns is not None and third.edns.options == ()
    # Equal values, never wrong ones: other messages read their own names and addresses.
    other = Message.from_wire(_bench_like_response("other.example.", 9))
    assert str(other.answers[0].name) == "other.example." and other.answers[3].rdata == MX(10, N("mail9.example.net"))
    assert {r.rdata for r in other.answers[:2]} == {A("192.0.2.9"), A("192.0.2.10")}
    assert other.answers[2].rdata == AAAA("2001:db8::9")


def test_edns_with_options_is_not_shared() -> None:
    wire = dns.message.make_query("a.example.", "A", use_edns=0, options=[dns.edns.GenericOption(65001, b"x")]).to_wire()
    first, second, third = (Message.from_wire(wire) for _ in range(3))
    assert first.edns == third.edns and second.edns is not third.edns
    assert third.edns is not None and third.edns.options == ((65001, b"x"),)


def test_long_names_are_one_object_within_a_message_but_not_kept() -> None:
    owner = "a" * 60 + ".example.com."  # 74 wire bytes: longer than the shared table keeps
    resp = dns.message.make_response(dns.message.make_query(owner, "A"))
    resp.answer.append(dns.rrset.from_text(owner, 3600, "IN", "A", "192.0.2.1", "192.0.2.2"))
    resp.answer.append(_dns_rrset("b.example.com.", "CNAME", owner))
    wire = resp.to_wire()
    first, second = Message.from_wire(wire), Message.from_wire(wire)
    names = [first.questions[0].name, first.answers[0].name, first.answers[1].name]
    target = first.answers[2].rdata
    assert isinstance(target, CNAME) and all(n is target.target for n in names)
    assert second.questions[0].name == names[0] and second.questions[0].name is not names[0]


def test_shared_tables_are_bounded() -> None:
    import tracemalloc

    def wires(tag: str) -> list[bytes]:
        return [_bench_like_response(f"h{i}.{tag}.example.", i % 200 + 2) for i in range(3000)]

    warm, fresh = wires("warm"), wires("fresh")
    for wire in warm:  # the tables full before the measurement
        Message.from_wire(wire)
        Message.from_wire(wire)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for wire in fresh:  # twice each: every name and address is seen a second time
            Message.from_wire(wire)
            Message.from_wire(wire)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Keeping 6000 new names and 3000 addresses would take well over 1 MB; the tables
    # replace what they hold, so what stays alive does not grow.
    assert grown < 100_000, grown
