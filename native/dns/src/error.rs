//! Error types for parsing and rendering messages.

use thiserror::Error;

/// Malformed wire data: what was wrong and the byte offset (from the start of the message)
/// where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} at offset {offset}")]
pub struct FormatError {
    /// Offset in the message of the byte where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

impl FormatError {
    /// A new error at `offset`.
    pub(crate) fn new(offset: usize, what: &'static str) -> Self {
        FormatError { offset, what }
    }
}

/// A message that cannot be rendered (a field out of range for the wire format).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot render message: {what}")]
pub struct RenderError {
    /// What was wrong.
    pub what: &'static str,
}

impl RenderError {
    /// A new error.
    pub(crate) fn new(what: &'static str) -> Self {
        RenderError { what }
    }
}
