//! Typed RDATA for the common record types; every other type kept opaque (RFC 3597).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{FormatError, RenderError};
use crate::message::Writer;
use crate::name::Name;
use crate::svcb::{read_params, write_params, SvcParam};
use crate::wire::Reader;

/// Record type numbers.
#[allow(missing_docs)]
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const HINFO: u16 = 13;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const RP: u16 = 17;
    pub const AFSDB: u16 = 18;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const NAPTR: u16 = 35;
    pub const DNAME: u16 = 39;
    pub const OPT: u16 = 41;
    pub const DS: u16 = 43;
    pub const SSHFP: u16 = 44;
    pub const RRSIG: u16 = 46;
    pub const NSEC: u16 = 47;
    pub const DNSKEY: u16 = 48;
    pub const NSEC3: u16 = 50;
    pub const NSEC3PARAM: u16 = 51;
    pub const TLSA: u16 = 52;
    pub const SVCB: u16 = 64;
    pub const HTTPS: u16 = 65;
    pub const SPF: u16 = 99;
    pub const TSIG: u16 = 250;
    pub const CAA: u16 = 257;
}

/// The data of one resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// NS, CNAME, DNAME or PTR: one name (the record's type says which).
    Name(Name),
    /// Start of authority.
    Soa { mname: Name, rname: Name, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 },
    /// Mail exchange.
    Mx { preference: u16, exchange: Name },
    /// TXT or SPF: character strings.
    Txt(Vec<Vec<u8>>),
    /// Service location.
    Srv { priority: u16, weight: u16, port: u16, target: Name },
    /// Naming authority pointer.
    Naptr { order: u16, preference: u16, flags: Vec<u8>, services: Vec<u8>, regexp: Vec<u8>, replacement: Name },
    /// Host information.
    Hinfo { cpu: Vec<u8>, os: Vec<u8> },
    /// Responsible person.
    Rp { mbox: Name, txt: Name },
    /// AFS database location.
    Afsdb { subtype: u16, hostname: Name },
    /// SSH key fingerprint.
    Sshfp { algorithm: u8, fp_type: u8, fingerprint: Vec<u8> },
    /// TLS certificate association.
    Tlsa { usage: u8, selector: u8, mtype: u8, data: Vec<u8> },
    /// Certification authority authorization.
    Caa { flags: u8, tag: Vec<u8>, value: Vec<u8> },
    /// Delegation signer.
    Ds { key_tag: u16, algorithm: u8, digest_type: u8, digest: Vec<u8> },
    /// DNSSEC public key.
    Dnskey { flags: u16, protocol: u8, algorithm: u8, key: Vec<u8> },
    /// DNSSEC signature.
    Rrsig {
        type_covered: u16, algorithm: u8, labels: u8, original_ttl: u32, expiration: u32,
        inception: u32, key_tag: u16, signer: Name, signature: Vec<u8>,
    },
    /// Authenticated denial: next name and the types present.
    Nsec { next: Name, types: Vec<u16> },
    /// Hashed authenticated denial.
    Nsec3 { algorithm: u8, flags: u8, iterations: u16, salt: Vec<u8>, next: Vec<u8>, types: Vec<u16> },
    /// NSEC3 parameters.
    Nsec3param { algorithm: u8, flags: u8, iterations: u16, salt: Vec<u8> },
    /// Service binding, SVCB or HTTPS (RFC 9460): params in strictly increasing key order.
    Svcb { priority: u16, target: Name, params: Vec<SvcParam> },
    /// Transaction signature (RFC 8945); `time_signed` is 48 bits.
    Tsig { algorithm: Name, time_signed: u64, fudge: u16, mac: Vec<u8>, original_id: u16, error: u16, other: Vec<u8> },
    /// Any other type: the RDATA bytes as received (RFC 3597).
    Opaque(Vec<u8>),
}

/// Whether names in this type's RDATA may be compressed on render (RFC 3597 §4: only the
/// RFC 1035 types).
fn compressible(rtype: u16) -> bool {
    matches!(rtype, rtype::NS | rtype::CNAME | rtype::PTR | rtype::SOA | rtype::MX)
}

/// Reads an NSEC/NSEC3 type bitmap up to the reader's end.
fn read_bitmap(r: &mut Reader<'_>) -> Result<Vec<u16>, FormatError> {
    let mut types = Vec::new();
    let mut last_window: Option<u8> = None;
    while r.remaining() > 0 {
        let at = r.pos;
        let window = r.u8("truncated type bitmap")?;
        let len = r.u8("truncated type bitmap")? as usize;
        if len == 0 || len > 32 {
            return Err(FormatError::new(at, "bad type bitmap window length"));
        }
        if last_window.is_some_and(|w| w >= window) {
            return Err(FormatError::new(at, "type bitmap windows out of order"));
        }
        last_window = Some(window);
        let bits = r.bytes(len, "truncated type bitmap")?;
        for (i, byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    types.push((u16::from(window) << 8) | (i as u16 * 8 + bit));
                }
            }
        }
    }
    Ok(types)
}

/// Writes an NSEC/NSEC3 type bitmap.
fn write_bitmap(w: &mut Writer, types: &[u16]) {
    let mut sorted = types.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut i = 0;
    while i < sorted.len() {
        let window = (sorted[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while i < sorted.len() && (sorted[i] >> 8) as u8 == window {
            let low = (sorted[i] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            i += 1;
        }
        w.buf.push(window);
        w.buf.push(used as u8);
        w.buf.extend_from_slice(&bits[..used]);
    }
}

impl RData {
    /// Parses `rdlen` bytes of RDATA of type `rtype` at the reader's position; names may be
    /// compressed (pointers resolved against the whole message).
    #[inline]
    pub(crate) fn parse(r: &mut Reader<'_>, rt: u16, rdlen: usize) -> Result<RData, FormatError> {
        let start = r.pos;
        if rdlen > r.remaining() {
            return Err(FormatError::new(start, "RDATA runs past the end of the message"));
        }
        let outer_end = r.end;
        r.end = start + rdlen;
        let result = Self::parse_inner(r, rt, rdlen);
        let consumed_all = r.pos == r.end;
        r.end = outer_end;
        let rdata = result?;
        if !consumed_all {
            return Err(FormatError::new(r.pos, "RDATA length does not match its contents"));
        }
        Ok(rdata)
    }

    #[inline]
    fn parse_inner(r: &mut Reader<'_>, rt: u16, rdlen: usize) -> Result<RData, FormatError> {
        const T: &str = "truncated RDATA";
        Ok(match rt {
            rtype::A => {
                let b = r.bytes(4, "A RDATA is not 4 bytes")?;
                RData::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            rtype::AAAA => {
                let b = r.bytes(16, "AAAA RDATA is not 16 bytes")?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                RData::Aaaa(Ipv6Addr::from(a))
            }
            rtype::NS | rtype::CNAME | rtype::DNAME | rtype::PTR => RData::Name(Name::read(r)?),
            rtype::SOA => RData::Soa {
                mname: Name::read(r)?,
                rname: Name::read(r)?,
                serial: r.u32(T)?,
                refresh: r.u32(T)?,
                retry: r.u32(T)?,
                expire: r.u32(T)?,
                minimum: r.u32(T)?,
            },
            rtype::MX => RData::Mx { preference: r.u16(T)?, exchange: Name::read(r)? },
            rtype::TXT | rtype::SPF => {
                let mut strings = Vec::with_capacity(1);
                while r.remaining() > 0 {
                    strings.push(r.char_string()?.to_vec());
                }
                if strings.is_empty() {
                    return Err(FormatError::new(r.pos, "TXT RDATA without a string"));
                }
                RData::Txt(strings)
            }
            rtype::SRV => RData::Srv {
                priority: r.u16(T)?,
                weight: r.u16(T)?,
                port: r.u16(T)?,
                target: Name::read(r)?,
            },
            rtype::NAPTR => RData::Naptr {
                order: r.u16(T)?,
                preference: r.u16(T)?,
                flags: r.char_string()?.to_vec(),
                services: r.char_string()?.to_vec(),
                regexp: r.char_string()?.to_vec(),
                replacement: Name::read(r)?,
            },
            rtype::HINFO => RData::Hinfo { cpu: r.char_string()?.to_vec(), os: r.char_string()?.to_vec() },
            rtype::RP => RData::Rp { mbox: Name::read(r)?, txt: Name::read(r)? },
            rtype::AFSDB => RData::Afsdb { subtype: r.u16(T)?, hostname: Name::read(r)? },
            rtype::SSHFP => RData::Sshfp { algorithm: r.u8(T)?, fp_type: r.u8(T)?, fingerprint: r.rest().to_vec() },
            rtype::TLSA => RData::Tlsa {
                usage: r.u8(T)?,
                selector: r.u8(T)?,
                mtype: r.u8(T)?,
                data: r.rest().to_vec(),
            },
            rtype::CAA => {
                let flags = r.u8(T)?;
                let tag = r.char_string()?.to_vec();
                RData::Caa { flags, tag, value: r.rest().to_vec() }
            }
            rtype::DS => RData::Ds {
                key_tag: r.u16(T)?,
                algorithm: r.u8(T)?,
                digest_type: r.u8(T)?,
                digest: r.rest().to_vec(),
            },
            rtype::DNSKEY => RData::Dnskey {
                flags: r.u16(T)?,
                protocol: r.u8(T)?,
                algorithm: r.u8(T)?,
                key: r.rest().to_vec(),
            },
            rtype::RRSIG => RData::Rrsig {
                type_covered: r.u16(T)?,
                algorithm: r.u8(T)?,
                labels: r.u8(T)?,
                original_ttl: r.u32(T)?,
                expiration: r.u32(T)?,
                inception: r.u32(T)?,
                key_tag: r.u16(T)?,
                signer: Name::read(r)?,
                signature: r.rest().to_vec(),
            },
            rtype::NSEC => RData::Nsec { next: Name::read(r)?, types: read_bitmap(r)? },
            rtype::NSEC3 => RData::Nsec3 {
                algorithm: r.u8(T)?,
                flags: r.u8(T)?,
                iterations: r.u16(T)?,
                salt: r.char_string()?.to_vec(),
                next: r.char_string()?.to_vec(),
                types: read_bitmap(r)?,
            },
            rtype::NSEC3PARAM => RData::Nsec3param {
                algorithm: r.u8(T)?,
                flags: r.u8(T)?,
                iterations: r.u16(T)?,
                salt: r.char_string()?.to_vec(),
            },
            rtype::SVCB | rtype::HTTPS => RData::Svcb {
                priority: r.u16(T)?,
                target: Name::read(r)?,
                params: read_params(r)?,
            },
            rtype::TSIG => {
                let algorithm = Name::read(r)?;
                let time_signed = (u64::from(r.u16(T)?) << 32) | u64::from(r.u32(T)?);
                let fudge = r.u16(T)?;
                let mac_len = r.u16(T)? as usize;
                let mac = r.bytes(mac_len, "TSIG MAC runs past its RDATA")?.to_vec();
                let original_id = r.u16(T)?;
                let error = r.u16(T)?;
                let other_len = r.u16(T)? as usize;
                let other = r.bytes(other_len, "TSIG other data runs past its RDATA")?.to_vec();
                RData::Tsig { algorithm, time_signed, fudge, mac, original_id, error, other }
            }
            _ => RData::Opaque(r.bytes(rdlen, T)?.to_vec()),
        })
    }

    /// Appends the RDATA (without its length) for a record of type `rt`.
    pub(crate) fn render(&self, w: &mut Writer, rt: u16) -> Result<(), RenderError> {
        let c = compressible(rt);
        match self {
            RData::A(a) => w.buf.extend_from_slice(&a.octets()),
            RData::Aaaa(a) => w.buf.extend_from_slice(&a.octets()),
            RData::Name(n) => w.name(n, c),
            RData::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
                w.name(mname, c);
                w.name(rname, c);
                for v in [serial, refresh, retry, expire, minimum] {
                    w.buf.extend_from_slice(&v.to_be_bytes());
                }
            }
            RData::Mx { preference, exchange } => {
                w.buf.extend_from_slice(&preference.to_be_bytes());
                w.name(exchange, c);
            }
            RData::Txt(strings) => {
                if strings.is_empty() {
                    return Err(RenderError::new("TXT record without a string"));
                }
                for s in strings {
                    w.char_string(s)?;
                }
            }
            RData::Srv { priority, weight, port, target } => {
                for v in [priority, weight, port] {
                    w.buf.extend_from_slice(&v.to_be_bytes());
                }
                w.name(target, c);
            }
            RData::Naptr { order, preference, flags, services, regexp, replacement } => {
                w.buf.extend_from_slice(&order.to_be_bytes());
                w.buf.extend_from_slice(&preference.to_be_bytes());
                w.char_string(flags)?;
                w.char_string(services)?;
                w.char_string(regexp)?;
                w.name(replacement, c);
            }
            RData::Hinfo { cpu, os } => {
                w.char_string(cpu)?;
                w.char_string(os)?;
            }
            RData::Rp { mbox, txt } => {
                w.name(mbox, c);
                w.name(txt, c);
            }
            RData::Afsdb { subtype, hostname } => {
                w.buf.extend_from_slice(&subtype.to_be_bytes());
                w.name(hostname, c);
            }
            RData::Sshfp { algorithm, fp_type, fingerprint } => {
                w.buf.extend_from_slice(&[*algorithm, *fp_type]);
                w.buf.extend_from_slice(fingerprint);
            }
            RData::Tlsa { usage, selector, mtype, data } => {
                w.buf.extend_from_slice(&[*usage, *selector, *mtype]);
                w.buf.extend_from_slice(data);
            }
            RData::Caa { flags, tag, value } => {
                w.buf.push(*flags);
                w.char_string(tag)?;
                w.buf.extend_from_slice(value);
            }
            RData::Ds { key_tag, algorithm, digest_type, digest } => {
                w.buf.extend_from_slice(&key_tag.to_be_bytes());
                w.buf.extend_from_slice(&[*algorithm, *digest_type]);
                w.buf.extend_from_slice(digest);
            }
            RData::Dnskey { flags, protocol, algorithm, key } => {
                w.buf.extend_from_slice(&flags.to_be_bytes());
                w.buf.extend_from_slice(&[*protocol, *algorithm]);
                w.buf.extend_from_slice(key);
            }
            RData::Rrsig {
                type_covered, algorithm, labels, original_ttl, expiration, inception, key_tag,
                signer, signature,
            } => {
                w.buf.extend_from_slice(&type_covered.to_be_bytes());
                w.buf.extend_from_slice(&[*algorithm, *labels]);
                for v in [original_ttl, expiration, inception] {
                    w.buf.extend_from_slice(&v.to_be_bytes());
                }
                w.buf.extend_from_slice(&key_tag.to_be_bytes());
                w.name(signer, false);
                w.buf.extend_from_slice(signature);
            }
            RData::Nsec { next, types } => {
                w.name(next, false);
                write_bitmap(w, types);
            }
            RData::Nsec3 { algorithm, flags, iterations, salt, next, types } => {
                w.buf.extend_from_slice(&[*algorithm, *flags]);
                w.buf.extend_from_slice(&iterations.to_be_bytes());
                w.char_string(salt)?;
                w.char_string(next)?;
                write_bitmap(w, types);
            }
            RData::Nsec3param { algorithm, flags, iterations, salt } => {
                w.buf.extend_from_slice(&[*algorithm, *flags]);
                w.buf.extend_from_slice(&iterations.to_be_bytes());
                w.char_string(salt)?;
            }
            RData::Svcb { priority, target, params } => {
                w.buf.extend_from_slice(&priority.to_be_bytes());
                w.name(target, false);
                write_params(&mut w.buf, params)?;
            }
            RData::Tsig { algorithm, time_signed, fudge, mac, original_id, error, other } => {
                if *time_signed >> 48 != 0 {
                    return Err(RenderError::new("TSIG time signed over 48 bits"));
                }
                w.name(algorithm, false);
                w.buf.extend_from_slice(&((*time_signed >> 32) as u16).to_be_bytes());
                w.buf.extend_from_slice(&(*time_signed as u32).to_be_bytes());
                w.buf.extend_from_slice(&fudge.to_be_bytes());
                let mac_len = u16::try_from(mac.len()).map_err(|_| RenderError::new("TSIG MAC over 65535 bytes"))?;
                w.buf.extend_from_slice(&mac_len.to_be_bytes());
                w.buf.extend_from_slice(mac);
                w.buf.extend_from_slice(&original_id.to_be_bytes());
                w.buf.extend_from_slice(&error.to_be_bytes());
                let other_len =
                    u16::try_from(other.len()).map_err(|_| RenderError::new("TSIG other data over 65535 bytes"))?;
                w.buf.extend_from_slice(&other_len.to_be_bytes());
                w.buf.extend_from_slice(other);
            }
            RData::Opaque(bytes) => w.buf.extend_from_slice(bytes),
        }
        Ok(())
    }
}
