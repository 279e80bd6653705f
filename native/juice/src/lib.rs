//! Sans-IO AMP/JUICE box framing, byte-for-byte compatible with Twisted's AMP.
//!
//! A box is a sequence of `(key, value)` pairs. On the wire each key and each value is a
//! 2-byte big-endian length followed by that many bytes; keys are 1–255 bytes long, values
//! 0–65,535 bytes, and a zero-length key ends the box:
//!
//! ```text
//! 00 04 "_ask" 00 01 "1" 00 08 "_command" 00 03 "Sum" 00 00
//! ```
//!
//! [`Decoder`] turns a byte stream, fed in any chunking, into complete boxes and enforces
//! [`Limits`]; [`encode_box`] appends one box to a buffer. Nothing here does I/O.
#![warn(missing_docs)]

mod boxes;
mod decoder;
mod encoder;
mod error;
mod schema;

pub use boxes::{AmpBox, BoxRef, Pairs};
pub use decoder::{Decoder, Limits};
pub use encoder::{encode_box, encode_pair, encoded_len, end_box};
pub use error::{DecodeError, EncodeError};
pub use schema::{
    bool_bytes, int_text, last_value, parse_bool, parse_int, write_int, ArgKind, Field, Schema,
    SchemaError, WirePairs, INT_TEXT_LEN,
};

/// The longest key AMP allows, in bytes.
pub const MAX_KEY_LENGTH: usize = 255;
/// The longest value AMP allows, in bytes.
pub const MAX_VALUE_LENGTH: usize = 65_535;
