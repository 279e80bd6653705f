//! Seeded mutation fuzzing of the decoder and of an endpoint fed mutated real packets:
//! nothing may panic, and whatever decodes must re-encode to a datagram that decodes the same.
mod common;

use common::{addr, Link, Net, Rng};
use plait_ptcp::packet::{self, flags, Header};
use plait_ptcp::{Config, DatagramOutcome, Event};

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut d = base.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len() as u64) as usize;
                d[i] ^= 1 << rng.below(8);
            }
            1 => d.truncate(rng.below(d.len() as u64 + 1) as usize),
            2 => {
                let n = rng.below(64) as usize;
                d.extend(rng.bytes(n));
            }
            3 if !d.is_empty() => {
                let i = rng.below(d.len() as u64) as usize;
                d[i] = rng.next() as u8;
            }
            _ => {}
        }
    }
    d
}

/// Recomputes the checksum so mutations reach the field parsers.
fn fix_checksum(d: &mut [u8]) {
    if d.len() >= packet::HEADER_LEN {
        let mut h = crc32fast::Hasher::new();
        h.update(&d[..8]);
        h.update(&d[12..]);
        let c = h.finalize();
        d[8..12].copy_from_slice(&c.to_be_bytes());
    }
}

#[test]
fn decoder_survives_mutations() {
    let mut rng = Rng(1234);
    let mut seeds = Vec::new();
    for f in [
        flags::SYN,
        flags::SYN | flags::ACK,
        flags::ACK,
        flags::ACK | flags::FIN,
        flags::RST | flags::ACK,
    ] {
        let mut h = Header {
            flags: f,
            src_id: 1,
            dst_id: 2,
            seq: 3,
            ack: 4,
            window: 5,
            ts_val: 6,
            ts_ecr: 7,
            ..Header::default()
        };
        h.sack_len = (rng.below(5)) as u8;
        for i in 0..usize::from(h.sack_len) {
            h.sack[i] = (rng.next() as u32, rng.next() as u32);
        }
        let payload = if f & (flags::SYN | flags::RST) == 0 {
            rng.bytes(100)
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        packet::encode(&h, &payload, &mut out);
        seeds.push(out);
    }
    let mut decoded = 0;
    for i in 0..200_000 {
        let base = &seeds[i % seeds.len()];
        let mut d = mutate(&mut rng, base);
        if i % 2 == 0 {
            fix_checksum(&mut d);
        }
        if let Ok((h, p)) = packet::decode(&d) {
            decoded += 1;
            let mut again = Vec::new();
            packet::encode(&h, p, &mut again);
            let (h2, p2) = packet::decode(&again).expect("re-encoded packet decodes");
            assert_eq!((h, p), (h2, p2));
        }
    }
    assert!(decoded > 10_000, "mutations reached the parser: {decoded}");
}

#[test]
fn endpoint_survives_mutated_traffic() {
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut net = Net::new(99, Link::clean());
    net.add(ca, Config::default(), false);
    net.add(sa, Config::default(), true);
    let now = net.now;
    let ch = net.ep(ca).connect(now, sa).expect("connect");
    let mut rng = Rng(4321);
    let mut captured: Vec<Vec<u8>> = Vec::new();
    let mut sh = None;
    for step in 0..3000 {
        for (_, e) in net.take_events() {
            if let Event::Incoming(h) = e {
                sh = Some(h);
            }
        }
        if step % 10 == 0 {
            let _ = net.ep(ca).write(ch, &rng.bytes(3000));
            if let Some(h) = sh {
                let _ = net.ep(sa).write(h, &rng.bytes(1000));
            }
        }
        if let Some(h) = sh {
            let mut sink = Vec::new();
            common::drain(net.ep(sa), h, &mut sink);
        }
        let mut sink = Vec::new();
        common::drain(net.ep(ca), ch, &mut sink);
        for (_, (_, _, d)) in net.inflight.iter() {
            if captured.len() < 200 {
                captured.push(d.clone());
            }
        }
        if !captured.is_empty() {
            for _ in 0..20 {
                let base = &captured[rng.below(captured.len() as u64) as usize];
                let mut d = mutate(&mut rng, base);
                fix_checksum(&mut d);
                let now = net.now;
                let to = if rng.below(2) == 0 { ca } else { sa };
                let from = if to == ca { sa } else { ca };
                let r = net.ep(to).handle_datagram(now, from, &d);
                assert!(matches!(
                    r,
                    DatagramOutcome::Handled
                        | DatagramOutcome::Invalid(_)
                        | DatagramOutcome::Foreign
                ));
            }
        }
        if !net.step() {
            break;
        }
    }
}
