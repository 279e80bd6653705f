//! Error types for decoding and encoding boxes.

use thiserror::Error;

/// A framing violation found while decoding a stream of boxes.
///
/// Offsets count bytes from the start of the stream fed to the [`Decoder`](crate::Decoder);
/// `box_index` counts boxes from zero.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A key length prefix is over 255.
    #[error(
        "key length {length} exceeds the AMP maximum of 255 bytes \
         (box {box_index}, length prefix at stream offset {offset})"
    )]
    KeyTooLong {
        /// The length the prefix announced.
        length: usize,
        /// Stream offset of the length prefix.
        offset: u64,
        /// Index of the box in the stream.
        box_index: u64,
    },
    /// The box has more keys than [`Limits::max_keys`](crate::Limits::max_keys).
    #[error(
        "box {box_index} has more than {max_keys} keys \
         (key {max_keys_plus_one} starts at stream offset {offset})",
        max_keys_plus_one = max_keys + 1
    )]
    TooManyKeys {
        /// The configured limit.
        max_keys: usize,
        /// Stream offset of the first key over the limit.
        offset: u64,
        /// Index of the box in the stream.
        box_index: u64,
    },
    /// The box would be larger on the wire than
    /// [`Limits::max_box_size`](crate::Limits::max_box_size).
    #[error(
        "box {box_index} (starting at stream offset {box_offset}) would be at least {size} bytes, \
         over the limit of {max_box_size} bytes (length prefix at stream offset {offset})"
    )]
    BoxTooLarge {
        /// The smallest size the box can still have, given what has been read.
        size: usize,
        /// The configured limit.
        max_box_size: usize,
        /// Stream offset of the length prefix that pushed the box over the limit.
        offset: u64,
        /// Stream offset of the first byte of the box.
        box_offset: u64,
        /// Index of the box in the stream.
        box_index: u64,
    },
}

/// A box that cannot be encoded as AMP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A key is empty (an empty key would end the box on the wire).
    #[error("empty key: AMP keys are 1 to 255 bytes long")]
    EmptyKey,
    /// A key is longer than 255 bytes.
    #[error("key of {length} bytes is longer than the AMP maximum of 255: {key}")]
    KeyTooLong {
        /// The key's length.
        length: usize,
        /// The start of the key, escaped for display.
        key: String,
    },
    /// A value is longer than 65,535 bytes.
    #[error("value of {length} bytes for key {key} is longer than the AMP maximum of 65535")]
    ValueTooLong {
        /// The value's length.
        length: usize,
        /// The key, escaped for display.
        key: String,
    },
}

/// `bytes` escaped as in a Python bytes literal, cut after `max` bytes.
pub(crate) fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::from("b'");
    for &b in bytes.iter().take(max) {
        out.extend(std::ascii::escape_default(b).map(char::from));
    }
    out.push('\'');
    if bytes.len() > max {
        out.push_str("...");
    }
    out
}
