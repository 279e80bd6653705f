//! The authoritative answer engine: zones built in Rust, queries rendered with the codec,
//! responses parsed back and checked section by section.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use common::*;
use plait_dns::{rcode, rtype, Catalog, Config, Edns, Message, Outcome, RData};

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
