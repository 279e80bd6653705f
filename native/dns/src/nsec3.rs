//! NSEC3 (RFC 5155): the hashed owner names of a zone signed with NSEC3, and the lookups
//! that denial-of-existence proofs need (the NSEC3 matching a name, the one covering it).
//!
//! The hash is SHA-1 (algorithm 1, the only one defined), written out here so the codec crate
//! keeps no dependencies beyond `thiserror`.

/// The most NSEC3 iterations accepted (RFC 5155 §10.3's ceiling for the largest keys).
pub const MAX_ITERATIONS: u16 = 2500;

/// SHA-1 of `data` (FIPS 180-4).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = Vec::with_capacity(data.len() + 72);
    msg.extend_from_slice(data);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    let mut w = [0u32; 80];
    for block in msg.chunks_exact(64) {
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// The RFC 5155 §5 hash of a name (lowercased wire form): SHA-1 over name and salt, then
/// `iterations` more times over the digest and salt.
pub fn hash_name(lower_wire: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
    let mut buf = Vec::with_capacity(lower_wire.len().max(20) + salt.len());
    buf.extend_from_slice(lower_wire);
    buf.extend_from_slice(salt);
    let mut digest = sha1(&buf);
    for _ in 0..iterations {
        buf.clear();
        buf.extend_from_slice(&digest);
        buf.extend_from_slice(salt);
        digest = sha1(&buf);
    }
    digest
}

/// Decodes base32hex without padding (RFC 4648 §7), case ignored; None if malformed.
pub fn base32hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c.to_ascii_uppercase() {
            d @ b'0'..=b'9' => d - b'0',
            l @ b'A'..=b'V' => l - b'A' + 10,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

/// A zone's NSEC3 parameters and its chain: hashed owners in order, each with the key of
/// the node holding the NSEC3 record.
#[derive(Debug, Clone)]
pub struct Nsec3Chain {
    /// The salt of NSEC3PARAM.
    pub salt: Vec<u8>,
    /// The extra iterations of NSEC3PARAM.
    pub iterations: u16,
    /// (hash, node key), sorted by hash.
    pub chain: Vec<(Vec<u8>, Box<[u8]>)>,
}

impl Nsec3Chain {
    /// The hash of a name (lowercased wire form) with this chain's parameters.
    pub fn hash(&self, lower_wire: &[u8]) -> [u8; 20] {
        hash_name(lower_wire, &self.salt, self.iterations)
    }

    /// The node whose NSEC3 owner is exactly this name's hash.
    pub fn matching(&self, lower_wire: &[u8]) -> Option<&[u8]> {
        let h = self.hash(lower_wire);
        let i = self.chain.binary_search_by(|(k, _)| k.as_slice().cmp(&h[..])).ok()?;
        Some(&self.chain[i].1)
    }

    /// The node whose NSEC3 covers this name's hash (the last owner hash before it, wrapping
    /// to the last one), None if the hash matches an owner or the chain is empty.
    pub fn covering(&self, lower_wire: &[u8]) -> Option<&[u8]> {
        let h = self.hash(lower_wire);
        match self.chain.binary_search_by(|(k, _)| k.as_slice().cmp(&h[..])) {
            Ok(_) => None,
            Err(0) => self.chain.last().map(|(_, k)| &k[..]),
            Err(i) => Some(&self.chain[i - 1].1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_answers() {
        let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        assert_eq!(hex(sha1(&[b'a'; 1000])), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }

    #[test]
    fn rfc5155_appendix_a_hashes() {
        // example. with salt AABBCCDD and 12 iterations hashes to 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.
        let salt = [0xAA, 0xBB, 0xCC, 0xDD];
        let h = hash_name(b"\x07example\x00", &salt, 12);
        assert_eq!(base32hex_decode(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom").as_deref(), Some(&h[..]));
        let h = hash_name(b"\x01a\x07example\x00", &salt, 12);
        assert_eq!(base32hex_decode(b"35MTHGPGCU1QG68FAB165KLNSNK3DPVL").as_deref(), Some(&h[..]));
    }

    #[test]
    fn base32hex_rejects_bad_text() {
        assert_eq!(base32hex_decode(b"w"), None);
        assert_eq!(base32hex_decode(b"01"), None); // leftover bits not zero
        assert_eq!(base32hex_decode(b""), Some(vec![]));
    }
}
