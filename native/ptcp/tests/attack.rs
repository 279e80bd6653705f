//! Bad input: forged resets, garbage, SYN floods, vanished peers, many connections.
mod common;

use std::time::Duration;

use common::{addr, closed_reason, drain, Link, Net, Rng};
use plait_ptcp::packet::{self, flags, Header};
use plait_ptcp::{CloseReason, Config, ConnectionHandle, DatagramOutcome, Endpoint, Event, State};

/// A connected pair (client handle, server handle) after the handshake.
fn pair(net: &mut Net) -> (ConnectionHandle, ConnectionHandle) {
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let now = net.now;
    let ch = net.ep(ca).connect(now, sa).expect("connect");
    for _ in 0..50 {
        net.step();
        for (_, e) in net.take_events() {
            if let Event::Incoming(h) = e {
                return (ch, h);
            }
        }
    }
    panic!("no handshake");
}

fn setup(seed: u64, cfg: Config) -> Net {
    let mut net = Net::new(seed, Link::clean());
    net.add(addr("10.0.0.1:1000"), cfg.clone(), false);
    net.add(addr("10.0.0.2:2000"), cfg, true);
    net
}

/// Sends `msg` from client to server and checks it arrives.
fn still_works(net: &mut Net, ch: ConnectionHandle, sh: ConnectionHandle, msg: &[u8]) {
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    net.ep(ca).write(ch, msg).expect("write");
    let mut got = Vec::new();
    for _ in 0..200 {
        net.step();
        drain(net.ep(sa), sh, &mut got);
        if got.len() >= msg.len() {
            break;
        }
    }
    assert_eq!(got, msg);
}

#[test]
fn forged_resets_with_wrong_sequence_are_ignored() {
    let mut net = setup(1, Config::default());
    let (ch, sh) = pair(&mut net);
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    // The attacker knows the addresses, not the connection ids or the sequence.
    assert_eq!(net.ep(sa).state(sh), Ok(State::Established));
    let mut rng = Rng(77);
    for _ in 0..2000 {
        let h = Header {
            flags: flags::RST | flags::ACK,
            src_id: rng.next() as u32,
            dst_id: rng.next() as u32,
            seq: rng.next() as u32,
            ..Header::default()
        };
        let mut out = Vec::new();
        packet::encode(&h, &[], &mut out);
        net.inject(ca, sa, out);
    }
    net.step();
    assert_eq!(net.ep(sa).state(sh), Ok(State::Established));
    still_works(&mut net, ch, sh, b"after random resets");
}

#[test]
fn in_window_reset_gets_a_challenge_not_a_close() {
    let mut net = setup(2, Config::default());
    let (ch, sh) = pair(&mut net);
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    // Capture a real client packet to learn ids and sequence, then forge RSTs around it.
    net.ep(ca).write(ch, b"x").expect("write");
    let now = net.now;
    let t = net.ep(ca).poll_transmit(now).expect("a data packet");
    let (real, _) = packet::decode(&t.contents).expect("decodes");
    net.ep(sa).handle_datagram(now, ca, &t.contents);
    // real.seq + 1 is now rcv_nxt: offsets 2.. lie inside the window but are not exact.
    for off in [2u32, 3, 1000, 100_000, 0xffff_0000] {
        let h = Header {
            flags: flags::RST | flags::ACK,
            seq: real.seq.wrapping_add(off),
            ..real
        };
        let mut out = Vec::new();
        packet::encode(&h, &[], &mut out);
        assert_eq!(
            net.ep(sa).handle_datagram(now, ca, &out),
            DatagramOutcome::Handled
        );
        assert_eq!(net.ep(sa).state(sh), Ok(State::Established), "offset {off}");
    }
    // The exact sequence number resets (that is what a real peer's RST carries).
    let h = Header {
        flags: flags::RST | flags::ACK,
        seq: real.seq.wrapping_add(1),
        ..real
    };
    let mut out = Vec::new();
    packet::encode(&h, &[], &mut out);
    net.ep(sa).handle_datagram(now, ca, &out);
    let mut evs = Vec::new();
    while let Some(e) = net.ep(sa).poll_event() {
        evs.push((sa, e));
    }
    assert_eq!(closed_reason(&evs, sa, sh), Some(CloseReason::Reset));
}

#[test]
fn garbage_is_ignored_or_returned_as_foreign() {
    let mut net = setup(3, Config::default());
    let (ch, sh) = pair(&mut net);
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut rng = Rng(5);
    let now = net.now;
    let mut foreign = 0;
    for i in 0..5000 {
        let n = rng.below(1500) as usize;
        let mut d = rng.bytes(n);
        if i % 2 == 0 && d.len() >= 4 {
            d[..3].copy_from_slice(&packet::MAGIC);
            d[3] = packet::VERSION;
        }
        match net.ep(sa).handle_datagram(now, ca, &d) {
            DatagramOutcome::Foreign => foreign += 1,
            DatagramOutcome::Invalid(_) => {}
            DatagramOutcome::Handled => panic!("garbage accepted"),
        }
    }
    assert!(foreign > 2000);
    assert_eq!(
        net.ep(sa).stats().invalid + net.ep(sa).stats().foreign,
        5000
    );
    still_works(&mut net, ch, sh, b"after garbage");
}

#[test]
fn syn_flood_is_bounded_and_spares_established_connections() {
    let cfg = Config {
        max_half_open: 64,
        max_connections: 200,
        ..Config::default()
    };
    let mut net = setup(4, cfg);
    let (ch, sh) = pair(&mut net);
    let sa = addr("10.0.0.2:2000");
    let mut rng = Rng(9);
    let now = net.now;
    for i in 0..20_000u32 {
        let from =
            std::net::SocketAddr::from(([192, 0, 2, (i % 250) as u8], 1024 + (i / 250) as u16));
        let h = Header {
            flags: flags::SYN,
            src_id: rng.next() as u32 | 1,
            seq: rng.next() as u32,
            window: 65536,
            ts_val: 1,
            ..Header::default()
        };
        let mut out = Vec::new();
        packet::encode(&h, &[], &mut out);
        net.ep(sa).handle_datagram(now, from, &out);
        while net.ep(sa).poll_transmit(now).is_some() {}
    }
    let ep = net.ep(sa);
    assert!(
        ep.half_open_count() <= 64,
        "half-open {}",
        ep.half_open_count()
    );
    assert!(
        ep.connection_count() <= 65,
        "connections {}",
        ep.connection_count()
    );
    assert!(ep.stats().half_open_evicted > 19_000);
    assert_eq!(ep.state(sh), Ok(State::Established));
    while net.step() && net.ep(sa).half_open_count() > 0 {}
    still_works(&mut net, ch, sh, b"after the flood");
    // Half-open entries time out on their own.
    assert_eq!(net.ep(sa).half_open_count(), 0);
}

#[test]
fn full_endpoint_refuses_with_reset() {
    let cfg = Config {
        max_connections: 1,
        ..Config::default()
    };
    let mut net = setup(5, cfg);
    let (_ch, _sh) = pair(&mut net);
    let other = addr("10.0.0.3:3000");
    net.add(other, Config::default(), false);
    let now = net.now;
    let h = net
        .ep(other)
        .connect(now, addr("10.0.0.2:2000"))
        .expect("connect");
    let mut evs = Vec::new();
    for _ in 0..20 {
        net.step();
        evs.extend(net.take_events());
    }
    assert_eq!(closed_reason(&evs, other, h), Some(CloseReason::Refused));
}

#[test]
fn connecting_to_nobody_times_out() {
    let cfg = Config {
        user_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    let mut net = Net::new(6, Link::clean());
    let ca = addr("10.0.0.1:1000");
    net.add(ca, cfg, false);
    let now = net.now;
    let h = net
        .ep(ca)
        .connect(now, addr("10.0.0.9:9"))
        .expect("connect");
    let mut evs = Vec::new();
    while net.step() {
        evs.extend(net.take_events());
    }
    evs.extend(net.take_events());
    assert_eq!(closed_reason(&evs, ca, h), Some(CloseReason::TimedOut));
    assert!(net.now - now < Duration::from_secs(30));
}

#[test]
fn vanished_peer_times_out_with_data_in_flight_and_when_idle() {
    let cfg = Config {
        user_timeout: Duration::from_secs(3),
        keepalive_interval: Some(Duration::from_secs(1)),
        keepalive_probes: 3,
        ..Config::default()
    };
    for with_data in [true, false] {
        let mut net = setup(7, cfg.clone());
        let (ch, _sh) = pair(&mut net);
        let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        net.eps.remove(&sa);
        let start = net.now;
        if with_data {
            net.ep(ca).write(ch, &[1u8; 50_000]).expect("write");
        }
        let mut evs = Vec::new();
        while net.step() {
            evs.extend(net.take_events());
        }
        evs.extend(net.take_events());
        assert_eq!(
            closed_reason(&evs, ca, ch),
            Some(CloseReason::TimedOut),
            "with data {with_data}"
        );
        assert!(net.now - start < Duration::from_secs(20));
        assert_eq!(net.ep(ca).connection_count(), 0);
    }
}

#[test]
fn keepalive_keeps_an_idle_connection() {
    let cfg = Config {
        keepalive_interval: Some(Duration::from_secs(1)),
        keepalive_probes: 2,
        ..Config::default()
    };
    let mut net = setup(8, cfg);
    let (ch, sh) = pair(&mut net);
    let until = net.now + Duration::from_secs(60);
    while net.now < until && net.step() {}
    assert_eq!(
        net.ep(addr("10.0.0.1:1000")).state(ch),
        Ok(State::Established)
    );
    still_works(&mut net, ch, sh, b"after a minute idle");
}

#[test]
fn many_connections_share_one_endpoint() {
    let sa = addr("10.0.0.2:2000");
    let mut net = Net::new(
        10,
        Link {
            loss: 0.02,
            dup: 0.01,
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(3),
        },
    );
    net.add(sa, Config::default(), true);
    let mut clients = Vec::new();
    for i in 0..40u16 {
        let a = std::net::SocketAddr::from(([10, 0, 1, (i % 4) as u8 + 1], 5000 + i));
        net.add(a, Config::default(), false);
        let now = net.now;
        let h = net.ep(a).connect(now, sa).expect("connect");
        clients.push((a, h, net.rng.bytes(20_000 + 100 * usize::from(i)), 0usize));
    }
    let mut server: Vec<(ConnectionHandle, Vec<u8>)> = Vec::new();
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 500_000);
        for (at, e) in net.take_events() {
            if let Event::Incoming(h) = e {
                assert_eq!(at, sa);
                server.push((h, Vec::new()));
            }
        }
        for c in clients.iter_mut() {
            if net.ep(c.0).state(c.1) == Ok(State::Established) && c.3 < c.2.len() {
                c.3 += net.ep(c.0).write(c.1, &c.2[c.3..]).expect("write");
            }
        }
        for s in server.iter_mut() {
            drain(net.ep(sa), s.0, &mut s.1);
        }
        let total: usize = server.iter().map(|s| s.1.len()).sum();
        if server.len() == clients.len()
            && total == clients.iter().map(|c| c.2.len()).sum::<usize>()
        {
            break;
        }
        net.step();
    }
    for (a, h, data, _) in &clients {
        let remote_h = server
            .iter()
            .find(|s| net.ep(sa).remote(s.0) == Ok(*a))
            .expect("server side");
        assert!(&remote_h.1 == data, "stream of {a} {h:?} intact");
    }
    assert_eq!(net.ep(sa).connection_count(), 40);
}

#[test]
fn bad_config_is_rejected() {
    for cfg in [
        Config {
            mtu: 1199,
            ..Config::default()
        },
        Config {
            mtu: 1401,
            ..Config::default()
        },
        Config {
            max_connections: 0,
            ..Config::default()
        },
        Config {
            recv_buffer: 10,
            ..Config::default()
        },
        Config {
            min_rto: Duration::ZERO,
            ..Config::default()
        },
    ] {
        assert!(Endpoint::new(cfg, 1).is_err());
    }
}
