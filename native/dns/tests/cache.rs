//! The answer cache (cached bytes equal fresh ones, flawed queries bypass it, bounds) and a
//! seeded mutation fuzz of the whole engine.

mod common;

use std::sync::Arc;

use common::*;
use plait_dns::{rcode, rtype, Catalog, Config, Edns, Message, Outcome};

/// Query variants that must share a cached answer, or not: the bytes must always be what a
/// cold catalog renders.
#[test]
fn cached_answers_equal_fresh_ones() {
    let warm = catalog();
    let names = ["web.example.com.", "WWW.example.COM.", "nothing.c.example.com.", "x.wild.example.com.", "foo.wild.example.com.",
        "www.sub.example.com.", "example.com.", "www.dn.example.com.", "out.example.com.", "www.example.net."];
    let mut checked = 0;
    for name in names {
        for qt in [rtype::A, rtype::AAAA, rtype::MX, rtype::TXT, rtype::NS, ANY] {
            for variant in 0..8u16 {
                let mut q = query_msg(name, qt);
                q.header.id = variant.wrapping_mul(7919);
                q.header.set_rd(variant & 1 != 0);
                q.header.set_cd(variant & 2 != 0);
                if variant & 4 != 0 {
                    let mut e = Edns { udp_size: 1400, ..Edns::default() };
                    e.set_dnssec_ok(variant & 1 != 0);
                    q.edns = Some(e);
                }
                for tcp in [false, true] {
                    let w = wire(&q);
                    let cold = catalog(); // an empty cache
                    let want = cold.answer(&w, tcp, &Config::default());
                    for _ in 0..2 {
                        assert_eq!(warm.answer(&w, tcp, &Config::default()), want, "{name} {qt} {variant} {tcp}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 10 * 6 * 8 * 2);
    assert!(warm.cached() > 0);
    // A different payload size of ours is a different answer.
    let small = Config { max_udp_payload: 600, ..Config::default() };
    let mut q = query_msg("web.example.com.", rtype::A);
    q.edns = Some(Edns { udp_size: 4096, ..Edns::default() });
    let r = ask_with(&warm, &q, false, &small);
    assert_eq!(r.edns.expect("OPT").udp_size, 600);
}

#[test]
fn cached_queries_with_a_flaw_are_not_served_from_the_cache() {
    let c = catalog();
    let mut q = query_msg("web.example.com.", rtype::A);
    q.edns = Some(Edns { udp_size: 1232, ..Edns::default() });
    let w = wire(&q);
    assert!(matches!(c.answer(&w, false, &Config::default()), Outcome::Response(_)));
    assert!(c.cached() > 0);
    // Trailing byte.
    let mut bad = w.clone();
    bad.push(0);
    assert_eq!(raw_msg(&c, &bad).header.rcode, rcode::FORMERR);
    // EDNS version 1.
    let mut v1 = w.clone();
    let at = v1.len() - 11 + 6; // the OPT TTL's version byte
    v1[at] = 1;
    assert_eq!(raw_msg(&c, &v1).header.rcode, rcode::BADVERS);
    // A truncated option inside OPT.
    let mut opt = w.clone();
    let len_at = opt.len() - 2;
    opt[len_at + 1] = 2;
    opt.extend_from_slice(&[0, 10]);
    assert_eq!(raw_msg(&c, &opt).header.rcode, rcode::FORMERR);
    // A response with the same question is dropped, a NOTIFY passed.
    let mut resp = w.clone();
    resp[2] |= 0x80;
    assert_eq!(raw(&c, &resp), Outcome::Drop);
    let mut notify = w.clone();
    notify[2] |= 4 << 3;
    assert_eq!(raw(&c, &notify), Outcome::Pass);
}

#[test]
fn replacing_a_zone_empties_the_cache() {
    let mut c = catalog();
    let r = ask(&c, "www.example.org.", rtype::A);
    assert_eq!(r.answers.len(), 1);
    c.insert(Arc::new(zone("example.org.", "example.org. 60 SOA ns.example.org. h.example.org. 9 60\nexample.org. 60 NS ns.example.org.")));
    assert_eq!(c.cached(), 0);
    assert_eq!(ask(&c, "www.example.org.", rtype::A).header.rcode, rcode::NXDOMAIN);
    assert!(c.remove(&n("example.org.")));
    assert_eq!(ask(&c, "www.example.org.", rtype::A).header.rcode, rcode::REFUSED);
    // Clones start cold.
    ask(&c, "web.example.com.", rtype::A);
    assert!(c.cached() > 0);
    assert_eq!(c.clone().cached(), 0);
}

#[test]
fn the_cache_is_bounded() {
    let c = catalog();
    for i in 0..20_000 {
        let q = query_msg(&format!("h{i}.c.example.com."), rtype::A);
        let _ = c.answer(&wire(&q), false, &Config::default());
        assert!(c.cached() <= 16_384);
    }
    assert!(c.cached() > 0);
}

#[test]
fn the_cache_is_bounded_in_bytes() {
    let mut text = String::from("t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\nns.t. 30 A 192.0.2.1\n");
    for i in 0..15 {
        text.push_str(&format!("*.big.t. 30 TXT {}\n", format!("{i:02}").repeat(120)));
    }
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("t.", &text)));
    let mut sizes = 0;
    for i in 0..3000 {
        let q = query_msg(&format!("h{i}.big.t."), rtype::TXT);
        let Outcome::Response(w) = c.answer(&wire(&q), true, &Config::default()) else { panic!() };
        assert!(w.len() > 3000 && w.len() <= 4096, "{}", w.len());
        sizes += w.len();
    }
    assert!(sizes > 8 << 20);
    // 8 MiB hold about 2100 of these; the cache was emptied once on the way.
    assert!(c.cached() > 0 && c.cached() < 3000 - 2000, "{}", c.cached());
}

/// Seeded mutations of valid queries: every outcome is a response that parses (and echoes
/// the id), a drop, or a pass; nothing panics.
#[test]
fn mutated_queries_never_break_the_engine() {
    let cats = [catalog(), signed()];
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for (name, qt) in [("web.example.com.", rtype::A), ("x.w.s.test.", rtype::TXT), ("m.s.test.", rtype::A), ("www.sub.example.com.", rtype::A), ("www.dn.example.com.", ANY)] {
        let mut q = query_msg(name, qt);
        seeds.push(wire(&q));
        let mut e = Edns { udp_size: 4096, options: vec![(10, vec![1, 2, 3, 4, 5, 6, 7, 8])], ..Edns::default() };
        e.set_dnssec_ok(true);
        q.edns = Some(e);
        seeds.push(wire(&q));
    }
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut responses, mut others) = (0, 0);
    for round in 0..20_000 {
        let mut q = seeds[round % seeds.len()].clone();
        let edits = 1 + next() % 4;
        for _ in 0..edits {
            let r = next();
            match r % 4 {
                0 if !q.is_empty() => {
                    let i = (r >> 8) as usize % q.len();
                    q[i] = (r >> 32) as u8;
                }
                1 if !q.is_empty() => {
                    let at = (r >> 8) as usize % q.len();
                    q.truncate(at.max(2));
                }
                2 => q.push((r >> 16) as u8),
                _ if q.len() > 12 => {
                    let i = 12 + (r >> 8) as usize % (q.len() - 12);
                    q[i] = 0xC0;
                }
                _ => {}
            }
        }
        for (i, c) in cats.iter().enumerate() {
            for tcp in [false, true] {
                match c.answer(&q, tcp, &Config::default()) {
                    Outcome::Response(w) => {
                        let m = Message::parse(&w).unwrap_or_else(|e| panic!("round {round}: response does not parse: {e}"));
                        assert_eq!(&w[..2], &q[..2]);
                        assert!(m.header.qr());
                        assert!(tcp || w.len() <= 1232, "round {round} catalog {i}");
                        responses += 1;
                    }
                    Outcome::Drop | Outcome::Pass => others += 1,
                }
            }
        }
    }
    assert!(responses > 10_000 && others > 100, "{responses} {others}");
}
