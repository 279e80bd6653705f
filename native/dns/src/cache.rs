//! The answer cache: rendered responses of plain queries, keyed by what decides them.
//!
//! Most queries to an authoritative server are the same few names asked again. A response
//! depends only on the lowercased question, the EDNS presence and DO bit, the size limit and
//! our payload size; the id, RD, CD and the case of the question name are copied from the
//! query. So a hit is a copy and three patches instead of a parse, a lookup and a render.
//! The cache lives in a catalog, and a changed zone means a new catalog, so it never serves
//! stale data.

use std::collections::HashMap;
use std::sync::Mutex;

/// The most responses kept (the cache is emptied when it is full).
pub const MAX_ENTRIES: usize = 16_384;
/// Responses larger than this are not kept.
pub const MAX_RESPONSE: usize = 4096;
/// The most bytes of keys and responses kept (the cache is emptied when it would pass this).
pub const MAX_BYTES: usize = 8 << 20;

const QR: u8 = 0x80;
const OPCODE: u8 = 0x78;
const RD: u8 = 0x01; // in byte 2
const CD: u8 = 0x10; // in byte 3
const OPT: u16 = 41;
const DO_BIT: u16 = 0x8000;

/// A query in the simple shape a cache can serve: one question with an uncompressed name,
/// no records but at most one OPT (EDNS version 0), nothing trailing.
pub(crate) struct Plain {
    /// Offset just past the question name.
    name_end: usize,
    /// The EDNS UDP size, if there is an OPT record.
    pub(crate) udp_size: Option<u16>,
    /// Whether DO is set.
    pub(crate) dnssec_ok: bool,
}

impl Plain {
    /// Reads a query's shape, strictly: anything this accepts, the full parser accepts.
    pub(crate) fn parse(q: &[u8]) -> Option<Plain> {
        if q.len() < 17 || q[2] & (QR | OPCODE) != 0 {
            return None;
        }
        let count = |i: usize| u16::from_be_bytes([q[i], q[i + 1]]);
        let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
        if qd != 1 || an != 0 || ns != 0 || ar > 1 {
            return None;
        }
        let mut pos = 12;
        loop {
            let len = *q.get(pos)? as usize;
            if len > 63 {
                return None;
            }
            pos += 1 + len;
            if pos - 12 > 255 {
                return None;
            }
            if len == 0 {
                break;
            }
        }
        let name_end = pos;
        pos += 4;
        if pos > q.len() {
            return None;
        }
        let mut plain = Plain { name_end, udp_size: None, dnssec_ok: false };
        if ar == 1 {
            // OPT: root owner, type, class = UDP size, TTL = ext rcode/version/flags, RDLEN.
            let rec = q.get(pos..pos + 11)?;
            if rec[0] != 0 || u16::from_be_bytes([rec[1], rec[2]]) != OPT || rec[6] != 0 {
                return None;
            }
            plain.udp_size = Some(u16::from_be_bytes([rec[3], rec[4]]));
            plain.dnssec_ok = u16::from_be_bytes([rec[7], rec[8]]) & DO_BIT != 0;
            let rdlen = u16::from_be_bytes([rec[9], rec[10]]) as usize;
            pos += 11;
            let end = pos + rdlen;
            if end != q.len() {
                return None;
            }
            while pos < end {
                let head = q.get(pos..pos + 4)?;
                pos += 4 + u16::from_be_bytes([head[2], head[3]]) as usize;
            }
            if pos != end {
                return None;
            }
        }
        (pos == q.len()).then_some(plain)
    }

    /// The cache key: lowercased name, type, class, EDNS state, size limit, our payload size.
    pub(crate) fn key<'b>(&self, q: &[u8], limit: u16, payload: u16, buf: &'b mut [u8; 272]) -> &'b [u8] {
        let name = &q[12..self.name_end];
        let n = name.len();
        for (d, s) in buf.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        buf[n..n + 4].copy_from_slice(&q[self.name_end..self.name_end + 4]);
        buf[n + 4] = match self.udp_size {
            None => 0,
            Some(_) if self.dnssec_ok => 2,
            Some(_) => 1,
        };
        buf[n + 5..n + 7].copy_from_slice(&limit.to_be_bytes());
        buf[n + 7..n + 9].copy_from_slice(&payload.to_be_bytes());
        &buf[..n + 9]
    }
}

/// Cache key -> rendered response, and the bytes they hold.
#[derive(Debug, Default)]
struct Responses {
    map: HashMap<Box<[u8]>, Box<[u8]>>,
    bytes: usize,
}

/// Rendered responses by key.
#[derive(Debug, Default)]
pub(crate) struct AnswerCache {
    map: Mutex<Responses>,
}

impl AnswerCache {
    /// The cached response for this query, patched with its id, RD, CD and name case.
    pub(crate) fn get(&self, key: &[u8], q: &[u8], plain: &Plain) -> Option<Vec<u8>> {
        let map = self.map.lock().ok()?;
        let hit = map.map.get(key)?;
        let mut out = hit.to_vec();
        drop(map);
        out[0] = q[0];
        out[1] = q[1];
        out[2] = (out[2] & !RD) | (q[2] & RD);
        out[3] = (out[3] & !CD) | (q[3] & CD);
        out[12..plain.name_end].copy_from_slice(&q[12..plain.name_end]);
        Some(out)
    }

    /// Keeps a response (if it is small enough).
    pub(crate) fn put(&self, key: &[u8], response: &[u8]) {
        if response.len() > MAX_RESPONSE {
            return;
        }
        if let Ok(mut r) = self.map.lock() {
            let size = key.len() + response.len();
            if r.map.len() >= MAX_ENTRIES || r.bytes + size > MAX_BYTES {
                r.map.clear();
                r.bytes = 0;
            }
            if let Some(old) = r.map.insert(key.into(), response.into()) {
                r.bytes -= key.len() + old.len();
            }
            r.bytes += size;
        }
    }

    /// Number of responses kept.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map_or(0, |r| r.map.len())
    }
}

impl Clone for AnswerCache {
    /// A new catalog starts with an empty cache.
    fn clone(&self) -> Self {
        AnswerCache::default()
    }
}
