//! Per-command argument schemas for the simple AMP types, as Twisted writes them.
//!
//! A [`Schema`] lists a command's arguments (wire key, [`ArgKind`], optional or not) and
//! the box head that precedes them (the `_command` pair of a call, nothing for an answer)
//! and the key of the tag that follows the head (`_ask`, `_answer`). It holds no Python
//! values: the codecs of the five simple types are byte-level helpers here, and the
//! Python extension only moves values in and out.

use crate::encoder::encode_pair;
use crate::error::{escape, EncodeError};
use crate::MAX_KEY_LENGTH;
use thiserror::Error;

/// The simple argument types, with Twisted's wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// An int as decimal text (`b"-12"`).
    Integer,
    /// Bytes, as they are.
    String,
    /// Text as UTF-8.
    Unicode,
    /// `b"True"` or `b"False"`.
    Boolean,
    /// A float as Python's `repr` (`b"1.5"`, `b"nan"`, `b"-inf"`, `b"1e+16"`).
    Float,
}

impl ArgKind {
    /// The kind for a type name (`"Integer"`, `"String"`, ...), or None.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Integer" => ArgKind::Integer,
            "String" => ArgKind::String,
            "Unicode" => ArgKind::Unicode,
            "Boolean" => ArgKind::Boolean,
            "Float" => ArgKind::Float,
            _ => return None,
        })
    }
}

/// One declared argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key on the wire (1 to 255 bytes).
    pub key: Vec<u8>,
    /// How its value is written.
    pub kind: ArgKind,
    /// Whether the value may be absent.
    pub optional: bool,
}

/// A schema that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A key is empty or longer than 255 bytes.
    #[error("AMP key {key} must be 1-255 bytes long")]
    BadKey {
        /// The key, escaped for display.
        key: String,
    },
    /// A key is declared twice.
    #[error("AMP key {key} declared twice")]
    Duplicate {
        /// The key, escaped for display.
        key: String,
    },
    /// The head or the tag does not encode.
    #[error("bad box head: {0}")]
    Head(#[from] EncodeError),
}

/// A command's argument (or response) list and the head of its boxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<Field>,
    head: Vec<u8>,
    tag_key: Option<Vec<u8>>,
    required: usize,
}

impl Schema {
    /// Builds a schema; `head` pairs start every box, then the `tag_key` pair if given.
    pub fn new(
        fields: Vec<Field>,
        head: &[(&[u8], &[u8])],
        tag_key: Option<&[u8]>,
    ) -> Result<Self, SchemaError> {
        for (i, field) in fields.iter().enumerate() {
            if field.key.is_empty() || field.key.len() > MAX_KEY_LENGTH {
                return Err(SchemaError::BadKey {
                    key: escape(&field.key, 40),
                });
            }
            if fields[..i].iter().any(|f| f.key == field.key) {
                return Err(SchemaError::Duplicate {
                    key: escape(&field.key, 40),
                });
            }
        }
        let mut encoded = Vec::new();
        for (key, value) in head {
            encode_pair(&mut encoded, key, value)?;
        }
        if let Some(key) = tag_key {
            encode_pair(&mut Vec::new(), key, b"")?;
        }
        let required = fields.iter().filter(|f| !f.optional).count();
        Ok(Schema {
            fields,
            head: encoded,
            tag_key: tag_key.map(<[u8]>::to_vec),
            required,
        })
    }

    /// The fields in declaration order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// How many fields are required.
    pub fn required(&self) -> usize {
        self.required
    }

    /// Starts a box in `out`: the head pairs, then the tag pair (if the schema has a tag key).
    ///
    /// On error (a tag over 65,535 bytes) `out` is left as it was.
    pub fn begin_box(&self, out: &mut Vec<u8>, tag: &[u8]) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&self.head);
        if let Some(key) = &self.tag_key {
            if let Err(err) = encode_pair(out, key, tag) {
                out.truncate(start);
                return Err(err);
            }
        }
        Ok(())
    }
}

/// Room for any i64 as decimal text: 19 digits and a sign.
pub const INT_TEXT_LEN: usize = 20;

/// Writes an i64 as decimal text (Twisted's `str(int)`) at the end of `buf`; returns it.
pub fn int_text(value: i64, buf: &mut [u8; INT_TEXT_LEN]) -> &[u8] {
    let mut i = buf.len();
    let mut n = value.unsigned_abs();
    loop {
        i -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Appends an i64 as decimal text (Twisted's `str(int)`).
pub fn write_int(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(int_text(value, &mut [0; INT_TEXT_LEN]));
}

/// Parses the plain decimal form `-?[0-9]{1,18}`; anything else (signs, spaces,
/// underscores, bigger numbers) is None, for the caller's general path.
pub fn parse_int(data: &[u8]) -> Option<i64> {
    let (negative, digits) = match data.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, data),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        // At most 18 digits: below 10^18, no overflow.
        n = n * 10 + i64::from(b - b'0');
    }
    Some(if negative { -n } else { n })
}

/// `b"True"` or `b"False"` as a bool; anything else is None.
pub fn parse_bool(data: &[u8]) -> Option<bool> {
    match data {
        b"True" => Some(true),
        b"False" => Some(false),
        _ => None,
    }
}

/// The wire form of a bool.
pub fn bool_bytes(value: bool) -> &'static [u8] {
    if value {
        b"True"
    } else {
        b"False"
    }
}

/// The `(key, value)` pairs of one encoded box (as [`BoxRef::wire_bytes`] gives it), in
/// order; iteration stops at the terminator or at anything malformed.
///
/// [`BoxRef::wire_bytes`]: crate::BoxRef::wire_bytes
#[derive(Debug, Clone)]
pub struct WirePairs<'a> {
    rest: &'a [u8],
}

impl<'a> WirePairs<'a> {
    /// The pairs of `wire`.
    pub fn new(wire: &'a [u8]) -> Self {
        WirePairs { rest: wire }
    }

    fn take(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (item, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        Some(item)
    }
}

impl<'a> Iterator for WirePairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.take()?;
        if key.is_empty() {
            self.rest = &[];
            return None;
        }
        match self.take() {
            Some(value) => Some((key, value)),
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

/// The value of the last pair with `key` (a later duplicate wins, as in a dict), or None.
pub fn last_value<'a>(wire: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    WirePairs::new(wire)
        .filter(|(k, _)| *k == key)
        .last()
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_int(&mut out, value);
        out
    }

    #[test]
    fn ints_as_decimal_text() {
        for value in [0, 1, -1, 9, 10, 12345, -9876543210, i64::MAX, i64::MIN] {
            assert_eq!(int(value), value.to_string().into_bytes());
        }
    }

    #[test]
    fn parse_plain_ints_only() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-0"), Some(0));
        assert_eq!(parse_int(b"007"), Some(7));
        assert_eq!(parse_int(b"-123"), Some(-123));
        assert_eq!(
            parse_int(b"999999999999999999"),
            Some(999_999_999_999_999_999)
        );
        for general in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"1_0",
            b"1e3",
            b"x",
            b"1234567890123456789",
        ] {
            assert_eq!(parse_int(general), None, "{general:?}");
        }
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool(b"True"), Some(true));
        assert_eq!(parse_bool(b"False"), Some(false));
        assert_eq!(parse_bool(b"true"), None);
        assert_eq!(bool_bytes(true), b"True");
        assert_eq!(bool_bytes(false), b"False");
    }

    #[test]
    fn wire_pairs() {
        let wire = b"\x00\x01a\x00\x011\x00\x01b\x00\x00\x00\x01a\x00\x012\x00\x00trailing";
        let pairs: Vec<_> = WirePairs::new(wire).collect();
        assert_eq!(pairs, [(&b"a"[..], &b"1"[..]), (b"b", b""), (b"a", b"2")]);
        assert_eq!(last_value(wire, b"a"), Some(&b"2"[..]));
        assert_eq!(last_value(wire, b"b"), Some(&b""[..]));
        assert_eq!(last_value(wire, b"c"), None);
        // Truncated input ends the iteration instead of failing.
        assert_eq!(WirePairs::new(b"\x00\x01a\x00\x05ab").count(), 0);
        assert_eq!(WirePairs::new(b"\x00").count(), 0);
        assert_eq!(WirePairs::new(b"").count(), 0);
    }

    #[test]
    fn kinds_by_name() {
        assert_eq!(ArgKind::from_name("Float"), Some(ArgKind::Float));
        assert_eq!(ArgKind::from_name("ListOf"), None);
    }

    fn field(key: &[u8], optional: bool) -> Field {
        Field {
            key: key.to_vec(),
            kind: ArgKind::Integer,
            optional,
        }
    }

    #[test]
    fn head_and_tag() {
        let schema = Schema::new(
            vec![field(b"a", false), field(b"b", true)],
            &[(b"_command", b"Sum")],
            Some(b"_ask"),
        )
        .unwrap();
        assert_eq!(schema.required(), 1);
        assert_eq!(schema.fields().len(), 2);
        let mut out = Vec::new();
        schema.begin_box(&mut out, b"1f").unwrap();
        assert_eq!(out, b"\x00\x08_command\x00\x03Sum\x00\x04_ask\x00\x021f");
        let too_long = vec![b'x'; 65_536];
        assert!(schema.begin_box(&mut out, &too_long).is_err());
        assert_eq!(out.len(), 25);
    }

    #[test]
    fn bad_schemas() {
        assert!(matches!(
            Schema::new(vec![field(b"", false)], &[], None),
            Err(SchemaError::BadKey { .. })
        ));
        assert!(matches!(
            Schema::new(vec![field(&[b'k'; 256], false)], &[], None),
            Err(SchemaError::BadKey { .. })
        ));
        assert!(matches!(
            Schema::new(vec![field(b"a", false), field(b"a", true)], &[], None),
            Err(SchemaError::Duplicate { .. })
        ));
        assert!(matches!(
            Schema::new(vec![], &[(b"", b"x")], None),
            Err(SchemaError::Head(EncodeError::EmptyKey))
        ));
    }
}
