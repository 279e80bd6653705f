//! One connection: the TCP-like state machine, its timers and its application-facing stream.
//!
//! Sequence numbers are kept as 64-bit offsets from the initial sequence number (the SYN is
//! offset 0, data byte `i` is `i + 1`, the FIN follows the last byte) and only their low 32
//! bits, shifted by the ISN, go on the wire; [`unwire`] recovers the offset nearest a
//! reference, so wrap-around never needs special cases.
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::cc::{NewReno, Pacer, Rtt};
use crate::config::Config;
use crate::packet::{flags, Header};
use crate::{CloseReason, ConnectionHandle, Event};

/// Where a connection is in its life (RFC 793 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// SYN sent, waiting for SYN-ACK.
    SynSent,
    /// SYN received, SYN-ACK sent, waiting for the final ACK (half-open).
    SynReceived,
    /// Both directions open.
    Established,
    /// Our FIN sent, not yet acknowledged; the peer still sends.
    FinWait1,
    /// Our FIN acknowledged; the peer still sends.
    FinWait2,
    /// Both FINs sent, ours not yet acknowledged.
    Closing,
    /// Waiting out stray retransmissions after a clean close.
    TimeWait,
    /// The peer finished; we still send.
    CloseWait,
    /// The peer finished, our FIN sent, waiting for its acknowledgement.
    LastAck,
    /// Gone.
    Closed,
}

impl State {
    /// True once the handshake is complete (until closed).
    pub fn synchronized(self) -> bool {
        !matches!(self, State::SynSent | State::SynReceived | State::Closed)
    }
}

/// The wire value of offset `off` in a sequence space starting at `isn`.
pub(crate) fn wire(isn: u32, off: u64) -> u32 {
    isn.wrapping_add(off as u32)
}

/// The offset whose wire value is `w` nearest to `reference` (None if it would be negative).
pub(crate) fn unwire(isn: u32, reference: u64, w: u32) -> Option<u64> {
    let d = i64::from(w.wrapping_sub(wire(isn, reference)) as i32);
    u64::try_from(reference as i64 + d).ok()
}

/// One sent, not yet cumulatively acknowledged, range of our sequence space.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub start: u64,
    pub end: u64,
    pub sent: Instant,
    /// Transmission order (like a QUIC packet number): loss is judged by it.
    pub tx: u64,
    /// Sent more than once: its acknowledgement gives no RTT sample (Karn's algorithm).
    pub retx: bool,
    pub sacked: bool,
    pub lost: bool,
    pub syn: bool,
    pub fin: bool,
}

impl Seg {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
}

/// What `read` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadResult {
    /// This many bytes were copied.
    Data(usize),
    /// Nothing buffered yet.
    Blocked,
    /// The peer finished and every byte has been read.
    Finished,
}

/// A connection's whole state.
#[derive(Debug)]
pub(crate) struct Connection {
    pub handle: ConnectionHandle,
    pub state: State,
    pub remote: SocketAddr,
    pub local_id: u32,
    pub peer_id: u32,
    pub incoming: bool,
    pub mss: usize,
    pub cfg: Config,
    // sending
    pub iss: u32,
    pub snd_una: u64,
    pub snd_nxt: u64,
    pub snd_wnd_edge: u64,
    pub snd_wl: u64,
    pub sbuf: VecDeque<u8>,
    /// Sequence offset of `sbuf[0]`.
    pub sbuf_base: u64,
    pub fin_queued: bool,
    pub fin_acked: bool,
    pub segs: VecDeque<Seg>,
    pub in_flight: u64,
    pub lost_count: usize,
    pub sacked_count: usize,
    pub tx_counter: u64,
    pub largest_delivered_tx: u64,
    /// The newest transmission (tx, sent at, retransmitted) delivered by the packet being
    /// processed: the RTT sample comes from it.
    pub rtt_candidate: Option<(u64, Instant, bool)>,
    pub cc: NewReno,
    pub rtt: Rtt,
    pub pacer: Pacer,
    pub pace_until: Option<Instant>,
    pub rto_deadline: Option<Instant>,
    pub loss_deadline: Option<Instant>,
    pub backoff: u32,
    /// When the retransmission timer last fired.
    pub last_rto_at: Option<Instant>,
    pub last_progress: Instant,
    pub want_writable: bool,
    pub probe_window: bool,
    // receiving
    pub irs: u32,
    pub rcv_nxt: u64,
    pub rbuf: VecDeque<u8>,
    pub ooo: BTreeMap<u64, Vec<u8>>,
    pub ooo_bytes: usize,
    pub peer_fin: Option<u64>,
    pub fin_received: bool,
    pub eof_read: bool,
    pub last_adv_edge: u64,
    pub ack_pending: u32,
    pub ack_now: bool,
    pub ack_deadline: Option<Instant>,
    pub ts_recent: u32,
    pub readable_signalled: bool,
    // life
    pub last_recv: Instant,
    pub keepalive_sent: u32,
    pub keepalive_due: bool,
    pub time_wait_until: Option<Instant>,
    pub closed_emitted: bool,
    pub dead: bool,
    pub send_rst: bool,
    pub half_open_counted: bool,
    pub queued: bool,
}

impl Connection {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        handle: ConnectionHandle,
        cfg: &Config,
        now: Instant,
        remote: SocketAddr,
        local_id: u32,
        iss: u32,
        state: State,
    ) -> Connection {
        let mss = cfg.mss();
        Connection {
            handle,
            state,
            remote,
            local_id,
            peer_id: 0,
            incoming: state == State::SynReceived,
            mss,
            cfg: cfg.clone(),
            iss,
            snd_una: 0,
            snd_nxt: 0,
            snd_wnd_edge: 1,
            snd_wl: 0,
            sbuf: VecDeque::new(),
            sbuf_base: 1,
            fin_queued: false,
            fin_acked: false,
            segs: VecDeque::new(),
            in_flight: 0,
            lost_count: 0,
            sacked_count: 0,
            tx_counter: 0,
            largest_delivered_tx: 0,
            rtt_candidate: None,
            cc: NewReno::new(mss, cfg.initial_window, (cfg.send_buffer as u64) * 2),
            rtt: Rtt::new(cfg.initial_rto, cfg.min_rto, cfg.max_rto),
            pacer: Pacer::default(),
            pace_until: None,
            rto_deadline: None,
            loss_deadline: None,
            backoff: 0,
            last_rto_at: None,
            last_progress: now,
            want_writable: false,
            probe_window: false,
            irs: 0,
            rcv_nxt: 0,
            rbuf: VecDeque::new(),
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            peer_fin: None,
            fin_received: false,
            eof_read: false,
            last_adv_edge: 0,
            ack_pending: 0,
            ack_now: false,
            ack_deadline: None,
            ts_recent: 0,
            readable_signalled: false,
            last_recv: now,
            keepalive_sent: 0,
            keepalive_due: false,
            time_wait_until: None,
            closed_emitted: false,
            dead: false,
            send_rst: false,
            half_open_counted: false,
            queued: false,
        }
    }

    /// Ends the connection for `reason` (emits Closed once if the application knows it).
    pub fn terminate(&mut self, reason: CloseReason, events: &mut VecDeque<Event>) {
        if !self.closed_emitted && self.state != State::SynReceived {
            events.push_back(Event::Closed(self.handle, reason));
        }
        self.closed_emitted = true;
        self.state = State::Closed;
        self.dead = true;
    }

    /// Emits Closed(Finished) once both directions are done and the application has read
    /// the end of the stream.
    pub fn maybe_finished(&mut self, events: &mut VecDeque<Event>) {
        if self.fin_acked && self.fin_received && self.eof_read && !self.closed_emitted {
            self.closed_emitted = true;
            events.push_back(Event::Closed(self.handle, CloseReason::Finished));
        }
        if self.state == State::Closed && self.closed_emitted {
            self.dead = true;
        }
    }

    /// Our FIN is acknowledged: the state moves on.
    pub fn on_fin_acked(&mut self, now: Instant, events: &mut VecDeque<Event>) {
        self.fin_acked = true;
        match self.state {
            State::FinWait1 => self.state = State::FinWait2,
            State::Closing => self.enter_time_wait(now),
            State::LastAck => self.state = State::Closed,
            _ => {}
        }
        self.maybe_finished(events);
    }

    pub fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.time_wait_until = Some(now + self.cfg.time_wait);
    }

    /// The peer's FIN arrived in order.
    pub fn on_fin_received(&mut self, now: Instant) {
        self.fin_received = true;
        self.ack_now = true;
        match self.state {
            State::Established => self.state = State::CloseWait,
            State::FinWait1 => {
                if self.fin_acked {
                    self.enter_time_wait(now)
                } else {
                    self.state = State::Closing
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    /// Queues our FIN after the buffered data (a half-close).
    pub fn close(&mut self) {
        if self.fin_queued {
            return;
        }
        self.fin_queued = true;
        match self.state {
            State::Established => self.state = State::FinWait1,
            State::CloseWait => self.state = State::LastAck,
            _ => {}
        }
    }

    /// Microseconds since `epoch`, never 0 (0 means "no timestamp").
    pub fn ts(now: Instant, epoch: Instant) -> u32 {
        let t = now.saturating_duration_since(epoch).as_micros() as u32;
        t.max(1)
    }

    /// Handles one packet addressed to this connection.
    pub fn handle(
        &mut self,
        now: Instant,
        epoch: Instant,
        h: &Header,
        payload: &[u8],
        events: &mut VecDeque<Event>,
    ) {
        match self.state {
            State::Closed => {}
            State::SynSent => self.handle_syn_sent(now, epoch, h, events),
            State::SynReceived => {
                if h.has(flags::RST) {
                    if unwire(self.irs, self.rcv_nxt, h.seq) == Some(self.rcv_nxt) {
                        self.terminate(CloseReason::Reset, events);
                    }
                    return;
                }
                if h.has(flags::SYN) {
                    if h.seq == self.irs {
                        self.resend_syn(now);
                    }
                    return;
                }
                if !h.has(flags::ACK) || h.ack != wire(self.iss, 1) {
                    return;
                }
                self.last_recv = now;
                self.state = State::Established;
                events.push_back(Event::Incoming(self.handle));
                self.handle_synchronized(now, epoch, h, payload, events);
            }
            _ => {
                self.handle_synchronized(now, epoch, h, payload, events);
            }
        }
    }

    fn handle_syn_sent(
        &mut self,
        now: Instant,
        epoch: Instant,
        h: &Header,
        events: &mut VecDeque<Event>,
    ) {
        let acks_syn = h.has(flags::ACK) && h.ack == wire(self.iss, 1);
        if h.has(flags::RST) {
            if acks_syn {
                self.terminate(CloseReason::Refused, events);
            }
            return;
        }
        if !(h.has(flags::SYN) && acks_syn) {
            return;
        }
        self.last_recv = now;
        self.peer_id = h.src_id;
        self.irs = h.seq;
        self.rcv_nxt = 1;
        self.ts_recent = h.ts_val;
        self.last_adv_edge = self.rcv_nxt + self.adv_window();
        self.process_ack(now, epoch, h, events);
        self.state = State::Established;
        self.ack_now = true;
        events.push_back(Event::Connected(self.handle));
        if self.fin_queued {
            self.state = State::FinWait1;
        }
    }

    /// Forces the SYN (or SYN-ACK) out again (the peer retransmitted its SYN).
    fn resend_syn(&mut self, _now: Instant) {
        if let Some(s) = self.segs.front_mut() {
            if s.syn && !s.lost && !s.sacked {
                s.lost = true;
                self.lost_count += 1;
                self.in_flight = self.in_flight.saturating_sub(s.end - s.start);
            }
        }
    }

    fn handle_synchronized(
        &mut self,
        now: Instant,
        epoch: Instant,
        h: &Header,
        payload: &[u8],
        events: &mut VecDeque<Event>,
    ) {
        let Some(seq) = unwire(self.irs, self.rcv_nxt, h.seq) else {
            return;
        };
        let wnd = self.adv_window().max(1);
        if h.has(flags::RST) {
            // RFC 5961 3.2: only an exact match resets; in-window gets a challenge ACK.
            if seq == self.rcv_nxt {
                self.terminate(CloseReason::Reset, events);
            } else if seq > self.rcv_nxt && seq < self.rcv_nxt + wnd {
                self.ack_now = true;
            }
            return;
        }
        if h.has(flags::SYN) {
            // RFC 5961 4: a SYN on a synchronized connection gets a challenge ACK.
            self.ack_now = true;
            return;
        }
        if !h.has(flags::ACK) {
            return;
        }
        // Acceptability (RFC 793): the segment must overlap the receive window.
        let end = seq + payload.len() as u64 + u64::from(h.has(flags::FIN));
        let acceptable = if end == seq {
            seq + 1 >= self.rcv_nxt && seq <= self.rcv_nxt + wnd
        } else {
            end > self.rcv_nxt && seq < self.rcv_nxt + wnd
        };
        if !acceptable && end != seq {
            // A duplicate or out-of-window segment: acknowledge what we have (its own
            // acknowledgement field is still checked and used below).
            self.ack_now = true;
        }
        if seq < self.rcv_nxt && end == seq {
            // A keepalive probe (or a stale ACK): answer it.
            self.ack_now = true;
        }
        self.last_recv = now;
        self.keepalive_sent = 0;
        if seq <= self.rcv_nxt && acceptable {
            self.ts_recent = h.ts_val;
        }
        if !self.process_ack(now, epoch, h, events) {
            return;
        }
        if self.state == State::TimeWait {
            if h.has(flags::FIN) {
                self.ack_now = true;
                self.time_wait_until = Some(now + self.cfg.time_wait);
            }
            return;
        }
        if acceptable && end != seq {
            self.receive(now, seq, payload, h.has(flags::FIN), events);
        }
    }

    /// The receive window offered: free room in the application buffer.
    pub fn adv_window(&self) -> u64 {
        self.cfg.recv_buffer.saturating_sub(self.rbuf.len()) as u64
    }

    /// Handles the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant, events: &mut VecDeque<Event>) {
        if self.dead {
            return;
        }
        if let Some(t) = self.time_wait_until {
            if now >= t {
                self.state = State::Closed;
                self.closed_emitted = true;
                self.dead = true;
                return;
            }
        }
        if self.rto_deadline.is_some_and(|t| now >= t) {
            self.on_rto(now, events);
            if self.dead {
                return;
            }
        }
        if self.loss_deadline.is_some_and(|t| now >= t) {
            self.loss_deadline = None;
            self.detect_lost(now);
        }
        if self.ack_deadline.is_some_and(|t| now >= t) {
            self.ack_now = true;
        }
        if self.pace_until.is_some_and(|t| now >= t) {
            self.pace_until = None;
        }
        if let Some(t) = self.keepalive_at() {
            if now >= t {
                if self.keepalive_sent >= self.cfg.keepalive_probes {
                    self.terminate(CloseReason::TimedOut, events);
                    return;
                }
                self.keepalive_sent += 1;
                self.keepalive_due = true;
            }
        }
    }

    /// When the next keepalive probe is due (only while nothing is outstanding).
    fn keepalive_at(&self) -> Option<Instant> {
        let k = self.cfg.keepalive_interval?;
        if !self.state.synchronized() || self.state == State::TimeWait || !self.segs.is_empty() {
            return None;
        }
        Some(self.last_recv + k * (self.keepalive_sent + 1))
    }

    /// The earliest timer.
    pub fn timeout(&self) -> Option<Instant> {
        if self.dead {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut take = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        };
        take(self.time_wait_until);
        take(self.rto_deadline);
        take(self.loss_deadline);
        if self.ack_pending > 0 {
            take(self.ack_deadline);
        }
        take(self.pace_until);
        take(self.keepalive_at());
        t
    }

    /// Free room in the send buffer.
    pub fn send_room(&self) -> usize {
        self.cfg.send_buffer.saturating_sub(self.sbuf.len())
    }

    /// Bytes written but not yet acknowledged.
    pub fn send_buffered(&self) -> usize {
        self.sbuf.len()
    }

    /// Read-side: how many bytes are ready.
    pub fn readable_len(&self) -> usize {
        self.rbuf.len()
    }

    #[allow(dead_code)]
    pub fn rtt_estimate(&self) -> Option<Duration> {
        self.rtt.srtt
    }
}
