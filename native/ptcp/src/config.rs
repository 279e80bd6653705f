//! Endpoint configuration: every limit PTCP enforces, with defaults and checked bounds.
use std::time::Duration;

use thiserror::Error;

/// The smallest datagram size allowed.
pub const MIN_MTU: usize = 1200;
/// The largest datagram size allowed.
pub const MAX_MTU: usize = 1400;

/// A configuration value out of its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid PTCP config: {0}")]
pub struct ConfigError(pub String);

/// Limits and timers of an [`crate::Endpoint`] and its connections.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest datagram sent, header included ([`MIN_MTU`]..=[`MAX_MTU`]).
    pub mtu: usize,
    /// Most connections at once, in every state (half-open and TIME-WAIT included).
    pub max_connections: usize,
    /// Most half-open (SYN received, not yet acknowledged) connections; more evict the oldest.
    pub max_half_open: usize,
    /// Bytes of unacknowledged and unsent data one connection buffers.
    pub send_buffer: usize,
    /// Bytes one connection buffers for the application (the most receive window offered).
    pub recv_buffer: usize,
    /// Retransmission timeout before any RTT sample (RFC 6298: 1 s).
    pub initial_rto: Duration,
    /// Lower bound of the retransmission timeout.
    pub min_rto: Duration,
    /// Upper bound of the (backed-off) retransmission timeout.
    pub max_rto: Duration,
    /// How long data (or a SYN) may stay unacknowledged before the connection times out.
    pub user_timeout: Duration,
    /// Idle time before a keepalive probe, and between probes (None: no keepalive).
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keepalive probes before the connection times out.
    pub keepalive_probes: u32,
    /// How long a connection stays in TIME-WAIT.
    pub time_wait: Duration,
    /// Longest delay of an acknowledgement for in-order data.
    pub ack_delay: Duration,
    /// Initial congestion window, in packets.
    pub initial_window: u32,
    /// Pace packets over the round trip instead of sending a window in one burst.
    pub pacing: bool,
    /// Most stateless replies (RSTs to unknown connections) queued at once; more are dropped.
    pub max_stateless_queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mtu: MAX_MTU,
            max_connections: 1024,
            max_half_open: 128,
            send_buffer: 2 << 20,
            recv_buffer: 2 << 20,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(10),
            user_timeout: Duration::from_secs(60),
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_probes: 4,
            time_wait: Duration::from_secs(2),
            ack_delay: Duration::from_millis(5),
            initial_window: 10,
            pacing: true,
            max_stateless_queue: 256,
        }
    }
}

fn check(ok: bool, what: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError(what.to_owned()))
    }
}

impl Config {
    /// Checks every value against its bounds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            (MIN_MTU..=MAX_MTU).contains(&self.mtu),
            "mtu must be 1200..=1400",
        )?;
        check(
            (1..=1 << 20).contains(&self.max_connections),
            "max_connections must be 1..=1048576",
        )?;
        check(
            (1..=1 << 20).contains(&self.max_half_open),
            "max_half_open must be 1..=1048576",
        )?;
        check(
            (4096..=1 << 30).contains(&self.send_buffer),
            "send_buffer must be 4096..=1 GiB",
        )?;
        check(
            (4096..=1 << 30).contains(&self.recv_buffer),
            "recv_buffer must be 4096..=1 GiB",
        )?;
        let ms = Duration::from_millis;
        check(
            self.min_rto >= ms(1) && self.min_rto <= self.max_rto,
            "min_rto must be >= 1 ms and <= max_rto",
        )?;
        check(
            self.max_rto <= Duration::from_secs(120),
            "max_rto must be <= 120 s",
        )?;
        check(
            self.initial_rto >= self.min_rto && self.initial_rto <= self.max_rto,
            "initial_rto must lie in min_rto..=max_rto",
        )?;
        check(
            self.user_timeout >= ms(10) && self.user_timeout <= Duration::from_secs(86400),
            "user_timeout must be 10 ms..=1 day",
        )?;
        if let Some(k) = self.keepalive_interval {
            check(
                k >= ms(10) && k <= Duration::from_secs(86400),
                "keepalive_interval must be 10 ms..=1 day",
            )?;
        }
        check(
            (1..=100).contains(&self.keepalive_probes),
            "keepalive_probes must be 1..=100",
        )?;
        check(
            self.time_wait <= Duration::from_secs(240),
            "time_wait must be <= 240 s",
        )?;
        check(self.ack_delay <= ms(200), "ack_delay must be <= 200 ms")?;
        check(
            (1..=1000).contains(&self.initial_window),
            "initial_window must be 1..=1000 packets",
        )?;
        check(
            (1..=1 << 20).contains(&self.max_stateless_queue),
            "max_stateless_queue must be 1..=1048576",
        )?;
        Ok(())
    }

    /// Payload bytes one packet carries (room is kept for every SACK block).
    pub fn mss(&self) -> usize {
        self.mtu - crate::packet::HEADER_LEN - crate::packet::MAX_SACK * crate::packet::SACK_LEN
    }
}
