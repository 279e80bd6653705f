//! NSEC3 denial of existence (RFC 5155 §7.2) from a zone whose NSEC3 chain is built here,
//! hash by hash: every proof is checked by hashing the names it must match or cover.

mod common;

use std::sync::Arc;

use common::*;
use plait_dns::{base32hex_decode, hash_name, rcode, rtype, Catalog, Message, RData, Record, Zone};

const SALT: [u8; 4] = [0xAA, 0xBB, 0xCC, 0xDD];
const ITERATIONS: u16 = 3;

const BASE: &str = "
n3.test. 300 SOA ns.n3.test. h.n3.test. 1 300
n3.test. 300 NS ns.n3.test.
ns.n3.test. 300 A 192.0.2.1
a.b.n3.test. 300 A 192.0.2.2
*.w.n3.test. 300 TXT wild
child.n3.test. 300 NS ns.child.n3.test.
ns.child.n3.test. 300 A 192.0.2.53
out.n3.test. 300 NS ns.out.n3.test.
ns.out.n3.test. 300 A 192.0.2.54
";

fn b32hex(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let (mut acc, mut bits, mut out) = (0u32, 0u32, String::new());
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn lower(name: &str) -> Vec<u8> {
    n(name).as_wire().to_ascii_lowercase()
}

fn hash(name: &str) -> Vec<u8> {
    hash_name(&lower(name), &SALT, ITERATIONS).to_vec()
}

/// The zone with an NSEC3 chain over every authoritative name (empty non-terminals
/// included, glue below cuts not), skipping `opt_out` cuts; fake signatures on each NSEC3.
fn nsec3_zone(opt_out: &[&str]) -> Zone {
    let mut recs: Vec<Record> = BASE.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| rec(l, "n3.test.")).collect();
    let names = ["n3.test.", "ns.n3.test.", "b.n3.test.", "a.b.n3.test.", "w.n3.test.", "*.w.n3.test.", "child.n3.test.", "out.n3.test."];
    let mut owners: Vec<(Vec<u8>, &str)> = names.iter().filter(|x| !opt_out.contains(x)).map(|x| (hash(x), *x)).collect();
    owners.sort();
    for (i, (h, name)) in owners.iter().enumerate() {
        let next = owners[(i + 1) % owners.len()].0.clone();
        let mut types: Vec<u16> = recs.iter().filter(|r| r.name == n(name) && r.rtype != rtype::RRSIG).map(|r| r.rtype).collect();
        if !types.is_empty() && !types.contains(&rtype::NS) || *name == "n3.test." {
            types.push(rtype::RRSIG);
        }
        let owner = format!("{}.n3.test.", b32hex(h));
        let flags = u8::from(!opt_out.is_empty());
        recs.push(Record {
            name: n(&owner),
            rtype: rtype::NSEC3,
            class: 1,
            ttl: 300,
            rdata: RData::Nsec3 { algorithm: 1, flags, iterations: ITERATIONS, salt: SALT.to_vec(), next, types },
        });
        recs.push(rec(&format!("{owner} 300 RRSIG NSEC3 3"), "n3.test."));
    }
    recs.push(Record {
        name: n("n3.test."),
        rtype: rtype::NSEC3PARAM,
        class: 1,
        ttl: 0,
        rdata: RData::Nsec3param { algorithm: 1, flags: 0, iterations: ITERATIONS, salt: SALT.to_vec() },
    });
    Zone::new(n("n3.test."), recs).expect("valid zone")
}

fn cat(opt_out: &[&str]) -> Catalog {
    let mut c = Catalog::new();
    c.insert(Arc::new(nsec3_zone(opt_out)));
    c
}

/// The owner hash and next hash of an NSEC3 record.
fn span(r: &Record) -> (Vec<u8>, Vec<u8>) {
    let label = r.name.labels().next().expect("owner label");
    let owner = base32hex_decode(label).expect("base32hex owner");
    let RData::Nsec3 { next, .. } = &r.rdata else { panic!("not NSEC3") };
    (owner, next.clone())
}

fn matches(r: &Record, name: &str) -> bool {
    span(r).0 == hash(name)
}

fn covers(r: &Record, name: &str) -> bool {
    let (owner, next) = span(r);
    let h = hash(name);
    if owner < next {
        owner < h && h < next
    } else {
        h > owner || h < next
    }
}

fn nsec3s(m: &Message) -> Vec<&Record> {
    m.authority.iter().filter(|r| r.rtype == rtype::NSEC3).collect()
}

fn signed_each(m: &Message) {
    for r in nsec3s(m) {
        let signed = m.authority.iter().any(|s| s.rtype == rtype::RRSIG && s.name == r.name);
        assert!(signed, "no RRSIG for {}", r.name);
    }
}

#[test]
fn nxdomain_gets_the_closest_encloser_proof_and_the_wildcard_cover() {
    let c = cat(&[]);
    let r = ask_do(&c, "x.y.b.n3.test.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    // (One NSEC3 may do two jobs, so it appears once.)
    let p = nsec3s(&r);
    assert!(p.iter().any(|x| matches(x, "b.n3.test.")));
    assert!(p.iter().any(|x| covers(x, "y.b.n3.test.")));
    assert!(p.iter().any(|x| covers(x, "*.b.n3.test.")));
    assert!(p.iter().all(|x| matches(x, "b.n3.test.") || covers(x, "y.b.n3.test.") || covers(x, "*.b.n3.test.")));
    signed_each(&r);
    // Without DO: only the SOA.
    assert_eq!(types(&ask(&c, "x.y.b.n3.test.", rtype::A).authority), vec![rtype::SOA]);
    // Over many names every job is done each time, by three distinct NSEC3s at least once.
    let mut three = 0;
    for i in 0..64 {
        let q = format!("q{i}.n3.test.");
        let r = ask_do(&c, &q, rtype::A);
        let p = nsec3s(&r);
        assert!(p.iter().any(|x| matches(x, "n3.test.")), "{q}");
        assert!(p.iter().any(|x| covers(x, &q)), "{q}");
        assert!(p.iter().any(|x| covers(x, "*.n3.test.")), "{q}");
        three += usize::from(p.len() == 3);
    }
    assert!(three > 0);
}

#[test]
fn nodata_gets_the_matching_nsec3() {
    let c = cat(&[]);
    for name in ["a.b.n3.test.", "b.n3.test.", "n3.test."] {
        let r = ask_do(&c, name, rtype::AAAA);
        assert_eq!(r.header.rcode, rcode::NOERROR);
        let p = nsec3s(&r);
        assert_eq!(p.len(), 1, "{name}");
        assert!(matches(p[0], name), "{name}");
        signed_each(&r);
    }
}

#[test]
fn wildcard_answers_prove_the_next_closer_name_absent() {
    let c = cat(&[]);
    let r = ask_do(&c, "x.y.w.n3.test.", rtype::TXT);
    assert_eq!(types(&r.answers), vec![rtype::TXT]); // (the test zone signs only NSEC3)
    let p = nsec3s(&r);
    assert_eq!(p.len(), 1);
    assert!(covers(p[0], "y.w.n3.test."));
    // Wildcard NODATA: closest encloser, next closer, and the wildcard's own NSEC3.
    let r = ask_do(&c, "x.w.n3.test.", rtype::A);
    let p = nsec3s(&r);
    assert!(p.len() >= 2 && p.len() <= 3, "{p:?}");
    assert!(p.iter().any(|x| matches(x, "w.n3.test.")));
    assert!(p.iter().any(|x| covers(x, "x.w.n3.test.")));
    assert!(p.iter().any(|x| matches(x, "*.w.n3.test.")));
    signed_each(&r);
}

#[test]
fn unsigned_delegations_are_proven_by_their_nsec3_or_by_opt_out() {
    let c = cat(&[]);
    let r = ask_do(&c, "www.child.n3.test.", rtype::A);
    assert!(!r.header.aa());
    assert_eq!(types(&r.authority)[0], rtype::NS);
    let p = nsec3s(&r);
    assert_eq!(p.len(), 1);
    assert!(matches(p[0], "child.n3.test."));
    let r = ask_do(&c, "child.n3.test.", rtype::DS);
    assert!(r.header.aa());
    assert!(matches(nsec3s(&r)[0], "child.n3.test."));
    // Opt-out: out.n3.test. has no NSEC3; the closest provable encloser (the apex) and the
    // NSEC3 covering out.n3.test. stand in.
    let c = cat(&["out.n3.test."]);
    for r in [ask_do(&c, "www.out.n3.test.", rtype::A), ask_do(&c, "out.n3.test.", rtype::DS)] {
        let p = nsec3s(&r);
        assert!(p.iter().any(|x| matches(x, "n3.test.")), "{p:?}");
        assert!(p.iter().any(|x| covers(x, "out.n3.test.")), "{p:?}");
        assert!(p.len() <= 2);
        signed_each(&r);
    }
}

#[test]
fn nsec3_zone_errors() {
    let mut recs: Vec<Record> = BASE.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| rec(l, "n3.test.")).collect();
    let param = |iterations| Record {
        name: n("n3.test."),
        rtype: rtype::NSEC3PARAM,
        class: 1,
        ttl: 0,
        rdata: RData::Nsec3param { algorithm: 1, flags: 0, iterations, salt: vec![] },
    };
    let mut too_many = recs.clone();
    too_many.push(param(2501));
    let e = Zone::new(n("n3.test."), too_many).expect_err("iterations");
    assert!(e.to_string().contains("iterations 2501"), "{e}");
    recs.push(param(0));
    recs.push(Record {
        name: n("not-a-hash.n3.test."),
        rtype: rtype::NSEC3,
        class: 1,
        ttl: 300,
        rdata: RData::Nsec3 { algorithm: 1, flags: 0, iterations: 0, salt: vec![], next: vec![0; 20], types: vec![] },
    });
    let e = Zone::new(n("n3.test."), recs).expect_err("owner");
    assert!(e.to_string().contains("not a base32hex SHA-1 hash"), "{e}");
}

#[test]
fn nsec3_owner_names_are_not_in_the_namespace() {
    let c = cat(&[]);
    let owner = format!("{}.n3.test.", b32hex(&hash("a.b.n3.test.")));
    for qt in [rtype::A, rtype::NSEC3] {
        let r = ask_do(&c, &owner, qt);
        assert_eq!(r.header.rcode, rcode::NXDOMAIN, "{owner} {qt}");
        assert!(r.answers.is_empty());
        let p = nsec3s(&r);
        assert!(p.iter().any(|x| matches(x, "n3.test.")));
        assert!(p.iter().any(|x| covers(x, &owner)));
    }
    let r = ask(&c, &format!("x.{owner}"), rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
}
