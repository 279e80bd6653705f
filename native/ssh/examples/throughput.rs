//! Encode + decode throughput of 32 KiB payloads per cipher, in Rust alone:
//! `cargo run --release -p plait-ssh --example throughput`.
use std::time::Instant;

use plait_ssh::{cipher_spec, mac_spec, PacketLayer};

fn main() {
    let payload = vec![0x5eu8; 32 * 1024];
    for (cipher, mac) in [
        ("chacha20-poly1305@openssh.com", None),
        ("aes128-gcm@openssh.com", None),
        ("aes256-gcm@openssh.com", None),
        ("aes128-ctr", Some("hmac-sha2-256-etm@openssh.com")),
        ("aes256-ctr", Some("hmac-sha2-512-etm@openssh.com")),
    ] {
        let spec = cipher_spec(cipher).unwrap();
        let key = vec![7u8; spec.key_len];
        let iv = vec![9u8; spec.iv_len];
        let mk = vec![3u8; mac.map_or(0, |m| mac_spec(m).unwrap().key_len)];
        let mut a = PacketLayer::new(262_144).unwrap();
        let mut b = PacketLayer::new(262_144).unwrap();
        a.set_encrypt(cipher, &key, &iv, mac, &mk).unwrap();
        b.set_decrypt(cipher, &key, &iv, mac, &mk).unwrap();
        let n = 2000;
        let start = Instant::now();
        let mut wire = Vec::new();
        for _ in 0..n {
            wire.clear();
            a.encode(&payload, &mut wire).unwrap();
            b.feed(&wire);
            assert_eq!(b.next_payload().unwrap().unwrap().len(), payload.len());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{cipher:32} {:?}: {:8.1} MB/s",
            mac,
            (n * payload.len()) as f64 / secs / 1e6
        );
    }
}
