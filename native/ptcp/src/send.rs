//! The sending half of a connection: the send buffer, acknowledgement and SACK processing,
//! loss detection (packet and time thresholds, as RFC 9002 does it with transmission order
//! standing in for packet numbers), retransmission timeout, and building packets.
use std::collections::VecDeque;
use std::time::Instant;

use crate::conn::{unwire, wire, Connection, Seg, State};
use crate::packet::{self, flags, Header, MAX_SACK};
use crate::{CloseReason, Event, StreamError};

/// Later transmissions delivered before an unacknowledged one declares it lost.
const PACKET_THRESHOLD: u64 = 3;
/// Most doublings of the retransmission timeout before the handshake completes.
const HANDSHAKE_MAX_BACKOFF: u32 = 1;

impl Connection {
    /// Appends what fits of `data` to the send buffer.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, StreamError> {
        if self.fin_queued {
            return Err(StreamError::Finished);
        }
        if !matches!(
            self.state,
            State::SynSent | State::Established | State::CloseWait
        ) {
            return Err(StreamError::Closed);
        }
        let n = data.len().min(self.send_room());
        if n < data.len() {
            self.want_writable = true;
        }
        self.sbuf.extend(&data[..n]);
        Ok(n)
    }

    /// Processes the acknowledgement fields of `h`; false when the packet must be dropped.
    pub fn process_ack(
        &mut self,
        now: Instant,
        _epoch: Instant,
        h: &Header,
        events: &mut VecDeque<Event>,
    ) -> bool {
        self.rtt_candidate = None;
        let prev_largest = self.largest_delivered_tx;
        let Some(ack) = unwire(self.iss, self.snd_una, h.ack) else {
            return false;
        };
        if ack > self.snd_nxt {
            // Acknowledges what was never sent (RFC 5961 5.2): challenge and drop.
            self.ack_now = true;
            return false;
        }
        let max_window = self.cfg.send_buffer as u64 + 2;
        if ack + max_window < self.snd_una {
            return false;
        }
        if ack >= self.snd_wl {
            self.snd_wl = ack;
            self.snd_wnd_edge = ack + u64::from(h.window);
        }
        let mut delivered = false;
        let mut sack_only = false;
        let mut newly = 0u64;
        if ack > self.snd_una {
            while let Some(s) = self.segs.front_mut() {
                if s.end <= ack {
                    let s = self.segs.pop_front().expect("front exists");
                    if !s.sacked && !s.lost {
                        self.rtt_candidate_from(&s);
                    }
                    self.forget(&s);
                    self.largest_delivered_tx = self.largest_delivered_tx.max(s.tx);
                    newly += s.len();
                } else {
                    if s.start < ack {
                        let cut = ack - s.start;
                        let c = (s.tx, s.sent, s.retx, s.sacked);
                        if !c.3 && !s.lost && self.rtt_candidate.is_none_or(|r| r.0 < c.0) {
                            self.rtt_candidate = Some((c.0, c.1, c.2));
                        }
                        if !s.sacked && !s.lost {
                            self.in_flight = self.in_flight.saturating_sub(cut);
                        }
                        s.start = ack;
                        newly += cut;
                    }
                    break;
                }
            }
            self.snd_una = ack;
            let data_acked = ack.min(self.sbuf_base + self.sbuf.len() as u64);
            if data_acked > self.sbuf_base {
                let n = (data_acked - self.sbuf_base) as usize;
                self.sbuf.drain(..n);
                self.sbuf_base = data_acked;
            }
            self.backoff = 0;
            self.last_progress = now;
            self.probe_window = false;
            self.rto_deadline = if self.segs.is_empty() {
                None
            } else {
                Some(now + self.rtt.rto(0))
            };
            self.cc.on_ack(newly, self.snd_una);
            delivered = true;
            if self.want_writable
                && self.send_room() >= (self.cfg.send_buffer / 4).max(1)
                && !self.fin_queued
            {
                self.want_writable = false;
                events.push_back(Event::Writable(self.handle));
            }
            if self.fin_queued && !self.fin_acked && self.fin_sent_seq().is_some_and(|f| ack > f) {
                self.on_fin_acked(now, events);
            }
        } else if ack == self.snd_una && self.probe_window {
            // The peer answers our zero-window probe: it is alive, just not reading.
            self.last_progress = now;
        }
        for &(s, e) in h.sack_blocks() {
            let (Some(s), Some(e)) = (
                unwire(self.iss, self.snd_una, s),
                unwire(self.iss, self.snd_una, e),
            ) else {
                continue;
            };
            let (s, e) = (s.max(self.snd_una), e.min(self.snd_nxt));
            if s < e && self.mark_sacked(s, e) {
                delivered = true;
                sack_only = ack <= self.snd_una && !self.segs.is_empty();
            }
        }
        if sack_only && self.backoff > 0 {
            // The peer got something we sent since the timeout: the path works, so the
            // backed-off timer (kept for dead paths) restarts at its base value (RFC 9002's
            // PTO count resets on any acknowledgement too).
            self.backoff = 0;
            self.rto_deadline = Some(now + self.rtt.rto(0));
        }
        // The RTT sample is the age of the newest transmission this packet newly delivers
        // (cumulatively or by SACK), as RACK (RFC 8985) takes it. The peer's timestamp echo
        // is not used: during loss it echoes the segment that last advanced its left edge
        // (RFC 7323 4.3), seconds old, and those samples inflated the RTO towards max_rto.
        // Only a packet that delivers the newest transmission yet gives a sample (RFC 9002
        // 5.1), and never one already declared lost: one whose delivery is reported late
        // (SACK blocks are few; acknowledgements get lost) would measure the reporting delay.
        if let Some((tx, sent, retx)) = self.rtt_candidate.take() {
            if !retx && tx > prev_largest {
                self.rtt.sample(now.saturating_duration_since(sent));
            }
        }
        let stale_front = self
            .segs
            .front()
            .is_some_and(|s| s.tx < self.largest_delivered_tx && !s.sacked);
        if delivered && (self.sacked_count > 0 || stale_front || self.loss_deadline.is_some()) {
            self.detect_lost(now);
        }
        true
    }

    /// The sequence number of our FIN once it has been sent.
    fn fin_sent_seq(&self) -> Option<u64> {
        let f = self.sbuf_base + self.sbuf.len() as u64;
        (self.fin_queued && self.snd_nxt > f).then_some(f)
    }

    /// Makes `s` the RTT candidate if it is the newest transmission delivered so far.
    fn rtt_candidate_from(&mut self, s: &Seg) {
        if self.rtt_candidate.is_none_or(|r| r.0 < s.tx) {
            self.rtt_candidate = Some((s.tx, s.sent, s.retx));
        }
    }

    /// Drops a segment's accounting.
    fn forget(&mut self, s: &Seg) {
        if s.sacked {
            self.sacked_count -= 1;
        } else if s.lost {
            self.lost_count -= 1;
        } else {
            self.in_flight = self.in_flight.saturating_sub(s.len());
        }
    }

    /// Marks the segments inside `[s, e)` as selectively acknowledged.
    fn mark_sacked(&mut self, s: u64, e: u64) -> bool {
        let mut any = false;
        let first = self.segs.partition_point(|x| x.end <= s);
        for i in first..self.segs.len() {
            let seg = &mut self.segs[i];
            if seg.start >= e {
                break;
            }
            if seg.sacked || seg.start < s || seg.end > e {
                continue;
            }
            seg.sacked = true;
            let (len, tx, lost) = (seg.len(), seg.tx, seg.lost);
            let (sent, retx) = (seg.sent, seg.retx);
            if !lost && self.rtt_candidate.is_none_or(|r| r.0 < tx) {
                self.rtt_candidate = Some((tx, sent, retx));
            }
            seg.lost = false;
            self.sacked_count += 1;
            if lost {
                self.lost_count -= 1;
            } else {
                self.in_flight = self.in_flight.saturating_sub(len);
            }
            self.largest_delivered_tx = self.largest_delivered_tx.max(tx);
            any = true;
        }
        any
    }

    /// Declares lost what later deliveries prove lost; arms the time threshold for the rest.
    pub fn detect_lost(&mut self, now: Instant) {
        let delay = self.rtt.loss_delay();
        let mut next: Option<Instant> = None;
        let mut any = false;
        let largest = self.largest_delivered_tx;
        for seg in self.segs.iter_mut() {
            if seg.sacked || seg.lost || seg.tx >= largest {
                continue;
            }
            if seg.tx + PACKET_THRESHOLD <= largest || now >= seg.sent + delay {
                seg.lost = true;
                self.lost_count += 1;
                self.in_flight = self.in_flight.saturating_sub(seg.end - seg.start);
                any = true;
            } else {
                let t = seg.sent + delay;
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
        }
        self.loss_deadline = next;
        if any {
            self.cc.on_loss(self.snd_una, self.snd_nxt);
        }
    }

    /// The retransmission timer fired.
    pub fn on_rto(&mut self, now: Instant, events: &mut VecDeque<Event>) {
        self.rto_deadline = None;
        if self.segs.is_empty() {
            return;
        }
        if now.saturating_duration_since(self.last_progress) >= self.cfg.user_timeout {
            self.terminate(CloseReason::TimedOut, events);
            return;
        }
        // Backing off protects a dead or congested path. A peer heard from since the last
        // timeout is alive, and the loss random: the timer stays where it is. A handshake
        // backs off at most to 2 initial RTOs (SYNs at 0, 1, 3, 5, 7 s... instead of
        // 0, 1, 3, 7, 15 s: a 20 %-lossy path loses four handshakes in a row 1.7 % of the
        // time), and, as RFC 9002's handshake probes, leaves the congestion window alone:
        // a lost SYN says nothing about the path's capacity, and halving ssthresh down to
        // two packets before the first byte left the transfer crawling.
        let heard = self.last_rto_at.is_some_and(|t| self.last_recv > t);
        let cap = if self.state.synchronized() {
            16
        } else {
            HANDSHAKE_MAX_BACKOFF
        };
        if !heard {
            self.backoff = (self.backoff + 1).min(cap);
        }
        self.last_rto_at = Some(now);
        if self.state.synchronized() {
            self.cc.on_timeout(self.snd_nxt);
        }
        for seg in self.segs.iter_mut() {
            if !seg.sacked && !seg.lost {
                seg.lost = true;
                self.lost_count += 1;
            }
        }
        self.in_flight = 0;
        self.loss_deadline = None;
        self.pace_until = None;
        self.rto_deadline = Some(now + self.rtt.rto(self.backoff));
    }

    /// The next packet this connection has to send, written into `out`.
    pub fn poll_transmit(&mut self, now: Instant, epoch: Instant, out: &mut Vec<u8>) -> bool {
        if self.dead {
            return false;
        }
        if self.send_rst {
            self.send_rst = false;
            let h = Header {
                flags: flags::RST | flags::ACK,
                ..self.header(now, epoch, self.snd_nxt)
            };
            packet::encode(&h, &[], out);
            return true;
        }
        if matches!(self.state, State::SynSent | State::SynReceived) && self.snd_nxt == 0 {
            self.push_seg(now, 0, 1, true, false);
            return self.emit_seg(now, epoch, self.segs.len() - 1, out);
        }
        if self.pace_until.is_none() {
            if self.lost_count > 0 {
                if let Some(i) = self.segs.iter().position(|s| s.lost) {
                    let len = self.segs[i].len();
                    if (self.in_flight + len <= self.cc.cwnd || self.in_flight == 0)
                        && self.pace_ok(now, len as usize)
                    {
                        let s = &mut self.segs[i];
                        s.lost = false;
                        self.lost_count -= 1;
                        self.in_flight += len;
                        return self.emit_seg(now, epoch, i, out);
                    }
                }
            } else if let Some((start, end, fin)) = self.next_new(now) {
                self.push_seg(now, start, end, false, fin);
                return self.emit_seg(now, epoch, self.segs.len() - 1, out);
            }
        }
        if self.keepalive_due {
            self.keepalive_due = false;
            let h = self.header(now, epoch, self.snd_nxt.saturating_sub(1));
            packet::encode(&h, &[], out);
            return true;
        }
        let ack_due =
            self.ack_now || self.ack_pending >= 2 || self.ack_deadline.is_some_and(|t| now >= t);
        if ack_due && self.state != State::SynSent && self.rcv_nxt > 0 {
            let h = self.header(now, epoch, self.snd_nxt);
            packet::encode(&h, &[], out);
            self.acked();
            return true;
        }
        false
    }

    /// The range of new data (and FIN) to send next, if the windows allow one.
    fn next_new(&mut self, now: Instant) -> Option<(u64, u64, bool)> {
        if !self.state.synchronized() || self.state == State::TimeWait {
            return None;
        }
        let data_end = self.sbuf_base + self.sbuf.len() as u64;
        let fin_pending = self.fin_queued && self.snd_nxt <= data_end;
        if self.snd_nxt >= data_end && !fin_pending {
            return None;
        }
        let mut room = self.snd_wnd_edge.saturating_sub(self.snd_nxt);
        if room == 0 && self.snd_nxt < data_end {
            if !self.segs.is_empty() {
                return None;
            }
            // Zero window with nothing in flight: one byte probes it (RTO repeats it).
            self.probe_window = true;
            room = 1;
        }
        let want = (data_end - self.snd_nxt).min(self.mss as u64).min(room);
        let cw_room = self.cc.cwnd.saturating_sub(self.in_flight);
        if cw_room < want.max(1) && self.in_flight > 0 {
            return None;
        }
        if !self.pace_ok(now, want as usize + packet::HEADER_LEN) {
            return None;
        }
        let end = self.snd_nxt + want;
        let fin = self.fin_queued && end == data_end;
        Some((self.snd_nxt, end + u64::from(fin), fin))
    }

    fn pace_ok(&mut self, now: Instant, len: usize) -> bool {
        if !self.cfg.pacing {
            return true;
        }
        match self.pacer.delay(
            now,
            len,
            self.mss,
            self.cc.cwnd,
            self.cc.ssthresh,
            self.rtt.srtt,
        ) {
            None => {
                self.pacer.spend(len);
                true
            }
            Some(t) => {
                self.pace_until = Some(t);
                false
            }
        }
    }

    fn push_seg(&mut self, now: Instant, start: u64, end: u64, syn: bool, fin: bool) {
        self.segs.push_back(Seg {
            start,
            end,
            sent: now,
            tx: 0,
            retx: false,
            sacked: false,
            lost: false,
            syn,
            fin,
        });
        self.snd_nxt = self.snd_nxt.max(end);
        self.in_flight += end - start;
    }

    /// Writes segment `i` (fresh or again) into `out`.
    fn emit_seg(&mut self, now: Instant, epoch: Instant, i: usize, out: &mut Vec<u8>) -> bool {
        self.tx_counter += 1;
        let (start, end, syn, fin) = {
            let s = &mut self.segs[i];
            s.retx |= s.tx != 0;
            s.sent = now;
            s.tx = self.tx_counter;
            (s.start, s.end, s.syn, s.fin)
        };
        let mut h = self.header(now, epoch, start);
        if syn {
            h.flags = if self.incoming {
                flags::SYN | flags::ACK
            } else {
                flags::SYN
            };
            h.sack_len = 0;
        }
        if fin {
            h.flags |= flags::FIN;
        }
        let data_end = end - u64::from(fin);
        let from = start.max(self.sbuf_base);
        if data_end > from && !syn {
            let a = (from - self.sbuf_base) as usize;
            let b = (data_end - self.sbuf_base) as usize;
            let (x, y) = self.sbuf.as_slices();
            encode_split(&h, x, y, a, b, out);
        } else {
            packet::encode(&h, &[], out);
        }
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(now + self.rtt.rto(self.backoff));
        }
        if !syn || self.incoming {
            self.acked();
        }
        true
    }

    /// Every packet carries the acknowledgement: nothing is pending after one goes out.
    fn acked(&mut self) {
        self.ack_now = false;
        self.ack_pending = 0;
        self.ack_deadline = None;
        self.last_adv_edge = self.rcv_nxt + self.adv_window();
    }

    /// A header with the current acknowledgement, window, timestamps and SACK blocks.
    pub fn header(&self, now: Instant, epoch: Instant, seq: u64) -> Header {
        let mut h = Header {
            flags: flags::ACK,
            src_id: self.local_id,
            dst_id: self.peer_id,
            seq: wire(self.iss, seq),
            ack: wire(self.irs, self.rcv_nxt),
            window: self.adv_window().min(u64::from(u32::MAX)) as u32,
            ts_val: Connection::ts(now, epoch),
            ts_ecr: self.ts_recent,
            ..Header::default()
        };
        let mut n = 0;
        let mut cur: Option<(u64, u64)> = None;
        for (&s, d) in &self.ooo {
            let e = s + d.len() as u64;
            match cur {
                Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
                Some(block) => {
                    if n < MAX_SACK {
                        h.sack[n] = (wire(self.irs, block.0), wire(self.irs, block.1));
                        n += 1;
                    }
                    cur = Some((s, e));
                }
                None => cur = Some((s, e)),
            }
            if n == MAX_SACK {
                break;
            }
        }
        if let Some(block) = cur {
            if n < MAX_SACK {
                h.sack[n] = (wire(self.irs, block.0), wire(self.irs, block.1));
                n += 1;
            }
        }
        h.sack_len = n as u8;
        h
    }
}

/// Encodes a packet whose payload is `x ++ y` sliced to `[a, b)`, copying it only once.
fn encode_split(h: &Header, x: &[u8], y: &[u8], a: usize, b: usize, out: &mut Vec<u8>) {
    if b <= x.len() {
        packet::encode(h, &x[a..b], out);
    } else if a >= x.len() {
        packet::encode(h, &y[a - x.len()..b - x.len()], out);
    } else {
        let mut tmp = Vec::with_capacity(b - a);
        tmp.extend_from_slice(&x[a..]);
        tmp.extend_from_slice(&y[..b - x.len()]);
        packet::encode(h, &tmp, out);
    }
}
