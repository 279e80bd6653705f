//! Cipher and MAC states for one direction, with the per-packet seal and open steps.
//!
//! Each cipher knows how the packet length travels: encrypted in the first block (CTR with
//! an encrypt-and-MAC hmac), in clear (CTR with an -etm MAC, AES-GCM where it is the AAD),
//! or under its own key (chacha20-poly1305@openssh.com, PROTOCOL.chacha20poly1305).

use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce, Tag};
use chacha20::ChaCha20Legacy;
use hmac::{Hmac, Mac as _};
use poly1305::Poly1305;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::error::PacketError;

/// Key, IV and block sizes of a cipher, and whether it authenticates itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipherSpec {
    pub key_len: usize,
    pub iv_len: usize,
    pub block_size: usize,
    pub is_aead: bool,
}

/// Key and digest sizes of a MAC, and whether it is encrypt-then-MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacSpec {
    pub key_len: usize,
    pub digest_len: usize,
    pub etm: bool,
}

/// The supported ciphers, strongest default first; "none" is only for before the first NEWKEYS.
pub const CIPHERS: &[(&str, CipherSpec)] = &[
    (
        "chacha20-poly1305@openssh.com",
        CipherSpec {
            key_len: 64,
            iv_len: 0,
            block_size: 8,
            is_aead: true,
        },
    ),
    (
        "aes128-gcm@openssh.com",
        CipherSpec {
            key_len: 16,
            iv_len: 12,
            block_size: 16,
            is_aead: true,
        },
    ),
    (
        "aes256-gcm@openssh.com",
        CipherSpec {
            key_len: 32,
            iv_len: 12,
            block_size: 16,
            is_aead: true,
        },
    ),
    (
        "aes128-ctr",
        CipherSpec {
            key_len: 16,
            iv_len: 16,
            block_size: 16,
            is_aead: false,
        },
    ),
    (
        "aes192-ctr",
        CipherSpec {
            key_len: 24,
            iv_len: 16,
            block_size: 16,
            is_aead: false,
        },
    ),
    (
        "aes256-ctr",
        CipherSpec {
            key_len: 32,
            iv_len: 16,
            block_size: 16,
            is_aead: false,
        },
    ),
    (
        "none",
        CipherSpec {
            key_len: 0,
            iv_len: 0,
            block_size: 8,
            is_aead: false,
        },
    ),
];

/// The supported MACs (ignored with an AEAD cipher).
pub const MACS: &[(&str, MacSpec)] = &[
    (
        "hmac-sha2-256-etm@openssh.com",
        MacSpec {
            key_len: 32,
            digest_len: 32,
            etm: true,
        },
    ),
    (
        "hmac-sha2-512-etm@openssh.com",
        MacSpec {
            key_len: 64,
            digest_len: 64,
            etm: true,
        },
    ),
    (
        "hmac-sha2-256",
        MacSpec {
            key_len: 32,
            digest_len: 32,
            etm: false,
        },
    ),
    (
        "hmac-sha2-512",
        MacSpec {
            key_len: 64,
            digest_len: 64,
            etm: false,
        },
    ),
];

/// The spec of the cipher called `name`.
pub fn cipher_spec(name: &str) -> Option<CipherSpec> {
    CIPHERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The spec of the MAC called `name`.
pub fn mac_spec(name: &str) -> Option<MacSpec> {
    MACS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type Aes192Ctr = ctr::Ctr128BE<aes::Aes192>;
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// An AES-CTR keystream, continuing across packets (RFC 4344).
enum Ctr {
    A128(Box<Aes128Ctr>),
    A192(Box<Aes192Ctr>),
    A256(Box<Aes256Ctr>),
}

impl Ctr {
    fn apply(&mut self, data: &mut [u8]) {
        match self {
            Ctr::A128(c) => c.apply_keystream(data),
            Ctr::A192(c) => c.apply_keystream(data),
            Ctr::A256(c) => c.apply_keystream(data),
        }
    }
}

enum Gcm {
    A128(Box<Aes128Gcm>),
    A256(Box<Aes256Gcm>),
    #[cfg(target_arch = "x86_64")]
    Fast128(Box<crate::gcm::FastGcm<aes::Aes128>>),
    #[cfg(target_arch = "x86_64")]
    Fast256(Box<crate::gcm::FastGcm<aes::Aes256>>),
}

impl Gcm {
    fn new(key: &[u8]) -> Gcm {
        #[cfg(target_arch = "x86_64")]
        if crate::gcm::available() {
            return if key.len() == 16 {
                Gcm::Fast128(Box::new(crate::gcm::FastGcm::new(key)))
            } else {
                Gcm::Fast256(Box::new(crate::gcm::FastGcm::new(key)))
            };
        }
        if key.len() == 16 {
            Gcm::A128(Box::new(Aes128Gcm::new(key.into())))
        } else {
            Gcm::A256(Box::new(Aes256Gcm::new(key.into())))
        }
    }

    fn seal(&self, iv: &[u8; 12], aad: &[u8], body: &mut [u8]) -> [u8; 16] {
        let nonce = Nonce::from_slice(iv);
        let tag = match self {
            Gcm::A128(g) => g.encrypt_in_place_detached(nonce, aad, body),
            Gcm::A256(g) => g.encrypt_in_place_detached(nonce, aad, body),
            #[cfg(target_arch = "x86_64")]
            Gcm::Fast128(g) => return g.seal(iv, aad, body),
            #[cfg(target_arch = "x86_64")]
            Gcm::Fast256(g) => return g.seal(iv, aad, body),
        }
        .expect("a packet is far below GCM's length limit");
        tag.into()
    }

    fn open(&self, iv: &[u8; 12], aad: &[u8], body: &mut [u8], tag: &[u8]) -> bool {
        let nonce = Nonce::from_slice(iv);
        match self {
            Gcm::A128(g) => g
                .decrypt_in_place_detached(nonce, aad, body, Tag::from_slice(tag))
                .is_ok(),
            Gcm::A256(g) => g
                .decrypt_in_place_detached(nonce, aad, body, Tag::from_slice(tag))
                .is_ok(),
            #[cfg(target_arch = "x86_64")]
            Gcm::Fast128(g) => g.open(iv, aad, body, tag),
            #[cfg(target_arch = "x86_64")]
            Gcm::Fast256(g) => g.open(iv, aad, body, tag),
        }
    }
}

/// The cipher of one direction.
enum Engine {
    None,
    Ctr(Ctr),
    /// AES-GCM (RFC 5647 as OpenSSH does it): a 12-byte IV whose last 8 bytes count packets.
    Gcm {
        aead: Gcm,
        iv: [u8; 12],
    },
    /// K_2 (`main`, first 32 bytes) for the payload and the Poly1305 key, K_1 (`header`) for the length.
    ChaCha {
        main: [u8; 32],
        header: [u8; 32],
    },
}

/// A keyed HMAC, cloned for each packet so the key schedule is done once.
enum Hm {
    S256(Hmac<Sha256>),
    S512(Hmac<Sha512>),
}

impl Hm {
    /// The MAC of seq || data written to the front of `tag`.
    fn compute_into(&self, seq: u32, data: &[u8], tag: &mut [u8; 64]) {
        match self {
            Hm::S256(h) => {
                let mut h = h.clone();
                h.update(&seq.to_be_bytes());
                h.update(data);
                tag[..32].copy_from_slice(&h.finalize().into_bytes());
            }
            Hm::S512(h) => {
                let mut h = h.clone();
                h.update(&seq.to_be_bytes());
                h.update(data);
                tag.copy_from_slice(&h.finalize().into_bytes());
            }
        }
    }

    /// Whether `tag` is the MAC of seq || data, compared in constant time.
    fn verify(&self, seq: u32, data: &[u8], tag: &[u8]) -> bool {
        let mut expect = [0u8; 64];
        self.compute_into(seq, data, &mut expect);
        let n = match self {
            Hm::S256(_) => 32,
            Hm::S512(_) => 64,
        };
        expect[..n].ct_eq(tag).into()
    }
}

/// How the packet length is carried, which decides the decoder's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthMode {
    /// Inside the first encrypted block (none or CTR, encrypt-and-MAC).
    FirstBlock,
    /// In clear (CTR with -etm, AES-GCM).
    Clear,
    /// Encrypted under chacha20's header key.
    ChaCha,
}

/// The keys of one direction: cipher, MAC and the sizes the framing needs.
pub struct Keys {
    engine: Engine,
    mac: Option<Hm>,
    etm: bool,
    /// The padding block: max(8, cipher block).
    pub(crate) block: usize,
    /// Bytes after the packet: MAC digest or AEAD tag.
    pub(crate) tag_len: usize,
}

fn key_err(what: &str, name: &str, want: usize, got: usize) -> PacketError {
    PacketError::Config(format!("{name}: {what} must be {want} bytes, got {got}"))
}

impl Keys {
    /// No encryption and no MAC: the state before the first NEWKEYS.
    pub fn none() -> Keys {
        Keys {
            engine: Engine::None,
            mac: None,
            etm: false,
            block: 8,
            tag_len: 0,
        }
    }

    /// Keys for `cipher` and `mac` (the MAC is ignored for AEAD ciphers and required otherwise,
    /// except with cipher "none").
    pub fn new(
        cipher: &str,
        key: &[u8],
        iv: &[u8],
        mac: Option<&str>,
        mac_key: &[u8],
    ) -> Result<Keys, PacketError> {
        let spec = cipher_spec(cipher)
            .ok_or_else(|| PacketError::Config(format!("unknown cipher {cipher:?}")))?;
        if key.len() != spec.key_len {
            return Err(key_err("key", cipher, spec.key_len, key.len()));
        }
        if iv.len() != spec.iv_len {
            return Err(key_err("IV", cipher, spec.iv_len, iv.len()));
        }
        let engine = match cipher {
            "none" => Engine::None,
            "aes128-ctr" => Engine::Ctr(Ctr::A128(Box::new(Aes128Ctr::new(key.into(), iv.into())))),
            "aes192-ctr" => Engine::Ctr(Ctr::A192(Box::new(Aes192Ctr::new(key.into(), iv.into())))),
            "aes256-ctr" => Engine::Ctr(Ctr::A256(Box::new(Aes256Ctr::new(key.into(), iv.into())))),
            "aes128-gcm@openssh.com" | "aes256-gcm@openssh.com" => {
                let aead = Gcm::new(key);
                let mut nonce = [0u8; 12];
                nonce.copy_from_slice(iv);
                Engine::Gcm { aead, iv: nonce }
            }
            "chacha20-poly1305@openssh.com" => {
                let mut main = [0u8; 32];
                let mut header = [0u8; 32];
                main.copy_from_slice(&key[..32]);
                header.copy_from_slice(&key[32..]);
                Engine::ChaCha { main, header }
            }
            _ => unreachable!("every name in CIPHERS has an engine"),
        };
        if spec.is_aead {
            return Ok(Keys {
                engine,
                mac: None,
                etm: false,
                block: spec.block_size.max(8),
                tag_len: 16,
            });
        }
        let (hm, mspec) = match mac {
            None if cipher == "none" => (None, None),
            None => return Err(PacketError::Config(format!("{cipher} needs a MAC"))),
            Some(name) => {
                let ms = mac_spec(name)
                    .ok_or_else(|| PacketError::Config(format!("unknown MAC {name:?}")))?;
                if mac_key.len() != ms.key_len {
                    return Err(key_err("MAC key", name, ms.key_len, mac_key.len()));
                }
                let hm = if ms.digest_len == 32 {
                    Hm::S256(
                        <Hmac<Sha256> as hmac::Mac>::new_from_slice(mac_key)
                            .expect("HMAC takes any key length"),
                    )
                } else {
                    Hm::S512(
                        <Hmac<Sha512> as hmac::Mac>::new_from_slice(mac_key)
                            .expect("HMAC takes any key length"),
                    )
                };
                (Some(hm), Some(ms))
            }
        };
        Ok(Keys {
            engine,
            mac: hm,
            etm: mspec.is_some_and(|m| m.etm),
            block: spec.block_size.max(8),
            tag_len: mspec.map_or(0, |m| m.digest_len),
        })
    }

    pub(crate) fn length_mode(&self) -> LengthMode {
        match self.engine {
            Engine::ChaCha { .. } => LengthMode::ChaCha,
            Engine::Gcm { .. } => LengthMode::Clear,
            _ if self.etm => LengthMode::Clear,
            _ => LengthMode::FirstBlock,
        }
    }

    /// Whether the padding alignment excludes the 4-byte length field (AEAD and -etm).
    pub(crate) fn length_outside(&self) -> bool {
        self.length_mode() != LengthMode::FirstBlock
    }

    /// Encrypts `buf` (length || padding length || payload || padding, in clear) in place
    /// and appends the MAC or tag to it.
    pub(crate) fn seal(&mut self, seq: u32, out: &mut Vec<u8>, start: usize) {
        let mut tag = [0u8; 64];
        let tag_len = self.tag_len;
        let buf = &mut out[start..];
        match &mut self.engine {
            Engine::None | Engine::Ctr(_) => {
                if self.etm {
                    if let Engine::Ctr(c) = &mut self.engine {
                        c.apply(&mut buf[4..]);
                    }
                    if let Some(h) = &self.mac {
                        h.compute_into(seq, buf, &mut tag);
                    }
                } else {
                    if let Some(h) = &self.mac {
                        h.compute_into(seq, buf, &mut tag);
                    }
                    if let Engine::Ctr(c) = &mut self.engine {
                        c.apply(buf);
                    }
                }
            }
            Engine::Gcm { aead, iv } => {
                let (aad, body) = buf.split_at_mut(4);
                tag[..16].copy_from_slice(&aead.seal(iv, aad, body));
                bump_iv(iv);
            }
            Engine::ChaCha { main, header } => {
                let nonce = (seq as u64).to_be_bytes();
                ChaCha20Legacy::new(header.as_slice().into(), nonce.as_slice().into())
                    .apply_keystream(&mut buf[..4]);
                let mut c = ChaCha20Legacy::new(main.as_slice().into(), nonce.as_slice().into());
                let mut poly_key = [0u8; 32];
                c.apply_keystream(&mut poly_key);
                c.seek(64u64);
                c.apply_keystream(&mut buf[4..]);
                let t = Poly1305::new(poly_key.as_slice().into()).compute_unpadded(buf);
                tag[..16].copy_from_slice(&t);
            }
        }
        out.extend_from_slice(&tag[..tag_len]);
    }

    /// For `LengthMode::FirstBlock`: decrypts the first block in place and returns the length.
    pub(crate) fn open_first_block(&mut self, block: &mut [u8]) -> u32 {
        if let Engine::Ctr(c) = &mut self.engine {
            c.apply(block);
        }
        u32::from_be_bytes([block[0], block[1], block[2], block[3]])
    }

    /// For `LengthMode::ChaCha`: the packet length, decrypted without touching the buffer.
    pub(crate) fn chacha_length(&self, seq: u32, enc: &[u8]) -> u32 {
        let Engine::ChaCha { header, .. } = &self.engine else {
            unreachable!("only for chacha")
        };
        let mut len = [enc[0], enc[1], enc[2], enc[3]];
        let nonce = (seq as u64).to_be_bytes();
        ChaCha20Legacy::new(header.as_slice().into(), nonce.as_slice().into())
            .apply_keystream(&mut len);
        u32::from_be_bytes(len)
    }

    /// Verifies and decrypts one whole packet in place. `packet` is the 4-byte length, the
    /// body and the tag; for `FirstBlock` its first `block` bytes are already decrypted.
    /// Afterwards `packet[4..4 + body_len]` is the clear body.
    pub(crate) fn open(
        &mut self,
        seq: u32,
        packet: &mut [u8],
        body_len: usize,
    ) -> Result<(), PacketError> {
        let end = 4 + body_len;
        let (data, tag) = packet.split_at_mut(end);
        match &mut self.engine {
            Engine::None | Engine::Ctr(_) => {
                if self.etm {
                    let h = self.mac.as_ref().expect("etm has a MAC");
                    if !h.verify(seq, data, tag) {
                        return Err(PacketError::Mac);
                    }
                    if let Engine::Ctr(c) = &mut self.engine {
                        c.apply(&mut data[4..]);
                    }
                } else {
                    let first = self.block;
                    if let Engine::Ctr(c) = &mut self.engine {
                        c.apply(&mut data[first..]);
                    }
                    if let Some(h) = &self.mac {
                        if !h.verify(seq, data, tag) {
                            return Err(PacketError::Mac);
                        }
                    }
                }
            }
            Engine::Gcm { aead, iv } => {
                let (aad, body) = data.split_at_mut(4);
                if !aead.open(iv, aad, body, tag) {
                    return Err(PacketError::Mac);
                }
                bump_iv(iv);
            }
            Engine::ChaCha { main, .. } => {
                let nonce = (seq as u64).to_be_bytes();
                let mut c = ChaCha20Legacy::new(main.as_slice().into(), nonce.as_slice().into());
                let mut poly_key = [0u8; 32];
                c.apply_keystream(&mut poly_key);
                let expect = Poly1305::new(poly_key.as_slice().into()).compute_unpadded(data);
                if !bool::from(expect.as_slice().ct_eq(tag)) {
                    return Err(PacketError::Mac);
                }
                c.seek(64u64);
                c.apply_keystream(&mut data[4..]);
            }
        }
        Ok(())
    }
}

/// Increments the invocation counter: the IV's last 8 bytes, big-endian, wrapping.
fn bump_iv(iv: &mut [u8; 12]) {
    let mut counter = [0u8; 8];
    counter.copy_from_slice(&iv[4..]);
    let next = u64::from_be_bytes(counter).wrapping_add(1);
    iv[4..].copy_from_slice(&next.to_be_bytes());
}
