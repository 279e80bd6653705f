//! Fuzz the decoder: any input, any limits, any chunking.
//!
//! The first 6 bytes pick the limits and a chunking seed; the rest is the stream. The stream
//! is decoded whole and in chunks, and the two must agree; every decoded box must respect the
//! limits and re-encode to exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plait_juice::{encode_box, DecodeError, Decoder, Limits};

fn decode(
    stream: &[u8],
    limits: Limits,
    mut chunk: impl FnMut() -> usize,
) -> (Vec<u8>, Option<DecodeError>, usize, usize) {
    let mut decoder = Decoder::new(limits);
    let mut reencoded = Vec::new();
    let mut boxes = 0;
    let mut rest = stream;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(chunk().min(rest.len()));
        rest = tail;
        let result = decoder.feed_with(piece, |b| {
            assert!(b.len() <= limits.max_keys);
            assert!(b.wire_bytes().len() <= limits.max_box_size);
            let before = reencoded.len();
            encode_box(&mut reencoded, b.pairs()).expect("decoded boxes are encodable");
            assert_eq!(&reencoded[before..], b.wire_bytes());
            boxes += 1;
        });
        if let Err(err) = result {
            assert_eq!(decoder.feed(b"\x00\x00"), Err(err.clone()), "stays failed");
            return (reencoded, Some(err), boxes, decoder.buffered());
        }
    }
    let buffered = decoder.buffered();
    (reencoded, None, boxes, buffered)
}

fuzz_target!(|data: &[u8]| {
    let Some((head, stream)) = data.split_first_chunk::<6>() else {
        return;
    };
    let limits = Limits {
        max_box_size: match head[0] % 4 {
            0 => Limits::DEFAULT_MAX_BOX_SIZE,
            1 => usize::from(u16::from_be_bytes([head[1], head[2]])),
            2 => usize::from(head[1]),
            _ => usize::MAX,
        },
        max_keys: match head[3] % 3 {
            0 => Limits::DEFAULT_MAX_KEYS,
            1 => usize::from(head[4] % 16),
            _ => usize::MAX,
        },
    };
    let whole = decode(stream, limits, || usize::MAX);
    let mut state = u32::from(head[5]) | 1;
    let chunked = decode(stream, limits, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 9) as usize
    });
    assert_eq!(whole, chunked);
    let (reencoded, err, _, buffered) = whole;
    assert_eq!(&stream[..reencoded.len()], &reencoded[..]);
    if err.is_none() {
        assert_eq!(buffered, stream.len() - reencoded.len());
    }
});
