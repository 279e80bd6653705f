//! Streamlined NTRU Prime 4591^761 (sntrup761), the KEM of the SSH key exchange
//! `sntrup761x25519-sha512@openssh.com`.
//!
//! The arithmetic is the `sntrup761` crate's (pure Rust, a port of the SUPERCOP / PQClean
//! reference that OpenSSH's `sntrup761.c` also comes from, so keys, ciphertexts and shared
//! secrets are byte-compatible; its decapsulation is constant-time with implicit
//! rejection). This module draws every seed from the OS random source, so callers never
//! handle an RNG, and keeps the secret key inside a type that zeroizes on drop.

use ::sntrup761::{Ciphertext, DecapsulationKey, EncapsulationKey};

/// Bytes of an encoded public key.
pub const SNTRUP761_PUBLIC_KEY_SIZE: usize = ::sntrup761::PUBLIC_KEY_SIZE;
/// Bytes of an encoded secret key (SUPERCOP layout: f, 1/g, pk, rho, hash of pk).
pub const SNTRUP761_SECRET_KEY_SIZE: usize = ::sntrup761::SECRET_KEY_SIZE;
/// Bytes of a ciphertext.
pub const SNTRUP761_CIPHERTEXT_SIZE: usize = ::sntrup761::CIPHERTEXT_SIZE;
/// Bytes of the shared secret.
pub const SNTRUP761_SHARED_SECRET_SIZE: usize = ::sntrup761::SHARED_SECRET_SIZE;

fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("the OS random source works");
    seed
}

/// A wrong-sized key or ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sntrup761 {what} must be {expected} bytes, got {got}")]
pub struct SntrupLengthError {
    /// Which value was wrong.
    pub what: &'static str,
    /// Its required length.
    pub expected: usize,
    /// The length given.
    pub got: usize,
}

/// ``bytes`` as the fixed-size value ``T`` (a key or ciphertext of ``expected`` bytes).
fn decode<'a, T: TryFrom<&'a [u8]>>(
    what: &'static str,
    expected: usize,
    bytes: &'a [u8],
) -> Result<T, SntrupLengthError> {
    let err = SntrupLengthError {
        what,
        expected,
        got: bytes.len(),
    };
    if bytes.len() != expected {
        return Err(err);
    }
    T::try_from(bytes).map_err(|_| err)
}

/// One side's sntrup761 key pair: the public half goes on the wire, the secret half
/// only decapsulates.
pub struct Sntrup761KeyPair {
    public: EncapsulationKey,
    secret: DecapsulationKey,
}

impl Sntrup761KeyPair {
    /// A fresh key pair from the OS random source.
    pub fn generate() -> Self {
        Self::from_seed(os_seed())
    }

    /// The key pair a 32-byte seed determines (tests; the seed must be secret and random).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let (public, secret) = ::sntrup761::generate_key_from_seed(seed);
        Sntrup761KeyPair { public, secret }
    }

    /// A key pair from an encoded secret key (whose bytes also hold the public key).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, SntrupLengthError> {
        let secret: DecapsulationKey = decode("secret key", SNTRUP761_SECRET_KEY_SIZE, secret)?;
        let public = EncapsulationKey::from(&secret);
        Ok(Sntrup761KeyPair { public, secret })
    }

    /// The encoded public key (1158 bytes).
    pub fn public_bytes(&self) -> &[u8] {
        self.public.as_ref()
    }

    /// The shared secret for a ciphertext. A ciphertext that was not made for this key
    /// gives a pseudorandom secret (implicit rejection), never an error, and takes the
    /// same time as a good one.
    pub fn decapsulate(&self, ciphertext: &[u8]) -> Result<[u8; 32], SntrupLengthError> {
        let ct: Ciphertext = decode("ciphertext", SNTRUP761_CIPHERTEXT_SIZE, ciphertext)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(self.secret.decapsulate(&ct).as_ref());
        Ok(out)
    }
}

/// Encapsulates to an encoded public key: (ciphertext, shared secret).
pub fn sntrup761_encapsulate(public: &[u8]) -> Result<(Vec<u8>, [u8; 32]), SntrupLengthError> {
    sntrup761_encapsulate_seeded(public, os_seed())
}

/// [`sntrup761_encapsulate`] with the randomness a 32-byte seed determines (tests).
pub fn sntrup761_encapsulate_seeded(
    public: &[u8],
    seed: [u8; 32],
) -> Result<(Vec<u8>, [u8; 32]), SntrupLengthError> {
    let pk: EncapsulationKey = decode("public key", SNTRUP761_PUBLIC_KEY_SIZE, public)?;
    let (ct, ss) = pk.encapsulate_deterministic(seed);
    let mut out = [0u8; 32];
    out.copy_from_slice(ss.as_ref());
    Ok((ct.as_ref().to_vec(), out))
}
