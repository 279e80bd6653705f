//! Decoded boxes: owned ([`AmpBox`]) and borrowed from the decoder's input ([`BoxRef`]).

/// An owned box: its `(key, value)` pairs in wire order.
///
/// AMP gives no meaning to the order of keys, and a key appearing twice is legal on the wire
/// (Twisted keeps the last value); both are preserved here as received.
pub type AmpBox = Vec<(Vec<u8>, Vec<u8>)>;

/// Where one pair lies within a box's wire bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Offset of the first key byte.
    pub(crate) key_start: usize,
    /// Key length (1–255).
    pub(crate) key_len: usize,
    /// Value length (0–65,535); the value starts 2 bytes after the key ends.
    pub(crate) value_len: usize,
}

/// A complete box, borrowed from the bytes fed to the [`Decoder`](crate::Decoder).
///
/// Valid only during the callback of [`Decoder::feed_with`](crate::Decoder::feed_with);
/// iterate it for `(key, value)` slices or call [`BoxRef::to_owned_box`].
#[derive(Debug, Clone, Copy)]
pub struct BoxRef<'a> {
    pub(crate) wire: &'a [u8],
    pub(crate) spans: &'a [Span],
}

impl<'a> BoxRef<'a> {
    /// Number of pairs in the box.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True for the empty box (just the terminating zero-length key).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The box exactly as it was on the wire, terminator included.
    pub fn wire_bytes(&self) -> &'a [u8] {
        self.wire
    }

    /// The `(key, value)` pairs in wire order.
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs {
            wire: self.wire,
            spans: self.spans.iter(),
        }
    }

    /// Copies the box into an owned [`AmpBox`].
    pub fn to_owned_box(&self) -> AmpBox {
        self.pairs()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }
}

impl<'a> IntoIterator for BoxRef<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Pairs<'a>;

    fn into_iter(self) -> Pairs<'a> {
        self.pairs()
    }
}

/// Iterator over the `(key, value)` pairs of a [`BoxRef`].
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    wire: &'a [u8],
    spans: std::slice::Iter<'a, Span>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let span = self.spans.next()?;
        let key_end = span.key_start + span.key_len;
        let value_start = key_end + 2;
        // The decoder only records spans that lie inside `wire`; `get` keeps that a
        // checked invariant rather than a potential panic.
        let key = self.wire.get(span.key_start..key_end)?;
        let value = self.wire.get(value_start..value_start + span.value_len)?;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for Pairs<'_> {}
