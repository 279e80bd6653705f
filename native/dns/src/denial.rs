//! Authenticated denial of existence: which NSEC (RFC 4035 §3.1.3) or NSEC3 (RFC 5155 §7.2)
//! records, with their signatures, go in the authority section of a negative or wildcard
//! answer from a pre-signed zone.

use crate::message::Record;
use crate::rdata::rtype;
use crate::zone::{Node, Zone};

/// What an answer has to prove. Names are lowercased wire forms.
pub(crate) enum Proof<'a> {
    /// The name does not exist; `ce` is its closest encloser.
    NxDomain { qname: &'a [u8], ce: &'a [u8] },
    /// The name exists (`node`, maybe an empty non-terminal) without the type asked for.
    NoData { qname: &'a [u8], node: &'a Node },
    /// A wildcard answered: no closer match exists below `ce`.
    WildcardAnswer { qname: &'a [u8], ce: &'a [u8] },
    /// A wildcard exists below `ce` but lacks the type asked for.
    WildcardNoData { qname: &'a [u8], ce: &'a [u8], wild: &'a Node },
    /// A referral to an unsigned delegation: the cut has no DS.
    NoDs { cut: &'a Node },
}

/// Adds the records that prove `proof` (nothing if the zone has neither NSEC nor NSEC3).
pub(crate) fn prove(zone: &Zone, proof: Proof<'_>, authority: &mut Vec<Record>) {
    if zone.nsec3().is_some() {
        nsec3(zone, proof, authority);
    } else if zone.has_nsec() {
        nsec(zone, proof, authority);
    }
}

fn nsec(zone: &Zone, proof: Proof<'_>, out: &mut Vec<Record>) {
    match proof {
        Proof::NxDomain { qname, ce } => {
            add(out, zone.nsec_covering(qname), rtype::NSEC);
            if let Some(wild) = wildcard_of(ce) {
                add(out, zone.nsec_covering(&wild), rtype::NSEC);
            }
        }
        Proof::NoData { qname, node } => {
            if node.rrset(rtype::NSEC).is_some() {
                add(out, Some(node), rtype::NSEC);
            } else {
                // An empty non-terminal: the NSEC whose span it falls in (RFC 4035 §3.1.3.2).
                add(out, zone.nsec_covering(qname), rtype::NSEC);
            }
        }
        Proof::WildcardAnswer { qname, .. } => add(out, zone.nsec_covering(qname), rtype::NSEC),
        Proof::WildcardNoData { qname, wild, .. } => {
            add(out, zone.nsec_covering(qname), rtype::NSEC);
            add(out, Some(wild), rtype::NSEC);
        }
        Proof::NoDs { cut } => add(out, Some(cut), rtype::NSEC),
    }
}

fn nsec3(zone: &Zone, proof: Proof<'_>, out: &mut Vec<Record>) {
    let Some(chain) = zone.nsec3() else { return };
    let node = |key: Option<&[u8]>| key.and_then(|k| zone.node(k));
    let matching = |out: &mut Vec<Record>, name: &[u8]| add(out, node(chain.matching(name)), rtype::NSEC3);
    let covering = |out: &mut Vec<Record>, name: &[u8]| add(out, node(chain.covering(name)), rtype::NSEC3);
    // The closest encloser proof (RFC 5155 §7.2.1): the NSEC3 matching the closest encloser
    // and the one covering the next closer name.
    let encloser = |out: &mut Vec<Record>, qname: &[u8], ce: &[u8]| {
        matching(out, ce);
        covering(out, next_closer(qname, ce));
    };
    match proof {
        Proof::NxDomain { qname, ce } => {
            encloser(out, qname, ce);
            if let Some(wild) = wildcard_of(ce) {
                covering(out, &wild);
            }
        }
        Proof::NoData { qname, .. } => {
            if chain.matching(qname).is_some() {
                matching(out, qname);
            } else {
                // Opt-out (an insecure delegation has no NSEC3): prove the closest
                // provable encloser instead (RFC 5155 §7.2.4).
                provable_encloser(zone, qname, out);
            }
        }
        Proof::WildcardAnswer { qname, ce } => covering(out, next_closer(qname, ce)),
        Proof::WildcardNoData { qname, ce, .. } => {
            encloser(out, qname, ce);
            if let Some(wild) = wildcard_of(ce) {
                matching(out, &wild);
            }
        }
        Proof::NoDs { cut } => {
            if chain.matching(&cut.key).is_some() {
                matching(out, &cut.key);
            } else {
                provable_encloser(zone, &cut.key, out);
            }
        }
    }
}

/// The closest encloser proof for a name with no NSEC3 of its own: the nearest ancestor
/// that has one, and the NSEC3 covering the name one label below it.
fn provable_encloser(zone: &Zone, name: &[u8], out: &mut Vec<Record>) {
    let Some(chain) = zone.nsec3() else { return };
    let mut ce = name;
    while let Some(up) = parent(ce) {
        ce = up;
        if let Some(key) = chain.matching(ce) {
            add(out, zone.node(key), rtype::NSEC3);
            add(out, chain.covering(next_closer(name, ce)).and_then(|k| zone.node(k)), rtype::NSEC3);
            return;
        }
        if ce.len() <= zone.origin_key().len() {
            return;
        }
    }
}

/// The ancestor of `qname` one label longer than `ce` (`qname` itself if `ce` is its parent).
fn next_closer<'a>(qname: &'a [u8], ce: &[u8]) -> &'a [u8] {
    let mut cur = qname;
    while let Some(up) = parent(cur) {
        if up.len() <= ce.len() {
            return cur;
        }
        cur = up;
    }
    cur
}

fn parent(wire: &[u8]) -> Option<&[u8]> {
    let len = *wire.first()? as usize;
    if len == 0 {
        None
    } else {
        wire.get(1 + len..)
    }
}

/// `*.` + a lowercased wire name, if it fits.
pub(crate) fn wildcard_of(ce: &[u8]) -> Option<Vec<u8>> {
    if ce.len() + 2 > 255 {
        return None;
    }
    let mut v = Vec::with_capacity(ce.len() + 2);
    v.extend_from_slice(&[1, b'*']);
    v.extend_from_slice(ce);
    Some(v)
}

/// The `t` (NSEC or NSEC3) records at `node` and their signatures, once.
fn add(out: &mut Vec<Record>, node: Option<&Node>, t: u16) {
    let Some(set) = node.and_then(|n| n.rrset(t)) else { return };
    if out.iter().any(|r| r.rtype == t && r.name == set.records[0].name) {
        return;
    }
    out.extend(set.records.iter().cloned());
    out.extend(set.sigs.iter().cloned());
}
