//! The authoritative answer engine: zones built in Rust, queries rendered with the codec,
//! responses parsed back and checked section by section.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use plait_dns::{rcode, rtype, Catalog, Config, Edns, Header, Message, Name, Outcome, Question, RData, Record, Zone};

const ANY: u16 = 255;

fn n(text: &str) -> Name {
    Name::from_text(text).expect("valid name")
}

fn type_code(t: &str) -> u16 {
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
        other => panic!("type {other} not in the test table"),
    }
}

/// One record from `owner ttl TYPE data...` (a tiny zone-file subset for tests).
/// `RRSIG <covered> <labels>` makes a fake signature by the zone `signer`.
fn rec(line: &str, signer: &str) -> Record {
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

fn zone(origin: &str, text: &str) -> Zone {
    try_zone(origin, text).expect("valid zone")
}

fn try_zone(origin: &str, text: &str) -> Result<Zone, plait_dns::ZoneError> {
    let recs = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(';')).map(|l| rec(l, origin)).collect();
    Zone::new(n(origin), recs)
}

const EXAMPLE: &str = "
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

const ORG: &str = "
example.org. 3600 SOA ns1.example.org. hostmaster.example.org. 7 600
example.org. 3600 NS ns1.example.org.
ns1.example.org. 3600 A 198.51.100.1
www.example.org. 3600 A 198.51.100.80
";

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("example.com.", EXAMPLE)));
    c.insert(Arc::new(zone("example.org.", ORG)));
    c
}

fn query_msg(name: &str, qt: u16) -> Message {
    let mut header = Header { id: 0x1234, ..Header::default() };
    header.set_rd(true);
    Message { header, questions: vec![Question { name: n(name), qtype: qt, qclass: 1 }], ..Message::default() }
}

fn wire(m: &Message) -> Vec<u8> {
    m.render(None).expect("render")
}

fn ask_with(cat: &Catalog, q: &Message, tcp: bool, cfg: &Config) -> Message {
    match cat.answer(&wire(q), tcp, cfg) {
        Outcome::Response(w) => Message::parse(&w).expect("response parses"),
        other => panic!("expected a response, got {other:?}"),
    }
}

fn ask(cat: &Catalog, name: &str, qt: u16) -> Message {
    ask_with(cat, &query_msg(name, qt), false, &Config::default())
}

fn ask_do(cat: &Catalog, name: &str, qt: u16) -> Message {
    let mut q = query_msg(name, qt);
    let mut e = Edns { udp_size: 4096, ..Edns::default() };
    e.set_dnssec_ok(true);
    q.edns = Some(e);
    ask_with(cat, &q, false, &Config::default())
}

fn types(recs: &[Record]) -> Vec<u16> {
    recs.iter().map(|r| r.rtype).collect()
}

fn names(recs: &[Record]) -> Vec<String> {
    recs.iter().map(|r| r.name.to_text()).collect()
}

#[test]
fn positive_answer_sets_flags_and_copies_the_query() {
    let cat = catalog();
    let mut q = query_msg("web.example.com.", rtype::A);
    q.header.set_cd(true);
    let r = ask_with(&cat, &q, false, &Config::default());
    assert_eq!(r.header.id, 0x1234);
    assert!(r.header.qr() && r.header.aa() && r.header.rd() && r.header.cd());
    assert!(!r.header.ra() && !r.header.tc() && !r.header.ad());
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert_eq!(r.questions, q.questions);
    assert_eq!(types(&r.answers), vec![rtype::A, rtype::A]);
    assert!(r.authority.is_empty() && r.additional.is_empty());
    assert!(r.edns.is_none());
}

#[test]
fn qname_case_is_kept_in_question_and_answer() {
    let cat = catalog();
    let r = ask(&cat, "WeB.ExAmPlE.cOm.", rtype::A);
    assert_eq!(r.questions[0].name.as_wire(), n("WeB.ExAmPlE.cOm.").as_wire());
    assert_eq!(r.answers[0].name.as_wire(), n("WeB.ExAmPlE.cOm.").as_wire());
}

#[test]
fn nxdomain_and_nodata_carry_the_soa_with_the_negative_ttl() {
    let cat = catalog();
    // (Names directly below the apex match its wildcard; c.example.com. has none.)
    let r = ask(&cat, "nothing.c.example.com.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    assert!(r.header.aa());
    assert!(r.answers.is_empty());
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
    assert_eq!(r.authority[0].ttl, 300);
    let r = ask(&cat, "web.example.com.", rtype::AAAA);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.answers.is_empty());
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    let r = ask(&cat, "c.example.com.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
    let r = ask(&cat, "b.c.example.com.", rtype::TXT);
    assert_eq!(r.header.rcode, rcode::NOERROR);
}

#[test]
fn negative_ttl_is_the_soa_ttl_when_smaller() {
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("t.", "t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\nns.t. 30 A 192.0.2.1")));
    let r = ask(&c, "x.t.", rtype::A);
    assert_eq!(r.authority[0].ttl, 30);
}

#[test]
fn cname_chain_within_the_zone() {
    let cat = catalog();
    let r = ask(&cat, "www.example.com.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::CNAME, rtype::A, rtype::A]);
    assert_eq!(r.answers[0].ttl, 600);
    assert_eq!(names(&r.answers), vec!["www.example.com.", "web.example.com.", "web.example.com."]);
    assert!(r.header.aa());
    // Asking for the CNAME itself does not follow it.
    let r = ask(&cat, "www.example.com.", rtype::CNAME);
    assert_eq!(types(&r.answers), vec![rtype::CNAME]);
    // NODATA at the end of the chain: the CNAME and the SOA.
    let r = ask(&cat, "www.example.com.", rtype::TXT);
    assert_eq!(types(&r.answers), vec![rtype::CNAME]);
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
}

#[test]
fn cname_into_another_zone_of_the_catalog_and_out_of_all() {
    let cat = catalog();
    let r = ask(&cat, "out.example.com.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::CNAME, rtype::A]);
    assert_eq!(r.answers[1].name, n("www.example.org."));
    assert!(r.header.aa());
    let r = ask(&cat, "ext.example.com.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::CNAME]);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.authority.is_empty());
}

#[test]
fn cname_to_a_missing_name_is_nxdomain_with_the_target_zone_soa() {
    let mut c = catalog();
    c.insert(Arc::new(zone("t.", "t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\nns.t. 30 A 192.0.2.1\nx.t. 30 CNAME nope.example.org.")));
    let r = ask(&c, "x.t.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    assert_eq!(types(&r.answers), vec![rtype::CNAME]);
    assert_eq!(r.authority[0].name, n("example.org."));
}

#[test]
fn cname_loops_end() {
    let cat = catalog();
    let r = ask(&cat, "loop1.example.com.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::CNAME, rtype::CNAME]);
    assert_eq!(r.header.rcode, rcode::NOERROR);
}

#[test]
fn cname_chains_are_bounded() {
    let mut text = String::from("t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\n");
    for i in 0..40 {
        text.push_str(&format!("c{i}.t. 30 CNAME c{}.t.\n", i + 1));
    }
    text.push_str("c40.t. 30 A 192.0.2.1\n");
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("t.", &text)));
    let r = ask(&c, "c0.t.", rtype::A);
    assert_eq!(r.answers.len(), plait_dns::MAX_CHAIN);
    assert!(r.answers.iter().all(|a| a.rtype == rtype::CNAME));
    let r = ask(&c, "c30.t.", rtype::A);
    assert_eq!(types(&r.answers).last(), Some(&rtype::A));
}

#[test]
fn dname_synthesizes_a_cname() {
    let cat = catalog();
    let r = ask(&cat, "www.dn.example.com.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::DNAME, rtype::CNAME, rtype::A]);
    let cname = &r.answers[1];
    assert_eq!(cname.name, n("www.dn.example.com."));
    assert_eq!(cname.ttl, 900);
    assert_eq!(cname.rdata, RData::Name(n("www.example.org.")));
    assert!(r.header.aa());
    // The DNAME owner itself is not rewritten.
    let r = ask(&cat, "dn.example.com.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.answers.is_empty());
    let r = ask(&cat, "dn.example.com.", rtype::DNAME);
    assert_eq!(types(&r.answers), vec![rtype::DNAME]);
}

#[test]
fn dname_result_too_long_is_yxdomain() {
    let cat = catalog();
    let label = "b".repeat(60);
    let q = format!("{label}.{label}.long.example.com.");
    let r = ask(&cat, &q, rtype::A);
    assert_eq!(r.header.rcode, rcode::YXDOMAIN);
    assert_eq!(types(&r.answers), vec![rtype::DNAME]);
}

#[test]
fn referral_below_a_cut_has_ns_and_glue_and_no_aa() {
    let cat = catalog();
    for qname in ["www.sub.example.com.", "sub.example.com.", "ns.sub.example.com.", "deep.ns.sub.example.com."] {
        let r = ask(&cat, qname, rtype::A);
        assert_eq!(r.header.rcode, rcode::NOERROR, "{qname}");
        assert!(!r.header.aa(), "{qname}");
        assert!(r.answers.is_empty(), "{qname}");
        assert_eq!(types(&r.authority), vec![rtype::NS, rtype::NS], "{qname}");
        assert_eq!(types(&r.additional), vec![rtype::A, rtype::AAAA], "{qname}");
        assert_eq!(r.additional[0].name, n("ns.sub.example.com."));
    }
    // No DS in a referral without DO.
    let r = ask(&cat, "sub.example.com.", rtype::NS);
    assert!(!types(&r.authority).contains(&rtype::DS));
}

#[test]
fn ds_at_a_cut_is_answered_by_the_parent() {
    let mut cat = catalog();
    let r = ask(&cat, "sub.example.com.", rtype::DS);
    assert!(r.header.aa());
    assert_eq!(types(&r.answers), vec![rtype::DS]);
    // With the child zone served too, DS still comes from the parent; other types from the child.
    cat.insert(Arc::new(zone("sub.example.com.", "sub.example.com. 60 SOA ns.sub.example.com. h.sub.example.com. 1 60\nsub.example.com. 60 NS ns.sub.example.com.\nns.sub.example.com. 60 A 192.0.2.53")));
    let r = ask(&cat, "sub.example.com.", rtype::DS);
    assert_eq!(types(&r.answers), vec![rtype::DS]);
    let r = ask(&cat, "sub.example.com.", rtype::SOA);
    assert!(r.header.aa());
    assert_eq!(types(&r.answers), vec![rtype::SOA]);
    let r = ask(&cat, "www.sub.example.com.", rtype::A);
    assert!(r.header.aa());
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    // DS for an apex whose parent is not served: the child answers NODATA.
    let r = ask(&cat, "example.com.", rtype::DS);
    assert!(r.header.aa());
    assert!(r.answers.is_empty());
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
}

#[test]
fn wildcards_synthesize_with_the_qname_as_owner() {
    let cat = catalog();
    let r = ask(&cat, "foo.wild.example.com.", rtype::TXT);
    assert_eq!(types(&r.answers), vec![rtype::TXT]);
    assert_eq!(r.answers[0].name, n("foo.wild.example.com."));
    assert!(r.header.aa());
    // Deeper names match too (the closest encloser is wild.example.com.).
    let r = ask(&cat, "a.b.wild.example.com.", rtype::A);
    assert_eq!(r.answers[0].name, n("a.b.wild.example.com."));
    assert_eq!(r.answers[0].rdata, RData::A(Ipv4Addr::new(192, 0, 2, 9)));
    // Wildcard NODATA.
    let r = ask(&cat, "foo.wild.example.com.", rtype::AAAA);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.answers.is_empty());
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
    // An existing name is not matched by the wildcard.
    let r = ask(&cat, "x.wild.example.com.", rtype::TXT);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.answers.is_empty());
    // Nor are names below an existing name.
    let r = ask(&cat, "y.x.wild.example.com.", rtype::TXT);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    // The apex wildcard answers MX for any missing name directly below... and deeper.
    let r = ask(&cat, "q.example.com.", rtype::MX);
    assert_eq!(types(&r.answers), vec![rtype::MX]);
    assert_eq!(types(&r.additional), vec![rtype::A, rtype::AAAA]);
}

#[test]
fn empty_non_terminals_block_wildcards() {
    let cat = catalog();
    // c.example.com. exists (empty): a name below it has closest encloser c.example.com.,
    // which has no wildcard, so the apex wildcard does not apply.
    let r = ask(&cat, "zz.c.example.com.", rtype::MX);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    // The empty non-terminal itself is NODATA, not the wildcard.
    let r = ask(&cat, "c.example.com.", rtype::MX);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.answers.is_empty());
}

#[test]
fn wildcards_below_a_cut_are_not_used() {
    let cat = catalog();
    let r = ask(&cat, "nope.sub.example.com.", rtype::A);
    assert!(!r.header.aa());
    assert!(r.answers.is_empty());
    assert_eq!(types(&r.authority), vec![rtype::NS, rtype::NS]);
}

#[test]
fn wildcard_cname_is_followed() {
    let cat = catalog();
    let r = ask(&cat, "any.cn.example.com.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::CNAME, rtype::A, rtype::A]);
    assert_eq!(r.answers[0].name, n("any.cn.example.com."));
}

#[test]
fn names_in_no_zone_are_refused_or_passed_for_recursion() {
    let cat = catalog();
    let r = ask(&cat, "www.example.net.", rtype::A);
    assert_eq!(r.header.rcode, rcode::REFUSED);
    assert!(!r.header.aa());
    assert!(r.answers.is_empty() && r.authority.is_empty());
    let rec_cfg = Config { recursion: true, ..Config::default() };
    let q = query_msg("www.example.net.", rtype::A);
    assert_eq!(cat.answer(&wire(&q), false, &rec_cfg), Outcome::Pass);
    let mut q = query_msg("www.example.net.", rtype::A);
    q.header.set_rd(false);
    let r = ask_with(&cat, &q, false, &rec_cfg);
    assert_eq!(r.header.rcode, rcode::REFUSED);
    // In-zone names are answered even with recursion offered.
    let q = query_msg("web.example.com.", rtype::A);
    let r = ask_with(&cat, &q, false, &rec_cfg);
    assert!(r.header.aa());
}

#[test]
fn any_gets_one_rrset() {
    let cat = catalog();
    let r = ask(&cat, "example.com.", ANY);
    assert_eq!(types(&r.answers), vec![rtype::SOA]);
    let r = ask(&cat, "mail.example.com.", ANY);
    assert_eq!(types(&r.answers), vec![rtype::A]);
    let r = ask(&cat, "www.example.com.", ANY);
    assert_eq!(types(&r.answers), vec![rtype::CNAME]);
    let r = ask(&cat, "c.example.com.", ANY);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert!(r.answers.is_empty());
    let r = ask(&cat, "nothing.c.example.com.", ANY);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    // Class ANY is answered like IN.
    let mut q = query_msg("web.example.com.", rtype::A);
    q.questions[0].qclass = ANY;
    let r = ask_with(&cat, &q, false, &Config::default());
    assert_eq!(r.answers.len(), 2);
}

#[test]
fn additional_addresses_for_mx_ns_srv_targets_in_the_zone() {
    let cat = catalog();
    let r = ask(&cat, "example.com.", rtype::MX);
    assert_eq!(types(&r.answers), vec![rtype::MX, rtype::MX]);
    assert_eq!(types(&r.additional), vec![rtype::A, rtype::AAAA]);
    assert!(r.additional.iter().all(|a| a.name == n("mail.example.com.")));
    let r = ask(&cat, "example.com.", rtype::NS);
    assert_eq!(names(&r.additional), vec!["ns1.example.com."]);
    let r = ask(&cat, "_sip._tcp.example.com.", rtype::SRV);
    assert_eq!(types(&r.additional), vec![rtype::A, rtype::AAAA]);
    // No additional processing for other types.
    let r = ask(&cat, "example.com.", rtype::TXT);
    assert!(r.additional.is_empty());
}

#[test]
fn edns_is_echoed_with_our_payload_size() {
    let cat = catalog();
    let mut q = query_msg("web.example.com.", rtype::A);
    q.edns = Some(Edns { udp_size: 4096, ..Edns::default() });
    let cfg = Config { recursion: false, max_udp_payload: 1400 };
    let r = ask_with(&cat, &q, false, &cfg);
    let e = r.edns.expect("OPT echoed");
    assert_eq!(e.udp_size, 1400);
    assert_eq!(e.version, 0);
    assert!(!e.dnssec_ok());
    assert!(e.options.is_empty());
}

#[test]
fn edns_version_above_zero_is_badvers() {
    let cat = catalog();
    let mut q = query_msg("web.example.com.", rtype::A);
    q.edns = Some(Edns { udp_size: 4096, version: 1, ..Edns::default() });
    let r = ask_with(&cat, &q, false, &Config::default());
    assert_eq!(r.header.rcode, rcode::BADVERS);
    assert_eq!(r.edns.expect("OPT").version, 0);
    assert!(r.answers.is_empty());
    assert_eq!(r.questions.len(), 1);
}

/// A signed copy of a small zone (fake signatures; the engine only selects records).
const SIGNED: &str = "
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

fn signed() -> Catalog {
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("s.test.", SIGNED)));
    c
}

fn rrsig_covers(r: &Record) -> u16 {
    match &r.rdata {
        RData::Rrsig { type_covered, .. } => *type_covered,
        _ => 0,
    }
}

#[test]
fn do_bit_adds_rrsigs_to_answers() {
    let c = signed();
    let r = ask_do(&c, "a.b.s.test.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::A, rtype::RRSIG]);
    assert_eq!(rrsig_covers(&r.answers[1]), rtype::A);
    assert!(r.edns.expect("OPT").dnssec_ok());
    // Without DO: no signatures.
    let r = ask(&c, "a.b.s.test.", rtype::A);
    assert_eq!(types(&r.answers), vec![rtype::A]);
    // Unless they are what was asked for.
    let r = ask(&c, "a.b.s.test.", rtype::RRSIG);
    assert_eq!(types(&r.answers), vec![rtype::RRSIG, rtype::RRSIG]);
    let r = ask(&c, "a.b.s.test.", rtype::NSEC);
    assert_eq!(types(&r.answers), vec![rtype::NSEC]);
}

#[test]
fn do_bit_nodata_proves_with_the_nsec_at_the_name() {
    let c = signed();
    let r = ask_do(&c, "a.b.s.test.", rtype::AAAA);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert_eq!(types(&r.authority), vec![rtype::SOA, rtype::RRSIG, rtype::NSEC, rtype::RRSIG]);
    assert_eq!(r.authority[1].ttl, 300);
    assert_eq!(r.authority[2].name, n("a.b.s.test."));
    assert_eq!(rrsig_covers(&r.authority[3]), rtype::NSEC);
    // An empty non-terminal: the NSEC whose span covers it.
    let r = ask_do(&c, "b.s.test.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NOERROR);
    assert_eq!(types(&r.authority), vec![rtype::SOA, rtype::RRSIG, rtype::NSEC, rtype::RRSIG]);
    assert_eq!(r.authority[2].name, n("s.test."));
}

#[test]
fn do_bit_nxdomain_proves_the_name_and_the_wildcard_absent() {
    let c = signed();
    let r = ask_do(&c, "m.s.test.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    // m.s.test. falls between insecure.s.test. and ns.s.test.; *.s.test. between s.test. and a.b.s.test.
    let nsec_owners: Vec<String> = r.authority.iter().filter(|x| x.rtype == rtype::NSEC).map(|x| x.name.to_text()).collect();
    assert_eq!(nsec_owners, vec!["insecure.s.test.", "s.test."]);
    assert_eq!(r.authority.iter().filter(|x| x.rtype == rtype::RRSIG).count(), 3);
    // Without DO: only the SOA.
    let r = ask(&c, "m.s.test.", rtype::A);
    assert_eq!(types(&r.authority), vec![rtype::SOA]);
}

#[test]
fn do_bit_wildcard_answers_prove_no_exact_match() {
    let c = signed();
    let r = ask_do(&c, "x.w.s.test.", rtype::TXT);
    assert_eq!(types(&r.answers), vec![rtype::TXT, rtype::RRSIG]);
    assert_eq!(r.answers[1].name, n("x.w.s.test."));
    // x.w.s.test. sorts after *.w.s.test., so the wildcard's own NSEC covers it.
    assert_eq!(types(&r.authority), vec![rtype::NSEC, rtype::RRSIG]);
    assert_eq!(r.authority[0].name, n("*.w.s.test."));
    // A name sorting before the wildcard is covered by the previous NSEC.
    let r = ask_do(&c, "!.w.s.test.", rtype::TXT);
    assert_eq!(types(&r.answers), vec![rtype::TXT, rtype::RRSIG]);
    assert_eq!(r.authority[0].name, n("ns.s.test."));
    // Wildcard NODATA: no exact match, and the wildcard has no such type.
    let r = ask_do(&c, "!.w.s.test.", rtype::A);
    let nsec_owners: Vec<String> = r.authority.iter().filter(|x| x.rtype == rtype::NSEC).map(|x| x.name.to_text()).collect();
    assert_eq!(nsec_owners, vec!["ns.s.test.", "*.w.s.test."]);
    let r = ask_do(&c, "x.w.s.test.", rtype::A);
    let nsec_owners: Vec<String> = r.authority.iter().filter(|x| x.rtype == rtype::NSEC).map(|x| x.name.to_text()).collect();
    assert_eq!(nsec_owners, vec!["*.w.s.test."]);
}

#[test]
fn do_bit_referrals_carry_ds_or_the_nsec_proving_none() {
    let c = signed();
    let r = ask_do(&c, "www.child.s.test.", rtype::A);
    assert!(!r.header.aa());
    assert_eq!(types(&r.authority), vec![rtype::NS, rtype::DS, rtype::RRSIG]);
    assert_eq!(types(&r.additional), vec![rtype::A]);
    let r = ask_do(&c, "www.insecure.s.test.", rtype::A);
    assert_eq!(types(&r.authority), vec![rtype::NS, rtype::NSEC, rtype::RRSIG]);
    // DS query at the cut, with DO: the parent's signed DS.
    let r = ask_do(&c, "child.s.test.", rtype::DS);
    assert!(r.header.aa());
    assert_eq!(types(&r.answers), vec![rtype::DS, rtype::RRSIG]);
    // No DS: NODATA with the NSEC at the cut.
    let r = ask_do(&c, "insecure.s.test.", rtype::DS);
    assert!(r.header.aa());
    assert_eq!(types(&r.authority), vec![rtype::SOA, rtype::RRSIG, rtype::NSEC, rtype::RRSIG]);
}

#[test]
fn udp_responses_are_truncated_to_512_or_the_edns_size() {
    let mut text = String::from("t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\nns.t. 30 A 192.0.2.1\n");
    for i in 0..60 {
        text.push_str(&format!("big.t. 30 TXT {}\n", format!("{i:02}").repeat(20)));
    }
    for i in 0..10 {
        text.push_str(&format!("mid.t. 30 TXT {}\n", format!("{i:02}").repeat(20)));
    }
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("t.", &text)));
    let get = |name: &str, udp: Option<u16>, tcp: bool| -> (usize, Message) {
        let mut q = query_msg(name, rtype::TXT);
        q.edns = udp.map(|u| Edns { udp_size: u, ..Edns::default() });
        let Outcome::Response(w) = c.answer(&wire(&q), tcp, &Config::default()) else { panic!("no response") };
        (w.len(), Message::parse(&w).expect("parses"))
    };
    // Without EDNS: 512, and the whole RRset goes, with TC.
    let (len, r) = get("mid.t.", None, false);
    assert!(len <= 512);
    assert!(r.header.tc());
    assert!(r.answers.is_empty());
    // EDNS: the smaller of the client's size and ours.
    let (len, r) = get("mid.t.", Some(1000), false);
    assert!(len > 512 && len <= 1000);
    assert!(!r.header.tc());
    assert_eq!(r.answers.len(), 10);
    // A client size below 512 counts as 512.
    let (_, r) = get("mid.t.", Some(100), false);
    assert!(r.header.tc());
    let (len, r) = get("big.t.", Some(65000), false);
    assert!(len <= 1232 && r.header.tc());
    // TCP: up to 65535.
    let (len, r) = get("big.t.", Some(512), true);
    assert!(len > 1232);
    assert!(!r.header.tc());
    assert_eq!(r.answers.len(), 60);
}

#[test]
fn truncation_drops_additional_without_tc() {
    let mut text = String::from("t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\nns.t. 30 A 192.0.2.1\n");
    for i in 0..20 {
        text.push_str(&format!("t. 30 MX {i} mail{i}.t.\nmail{i}.t. 30 AAAA 2001:db8::{i}\n"));
    }
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("t.", &text)));
    let r = ask(&c, "t.", rtype::MX);
    assert_eq!(r.answers.len(), 20);
    assert!(r.additional.len() < 20);
    assert!(!r.header.tc());
}

fn raw(c: &Catalog, bytes: &[u8]) -> Outcome {
    c.answer(bytes, false, &Config::default())
}

fn raw_msg(c: &Catalog, bytes: &[u8]) -> Message {
    match raw(c, bytes) {
        Outcome::Response(w) => Message::parse(&w).expect("parses"),
        other => panic!("expected a response, got {other:?}"),
    }
}

#[test]
fn bad_queries_get_formerr_with_the_id() {
    let c = catalog();
    // Garbage after a plausible header.
    let r = raw_msg(&c, &[0xAB, 0xCD, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF]);
    assert_eq!(r.header.id, 0xABCD);
    assert_eq!(r.header.rcode, rcode::FORMERR);
    assert!(r.header.qr() && r.header.rd());
    assert!(r.questions.is_empty());
    // qdcount 2.
    let mut q = query_msg("web.example.com.", rtype::A);
    q.questions.push(q.questions[0].clone());
    let r = raw_msg(&c, &wire(&q));
    assert_eq!(r.header.rcode, rcode::FORMERR);
    // qdcount 0.
    let mut q = query_msg("web.example.com.", rtype::A);
    q.questions.clear();
    let r = raw_msg(&c, &wire(&q));
    assert_eq!(r.header.rcode, rcode::FORMERR);
    // A question that parses followed by a broken record: FORMERR with the question.
    let mut w = wire(&query_msg("web.example.com.", rtype::A));
    w[7] = 1; // ancount 1, but no record follows... add 3 junk bytes
    w.extend_from_slice(&[0, 0, 1]);
    let r = raw_msg(&c, &w);
    assert_eq!(r.header.rcode, rcode::FORMERR);
    assert_eq!(r.questions.len(), 1);
    assert_eq!(r.questions[0].name, n("web.example.com."));
    // A compression pointer loop in the question.
    let r = raw_msg(&c, &[0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]);
    assert_eq!(r.header.rcode, rcode::FORMERR);
    assert_eq!(r.header.id, 7);
    // Truncated question.
    let w = wire(&query_msg("web.example.com.", rtype::A));
    let r = raw_msg(&c, &w[..w.len() - 3]);
    assert_eq!(r.header.rcode, rcode::FORMERR);
    assert!(r.questions.is_empty());
}

#[test]
fn short_packets_and_responses_are_dropped() {
    let c = catalog();
    assert_eq!(raw(&c, &[]), Outcome::Drop);
    assert_eq!(raw(&c, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), Outcome::Drop);
    let mut q = query_msg("web.example.com.", rtype::A);
    q.header.set_qr(true);
    assert_eq!(raw(&c, &wire(&q)), Outcome::Drop);
}

#[test]
fn opcodes_notify_and_transfers() {
    let c = catalog();
    let mut q = query_msg("example.com.", rtype::SOA);
    q.header.set_opcode(4);
    assert_eq!(raw(&c, &wire(&q)), Outcome::Pass);
    for op in [1, 2, 5, 6, 15] {
        q.header.set_opcode(op);
        let r = raw_msg(&c, &wire(&q));
        assert_eq!(r.header.rcode, rcode::NOTIMP, "opcode {op}");
        assert_eq!(r.header.opcode(), op);
        assert!(!r.header.aa());
    }
    // NOTIMP even when the rest does not parse.
    let r = raw_msg(&c, &[0, 9, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF]);
    assert_eq!(r.header.rcode, rcode::NOTIMP);
    for qt in [251, 252] {
        assert_eq!(raw(&c, &wire(&query_msg("example.com.", qt))), Outcome::Pass);
    }
}

#[test]
fn other_classes_are_refused() {
    let c = catalog();
    let mut q = query_msg("web.example.com.", rtype::A);
    q.questions[0].qclass = 3;
    let r = raw_msg(&c, &wire(&q));
    assert_eq!(r.header.rcode, rcode::REFUSED);
    assert_eq!(r.questions[0].qclass, 3);
}

#[test]
fn zone_validation() {
    let soa = "t. 30 SOA ns.t. h.t. 1 600\n";
    let ns = "t. 30 NS ns.t.\n";
    let cases: [(&str, String); 9] = [
        ("no SOA", ns.to_string()),
        ("more than one SOA", format!("{soa}{ns}t. 30 SOA ns.t. h.t. 2 600\n")),
        ("not at the apex", format!("{soa}{ns}x.t. 30 SOA ns.t. h.t. 1 600\n")),
        ("no NS", soa.to_string()),
        ("outside the zone", format!("{soa}{ns}x.u. 30 A 192.0.2.1\n")),
        ("beside other data", format!("{soa}{ns}x.t. 30 CNAME y.t.\nx.t. 30 A 192.0.2.1\n")),
        ("CNAME record at the apex", format!("{soa}{ns}t. 30 CNAME y.t.\n")),
        ("more than one CNAME", format!("{soa}{ns}x.t. 30 CNAME y.t.\nx.t. 30 CNAME z.t.\n")),
        ("more than one DNAME", format!("{soa}{ns}x.t. 30 DNAME y.t.\nx.t. 30 DNAME z.t.\n")),
    ];
    for (want, text) in cases {
        let e = try_zone("t.", &text).expect_err(want);
        assert!(e.to_string().contains(want), "{want}: {e}");
        assert!(e.to_string().starts_with("zone t.:"), "{e}");
    }
    // Class other than IN.
    let mut recs: Vec<Record> = format!("{soa}{ns}").lines().map(|l| rec(l, "t.")).collect();
    recs.push(Record { class: 3, ..rec("x.t. 30 A 192.0.2.1", "t.") });
    let e = Zone::new(n("t."), recs).expect_err("class");
    assert!(e.to_string().contains("class 3"), "{e}");
    // CNAME beside RRSIG and NSEC is fine; duplicates are kept once.
    let ok = format!("{soa}{ns}x.t. 30 CNAME y.t.\nx.t. 30 RRSIG CNAME 2\nx.t. 30 NSEC t. CNAME RRSIG NSEC\nns.t. 30 A 192.0.2.1\nns.t. 30 A 192.0.2.1\n");
    let z = try_zone("t.", &ok).expect("valid");
    assert_eq!(z.records().filter(|r| r.rtype == rtype::A).count(), 1);
}

#[test]
fn catalog_insert_replace_remove() {
    let mut c = catalog();
    assert_eq!(c.origins(), vec![n("example.com."), n("example.org.")]);
    c.insert(Arc::new(zone("example.org.", "example.org. 60 SOA ns.example.org. h.example.org. 9 60\nexample.org. 60 NS ns.example.org.")));
    assert_eq!(c.len(), 2);
    let r = ask(&c, "www.example.org.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
    assert!(c.remove(&n("EXAMPLE.org.")));
    assert!(!c.remove(&n("example.org.")));
    let r = ask(&c, "www.example.org.", rtype::A);
    assert_eq!(r.header.rcode, rcode::REFUSED);
    // The deepest zone wins.
    c.insert(Arc::new(zone("c.example.com.", "c.example.com. 60 SOA ns.c.example.com. h.c.example.com. 9 60\nc.example.com. 60 NS ns.c.example.com.\nx.c.example.com. 60 A 192.0.2.77")));
    let r = ask(&c, "x.c.example.com.", rtype::A);
    assert_eq!(r.answers[0].rdata, RData::A(Ipv4Addr::new(192, 0, 2, 77)));
}

#[test]
fn root_zone_is_served() {
    let mut c = Catalog::new();
    c.insert(Arc::new(zone(".", ". 60 SOA a.root. h.root. 1 60\n. 60 NS a.root.\na.root. 60 A 192.0.2.1\ncom. 60 NS a.gtld.\na.gtld. 60 A 192.0.2.2")));
    let r = ask(&c, "www.example.com.", rtype::A);
    assert!(!r.header.aa());
    assert_eq!(types(&r.authority), vec![rtype::NS]);
    assert_eq!(types(&r.additional), vec![rtype::A]); // in-zone sibling glue
    let r = ask(&c, ".", rtype::NS);
    assert!(r.header.aa());
    assert_eq!(types(&r.additional), vec![rtype::A]);
    let r = ask(&c, "nope.", rtype::A);
    assert_eq!(r.header.rcode, rcode::NXDOMAIN);
}

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

#[test]
fn referrals_whose_in_domain_glue_does_not_fit_are_truncated() {
    let mut text = String::from("t. 30 SOA ns.t. h.t. 1 600\nt. 30 NS ns.t.\nns.t. 30 A 192.0.2.1\n");
    for i in 0..13 {
        let long = "n".repeat(8);
        text.push_str(&format!("child.t. 30 NS {long}{i}.child.t.\n{long}{i}.child.t. 30 A 192.0.2.{i}\n{long}{i}.child.t. 30 AAAA 2001:db8::{i}\n"));
        text.push_str(&format!("sib.t. 30 NS {long}{i}.other.t.\n{long}{i}.other.t. 30 A 192.0.2.{i}\n{long}{i}.other.t. 30 AAAA 2001:db8::{i}\n"));
    }
    let mut c = Catalog::new();
    c.insert(Arc::new(zone("t.", &text)));
    // In-domain glue that does not fit in 512 bytes: TC, so the resolver retries over TCP.
    let r = ask(&c, "www.child.t.", rtype::A);
    assert!(r.header.tc());
    assert_eq!(r.authority.len(), 13);
    let mut q = query_msg("www.child.t.", rtype::A);
    q.edns = Some(Edns { udp_size: 4096, ..Edns::default() });
    let r = ask_with(&c, &q, false, &Config::default());
    assert!(!r.header.tc());
    assert_eq!(r.additional.len(), 26);
    // Sibling glue may be left out without TC.
    let r = ask(&c, "www.sib.t.", rtype::A);
    assert!(!r.header.tc());
    assert_eq!(r.authority.len(), 13);
    assert!(r.additional.len() < 26);
}
