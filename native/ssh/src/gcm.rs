//! AES-GCM for aes*-gcm@openssh.com with a four-block aggregated GHASH on x86-64.
//!
//! The `aes-gcm` crate's POLYVAL multiplies and reduces one block at a time; a packet of
//! 32 KiB spends most of its time there. Here GHASH (as POLYVAL, RFC 8452 appendix A, the
//! field arithmetic of the `polyval` crate's CLMUL backend) folds four blocks per reduction
//! using H, H^2, H^3, H^4, and the keystream is the `aes`/`ctr` crates' (AES-NI). Used only
//! when the CPU has PCLMULQDQ and SSSE3; otherwise `algo.rs` uses the `aes-gcm` crate. The
//! tests check it against `aes-gcm` on every length and against OpenSSL (`cryptography`).

use core::arch::x86_64::*;

use aes::cipher::{BlockEncrypt, InnerIvInit, KeyInit, StreamCipher};
use subtle::ConstantTimeEq;

/// Whether this CPU can run [`FastGcm`].
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("pclmulqdq") && std::arch::is_x86_feature_detected!("ssse3")
}

/// An AES-GCM key with its GHASH powers.
#[derive(Clone)]
pub struct FastGcm<C: Clone> {
    aes: C,
    /// POLYVAL-domain H^1..H^4 (dot products, each carrying its x^-128 factors).
    h: [__m128i; 4],
}

impl<C> FastGcm<C>
where
    C: BlockEncrypt
        + KeyInit
        + Clone
        + aes::cipher::BlockCipher
        + aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    /// Keys GCM; the caller checked [`available`].
    pub fn new(key: &[u8]) -> Self {
        let aes = C::new_from_slice(key).expect("the caller checked the key length");
        let mut h_block = aes::Block::default();
        aes.encrypt_block(&mut h_block);
        h_block.reverse();
        let hp = polyval::mulx(&h_block);
        // SAFETY: the features were checked by the caller (`available`).
        let h = unsafe {
            let h1 = _mm_loadu_si128(hp.as_ptr() as *const __m128i);
            let h2 = dot(h1, h1);
            let h3 = dot(h2, h1);
            let h4 = dot(h3, h1);
            [h1, h2, h3, h4]
        };
        FastGcm { aes, h }
    }

    fn keystream(&self, nonce: &[u8; 12], data: &mut [u8]) {
        let mut ctr0 = [0u8; 16];
        ctr0[..12].copy_from_slice(nonce);
        ctr0[15] = 2;
        let core = ctr::CtrCore::<C, ctr::flavors::Ctr32BE>::inner_iv_init(
            self.aes.clone(),
            (&ctr0).into(),
        );
        let mut ctr = ctr::Ctr32BE::<C>::from_core(core);
        ctr.apply_keystream(data);
    }

    fn tag(&self, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> [u8; 16] {
        // SAFETY: the features were checked when this key was made.
        let s = unsafe {
            let mut y = _mm_setzero_si128();
            y = self.ghash(y, aad);
            y = self.ghash(y, ct);
            let mut lens = [0u8; 16];
            lens[..8].copy_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
            lens[8..].copy_from_slice(&((ct.len() as u64) * 8).to_be_bytes());
            y = self.ghash(y, &lens);
            let mut out = [0u8; 16];
            _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, bswap(y));
            out
        };
        let mut j0 = aes::Block::default();
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        self.aes.encrypt_block(&mut j0);
        let mut tag = [0u8; 16];
        for i in 0..16 {
            tag[i] = s[i] ^ j0[i];
        }
        tag
    }

    /// Encrypts `data` in place and returns the tag over `aad` and the ciphertext.
    pub fn seal(&self, nonce: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
        self.keystream(nonce, data);
        self.tag(nonce, aad, data)
    }

    /// Checks `tag` (in constant time) and decrypts `data` in place; false leaves it encrypted.
    pub fn open(&self, nonce: &[u8; 12], aad: &[u8], data: &mut [u8], tag: &[u8]) -> bool {
        let expect = self.tag(nonce, aad, data);
        if !bool::from(expect.ct_eq(tag)) {
            return false;
        }
        self.keystream(nonce, data);
        true
    }

    /// POLYVAL over `data` (zero-padded to whole blocks, bytes reversed per block for GHASH).
    #[target_feature(enable = "pclmulqdq,ssse3,sse2")]
    unsafe fn ghash(&self, mut y: __m128i, data: &[u8]) -> __m128i {
        let [h1, h2, h3, h4] = self.h;
        let mut quads = data.chunks_exact(64);
        for q in &mut quads {
            let p = q.as_ptr() as *const __m128i;
            let x1 = _mm_xor_si128(y, bswap(_mm_loadu_si128(p)));
            let x2 = bswap(_mm_loadu_si128(p.add(1)));
            let x3 = bswap(_mm_loadu_si128(p.add(2)));
            let x4 = bswap(_mm_loadu_si128(p.add(3)));
            let (l1, u1) = product(x1, h4);
            let (l2, u2) = product(x2, h3);
            let (l3, u3) = product(x3, h2);
            let (l4, u4) = product(x4, h1);
            let lo = _mm_xor_si128(_mm_xor_si128(l1, l2), _mm_xor_si128(l3, l4));
            let hi = _mm_xor_si128(_mm_xor_si128(u1, u2), _mm_xor_si128(u3, u4));
            y = reduce(lo, hi);
        }
        let rest = quads.remainder();
        let mut blocks = rest.chunks(16);
        for b in &mut blocks {
            let mut block = [0u8; 16];
            block[..b.len()].copy_from_slice(b);
            let x = bswap(_mm_loadu_si128(block.as_ptr() as *const __m128i));
            y = dot(_mm_xor_si128(y, x), h1);
        }
        y
    }
}

/// Reverses the 16 bytes (GHASH's bit order is POLYVAL's, byte-reversed).
#[inline]
#[target_feature(enable = "ssse3,sse2")]
unsafe fn bswap(x: __m128i) -> __m128i {
    _mm_shuffle_epi8(
        x,
        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    )
}

/// The 256-bit carry-less product of `a` and `b`: (low 128 bits, high 128 bits).
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
unsafe fn product(a: __m128i, b: __m128i) -> (__m128i, __m128i) {
    let t0 = _mm_clmulepi64_si128(a, b, 0x00);
    let t1 = _mm_clmulepi64_si128(a, b, 0x11);
    let mid = _mm_xor_si128(
        _mm_clmulepi64_si128(a, b, 0x10),
        _mm_clmulepi64_si128(a, b, 0x01),
    );
    let lo = _mm_xor_si128(t0, _mm_slli_si128(mid, 8));
    let hi = _mm_xor_si128(t1, _mm_srli_si128(mid, 8));
    (lo, hi)
}

/// POLYVAL's reduction of a 256-bit product (words w0..w3 = lo.0, lo.1, hi.0, hi.1) to
/// product * x^-128 mod x^128 + x^127 + x^126 + x^121 + 1, as the `polyval` crate does it.
#[inline]
#[target_feature(enable = "sse2")]
unsafe fn reduce(lo: __m128i, hi: __m128i) -> __m128i {
    let v0 = lo;
    let v1 = _mm_shuffle_epi32(lo, 0x0E);
    let v2 = hi;
    let v3 = _mm_shuffle_epi32(hi, 0x0E);
    let v2 = xor5(
        v2,
        v0,
        _mm_srli_epi64(v0, 1),
        _mm_srli_epi64(v0, 2),
        _mm_srli_epi64(v0, 7),
    );
    let v1 = xor4(
        v1,
        _mm_slli_epi64(v0, 63),
        _mm_slli_epi64(v0, 62),
        _mm_slli_epi64(v0, 57),
    );
    let v3 = xor5(
        v3,
        v1,
        _mm_srli_epi64(v1, 1),
        _mm_srli_epi64(v1, 2),
        _mm_srli_epi64(v1, 7),
    );
    let v2 = xor4(
        v2,
        _mm_slli_epi64(v1, 63),
        _mm_slli_epi64(v1, 62),
        _mm_slli_epi64(v1, 57),
    );
    _mm_unpacklo_epi64(v2, v3)
}

/// POLYVAL's dot(a, b) = a * b * x^-128.
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
unsafe fn dot(a: __m128i, b: __m128i) -> __m128i {
    let (lo, hi) = product(a, b);
    reduce(lo, hi)
}

#[inline(always)]
unsafe fn xor4(a: __m128i, b: __m128i, c: __m128i, d: __m128i) -> __m128i {
    _mm_xor_si128(_mm_xor_si128(a, b), _mm_xor_si128(c, d))
}

#[inline(always)]
unsafe fn xor5(a: __m128i, b: __m128i, c: __m128i, d: __m128i, e: __m128i) -> __m128i {
    _mm_xor_si128(a, xor4(b, c, d, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInPlace;

    #[test]
    fn matches_the_aes_gcm_crate_on_every_length() {
        if !available() {
            return;
        }
        let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37)).collect();
        let fast = FastGcm::<aes::Aes256>::new(&key);
        let fast128 = FastGcm::<aes::Aes128>::new(&key[..16]);
        let slow = aes_gcm::Aes256Gcm::new(key.as_slice().into());
        let slow128 = aes_gcm::Aes128Gcm::new(key[..16].into());
        let nonce = [7u8; 12];
        for len in 0..700usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            for aad_len in [0usize, 4, 17] {
                let aad = &data[..aad_len.min(len)];
                let (mut a, mut b) = (data.clone(), data.clone());
                let ta = fast.seal(&nonce, aad, &mut a);
                let tb = slow
                    .encrypt_in_place_detached((&nonce).into(), aad, &mut b)
                    .unwrap();
                assert_eq!(a, b, "ciphertext, len {len}");
                assert_eq!(&ta[..], &tb[..], "tag, len {len} aad {aad_len}");
                let (mut c, mut d) = (data.clone(), data.clone());
                let tc = fast128.seal(&nonce, aad, &mut c);
                let td = slow128
                    .encrypt_in_place_detached((&nonce).into(), aad, &mut d)
                    .unwrap();
                assert_eq!((c.clone(), &tc[..]), (d, &td[..]), "aes128 len {len}");
                assert!(fast128.open(&nonce, aad, &mut c, &tc));
                assert_eq!(c, data);
                if len > 0 {
                    let mut e = a.clone();
                    e[len / 2] ^= 1;
                    assert!(!fast.open(&nonce, aad, &mut e, &ta));
                }
            }
        }
    }
}
