//! Encoder behaviour: the wire format, limits, atomicity.

use plait_juice::{encode_box, encode_pair, encoded_len, end_box, EncodeError};

#[test]
fn matches_twisted_serialize() {
    // `AmpBox({b"_ask": b"1", b"_command": b"Sum"}).serialize()` from Twisted (which sorts
    // keys; encode_box keeps the order it is given).
    let mut out = Vec::new();
    encode_box(&mut out, [(&b"_ask"[..], &b"1"[..]), (b"_command", b"Sum")]).unwrap();
    assert_eq!(
        out,
        b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Sum\x00\x00"
    );
}

#[test]
fn empty_box_is_the_terminator() {
    let mut out = b"prefix".to_vec();
    encode_box(&mut out, Vec::<(&[u8], &[u8])>::new()).unwrap();
    assert_eq!(out, b"prefix\x00\x00");
}

#[test]
fn appends_and_piecewise_api_agrees() {
    let mut a = Vec::new();
    encode_box(&mut a, [("k", "v"), ("empty", "")]).unwrap();
    encode_box(&mut a, [("second", "box")]).unwrap();
    let mut b = Vec::new();
    encode_pair(&mut b, b"k", b"v").unwrap();
    encode_pair(&mut b, b"empty", b"").unwrap();
    end_box(&mut b);
    encode_pair(&mut b, b"second", b"box").unwrap();
    end_box(&mut b);
    assert_eq!(a, b);
    assert_eq!(
        encoded_len([("k", "v"), ("empty", "")]).unwrap()
            + encoded_len([("second", "box")]).unwrap(),
        a.len()
    );
}

#[test]
fn key_and_value_limits() {
    let key255 = vec![b'k'; 255];
    let key256 = vec![b'k'; 256];
    let value_max = vec![b'v'; 65_535];
    let value_over = vec![b'v'; 65_536];

    let mut out = Vec::new();
    encode_box(&mut out, [(&key255[..], &value_max[..])]).unwrap();
    assert_eq!(out.len(), 2 + 255 + 2 + 65_535 + 2);
    assert_eq!(&out[..2], &[0, 255]);
    assert_eq!(&out[257..259], &[0xff, 0xff]);

    type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;
    let cases: Vec<(Pairs, EncodeError)> = vec![
        (vec![(b"", b"v")], EncodeError::EmptyKey),
        (
            vec![(b"ok", b""), (&key256[..], b"v")],
            EncodeError::KeyTooLong {
                length: 256,
                key: format!("b'{}'...", "k".repeat(40)),
            },
        ),
        (
            vec![(b"ok", b""), (b"big", &value_over[..])],
            EncodeError::ValueTooLong {
                length: 65_536,
                key: "b'big'".into(),
            },
        ),
    ];
    for (pairs, expected) in cases {
        let mut out = b"keep".to_vec();
        let err = encode_box(&mut out, pairs.iter().copied()).unwrap_err();
        assert_eq!(err, expected);
        assert_eq!(out, b"keep", "a failed encode appends nothing");
        assert_eq!(encoded_len(pairs.iter().copied()), Err(expected.clone()));
        let mut piece = b"keep".to_vec();
        let last = pairs[pairs.len() - 1];
        assert_eq!(encode_pair(&mut piece, last.0, last.1), Err(expected));
        assert_eq!(piece, b"keep");
    }
}

#[test]
fn error_messages() {
    let mut out = Vec::new();
    let err = encode_box(&mut out, [(&b"\x00'x"[..], &[0u8; 70_000][..])]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value of 70000 bytes for key b'\\x00\\'x' is longer than the AMP maximum of 65535"
    );
    assert_eq!(
        encode_box(&mut out, [("", "")]).unwrap_err().to_string(),
        "empty key: AMP keys are 1 to 255 bytes long"
    );
}
