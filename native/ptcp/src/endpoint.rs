//! The endpoint: demultiplexes datagrams to connections by connection id, accepts incoming
//! handshakes into a bounded half-open table, answers strangers with stateless resets, and
//! round-robins the connections' packets out.
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use crate::config::{Config, ConfigError};
use crate::conn::{Connection, ReadResult, State};
use crate::packet::{self, flags, DecodeError, Header};
use crate::{ConnectionHandle, Event, StreamError};

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// The datagram.
    pub contents: Vec<u8>,
}

/// What became of a datagram given to [`Endpoint::handle_datagram`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramOutcome {
    /// A PTCP packet, processed (or deliberately ignored).
    Handled,
    /// Not PTCP at all: the caller may hand it to whoever shares the socket.
    Foreign,
    /// Claimed to be PTCP but was malformed or corrupted: dropped.
    Invalid(DecodeError),
}

/// Counters of what the endpoint did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// PTCP datagrams accepted by the decoder.
    pub packets_in: u64,
    /// Datagrams returned by `poll_transmit`.
    pub packets_out: u64,
    /// Datagrams that failed the decoder (bad checksum, malformed).
    pub invalid: u64,
    /// Datagrams without the PTCP magic.
    pub foreign: u64,
    /// Packets for no connection we know, or from the wrong address.
    pub unmatched: u64,
    /// Resets sent to strangers (and refusals of SYNs).
    pub resets_sent: u64,
    /// Stateless replies dropped because their queue was full.
    pub stateless_dropped: u64,
    /// Half-open connections evicted to make room for new SYNs.
    pub half_open_evicted: u64,
    /// SYNs refused because the endpoint was full or not listening.
    pub refused: u64,
}

/// Every connection sharing one UDP socket.
#[derive(Debug)]
pub struct Endpoint {
    config: Config,
    listening: bool,
    conns: HashMap<u64, Connection>,
    by_id: HashMap<u32, u64>,
    by_peer: HashMap<(SocketAddr, u32), u64>,
    half_open: VecDeque<u64>,
    half_open_count: usize,
    next_handle: u64,
    rng: u64,
    epoch: Option<Instant>,
    events: VecDeque<Event>,
    ready: VecDeque<u64>,
    stateless: VecDeque<Transmit>,
    stats: Stats,
}

impl Endpoint {
    /// A new endpoint; `seed` drives the connection ids and initial sequence numbers (give
    /// it real randomness outside tests: ids and ISNs are what keep off-path forgeries out).
    pub fn new(config: Config, seed: u64) -> Result<Endpoint, ConfigError> {
        config.validate()?;
        Ok(Endpoint {
            config,
            listening: false,
            conns: HashMap::new(),
            by_id: HashMap::new(),
            by_peer: HashMap::new(),
            half_open: VecDeque::new(),
            half_open_count: 0,
            next_handle: 1,
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            epoch: None,
            events: VecDeque::new(),
            ready: VecDeque::new(),
            stateless: VecDeque::new(),
            stats: Stats::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether incoming connections are accepted.
    pub fn set_listening(&mut self, on: bool) {
        self.listening = on;
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// How many connections exist (every state).
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// How many connections are half-open.
    pub fn half_open_count(&self) -> usize {
        self.half_open_count
    }

    fn random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn epoch(&mut self, now: Instant) -> Instant {
        *self.epoch.get_or_insert(now)
    }

    fn new_id(&mut self) -> u32 {
        loop {
            let id = self.random() as u32;
            if id != 0 && !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    fn insert(&mut self, now: Instant, remote: SocketAddr, state: State) -> u64 {
        let handle = self.next_handle;
        self.next_handle += 1;
        let id = self.new_id();
        let iss = self.random() as u32;
        let c = Connection::new(
            ConnectionHandle(handle),
            &self.config,
            now,
            remote,
            id,
            iss,
            state,
        );
        self.by_id.insert(id, handle);
        self.conns.insert(handle, c);
        handle
    }

    /// Opens a connection to `remote` (the SYN goes out on the next `poll_transmit`).
    pub fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
    ) -> Result<ConnectionHandle, StreamError> {
        self.epoch(now);
        if self.conns.len() >= self.config.max_connections {
            return Err(StreamError::TooManyConnections);
        }
        let h = self.insert(now, remote, State::SynSent);
        self.mark_ready(h);
        Ok(ConnectionHandle(h))
    }

    fn mark_ready(&mut self, h: u64) {
        if let Some(c) = self.conns.get_mut(&h) {
            if !c.queued {
                c.queued = true;
                self.ready.push_back(h);
            }
        }
    }

    fn queue_stateless(&mut self, t: Transmit) {
        if self.stateless.len() >= self.config.max_stateless_queue {
            self.stats.stateless_dropped += 1;
        } else {
            self.stats.resets_sent += 1;
            self.stateless.push_back(t);
        }
    }

    /// A reset answering `h` (which was for no connection of ours).
    fn reset_for(&mut self, now: Instant, addr: SocketAddr, h: &Header, payload_len: usize) {
        if h.has(flags::RST) {
            return;
        }
        let epoch = self.epoch(now);
        let ack = h.seq.wrapping_add(
            payload_len as u32 + u32::from(h.has(flags::SYN)) + u32::from(h.has(flags::FIN)),
        );
        let r = Header {
            flags: flags::RST | flags::ACK,
            src_id: h.dst_id,
            dst_id: h.src_id,
            seq: if h.has(flags::ACK) { h.ack } else { 0 },
            ack,
            ts_val: Connection::ts(now, epoch),
            ..Header::default()
        };
        let mut out = Vec::with_capacity(packet::HEADER_LEN);
        packet::encode(&r, &[], &mut out);
        self.queue_stateless(Transmit {
            destination: addr,
            contents: out,
        });
    }

    /// Processes one received datagram.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        data: &[u8],
    ) -> DatagramOutcome {
        let (h, payload) = match packet::decode(data) {
            Ok(x) => x,
            Err(DecodeError::Foreign) => {
                self.stats.foreign += 1;
                return DatagramOutcome::Foreign;
            }
            Err(e) => {
                self.stats.invalid += 1;
                return DatagramOutcome::Invalid(e);
            }
        };
        self.stats.packets_in += 1;
        let epoch = self.epoch(now);
        let handle = if h.dst_id != 0 {
            self.by_id.get(&h.dst_id).copied()
        } else {
            self.by_peer.get(&(addr, h.src_id)).copied()
        };
        let Some(handle) = handle else {
            if h.dst_id == 0 && h.flags == flags::SYN {
                self.accept(now, addr, &h);
            } else {
                self.stats.unmatched += 1;
                self.reset_for(now, addr, &h, payload.len());
            }
            return DatagramOutcome::Handled;
        };
        let Some(c) = self.conns.get_mut(&handle) else {
            return DatagramOutcome::Handled;
        };
        let peer_ok = c.state == State::SynSent || c.peer_id == h.src_id;
        if c.remote != addr || !peer_ok {
            self.stats.unmatched += 1;
            return DatagramOutcome::Handled;
        }
        c.handle(now, epoch, &h, payload, &mut self.events);
        self.after(handle);
        DatagramOutcome::Handled
    }

    /// A first SYN from a stranger: a new half-open connection, if there is room.
    fn accept(&mut self, now: Instant, addr: SocketAddr, h: &Header) {
        if !self.listening || self.conns.len() >= self.config.max_connections {
            self.stats.refused += 1;
            self.reset_for(now, addr, h, 0);
            return;
        }
        while self.half_open_count >= self.config.max_half_open {
            let Some(old) = self.half_open.pop_front() else {
                break;
            };
            if let Some(c) = self.conns.get_mut(&old) {
                if c.state == State::SynReceived {
                    c.dead = true;
                    self.stats.half_open_evicted += 1;
                    self.after(old);
                }
            }
        }
        let handle = self.insert(now, addr, State::SynReceived);
        let Some(c) = self.conns.get_mut(&handle) else {
            return;
        };
        c.peer_id = h.src_id;
        c.irs = h.seq;
        c.rcv_nxt = 1;
        c.ts_recent = h.ts_val;
        c.snd_wnd_edge = 1 + u64::from(h.window);
        c.half_open_counted = true;
        self.half_open_count += 1;
        self.half_open.push_back(handle);
        self.by_peer.insert((addr, h.src_id), handle);
        self.mark_ready(handle);
    }

    /// Bookkeeping after a connection was touched: half-open count, removal, send queue.
    fn after(&mut self, handle: u64) {
        let Some(c) = self.conns.get_mut(&handle) else {
            return;
        };
        if c.half_open_counted && c.state != State::SynReceived {
            c.half_open_counted = false;
            self.half_open_count -= 1;
        }
        if c.dead {
            if c.half_open_counted {
                self.half_open_count -= 1;
            }
            let (id, key) = (c.local_id, (c.remote, c.peer_id));
            self.conns.remove(&handle);
            self.by_id.remove(&id);
            if self.by_peer.get(&key) == Some(&handle) {
                self.by_peer.remove(&key);
            }
            if self.half_open.len() > 2 * self.config.max_half_open {
                let conns = &self.conns;
                self.half_open
                    .retain(|h| conns.get(h).is_some_and(|c| c.state == State::SynReceived));
            }
            return;
        }
        self.mark_ready(handle);
    }

    /// The next datagram to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(t) = self.stateless.pop_front() {
            self.stats.packets_out += 1;
            return Some(t);
        }
        let epoch = self.epoch(now);
        let mut out = Vec::new();
        while let Some(h) = self.ready.pop_front() {
            let Some(c) = self.conns.get_mut(&h) else {
                continue;
            };
            if c.poll_transmit(now, epoch, &mut out) {
                let dest = c.remote;
                self.ready.push_back(h);
                self.stats.packets_out += 1;
                return Some(Transmit {
                    destination: dest,
                    contents: out,
                });
            }
            c.queued = false;
            if c.dead {
                self.after(h);
            }
        }
        None
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conns.values().filter_map(|c| c.timeout()).min()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.timeout().is_some_and(|t| t <= now))
            .map(|(h, _)| *h)
            .collect();
        for h in due {
            if let Some(c) = self.conns.get_mut(&h) {
                c.handle_timeout(now, &mut self.events);
            }
            self.after(h);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn conn(&mut self, h: ConnectionHandle) -> Result<&mut Connection, StreamError> {
        match self.conns.get_mut(&h.0) {
            Some(c) if !c.closed_emitted || c.state == State::TimeWait => Ok(c),
            _ => Err(StreamError::UnknownConnection),
        }
    }

    /// Buffers what fits of `data` for sending; how much was taken.
    pub fn write(&mut self, h: ConnectionHandle, data: &[u8]) -> Result<usize, StreamError> {
        let n = self.conn(h)?.write(data)?;
        self.mark_ready(h.0);
        Ok(n)
    }

    /// Copies received bytes into `buf`.
    pub fn read(&mut self, h: ConnectionHandle, buf: &mut [u8]) -> Result<ReadResult, StreamError> {
        let c = self
            .conns
            .get_mut(&h.0)
            .ok_or(StreamError::UnknownConnection)?;
        let r = c.read(buf, &mut self.events);
        self.after(h.0);
        Ok(r)
    }

    /// Hands up to `max` received bytes to `f` (as up to two slices) without an extra copy.
    pub fn read_with(
        &mut self,
        h: ConnectionHandle,
        max: usize,
        f: impl FnOnce(&[u8], &[u8]),
    ) -> Result<ReadResult, StreamError> {
        let c = self
            .conns
            .get_mut(&h.0)
            .ok_or(StreamError::UnknownConnection)?;
        let n = c.read_with(max, f);
        let r = c.after_read(n, &mut self.events);
        self.after(h.0);
        Ok(r)
    }

    /// Bytes ready to read.
    pub fn readable_len(&self, h: ConnectionHandle) -> Result<usize, StreamError> {
        self.conns
            .get(&h.0)
            .map(|c| c.readable_len())
            .ok_or(StreamError::UnknownConnection)
    }

    /// Bytes written and not yet acknowledged.
    pub fn send_buffered(&self, h: ConnectionHandle) -> Result<usize, StreamError> {
        self.conns
            .get(&h.0)
            .map(|c| c.send_buffered())
            .ok_or(StreamError::UnknownConnection)
    }

    /// Free room in the send buffer.
    pub fn send_room(&self, h: ConnectionHandle) -> Result<usize, StreamError> {
        self.conns
            .get(&h.0)
            .map(|c| c.send_room())
            .ok_or(StreamError::UnknownConnection)
    }

    /// The connection's state.
    pub fn state(&self, h: ConnectionHandle) -> Result<State, StreamError> {
        self.conns
            .get(&h.0)
            .map(|c| c.state)
            .ok_or(StreamError::UnknownConnection)
    }

    /// The peer's address.
    pub fn remote(&self, h: ConnectionHandle) -> Result<SocketAddr, StreamError> {
        self.conns
            .get(&h.0)
            .map(|c| c.remote)
            .ok_or(StreamError::UnknownConnection)
    }

    /// Smoothed round-trip time and congestion window (bytes), for diagnostics.
    pub fn path_stats(
        &self,
        h: ConnectionHandle,
    ) -> Result<(Option<std::time::Duration>, u64), StreamError> {
        self.conns
            .get(&h.0)
            .map(|c| (c.rtt.srtt, c.cc.cwnd))
            .ok_or(StreamError::UnknownConnection)
    }

    /// Finishes the sending direction (FIN after the buffered data): a half-close.
    pub fn close(&mut self, h: ConnectionHandle) -> Result<(), StreamError> {
        self.conn(h)?.close();
        self.mark_ready(h.0);
        Ok(())
    }

    /// Aborts the connection: a RST goes to the peer and the handle is gone at once (no
    /// Closed event: the caller knows).
    pub fn reset(&mut self, now: Instant, h: ConnectionHandle) -> Result<(), StreamError> {
        let epoch = self.epoch(now);
        let c = self
            .conns
            .get_mut(&h.0)
            .ok_or(StreamError::UnknownConnection)?;
        if c.state.synchronized() && c.state != State::TimeWait || c.state == State::SynReceived {
            let hd = Header {
                flags: flags::RST | flags::ACK,
                ..c.header(now, epoch, c.snd_nxt)
            };
            let mut out = Vec::with_capacity(packet::HEADER_LEN);
            packet::encode(&hd, &[], &mut out);
            let dest = c.remote;
            self.stateless.push_back(Transmit {
                destination: dest,
                contents: out,
            });
        }
        if let Some(c) = self.conns.get_mut(&h.0) {
            c.closed_emitted = true;
            c.state = State::Closed;
            c.dead = true;
        }
        self.after(h.0);
        Ok(())
    }
}

impl Endpoint {
    /// A one-line dump of a connection's sender and receiver state, for debugging.
    pub fn describe(&self, h: ConnectionHandle) -> String {
        match self.conns.get(&h.0) {
            None => "gone".to_owned(),
            Some(c) => format!(
                "{:?} una={} nxt={} edge={} sbuf={} segs={} inflight={} lost={} sacked={} cwnd={} ssth={} rto={:?} backoff={} pace={:?} | rcv_nxt={} rbuf={} ooo={} fin_rcvd={} ackpend={} acknow={}",
                c.state, c.snd_una, c.snd_nxt, c.snd_wnd_edge, c.sbuf.len(), c.segs.len(), c.in_flight, c.lost_count, c.sacked_count,
                c.cc.cwnd, c.cc.ssthresh, c.rtt.rto(c.backoff), c.backoff, c.pace_until.is_some(), c.rcv_nxt, c.rbuf.len(), c.ooo.len(), c.fin_received, c.ack_pending, c.ack_now
            ),
        }
    }
}
