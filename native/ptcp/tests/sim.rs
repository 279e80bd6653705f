//! A client and a server exchange byte streams both ways through simulated loss,
//! duplication, reordering and delay; the streams must arrive intact and both ends close
//! cleanly.
mod common;

use std::time::Duration;

use common::{addr, closed_reason, drain, Link, Net};
use plait_ptcp::{CloseReason, Config, ConnectionHandle, Event, State};

struct Outcome {
    client_reason: Option<CloseReason>,
    server_reason: Option<CloseReason>,
}

/// Client sends `up` bytes, server sends `down` bytes, then both close.
fn transfer(seed: u64, link: Link, up: usize, down: usize, cfg: Config) -> Outcome {
    transfer_seeded(seed, None, link, up, down, cfg)
}

/// As `transfer`, with the client endpoint's own seed chosen by the caller.
fn transfer_seeded(
    seed: u64,
    client_seed: Option<u64>,
    link: Link,
    up: usize,
    down: usize,
    cfg: Config,
) -> Outcome {
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut net = Net::new(seed, link);
    net.add(ca, cfg.clone(), false);
    if let Some(s) = client_seed {
        net.eps.insert(
            ca,
            plait_ptcp::Endpoint::new(cfg.clone(), s).expect("config"),
        );
    }
    net.add(sa, cfg, true);
    let up_data = net.rng.bytes(up);
    let down_data = net.rng.bytes(down);
    let now = net.now;
    let ch = net.ep(ca).connect(now, sa).expect("connect");
    let mut sh: Option<ConnectionHandle> = None;
    let (mut up_sent, mut down_sent) = (0usize, 0usize);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let (mut up_eof, mut down_eof) = (false, false);
    let (mut c_closed, mut s_closed) = (false, false);
    let mut all = Vec::new();
    let mut steps = 0u64;
    let mut connected = false;
    while steps < 2_000_000 {
        steps += 1;
        let evs = net.take_events();
        for (a, e) in &evs {
            match e {
                Event::Incoming(h) if *a == sa => sh = Some(*h),
                Event::Connected(h) if *a == ca && *h == ch => connected = true,
                _ => {}
            }
        }
        all.extend(evs);
        if connected && !c_closed {
            let ep = net.ep(ca);
            if up_sent < up {
                up_sent += ep.write(ch, &up_data[up_sent..]).expect("client write");
            }
            if up_sent == up {
                ep.close(ch).expect("client close");
                c_closed = true;
            }
        }
        if let Some(h) = sh {
            if !s_closed {
                let ep = net.ep(sa);
                if down_sent < down {
                    down_sent += ep.write(h, &down_data[down_sent..]).expect("server write");
                }
                if down_sent == down {
                    ep.close(h).expect("server close");
                    s_closed = true;
                }
            }
            if !up_eof {
                up_eof = drain(net.ep(sa), h, &mut got_up);
            }
        }
        if connected && !down_eof {
            down_eof = drain(net.ep(ca), ch, &mut got_down);
        }
        if !net.step() {
            break;
        }
    }
    all.extend(net.take_events());
    if !(up_eof && down_eof) {
        eprintln!(
            "client {} / server {}",
            net.ep(ca).describe(ch),
            net.ep(sa).describe(sh.unwrap_or(ch))
        );
    }
    assert!(
        up_eof && down_eof,
        "streams did not finish (seed {seed}, {link:?}): up {}/{up}, down {}/{down}",
        got_up.len(),
        got_down.len()
    );
    assert!(
        got_up == up_data,
        "client->server stream corrupted (seed {seed})"
    );
    assert!(
        got_down == down_data,
        "server->client stream corrupted (seed {seed})"
    );
    let server_h = sh.expect("server saw the connection");
    let _ = steps;
    Outcome {
        client_reason: closed_reason(&all, ca, ch),
        server_reason: closed_reason(&all, sa, server_h),
    }
}

fn lossy(loss: f64, dup: f64, jitter_ms: u64) -> Link {
    Link {
        loss,
        dup,
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(jitter_ms),
    }
}

#[test]
fn clean_link_both_directions() {
    let o = transfer(1, Link::clean(), 300_000, 200_000, Config::default());
    assert_eq!(o.client_reason, Some(CloseReason::Finished));
    assert_eq!(o.server_reason, Some(CloseReason::Finished));
}

#[test]
fn empty_streams_close_cleanly() {
    let o = transfer(2, Link::clean(), 0, 0, Config::default());
    assert_eq!(o.client_reason, Some(CloseReason::Finished));
    assert_eq!(o.server_reason, Some(CloseReason::Finished));
}

#[test]
fn loss_one_five_twenty_percent() {
    for (i, loss) in [0.01, 0.05, 0.20].into_iter().enumerate() {
        for seed in 0..4 {
            let o = transfer(
                100 + seed + 10 * i as u64,
                lossy(loss, 0.0, 0),
                150_000,
                60_000,
                Config::default(),
            );
            assert_eq!(
                o.client_reason,
                Some(CloseReason::Finished),
                "loss {loss} seed {seed}"
            );
            assert_eq!(
                o.server_reason,
                Some(CloseReason::Finished),
                "loss {loss} seed {seed}"
            );
        }
    }
}

#[test]
fn duplication_and_reordering() {
    for seed in 0..6 {
        transfer(
            200 + seed,
            lossy(0.0, 0.2, 30),
            200_000,
            100_000,
            Config::default(),
        );
    }
}

#[test]
fn everything_at_once() {
    for seed in 0..6 {
        transfer(
            300 + seed,
            lossy(0.1, 0.1, 40),
            120_000,
            120_000,
            Config::default(),
        );
    }
}

#[test]
fn small_buffers_force_flow_control() {
    let cfg = Config {
        send_buffer: 4096,
        recv_buffer: 4096,
        ..Config::default()
    };
    transfer(400, lossy(0.05, 0.05, 5), 100_000, 50_000, cfg);
}

#[test]
fn minimum_mtu() {
    let cfg = Config {
        mtu: 1200,
        ..Config::default()
    };
    transfer(500, lossy(0.02, 0.0, 10), 100_000, 1000, cfg);
}

#[test]
fn long_delay_path() {
    let link = Link {
        loss: 0.01,
        dup: 0.0,
        delay: Duration::from_millis(300),
        jitter: Duration::from_millis(50),
    };
    transfer(600, link, 500_000, 10, Config::default());
}

#[test]
fn sequence_numbers_wrap() {
    // Pick an endpoint seed whose first ISN lies 1 MB below 2^32, so the 5 MB stream's
    // wire sequence numbers wrap mid-transfer.
    let sa = addr("10.0.0.2:2000");
    let seed = (0u64..)
        .find(|&s| {
            let mut ep = plait_ptcp::Endpoint::new(Config::default(), s).expect("config");
            let now = std::time::Instant::now();
            ep.connect(now, sa).expect("connect");
            let syn = ep.poll_transmit(now).expect("SYN");
            let (h, _) = plait_ptcp::packet::decode(&syn.contents).expect("decodes");
            h.seq > u32::MAX - 2_000_000 && h.seq < u32::MAX - 1_000_000
        })
        .expect("a seed");
    let o = transfer_seeded(
        700,
        Some(seed),
        Link::clean(),
        5_000_000,
        1000,
        Config::default(),
    );
    assert_eq!(o.client_reason, Some(CloseReason::Finished));
}

#[test]
fn zero_window_then_reading_resumes() {
    // The server does not read until the client has filled its window; the client must
    // probe and resume when the server drains.
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let cfg = Config {
        recv_buffer: 8192,
        ..Config::default()
    };
    let mut net = Net::new(9, Link::clean());
    net.add(ca, cfg.clone(), false);
    net.add(sa, cfg, true);
    let data = net.rng.bytes(100_000);
    let now = net.now;
    let ch = net.ep(ca).connect(now, sa).expect("connect");
    let mut sh = None;
    let mut sent = 0;
    for _ in 0..200 {
        for (_, e) in net.take_events() {
            if let Event::Incoming(h) = e {
                sh = Some(h);
            }
        }
        if net.ep(ca).state(ch).expect("state") == State::Established && sent < data.len() {
            sent += net.ep(ca).write(ch, &data[sent..]).expect("write");
        }
        net.step();
    }
    let sh = sh.expect("accepted");
    assert_eq!(
        net.ep(sa).readable_len(sh).expect("len"),
        8192,
        "the window is full"
    );
    // Wait out several persist probes (simulated seconds), then read everything.
    let until = net.now + Duration::from_secs(20);
    while net.now < until {
        net.step();
    }
    let mut got = Vec::new();
    let mut steps = 0;
    while got.len() < data.len() && steps < 200_000 {
        steps += 1;
        if sent < data.len() {
            sent += net.ep(ca).write(ch, &data[sent..]).expect("write");
        }
        drain(net.ep(sa), sh, &mut got);
        net.step();
    }
    assert!(got == data, "stream intact after a zero window");
}

#[test]
fn half_close_keeps_the_other_direction() {
    let (ca, sa) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut net = Net::new(11, Link::clean());
    net.add(ca, Config::default(), false);
    net.add(sa, Config::default(), true);
    let now = net.now;
    let ch = net.ep(ca).connect(now, sa).expect("connect");
    let mut sh = None;
    for _ in 0..20 {
        for (_, e) in net.take_events() {
            if let Event::Incoming(h) = e {
                sh = Some(h);
            }
        }
        net.step();
    }
    let sh = sh.expect("accepted");
    net.ep(ca).close(ch).expect("half-close");
    for _ in 0..20 {
        net.step();
    }
    let mut sink = Vec::new();
    assert!(drain(net.ep(sa), sh, &mut sink), "server sees EOF");
    assert_eq!(
        net.ep(ca).write(ch, b"x"),
        Err(plait_ptcp::StreamError::Finished)
    );
    assert_eq!(net.ep(sa).state(sh), Ok(State::CloseWait));
    net.ep(sa)
        .write(sh, b"still talking")
        .expect("server writes after the client's FIN");
    for _ in 0..20 {
        net.step();
    }
    let mut got = Vec::new();
    drain(net.ep(ca), ch, &mut got);
    assert_eq!(got, b"still talking");
    net.ep(sa).close(sh).expect("close");
    let mut all = Vec::new();
    for _ in 0..50 {
        net.step();
        drain(net.ep(ca), ch, &mut got);
        all.extend(net.take_events());
    }
    assert_eq!(closed_reason(&all, ca, ch), Some(CloseReason::Finished));
    assert_eq!(closed_reason(&all, sa, sh), Some(CloseReason::Finished));
    // TIME-WAIT ends and the connections are gone.
    while net.step() {}
    assert_eq!(net.ep(ca).connection_count(), 0);
    assert_eq!(net.ep(sa).connection_count(), 0);
}
