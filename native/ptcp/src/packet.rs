//! The PTCP wire format: one datagram is one packet, a fixed 40-byte header, up to
//! [`MAX_SACK`] selective-acknowledgement blocks, then payload.
//!
//! Why a magic and a checksum: the UDP socket is shared with other traffic (Q2Q's hole
//! punching), so a datagram that does not start with [`MAGIC`] is *foreign* and handed back
//! to the application, and one that does but fails its CRC-32 is garbage and dropped.
//!
//! ```text
//!  0..3  magic "\xd7PT"     3 version (1)      4 flags     5 SACK block count
//!  6..8  reserved (0)       8..12 CRC-32 of the whole datagram with this field zeroed
//! 12..16 source conn id    16..20 destination conn id (0 in a first SYN)
//! 20..24 sequence number   24..28 acknowledgement   28..32 receive window (bytes)
//! 32..36 timestamp value   36..40 timestamp echo    then 8 bytes per SACK block, payload
//! ```
use thiserror::Error;

/// The first three bytes of every PTCP datagram.
pub const MAGIC: [u8; 3] = [0xd7, b'P', b'T'];
/// The wire version this crate speaks.
pub const VERSION: u8 = 1;
/// Bytes in the fixed header.
pub const HEADER_LEN: usize = 40;
/// The most SACK blocks one packet carries.
pub const MAX_SACK: usize = 4;
/// Bytes one SACK block takes.
pub const SACK_LEN: usize = 8;

/// Packet flags.
pub mod flags {
    /// Synchronise sequence numbers (opens a connection).
    pub const SYN: u8 = 0x01;
    /// The acknowledgement field is valid.
    pub const ACK: u8 = 0x02;
    /// The sender has finished sending.
    pub const FIN: u8 = 0x04;
    /// Reset the connection.
    pub const RST: u8 = 0x08;
    /// Every flag this version knows.
    pub const ALL: u8 = SYN | ACK | FIN | RST;
}

/// Why a datagram was not accepted as a PTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// It does not start with [`MAGIC`]: it belongs to someone else.
    #[error("not a PTCP datagram")]
    Foreign,
    /// Shorter than the fixed header.
    #[error("truncated PTCP header ({0} bytes)")]
    Truncated(usize),
    /// A version this crate does not speak.
    #[error("unsupported PTCP version {0}")]
    Version(u8),
    /// The CRC does not match: corrupted or forged.
    #[error("bad PTCP checksum")]
    Checksum,
    /// Unknown flag bits, non-zero reserved bytes, or an impossible flag combination.
    #[error("malformed PTCP header: {0}")]
    Malformed(&'static str),
}

/// A packet's header fields (sequence numbers as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// [`flags`] bits.
    pub flags: u8,
    /// The sender's connection id.
    pub src_id: u32,
    /// The receiver's connection id (0 in a first SYN).
    pub dst_id: u32,
    /// Sequence number of the first byte (or of the SYN/FIN).
    pub seq: u32,
    /// Next sequence number expected from the receiver of this packet.
    pub ack: u32,
    /// Receive window in bytes, from `ack` on.
    pub window: u32,
    /// Sender's timestamp (microseconds, wrapping; never 0).
    pub ts_val: u32,
    /// The latest timestamp received from the peer (0: none yet).
    pub ts_ecr: u32,
    /// Selective acknowledgements: `[start, end)` wire sequence ranges received.
    pub sack: [(u32, u32); MAX_SACK],
    /// How many of `sack` are used.
    pub sack_len: u8,
}

impl Header {
    /// True when every bit in `f` is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }

    /// The used SACK blocks.
    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        &self.sack[..usize::from(self.sack_len).min(MAX_SACK)]
    }

    /// Bytes this header takes on the wire.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN + SACK_LEN * usize::from(self.sack_len).min(MAX_SACK)
    }
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn checksum(d: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&d[..8]);
    h.update(&d[12..]);
    h.finalize()
}

/// True when `data` claims to be PTCP (starts with the magic); cheap, for demultiplexing.
pub fn is_ptcp(data: &[u8]) -> bool {
    data.len() >= MAGIC.len() && data[..3] == MAGIC
}

/// Parses and checks one datagram: its header and payload.
pub fn decode(data: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    if !is_ptcp(data) {
        return Err(DecodeError::Foreign);
    }
    if data.len() < HEADER_LEN {
        return Err(DecodeError::Truncated(data.len()));
    }
    if data[3] != VERSION {
        return Err(DecodeError::Version(data[3]));
    }
    if be32(data, 8) != checksum(data) {
        return Err(DecodeError::Checksum);
    }
    let fl = data[4];
    if fl & !flags::ALL != 0 {
        return Err(DecodeError::Malformed("unknown flags"));
    }
    if data[6] != 0 || data[7] != 0 {
        return Err(DecodeError::Malformed("reserved bytes set"));
    }
    if fl & flags::SYN != 0 && fl & (flags::FIN | flags::RST) != 0 {
        return Err(DecodeError::Malformed("SYN with FIN or RST"));
    }
    let n = usize::from(data[5]);
    if n > MAX_SACK {
        return Err(DecodeError::Malformed("too many SACK blocks"));
    }
    let body = HEADER_LEN + n * SACK_LEN;
    if data.len() < body {
        return Err(DecodeError::Malformed("SACK blocks past the end"));
    }
    let mut h = Header {
        flags: fl,
        src_id: be32(data, 12),
        dst_id: be32(data, 16),
        seq: be32(data, 20),
        ack: be32(data, 24),
        window: be32(data, 28),
        ts_val: be32(data, 32),
        ts_ecr: be32(data, 36),
        sack: [(0, 0); MAX_SACK],
        sack_len: data[5],
    };
    for (i, slot) in h.sack.iter_mut().take(n).enumerate() {
        let at = HEADER_LEN + i * SACK_LEN;
        *slot = (be32(data, at), be32(data, at + 4));
    }
    let payload = &data[body..];
    if !payload.is_empty() && fl & (flags::SYN | flags::RST) != 0 {
        return Err(DecodeError::Malformed("payload on SYN or RST"));
    }
    Ok((h, payload))
}

/// Writes `h` and `payload` as one datagram into `out` (cleared first), checksum included.
pub fn encode(h: &Header, payload: &[u8], out: &mut Vec<u8>) {
    let n = usize::from(h.sack_len).min(MAX_SACK);
    out.clear();
    out.reserve(HEADER_LEN + n * SACK_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(h.flags);
    out.push(n as u8);
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    for v in [
        h.src_id, h.dst_id, h.seq, h.ack, h.window, h.ts_val, h.ts_ecr,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    for &(s, e) in &h.sack[..n] {
        out.extend_from_slice(&s.to_be_bytes());
        out.extend_from_slice(&e.to_be_bytes());
    }
    out.extend_from_slice(payload);
    let c = checksum(out);
    out[8..12].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checksum() {
        let mut h = Header {
            flags: flags::ACK,
            src_id: 7,
            dst_id: 9,
            seq: u32::MAX,
            ack: 3,
            window: 65536,
            ts_val: 11,
            ts_ecr: 12,
            ..Header::default()
        };
        h.sack[0] = (5, 10);
        h.sack_len = 1;
        let mut out = Vec::new();
        encode(&h, b"hello", &mut out);
        assert_eq!(out.len(), HEADER_LEN + SACK_LEN + 5);
        let (g, p) = decode(&out).expect("decodes");
        assert_eq!((g, p), (h, &b"hello"[..]));
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad).is_err(), "flip at {i} accepted");
        }
        assert_eq!(decode(b"hello"), Err(DecodeError::Foreign));
        assert_eq!(decode(&out[..20]), Err(DecodeError::Truncated(20)));
    }
}
