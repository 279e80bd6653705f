//! plait-ptcp: PTCP, a TCP-like reliable byte stream over UDP, sans-IO.
//!
//! An [`Endpoint`] owns every connection that shares one UDP socket, in the manner of
//! quinn-proto: the caller feeds it datagrams ([`Endpoint::handle_datagram`]), sends what
//! [`Endpoint::poll_transmit`] returns, arms one timer at [`Endpoint::poll_timeout`] and
//! calls [`Endpoint::handle_timeout`] when it fires, and learns what happened from
//! [`Endpoint::poll_event`]. There are no sockets and no clock reads: every call takes `now`,
//! so tests drive a pair through loss, duplication, reordering and delay deterministically.
//!
//! Connections have TCP's states (SYN, SYN-ACK, established, FIN both ways, RST,
//! TIME-WAIT), 32-bit wire sequence numbers, cumulative and selective acknowledgement,
//! receive-window flow control, RFC 6298 retransmission timeouts, fast retransmit, NewReno
//! congestion control, pacing and keepalive. Every packet carries a CRC-32; forged resets
//! must match the sequence exactly (RFC 5961), the half-open table is bounded, and no input
//! can panic the decoder.
#![warn(missing_docs)]

mod cc;
mod config;
mod conn;
mod endpoint;
pub mod packet;
mod recv;
mod send;

use thiserror::Error;

pub use config::{Config, ConfigError, MAX_MTU, MIN_MTU};
pub use conn::{ReadResult, State};
pub use endpoint::{DatagramOutcome, Endpoint, Stats, Transmit};
pub use packet::DecodeError;

/// Names one connection of an [`Endpoint`]; never reused by that endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionHandle(pub u64);

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Both directions finished cleanly and everything was read.
    Finished,
    /// The peer reset the connection.
    Reset,
    /// The peer refused the connection (RST in answer to our SYN).
    Refused,
    /// Data, a SYN or keepalive probes went unanswered too long.
    TimedOut,
}

impl CloseReason {
    /// A short lower-case name ("finished", "reset", "refused", "timed out").
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Finished => "finished",
            CloseReason::Reset => "reset",
            CloseReason::Refused => "refused",
            CloseReason::TimedOut => "timed out",
        }
    }
}

/// Something the application should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Our connection attempt completed.
    Connected(ConnectionHandle),
    /// A peer's connection completed its handshake (listening endpoints only).
    Incoming(ConnectionHandle),
    /// Data (or the end of the stream) can be read.
    Readable(ConnectionHandle),
    /// Send-buffer room freed after a short write.
    Writable(ConnectionHandle),
    /// The connection is over; its handle is no longer usable.
    Closed(ConnectionHandle, CloseReason),
}

/// A stream operation that could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StreamError {
    /// No such connection (never existed, or already closed and gone).
    #[error("unknown PTCP connection")]
    UnknownConnection,
    /// The sending direction was already finished with `close`.
    #[error("PTCP stream already finished sending")]
    Finished,
    /// The connection is closed or closing and takes no more data.
    #[error("PTCP connection closed")]
    Closed,
    /// The endpoint holds its most connections already.
    #[error("too many PTCP connections")]
    TooManyConnections,
}
