//! Round-trip estimation (RFC 6298), NewReno congestion control and a token-bucket pacer.
use std::time::{Duration, Instant};

/// Smoothed RTT, its variation and the retransmission timeout derived from them.
#[derive(Debug, Clone)]
pub(crate) struct Rtt {
    pub srtt: Option<Duration>,
    rttvar: Duration,
    pub latest: Duration,
    pub min: Option<Duration>,
    rto: Duration,
    min_rto: Duration,
    max_rto: Duration,
}

impl Rtt {
    pub fn new(initial: Duration, min_rto: Duration, max_rto: Duration) -> Rtt {
        Rtt {
            srtt: None,
            rttvar: Duration::ZERO,
            latest: Duration::ZERO,
            min: None,
            rto: initial,
            min_rto,
            max_rto,
        }
    }

    /// Folds in one sample (RFC 6298 section 2).
    pub fn sample(&mut self, r: Duration) {
        self.latest = r;
        self.min = Some(self.min.map_or(r, |m| m.min(r)));
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((s * 7 + r) / 8);
            }
        }
        let s = self.srtt.unwrap_or(r);
        let g = Duration::from_millis(1);
        self.rto = (s + (self.rttvar * 4).max(g)).clamp(self.min_rto, self.max_rto);
    }

    /// The timeout after `backoff` doublings, at most `max_rto`.
    pub fn rto(&self, backoff: u32) -> Duration {
        self.rto
            .saturating_mul(1u32 << backoff.min(16))
            .min(self.max_rto)
    }

    /// How long an unacknowledged packet may lag one sent after it (RFC 9002's 9/8 RTT).
    pub fn loss_delay(&self) -> Duration {
        let base = self.srtt.map_or(self.rto, |s| s.max(self.latest));
        (base * 9 / 8).max(Duration::from_millis(1))
    }
}

/// NewReno: slow start, congestion avoidance, one window reduction per recovery episode.
#[derive(Debug, Clone)]
pub(crate) struct NewReno {
    pub cwnd: u64,
    pub ssthresh: u64,
    mss: u64,
    acc: u64,
    max: u64,
    /// Sequence number that ends the current recovery episode.
    pub recovery_end: Option<u64>,
}

impl NewReno {
    pub fn new(mss: usize, initial_packets: u32, max: u64) -> NewReno {
        let mss = mss as u64;
        NewReno {
            cwnd: mss * u64::from(initial_packets),
            ssthresh: u64::MAX,
            mss,
            acc: 0,
            max: max.max(4 * mss),
            recovery_end: None,
        }
    }

    pub fn in_recovery(&self, snd_una: u64) -> bool {
        self.recovery_end.is_some_and(|e| snd_una < e)
    }

    /// `bytes` newly acknowledged at `snd_una`.
    pub fn on_ack(&mut self, bytes: u64, snd_una: u64) {
        if self.in_recovery(snd_una) {
            return;
        }
        self.recovery_end = None;
        if self.cwnd < self.ssthresh {
            self.cwnd += bytes;
        } else {
            self.acc += bytes;
            if self.acc >= self.cwnd {
                self.acc -= self.cwnd;
                self.cwnd += self.mss;
            }
        }
        self.cwnd = self.cwnd.min(self.max);
    }

    /// A loss found by acknowledgements (fast retransmit); `snd_nxt` ends the episode.
    pub fn on_loss(&mut self, snd_una: u64, snd_nxt: u64) {
        if self.in_recovery(snd_una) {
            return;
        }
        self.ssthresh = (self.cwnd / 2).max(2 * self.mss);
        self.cwnd = self.ssthresh;
        self.recovery_end = Some(snd_nxt);
    }

    /// A retransmission timeout: back to two packets, so the first retransmission has a
    /// companion whose acknowledgement (or SACK) reveals its fate a round trip later
    /// instead of another, doubled, timeout (RFC 9002 sends two probes for the same reason).
    pub fn on_timeout(&mut self, snd_nxt: u64) {
        self.ssthresh = (self.cwnd / 2).max(2 * self.mss);
        self.cwnd = 2 * self.mss;
        self.recovery_end = Some(snd_nxt);
    }
}

/// Spreads a window's packets over the round trip: a token bucket filled at twice
/// cwnd/srtt (slow start) or 1.25 times (after), holding at most a couple of milliseconds'
/// worth (at least ten packets); a deficit under a millisecond is allowed (down to one
/// burst of debt), so a timer with millisecond resolution never idles the path.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pacer {
    tokens: f64,
    last: Option<Instant>,
}

impl Pacer {
    /// Bytes per second, or None while no RTT is known.
    fn rate(cwnd: u64, ssthresh: u64, srtt: Option<Duration>) -> Option<f64> {
        let s = srtt?.as_secs_f64().max(1e-6);
        let gain = if cwnd < ssthresh { 2.0 } else { 1.25 };
        Some(gain * cwnd as f64 / s)
    }

    /// When a packet of `len` bytes may go (None: now).
    pub fn delay(
        &mut self,
        now: Instant,
        len: usize,
        mss: usize,
        cwnd: u64,
        ssthresh: u64,
        srtt: Option<Duration>,
    ) -> Option<Instant> {
        let rate = Self::rate(cwnd, ssthresh, srtt)?;
        let burst = (rate * 0.002).max(10.0 * mss as f64);
        match self.last {
            None => self.tokens = burst,
            Some(l) => {
                let dt = now.saturating_duration_since(l).as_secs_f64();
                self.tokens = (self.tokens + dt * rate).min(burst);
            }
        }
        self.last = Some(now);
        let need = len as f64;
        // A deficit worth less than a millisecond is sent now: callers' timers have about
        // millisecond resolution, so waiting it out would idle the path, not smooth it.
        let wait = (need - self.tokens) / rate;
        if wait <= 0.001 && self.tokens > -burst {
            None
        } else {
            Some(now + Duration::from_secs_f64(wait.max(1e-6)))
        }
    }

    pub fn spend(&mut self, len: usize) {
        self.tokens -= len as f64;
    }
}
