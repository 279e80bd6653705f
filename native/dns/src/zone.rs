//! An authoritative zone held for answering: nodes keyed by lowercased wire name, RRsets per
//! node with their signatures beside them, empty non-terminals, zone cuts, and the NSEC chain
//! in canonical order.
//!
//! Everything a query needs is worked out once here (which nodes are delegations, which data
//! is occluded glue, the negative-answer TTL), so answering is hash lookups and copies.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use thiserror::Error;

use crate::message::Record;
use crate::name::Name;
use crate::nsec3::{base32hex_decode, Nsec3Chain, MAX_ITERATIONS};
use crate::rdata::{rtype, RData};

/// A fast hash for maps whose keys come from zone data (names), not from queries: lookups
/// with query names cannot add keys, so flooding a table is not possible through them.
#[derive(Debug, Default, Clone, Copy)]
pub struct NameHasher(u64);

const SEED: u64 = 0x51_7C_C1_B7_27_22_0A_95;

impl Hasher for NameHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(SEED);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(SEED);
        }
        self.0 = h;
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(SEED);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// A map keyed by lowercased wire names.
pub type NameMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<NameHasher>>;

/// The class every zone record must have (IN).
pub const CLASS_IN: u16 = 1;

/// A zone that cannot be served, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("zone {origin}: {what}")]
pub struct ZoneError {
    /// The zone's origin in presentation form.
    pub origin: String,
    /// What is wrong, naming the record when there is one.
    pub what: String,
}

/// The records of one type at one node, and the RRSIG records covering them.
#[derive(Debug, Clone)]
pub struct RRset {
    /// The type.
    pub rtype: u16,
    /// The records (may be empty when only signatures for this type exist).
    pub records: Vec<Record>,
    /// RRSIG records whose type covered is `rtype`.
    pub sigs: Vec<Record>,
}

/// One name of the zone: its RRsets (none for an empty non-terminal) and its role.
#[derive(Debug, Clone)]
pub struct Node {
    /// The owner name as written in the zone.
    pub name: Name,
    /// Lowercased wire form (the key in the zone's table).
    pub key: Box<[u8]>,
    /// RRsets in the order their types first appeared.
    pub rrsets: Vec<RRset>,
    /// A delegation point: NS records at a name other than the apex.
    pub cut: bool,
    /// Below a zone cut or a DNAME: not authoritative data (only usable as glue).
    pub occluded: bool,
    /// Holds only NSEC3 records: the name is not part of the zone's namespace (RFC 5155
    /// §7.2.8), so lookups pass it by.
    pub hidden: bool,
}

impl Node {
    /// The RRset of type `t` with at least one record.
    #[inline]
    pub fn rrset(&self, t: u16) -> Option<&RRset> {
        self.rrsets.iter().find(|s| s.rtype == t && !s.records.is_empty())
    }

    /// Whether the node holds no records at all (an empty non-terminal).
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }

    /// Whether the node has a DNAME record.
    #[inline]
    pub fn dname(&self) -> Option<&RRset> {
        self.rrset(rtype::DNAME)
    }
}

/// A validated zone, ready to answer from.
#[derive(Debug, Clone)]
pub struct Zone {
    origin: Name,
    key: Box<[u8]>,
    nodes: NameMap<Node>,
    /// Canonical sort keys of the nodes that have an NSEC record, sorted, with the node key.
    nsec_chain: Vec<(Vec<u16>, Box<[u8]>)>,
    nsec3: Option<Nsec3Chain>,
    labels: usize,
    soa: Record,
    negative_ttl: u32,
}

/// A sort key whose plain lexicographic order is RFC 4034 §6.1 canonical order: labels from
/// the root, each byte lowercased and shifted up by one, each label ended by 0.
pub fn canonical_key(wire: &[u8]) -> Vec<u16> {
    let mut starts = Vec::with_capacity(8);
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 {
            break;
        }
        starts.push(pos);
        pos += 1 + len as usize;
    }
    let mut key = Vec::with_capacity(wire.len());
    for &s in starts.iter().rev() {
        let len = wire[s] as usize;
        for &b in wire.get(s + 1..s + 1 + len).unwrap_or(&[]) {
            key.push(u16::from(b.to_ascii_lowercase()) + 1);
        }
        key.push(0);
    }
    key
}

/// The type an RRSIG record covers.
fn covered(rec: &Record) -> Option<u16> {
    match &rec.rdata {
        RData::Rrsig { type_covered, .. } => Some(*type_covered),
        RData::Opaque(b) if b.len() >= 2 => Some(u16::from_be_bytes([b[0], b[1]])),
        _ => None,
    }
}

/// A type's mnemonic for error messages (RFC 3597 `TYPEnnn` for the ones not listed).
fn type_name(t: u16) -> String {
    let known = [
        (rtype::A, "A"), (rtype::NS, "NS"), (rtype::CNAME, "CNAME"), (rtype::SOA, "SOA"),
        (rtype::PTR, "PTR"), (rtype::MX, "MX"), (rtype::TXT, "TXT"), (rtype::AAAA, "AAAA"),
        (rtype::SRV, "SRV"), (rtype::DNAME, "DNAME"), (rtype::OPT, "OPT"), (rtype::DS, "DS"),
        (rtype::RRSIG, "RRSIG"), (rtype::NSEC, "NSEC"), (rtype::DNSKEY, "DNSKEY"), (rtype::CAA, "CAA"),
    ];
    known.iter().find(|(k, _)| *k == t).map_or_else(|| format!("TYPE{t}"), |(_, n)| (*n).to_string())
}

/// Types allowed beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5).
fn may_sit_beside_cname(t: u16) -> bool {
    matches!(t, rtype::CNAME | rtype::RRSIG | rtype::NSEC)
}

/// The NSEC3 chain of a zone with an NSEC3PARAM record at its apex (hash algorithm 1): the
/// NSEC3 records directly below the apex whose parameters match it, by owner hash.
fn nsec3_chain(apex: &[u8], nodes: &NameMap<Node>) -> Result<Option<Nsec3Chain>, String> {
    let Some(param) = nodes.get(apex).and_then(|n| n.rrset(rtype::NSEC3PARAM)) else { return Ok(None) };
    let Some(RData::Nsec3param { algorithm: 1, iterations, salt, .. }) = param.records.first().map(|r| &r.rdata) else {
        return Ok(None);
    };
    if *iterations > MAX_ITERATIONS {
        return Err(format!("NSEC3PARAM iterations {iterations} over {MAX_ITERATIONS}"));
    }
    let mut chain = Vec::new();
    for node in nodes.values() {
        let Some(set) = node.rrset(rtype::NSEC3) else { continue };
        let matches = set.records.iter().any(|r| {
            matches!(&r.rdata, RData::Nsec3 { algorithm: 1, iterations: i, salt: s, .. } if i == iterations && s == salt)
        });
        let label_len = node.key[0] as usize;
        if !matches || parent(&node.key) != Some(apex) {
            continue;
        }
        let hash = base32hex_decode(&node.key[1..1 + label_len])
            .filter(|h| h.len() == 20)
            .ok_or_else(|| format!("NSEC3 owner {} is not a base32hex SHA-1 hash", node.name))?;
        chain.push((hash, node.key.clone()));
    }
    chain.sort_unstable();
    Ok(Some(Nsec3Chain { salt: salt.clone(), iterations: *iterations, chain }))
}

/// The parent of a wire name (None for the root).
fn parent(wire: &[u8]) -> Option<&[u8]> {
    let len = *wire.first()? as usize;
    if len == 0 {
        None
    } else {
        wire.get(1 + len..)
    }
}

impl Zone {
    /// Builds a zone from its records, checking that it can be served: exactly one SOA, at
    /// the apex; NS records at the apex; every owner at or below the origin; class IN only;
    /// a CNAME alone at its name (apart from RRSIG and NSEC) and never at the apex; at most
    /// one DNAME per name; no OPT records. Identical records are kept once.
    pub fn new(origin: Name, records: Vec<Record>) -> Result<Zone, ZoneError> {
        let err = |what: String| ZoneError { origin: origin.to_text(), what };
        let okey: Box<[u8]> = origin.as_wire().to_ascii_lowercase().into();
        let mut nodes: NameMap<Node> = NameMap::default();
        let mut soa: Option<Record> = None;
        for rec in records {
            let line = || format!("{} {} {}", rec.name, rec.ttl, type_name(rec.rtype));
            if rec.class != CLASS_IN {
                return Err(err(format!("record {} has class {}, not IN", line(), rec.class)));
            }
            if !rec.name.is_subdomain(&origin) {
                return Err(err(format!("record {} is outside the zone", line())));
            }
            if rec.rtype == rtype::OPT {
                return Err(err(format!("record {}: OPT is not zone data", line())));
            }
            if rec.rtype == rtype::SOA {
                if rec.name != origin {
                    return Err(err(format!("SOA record {} is not at the apex", line())));
                }
                if !matches!(rec.rdata, RData::Soa { .. }) {
                    return Err(err(format!("SOA record {} has malformed data", line())));
                }
                if let Some(prev) = &soa {
                    if prev.rdata != rec.rdata {
                        return Err(err("more than one SOA record".to_string()));
                    }
                    continue;
                }
                soa = Some(rec.clone());
            }
            let key: Box<[u8]> = rec.name.as_wire().to_ascii_lowercase().into();
            let node = nodes.entry(key.clone()).or_insert_with(|| Node {
                name: rec.name.clone(),
                key,
                rrsets: Vec::new(),
                cut: false,
                occluded: false,
                hidden: false,
            });
            let set_type = if rec.rtype == rtype::RRSIG {
                covered(&rec).ok_or_else(|| err(format!("RRSIG record {} has malformed data", line())))?
            } else {
                rec.rtype
            };
            let idx = match node.rrsets.iter().position(|s| s.rtype == set_type) {
                Some(i) => i,
                None => {
                    node.rrsets.push(RRset { rtype: set_type, records: Vec::new(), sigs: Vec::new() });
                    node.rrsets.len() - 1
                }
            };
            let set = &mut node.rrsets[idx];
            let list = if rec.rtype == rtype::RRSIG { &mut set.sigs } else { &mut set.records };
            if !list.iter().any(|r| r.rdata == rec.rdata) {
                list.push(rec);
            }
        }
        let soa = soa.ok_or_else(|| err("no SOA record at the apex".to_string()))?;
        let negative_ttl = match &soa.rdata {
            RData::Soa { minimum, .. } => soa.ttl.min(*minimum),
            _ => soa.ttl,
        };
        {
            let apex = nodes.get(&okey).ok_or_else(|| err("no SOA record at the apex".to_string()))?;
            if apex.rrset(rtype::NS).is_none() {
                return Err(err("no NS records at the apex".to_string()));
            }
            if apex.rrset(rtype::CNAME).is_some() {
                return Err(err("a CNAME record at the apex".to_string()));
            }
        }
        for node in nodes.values() {
            if let Some(cname) = node.rrset(rtype::CNAME) {
                if cname.records.len() > 1 {
                    return Err(err(format!("more than one CNAME record at {}", node.name)));
                }
                if let Some(other) = node.rrsets.iter().find(|s| !s.records.is_empty() && !may_sit_beside_cname(s.rtype)) {
                    return Err(err(format!("CNAME at {} beside other data ({})", node.name, type_name(other.rtype))));
                }
            }
            if node.dname().is_some_and(|d| d.records.len() > 1) {
                return Err(err(format!("more than one DNAME record at {}", node.name)));
            }
        }
        // Empty non-terminals: every name between an owner and the apex exists.
        let owners: Vec<Box<[u8]>> = nodes.keys().cloned().collect();
        for key in owners {
            let mut cur: &[u8] = &key;
            while cur.len() > okey.len() {
                let Some(up) = parent(cur) else { break };
                if nodes.contains_key(up) {
                    cur = up;
                    continue;
                }
                let name = Name::from_wire(up).map_err(|e| err(format!("bad owner name: {e}")))?;
                let k: Box<[u8]> = up.into();
                nodes.insert(k.clone(), Node { name, key: k, rrsets: Vec::new(), cut: false, occluded: false, hidden: false });
                cur = up;
            }
        }
        // Zone cuts and occlusion: NS below the apex is a delegation; anything below a
        // delegation or a DNAME is not authoritative.
        let keys: Vec<Box<[u8]>> = nodes.keys().cloned().collect();
        for key in &keys {
            let is_cut = key[..] != okey[..] && nodes[key].rrset(rtype::NS).is_some();
            let mut occluded = false;
            let mut cur: &[u8] = key;
            while cur.len() > okey.len() {
                let Some(up) = parent(cur) else { break };
                if let Some(n) = nodes.get(up) {
                    let up_cut = up != &okey[..] && n.rrset(rtype::NS).is_some();
                    if up_cut || n.dname().is_some() {
                        occluded = true;
                        break;
                    }
                }
                cur = up;
            }
            if let Some(n) = nodes.get_mut(key) {
                n.cut = is_cut;
                n.occluded = occluded;
                n.hidden = n.rrsets.iter().all(|s| s.rtype == rtype::NSEC3) && !n.rrsets.is_empty();
            }
        }
        let mut nsec_chain: Vec<(Vec<u16>, Box<[u8]>)> = nodes
            .values()
            .filter(|n| !n.occluded && n.rrset(rtype::NSEC).is_some())
            .map(|n| (canonical_key(&n.key), n.key.clone()))
            .collect();
        nsec_chain.sort_unstable();
        let nsec3 = nsec3_chain(&okey, &nodes).map_err(err)?;
        let labels = origin.label_count();
        Ok(Zone { origin, key: okey, nodes, nsec_chain, nsec3, labels, soa, negative_ttl })
    }

    /// The origin.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The origin's lowercased wire form.
    pub fn origin_key(&self) -> &[u8] {
        &self.key
    }

    /// The number of labels in the origin.
    pub fn origin_labels(&self) -> usize {
        self.labels
    }

    /// The SOA record.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// The TTL of negative answers: min(SOA TTL, SOA minimum) (RFC 2308 §5).
    pub fn negative_ttl(&self) -> u32 {
        self.negative_ttl
    }

    /// The apex node.
    pub fn apex(&self) -> &Node {
        &self.nodes[&self.key]
    }

    /// The node with this lowercased wire name.
    #[inline]
    pub fn node(&self, key: &[u8]) -> Option<&Node> {
        self.nodes.get(key)
    }

    /// Number of nodes (empty non-terminals included).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The NSEC3 parameters and chain, if the zone is signed with NSEC3 (SHA-1).
    pub fn nsec3(&self) -> Option<&Nsec3Chain> {
        self.nsec3.as_ref()
    }

    /// Whether the zone has NSEC records (it is signed with NSEC).
    pub fn has_nsec(&self) -> bool {
        !self.nsec_chain.is_empty()
    }

    /// The node whose NSEC record covers or matches the name with this lowercased wire form:
    /// the last NSEC owner at or before it in canonical order (wrapping to the last one).
    pub fn nsec_covering(&self, key: &[u8]) -> Option<&Node> {
        if self.nsec_chain.is_empty() {
            return None;
        }
        let ck = canonical_key(key);
        let i = match self.nsec_chain.binary_search_by(|(k, _)| k.as_slice().cmp(&ck)) {
            Ok(i) => i,
            Err(0) => self.nsec_chain.len() - 1,
            Err(i) => i - 1,
        };
        self.nodes.get(&self.nsec_chain[i].1)
    }

    /// All records of the zone (each RRset followed by its signatures).
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.nodes.values().flat_map(|n| n.rrsets.iter().flat_map(|s| s.records.iter().chain(s.sigs.iter())))
    }
}
