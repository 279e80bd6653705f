"""plait.names.authority: the native answer engine, driven with dnspython queries and read
back with both dnspython and plait's own parser."""
from __future__ import annotations

import base64
import shutil
import struct
import subprocess

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from plait.names.authority import Authority
from plait.names.errors import ZoneError
from plait.names.message import RR, Message
from plait.names.name import Name
from plait.names.rdata import NS, SOA, TXT, A
from plait.names.zonefile import parse_zone

ZONE = """
$ORIGIN example.com.
$TTL 3600
@        SOA   ns1 hostmaster 2026112401 7200 900 1209600 300
@        NS    ns1
@        NS    ns2.elsewhere.net.
@        MX    10 mail
ns1      A     192.0.2.1
mail     A     192.0.2.2
mail     AAAA  2001:db8::2
www      CNAME web
web  300 A     192.0.2.3
out      CNAME www.example.org.
loop1    CNAME loop2
loop2    CNAME loop1
a.b.c    A     192.0.2.5
*.wild   TXT   "wild"
*.cn     CNAME web
_sip._tcp SRV  1 2 5060 mail
sub      NS    ns.sub
ns.sub   A     192.0.2.53
dn   900 DNAME example.org.
long 900 DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.
big      TXT   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big      TXT   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big      TXT   "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
big      TXT   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
big      TXT   "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
big      TXT   "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
big      TXT   "ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"
"""

ORG = """
$ORIGIN example.org.
$TTL 3600
@    SOA ns1 hostmaster 1 7200 900 1209600 600
@    NS  ns1
ns1  A   198.51.100.1
www  A   198.51.100.80
"""

COM = Name.from_text("example.com.")
ORG_NAME = Name.from_text("example.org.")


@pytest.fixture
def auth() -> Authority:
    a = Authority()
    a.set_zone(COM, parse_zone(ZONE, COM))
    a.set_zone(ORG_NAME, parse_zone(ORG, ORG_NAME))
    return a


def ask(a: Authority, query: dns.message.Message, tcp: bool = False) -> dns.message.Message:
    """Send a dnspython query; parse the answer with plait too and check the two agree."""
    out = a.answer(query.to_wire(), tcp)
    assert isinstance(out, bytes)
    mine = Message.from_wire(out)
    theirs = dns.message.from_wire(out)
    assert mine.id == theirs.id == query.id
    assert mine.rcode == theirs.rcode()
    assert len(mine.answers) == sum(len(r) for r in theirs.answer)
    assert len(mine.authority) == sum(len(r) for r in theirs.authority)
    assert len(mine.additional) == sum(len(r) for r in theirs.additional)
    return theirs


def q(name: str, rdtype: str, **kw: object) -> dns.message.Message:
    return dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]


def rrtypes(section: list[dns.rrset.RRset]) -> list[str]:
    return [dns.rdatatype.to_text(r.rdtype) for r in section]


def test_positive_answer_flags(auth: Authority) -> None:
    query = q("web.example.com.", "A")
    query.flags |= dns.flags.CD
    r = ask(auth, query)
    assert r.flags & dns.flags.QR and r.flags & dns.flags.AA
    assert r.flags & dns.flags.RD and r.flags & dns.flags.CD
    assert not r.flags & dns.flags.RA
    assert r.rcode() == dns.rcode.NOERROR
    assert rrtypes(r.answer) == ["A"]
    assert r.answer[0].ttl == 300
    assert [str(x) for x in r.answer[0]] == ["192.0.2.3"]


def test_qname_case_is_kept(auth: Authority) -> None:
    out = auth.answer(q("WeB.eXaMpLe.CoM.", "A").to_wire())
    assert isinstance(out, bytes)
    assert b"\x03WeB\x07eXaMpLe\x03CoM\x00" in out
    mine = Message.from_wire(out)
    assert mine.answers[0].name.wire == b"\x03WeB\x07eXaMpLe\x03CoM\x00"


def test_nxdomain_and_nodata(auth: Authority) -> None:
    r = ask(auth, q("nope.example.com.", "A"))
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.flags & dns.flags.AA
    assert rrtypes(r.authority) == ["SOA"]
    assert r.authority[0].ttl == 300
    r = ask(auth, q("web.example.com.", "AAAA"))
    assert r.rcode() == dns.rcode.NOERROR
    assert not r.answer
    assert rrtypes(r.authority) == ["SOA"]
    r = ask(auth, q("c.example.com.", "A"))  # empty non-terminal
    assert r.rcode() == dns.rcode.NOERROR and rrtypes(r.authority) == ["SOA"]


def test_cname_chains(auth: Authority) -> None:
    r = ask(auth, q("www.example.com.", "A"))
    assert rrtypes(r.answer) == ["CNAME", "A"]
    r = ask(auth, q("out.example.com.", "A"))
    assert rrtypes(r.answer) == ["CNAME", "A"]
    assert r.answer[1].name == dns.name.from_text("www.example.org.")
    r = ask(auth, q("loop1.example.com.", "A"))
    assert rrtypes(r.answer) == ["CNAME", "CNAME"]
    assert r.rcode() == dns.rcode.NOERROR


def test_dname(auth: Authority) -> None:
    r = ask(auth, q("www.dn.example.com.", "A"))
    assert rrtypes(r.answer) == ["DNAME", "CNAME", "A"]
    assert r.answer[1].ttl == 900
    assert str(r.answer[1][0].target) == "www.example.org."
    long_q = ".".join(["x" * 63] * 3) + ".dn.example.com."
    r = ask(auth, q(long_q, "A"))
    # The result fits (3*64 + 13 bytes) but does not exist in example.org.
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert rrtypes(r.answer) == ["DNAME", "CNAME"]
    assert rrtypes(r.authority) == ["SOA"] and str(r.authority[0].name) == "example.org."
    long_q = "y" * 60 + "." + "y" * 60 + ".long.example.com."
    r = ask(auth, q(long_q, "A"))
    assert r.rcode() == dns.rcode.YXDOMAIN
    assert rrtypes(r.answer) == ["DNAME"]


def test_referral(auth: Authority) -> None:
    r = ask(auth, q("www.sub.example.com.", "A"))
    assert not r.flags & dns.flags.AA
    assert not r.answer
    assert rrtypes(r.authority) == ["NS"]
    assert rrtypes(r.additional) == ["A"]
    assert str(r.additional[0].name) == "ns.sub.example.com."


def test_wildcards(auth: Authority) -> None:
    r = ask(auth, q("anything.wild.example.com.", "TXT"))
    assert str(r.answer[0].name) == "anything.wild.example.com."
    assert r.flags & dns.flags.AA
    r = ask(auth, q("x.cn.example.com.", "A"))
    assert rrtypes(r.answer) == ["CNAME", "A"]
    r = ask(auth, q("x.wild.example.com.", "A"))
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_refused_and_pass(auth: Authority) -> None:
    r = ask(auth, q("example.net.", "A"))
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.flags & dns.flags.AA
    rec = Authority(recursion=True)
    rec.set_zone(COM, parse_zone(ZONE, COM))
    assert rec.answer(q("example.net.", "A").to_wire()) == Authority.PASS
    no_rd = q("example.net.", "A")
    no_rd.flags &= ~dns.flags.RD
    assert ask(rec, no_rd).rcode() == dns.rcode.REFUSED


def test_any_and_additional(auth: Authority) -> None:
    r = ask(auth, q("mail.example.com.", "ANY"))
    assert len(r.answer) == 1
    r = ask(auth, q("example.com.", "MX"))
    assert sorted(rrtypes(r.additional)) == ["A", "AAAA"]
    r = ask(auth, q("_sip._tcp.example.com.", "SRV"))
    assert sorted(rrtypes(r.additional)) == ["A", "AAAA"]


def test_edns_and_truncation(auth: Authority) -> None:
    r = ask(auth, q("web.example.com.", "A", use_edns=0, payload=4096))
    assert r.edns == 0
    assert r.payload == 1232
    big = q("big.example.com.", "TXT")
    out = auth.answer(big.to_wire())
    assert isinstance(out, bytes) and len(out) <= 512
    r = dns.message.from_wire(out)
    assert r.flags & dns.flags.TC and not r.answer
    r = ask(auth, q("big.example.com.", "TXT", use_edns=0, payload=1232))
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 7
    r = ask(auth, big, tcp=True)
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 7


def test_badvers(auth: Authority) -> None:
    r = ask(auth, q("web.example.com.", "A", use_edns=1))
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0
    assert Message.from_wire(auth.answer(q("web.example.com.", "A", use_edns=1).to_wire())).rcode == 16  # type: ignore[arg-type]


def test_opcodes_transfers_and_classes(auth: Authority) -> None:
    notify = dns.message.make_query("example.com.", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert auth.answer(notify.to_wire()) == Authority.PASS
    for t in ("AXFR", "IXFR"):
        assert auth.answer(q("example.com.", t).to_wire()) == Authority.PASS
    status = q("example.com.", "SOA")
    status.set_opcode(dns.opcode.STATUS)
    r = ask(auth, status)
    assert r.rcode() == dns.rcode.NOTIMP
    chaos = q("version.bind.", "TXT", rdclass=dns.rdataclass.CH)
    assert ask(auth, chaos).rcode() == dns.rcode.REFUSED


def test_bad_input(auth: Authority) -> None:
    good = q("web.example.com.", "A").to_wire()
    # Shorter than a header: dropped; a response: dropped.
    assert auth.answer(good[:11]) is None
    assert auth.answer(b"") is None
    assert auth.answer(good[:2] + bytes([good[2] | 0x80]) + good[3:]) is None
    # Truncated question: FORMERR with the id.
    out = auth.answer(good[:-3])
    assert isinstance(out, bytes)
    mine = Message.from_wire(out)
    assert mine.rcode == dns.rcode.FORMERR and mine.id == struct.unpack("!H", good[:2])[0]
    assert mine.qr and not mine.aa
    # A compression pointer loop as the question name.
    loop = b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"
    r = dns.message.from_wire(auth.answer(loop))  # type: ignore[arg-type]
    assert r.rcode() == dns.rcode.FORMERR and r.id == 0x1234
    # Garbage.
    garbage = b"\xde\xad" + bytes(range(40))
    out = auth.answer(garbage)
    assert isinstance(out, bytes)
    assert Message.from_wire(out).id == 0xDEAD
    # qdcount 2.
    two = good[:4] + b"\x00\x02" + good[6:] + good[12:]
    mine = Message.from_wire(auth.answer(two))  # type: ignore[arg-type]
    assert mine.rcode == dns.rcode.FORMERR and not mine.questions
    # A valid question followed by junk records: FORMERR with the question echoed.
    junk = good[:6] + b"\x00\x01" + good[8:] + b"\x00\x00"
    mine = Message.from_wire(auth.answer(junk))  # type: ignore[arg-type]
    assert mine.rcode == dns.rcode.FORMERR
    assert [str(x.name) for x in mine.questions] == ["web.example.com."]
    # The engine still answers afterwards.
    assert ask(auth, q("web.example.com.", "A")).rcode() == dns.rcode.NOERROR


def test_buffer_queries(auth: Authority) -> None:
    wire = q("web.example.com.", "A").to_wire()
    assert auth.answer(bytearray(wire)) == auth.answer(memoryview(wire)) == auth.answer(wire)


def test_zone_errors() -> None:
    a = Authority()
    soa = RR.make("t.", SOA(Name.from_text("ns.t."), Name.from_text("h.t."), 1, 2, 3, 4, 5))
    ns = RR.make("t.", NS(Name.from_text("ns.t.")))
    t = Name.from_text("t.")
    with pytest.raises(ZoneError, match="no SOA"):
        a.set_zone(t, [ns])
    with pytest.raises(ZoneError, match="no NS"):
        a.set_zone(t, [soa])
    with pytest.raises(ZoneError, match="outside the zone"):
        a.set_zone(t, [soa, ns, RR.make("x.u.", A("192.0.2.1"))])
    with pytest.raises(ZoneError, match="beside other data"):
        a.set_zone(t, [soa, ns, *parse_zone("x 60 CNAME y\nx 60 TXT hi", t)])
    with pytest.raises(ZoneError, match="class 3"):
        a.set_zone(t, [soa, ns, RR.make("x.t.", TXT((b"hi",)), rclass=3)])
    assert a.origins() == []
    with pytest.raises(ValueError):
        Authority(max_udp_payload=100)


def test_set_replace_remove(auth: Authority) -> None:
    assert [str(o) for o in auth.origins()] == ["example.com.", "example.org."]
    auth.set_zone(ORG_NAME, parse_zone(ORG.replace("www  A   198.51.100.80", ""), ORG_NAME))
    assert ask(auth, q("www.example.org.", "A")).rcode() == dns.rcode.NXDOMAIN
    auth.remove_zone(ORG_NAME)
    assert ask(auth, q("www.example.org.", "A")).rcode() == dns.rcode.REFUSED
    auth.remove_zone(ORG_NAME)  # absent: nothing happens
    assert [str(o) for o in auth.origins()] == ["example.com."]


# ---------------------------------------------------------------- DNSSEC with real signatures

SIGNED_TEXT = """
$ORIGIN s.test.
$TTL 300
@      SOA  ns hostmaster 1 7200 900 1209600 300
@      NS   ns
ns     A    192.0.2.1
a.b    A    192.0.2.2
*.w    TXT  "wild"
child  NS   ns.child
ns.child A  192.0.2.53
"""


@pytest.fixture(scope="module")
def signed() -> tuple[Authority, dns.rrset.RRset]:
    key = ed25519.Ed25519PrivateKey.generate()
    dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)
    z = dns.zone.from_text(SIGNED_TEXT, "s.test.", relativize=False)
    dns.dnssec.sign_zone(z, keys=[(key, dnskey)], lifetime=86400)
    text = z.to_text(relativize=False)
    origin = Name.from_text("s.test.")
    a = Authority()
    a.set_zone(origin, parse_zone(text, origin))
    keys = z.find_rrset("s.test.", "DNSKEY")
    return a, keys


def validate_section(section: list[dns.rrset.RRset], keys: dns.rrset.RRset) -> int:
    """Validate every RRset of a section with its RRSIG; the number validated."""
    sigs = {(r.name, r.covers): r for r in section if r.rdtype == dns.rdatatype.RRSIG}
    done = 0
    for rrset in section:
        if rrset.rdtype in (dns.rdatatype.RRSIG, dns.rdatatype.NS):
            continue
        sig = sigs[(rrset.name, rrset.rdtype)]
        dns.dnssec.validate(rrset, sig, {dns.name.from_text("s.test."): keys})
        done += 1
    return done


def test_dnssec_answers_validate(signed: tuple[Authority, dns.rrset.RRset]) -> None:
    a, keys = signed
    r = ask(a, q("a.b.s.test.", "A", want_dnssec=True))
    assert rrtypes(r.answer) == ["A", "RRSIG"]
    assert validate_section(r.answer, keys) == 1
    r = ask(a, q("a.b.s.test.", "A"))
    assert rrtypes(r.answer) == ["A"]
    r = ask(a, q("s.test.", "DNSKEY", want_dnssec=True))
    assert validate_section(r.answer, keys) == 1


def test_dnssec_negative_answers_validate(signed: tuple[Authority, dns.rrset.RRset]) -> None:
    a, keys = signed
    r = ask(a, q("m.s.test.", "A", want_dnssec=True))
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert rrtypes(r.authority).count("NSEC") == 2
    assert validate_section(r.authority, keys) == 3  # SOA and two NSEC
    r = ask(a, q("a.b.s.test.", "AAAA", want_dnssec=True))
    nsec = [x for x in r.authority if x.rdtype == dns.rdatatype.NSEC]
    assert [str(x.name) for x in nsec] == ["a.b.s.test."]
    assert validate_section(r.authority, keys) == 2
    r = ask(a, q("m.s.test.", "A"))
    assert rrtypes(r.authority) == ["SOA"]


def test_dnssec_wildcard_and_referral(signed: tuple[Authority, dns.rrset.RRset]) -> None:
    a, keys = signed
    r = ask(a, q("x.w.s.test.", "TXT", want_dnssec=True))
    assert rrtypes(r.answer) == ["TXT", "RRSIG"]
    assert str(r.answer[1].name) == "x.w.s.test."
    assert validate_section(r.answer, keys) == 1
    assert "NSEC" in rrtypes(r.authority)
    assert validate_section(r.authority, keys) == 1
    r = ask(a, q("www.child.s.test.", "A", want_dnssec=True))
    assert not r.flags & dns.flags.AA
    assert rrtypes(r.authority) == ["NS", "NSEC", "RRSIG"]  # unsigned delegation: no DS
    assert validate_section(r.authority, keys) == 1


# ---------------------------------------------------------------- NSEC3, signed by BIND's tools

NSEC3_SALT = "aabbccdd"


@pytest.fixture(scope="module")
def nsec3_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Authority, dns.rrset.RRset]:
    keygen, signzone = shutil.which("dnssec-keygen"), shutil.which("dnssec-signzone")
    if keygen is None or signzone is None:
        pytest.skip("BIND's dnssec-keygen/dnssec-signzone are not installed")
    d = tmp_path_factory.mktemp("nsec3")
    key = subprocess.run([keygen, "-q", "-K", str(d), "-a", "ECDSAP256SHA256", "s.test"],
                         capture_output=True, text=True, check=True, timeout=60,
                         cwd=d).stdout.strip()
    (d / "s.test.zone").write_text(SIGNED_TEXT + f"$INCLUDE {d / (key + '.key')}\n")
    subprocess.run([signzone, "-q", "-z", "-3", NSEC3_SALT, "-H", "0", "-K", str(d), "-o", "s.test.",
                    "-d", str(d), "-f", str(d / "signed"), str(d / "s.test.zone")],
                   capture_output=True, check=True, timeout=60, cwd=d)
    text = (d / "signed").read_text()
    origin = Name.from_text("s.test.")
    a = Authority()
    a.set_zone(origin, parse_zone(text, origin))
    z = dns.zone.from_text(text, "s.test.", relativize=False)
    return a, z.find_rrset("s.test.", "DNSKEY")


def nsec3_hash(name: str) -> str:
    return dns.dnssec.nsec3_hash(name, NSEC3_SALT, 0, 1).lower()


def nsec3_spans(r: dns.message.Message) -> list[tuple[str, str]]:
    """(owner hash, next hash) of each NSEC3 in the authority section, lowercase base32hex."""
    out = []
    for rrset in r.authority:
        if rrset.rdtype == dns.rdatatype.NSEC3:
            nxt = base64.b32hexencode(rrset[0].next).decode().lower().rstrip("=")
            out.append((str(rrset.name).split(".")[0].lower(), nxt))
    return out


def nsec3_matches(spans: list[tuple[str, str]], name: str) -> bool:
    return any(owner == nsec3_hash(name) for owner, _ in spans)


def nsec3_covers(spans: list[tuple[str, str]], name: str) -> bool:
    h = nsec3_hash(name)
    return any((o < h < n) if o < n else (h > o or h < n) for o, n in spans)


def test_nsec3_nxdomain_nodata_wildcard(nsec3_signed: tuple[Authority, dns.rrset.RRset]) -> None:
    a, keys = nsec3_signed
    r = ask(a, q("m.s.test.", "A", want_dnssec=True))
    assert r.rcode() == dns.rcode.NXDOMAIN
    spans = nsec3_spans(r)
    assert nsec3_matches(spans, "s.test.")
    assert nsec3_covers(spans, "m.s.test.") and nsec3_covers(spans, "*.s.test.")
    assert validate_section(r.authority, keys) == 1 + len(spans)
    r = ask(a, q("a.b.s.test.", "TXT", want_dnssec=True))
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert nsec3_matches(nsec3_spans(r), "a.b.s.test.")
    assert validate_section(r.authority, keys) == 2
    r = ask(a, q("b.s.test.", "A", want_dnssec=True))  # empty non-terminal
    assert nsec3_matches(nsec3_spans(r), "b.s.test.")
    r = ask(a, q("x.y.w.s.test.", "TXT", want_dnssec=True))
    assert rrtypes(r.answer) == ["TXT", "RRSIG"]
    assert validate_section(r.answer, keys) == 1
    spans = nsec3_spans(r)
    assert len(spans) == 1 and nsec3_covers(spans, "y.w.s.test.")
    r = ask(a, q("www.child.s.test.", "A", want_dnssec=True))
    assert not r.flags & dns.flags.AA
    assert nsec3_matches(nsec3_spans(r), "child.s.test.")
    assert validate_section(r.authority, keys) == 1
