"""plait's DNS server queried by real tools: BIND's dig, Knot's kdig, ldns's drill, dnspython,
and Unbound resolving through it as a stub zone.

What is checked is each tool's own parse of plait's responses: the status, the header flags
and the records of each section, compared with dnspython's reading of the same zone file.
"""
from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from names.peers import PlaitProcess, PlaitServer, Unbound, dig, drill, kdig, primary, require

pytestmark = pytest.mark.interop

ORIGIN = "example.com."
HEX32 = "0123456789abcdef" * 4
KEY = base64.b64encode(bytes(range(64))).decode()
SIG = base64.b64encode(bytes(range(64, 128))).decode()
NSEC3_OWNER = "1avvqn74sg75ukfvf25dgcethgq638ek"
BIG_TXT = 30   # TXT records at big.example.com: ~1.9 kB, over 512 and over 1232
MID_TXT = 12   # TXT records at mid.example.com: ~900 B, between 600 and 1232

ZONE = rf"""$ORIGIN example.com.
$TTL 3600
@        IN SOA   ns1 hostmaster 2024010101 7200 900 1209600 300
@        IN NS    ns1
@        IN NS    ns2
ns1      IN A     192.0.2.53
ns2      IN AAAA  2001:db8::53
@        IN MX    10 mail
mail     IN A     192.0.2.25
mail     IN AAAA  2001:db8::25
www      IN A     192.0.2.80
www      IN AAAA  2001:db8::80
www      IN HINFO "PC" "Linux"
alias    IN CNAME www
chain1   IN CNAME chain2
chain2   IN CNAME alias
@        IN TXT   "v=spf1 mx -all" "a second string"
@        IN SPF   "v=spf1 -all"
ptr      IN PTR   host.example.net.
_sip._tcp IN SRV  10 60 5060 sip
sip      IN A     192.0.2.60
naptr    IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.com.
rp       IN RP    hostmaster.example.com. www.example.com.
afsdb    IN AFSDB 1 afs.example.net.
sshfp    IN SSHFP 4 2 {HEX32}
_443._tcp.www IN TLSA 3 1 1 {HEX32}
@        IN CAA   0 issue "ca.example.net"
dname    IN DNAME target.example.com.
www.target IN A   192.0.2.90
sub      IN NS    ns.sub
ns.sub   IN A     192.0.2.99
sub      IN DS    12345 13 2 {HEX32}
keys     IN DNSKEY 257 3 13 {KEY}
sigs     IN RRSIG A 13 3 3600 20301231000000 20240101000000 12345 example.com. {SIG}
nsec     IN NSEC  www.example.com. A TXT RRSIG NSEC
{NSEC3_OWNER} IN NSEC3 1 0 10 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG
@        IN NSEC3PARAM 1 0 10 aabbccdd
unknown  IN TYPE65400 \# 4 0a000001
*.wild   IN A     192.0.2.200
*.wild   IN TXT   "wildcard"
""" + "".join(f'big IN TXT "{i:02d}{"x" * 58}"\n' for i in range(BIG_TXT)) + "".join(
    f'mid IN TXT "{i:02d}{"y" * 58}"\n' for i in range(MID_TXT))

# (owner relative to the origin, type): one query per record type the codec has
TYPED = [
    ("www", "A"), ("www", "AAAA"), ("@", "NS"), ("alias", "CNAME"), ("dname", "DNAME"),
    ("@", "SOA"), ("ptr", "PTR"), ("@", "MX"), ("@", "TXT"), ("@", "SPF"),
    ("_sip._tcp", "SRV"), ("naptr", "NAPTR"), ("www", "HINFO"), ("rp", "RP"),
    ("afsdb", "AFSDB"), ("sshfp", "SSHFP"), ("_443._tcp.www", "TLSA"), ("@", "CAA"),
    ("sub", "DS"), ("keys", "DNSKEY"), ("sigs", "RRSIG"), ("nsec", "NSEC"),
    ("@", "NSEC3PARAM"), ("unknown", "TYPE65400"),
]
# NSEC3 is not in TYPED: RFC 5155 §7.2.8 makes a query for an NSEC3 owner name NXDOMAIN.
# Its RDATA goes through the tools in AXFR and in the denials of an NSEC3-signed zone.
TOOLS = ["dig", "kdig", "drill"]

EXPECTED = dns.zone.from_text(ZONE, ORIGIN, relativize=False, check_origin=False)


def fqdn(rel: str) -> str:
    return ORIGIN if rel == "@" else f"{rel}.{ORIGIN}"


def expected(rel: str, rtype: str) -> set[dns.rdata.Rdata]:
    node = EXPECTED.get_node(fqdn(rel))
    assert node is not None, rel
    code = dns.rdatatype.from_text(rtype)
    found = {rd for rds in node.rdatasets if rds.rdtype == code for rd in rds}  # RRSIG: any covered
    assert found, (rel, rtype)
    return found


# ---------------------------------------------------------------- the tools' output


@dataclass
class Record:
    name: str
    ttl: int
    rtype: str
    rdata: str

    def parsed(self) -> dns.rdata.Rdata:
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(self.rtype),
                                   self.rdata, origin=dns.name.root, relativize=False)


@dataclass
class Output:
    """What dig, kdig or drill printed, taken apart: status, flags and the sections."""

    text: str
    status: str = ""
    flags: set[str] = field(default_factory=set)
    sections: dict[str, list[Record]] = field(default_factory=dict)

    def records(self, section: str) -> list[Record]:
        return self.sections.get(section, [])

    def types(self, section: str) -> list[str]:
        return [r.rtype for r in self.records(section)]

    def rdatas(self, section: str, rtype: str) -> set[dns.rdata.Rdata]:
        return {r.parsed() for r in self.records(section) if r.rtype == rtype}


_SECTION = re.compile(r"^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:", re.IGNORECASE)


def parse_output(text: str) -> Output:
    out = Output(text)
    m = re.search(r"(?:status|rcode): ([A-Z0-9]+)", text)
    out.status = m.group(1) if m else ""
    m = re.search(r"flags: ([a-z ]*)", text, re.IGNORECASE)
    out.flags = set(m.group(1).lower().split()) if m else set()
    section = None
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            section = m.group(1).lower()
            out.sections.setdefault(section, [])
        elif not line.strip():
            section = None
        elif section not in (None, "question") and not line.startswith(";"):
            parts = line.split(None, 4)
            name, ttl, klass, rtype = parts[:4]
            assert klass.upper() == "IN", line
            out.sections[section].append(
                Record(name.lower(), int(ttl), rtype.upper(), parts[4] if len(parts) > 4 else ""))
    return out


def ask(tool: str, name: str, rtype: str, *opts: str, server: tuple[str, int]) -> Output:
    """Query with ``tool``, the options each tool spells its own way given in dig's words."""
    args = list(opts)
    if tool == "drill":
        mapped: list[str] = []
        for o in args:
            mapped += {"+dnssec": ["-D"], "+tcp": ["-t"], "+noedns": [],
                       "+norecurse": ["-o", "rd"]}.get(o, [o])
        return parse_output(drill(*mapped, name, rtype, server=server))
    if tool == "kdig":
        return parse_output(kdig(*args, name, rtype, server=server))
    return parse_output(dig(*args, name, rtype, server=server))


# ---------------------------------------------------------------- fixtures


SIGNED_TEXT = """$TTL 600
@    IN SOA ns1 hostmaster 1 7200 900 1209600 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.2
www  IN TXT "signed"
"""


def sign(d: Path, origin: str, *nsec3: str) -> tuple[str, str]:
    """``SIGNED_TEXT`` at ``origin`` signed by BIND's dnssec-signzone (NSEC, or NSEC3 with
    the ``-3 SALT -H ITERATIONS`` options given), and its KSK's DNSKEY line."""
    (d / origin).write_text(f"$ORIGIN {origin}.\n{SIGNED_TEXT}")
    keygen = [require("dnssec-keygen"), "-q", "-K", str(d), "-a", "ECDSAP256SHA256"]
    if nsec3:
        keygen.append("-3")
    ksk = subprocess.run([*keygen, "-f", "KSK", origin], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    subprocess.run([*keygen, origin], capture_output=True, check=True, timeout=60)
    subprocess.run([require("dnssec-signzone"), "-S", *nsec3, "-K", str(d), "-o", origin,
                    "-f", str(d / f"{origin}.signed"), str(d / origin)],
                   capture_output=True, check=True, timeout=60, cwd=d)
    dnskey = (d / f"{ksk}.key").read_text().splitlines()[-1]
    return (d / f"{origin}.signed").read_text(), dnskey


@pytest.fixture(scope="module")
def signed_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """signed.test, signed with NSEC."""
    return sign(tmp_path_factory.mktemp("signed"), "signed.test")


@pytest.fixture(scope="module")
def nsec3_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """nsec3.test, signed with NSEC3 (salt aabbccdd, 2 extra iterations)."""
    return sign(tmp_path_factory.mktemp("nsec3"), "nsec3.test", "-3", "aabbccdd", "-H", "2")


@pytest.fixture(scope="module")
def plait(signed_zone: tuple[str, str], nsec3_zone: tuple[str, str]) -> Iterator[PlaitServer]:
    zones = [(ORIGIN, ZONE), ("signed.test.", signed_zone[0]), ("nsec3.test.", nsec3_zone[0])]
    with PlaitServer(zones) as server:
        yield server


# ---------------------------------------------------------------- every record type


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(("rel", "rtype"), TYPED, ids=[t for _, t in TYPED])
def test_every_type(plait: PlaitServer, tool: str, transport: str, rel: str,
                    rtype: str) -> None:
    opts = ["+tcp"] if transport == "tcp" else []
    out = ask(tool, fqdn(rel), rtype, *opts, server=plait.address)
    assert out.status == "NOERROR", out.text
    assert "aa" in out.flags and "qr" in out.flags, out.text
    answer = [r for r in out.records("answer") if r.rtype == rtype]
    assert {r.name for r in answer} == {fqdn(rel)}, out.text
    assert {r.ttl for r in answer} == {3600}, out.text
    assert {r.parsed() for r in answer} == expected(rel, rtype), out.text


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_dnspython_parses_every_response(plait: PlaitServer, tcp: bool) -> None:
    for rel, rtype in [*TYPED, ("nope", "A"), ("www", "MX"), ("x.sub", "A"), ("a.wild", "A"),
                       ("chain1", "A"), ("x.dname", "A"), ("www", "ANY")]:
        q = dns.message.make_query(fqdn(rel), rtype, use_edns=0, payload=1232, want_dnssec=True)
        send = dns.query.tcp if tcp else dns.query.udp
        r = send(q, "127.0.0.1", port=plait.port, timeout=5)
        assert r.id == q.id and r.flags & dns.flags.QR
        assert r.question == q.question
        if (rel, rtype) in TYPED:
            got = r.get_rrset(r.answer, dns.name.from_text(fqdn(rel)), dns.rdataclass.IN,
                              dns.rdatatype.from_text(rtype),
                              covers=dns.rdatatype.A if rtype == "RRSIG" else dns.rdatatype.NONE)
            assert got is not None and set(got) == expected(rel, rtype), r.to_text()


# ---------------------------------------------------------------- the server's cases


@pytest.mark.parametrize("tool", TOOLS)
def test_nxdomain_has_soa_with_negative_ttl(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"nope.{ORIGIN}", "A", server=plait.address)
    assert out.status == "NXDOMAIN" and "aa" in out.flags, out.text
    assert out.records("answer") == []
    (soa,) = out.records("authority")
    assert soa.rtype == "SOA" and soa.name == ORIGIN
    assert soa.ttl == 300   # min(SOA TTL 3600, minimum 300), RFC 2308 §3


@pytest.mark.parametrize("tool", TOOLS)
def test_nodata_has_soa(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"www.{ORIGIN}", "MX", server=plait.address)
    assert out.status == "NOERROR" and "aa" in out.flags, out.text
    assert out.records("answer") == []
    assert out.types("authority") == ["SOA"], out.text


@pytest.mark.parametrize("tool", TOOLS)
def test_cname_chain_is_followed_in_zone(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"chain1.{ORIGIN}", "A", server=plait.address)
    assert out.status == "NOERROR" and "aa" in out.flags, out.text
    got = [(r.name, r.rtype, r.rdata.lower()) for r in out.records("answer")]
    assert got == [
        (f"chain1.{ORIGIN}", "CNAME", f"chain2.{ORIGIN}"),
        (f"chain2.{ORIGIN}", "CNAME", f"alias.{ORIGIN}"),
        (f"alias.{ORIGIN}", "CNAME", f"www.{ORIGIN}"),
        (f"www.{ORIGIN}", "A", "192.0.2.80"),
    ], out.text


@pytest.mark.parametrize("tool", TOOLS)
def test_dname_synthesises_a_cname(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"www.dname.{ORIGIN}", "A", server=plait.address)
    assert out.status == "NOERROR" and "aa" in out.flags, out.text
    got = [(r.name, r.rtype, r.rdata.lower()) for r in out.records("answer")]
    assert got == [
        (f"dname.{ORIGIN}", "DNAME", f"target.{ORIGIN}"),
        (f"www.dname.{ORIGIN}", "CNAME", f"www.target.{ORIGIN}"),
        (f"www.target.{ORIGIN}", "A", "192.0.2.90"),
    ], out.text
    cname = out.records("answer")[1]
    assert cname.ttl == 3600   # the DNAME's TTL, RFC 6672 §3.3


@pytest.mark.parametrize("tool", TOOLS)
def test_referral_with_glue(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"host.sub.{ORIGIN}", "A", server=plait.address)
    assert out.status == "NOERROR", out.text
    assert "aa" not in out.flags, out.text
    assert out.records("answer") == []
    assert [(r.name, r.rtype, r.rdata.lower()) for r in out.records("authority")
            if r.rtype == "NS"] == [(f"sub.{ORIGIN}", "NS", f"ns.sub.{ORIGIN}")], out.text
    glue = [(r.name, r.rdata) for r in out.records("additional") if r.rtype == "A"]
    assert glue == [(f"ns.sub.{ORIGIN}", "192.0.2.99")], out.text


@pytest.mark.parametrize("tool", TOOLS)
def test_wildcard(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"anything.wild.{ORIGIN}", "A", server=plait.address)
    assert out.status == "NOERROR" and "aa" in out.flags, out.text
    assert [(r.name, r.rtype, r.rdata) for r in out.records("answer")] == [
        (f"anything.wild.{ORIGIN}", "A", "192.0.2.200")], out.text
    # the wildcard's owner exists for other types: NODATA, not NXDOMAIN
    out = ask(tool, f"anything.wild.{ORIGIN}", "MX", server=plait.address)
    assert out.status == "NOERROR" and out.records("answer") == [], out.text
    assert out.types("authority") == ["SOA"], out.text


@pytest.mark.parametrize("tool", TOOLS)
def test_refused_outside_every_zone(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, "www.example.org.", "A", server=plait.address)
    assert out.status == "REFUSED", out.text
    assert out.records("answer") == [] and "aa" not in out.flags


def test_question_case_is_echoed(plait: PlaitServer) -> None:
    """Resolvers that randomise the case of their questions (0x20) check the echo."""
    q = dns.message.make_query("wWw.ExAmPlE.CoM.", "A")
    r = dns.query.udp(q, "127.0.0.1", port=plait.port, timeout=5)
    assert r.question[0].name.to_text() == "wWw.ExAmPlE.CoM."
    assert {rd.address for rrset in r.answer for rd in rrset} == {"192.0.2.80"}
    out = ask("dig", "WWW.EXAMPLE.COM.", "A", server=plait.address)
    assert out.status == "NOERROR" and "aa" in out.flags, out.text
    assert ";WWW.EXAMPLE.COM." in out.text


@pytest.mark.parametrize("opcode", [2, 5, 6, 15], ids=["STATUS", "UPDATE", "DSO", "15"])
def test_other_opcodes_are_notimp(plait: PlaitServer, opcode: int) -> None:
    out = ask("dig", f"www.{ORIGIN}", "A", f"+opcode={opcode}", server=plait.address)
    assert out.status == "NOTIMP", out.text


def test_header_only_query_is_formerr(plait: PlaitServer) -> None:
    out = parse_output(dig("+header-only", f"www.{ORIGIN}", server=plait.address))
    assert out.status == "FORMERR", out.text


def test_additional_addresses_for_mx_and_ns(plait: PlaitServer) -> None:
    out = ask("dig", ORIGIN, "MX", server=plait.address)
    assert {(r.name, r.rtype) for r in out.records("additional")} >= {
        (f"mail.{ORIGIN}", "A"), (f"mail.{ORIGIN}", "AAAA")}, out.text
    out = ask("dig", ORIGIN, "NS", server=plait.address)
    assert {(r.name, r.rtype) for r in out.records("additional")} >= {
        (f"ns1.{ORIGIN}", "A"), (f"ns2.{ORIGIN}", "AAAA")}, out.text
    out = ask("dig", f"_sip._tcp.{ORIGIN}", "SRV", server=plait.address)
    assert (f"sip.{ORIGIN}", "A") in {(r.name, r.rtype) for r in out.records("additional")}


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_any_gets_one_rrset(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"www.{ORIGIN}", "ANY", server=plait.address)
    assert out.status == "NOERROR" and "aa" in out.flags, out.text
    types = set(out.types("answer"))
    assert len(types) == 1, out.text   # RFC 8482 §4.2: one RRset of the node's
    assert types <= {"A", "AAAA", "HINFO"}, out.text


def test_edns_is_echoed_with_our_payload_size(plait: PlaitServer) -> None:
    out = ask("dig", f"www.{ORIGIN}", "A", "+bufsize=4096", "+nocookie", server=plait.address)
    assert out.status == "NOERROR", out.text
    m = re.search(r"udp: (\d+)", out.text)
    assert m is not None, out.text
    assert int(m.group(1)) == 1232, out.text       # min(4096, max_udp_payload)
    assert "version: 0" in out.text
    out = ask("dig", f"www.{ORIGIN}", "A", "+noedns", server=plait.address)
    assert "OPT PSEUDOSECTION" not in out.text, out.text
    # the client's smaller size is the limit: ~900 bytes fit 1232 but not 600
    out = ask("kdig", f"mid.{ORIGIN}", "TXT", "+bufsize=1232", server=plait.address)
    assert "tc" not in out.flags and len(out.records("answer")) == MID_TXT, out.text
    out = ask("kdig", f"mid.{ORIGIN}", "TXT", "+bufsize=600", "+ignore", server=plait.address)
    assert "tc" in out.flags, out.text
    assert re.search(r"UDP size: \d+ B", out.text), out.text


def test_edns_cookie_and_unknown_options_do_not_disturb(plait: PlaitServer) -> None:
    out = ask("dig", f"www.{ORIGIN}", "A", "+cookie", "+nsid", "+ednsopt=65001:abcd",
              server=plait.address)
    assert out.status == "NOERROR" and out.rdatas("answer", "A"), out.text


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_badvers_for_edns_version_1(plait: PlaitServer, tool: str) -> None:
    opts = ["+edns=1", "+noednsneg"] if tool == "dig" else ["+edns=1"]
    out = ask(tool, f"www.{ORIGIN}", "A", *opts, server=plait.address)
    assert out.status == "BADVERS", out.text
    assert out.records("answer") == []
    assert re.search(r"version:? 0", out.text, re.IGNORECASE), out.text   # we speak version 0


@pytest.mark.parametrize("tool", TOOLS)
def test_do_bit_brings_signatures(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, "www.signed.test.", "A", "+dnssec", server=plait.address)
    assert out.status == "NOERROR", out.text
    assert sorted(out.types("answer")) == ["A", "RRSIG"], out.text
    (sig,) = out.rdatas("answer", "RRSIG")
    assert sig.type_covered == dns.rdatatype.A
    out = ask(tool, "www.signed.test.", "A", server=plait.address)
    assert out.types("answer") == ["A"], out.text
    # a denial proves itself: NSEC (with its RRSIG) beside the SOA
    out = ask(tool, "nope.signed.test.", "A", "+dnssec", server=plait.address)
    assert out.status == "NXDOMAIN", out.text
    assert {"SOA", "NSEC", "RRSIG"} <= set(out.types("authority")), out.text


@pytest.mark.parametrize("tool", TOOLS)
def test_nsec3_owner_name_is_nxdomain(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, fqdn(NSEC3_OWNER), "NSEC3", server=plait.address)
    assert out.status == "NXDOMAIN", out.text   # RFC 5155 §7.2.8


@pytest.mark.parametrize("tool", TOOLS)
def test_nsec3_denial_read_by_each_tool(plait: PlaitServer, nsec3_zone: tuple[str, str],
                                        tool: str) -> None:
    signed = dns.zone.from_text(nsec3_zone[0], "nsec3.test.", relativize=False)
    known = {rd for _name, rds in signed.iterate_rdatasets("NSEC3") for rd in rds}
    out = ask(tool, "nope.nsec3.test.", "A", "+dnssec", server=plait.address)
    assert out.status == "NXDOMAIN" and "aa" in out.flags, out.text
    proofs = out.rdatas("authority", "NSEC3")
    assert proofs and proofs <= known, out.text
    covered = {r.parsed().type_covered for r in out.records("authority") if r.rtype == "RRSIG"}
    assert {dns.rdatatype.SOA, dns.rdatatype.NSEC3} <= covered, out.text


def delv(server: PlaitServer, dnskey: str, tmp_path: Path, *args: str) -> str:
    """BIND's delv with the zone's KSK as its only trust anchor: it checks every signature
    and every denial proof plait hands out."""
    fields = dnskey.split()   # "signed.test. IN DNSKEY 257 3 13 <base64>"
    owner = fields[0]
    flags, proto, alg, *key = fields[fields.index("DNSKEY") + 1:]
    anchors = tmp_path / "anchors.conf"
    anchors.write_text(f'trust-anchors {{ {owner} static-key {flags} {proto} {alg} '
                       f'"{"".join(key)}"; }};\n')
    p = subprocess.run([require("delv"), "@127.0.0.1", "-p", str(server.port), "-a",
                        str(anchors), f"+root={owner.rstrip('.')}", *args],
                       capture_output=True, text=True, timeout=60, check=False)
    return p.stdout + p.stderr


@pytest.mark.parametrize("zone", ["nsec", "nsec3"])
def test_denials_validate_with_delv(plait: PlaitServer, signed_zone: tuple[str, str],
                                    nsec3_zone: tuple[str, str], tmp_path: Path,
                                    zone: str) -> None:
    origin, (_text, dnskey) = (("signed.test", signed_zone) if zone == "nsec"
                               else ("nsec3.test", nsec3_zone))
    out = delv(plait, dnskey, tmp_path, f"nope.{origin}", "A")
    assert "NXDOMAIN" in out and "; negative response, fully validated" in out, out
    out = delv(plait, dnskey, tmp_path, f"www.{origin}", "MX")
    assert "NXRRSET" in out and "; negative response, fully validated" in out, out
    out = delv(plait, dnskey, tmp_path, f"www.{origin}", "A")
    assert "; fully validated" in out and "192.0.2.2" in out, out


def test_signed_answers_validate_with_delv(plait: PlaitServer, signed_zone: tuple[str, str],
                                           tmp_path: Path) -> None:
    """Including the TXT beside the A at www, and the wildcard-free apex NS."""
    for name, rtype, want in (("www.signed.test", "TXT", '"signed"'),
                              ("signed.test", "NS", "ns1.signed.test.")):
        out = delv(plait, signed_zone[1], tmp_path, name, rtype)
        assert "; fully validated" in out and want in out, out


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_truncation_then_tcp(plait: PlaitServer, tool: str) -> None:
    out = ask(tool, f"big.{ORIGIN}", "TXT", "+ignore", "+noedns", server=plait.address)
    assert "tc" in out.flags, out.text
    assert len(out.records("answer")) < BIG_TXT
    out = ask(tool, f"big.{ORIGIN}", "TXT", "+tcp", server=plait.address)
    assert "tc" not in out.flags, out.text
    assert out.rdatas("answer", "TXT") == expected("big", "TXT"), out.text
    # EDNS 1232 is still too small for ~1.9 kB: TC again
    out = ask(tool, f"big.{ORIGIN}", "TXT", "+ignore", "+bufsize=1232", server=plait.address)
    assert "tc" in out.flags, out.text


def test_dig_falls_back_to_tcp_by_itself(plait: PlaitServer) -> None:
    out = ask("dig", f"big.{ORIGIN}", "TXT", "+noedns", server=plait.address)
    assert "tc" not in out.flags and len(out.records("answer")) == BIG_TXT, out.text


def test_drill_tcp(plait: PlaitServer) -> None:
    out = ask("drill", f"big.{ORIGIN}", "TXT", "+tcp", server=plait.address)
    assert out.status == "NOERROR" and len(out.records("answer")) == BIG_TXT, out.text


# ---------------------------------------------------------------- a resolver in front


def test_unbound_resolves_through_plait(plait: PlaitServer) -> None:
    with Unbound({ORIGIN: [plait.address]}) as unbound:
        out = ask("dig", f"chain1.{ORIGIN}", "A", server=unbound.address)
        assert out.status == "NOERROR", out.text
        assert out.rdatas("answer", "A") == expected("www", "A"), out.text
        out = ask("dig", f"nope.{ORIGIN}", "A", server=unbound.address)
        assert out.status == "NXDOMAIN", out.text
        out = ask("dig", f"_sip._tcp.{ORIGIN}", "SRV", server=unbound.address)
        assert out.rdatas("answer", "SRV") == expected("_sip._tcp", "SRV"), out.text
        out = ask("dig", f"big.{ORIGIN}", "TXT", server=unbound.address)
        assert len(out.records("answer")) == BIG_TXT, out.text


def test_unbound_resolves_through_the_plait_command() -> None:
    """The same through ``python -m plait.names serve --zone FILE``, the way it is deployed."""
    plait = PlaitProcess([primary(ORIGIN, ZONE)])
    with plait, Unbound({ORIGIN: [plait.address]}) as unbound:
        out = ask("dig", f"www.dname.{ORIGIN}", "A", server=unbound.address)
        assert out.status == "NOERROR", out.text
        assert {r.rdata for r in out.records("answer") if r.rtype == "A"} == {"192.0.2.90"}
        out = ask("kdig", f"anything.wild.{ORIGIN}", "TXT", server=unbound.address)
        assert out.rdatas("answer", "TXT") == expected("*.wild", "TXT"), out.text


# ---------------------------------------------------------------- zone transfers out


def transfer_records(text: str) -> list[Record]:
    """The records dig/kdig print for AXFR (no sections: every non-comment line)."""
    out = []
    for line in text.splitlines():
        if line.strip() and not line.startswith(";"):
            name, ttl, _klass, rtype, *rest = line.split(None, 4)
            out.append(Record(name.lower(), int(ttl), rtype.upper(), rest[0] if rest else ""))
    return out


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_axfr_gives_the_whole_zone(plait: PlaitServer, tool: str) -> None:
    text = (dig if tool == "dig" else kdig)(ORIGIN, "AXFR", server=plait.address)
    records = transfer_records(text)
    assert records[0].rtype == "SOA" and records[-1].rtype == "SOA", text
    got = {(r.name, r.rtype, r.parsed()) for r in records[1:-1]} | {
        (records[0].name, "SOA", records[0].parsed())}
    want = {(name.to_text(), dns.rdatatype.to_text(rds.rdtype), rd)
            for name, node in EXPECTED.nodes.items() for rds in node.rdatasets for rd in rds}
    assert got == want
    assert len(records) == len(want) + 1   # no duplicates; SOA first and last


def test_axfr_over_udp_is_refused_and_ixfr_over_udp_gets_the_soa(plait: PlaitServer) -> None:
    # dig always uses TCP for transfers, so dnspython sends these over UDP
    q = dns.message.make_query(ORIGIN, "AXFR")
    r = dns.query.udp(q, "127.0.0.1", port=plait.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED and not r.answer
    q = dns.message.make_query(ORIGIN, "IXFR")
    q.authority = [dns.rrset.from_text(ORIGIN, 0, "IN", "SOA", f"ns1.{ORIGIN} host.{ORIGIN} "
                                       "2024010100 7200 900 1209600 300")]
    r = dns.query.udp(q, "127.0.0.1", port=plait.port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR
    (soa,) = r.answer   # RFC 1995 §2: the SOA alone means "try TCP"
    assert soa.rdtype == dns.rdatatype.SOA and soa[0].serial == 2024010101


def test_axfr_refused_outside_transfer_allow() -> None:
    with PlaitServer([(ORIGIN, ZONE)], transfer_allow=["192.0.2.0/24"]) as closed:
        text = dig(ORIGIN, "AXFR", server=closed.address, check=False)
        assert "Transfer failed" in text and "SOA" not in text.split("Transfer failed")[0], text
