//! DNSSEC records of a pre-signed zone in answers: RRSIGs with DO, NSEC proofs for NODATA,
//! NXDOMAIN and wildcards, DS or NSEC in referrals.

mod common;

use common::*;
use plait_dns::{rcode, rtype};

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
