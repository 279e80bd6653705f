//! Round trips, malformed input, truncation and a seeded mutation fuzz of the DNS codec.

use std::net::{Ipv4Addr, Ipv6Addr};

use plait_dns::{rtype, Edns, FormatError, Header, Message, Name, Question, RData, Record};

fn n(text: &str) -> Name {
    Name::from_text(text).expect("valid name")
}

fn rr(name: &str, rt: u16, rdata: RData) -> Record {
    Record { name: n(name), rtype: rt, class: 1, ttl: 3600, rdata }
}

fn sample() -> Message {
    let mut header = Header { id: 0xBEEF, ..Header::default() };
    header.set_qr(true);
    header.set_aa(true);
    header.set_rd(true);
    header.set_ad(true);
    let answers = vec![
        rr("example.com", rtype::A, RData::A(Ipv4Addr::new(192, 0, 2, 1))),
        rr("example.com", rtype::A, RData::A(Ipv4Addr::new(192, 0, 2, 2))),
        rr("example.com", rtype::AAAA, RData::Aaaa(Ipv6Addr::LOCALHOST)),
        rr("example.com", rtype::NS, RData::Name(n("ns1.example.com"))),
        rr("www.example.com", rtype::CNAME, RData::Name(n("example.com"))),
        rr("d.example.com", rtype::DNAME, RData::Name(n("example.net"))),
        rr("1.2.0.192.in-addr.arpa", rtype::PTR, RData::Name(n("example.com"))),
        rr("example.com", rtype::SOA, RData::Soa {
            mname: n("ns1.example.com"), rname: n("hostmaster.example.com"),
            serial: 2024010101, refresh: 7200, retry: 900, expire: 1209600, minimum: 300,
        }),
        rr("example.com", rtype::MX, RData::Mx { preference: 10, exchange: n("mail.example.com") }),
        rr("example.com", rtype::TXT, RData::Txt(vec![b"v=spf1 -all".to_vec(), b"".to_vec()])),
        rr("example.com", rtype::SPF, RData::Txt(vec![b"v=spf1 -all".to_vec()])),
        rr("_sip._tcp.example.com", rtype::SRV, RData::Srv { priority: 1, weight: 2, port: 5060, target: n("sip.example.com") }),
        rr("example.com", rtype::NAPTR, RData::Naptr {
            order: 100, preference: 10, flags: b"S".to_vec(), services: b"SIP+D2U".to_vec(),
            regexp: b"".to_vec(), replacement: n("_sip._udp.example.com"),
        }),
        rr("example.com", rtype::HINFO, RData::Hinfo { cpu: b"x86".to_vec(), os: b"Linux".to_vec() }),
        rr("example.com", rtype::RP, RData::Rp { mbox: n("admin.example.com"), txt: n("txt.example.com") }),
        rr("example.com", rtype::AFSDB, RData::Afsdb { subtype: 1, hostname: n("afs.example.com") }),
        rr("example.com", rtype::SSHFP, RData::Sshfp { algorithm: 4, fp_type: 2, fingerprint: vec![0xAB; 32] }),
        rr("_443._tcp.example.com", rtype::TLSA, RData::Tlsa { usage: 3, selector: 1, mtype: 1, data: vec![1; 32] }),
        rr("example.com", rtype::CAA, RData::Caa { flags: 0, tag: b"issue".to_vec(), value: b"letsencrypt.org".to_vec() }),
        rr("example.com", rtype::DS, RData::Ds { key_tag: 12345, algorithm: 13, digest_type: 2, digest: vec![7; 32] }),
        rr("example.com", rtype::DNSKEY, RData::Dnskey { flags: 257, protocol: 3, algorithm: 13, key: vec![9; 64] }),
        rr("example.com", rtype::RRSIG, RData::Rrsig {
            type_covered: rtype::A, algorithm: 13, labels: 2, original_ttl: 3600, expiration: 1_700_000_000,
            inception: 1_690_000_000, key_tag: 12345, signer: n("example.com"), signature: vec![5; 64],
        }),
        rr("example.com", rtype::NSEC, RData::Nsec { next: n("a.example.com"), types: vec![1, 2, 6, 46, 47, 257] }),
        rr("example.com", rtype::NSEC3, RData::Nsec3 {
            algorithm: 1, flags: 0, iterations: 0, salt: vec![0xAA, 0xBB], next: vec![3; 20], types: vec![1, 28],
        }),
        rr("example.com", rtype::NSEC3PARAM, RData::Nsec3param { algorithm: 1, flags: 0, iterations: 0, salt: vec![] }),
        rr("example.com", 65280, RData::Opaque(vec![0xC0, 0x0C, 1, 2, 3])),
    ];
    Message {
        header,
        questions: vec![Question { name: n("example.com"), qtype: 255, qclass: 1 }],
        answers,
        authority: vec![rr("example.com", rtype::NS, RData::Name(n("ns2.example.com")))],
        additional: vec![rr("ns1.example.com", rtype::A, RData::A(Ipv4Addr::new(192, 0, 2, 53)))],
        edns: Some(Edns { udp_size: 1232, version: 0, flags: 0x8000, options: vec![(10, vec![1; 8]), (12, vec![0; 4])] }),
    }
}

fn err(data: &[u8]) -> FormatError {
    Message::parse(data).expect_err("must be rejected")
}

#[test]
fn round_trip_every_type() {
    let msg = sample();
    let wire = msg.render(None).expect("render");
    let back = Message::parse(&wire).expect("parse");
    assert_eq!(back, msg);
    assert_eq!(back.render(None).expect("render again"), wire);
    assert!(back.edns.as_ref().is_some_and(Edns::dnssec_ok));
}

#[test]
fn compression_shrinks_and_is_used() {
    let mut msg = sample();
    let compressible = [rtype::NS, rtype::CNAME, rtype::PTR, rtype::SOA, rtype::MX, rtype::A];
    msg.answers.retain(|r| compressible.contains(&r.rtype));
    let wire = msg.render(None).expect("render");
    // "example.com" appears in full exactly once.
    let needle = b"\x07example\x03com\x00";
    assert_eq!(wire.windows(needle.len()).filter(|w| w == needle).count(), 1);
}

#[test]
fn opaque_kept_byte_identical() {
    let msg = sample();
    let wire = msg.render(None).expect("render");
    let back = Message::parse(&wire).expect("parse");
    assert!(back.answers.iter().any(|r| r.rdata == RData::Opaque(vec![0xC0, 0x0C, 1, 2, 3])));
}

#[test]
fn extended_rcode() {
    let mut msg = sample();
    msg.header.rcode = 16; // BADVERS
    let back = Message::parse(&msg.render(None).expect("render")).expect("parse");
    assert_eq!(back.header.rcode, 16);
    msg.edns = None;
    assert!(msg.render(None).is_err());
}

#[test]
fn header_flags_and_opcode() {
    let mut h = Header::default();
    h.set_opcode(5);
    h.set_cd(true);
    h.set_ra(true);
    h.set_tc(true);
    let msg = Message { header: h, ..Message::default() };
    let back = Message::parse(&msg.render(None).expect("render")).expect("parse");
    assert_eq!(back.header.opcode(), 5);
    assert!(back.header.cd() && back.header.ra() && back.header.tc() && !back.header.qr());
}

#[test]
fn names_compare_case_insensitively_and_order_canonically() {
    assert_eq!(n("WWW.Example.COM."), n("www.example.com"));
    assert!(n("a.b.example.com").is_subdomain(&n("Example.com")));
    assert!(!n("xexample.com").is_subdomain(&n("example.com")));
    let mut names = [n("z.example"), n("example"), n("a.example"), n("yljkjljk.a.example"), n("Z.a.example")];
    names.sort();
    let text: Vec<String> = names.iter().map(Name::to_text).collect();
    assert_eq!(text, ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "z.example."]);
    assert_eq!(n("a\\.b.c").label_count(), 2);
    assert_eq!(n("a\\.b.c").to_text(), "a\\.b.c.");
}

#[test]
fn truncation_drops_whole_rrsets_and_sets_tc() {
    let msg = sample();
    let full = msg.render(None).expect("render");
    for max in [100, 200, 300, 400, full.len() - 60] {
        let wire = msg.render(Some(max)).expect("render truncated");
        assert!(wire.len() <= max);
        let back = Message::parse(&wire).expect("parse truncated");
        assert!(back.header.tc(), "TC at {max}");
        assert!(back.edns.is_some());
        // What is left is a prefix of whole RRsets.
        assert_eq!(back.answers[..], msg.answers[..back.answers.len()]);
        let a = back.answers.len();
        if a > 0 && a < msg.answers.len() {
            let last = &msg.answers[a - 1];
            let next = &msg.answers[a];
            assert!(last.name != next.name || last.rtype != next.rtype);
        }
    }
    // Only the additional section dropped: no TC.
    let wire = msg.render(Some(full.len() - 5)).expect("render");
    let back = Message::parse(&wire).expect("parse");
    assert!(back.additional.is_empty() && !back.header.tc() && back.authority.len() == 1);
    assert!(msg.render(Some(20)).is_err());
}

fn query(name_wire: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(name_wire);
    v.extend_from_slice(&[0, 1, 0, 1]);
    v
}

#[test]
fn malformed_inputs() {
    assert_eq!(err(&[0, 1, 2]).what, "truncated header");
    // Pointer to itself, and a two-pointer loop.
    let e = err(&query(&[0xC0, 12]));
    assert_eq!((e.offset, e.what), (12, "compression pointer does not point backwards"));
    let e = err(&query(&[1, b'a', 0xC0, 12]));
    assert_eq!(e.offset, 14);
    // Forward pointer.
    let e = err(&query(&[0xC0, 20, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(e.what, "compression pointer does not point backwards");
    // 64-byte label.
    let mut label = vec![64];
    label.extend_from_slice(&[b'a'; 64]);
    label.push(0);
    let e = err(&query(&label));
    assert_eq!(e.offset, 12);
    // 256-byte name: 4 labels of 63 + 1 of 3 = 4*64+4+1 = 261 bytes.
    let mut long = Vec::new();
    for _ in 0..4 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.extend_from_slice(&[3, b'a', b'b', b'c', 0]);
    assert_eq!(err(&query(&long)).what, "name longer than 255 bytes");
    // Counts larger than the data.
    let mut q = query(b"\0");
    q[7] = 50;
    assert_eq!(err(&q), FormatError { offset: 4, what: "section counts larger than the message" });
    // Trailing junk, bad RDLENGTH, two OPTs.
    let mut q = query(b"\0");
    q.push(0);
    assert_eq!(err(&q).what, "trailing bytes after the last record");
    let mut a = query(b"\0");
    a[7] = 1;
    a.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    assert_eq!(err(&a).what, "A RDATA is not 4 bytes");
    let mut o = query(b"\0");
    o[11] = 2;
    for _ in 0..2 {
        o.extend_from_slice(&[0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
    }
    assert_eq!(err(&o).what, "more than one OPT record");
}

#[test]
fn every_prefix_is_a_format_error() {
    let wire = sample().render(None).expect("render");
    for cut in 0..wire.len() {
        let e = Message::parse(&wire[..cut]).expect_err("prefix must fail");
        assert!(e.offset <= cut, "offset {} past the data ({cut})", e.offset);
    }
}

/// xorshift64*: a tiny deterministic generator (no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn seeded_mutation_fuzz() {
    let mut seeds = vec![sample().render(None).expect("render")];
    let mut small = sample();
    small.answers.truncate(3);
    seeds.push(small.render(None).expect("render"));
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut parsed = 0;
    for i in 0..60_000 {
        let mut data = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 => {
                    let at = rng.below(data.len());
                    data[at] = rng.next() as u8;
                }
                1 => {
                    let at = rng.below(data.len());
                    data[at] ^= 1 << rng.below(8);
                }
                2 => {
                    let at = rng.below(data.len());
                    data.truncate(at);
                }
                3 => {
                    let at = rng.below(data.len() + 1);
                    data.insert(at, 0xC0 | (rng.next() as u8 & 0x3F));
                }
                _ => {
                    let at = rng.below(data.len());
                    data.remove(at);
                }
            }
            if data.is_empty() {
                break;
            }
        }
        if let Ok(msg) = Message::parse(&data) {
            parsed += 1;
            // Whatever parses renders, and the rendering parses to the same message.
            if let Ok(wire) = msg.render(None) {
                assert_eq!(Message::parse(&wire).expect("re-parse"), msg);
            }
        }
    }
    assert!(parsed > 100, "mutations too destructive: {parsed}");
}
