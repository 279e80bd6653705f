//! A bounds-checked reader over a message buffer.

use crate::error::FormatError;

/// Reads big-endian integers and byte runs from a message, never past `end`.
pub(crate) struct Reader<'a> {
    /// The whole message (compression pointers index into it).
    pub(crate) msg: &'a [u8],
    /// Current offset.
    pub(crate) pos: usize,
    /// Offset one past the last readable byte (the message end, or an RDATA's end).
    pub(crate) end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole of `msg`.
    pub(crate) fn new(msg: &'a [u8]) -> Self {
        Reader { msg, pos: 0, end: msg.len() }
    }

    /// Bytes left before `end`.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// The next `n` bytes.
    #[inline]
    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        if n > self.remaining() {
            return Err(FormatError::new(self.pos, what));
        }
        let out = self.msg.get(self.pos..self.pos + n).ok_or(FormatError::new(self.pos, what))?;
        self.pos += n;
        Ok(out)
    }

    /// The next byte.
    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.bytes(1, what)?[0])
    }

    /// The next big-endian u16.
    #[inline]
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The next big-endian u32.
    #[inline]
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length-prefixed character string.
    #[inline]
    pub(crate) fn char_string(&mut self) -> Result<&'a [u8], FormatError> {
        let n = self.u8("truncated character-string")? as usize;
        self.bytes(n, "character-string runs past the end of its data")
    }

    /// All bytes up to `end`.
    #[inline]
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.msg.get(self.pos..self.end).unwrap_or(&[]);
        self.pos = self.end.max(self.pos);
        out
    }
}
