//! Zone validation and the catalog of zones.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use common::*;
use plait_dns::{rcode, rtype, Catalog, RData, Record, Zone};

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
