//! Deterministic randomized fuzzing: garbage and mutated valid streams, in random chunkings
//! and with random limits, must never panic, and every chunking must agree.

mod common;

use common::{decode_chunked, decode_random_chunks, encode_all, random_box, Rng};
use plait_juice::{encode_box, AmpBox, DecodeError, Decoder, Limits, MAX_KEY_LENGTH};

/// Wire size of one box.
fn wire_len(b: &AmpBox) -> usize {
    2 + b.iter().map(|(k, v)| 4 + k.len() + v.len()).sum::<usize>()
}

/// Decodes `stream` whole, byte by byte and in random chunks; checks they agree and that
/// what was decoded is consistent with the stream and the limits.
fn check(stream: &[u8], limits: Limits, rng: &mut Rng) {
    let (whole, whole_err, whole_buffered) = decode_chunked(stream, limits, stream.len().max(1));
    let bytewise = decode_chunked(stream, limits, 1);
    assert_eq!(
        (&whole, &whole_err, whole_buffered),
        (&bytewise.0, &bytewise.1, bytewise.2)
    );
    let random = decode_random_chunks(stream, limits, rng);
    assert_eq!(
        (&whole, &whole_err, whole_buffered),
        (&random.0, &random.1, random.2)
    );

    // The decoded boxes re-encode to exactly the start of the stream.
    let mut again = Vec::new();
    for b in &whole {
        assert!(b.len() <= limits.max_keys);
        assert!(wire_len(b) <= limits.max_box_size);
        assert!(b
            .iter()
            .all(|(k, v)| !k.is_empty() && k.len() <= MAX_KEY_LENGTH && v.len() <= 65_535));
        encode_box(&mut again, b.iter().map(|(k, v)| (k, v))).unwrap();
    }
    assert_eq!(&stream[..again.len()], &again[..]);
    match whole_err {
        None => assert_eq!(whole_buffered, stream.len() - again.len()),
        Some(err) => {
            assert_eq!(whole_buffered, 0);
            let (offset, index) = match err {
                DecodeError::KeyTooLong {
                    offset, box_index, ..
                } => (offset, box_index),
                DecodeError::TooManyKeys {
                    offset, box_index, ..
                } => (offset, box_index),
                DecodeError::BoxTooLarge {
                    offset,
                    box_offset,
                    box_index,
                    ..
                } => {
                    assert_eq!(box_offset, again.len() as u64);
                    (offset, box_index)
                }
                other => panic!("unknown error {other:?}"),
            };
            assert_eq!(index, whole.len() as u64);
            assert!(offset >= again.len() as u64 && offset + 2 <= stream.len() as u64);
        }
    }
}

fn random_limits(rng: &mut Rng) -> Limits {
    match rng.below(4) {
        0 => Limits::default(),
        1 => Limits {
            max_box_size: rng.below(300),
            max_keys: rng.below(6),
        },
        2 => Limits {
            max_box_size: rng.below(200_000),
            max_keys: rng.below(64),
        },
        _ => Limits {
            max_box_size: usize::MAX,
            max_keys: usize::MAX,
        },
    }
}

fn mutate(stream: &mut Vec<u8>, rng: &mut Rng) {
    for _ in 0..1 + rng.below(4) {
        if stream.is_empty() {
            let n = 1 + rng.below(8);
            stream.extend(rng.bytes(n));
            continue;
        }
        let at = rng.below(stream.len());
        match rng.below(7) {
            0 => stream[at] ^= 1 << rng.below(8),
            1 => stream[at] = rng.next_u64() as u8,
            2 => {
                stream.remove(at);
            }
            3 => stream.insert(at, rng.next_u64() as u8),
            4 => stream.truncate(at),
            // Set a 16-bit field to a boundary value.
            5 if at + 1 < stream.len() => {
                let v: u16 = [0, 1, 255, 256, 0xffff][rng.below(5)];
                stream[at..at + 2].copy_from_slice(&v.to_be_bytes());
            }
            _ => {
                let n = rng.below(16);
                let extra = rng.bytes(n);
                stream.splice(at..at, extra);
            }
        }
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng::new(0xdead_beef);
    for _ in 0..3000 {
        let len = rng.below(600);
        let mut stream = rng.bytes(len);
        // Garbage with small length prefixes gets further than uniform bytes.
        if rng.chance(2) {
            for i in (0..stream.len()).step_by(2) {
                stream[i] = if rng.chance(8) { 1 } else { 0 };
            }
        }
        let limits = random_limits(&mut rng);
        check(&stream, limits, &mut rng);
    }
}

#[test]
fn mutated_valid_streams_never_panic() {
    let mut rng = Rng::new(0x0a3b_0c1d);
    for round in 0..1500 {
        let boxes: Vec<AmpBox> = (0..rng.below(5)).map(|_| random_box(&mut rng, 5)).collect();
        let mut stream = encode_all(&boxes);
        if round % 3 != 0 {
            mutate(&mut stream, &mut rng);
        }
        let limits = random_limits(&mut rng);
        check(&stream, limits, &mut rng);
        if round % 3 == 0 && limits == Limits::default() {
            let got = Decoder::default().feed(&stream);
            if boxes
                .iter()
                .all(|b| wire_len(b) <= limits.max_box_size && b.len() <= limits.max_keys)
            {
                assert_eq!(got, Ok(boxes));
            }
        }
    }
}
