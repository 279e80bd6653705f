//! A deterministic network for driving endpoints: a virtual clock, a seeded RNG, and a link
//! that loses, duplicates, reorders and delays datagrams.
#![allow(dead_code)]
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use plait_ptcp::{CloseReason, Config, ConnectionHandle, Endpoint, Event, ReadResult};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub loss: f64,
    pub dup: f64,
    pub delay: Duration,
    /// Extra random delay up to this (reorders).
    pub jitter: Duration,
}

impl Link {
    pub fn clean() -> Link {
        Link {
            loss: 0.0,
            dup: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
        }
    }
}

pub struct Net {
    pub now: Instant,
    pub rng: Rng,
    pub link: Link,
    /// (deliver at, serial) -> (to, from, data)
    pub inflight: BTreeMap<(Instant, u64), (SocketAddr, SocketAddr, Vec<u8>)>,
    serial: u64,
    pub eps: HashMap<SocketAddr, Endpoint>,
    pub events: Vec<(SocketAddr, Event)>,
    pub foreign: Vec<(SocketAddr, Vec<u8>)>,
    pub delivered: u64,
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

impl Net {
    pub fn new(seed: u64, link: Link) -> Net {
        Net {
            now: Instant::now(),
            rng: Rng(seed),
            link,
            inflight: BTreeMap::new(),
            serial: 0,
            eps: HashMap::new(),
            events: Vec::new(),
            foreign: Vec::new(),
            delivered: 0,
        }
    }

    pub fn add(&mut self, a: SocketAddr, cfg: Config, listening: bool) {
        let seed = self.rng.next();
        let mut ep = Endpoint::new(cfg, seed).expect("config");
        ep.set_listening(listening);
        self.eps.insert(a, ep);
    }

    pub fn ep(&mut self, a: SocketAddr) -> &mut Endpoint {
        self.eps.get_mut(&a).expect("endpoint")
    }

    /// Puts a datagram on the wire from `from` to `to`, through the link's faults.
    pub fn send(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        if self.rng.chance(self.link.loss) {
            return;
        }
        let copies = if self.rng.chance(self.link.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let j = self.link.jitter.as_micros() as u64;
            let extra = Duration::from_micros(if j > 0 { self.rng.below(j) } else { 0 });
            self.serial += 1;
            self.inflight.insert(
                (self.now + self.link.delay + extra, self.serial),
                (to, from, data.clone()),
            );
        }
    }

    /// Injects a datagram that bypasses the link (an attacker's).
    pub fn inject(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        self.serial += 1;
        self.inflight
            .insert((self.now, self.serial), (to, from, data));
    }

    fn flush(&mut self) {
        // A fixed order (not the HashMap's per-process one) keeps the RNG's draws, and so
        // every run of a seed, identical.
        let mut addrs: Vec<SocketAddr> = self.eps.keys().copied().collect();
        addrs.sort();
        for a in addrs {
            let now = self.now;
            let mut out = Vec::new();
            let ep = self.eps.get_mut(&a).expect("endpoint");
            while let Some(t) = ep.poll_transmit(now) {
                out.push(t);
                assert!(out.len() < 1_000_000, "runaway transmit");
            }
            while let Some(e) = ep.poll_event() {
                self.events.push((a, e));
            }
            for t in out {
                assert!(t.contents.len() <= 1400);
                self.send(a, t.destination, t.contents);
            }
        }
    }

    /// Advances to the next delivery or timer and processes it; false when nothing is left.
    pub fn step(&mut self) -> bool {
        self.flush();
        let next_packet = self.inflight.keys().next().map(|k| k.0);
        let next_timer = self.eps.values().filter_map(|e| e.poll_timeout()).min();
        let t = match (next_packet, next_timer) {
            (None, None) => return false,
            (Some(a), None) | (None, Some(a)) => a,
            (Some(a), Some(b)) => a.min(b),
        };
        self.now = self.now.max(t);
        while let Some(entry) = self.inflight.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let (to, from, data) = entry.remove();
            let now = self.now;
            if let Some(ep) = self.eps.get_mut(&to) {
                self.delivered += 1;
                if ep.handle_datagram(now, from, &data) == plait_ptcp::DatagramOutcome::Foreign {
                    self.foreign.push((to, data));
                }
            }
        }
        let now = self.now;
        for ep in self.eps.values_mut() {
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    pub fn take_events(&mut self) -> Vec<(SocketAddr, Event)> {
        std::mem::take(&mut self.events)
    }
}

/// Reads everything available on `h` into `sink`; true at the end of the stream.
pub fn drain(ep: &mut Endpoint, h: ConnectionHandle, sink: &mut Vec<u8>) -> bool {
    let mut buf = vec![0u8; 65536];
    loop {
        match ep.read(h, &mut buf) {
            Ok(ReadResult::Data(n)) => sink.extend_from_slice(&buf[..n]),
            Ok(ReadResult::Blocked) => return false,
            Ok(ReadResult::Finished) => return true,
            Err(_) => return false,
        }
    }
}

pub fn closed_reason(
    events: &[(SocketAddr, Event)],
    at: SocketAddr,
    h: ConnectionHandle,
) -> Option<CloseReason> {
    events.iter().find_map(|(a, e)| match e {
        Event::Closed(x, r) if *a == at && *x == h => Some(*r),
        _ => None,
    })
}
