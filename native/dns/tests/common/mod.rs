//! Helpers shared by the answer-engine tests: a tiny zone-file reader, the test zones, and
//! query/ask shortcuts.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use plait_dns::{rtype, Catalog, Config, Edns, Header, Message, Name, Outcome, Question, RData, Record, Zone};

pub const ANY: u16 = 255;

pub fn n(text: &str) -> Name {
    Name::from_text(text).expect("valid name")
}

pub fn type_code(t: &str) -> u16 {
    match t {
        "A" => rtype::A,
        "AAAA" => rtype::AAAA,
        "NS" => rtype::NS,
        "CNAME" => rtype::CNAME,
        "DNAME" => rtype::DNAME,
        "SOA" => rtype::SOA,
        "MX" => rtype::MX,
        "TXT" => rtype::TXT,
        "SRV" => rtype::SRV,
        "DS" => rtype::DS,
        "NSEC" => rtype::NSEC,
        "RRSIG" => rtype::RRSIG,
        "DNSKEY" => rtype::DNSKEY,
        "NSEC3" => rtype::NSEC3,
        other => panic!("type {other} not in the test table"),
    }
}

/// One record from `owner ttl TYPE data...` (a tiny zone-file subset for tests).
/// `RRSIG <covered> <labels>` makes a fake signature by the zone `signer`.
pub fn rec(line: &str, signer: &str) -> Record {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (owner, ttl, t) = (f[0], f[1].parse::<u32>().expect("ttl"), f[2]);
    let rt = type_code(t);
    let a = &f[3..];
    let rdata = match t {
        "A" => RData::A(a[0].parse::<Ipv4Addr>().expect("v4")),
        "AAAA" => RData::Aaaa(a[0].parse::<Ipv6Addr>().expect("v6")),
        "NS" | "CNAME" | "DNAME" => RData::Name(n(a[0])),
        "SOA" => RData::Soa {
            mname: n(a[0]),
            rname: n(a[1]),
            serial: a[2].parse().expect("serial"),
            refresh: 7200,
            retry: 900,
            expire: 1209600,
            minimum: a[3].parse().expect("minimum"),
        },
        "MX" => RData::Mx { preference: a[0].parse().expect("pref"), exchange: n(a[1]) },
        "TXT" => RData::Txt(a.iter().map(|s| s.as_bytes().to_vec()).collect()),
        "SRV" => RData::Srv {
            priority: a[0].parse().expect("prio"),
            weight: a[1].parse().expect("weight"),
            port: a[2].parse().expect("port"),
            target: n(a[3]),
        },
        "DS" => RData::Ds { key_tag: a[0].parse().expect("tag"), algorithm: 13, digest_type: 2, digest: vec![0xAB; 32] },
        "NSEC" => RData::Nsec { next: n(a[0]), types: a[1..].iter().map(|t| type_code(t)).collect() },
        "RRSIG" => RData::Rrsig {
            type_covered: type_code(a[0]),
            algorithm: 13,
            labels: a[1].parse().expect("labels"),
            original_ttl: ttl,
            expiration: 2_000_000_000,
            inception: 1_700_000_000,
            key_tag: 12345,
            signer: n(signer),
            signature: vec![0x5A; 64],
        },
        "DNSKEY" => RData::Dnskey { flags: 257, protocol: 3, algorithm: 13, key: vec![1; 64] },
        _ => unreachable!(),
    };
    Record { name: n(owner), rtype: rt, class: 1, ttl, rdata }
}

pub fn zone(origin: &str, text: &str) -> Zone {
    try_zone(origin, text).expect("valid zone")
}

pub fn try_zone(origin: &str, text: &str) -> Result<Zone, plait_dns::ZoneError> {
    let recs = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(';')).map(|l| rec(l, origin)).collect();
    Zone::new(n(origin), recs)
}

pub const EXAMPLE: &str = "
example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 1 300
example.com. 3600 NS ns1.example.com.
example.com. 3600 NS ns2.elsewhere.net.
example.com. 3600 MX 10 mail.example.com.
example.com. 3600 MX 20 mx.elsewhere.net.
example.com. 3600 TXT apex
ns1.example.com. 3600 A 192.0.2.1
mail.example.com. 3600 A 192.0.2.2
mail.example.com. 3600 AAAA 2001:db8::2
www.example.com. 600 CNAME web.example.com.
web.example.com. 300 A 192.0.2.3
web.example.com. 300 A 192.0.2.4
out.example.com. 300 CNAME www.example.org.
ext.example.com. 300 CNAME host.other.test.
loop1.example.com. 300 CNAME loop2.example.com.
loop2.example.com. 300 CNAME loop1.example.com.
a.b.c.example.com. 300 A 192.0.2.5
*.wild.example.com. 120 TXT wild
*.wild.example.com. 120 A 192.0.2.9
x.wild.example.com. 120 AAAA 2001:db8::9
*.cn.example.com. 120 CNAME web.example.com.
*.example.com. 60 MX 5 mail.example.com.
_sip._tcp.example.com. 300 SRV 1 2 5060 mail.example.com.
sub.example.com. 3600 NS ns.sub.example.com.
sub.example.com. 3600 NS ns.outside.net.
sub.example.com. 3600 DS 111
ns.sub.example.com. 3600 A 192.0.2.53
ns.sub.example.com. 3600 AAAA 2001:db8::53
deep.ns.sub.example.com. 3600 A 192.0.2.54
*.sub.example.com. 3600 A 192.0.2.55
dn.example.com. 900 DNAME example.org.
long.example.com. 900 DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.
";

pub const ORG: &str = "
example.org. 3600 SOA ns1.example.org. hostmaster.example.org. 7 600
example.org. 3600 NS ns1.example.org.
ns1.example.org. 3600 A 198.51.100.1
www.example.org. 3600 A 198.51.100.80
";

pub fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("example.com.", EXAMPLE)));
    c.insert(Arc::new(zone("example.org.", ORG)));
    c
}

pub fn query_msg(name: &str, qt: u16) -> Message {
    let mut header = Header { id: 0x1234, ..Header::default() };
    header.set_rd(true);
    Message { header, questions: vec![Question { name: n(name), qtype: qt, qclass: 1 }], ..Message::default() }
}

pub fn wire(m: &Message) -> Vec<u8> {
    m.render(None).expect("render")
}

pub fn ask_with(cat: &Catalog, q: &Message, tcp: bool, cfg: &Config) -> Message {
    match cat.answer(&wire(q), tcp, cfg) {
        Outcome::Response(w) => Message::parse(&w).expect("response parses"),
        other => panic!("expected a response, got {other:?}"),
    }
}

pub fn ask(cat: &Catalog, name: &str, qt: u16) -> Message {
    ask_with(cat, &query_msg(name, qt), false, &Config::default())
}

pub fn ask_do(cat: &Catalog, name: &str, qt: u16) -> Message {
    let mut q = query_msg(name, qt);
    let mut e = Edns { udp_size: 4096, ..Edns::default() };
    e.set_dnssec_ok(true);
    q.edns = Some(e);
    ask_with(cat, &q, false, &Config::default())
}

pub fn types(recs: &[Record]) -> Vec<u16> {
    recs.iter().map(|r| r.rtype).collect()
}

pub fn names(recs: &[Record]) -> Vec<String> {
    recs.iter().map(|r| r.name.to_text()).collect()
}

/// A signed copy of a small zone (fake signatures; the engine only selects records).
pub const SIGNED: &str = "
s.test. 3600 SOA ns.s.test. h.s.test. 1 300
s.test. 3600 RRSIG SOA 2
s.test. 3600 NS ns.s.test.
s.test. 3600 RRSIG NS 2
s.test. 3600 DNSKEY
s.test. 3600 RRSIG DNSKEY 2
s.test. 300 NSEC a.b.s.test. SOA NS DNSKEY RRSIG NSEC
s.test. 300 RRSIG NSEC 2
a.b.s.test. 300 A 192.0.2.1
a.b.s.test. 300 RRSIG A 4
a.b.s.test. 300 NSEC child.s.test. A RRSIG NSEC
a.b.s.test. 300 RRSIG NSEC 4
child.s.test. 300 NS ns.child.s.test.
child.s.test. 300 DS 4242
child.s.test. 300 RRSIG DS 3
child.s.test. 300 NSEC insecure.s.test. NS DS RRSIG NSEC
child.s.test. 300 RRSIG NSEC 3
ns.child.s.test. 300 A 192.0.2.53
insecure.s.test. 300 NS ns.insecure.s.test.
insecure.s.test. 300 NSEC ns.s.test. NS RRSIG NSEC
insecure.s.test. 300 RRSIG NSEC 3
ns.s.test. 300 A 192.0.2.2
ns.s.test. 300 RRSIG A 3
ns.s.test. 300 NSEC *.w.s.test. A RRSIG NSEC
ns.s.test. 300 RRSIG NSEC 3
*.w.s.test. 300 TXT hello
*.w.s.test. 300 RRSIG TXT 3
*.w.s.test. 300 NSEC s.test. TXT RRSIG NSEC
*.w.s.test. 300 RRSIG NSEC 4
";

pub fn signed() -> Catalog {
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("s.test.", SIGNED)));
    c
}

pub fn rrsig_covers(r: &Record) -> u16 {
    match &r.rdata {
        RData::Rrsig { type_covered, .. } => *type_covered,
        _ => 0,
    }
}

pub fn raw(c: &Catalog, bytes: &[u8]) -> Outcome {
    c.answer(bytes, false, &Config::default())
}

pub fn raw_msg(c: &Catalog, bytes: &[u8]) -> Message {
    match raw(c, bytes) {
        Outcome::Response(w) => Message::parse(&w).expect("parses"),
        other => panic!("expected a response, got {other:?}"),
    }
}
