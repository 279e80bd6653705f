//! Fuzz the packet decoder: any bytes, under any of the key set-ups and chunked as the input
//! says, must decode or fail with a PacketError, never panic or loop; and the same input used
//! as payloads must survive encode -> decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plait_ssh::{PacketError, PacketLayer};

/// (cipher, mac, compression in): the set-up picked by the input's first byte.
const SETUPS: &[(&str, Option<&str>, bool)] = &[
    ("none", None, false),
    ("none", None, true),
    ("chacha20-poly1305@openssh.com", None, false),
    ("aes128-gcm@openssh.com", None, false),
    ("aes256-gcm@openssh.com", None, true),
    ("aes128-ctr", Some("hmac-sha2-256"), false),
    ("aes192-ctr", Some("hmac-sha2-512-etm@openssh.com"), false),
    ("aes256-ctr", Some("hmac-sha2-256-etm@openssh.com"), true),
    ("none", Some("hmac-sha2-512"), false),
];

/// A layer keyed as the seed corpus was made: key bytes 0, 1, 2, ..., IV 100, 101, ...,
/// MAC key 200, 201, ...
fn layer(setup: usize, max: usize) -> (PacketLayer, PacketLayer) {
    let (cipher, mac, zlib) = SETUPS[setup];
    let spec = plait_ssh::cipher_spec(cipher).unwrap();
    let key: Vec<u8> = (0..spec.key_len).map(|i| i as u8).collect();
    let iv: Vec<u8> = (0..spec.iv_len).map(|i| (100 + i) as u8).collect();
    let mk: Vec<u8> = mac.map_or(vec![], |m| {
        (0..plait_ssh::mac_spec(m).unwrap().key_len)
            .map(|i| (200 + i) as u8)
            .collect()
    });
    let mut enc = PacketLayer::new(max).unwrap();
    let mut dec = PacketLayer::new(max).unwrap();
    enc.set_encrypt(cipher, &key, &iv, mac, &mk).unwrap();
    dec.set_decrypt(cipher, &key, &iv, mac, &mk).unwrap();
    enc.set_compression(zlib, false);
    dec.set_compression(false, zlib);
    (enc, dec)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let setup = data[0] as usize % SETUPS.len();
    let chunk = 1 + data[1] as usize;
    let body = &data[2..];
    let (mut enc, mut dec) = layer(setup, 32_768);

    // Arbitrary bytes in arbitrary chunks: payloads or one error, nothing else.
    let mut failed = false;
    'outer: for piece in body.chunks(chunk) {
        dec.feed(piece);
        loop {
            match dec.next_payload() {
                Ok(Some(p)) => assert!(!p.is_empty() && p.len() <= 32_768),
                Ok(None) => {
                    if dec.paused() {
                        dec.feed(&[]);
                        continue;
                    }
                    break;
                }
                Err(e) => {
                    assert!(matches!(
                        e,
                        PacketError::Protocol(_) | PacketError::Mac | PacketError::Compression(_)
                    ));
                    failed = true;
                    break 'outer;
                }
            }
        }
    }
    let _ = failed;

    // The input as payloads: what is encoded decodes to the same.
    let (_, mut dec2) = layer(setup, 32_768);
    let payloads: Vec<&[u8]> = body
        .chunks(chunk)
        .filter(|p| !p.is_empty() && p[0] != 21)
        .collect();
    let mut wire = vec![];
    for p in &payloads {
        enc.encode(p, &mut wire).unwrap();
    }
    dec2.feed(&wire);
    let mut got = 0;
    while let Some(p) = dec2.next_payload().expect("our own packets decode") {
        assert_eq!(p, payloads[got]);
        got += 1;
    }
    assert_eq!(got, payloads.len());
});
