//! The one error type of the packet layer, carrying the SSH disconnect reason it maps to.

/// SSH_DISCONNECT_PROTOCOL_ERROR (RFC 4253 §11.1).
pub const REASON_PROTOCOL_ERROR: u32 = 2;
/// SSH_DISCONNECT_MAC_ERROR.
pub const REASON_MAC_ERROR: u32 = 5;
/// SSH_DISCONNECT_COMPRESSION_ERROR.
pub const REASON_COMPRESSION_ERROR: u32 = 6;

/// Why a packet could not be encoded or decoded, or why keys were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// A bad packet length or padding: the peer broke RFC 4253 §6.
    #[error("{0}")]
    Protocol(String),
    /// The MAC or AEAD tag did not verify.
    #[error("message authentication code incorrect")]
    Mac,
    /// The zlib stream was corrupt or inflated past the limit.
    #[error("{0}")]
    Compression(String),
    /// A caller error: unknown algorithm, wrong key or IV length, payload too large.
    #[error("{0}")]
    Config(String),
}

impl PacketError {
    /// The SSH disconnect reason code for this error (0 for a caller error).
    pub fn reason(&self) -> u32 {
        match self {
            PacketError::Protocol(_) => REASON_PROTOCOL_ERROR,
            PacketError::Mac => REASON_MAC_ERROR,
            PacketError::Compression(_) => REASON_COMPRESSION_ERROR,
            PacketError::Config(_) => 0,
        }
    }
}
