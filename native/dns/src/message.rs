//! Whole messages: header, sections, EDNS0; parse and render.

use std::collections::HashMap;

use crate::error::{FormatError, RenderError};
use crate::name::{Name, MAX_NAME_LEN};
use crate::rdata::{rtype, RData};
use crate::wire::Reader;

/// The header flags word bits (RFC 1035 §4.1.1, RFC 4035 §3.2).
mod bits {
    pub const QR: u16 = 0x8000;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
    pub const AD: u16 = 0x0020;
    pub const CD: u16 = 0x0010;
}

/// The EDNS0 DO (DNSSEC OK) bit in the OPT record's flags.
const DO_BIT: u16 = 0x8000;

/// A message header. `flags` is the second header word without the RCODE bits; `rcode` is
/// the full 12-bit response code (its upper 8 bits travel in the OPT record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Message id.
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z, AD, CD as on the wire (low 4 bits zero).
    pub flags: u16,
    /// Response code, extended rcode included.
    pub rcode: u16,
}

macro_rules! flag {
    ($get:ident, $set:ident, $bit:expr, $doc:literal) => {
        #[doc = $doc]
        pub fn $get(&self) -> bool {
            self.flags & $bit != 0
        }
        #[doc = concat!("Sets: ", $doc)]
        pub fn $set(&mut self, on: bool) {
            if on {
                self.flags |= $bit;
            } else {
                self.flags &= !$bit;
            }
        }
    };
}

impl Header {
    flag!(qr, set_qr, bits::QR, "Whether this is a response (QR).");
    flag!(aa, set_aa, bits::AA, "Authoritative answer (AA).");
    flag!(tc, set_tc, bits::TC, "Truncated (TC).");
    flag!(rd, set_rd, bits::RD, "Recursion desired (RD).");
    flag!(ra, set_ra, bits::RA, "Recursion available (RA).");
    flag!(ad, set_ad, bits::AD, "Authentic data (AD).");
    flag!(cd, set_cd, bits::CD, "Checking disabled (CD).");

    /// The opcode.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xF) as u8
    }

    /// Sets the opcode (only the low 4 bits are used).
    pub fn set_opcode(&mut self, opcode: u8) {
        self.flags = (self.flags & !0x7800) | (u16::from(opcode & 0xF) << 11);
    }
}

/// An entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: Name,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// Time to live.
    pub ttl: u32,
    /// Data.
    pub rdata: RData,
}

/// EDNS0 parameters (the OPT pseudo-record, RFC 6891).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub udp_size: u16,
    /// EDNS version.
    pub version: u8,
    /// The flags word (DO is the top bit).
    pub flags: u16,
    /// Options as (code, data), in wire order.
    pub options: Vec<(u16, Vec<u8>)>,
}

impl Edns {
    /// Whether the DO bit is set.
    pub fn dnssec_ok(&self) -> bool {
        self.flags & DO_BIT != 0
    }

    /// Sets the DO bit.
    pub fn set_dnssec_ok(&mut self, on: bool) {
        if on {
            self.flags |= DO_BIT;
        } else {
            self.flags &= !DO_BIT;
        }
    }

    fn wire_len(&self) -> usize {
        11 + self.options.iter().map(|(_, d)| 4 + d.len()).sum::<usize>()
    }
}

/// A whole DNS message. The OPT record is not kept in `additional`: it is `edns`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Header.
    pub header: Header,
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section (without OPT).
    pub additional: Vec<Record>,
    /// EDNS0, if the message has an OPT record.
    pub edns: Option<Edns>,
}

/// The smallest question entry (root name, type, class).
const MIN_QUESTION: usize = 5;
/// The smallest resource record (root name, type, class, TTL, RDLENGTH).
const MIN_RECORD: usize = 11;

/// Which section a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answer.
    Answer,
    /// Authority.
    Authority,
    /// Additional (never the OPT record: that is [`Sink::edns`]).
    Additional,
}

/// Receives the parts of a message as [`Message::parse_with`] reads and checks them, in wire
/// order; names come as uncompressed wire bytes borrowed for the call, so a sink that builds
/// something else than a [`Message`] pays for no intermediate allocation. An error a sink
/// returns stops the parse and is returned as is.
pub trait Sink {
    /// The header's id and flags word (RCODE bits removed) and the four section counts.
    fn header(&mut self, id: u16, flags: u16, counts: [usize; 4]) -> Result<(), FormatError>;
    /// One question.
    fn question(&mut self, name: &[u8], qtype: u16, qclass: u16) -> Result<(), FormatError>;
    /// One resource record (OPT excluded). The data is lent mutably so that a sink that keeps
    /// it can take it (`std::mem::replace`) without a copy or an allocation, and one that
    /// converts it need not move it at all.
    fn record(&mut self, section: Section, name: &[u8], rtype: u16, class: u16, ttl: u32, rdata: &mut RData)
        -> Result<(), FormatError>;
    /// The OPT record, once at most, after the records before it.
    fn edns(&mut self, edns: Edns) -> Result<(), FormatError>;
}

/// The [`Sink`] behind [`Message::parse`].
struct MessageSink(Message);

impl Sink for MessageSink {
    fn header(&mut self, id: u16, flags: u16, counts: [usize; 4]) -> Result<(), FormatError> {
        let m = &mut self.0;
        m.header.id = id;
        m.header.flags = flags;
        m.questions.reserve_exact(counts[0]);
        m.answers.reserve_exact(counts[1]);
        m.authority.reserve_exact(counts[2]);
        m.additional.reserve_exact(counts[3]);
        Ok(())
    }

    fn question(&mut self, name: &[u8], qtype: u16, qclass: u16) -> Result<(), FormatError> {
        self.0.questions.push(Question { name: Name::from_checked(name), qtype, qclass });
        Ok(())
    }

    fn record(&mut self, section: Section, name: &[u8], rtype: u16, class: u16, ttl: u32, rdata: &mut RData)
        -> Result<(), FormatError> {
        let rdata = std::mem::replace(rdata, RData::Opaque(Vec::new()));
        let rec = Record { name: Name::from_checked(name), rtype, class, ttl, rdata };
        match section {
            Section::Answer => self.0.answers.push(rec),
            Section::Authority => self.0.authority.push(rec),
            Section::Additional => self.0.additional.push(rec),
        }
        Ok(())
    }

    fn edns(&mut self, edns: Edns) -> Result<(), FormatError> {
        self.0.edns = Some(edns);
        Ok(())
    }
}

impl Message {
    /// Parses a whole message. Trailing bytes after the last record are an error.
    pub fn parse(data: &[u8]) -> Result<Message, FormatError> {
        let mut sink = MessageSink(Message::default());
        let header = Message::parse_with(data, &mut sink)?;
        let mut msg = sink.0;
        msg.header = header;
        Ok(msg)
    }

    /// Parses a whole message into `sink`, checking everything [`Message::parse`] checks;
    /// returns the header with the full RCODE (extended bits from OPT included).
    pub fn parse_with<S: Sink>(data: &[u8], sink: &mut S) -> Result<Header, FormatError> {
        let mut r = Reader::new(data);
        let id = r.u16("truncated header")?;
        let word = r.u16("truncated header")?;
        let qd = r.u16("truncated header")? as usize;
        let an = r.u16("truncated header")? as usize;
        let ns = r.u16("truncated header")? as usize;
        let ar = r.u16("truncated header")? as usize;
        if qd * MIN_QUESTION + (an + ns + ar) * MIN_RECORD > r.remaining() {
            return Err(FormatError::new(4, "section counts larger than the message"));
        }
        let mut header = Header { id, flags: word & 0xFFF0, rcode: word & 0xF };
        let mut edns_seen = false;
        sink.header(id, header.flags, [qd, an, ns, ar])?;
        let mut name = [0u8; MAX_NAME_LEN];
        // The compression pointer the name in `name` was read from, if it began with one: an
        // owner that is the same pointer again (the usual case: every record of an answer
        // naming the question) is the same name, already read and checked.
        let mut last_pointer: Option<&[u8]> = None;
        let mut last_len = 0;
        for _ in 0..qd {
            let n = Name::read_into(&mut r, &mut name)?;
            last_pointer = None;
            let qtype = r.u16("truncated question")?;
            let qclass = r.u16("truncated question")?;
            sink.question(&name[..n], qtype, qclass)?;
        }
        for i in 0..an + ns + ar {
            let at = r.pos;
            let here = data.get(at..at + 2);
            let n = if here.is_some() && here == last_pointer {
                r.pos += 2;
                last_len
            } else {
                let n = Name::read_into(&mut r, &mut name)?;
                last_pointer = here.filter(|p| p[0] & 0xC0 == 0xC0);
                last_len = n;
                n
            };
            let rt = r.u16("truncated record")?;
            let class = r.u16("truncated record")?;
            let ttl = r.u32("truncated record")?;
            let rdlen = r.u16("truncated record")? as usize;
            // Kept where it was built (see Sink::record): moving it costs a stall per record.
            let mut parsed = RData::parse(&mut r, rt, rdlen);
            let rdata = match &mut parsed {
                Ok(rdata) => rdata,
                Err(e) => return Err(e.clone()),
            };
            let section = if i < an {
                Section::Answer
            } else if i < an + ns {
                Section::Authority
            } else {
                Section::Additional
            };
            if rt == rtype::TSIG {
                if section != Section::Additional {
                    return Err(FormatError::new(at, "TSIG record outside the additional section"));
                }
                if i + 1 != an + ns + ar {
                    return Err(FormatError::new(at, "TSIG record is not the last record"));
                }
            }
            if rt != rtype::OPT || section != Section::Additional {
                sink.record(section, &name[..n], rt, class, ttl, rdata)?;
                continue;
            }
            if edns_seen {
                return Err(FormatError::new(at, "more than one OPT record"));
            }
            edns_seen = true;
            if n != 1 {
                return Err(FormatError::new(at, "OPT record owner is not the root"));
            }
            let RData::Opaque(data) = &*rdata else {
                return Err(FormatError::new(at, "OPT record data"));
            };
            let mut options = Vec::new();
            let mut o = Reader::new(data);
            while o.remaining() > 0 {
                let code = o.u16("truncated EDNS option").map_err(|e| FormatError::new(at + e.offset, e.what))?;
                let len = o.u16("truncated EDNS option").map_err(|e| FormatError::new(at + e.offset, e.what))?;
                let body = o
                    .bytes(len as usize, "EDNS option runs past its record")
                    .map_err(|e| FormatError::new(at + e.offset, e.what))?;
                options.push((code, body.to_vec()));
            }
            header.rcode |= ((ttl >> 24) as u16) << 4;
            sink.edns(Edns { udp_size: class, version: (ttl >> 16) as u8, flags: ttl as u16, options })?;
        }
        if r.remaining() != 0 {
            return Err(FormatError::new(r.pos, "trailing bytes after the last record"));
        }
        Ok(header)
    }

    /// Renders the message, compressing names. With `max_size`, whole RRsets are dropped from
    /// the end (additional first, then authority, then answer) until the rest fits; TC is set
    /// if any answer or authority record was dropped (RFC 2181 §9). The OPT record is kept.
    pub fn render(&self, max_size: Option<usize>) -> Result<Vec<u8>, RenderError> {
        let h = &self.header;
        if h.rcode > 0xF && self.edns.is_none() {
            return Err(RenderError::new("extended rcode without EDNS"));
        }
        if h.rcode > 0xFFF {
            return Err(RenderError::new("rcode over 12 bits"));
        }
        let limit = max_size.unwrap_or(65535).min(65535);
        // A TSIG record goes last, after OPT (RFC 8945 §5.1), and is never dropped.
        let (additional, tsig) = match self.additional.split_last() {
            Some((last, rest)) if last.rtype == rtype::TSIG => (rest, Some(last)),
            _ => (&self.additional[..], None),
        };
        if [&self.answers, &self.authority].iter().any(|s| s.iter().any(|r| r.rtype == rtype::TSIG))
            || additional.iter().any(|r| r.rtype == rtype::TSIG)
        {
            return Err(RenderError::new("a TSIG record must be the last additional record"));
        }
        let tsig_len = match tsig {
            None => 0,
            Some(rec) => {
                let mut scratch = Writer::with_capacity(64);
                scratch.record(rec)?;
                scratch.buf.len()
            }
        };
        let opt_len = self.edns.as_ref().map_or(0, Edns::wire_len) + tsig_len;
        let mut w = Writer::with_capacity(512);
        w.buf.extend_from_slice(&h.id.to_be_bytes());
        w.buf.extend_from_slice(&((h.flags & 0xFFF0) | (h.rcode & 0xF)).to_be_bytes());
        w.buf.extend_from_slice(&[0; 8]);
        for q in &self.questions {
            w.name(&q.name, true);
            w.buf.extend_from_slice(&q.qtype.to_be_bytes());
            w.buf.extend_from_slice(&q.qclass.to_be_bytes());
        }
        if w.buf.len() + opt_len > limit {
            return Err(RenderError::new("max_size too small for the header and question"));
        }
        let budget = limit - opt_len;
        let mut counts = [self.questions.len(), 0, 0, 0];
        let mut truncated = false;
        let sections = [&self.answers[..], &self.authority[..], additional];
        'sections: for (i, section) in sections.iter().enumerate() {
            let mut start = 0;
            while start < section.len() {
                // One RRset: consecutive records with the same owner, type and class.
                let first = &section[start];
                let mut end = start + 1;
                while end < section.len() {
                    let rec = &section[end];
                    if rec.rtype != first.rtype || rec.class != first.class || rec.name != first.name {
                        break;
                    }
                    end += 1;
                }
                let mark = w.mark();
                for rec in &section[start..end] {
                    w.record(rec)?;
                }
                if w.buf.len() > budget {
                    w.rollback(mark);
                    truncated = i < 2;
                    break 'sections;
                }
                counts[i + 1] += end - start;
                start = end;
            }
        }
        if let Some(edns) = &self.edns {
            w.buf.push(0);
            w.buf.extend_from_slice(&rtype::OPT.to_be_bytes());
            w.buf.extend_from_slice(&edns.udp_size.to_be_bytes());
            w.buf.push((h.rcode >> 4) as u8);
            w.buf.push(edns.version);
            w.buf.extend_from_slice(&edns.flags.to_be_bytes());
            let len: usize = edns.options.iter().map(|(_, d)| 4 + d.len()).sum();
            w.buf.extend_from_slice(&u16::try_from(len).map_err(|_| RenderError::new("EDNS options too long"))?.to_be_bytes());
            for (code, data) in &edns.options {
                w.buf.extend_from_slice(&code.to_be_bytes());
                w.buf.extend_from_slice(&(data.len() as u16).to_be_bytes());
                w.buf.extend_from_slice(data);
            }
            counts[3] += 1;
        }
        if let Some(rec) = tsig {
            w.record(rec)?;
            counts[3] += 1;
        }
        if w.buf.len() > 65535 {
            return Err(RenderError::new("message longer than 65535 bytes"));
        }
        if truncated {
            w.buf[2] |= (bits::TC >> 8) as u8;
        }
        for (i, n) in counts.iter().enumerate() {
            let n = u16::try_from(*n).map_err(|_| RenderError::new("more than 65535 entries in a section"))?;
            w.buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&n.to_be_bytes());
        }
        Ok(w.buf)
    }
}

/// Output buffer with a name compression table.
pub(crate) struct Writer {
    /// The message so far.
    pub(crate) buf: Vec<u8>,
    /// Lowercased uncompressed suffix → offset where it was written.
    table: HashMap<Vec<u8>, u16>,
    /// Keys in insertion order, for rollback.
    added: Vec<(Vec<u8>, u16)>,
}

/// A point to roll back to.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    len: usize,
    added: usize,
}

impl Writer {
    fn with_capacity(n: usize) -> Self {
        Writer { buf: Vec::with_capacity(n), table: HashMap::new(), added: Vec::new() }
    }

    fn mark(&self) -> Mark {
        Mark { len: self.buf.len(), added: self.added.len() }
    }

    fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        for (key, _) in self.added.drain(mark.added..) {
            self.table.remove(&key);
        }
    }

    /// Writes a name; compressed against earlier names when `compress`. Its suffixes become
    /// targets for later names either way (when they lie in the first 16 KiB).
    pub(crate) fn name(&mut self, name: &Name, compress: bool) {
        let wire = name.as_wire();
        let mut pos = 0;
        while let Some(&len) = wire.get(pos) {
            if len == 0 {
                self.buf.push(0);
                return;
            }
            let suffix = &wire[pos..];
            let key = suffix.to_ascii_lowercase();
            if compress {
                if let Some(&off) = self.table.get(&key) {
                    self.buf.extend_from_slice(&(0xC000 | off).to_be_bytes());
                    return;
                }
            }
            let here = self.buf.len();
            if here < 0x4000 && !self.table.contains_key(&key) {
                self.table.insert(key.clone(), here as u16);
                self.added.push((key, here as u16));
            }
            let label_end = (pos + 1 + len as usize).min(wire.len());
            self.buf.extend_from_slice(&wire[pos..label_end]);
            pos = label_end;
        }
    }

    /// Writes a character-string (length byte and bytes).
    pub(crate) fn char_string(&mut self, s: &[u8]) -> Result<(), RenderError> {
        let n = u8::try_from(s.len()).map_err(|_| RenderError::new("character-string over 255 bytes"))?;
        self.buf.push(n);
        self.buf.extend_from_slice(s);
        Ok(())
    }

    /// Writes a whole record.
    fn record(&mut self, rec: &Record) -> Result<(), RenderError> {
        self.name(&rec.name, true);
        self.buf.extend_from_slice(&rec.rtype.to_be_bytes());
        self.buf.extend_from_slice(&rec.class.to_be_bytes());
        self.buf.extend_from_slice(&rec.ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        rec.rdata.render(self, rec.rtype)?;
        let len = u16::try_from(self.buf.len() - len_at - 2).map_err(|_| RenderError::new("RDATA over 65535 bytes"))?;
        self.buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, rtype: u16, rdata: RData) -> Record {
        Record { name: Name::from_text(name).unwrap(), rtype, class: 255, ttl: 0, rdata }
    }

    fn tsig() -> Record {
        rec(
            "key.",
            rtype::TSIG,
            RData::Tsig {
                algorithm: Name::from_text("hmac-sha256.").unwrap(),
                time_signed: (1 << 48) - 1,
                fudge: 300,
                mac: vec![7; 32],
                original_id: 9,
                error: 0,
                other: vec![],
            },
        )
    }

    #[test]
    fn tsig_goes_after_opt_and_round_trips() {
        let a = rec("a.example.", rtype::A, RData::A("192.0.2.1".parse().unwrap()));
        let msg = Message {
            additional: vec![a, tsig()],
            edns: Some(Edns { udp_size: 1232, ..Edns::default() }),
            ..Message::default()
        };
        let wire = msg.render(None).unwrap();
        assert_eq!(Message::parse(&wire).unwrap(), msg);
        // the last record on the wire is the TSIG: its owner `key.` sits right after OPT
        let opt_at = wire.windows(3).position(|w| w == [0, 0, 41]).unwrap();
        assert_eq!(&wire[opt_at + 11..opt_at + 16], b"\x03key\x00");
    }

    #[test]
    fn tsig_anywhere_else_is_refused() {
        let a = rec("a.example.", rtype::A, RData::A("192.0.2.1".parse().unwrap()));
        for msg in [
            Message { additional: vec![tsig(), a.clone()], ..Message::default() },
            Message { answers: vec![tsig()], ..Message::default() },
            Message { authority: vec![tsig()], ..Message::default() },
        ] {
            assert!(msg.render(None).is_err());
        }
    }
}
