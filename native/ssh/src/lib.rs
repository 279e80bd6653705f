//! plait-ssh: the SSH binary packet protocol (RFC 4253 §6), sans-IO.
//!
//! [`PacketLayer`] turns payloads into packets and bytes back into payloads for one
//! connection: padding, encryption, MAC, sequence numbers (wrapping at 2^32) and
//! zlib@openssh.com compression, with keys changed between packets for rekeying. It decodes
//! across any chunking, and stops after a NEWKEYS payload so the caller can install the new
//! incoming keys before the next packet is touched. No sockets, no clock.

mod algo;
mod compress;
mod error;
#[cfg(target_arch = "x86_64")]
mod gcm;
mod sntrup761;

pub use self::sntrup761::{
    sntrup761_encapsulate, sntrup761_encapsulate_seeded, Sntrup761KeyPair, SntrupLengthError,
    SNTRUP761_CIPHERTEXT_SIZE, SNTRUP761_PUBLIC_KEY_SIZE, SNTRUP761_SECRET_KEY_SIZE,
    SNTRUP761_SHARED_SECRET_SIZE,
};
pub use algo::{cipher_spec, mac_spec, CipherSpec, Keys, MacSpec, CIPHERS, MACS};
pub use compress::{Deflater, Inflater};
pub use error::{PacketError, REASON_COMPRESSION_ERROR, REASON_MAC_ERROR, REASON_PROTOCOL_ERROR};

use algo::LengthMode;

/// SSH_MSG_NEWKEYS: the decoder pauses after it.
pub const MSG_NEWKEYS: u8 = 21;
/// The largest packet length (the uint32 field) a caller may allow: 1 MiB plus slack.
pub const MAX_PACKET_LENGTH_CAP: usize = (1 << 20) + 1024;
/// Padding's minimum (RFC 4253 §6).
const MIN_PADDING: usize = 4;
/// Random bytes drawn from the OS at a time for padding.
const POOL: usize = 4096;

/// Random padding bytes, drawn from the OS in batches.
#[derive(Default)]
struct PadPool {
    bytes: Vec<u8>,
    used: usize,
}

impl PadPool {
    fn take(&mut self, out: &mut Vec<u8>, n: usize) {
        if self.used + n > self.bytes.len() {
            self.bytes.resize(POOL, 0);
            getrandom::getrandom(&mut self.bytes[..]).expect("the OS random source works");
            self.used = 0;
        }
        out.extend_from_slice(&self.bytes[self.used..self.used + n]);
        self.used += n;
    }
}

/// Where the decoder is within the next packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InState {
    /// Waiting for enough bytes to learn the length.
    Head,
    /// The length is known (and for FirstBlock the first block is decrypted in place).
    Body { len: usize },
}

/// One connection's packet layer, both directions.
pub struct PacketLayer {
    max_packet_length: usize,
    enc: Keys,
    dec: Keys,
    deflate: Option<Deflater>,
    inflate: Option<Inflater>,
    inbuf: Vec<u8>,
    pos: usize,
    state: InState,
    paused: bool,
    /// The last payload when it had to be copied out (decompressed).
    scratch: Vec<u8>,
    pad: PadPool,
    /// The incoming sequence number of the next packet.
    pub seq_in: u32,
    /// The outgoing sequence number of the next packet.
    pub seq_out: u32,
    /// Wire bytes received since the last `set_decrypt`.
    pub bytes_in: u64,
    /// Wire bytes sent since the last `set_encrypt`.
    pub bytes_out: u64,
}

impl PacketLayer {
    /// A layer with no keys, accepting packets of up to `max_packet_length` bytes (the
    /// length field's value; at least 16 and at most [`MAX_PACKET_LENGTH_CAP`]).
    pub fn new(max_packet_length: usize) -> Result<PacketLayer, PacketError> {
        if !(16..=MAX_PACKET_LENGTH_CAP).contains(&max_packet_length) {
            return Err(PacketError::Config(format!(
                "max_packet_length must be between 16 and {MAX_PACKET_LENGTH_CAP}, got {max_packet_length}"
            )));
        }
        Ok(PacketLayer {
            max_packet_length,
            enc: Keys::none(),
            dec: Keys::none(),
            deflate: None,
            inflate: None,
            inbuf: Vec::new(),
            pos: 0,
            state: InState::Head,
            paused: false,
            scratch: Vec::new(),
            pad: PadPool::default(),
            seq_in: 0,
            seq_out: 0,
            bytes_in: 0,
            bytes_out: 0,
        })
    }

    /// The largest packet length accepted.
    pub fn max_packet_length(&self) -> usize {
        self.max_packet_length
    }

    /// Installs outgoing keys; the next encoded packet uses them. Restarts an enabled
    /// outgoing compression stream, as OpenSSH and paramiko do at each NEWKEYS.
    pub fn set_encrypt(
        &mut self,
        cipher: &str,
        key: &[u8],
        iv: &[u8],
        mac: Option<&str>,
        mac_key: &[u8],
    ) -> Result<(), PacketError> {
        self.enc = Keys::new(cipher, key, iv, mac, mac_key)?;
        self.bytes_out = 0;
        if self.deflate.is_some() {
            self.deflate = Some(Deflater::new());
        }
        Ok(())
    }

    /// Installs incoming keys; the next decoded packet uses them. Only valid between packets.
    pub fn set_decrypt(
        &mut self,
        cipher: &str,
        key: &[u8],
        iv: &[u8],
        mac: Option<&str>,
        mac_key: &[u8],
    ) -> Result<(), PacketError> {
        if self.state != InState::Head {
            return Err(PacketError::Config(
                "set_decrypt in the middle of a packet".into(),
            ));
        }
        self.dec = Keys::new(cipher, key, iv, mac, mac_key)?;
        self.bytes_in = 0;
        if self.inflate.is_some() {
            self.inflate = Some(Inflater::new());
        }
        Ok(())
    }

    /// Turns zlib@openssh.com on or off per direction; turning on a direction already on
    /// keeps its stream.
    pub fn set_compression(&mut self, outgoing: bool, incoming: bool) {
        match (outgoing, self.deflate.is_some()) {
            (true, false) => self.deflate = Some(Deflater::new()),
            (false, _) => self.deflate = None,
            _ => {}
        }
        match (incoming, self.inflate.is_some()) {
            (true, false) => self.inflate = Some(Inflater::new()),
            (false, _) => self.inflate = None,
            _ => {}
        }
    }

    /// Whether each direction compresses: (outgoing, incoming).
    pub fn compression(&self) -> (bool, bool) {
        (self.deflate.is_some(), self.inflate.is_some())
    }

    /// Appends one packet carrying `payload` to `out`, with random padding.
    pub fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), PacketError> {
        self.encode_parts(&[payload], out)
    }

    /// Appends one packet whose payload is `parts` concatenated (a message header and the
    /// caller's data, without joining them first), with random padding.
    pub fn encode_parts(&mut self, parts: &[&[u8]], out: &mut Vec<u8>) -> Result<(), PacketError> {
        let mut pad = std::mem::take(&mut self.pad);
        let r = self.encode_parts_with(parts, out, |buf, n| pad.take(buf, n));
        self.pad = pad;
        r
    }

    /// Appends SSH_MSG_CHANNEL_DATA (or CHANNEL_EXTENDED_DATA with `ext`) packets for
    /// `recipient` carrying `data` in pieces of at most `chunk` bytes: a whole window's worth
    /// of data in one call, each piece read once straight into the packet being sealed.
    pub fn encode_channel_data(
        &mut self,
        recipient: u32,
        ext: Option<u32>,
        data: &[u8],
        chunk: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), PacketError> {
        if chunk == 0 || data.is_empty() {
            return Err(PacketError::Config(
                "empty channel data or a zero chunk".into(),
            ));
        }
        let mut header = [0u8; 13];
        header[1..5].copy_from_slice(&recipient.to_be_bytes());
        let len_at = match ext {
            None => {
                header[0] = 94;
                5
            }
            Some(code) => {
                header[0] = 95;
                header[5..9].copy_from_slice(&code.to_be_bytes());
                9
            }
        };
        for piece in data.chunks(chunk) {
            header[len_at..len_at + 4].copy_from_slice(&(piece.len() as u32).to_be_bytes());
            self.encode_parts(&[&header[..len_at + 4], piece], out)?;
        }
        Ok(())
    }

    /// Like [`encode`](Self::encode) with padding bytes from `fill` (tests pin them).
    pub fn encode_with(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        fill: impl FnMut(&mut Vec<u8>, usize),
    ) -> Result<(), PacketError> {
        self.encode_parts_with(&[payload], out, fill)
    }

    fn encode_parts_with(
        &mut self,
        parts: &[&[u8]],
        out: &mut Vec<u8>,
        mut fill: impl FnMut(&mut Vec<u8>, usize),
    ) -> Result<(), PacketError> {
        let payload_len: usize = parts.iter().map(|p| p.len()).sum();
        if payload_len == 0 {
            // Every SSH message starts with its number; the decoder refuses empty payloads.
            return Err(PacketError::Config("an empty payload".into()));
        }
        let mut compressed = Vec::new();
        let body_parts: [&[u8]; 1];
        let body: &[&[u8]] = match &mut self.deflate {
            Some(d) => {
                let joined = parts.concat();
                d.compress(&joined, &mut compressed);
                body_parts = [&compressed];
                &body_parts
            }
            None => parts,
        };
        let body_len: usize = body.iter().map(|p| p.len()).sum();
        let block = self.enc.block;
        let unaligned = if self.enc.length_outside() {
            1 + body_len
        } else {
            5 + body_len
        };
        let mut padding = block - unaligned % block;
        if padding < MIN_PADDING {
            padding += block;
        }
        let packet_len = 1 + body_len + padding;
        if packet_len > u32::MAX as usize - 64 {
            return Err(PacketError::Config(format!(
                "a payload of {} bytes is too large",
                payload_len
            )));
        }
        let start = out.len();
        out.reserve(4 + packet_len + self.enc.tag_len);
        out.extend_from_slice(&(packet_len as u32).to_be_bytes());
        out.push(padding as u8);
        for part in body {
            out.extend_from_slice(part);
        }
        fill(out, padding);
        debug_assert_eq!(out.len() - start, 4 + packet_len);
        self.enc.seal(self.seq_out, out, start);
        self.bytes_out += (out.len() - start) as u64;
        self.seq_out = self.seq_out.wrapping_add(1);
        Ok(())
    }

    /// Appends received bytes and lifts a pause after NEWKEYS.
    pub fn feed(&mut self, data: &[u8]) {
        self.paused = false;
        if self.pos > 0 && (self.pos == self.inbuf.len() || self.pos >= 65536) {
            self.inbuf.drain(..self.pos);
            self.pos = 0;
        }
        self.inbuf.extend_from_slice(data);
    }

    /// Whether the decoder is paused after a NEWKEYS payload (until the next `feed`).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.inbuf.len() - self.pos
    }

    /// Resets the incoming sequence number (strict kex, after NEWKEYS).
    pub fn reset_sequence_in(&mut self) {
        self.seq_in = 0;
    }

    /// Resets the outgoing sequence number (strict kex, after NEWKEYS).
    pub fn reset_sequence_out(&mut self) {
        self.seq_out = 0;
    }

    fn check_length(&self, len: usize) -> Result<(), PacketError> {
        let block = self.dec.block;
        if len > self.max_packet_length {
            return Err(PacketError::Protocol(format!(
                "packet length {len} exceeds the maximum {}",
                self.max_packet_length
            )));
        }
        if len < 1 + MIN_PADDING {
            return Err(PacketError::Protocol(format!(
                "packet length {len} is too short"
            )));
        }
        let aligned = if self.dec.length_outside() {
            len
        } else {
            len + 4
        };
        if aligned % block != 0 {
            return Err(PacketError::Protocol(format!(
                "packet length {len} is not a multiple of the block size {block}"
            )));
        }
        Ok(())
    }

    /// The next whole payload, or None when more bytes are needed (or after NEWKEYS, until
    /// the next `feed`). The slice lives until the next call.
    pub fn next_payload(&mut self) -> Result<Option<&[u8]>, PacketError> {
        if self.paused {
            return Ok(None);
        }
        let avail = self.inbuf.len() - self.pos;
        let len = match self.state {
            InState::Body { len } => len,
            InState::Head => {
                let len = match self.dec.length_mode() {
                    LengthMode::FirstBlock => {
                        let block = self.dec.block;
                        if avail < block {
                            return Ok(None);
                        }
                        let first = &mut self.inbuf[self.pos..self.pos + block];
                        self.dec.open_first_block(first) as usize
                    }
                    LengthMode::Clear | LengthMode::ChaCha => {
                        if avail < 4 {
                            return Ok(None);
                        }
                        let head = &self.inbuf[self.pos..self.pos + 4];
                        if self.dec.length_mode() == LengthMode::ChaCha {
                            self.dec.chacha_length(self.seq_in, head) as usize
                        } else {
                            u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize
                        }
                    }
                };
                self.check_length(len)?;
                self.state = InState::Body { len };
                len
            }
        };
        let total = 4 + len + self.dec.tag_len;
        if avail < total {
            return Ok(None);
        }
        let start = self.pos;
        let packet = &mut self.inbuf[start..start + total];
        self.dec.open(self.seq_in, packet, len)?;
        let padding = packet[4] as usize;
        if padding < MIN_PADDING {
            return Err(PacketError::Protocol(format!(
                "padding of {padding} bytes is below the minimum 4"
            )));
        }
        if padding + 1 >= len {
            return Err(PacketError::Protocol(format!(
                "padding of {padding} bytes leaves no payload in a {len}-byte packet"
            )));
        }
        self.pos += total;
        self.state = InState::Head;
        self.seq_in = self.seq_in.wrapping_add(1);
        self.bytes_in += total as u64;
        let body = start + 5..start + 4 + len - padding;
        let payload: &[u8] = match &mut self.inflate {
            Some(inf) => {
                inf.decompress(&self.inbuf[body], &mut self.scratch, self.max_packet_length)?;
                if self.scratch.is_empty() {
                    return Err(PacketError::Compression(
                        "a packet inflates to nothing".into(),
                    ));
                }
                &self.scratch
            }
            None => &self.inbuf[body],
        };
        if payload[0] == MSG_NEWKEYS {
            self.paused = true;
        }
        Ok(Some(payload))
    }
}
