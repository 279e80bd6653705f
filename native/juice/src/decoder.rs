//! The incremental box decoder.

use crate::boxes::{AmpBox, BoxRef, Span};
use crate::error::DecodeError;
use crate::MAX_KEY_LENGTH;

/// Limits a [`Decoder`] enforces on every box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest box accepted, counting every byte of it on the wire: all length prefixes,
    /// keys, values and the 2-byte terminator. Default 4 MiB.
    pub max_box_size: usize,
    /// The most keys one box may have. Default 1024.
    pub max_keys: usize,
}

impl Limits {
    /// Default [`Limits::max_box_size`]: 4 MiB.
    pub const DEFAULT_MAX_BOX_SIZE: usize = 4 * 1024 * 1024;
    /// Default [`Limits::max_keys`]: 1024.
    pub const DEFAULT_MAX_KEYS: usize = 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_box_size: Self::DEFAULT_MAX_BOX_SIZE,
            max_keys: Self::DEFAULT_MAX_KEYS,
        }
    }
}

/// What the scanner expects at `Scan::pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A 2-byte key length (zero ends the box).
    KeyLen,
    /// A key of this many bytes.
    Key(usize),
    /// A 2-byte value length.
    ValueLen,
    /// A value of this many bytes.
    Value(usize),
}

/// Progress through the current (incomplete) box. Offsets are relative to the box's first byte.
#[derive(Debug, Clone)]
struct Scan {
    pos: usize,
    expect: Expect,
    key_start: usize,
    key_len: usize,
    spans: Vec<Span>,
}

impl Scan {
    fn new() -> Self {
        Scan {
            pos: 0,
            expect: Expect::KeyLen,
            key_start: 0,
            key_len: 0,
            spans: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.pos = 0;
        self.expect = Expect::KeyLen;
        self.spans.clear();
    }

    /// How many bytes of the box the next step needs to have available.
    fn needed(&self) -> usize {
        self.pos
            + match self.expect {
                Expect::KeyLen | Expect::ValueLen => 2,
                Expect::Key(n) | Expect::Value(n) => n,
            }
    }

    /// Fast path: records whole pairs that lie within `wire` and break no limit, keeping state
    /// in locals. Stops at the terminator, at anything needing an error, or at a pair that is
    /// not all there, all of which the careful step-by-step loop in `advance` then handles.
    #[inline]
    fn fast_pairs(&mut self, wire: &[u8], limits: &Limits) {
        let mut pos = self.pos;
        let max_keys = limits.max_keys;
        let max_box_size = limits.max_box_size;
        let spans = &mut self.spans;
        while let Some(&[hi, lo]) = wire.get(pos..pos + 2) {
            let key_len = usize::from(u16::from_be_bytes([hi, lo]));
            if key_len == 0 || key_len > MAX_KEY_LENGTH || spans.len() >= max_keys {
                break;
            }
            let value_len_at = pos + 2 + key_len;
            let Some(&[hi, lo]) = wire.get(value_len_at..value_len_at + 2) else {
                break;
            };
            let value_len = usize::from(u16::from_be_bytes([hi, lo]));
            let end = value_len_at + 2 + value_len;
            // `end + 2` (room for the terminator) bounds both size checks of the slow path.
            if end > wire.len() || end + 2 > max_box_size {
                break;
            }
            spans.push(Span {
                key_start: pos + 2,
                key_len,
                value_len,
            });
            pos = end;
        }
        self.pos = pos;
    }

    /// Scans `wire`, the current box from its first byte (possibly followed by more data),
    /// as far as it goes. Returns the box's length once its terminator has been read.
    #[inline]
    fn advance(
        &mut self,
        wire: &[u8],
        limits: &Limits,
        box_offset: u64,
        box_index: u64,
    ) -> Result<Option<usize>, DecodeError> {
        let too_large = |size: usize, at: usize| DecodeError::BoxTooLarge {
            size,
            max_box_size: limits.max_box_size,
            offset: box_offset + at as u64,
            box_offset,
            box_index,
        };
        if self.expect == Expect::KeyLen {
            self.fast_pairs(wire, limits);
        }
        loop {
            match self.expect {
                Expect::KeyLen => {
                    let Some(&[hi, lo]) = wire.get(self.pos..self.pos + 2) else {
                        return Ok(None);
                    };
                    let n = usize::from(u16::from_be_bytes([hi, lo]));
                    if n == 0 {
                        // Only reachable with max_box_size < 2: every earlier check left room
                        // for the terminator.
                        if self.pos + 2 > limits.max_box_size {
                            return Err(too_large(self.pos + 2, self.pos));
                        }
                        self.pos += 2;
                        return Ok(Some(self.pos));
                    }
                    if n > MAX_KEY_LENGTH {
                        return Err(DecodeError::KeyTooLong {
                            length: n,
                            offset: box_offset + self.pos as u64,
                            box_index,
                        });
                    }
                    if self.spans.len() >= limits.max_keys {
                        return Err(DecodeError::TooManyKeys {
                            max_keys: limits.max_keys,
                            offset: box_offset + self.pos as u64,
                            box_index,
                        });
                    }
                    // Smallest the box can now be: this key, an empty value, the terminator.
                    let min_size = self.pos + 2 + n + 2 + 2;
                    if min_size > limits.max_box_size {
                        return Err(too_large(min_size, self.pos));
                    }
                    self.pos += 2;
                    self.key_start = self.pos;
                    self.key_len = n;
                    self.expect = Expect::Key(n);
                }
                Expect::Key(n) => {
                    if wire.len() < self.pos + n {
                        return Ok(None);
                    }
                    self.pos += n;
                    self.expect = Expect::ValueLen;
                }
                Expect::ValueLen => {
                    let Some(&[hi, lo]) = wire.get(self.pos..self.pos + 2) else {
                        return Ok(None);
                    };
                    let m = usize::from(u16::from_be_bytes([hi, lo]));
                    let min_size = self.pos + 2 + m + 2;
                    if min_size > limits.max_box_size {
                        return Err(too_large(min_size, self.pos));
                    }
                    self.pos += 2;
                    self.expect = Expect::Value(m);
                }
                Expect::Value(m) => {
                    if wire.len() < self.pos + m {
                        return Ok(None);
                    }
                    self.spans.push(Span {
                        key_start: self.key_start,
                        key_len: self.key_len,
                        value_len: m,
                    });
                    self.pos += m;
                    self.expect = Expect::KeyLen;
                }
            }
        }
    }
}

/// An incremental AMP box decoder.
///
/// Feed it the byte stream in any chunking; it hands back each box once its terminator has
/// arrived, in order. The first framing violation is returned as a [`DecodeError`], and from
/// then on every feed returns that same error: a stream that went wrong cannot be resynchronised.
///
/// ```
/// use plait_juice::{encode_box, Decoder};
///
/// let mut wire = Vec::new();
/// encode_box(&mut wire, [(&b"_command"[..], &b"Sum"[..]), (b"a", b"13")]).unwrap();
/// let mut decoder = Decoder::default();
/// assert!(decoder.feed(&wire[..5]).unwrap().is_empty());
/// assert_eq!(decoder.buffered(), 5);
/// let boxes = decoder.feed(&wire[5..]).unwrap();
/// assert_eq!(boxes, vec![vec![(b"_command".to_vec(), b"Sum".to_vec()), (b"a".to_vec(), b"13".to_vec())]]);
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    /// The bytes of the current incomplete box, from its first byte, when it straddles feeds.
    buf: Vec<u8>,
    scan: Scan,
    /// Stream offset of the current box's first byte.
    box_offset: u64,
    /// Index of the current box.
    box_index: u64,
    failed: Option<DecodeError>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

/// Capacity above which the straddling-box buffer is freed rather than kept for reuse.
const KEEP_CAPACITY: usize = 64 * 1024;

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            buf: Vec::new(),
            scan: Scan::new(),
            box_offset: 0,
            box_index: 0,
            failed: None,
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes held of an incomplete box.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The error this decoder failed with, if it has.
    pub fn error(&self) -> Option<&DecodeError> {
        self.failed.as_ref()
    }

    /// Number of complete boxes decoded so far.
    pub fn boxes_decoded(&self) -> u64 {
        self.box_index
    }

    /// Feeds `data` and returns the boxes it completes, copied into owned [`AmpBox`]es.
    ///
    /// On error, boxes completed earlier in the same `data` are dropped; use
    /// [`Decoder::feed_with`] to see every box before the error.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<AmpBox>, DecodeError> {
        let mut boxes = Vec::new();
        self.feed_with(data, |b| boxes.push(b.to_owned_box()))?;
        Ok(boxes)
    }

    /// Feeds `data`, calling `on_box` with each box it completes, in order, borrowed without
    /// copying where the box lies wholly within `data`.
    ///
    /// On a framing violation, `on_box` has been called for every box before it, and the
    /// error is returned (now and on every later call).
    pub fn feed_with<F>(&mut self, data: &[u8], mut on_box: F) -> Result<(), DecodeError>
    where
        F: FnMut(BoxRef<'_>),
    {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.feed_inner(data, &mut on_box) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.failed = Some(err.clone());
                self.buf = Vec::new();
                self.scan = Scan::new();
                Err(err)
            }
        }
    }

    fn feed_inner(
        &mut self,
        mut data: &[u8],
        on_box: &mut impl FnMut(BoxRef<'_>),
    ) -> Result<(), DecodeError> {
        // First finish a box that straddles feeds, copying into `buf` only the bytes it needs.
        if !self.buf.is_empty() {
            loop {
                let need = self.scan.needed().saturating_sub(self.buf.len());
                let take = need.min(data.len());
                let (head, rest) = data.split_at(take);
                self.buf.extend_from_slice(head);
                data = rest;
                match self
                    .scan
                    .advance(&self.buf, &self.limits, self.box_offset, self.box_index)?
                {
                    Some(end) => {
                        on_box(BoxRef {
                            wire: &self.buf[..end],
                            spans: &self.scan.spans,
                        });
                        self.finish_box(end);
                        if self.buf.capacity() > KEEP_CAPACITY {
                            self.buf = Vec::new();
                        } else {
                            self.buf.clear();
                        }
                        break;
                    }
                    None if data.is_empty() => return Ok(()),
                    None => {}
                }
            }
        }
        // Then decode boxes straight out of `data`.
        while !data.is_empty() {
            match self
                .scan
                .advance(data, &self.limits, self.box_offset, self.box_index)?
            {
                Some(end) => {
                    let (wire, rest) = data.split_at(end);
                    on_box(BoxRef {
                        wire,
                        spans: &self.scan.spans,
                    });
                    self.finish_box(end);
                    data = rest;
                }
                None => {
                    self.buf.extend_from_slice(data);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn finish_box(&mut self, len: usize) {
        self.box_offset += len as u64;
        self.box_index += 1;
        self.scan.reset();
    }
}
