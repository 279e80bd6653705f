//! The authoritative answer engine: a catalog of zones and the query -> response algorithm
//! (RFC 1034 §4.3.2 with CNAME/DNAME chains, referrals, RFC 4592 wildcards, RFC 2308
//! negative answers, RFC 6891 EDNS0, RFC 4035 DNSSEC records of a pre-signed zone).
//!
//! A whole answer is computed from the query bytes to the response bytes here, so the
//! server's hot path crosses into Python once per query.

use std::sync::Arc;

use crate::cache::{AnswerCache, Plain};
use crate::denial::{prove, Proof};
use crate::message::{Edns, Header, Message, Question, Record};
use crate::name::Name;
use crate::rdata::{rtype, RData};
use crate::zone::{NameMap, Node, Zone, CLASS_IN};

/// Response codes used here.
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// The query could not be parsed.
    pub const FORMERR: u16 = 1;
    /// The server failed.
    pub const SERVFAIL: u16 = 2;
    /// The name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// Opcode not implemented.
    pub const NOTIMP: u16 = 4;
    /// Not answered by policy (no zone of ours).
    pub const REFUSED: u16 = 5;
    /// A DNAME substitution made a name too long (RFC 6672 §2.2).
    pub const YXDOMAIN: u16 = 6;
    /// EDNS version not supported (RFC 6891 §6.1.3).
    pub const BADVERS: u16 = 16;
}

/// Query types that are not answered here.
mod qtype {
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const ANY: u16 = 255;
}

const QR: u16 = 0x8000;
const AA: u16 = 0x0400;
const RD: u16 = 0x0100;
const CD: u16 = 0x0010;
const OPCODE: u16 = 0x7800;
const DO_BIT: u16 = 0x8000;
const OPCODE_QUERY: u16 = 0;
const OPCODE_NOTIFY: u16 = 4;
const CLASS_ANY: u16 = 255;

/// The most CNAME/DNAME links followed for one query.
pub const MAX_CHAIN: usize = 16;
/// The smallest UDP response size limit (RFC 1035 §2.3.4).
pub const MIN_UDP_SIZE: usize = 512;

/// What the server should do with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send these bytes back.
    Response(Vec<u8>),
    /// Not answered here: NOTIFY, AXFR/IXFR, or a recursive query for a name in no zone.
    Pass,
    /// Send nothing (shorter than a header, or a response).
    Drop,
}

/// How the engine answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Whether recursion is offered: queries with RD=1 for names in no zone are passed on.
    pub recursion: bool,
    /// Our EDNS UDP payload size, advertised in the OPT record and the most we send.
    pub max_udp_payload: u16,
}

impl Default for Config {
    fn default() -> Self {
        Config { recursion: false, max_udp_payload: 1232 }
    }
}

/// A name's lowercased wire form on the stack, with its label offsets.
struct Key {
    buf: [u8; 256],
    len: usize,
    starts: [u8; 128],
    /// Number of labels, root not counted; `starts[n]` is the root label's offset.
    n: usize,
}

impl Key {
    fn new(name: &Name) -> Key {
        let wire = name.as_wire();
        let mut k = Key { buf: [0; 256], len: wire.len().min(256), starts: [0; 128], n: 0 };
        for (d, s) in k.buf.iter_mut().zip(wire) {
            *d = s.to_ascii_lowercase();
        }
        let mut pos = 0;
        while pos < k.len && k.n < 128 {
            k.starts[k.n] = pos as u8;
            let len = k.buf[pos] as usize;
            if len == 0 {
                break;
            }
            k.n += 1;
            pos += 1 + len;
        }
        k
    }

    /// The name without its first `i` labels.
    #[inline]
    fn suffix(&self, i: usize) -> &[u8] {
        &self.buf[self.starts[i.min(self.n)] as usize..self.len]
    }
}

/// Where a name leads in a zone.
enum Lookup<'z> {
    /// Below (or at, for non-DS queries) a zone cut.
    Delegation(&'z Node),
    /// Below a DNAME.
    Dname(&'z Node),
    /// The name exists.
    Exact(&'z Node),
    /// Synthesized from the wildcard `wild` at the closest encloser.
    Wildcard(&'z Node),
    /// The name does not exist; the node is the closest encloser.
    NxDomain(&'z Node),
}

fn lookup<'z>(zone: &'z Zone, key: &Key, qt: u16) -> Lookup<'z> {
    let zl = zone.origin_labels();
    let apex = zone.apex();
    if key.n <= zl {
        return Lookup::Exact(apex);
    }
    if apex.dname().is_some() {
        return Lookup::Dname(apex);
    }
    let mut closest = apex;
    for i in (0..key.n - zl).rev() {
        let Some(node) = zone.node(key.suffix(i)).filter(|n| !n.hidden) else {
            return wildcard(zone, closest);
        };
        if node.cut && !(i == 0 && qt == rtype::DS) {
            return Lookup::Delegation(node);
        }
        if i == 0 {
            return Lookup::Exact(node);
        }
        if node.dname().is_some() {
            return Lookup::Dname(node);
        }
        closest = node;
    }
    Lookup::Exact(closest)
}

/// RFC 4592 §3.3.1: the source of synthesis is `*.<closest encloser>` if it exists.
fn wildcard<'z>(zone: &'z Zone, closest: &'z Node) -> Lookup<'z> {
    let ce = &closest.key;
    if ce.len() + 2 > 255 {
        return Lookup::NxDomain(closest);
    }
    let mut buf = [0u8; 256];
    buf[0] = 1;
    buf[1] = b'*';
    buf[2..2 + ce.len()].copy_from_slice(ce);
    match zone.node(&buf[..2 + ce.len()]) {
        Some(w) => Lookup::Wildcard(w),
        None => Lookup::NxDomain(closest),
    }
}

/// Appends records, renamed to `owner` when given.
fn push(out: &mut Vec<Record>, recs: &[Record], owner: Option<&Name>) {
    for r in recs {
        match owner {
            Some(o) => out.push(Record { name: o.clone(), rtype: r.rtype, class: r.class, ttl: r.ttl, rdata: r.rdata.clone() }),
            None => out.push(r.clone()),
        }
    }
}

/// The name an RDATA points at, for additional-section processing.
fn target(rec: &Record) -> Option<&Name> {
    match &rec.rdata {
        RData::Name(n) if rec.rtype == rtype::NS => Some(n),
        RData::Mx { exchange, .. } => Some(exchange),
        RData::Srv { target, .. } => Some(target),
        _ => None,
    }
}

/// The sections of a response being built.
#[derive(Default)]
struct Sections {
    answer: Vec<Record>,
    authority: Vec<Record>,
    additional: Vec<Record>,
    aa: bool,
    rcode: u16,
    /// Leading additional records that must all fit or TC is set: in-domain glue of a
    /// referral (RFC 9471 §3).
    required_glue: usize,
}

/// A set of zones to answer from. Cheap to clone (zones are shared), so a server swaps in a
/// new catalog to add or replace a zone atomically.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    zones: NameMap<Arc<Zone>>,
    cache: AnswerCache,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Adds or replaces the zone with the same origin.
    pub fn insert(&mut self, zone: Arc<Zone>) {
        self.zones.insert(zone.origin_key().into(), zone);
        self.cache = AnswerCache::default();
    }

    /// Removes the zone with this origin; whether there was one.
    pub fn remove(&mut self, origin: &Name) -> bool {
        self.cache = AnswerCache::default();
        self.zones.remove(&origin.as_wire().to_ascii_lowercase()[..]).is_some()
    }

    /// The zone with this origin.
    pub fn get(&self, origin: &Name) -> Option<&Arc<Zone>> {
        self.zones.get(&origin.as_wire().to_ascii_lowercase()[..])
    }

    /// The origins, in canonical order.
    pub fn origins(&self) -> Vec<Name> {
        let mut v: Vec<Name> = self.zones.values().map(|z| z.origin().clone()).collect();
        v.sort();
        v
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Number of responses in the answer cache.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Whether there are no zones.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The deepest zone containing the name; for DS, the parent side of a zone apex is
    /// preferred (RFC 4035 §3.1.4.1).
    fn find(&self, key: &Key, qt: u16) -> Option<&Arc<Zone>> {
        let first = usize::from(qt == rtype::DS && key.n > 0);
        (first..=key.n)
            .find_map(|i| self.zones.get(key.suffix(i)))
            .or_else(|| if first == 1 { self.zones.get(key.suffix(0)) } else { None })
    }

    /// Answers one query given as wire bytes (`tcp`: it came over TCP, so the response may
    /// be up to 65535 bytes).
    pub fn answer(&self, query: &[u8], tcp: bool, cfg: &Config) -> Outcome {
        let plain = Plain::parse(query);
        let mut key_buf = [0u8; 272];
        let cache_key = plain.as_ref().map(|p| {
            let limit = size_limit(tcp, p.udp_size, cfg) as u16;
            p.key(query, limit, cfg.max_udp_payload, &mut key_buf)
        });
        if let (Some(p), Some(k)) = (&plain, cache_key) {
            if let Some(hit) = self.cache.get(k, query, p) {
                return Outcome::Response(hit);
            }
        }
        if query.len() < 12 {
            return Outcome::Drop;
        }
        let id = u16::from_be_bytes([query[0], query[1]]);
        let flags = u16::from_be_bytes([query[2], query[3]]);
        if flags & QR != 0 {
            return Outcome::Drop;
        }
        let opcode = (flags & OPCODE) >> 11;
        if opcode == OPCODE_NOTIFY {
            return Outcome::Pass;
        }
        let header = Header { id, flags: QR | (flags & (OPCODE | RD | CD)), rcode: 0 };
        let msg = match Message::parse(query) {
            Ok(m) => m,
            Err(_) => {
                let rc = if opcode == OPCODE_QUERY { rcode::FORMERR } else { rcode::NOTIMP };
                return error_response(header, question_of(query), None, rc);
            }
        };
        let edns = msg.edns.as_ref().map(|e| Edns {
            udp_size: cfg.max_udp_payload.max(MIN_UDP_SIZE as u16),
            version: 0,
            flags: e.flags & DO_BIT,
            options: Vec::new(),
        });
        if opcode != OPCODE_QUERY {
            let q = if msg.questions.len() == 1 { msg.questions.into_iter().next() } else { None };
            return error_response(header, q, edns, rcode::NOTIMP);
        }
        if msg.questions.len() != 1 {
            return error_response(header, None, edns, rcode::FORMERR);
        }
        let q = msg.questions.into_iter().next().unwrap_or_else(|| Question { name: Name::root(), qtype: 0, qclass: 0 });
        if let Some(e) = &msg.edns {
            if e.version > 0 {
                return error_response(header, Some(q), edns, rcode::BADVERS);
            }
        }
        if q.qtype == qtype::AXFR || q.qtype == qtype::IXFR {
            return Outcome::Pass;
        }
        if q.qclass != CLASS_IN && q.qclass != CLASS_ANY {
            return error_response(header, Some(q), edns, rcode::REFUSED);
        }
        let key = Key::new(&q.name);
        let Some(zone) = self.find(&key, q.qtype) else {
            if cfg.recursion && flags & RD != 0 {
                return Outcome::Pass;
            }
            return error_response(header, Some(q), edns, rcode::REFUSED);
        };
        let do_bit = msg.edns.as_ref().is_some_and(Edns::dnssec_ok);
        let mut s = Sections { aa: true, ..Sections::default() };
        self.resolve(zone, &key, &q.name, q.qtype, do_bit, &mut s);
        let limit = size_limit(tcp, msg.edns.as_ref().map(|e| e.udp_size), cfg);
        let mut h = header;
        if s.aa {
            h.flags |= AA;
        }
        h.rcode = s.rcode;
        let required_glue = s.required_glue;
        let resp = Message {
            header: h,
            questions: vec![q],
            answers: s.answer,
            authority: s.authority,
            additional: s.additional,
            edns,
        };
        match resp.render(Some(limit)) {
            Ok(mut wire) => {
                let opt = usize::from(resp.edns.is_some());
                let additional = usize::from(u16::from_be_bytes([wire[10], wire[11]]));
                if additional < required_glue + opt {
                    wire[2] |= 0x02; // TC: the resolver must retry over TCP for the glue
                }
                if let Some(k) = cache_key {
                    self.cache.put(k, &wire);
                }
                Outcome::Response(wire)
            }
            Err(_) => {
                let Message { header, questions, edns, .. } = resp;
                error_response(Header { flags: header.flags & !AA, ..header }, questions.into_iter().next(), edns, rcode::SERVFAIL)
            }
        }
    }

    /// Follows the query through the zones (CNAME and DNAME links included) and fills the
    /// sections.
    fn resolve(&self, first: &Arc<Zone>, first_key: &Key, qname: &Name, qt: u16, do_bit: bool, s: &mut Sections) {
        let mut zone: &Zone = first;
        let mut name = qname.clone();
        let mut visited: Vec<Name> = Vec::new();
        let mut key_store;
        let mut key = first_key;
        for step in 0..MAX_CHAIN {
            let next: Name = match lookup(zone, key, qt) {
                Lookup::Delegation(cut) => {
                    if step == 0 {
                        s.aa = false;
                        referral(zone, cut, do_bit, s);
                    }
                    return;
                }
                Lookup::Dname(node) => {
                    let Some(d) = node.dname() else { return };
                    push(&mut s.answer, &d.records, None);
                    if do_bit {
                        push(&mut s.answer, &d.sigs, None);
                    }
                    let Some(RData::Name(target)) = d.records.first().map(|r| &r.rdata) else { return };
                    let keep = name.as_wire().len() - node.key.len();
                    let mut wire = Vec::with_capacity(keep + target.as_wire().len());
                    wire.extend_from_slice(&name.as_wire()[..keep]);
                    wire.extend_from_slice(target.as_wire());
                    let Ok(new) = Name::from_wire(&wire) else {
                        s.rcode = rcode::YXDOMAIN;
                        return;
                    };
                    s.answer.push(Record {
                        name: name.clone(),
                        rtype: rtype::CNAME,
                        class: CLASS_IN,
                        ttl: d.records[0].ttl,
                        rdata: RData::Name(new.clone()),
                    });
                    new
                }
                Lookup::Exact(node) => match self.at_node(zone, node, &name, key, qt, do_bit, false, s) {
                    Some(n) => n,
                    None => return,
                },
                Lookup::Wildcard(wild) => match self.at_node(zone, wild, &name, key, qt, do_bit, true, s) {
                    Some(n) => n,
                    None => return,
                },
                Lookup::NxDomain(closest) => {
                    s.rcode = rcode::NXDOMAIN;
                    negative(zone, do_bit, s);
                    if do_bit {
                        prove(zone, Proof::NxDomain { qname: key.suffix(0), ce: &closest.key }, &mut s.authority);
                    }
                    return;
                }
            };
            if visited.contains(&next) || next == *qname {
                return;
            }
            visited.push(name);
            name = next;
            key_store = Key::new(&name);
            key = &key_store;
            match self.find(key, qt) {
                Some(z) => zone = z,
                None => return,
            }
        }
    }

    /// Answers at an existing node (or a wildcard standing in for `name`). Returns the next
    /// name when a CNAME is followed.
    #[allow(clippy::too_many_arguments)]
    fn at_node(&self, zone: &Zone, node: &Node, name: &Name, key: &Key, qt: u16, do_bit: bool, wild: bool, s: &mut Sections) -> Option<Name> {
        // A wildcard node's key is `*.` + the closest encloser's.
        let ce = node.key.get(2..).unwrap_or(&[]);
        let proof = |s: &mut Sections| {
            if do_bit && wild {
                prove(zone, Proof::WildcardAnswer { qname: key.suffix(0), ce }, &mut s.authority);
            }
        };
        if qt != rtype::CNAME && qt != rtype::RRSIG && qt != rtype::NSEC {
            if let Some(cname) = node.rrset(rtype::CNAME) {
                push(&mut s.answer, &cname.records, Some(name));
                if do_bit {
                    push(&mut s.answer, &cname.sigs, Some(name));
                }
                proof(s);
                if qt == qtype::ANY {
                    return None;
                }
                return match cname.records.first().map(|r| &r.rdata) {
                    Some(RData::Name(t)) => Some(t.clone()),
                    _ => None,
                };
            }
        }
        let set = if qt == qtype::ANY {
            node.rrsets.iter().find(|r| !r.records.is_empty())
        } else if qt == rtype::RRSIG {
            let before = s.answer.len();
            for r in &node.rrsets {
                push(&mut s.answer, &r.sigs, Some(name));
            }
            if s.answer.len() > before {
                proof(s);
                return None;
            }
            None
        } else {
            node.rrset(qt)
        };
        let Some(set) = set else {
            negative(zone, do_bit, s);
            if do_bit {
                let qname = key.suffix(0);
                let proof = if wild { Proof::WildcardNoData { qname, ce, wild: node } } else { Proof::NoData { qname, node } };
                prove(zone, proof, &mut s.authority);
            }
            return None;
        };
        push(&mut s.answer, &set.records, Some(name));
        if do_bit && set.rtype != rtype::RRSIG {
            push(&mut s.answer, &set.sigs, Some(name));
        }
        proof(s);
        if matches!(set.rtype, rtype::MX | rtype::NS | rtype::SRV) {
            additional(zone, &set.records, set.rtype == rtype::NS, do_bit, s, |_| true);
        }
        None
    }
}

/// The response size limit: 65535 over TCP; over UDP the client's EDNS size capped at ours,
/// at least 512; 512 without EDNS (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
fn size_limit(tcp: bool, udp_size: Option<u16>, cfg: &Config) -> usize {
    if tcp {
        return 65535;
    }
    match udp_size {
        Some(u) => usize::from(u).min(usize::from(cfg.max_udp_payload)).max(MIN_UDP_SIZE),
        None => MIN_UDP_SIZE,
    }
}

/// The zone's SOA in the authority section, TTL capped at the SOA minimum (RFC 2308 §3).
fn negative(zone: &Zone, do_bit: bool, s: &mut Sections) {
    let ttl = zone.negative_ttl();
    let soa = zone.soa();
    s.authority.push(Record { ttl, ..soa.clone() });
    if do_bit {
        if let Some(set) = zone.apex().rrsets.iter().find(|r| r.rtype == rtype::SOA) {
            for sig in &set.sigs {
                s.authority.push(Record { ttl, ..sig.clone() });
            }
        }
    }
}

/// A referral to the child zone at `cut`: its NS records in authority (with the DS or the
/// NSEC proving there is none when DO is set) and glue in additional.
fn referral(zone: &Zone, cut: &Node, do_bit: bool, s: &mut Sections) {
    let Some(ns) = cut.rrset(rtype::NS) else { return };
    push(&mut s.authority, &ns.records, None);
    if do_bit {
        if let Some(ds) = cut.rrset(rtype::DS) {
            push(&mut s.authority, &ds.records, None);
            push(&mut s.authority, &ds.sigs, None);
        } else {
            prove(zone, Proof::NoDs { cut }, &mut s.authority);
        }
    }
    // In-domain glue first (it must fit), then sibling glue (it may be left out).
    additional(zone, &ns.records, true, do_bit, s, |t| t.is_subdomain(&cut.name));
    s.required_glue = s.additional.len();
    additional(zone, &ns.records, true, do_bit, s, |t| !t.is_subdomain(&cut.name));
}

/// A and AAAA records of in-zone targets of NS, MX and SRV records (`glue`: occluded data
/// below a cut may be used, as for NS).
fn additional(zone: &Zone, recs: &[Record], glue: bool, do_bit: bool, s: &mut Sections, want: impl Fn(&Name) -> bool) {
    for (i, rec) in recs.iter().enumerate() {
        let Some(t) = target(rec) else { continue };
        if !want(t) || !t.is_subdomain(zone.origin()) || recs[..i].iter().any(|r| target(r) == Some(t)) {
            continue;
        }
        let key = Key::new(t);
        let Some(node) = zone.node(key.suffix(0)) else { continue };
        if node.occluded && !glue {
            continue;
        }
        for at in [rtype::A, rtype::AAAA] {
            if let Some(set) = node.rrset(at) {
                push(&mut s.additional, &set.records, None);
                if do_bit && !node.occluded {
                    push(&mut s.additional, &set.sigs, None);
                }
            }
        }
    }
}

/// The question of a query whose whole message does not parse, if the header and question
/// alone do.
fn question_of(query: &[u8]) -> Option<Question> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) == 0 {
        return None;
    }
    let mut pos = 12;
    loop {
        let b = *query.get(pos)? as usize;
        if b == 0 {
            pos += 1;
            break;
        }
        if b & 0xC0 == 0xC0 {
            pos += 2;
            break;
        }
        if b > 63 {
            return None;
        }
        pos += 1 + b;
    }
    let end = pos + 4;
    let mut head = query.get(..end)?.to_vec();
    head[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    Message::parse(&head).ok()?.questions.into_iter().next()
}

/// A response with no records: the header, the question when there is one, and the OPT
/// record when the query had one.
fn error_response(mut header: Header, q: Option<Question>, edns: Option<Edns>, rc: u16) -> Outcome {
    header.rcode = rc;
    header.flags &= !AA;
    let edns = if rc > 0xF && edns.is_none() { Some(Edns { udp_size: MIN_UDP_SIZE as u16, ..Edns::default() }) } else { edns };
    let msg = Message { header, questions: q.into_iter().collect(), edns, ..Message::default() };
    match msg.render(None) {
        Ok(wire) => Outcome::Response(wire),
        Err(_) => Outcome::Drop,
    }
}
