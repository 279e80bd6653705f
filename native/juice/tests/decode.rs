//! Decoder behaviour: round trips, chunking, limits, failure.

mod common;

use common::{decode_chunked, encode_all, random_box, Rng};
use plait_juice::{encode_box, AmpBox, DecodeError, Decoder, Limits};

fn pair(k: &[u8], v: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (k.to_vec(), v.to_vec())
}

/// A stream with the interesting shapes: empty boxes, empty values, the longest key and
/// value, a duplicate key, and typical command boxes.
fn sample_boxes() -> Vec<AmpBox> {
    vec![
        vec![
            pair(b"_command", b"Sum"),
            pair(b"_ask", b"1"),
            pair(b"a", b"13"),
            pair(b"b", b"81"),
        ],
        vec![],
        vec![pair(b"_answer", b"1"), pair(b"total", b"94")],
        vec![pair(&[b'k'; 255], &[0xff; 65_535])],
        vec![pair(b"empty", b""), pair(b"\x00", b"\x00\x00")],
        vec![],
        vec![pair(b"dup", b"first"), pair(b"dup", b"second")],
        vec![
            pair(b"_error", b"2"),
            pair(b"_error_code", b"UNHANDLED"),
            pair(b"_error_description", b"Unhandled Command: 'Nope'"),
        ],
    ]
}

#[test]
fn twisted_wire_bytes_decode() {
    // `AmpBox({b"_ask": b"1", b"_command": b"Sum"}).serialize()` from Twisted.
    let wire = b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x00";
    let boxes = Decoder::default().feed(wire).unwrap();
    assert_eq!(
        boxes,
        vec![vec![pair(b"_ask", b"1"), pair(b"_command", b"Sum")]]
    );
}

#[test]
fn round_trip_whole_stream() {
    let boxes = sample_boxes();
    let wire = encode_all(&boxes);
    let mut decoder = Decoder::default();
    assert_eq!(decoder.feed(&wire).unwrap(), boxes);
    assert_eq!(decoder.buffered(), 0);
    assert_eq!(decoder.boxes_decoded(), boxes.len() as u64);
}

#[test]
fn round_trip_random_boxes() {
    let mut rng = Rng::new(0x5eed_0001);
    for _ in 0..200 {
        let boxes: Vec<AmpBox> = (0..1 + rng.below(4))
            .map(|_| random_box(&mut rng, 6))
            .collect();
        let wire = encode_all(&boxes);
        assert_eq!(Decoder::default().feed(&wire).unwrap(), boxes);
    }
}

#[test]
fn every_chunk_size() {
    let boxes = sample_boxes();
    let wire = encode_all(&boxes);
    for chunk in 1..=wire.len() {
        let (decoded, err, buffered) = decode_chunked(&wire, Limits::default(), chunk);
        assert_eq!(err, None, "chunk size {chunk}");
        assert_eq!(decoded, boxes, "chunk size {chunk}");
        assert_eq!(buffered, 0, "chunk size {chunk}");
    }
}

#[test]
fn every_chunk_size_small_stream() {
    // Every chunk size, plus feeding a prefix byte by byte and checking `buffered` as we go.
    let boxes = vec![
        vec![pair(b"_command", b"Ping"), pair(b"_ask", b"a")],
        vec![],
        vec![pair(b"x", b"")],
    ];
    let wire = encode_all(&boxes);
    for chunk in 1..=wire.len() + 1 {
        let (decoded, err, _) = decode_chunked(&wire, Limits::default(), chunk);
        assert_eq!((decoded, err), (boxes.clone(), None), "chunk size {chunk}");
    }
    let mut decoder = Decoder::default();
    let mut got = Vec::new();
    let mut boundaries = Vec::new();
    let mut offset = 0;
    for b in &boxes {
        let mut one = Vec::new();
        encode_box(&mut one, b.iter().map(|(k, v)| (k, v))).unwrap();
        offset += one.len();
        boundaries.push(offset);
    }
    for (i, byte) in wire.iter().enumerate() {
        got.extend(decoder.feed(std::slice::from_ref(byte)).unwrap());
        let consumed = boundaries
            .iter()
            .filter(|&&b| b <= i + 1)
            .max()
            .copied()
            .unwrap_or(0);
        assert_eq!(decoder.buffered(), i + 1 - consumed, "after byte {i}");
    }
    assert_eq!(got, boxes);
}

#[test]
fn empty_feeds_are_harmless() {
    let wire = encode_all(&sample_boxes());
    let mut decoder = Decoder::default();
    let mut got = Vec::new();
    for piece in wire.chunks(7) {
        assert!(decoder.feed(b"").unwrap().is_empty());
        got.extend(decoder.feed(piece).unwrap());
    }
    assert_eq!(got, sample_boxes());
}

#[test]
fn borrowed_boxes_match_wire_bytes() {
    let boxes = sample_boxes();
    let wire = encode_all(&boxes);
    for chunk in [1, 3, 64, wire.len()] {
        let mut decoder = Decoder::default();
        let mut seen = Vec::new();
        for piece in wire.chunks(chunk) {
            decoder
                .feed_with(piece, |b| {
                    let mut again = Vec::new();
                    encode_box(&mut again, b.pairs()).unwrap();
                    assert_eq!(again, b.wire_bytes());
                    assert_eq!(b.len(), b.pairs().len());
                    seen.extend_from_slice(b.wire_bytes());
                })
                .unwrap();
        }
        assert_eq!(seen, wire);
    }
}

// ---------------------------------------------------------------- limits

fn box_of(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_box(&mut out, pairs.iter().copied()).unwrap();
    out
}

/// Decodes `wire` whole and byte by byte, checks both agree, and returns the whole result.
fn decode_both_ways(wire: &[u8], limits: Limits) -> Result<Vec<AmpBox>, DecodeError> {
    let whole = Decoder::new(limits).feed(wire);
    let (boxes, err, _) = decode_chunked(wire, limits, 1);
    match (&whole, err) {
        (Ok(w), None) => assert_eq!(w, &boxes),
        (Err(w), Some(e)) => assert_eq!(w, &e),
        (w, e) => panic!("whole feed gave {w:?}, byte-by-byte gave {e:?}"),
    }
    whole
}

#[test]
fn key_of_255_bytes_is_accepted_256_is_not() {
    let key = [b'k'; 255];
    let wire = box_of(&[(&key, b"v")]);
    assert_eq!(
        decode_both_ways(&wire, Limits::default()).unwrap(),
        vec![vec![pair(&key, b"v")]]
    );

    // After two good boxes ({a: b} and {x: ""}), a prefix announcing a 256-byte key.
    let mut wire = box_of(&[(b"a", b"b")]);
    wire.extend_from_slice(b"\x00\x01x\x00\x00\x00\x00");
    let bad_at = wire.len() as u64;
    wire.extend_from_slice(&[0x01, 0x00]);
    wire.extend_from_slice(&[b'k'; 256]);
    wire.extend_from_slice(b"\x00\x00\x00\x00");
    let err = decode_both_ways(&wire, Limits::default()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::KeyTooLong {
            length: 256,
            offset: bad_at,
            box_index: 2
        },
        "{err}"
    );
}

#[test]
fn key_length_prefix_is_checked_before_the_key_arrives() {
    let mut decoder = Decoder::default();
    let err = decoder.feed(&[0xff, 0xff]).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::KeyTooLong {
            length: 65_535,
            offset: 0,
            box_index: 0
        }
    ));
    assert!(err.to_string().contains("65535"), "{err}");
}

#[test]
fn max_keys_at_and_past_the_limit() {
    for max_keys in [0, 1, 5, 1024] {
        let limits = Limits {
            max_keys,
            ..Limits::default()
        };
        let names: Vec<Vec<u8>> = (0..=max_keys)
            .map(|i| format!("k{i}").into_bytes())
            .collect();
        let at: Vec<(&[u8], &[u8])> = names[..max_keys]
            .iter()
            .map(|k| (&k[..], &b"v"[..]))
            .collect();
        let over: Vec<(&[u8], &[u8])> = names.iter().map(|k| (&k[..], &b"v"[..])).collect();

        let decoded = decode_both_ways(&box_of(&at), limits).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].len(), max_keys);

        let wire = box_of(&over);
        let err = decode_both_ways(&wire, limits).unwrap_err();
        let DecodeError::TooManyKeys {
            max_keys: m,
            offset,
            box_index: 0,
        } = err
        else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(m, max_keys);
        // The offending key's length prefix: after max_keys pairs "kN" = "v".
        let expected: usize = names[..max_keys].iter().map(|k| 2 + k.len() + 2 + 1).sum();
        assert_eq!(offset, expected as u64);
    }
}

#[test]
fn default_limits() {
    assert_eq!(
        Limits::default(),
        Limits {
            max_box_size: 4 * 1024 * 1024,
            max_keys: 1024
        }
    );
    // A box of 1024 keys passes the defaults, 1025 does not.
    let names: Vec<Vec<u8>> = (0..1025).map(|i| format!("key{i}").into_bytes()).collect();
    let pairs: Vec<(&[u8], &[u8])> = names.iter().map(|k| (&k[..], &b""[..])).collect();
    assert!(Decoder::default().feed(&box_of(&pairs[..1024])).is_ok());
    assert!(matches!(
        Decoder::default().feed(&box_of(&pairs)),
        Err(DecodeError::TooManyKeys { max_keys: 1024, .. })
    ));
    // A box of just over 4 MiB (65 values of 65,535 bytes) does not.
    let value = vec![0u8; 65_535];
    let pairs: Vec<(Vec<u8>, &[u8])> = (0..65)
        .map(|i| (format!("{i}").into_bytes(), &value[..]))
        .collect();
    let mut wire = Vec::new();
    encode_box(&mut wire, pairs.iter().map(|(k, v)| (k, v))).unwrap();
    assert!(wire.len() > 4 * 1024 * 1024);
    assert!(matches!(
        Decoder::default().feed(&wire),
        Err(DecodeError::BoxTooLarge {
            max_box_size: 4_194_304,
            ..
        })
    ));
    let limits = Limits {
        max_box_size: wire.len(),
        ..Limits::default()
    };
    assert!(Decoder::new(limits).feed(&wire).is_ok());
}

#[test]
fn max_box_size_at_and_past_the_limit() {
    // Boxes of several shapes; each is accepted with the limit at its size and refused with
    // the limit one byte smaller, whole or byte by byte.
    let shapes: Vec<Vec<u8>> = vec![
        box_of(&[]),
        box_of(&[(b"k", b"")]),
        box_of(&[(b"key", b"value")]),
        box_of(&[(b"a", b"1"), (b"bb", b"22"), (b"ccc", &[7; 300])]),
        box_of(&[(&[b'k'; 255], &[1; 1000])]),
    ];
    for wire in &shapes {
        let size = wire.len();
        let at = Limits {
            max_box_size: size,
            ..Limits::default()
        };
        assert_eq!(decode_both_ways(wire, at).unwrap().len(), 1, "size {size}");
        // Several boxes of exactly the limit in a row are all fine.
        let three = [&wire[..], &wire[..], &wire[..]].concat();
        assert_eq!(decode_both_ways(&three, at).unwrap().len(), 3);

        let under = Limits {
            max_box_size: size - 1,
            ..Limits::default()
        };
        let err = decode_both_ways(wire, under).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::BoxTooLarge {
                    box_offset: 0,
                    box_index: 0,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&format!("limit of {}", size - 1)),
            "{err}"
        );
        // ...and a box too large after good ones is reported with its own offset and index.
        let small = box_of(&[]);
        let stream = [&small[..], &small[..], &wire[..]].concat();
        let tight = Limits {
            max_box_size: size.max(2) - 1,
            ..Limits::default()
        };
        if size > 2 {
            let err = decode_both_ways(&stream, tight).unwrap_err();
            assert!(
                matches!(
                    err,
                    DecodeError::BoxTooLarge {
                        box_offset: 4,
                        box_index: 2,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }
}

#[test]
fn oversize_box_fails_before_it_is_buffered() {
    // A value length prefix that makes the box too large fails at once, without waiting
    // for (or buffering) the 65,535 bytes it announces.
    let limits = Limits {
        max_box_size: 1000,
        ..Limits::default()
    };
    let mut decoder = Decoder::new(limits);
    let err = decoder.feed(b"\x00\x01k\xff\xff").unwrap_err();
    assert_eq!(
        err,
        DecodeError::BoxTooLarge {
            size: 2 + 1 + 2 + 65_535 + 2,
            max_box_size: 1000,
            offset: 3,
            box_offset: 0,
            box_index: 0
        }
    );
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn tiny_box_size_limits() {
    for max in [0, 1] {
        let limits = Limits {
            max_box_size: max,
            ..Limits::default()
        };
        assert!(matches!(
            Decoder::new(limits).feed(b"\x00\x00"),
            Err(DecodeError::BoxTooLarge { size: 2, .. })
        ));
    }
    let limits = Limits {
        max_box_size: 2,
        ..Limits::default()
    };
    assert_eq!(
        Decoder::new(limits).feed(b"\x00\x00\x00\x00").unwrap(),
        vec![vec![], vec![]]
    );
    assert!(Decoder::new(limits).feed(b"\x00\x01").is_err());
}

#[test]
fn a_failed_decoder_stays_failed() {
    let mut decoder = Decoder::default();
    let good = box_of(&[(b"a", b"b")]);
    let mut wire = good.clone();
    wire.extend_from_slice(b"\x01\x00");
    let mut seen = Vec::new();
    let err = decoder
        .feed_with(&wire, |b| seen.push(b.to_owned_box()))
        .unwrap_err();
    assert_eq!(
        seen,
        vec![vec![pair(b"a", b"b")]],
        "boxes before the error are delivered"
    );
    assert_eq!(decoder.error(), Some(&err));
    assert_eq!(decoder.buffered(), 0);
    for _ in 0..3 {
        assert_eq!(decoder.feed(&good), Err(err.clone()));
        assert_eq!(decoder.feed(b""), Err(err.clone()));
    }
}

#[test]
fn truncated_stream_is_held_not_an_error() {
    let wire = encode_all(&sample_boxes());
    for cut in 0..wire.len() {
        let mut decoder = Decoder::default();
        let got = decoder.feed(&wire[..cut]).unwrap();
        let consumed: usize = {
            let mut n = 0;
            for b in &got {
                let mut one = Vec::new();
                encode_box(&mut one, b.iter().map(|(k, v)| (k, v))).unwrap();
                n += one.len();
            }
            n
        };
        assert_eq!(decoder.buffered(), cut - consumed);
    }
}

#[test]
fn error_messages_say_what_and_where() {
    let err = Decoder::default()
        .feed(b"\x00\x00\x00\x01a\x00\x00\x02\x00")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "key length 512 exceeds the AMP maximum of 255 bytes (box 1, length prefix at stream offset 7)"
    );
    let limits = Limits {
        max_keys: 1,
        ..Limits::default()
    };
    let err = Decoder::new(limits)
        .feed(b"\x00\x01a\x00\x00\x00\x01b\x00\x00\x00\x00")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "box 0 has more than 1 keys (key 2 starts at stream offset 5)"
    );
    let limits = Limits {
        max_box_size: 8,
        ..Limits::default()
    };
    let err = Decoder::new(limits).feed(b"\x00\x01a\x00\x05").unwrap_err();
    assert_eq!(
        err.to_string(),
        "box 0 (starting at stream offset 0) would be at least 12 bytes, over the limit of 8 bytes \
         (length prefix at stream offset 3)"
    );
}
