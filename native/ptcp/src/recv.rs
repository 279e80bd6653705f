//! The receiving half of a connection: in-order delivery into the application buffer,
//! out-of-order segments kept (bounded by the receive window) for SACK and reassembly,
//! delayed acknowledgements, window updates and the FIN.
use std::collections::VecDeque;
use std::time::Instant;

use crate::conn::{Connection, ReadResult};
use crate::Event;

impl Connection {
    /// Takes in an acceptable segment starting at offset `seq`.
    pub fn receive(
        &mut self,
        now: Instant,
        mut seq: u64,
        mut payload: &[u8],
        mut fin: bool,
        events: &mut VecDeque<Event>,
    ) {
        if self.fin_received {
            self.ack_now = true;
            return;
        }
        if seq < self.rcv_nxt {
            let skip = (self.rcv_nxt - seq).min(payload.len() as u64) as usize;
            payload = &payload[skip..];
            seq += skip as u64;
        }
        let wnd = self.adv_window();
        let room = (self.rcv_nxt + wnd).saturating_sub(seq) as usize;
        if payload.len() > room {
            payload = &payload[..room];
            fin = false;
            self.ack_now = true;
        }
        if fin {
            let at = seq + payload.len() as u64;
            match self.peer_fin {
                None => self.peer_fin = Some(at),
                Some(f) if f != at => return, // contradicts the FIN we have: ignore it
                Some(_) => {}
            }
        }
        if self
            .peer_fin
            .is_some_and(|f| seq + payload.len() as u64 > f)
        {
            return; // data past the FIN
        }
        if seq == self.rcv_nxt {
            self.rbuf.extend(payload);
            self.rcv_nxt += payload.len() as u64;
            let had_ooo = !self.ooo.is_empty();
            while let Some(entry) = self.ooo.first_entry() {
                let s = *entry.key();
                if s > self.rcv_nxt {
                    break;
                }
                let d = entry.remove();
                self.ooo_bytes -= d.len();
                let e = s + d.len() as u64;
                if e > self.rcv_nxt {
                    let skip = (self.rcv_nxt - s) as usize;
                    self.rbuf.extend(&d[skip..]);
                    self.rcv_nxt = e;
                }
            }
            if had_ooo {
                self.ack_now = true;
            } else if !payload.is_empty() {
                self.ack_pending += 1;
                if self.ack_deadline.is_none() {
                    self.ack_deadline = Some(now + self.cfg.ack_delay);
                }
            }
        } else if !payload.is_empty() {
            self.ack_now = true;
            let cap = self.cfg.recv_buffer;
            let dup = self.ooo.get(&seq).is_some_and(|d| d.len() >= payload.len());
            if !dup && self.ooo_bytes + payload.len() <= cap {
                if let Some(old) = self.ooo.insert(seq, payload.to_vec()) {
                    self.ooo_bytes -= old.len();
                }
                self.ooo_bytes += payload.len();
            }
        }
        if self.peer_fin == Some(self.rcv_nxt) && !self.fin_received {
            self.rcv_nxt += 1;
            self.on_fin_received(now);
        }
        self.signal_readable(events);
    }

    fn signal_readable(&mut self, events: &mut VecDeque<Event>) {
        if !self.readable_signalled && (!self.rbuf.is_empty() || self.fin_received) {
            self.readable_signalled = true;
            events.push_back(Event::Readable(self.handle));
        }
    }

    /// Copies buffered bytes into `buf`.
    pub fn read(&mut self, buf: &mut [u8], events: &mut VecDeque<Event>) -> ReadResult {
        let n = self.read_with(buf.len(), |a, b| {
            buf[..a.len()].copy_from_slice(a);
            buf[a.len()..a.len() + b.len()].copy_from_slice(b);
        });
        self.after_read(n, events)
    }

    /// Hands up to `max` buffered bytes to `f` as (at most) two slices, then drops them.
    pub fn read_with(&mut self, max: usize, f: impl FnOnce(&[u8], &[u8])) -> usize {
        let n = max.min(self.rbuf.len());
        if n == 0 {
            return 0;
        }
        let (x, y) = self.rbuf.as_slices();
        let a = n.min(x.len());
        f(&x[..a], &y[..n - a]);
        self.rbuf.drain(..n);
        n
    }

    /// After `n` bytes were read: the EOF, the readable edge and window updates.
    pub fn after_read(&mut self, n: usize, events: &mut VecDeque<Event>) -> ReadResult {
        if self.rbuf.is_empty() {
            self.readable_signalled = false;
        }
        if n > 0 {
            let edge = self.rcv_nxt + self.adv_window();
            let step = (self.cfg.recv_buffer as u64 / 2).min(4 * self.mss as u64);
            if edge >= self.last_adv_edge + step {
                self.ack_now = true;
            }
            return ReadResult::Data(n);
        }
        if self.fin_received && self.rbuf.is_empty() {
            if !self.eof_read {
                self.eof_read = true;
                self.maybe_finished(events);
            }
            return ReadResult::Finished;
        }
        ReadResult::Blocked
    }
}
