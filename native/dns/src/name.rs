//! Domain names as label sequences in uncompressed wire form.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::error::FormatError;
use crate::wire::Reader;

/// The longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;
/// The longest name in wire form (length bytes and the root label included).
pub const MAX_NAME_LEN: usize = 255;
/// The most compression pointers followed for one name.
const MAX_POINTERS: usize = 128;

/// An absolute domain name, held in uncompressed wire form (length-prefixed labels ending
/// with the empty root label). Equality, hashing and ordering ignore ASCII case.
#[derive(Clone)]
pub struct Name {
    wire: Wire,
}

/// Names up to this many wire bytes are held inline.
const INLINE: usize = 38;

/// A name's wire bytes: inline when short (most names are), so that reading a name from a
/// message allocates nothing; on the heap otherwise.
#[derive(Clone)]
enum Wire {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Wire {
    fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            Wire::Inline(bytes.len() as u8, buf)
        } else {
            Wire::Heap(bytes.into())
        }
    }
}

impl std::ops::Deref for Wire {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Wire::Inline(n, buf) => &buf[..*n as usize],
            Wire::Heap(b) => b,
        }
    }
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Self {
        Name { wire: Wire::new(&[0]) }
    }

    /// A name from uncompressed wire bytes, checked (labels ≤ 63, total ≤ 255, one root at
    /// the end, no compression pointers).
    pub fn from_wire(wire: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(wire);
        let name = Name::read_uncompressed(&mut r)?;
        if r.remaining() != 0 {
            return Err(FormatError::new(r.pos, "bytes after the root label"));
        }
        Ok(name)
    }

    /// A name from wire bytes already checked by [`Name::read_into`].
    pub(crate) fn from_checked(wire: &[u8]) -> Self {
        Name { wire: Wire::new(wire) }
    }

    /// A name from labels (most specific first; the root label is implied).
    pub fn from_labels<I, L>(labels: I) -> Result<Self, FormatError>
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        let mut wire = Vec::with_capacity(32);
        for label in labels {
            let label = label.as_ref();
            if label.is_empty() {
                return Err(FormatError::new(wire.len(), "empty label"));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(FormatError::new(wire.len(), "label longer than 63 bytes"));
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label);
            if wire.len() >= MAX_NAME_LEN {
                return Err(FormatError::new(wire.len(), "name longer than 255 bytes"));
            }
        }
        wire.push(0);
        Ok(Name { wire: Wire::new(&wire) })
    }

    /// A name from presentation text (`www.example.com.`; the final dot is optional, `\.`,
    /// `\DDD` escapes allowed). Names are always absolute.
    pub fn from_text(text: &str) -> Result<Self, FormatError> {
        if text == "." || text.is_empty() {
            return Ok(Name::root());
        }
        let bytes = text.as_bytes();
        let mut labels: Vec<Vec<u8>> = Vec::new();
        let mut cur = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'\\' {
                let digits = bytes.get(i + 1..i + 4);
                match digits {
                    Some(d) if d.iter().all(u8::is_ascii_digit) => {
                        let v = d.iter().fold(0u32, |a, x| a * 10 + u32::from(x - b'0'));
                        let v = u8::try_from(v).map_err(|_| FormatError::new(i, "bad \\DDD escape"))?;
                        cur.push(v);
                        i += 4;
                    }
                    _ => {
                        let next = *bytes.get(i + 1).ok_or(FormatError::new(i, "trailing backslash"))?;
                        cur.push(next);
                        i += 2;
                    }
                }
            } else if c == b'.' {
                if cur.is_empty() {
                    return Err(FormatError::new(i, "empty label"));
                }
                labels.push(std::mem::take(&mut cur));
                i += 1;
            } else {
                cur.push(c);
                i += 1;
            }
        }
        if !cur.is_empty() {
            labels.push(cur);
        }
        Name::from_labels(labels)
    }

    /// Reads an uncompressed name at the reader's position.
    fn read_uncompressed(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let mut wire = Vec::with_capacity(32);
        loop {
            let at = r.pos;
            let len = r.u8("truncated name")? as usize;
            if len > MAX_LABEL_LEN {
                return Err(FormatError::new(at, "label longer than 63 bytes or compressed"));
            }
            if wire.len() + 1 + len > MAX_NAME_LEN {
                return Err(FormatError::new(at, "name longer than 255 bytes"));
            }
            wire.push(len as u8);
            if len == 0 {
                return Ok(Name { wire: Wire::new(&wire) });
            }
            wire.extend_from_slice(r.bytes(len, "truncated label")?);
        }
    }

    /// Reads a possibly compressed name at the reader's position (pointers resolved against
    /// the whole message). The reader moves past the name's bytes at this position only.
    /// Each pointer must point before the previous one's target (so no loop is possible);
    /// at most 128 are followed.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let n = Name::read_into(r, &mut buf)?;
        Ok(Name { wire: Wire::new(&buf[..n]) })
    }

    /// As [`Name::read`], into `buf` without allocating: returns the uncompressed length.
    pub(crate) fn read_into(r: &mut Reader<'_>, buf: &mut [u8; MAX_NAME_LEN]) -> Result<usize, FormatError> {
        let msg = r.msg;
        let mut n = 0;
        let mut pos = r.pos;
        let mut limit = r.pos; // a pointer must point strictly before this
        let mut jumped = false;
        let mut hops = 0;
        loop {
            let len = match msg.get(pos) {
                Some(&b) if jumped || pos < r.end => b as usize,
                _ => return Err(FormatError::new(pos, "truncated name")),
            };
            match len & 0xC0 {
                0x00 => {
                    if n + 1 + len > MAX_NAME_LEN {
                        return Err(FormatError::new(pos, "name longer than 255 bytes"));
                    }
                    let label_end = pos + 1 + len;
                    let bound = if jumped { msg.len() } else { r.end };
                    if label_end > bound {
                        return Err(FormatError::new(pos, "truncated label"));
                    }
                    // One copy of the length byte and the label together.
                    let src = msg.get(pos..label_end).unwrap_or(&[]);
                    buf[n..n + src.len()].copy_from_slice(src);
                    n += src.len();
                    pos = label_end;
                    if !jumped {
                        r.pos = pos;
                    }
                    if len == 0 {
                        return Ok(n);
                    }
                }
                0xC0 => {
                    let second = match msg.get(pos + 1) {
                        Some(&b) if jumped || pos + 1 < r.end => b as usize,
                        _ => return Err(FormatError::new(pos, "truncated compression pointer")),
                    };
                    let target = ((len & 0x3F) << 8) | second;
                    if target >= limit {
                        return Err(FormatError::new(pos, "compression pointer does not point backwards"));
                    }
                    hops += 1;
                    if hops > MAX_POINTERS {
                        return Err(FormatError::new(pos, "too many compression pointers"));
                    }
                    if !jumped {
                        r.pos = pos + 2;
                        jumped = true;
                    }
                    limit = target;
                    pos = target;
                }
                _ => return Err(FormatError::new(pos, "label longer than 63 bytes or of an unknown type")),
            }
        }
    }

    /// The uncompressed wire form.
    #[inline]
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// The labels, most specific first, without the root label.
    pub fn labels(&self) -> Labels<'_> {
        Labels { wire: &self.wire, pos: 0 }
    }

    /// The number of labels (the root label not counted).
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// Whether `self` is `other` or below it (ASCII case ignored).
    pub fn is_subdomain(&self, other: &Name) -> bool {
        let n = other.wire.len();
        if n > self.wire.len() {
            return false;
        }
        // The suffix must start on a label boundary.
        let start = self.wire.len() - n;
        let mut pos = 0;
        while pos < start {
            pos += 1 + self.wire.get(pos).copied().unwrap_or(0) as usize;
        }
        pos == start && self.wire[start..].eq_ignore_ascii_case(&other.wire)
    }

    /// RFC 4034 §6.1 canonical ordering: labels compared from the root, case ignored.
    pub fn canonical_cmp(&self, other: &Name) -> Ordering {
        let a: Vec<&[u8]> = self.labels().collect();
        let b: Vec<&[u8]> = other.labels().collect();
        for (x, y) in a.iter().rev().zip(b.iter().rev()) {
            let ord = x
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(y.iter().map(u8::to_ascii_lowercase));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a.len().cmp(&b.len())
    }

    /// Presentation text, ending with a dot; special bytes escaped.
    pub fn to_text(&self) -> String {
        if self.is_root() {
            return ".".to_string();
        }
        let mut out = String::with_capacity(self.wire.len());
        for label in self.labels() {
            for &c in label {
                match c {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        out.push('\\');
                        out.push(c as char);
                    }
                    0x21..=0x7E => out.push(c as char),
                    _ => out.push_str(&format!("\\{c:03}")),
                }
            }
            out.push('.');
        }
        out
    }
}

/// Iterator over a name's labels.
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.get(self.pos)? as usize;
        if len == 0 {
            return None;
        }
        let label = self.wire.get(self.pos + 1..self.pos + 1 + len)?;
        self.pos += 1 + len;
        Some(label)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.wire.iter() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        self.canonical_cmp(other)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({})", self.to_text())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
