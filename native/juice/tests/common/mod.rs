//! Helpers shared by the integration tests.
#![allow(dead_code)]

use plait_juice::{encode_box, AmpBox, DecodeError, Decoder, Limits};

/// xorshift64*: a tiny deterministic PRNG, so the tests need no dependencies.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// A random valid box; lengths are biased towards the small and the boundaries.
pub fn random_box(rng: &mut Rng, max_pairs: usize) -> AmpBox {
    let pairs = rng.below(max_pairs + 1);
    (0..pairs)
        .map(|_| {
            let key_len = match rng.below(8) {
                0 => 255,
                1 => 1 + rng.below(255),
                _ => 1 + rng.below(12),
            };
            let value_len = match rng.below(16) {
                0 => 65_535,
                1 => rng.below(65_536),
                2 => 0,
                _ => rng.below(40),
            };
            (rng.bytes(key_len), rng.bytes(value_len))
        })
        .collect()
}

/// Encodes boxes into one stream.
pub fn encode_all(boxes: &[AmpBox]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in boxes {
        encode_box(&mut out, b.iter().map(|(k, v)| (k, v))).expect("test boxes are valid");
    }
    out
}

/// Feeds `stream` in chunks of `chunk` bytes; returns the boxes and the first error.
pub fn decode_chunked(
    stream: &[u8],
    limits: Limits,
    chunk: usize,
) -> (Vec<AmpBox>, Option<DecodeError>, usize) {
    let mut decoder = Decoder::new(limits);
    let mut boxes = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        if let Err(err) = decoder.feed_with(piece, |b| boxes.push(b.to_owned_box())) {
            return (boxes, Some(err), decoder.buffered());
        }
    }
    let buffered = decoder.buffered();
    (boxes, None, buffered)
}

/// Feeds `stream` split at random points.
pub fn decode_random_chunks(
    stream: &[u8],
    limits: Limits,
    rng: &mut Rng,
) -> (Vec<AmpBox>, Option<DecodeError>, usize) {
    let mut decoder = Decoder::new(limits);
    let mut boxes = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() || rng.chance(4) {
        let take = match rng.below(4) {
            0 => 0,
            1 => 1,
            2 => rng.below(8),
            _ => rng.below(rest.len() + 1),
        }
        .min(rest.len());
        let (piece, tail) = rest.split_at(take);
        rest = tail;
        if let Err(err) = decoder.feed_with(piece, |b| boxes.push(b.to_owned_box())) {
            return (boxes, Some(err), decoder.buffered());
        }
    }
    let buffered = decoder.buffered();
    (boxes, None, buffered)
}
