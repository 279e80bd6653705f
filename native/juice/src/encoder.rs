//! The box encoder.

use crate::error::{escape, EncodeError};
use crate::{MAX_KEY_LENGTH, MAX_VALUE_LENGTH};

/// Checks one pair against AMP's limits.
fn check_pair(key: &[u8], value: &[u8]) -> Result<(), EncodeError> {
    if key.is_empty() {
        return Err(EncodeError::EmptyKey);
    }
    if key.len() > MAX_KEY_LENGTH {
        return Err(EncodeError::KeyTooLong {
            length: key.len(),
            key: escape(key, 40),
        });
    }
    if value.len() > MAX_VALUE_LENGTH {
        return Err(EncodeError::ValueTooLong {
            length: value.len(),
            key: escape(key, 40),
        });
    }
    Ok(())
}

/// Appends one box, made of `pairs` in order and its terminator, to `out`.
///
/// On error `out` is left as it was: a box is appended whole or not at all.
///
/// ```
/// let mut out = Vec::new();
/// plait_juice::encode_box(&mut out, [("_ask", "1")]).unwrap();
/// assert_eq!(out, b"\x00\x04_ask\x00\x011\x00\x00");
/// ```
pub fn encode_box<I, K, V>(out: &mut Vec<u8>, pairs: I) -> Result<(), EncodeError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let start = out.len();
    for (key, value) in pairs {
        let (key, value) = (key.as_ref(), value.as_ref());
        if let Err(err) = check_pair(key, value) {
            out.truncate(start);
            return Err(err);
        }
        push_pair(out, key, value);
    }
    out.extend_from_slice(&[0, 0]);
    Ok(())
}

/// Appends one checked pair.
#[inline]
fn push_pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.reserve(4 + key.len() + value.len());
    // Lengths were checked against 255 and 65,535, so they fit in u16.
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Appends one `(key, value)` pair to `out`, for building a box piece by piece; finish the
/// box with [`end_box`]. On error nothing is appended.
pub fn encode_pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) -> Result<(), EncodeError> {
    check_pair(key, value)?;
    push_pair(out, key, value);
    Ok(())
}

/// Appends the terminator (a zero-length key) that ends a box started with [`encode_pair`].
pub fn end_box(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0]);
}

/// The number of bytes `pairs` take as an encoded box, terminator included, or the error
/// [`encode_box`] would return for them.
pub fn encoded_len<I, K, V>(pairs: I) -> Result<usize, EncodeError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut total = 2;
    for (key, value) in pairs {
        let (key, value) = (key.as_ref(), value.as_ref());
        check_pair(key, value)?;
        total += 4 + key.len() + value.len();
    }
    Ok(total)
}
