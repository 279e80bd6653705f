//! Fuzz the packet decoder and an endpoint: any input must decode or fail cleanly; whatever
//! decodes must re-encode to the same packet; an endpoint fed the input (as a first packet
//! and after a handshake) must not panic.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use plait_ptcp::{packet, Config, Endpoint};

fuzz_target!(|input: &[u8]| {
    // Half the inputs get a correct checksum, so the fuzzer reaches the field parsers.
    let mut fixed = input.to_vec();
    if fixed.len() >= packet::HEADER_LEN && fixed[fixed.len() - 1] & 1 == 1 {
        let mut h = crc32fast::Hasher::new();
        h.update(&fixed[..8]);
        h.update(&fixed[12..]);
        let c = h.finalize().to_be_bytes();
        fixed[8..12].copy_from_slice(&c);
    }
    let data = &fixed[..];
    if let Ok((h, p)) = packet::decode(data) {
        let mut out = Vec::new();
        packet::encode(&h, p, &mut out);
        assert_eq!(packet::decode(&out).expect("re-encoded decodes"), (h, p));
    }
    let now = Instant::now();
    let a = "127.0.0.1:1000".parse().expect("addr");
    let mut ep = Endpoint::new(Config::default(), 7).expect("config");
    ep.set_listening(true);
    ep.handle_datagram(now, a, data);
    while ep.poll_transmit(now).is_some() {}
    ep.handle_timeout(now + Duration::from_secs(5));
    while ep.poll_transmit(now).is_some() {}
});
