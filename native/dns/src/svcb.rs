//! Service binding parameters (SVCB and HTTPS, RFC 9460 §2.2 and §7): typed for the keys the
//! RFC defines, kept as bytes for any other, checked on parse and on render so a malformed
//! parameter list never crosses either way.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{FormatError, RenderError};
use crate::wire::Reader;

/// SvcParamKey numbers (RFC 9460 §14.3.2).
#[allow(missing_docs)]
pub mod key {
    pub const MANDATORY: u16 = 0;
    pub const ALPN: u16 = 1;
    pub const NO_DEFAULT_ALPN: u16 = 2;
    pub const PORT: u16 = 3;
    pub const IPV4HINT: u16 = 4;
    pub const ECH: u16 = 5;
    pub const IPV6HINT: u16 = 6;
}

/// One SvcParam: a typed value for the RFC 9460 keys, raw bytes for any other key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcParam {
    /// Keys a client must understand to use the record (strictly increasing, never 0).
    Mandatory(Vec<u16>),
    /// ALPN protocol ids (at least one, each 1 to 255 bytes).
    Alpn(Vec<Vec<u8>>),
    /// The default ALPN is not supported (no value).
    NoDefaultAlpn,
    /// Alternative port.
    Port(u16),
    /// IPv4 address hints (at least one).
    Ipv4Hint(Vec<Ipv4Addr>),
    /// An ECHConfigList (not empty).
    Ech(Vec<u8>),
    /// IPv6 address hints (at least one).
    Ipv6Hint(Vec<Ipv6Addr>),
    /// Any other key: the value bytes as received.
    Unknown(u16, Vec<u8>),
}

impl SvcParam {
    /// The SvcParamKey.
    pub fn key(&self) -> u16 {
        match self {
            SvcParam::Mandatory(_) => key::MANDATORY,
            SvcParam::Alpn(_) => key::ALPN,
            SvcParam::NoDefaultAlpn => key::NO_DEFAULT_ALPN,
            SvcParam::Port(_) => key::PORT,
            SvcParam::Ipv4Hint(_) => key::IPV4HINT,
            SvcParam::Ech(_) => key::ECH,
            SvcParam::Ipv6Hint(_) => key::IPV6HINT,
            SvcParam::Unknown(k, _) => *k,
        }
    }

    /// The typed value of `key` from its wire bytes; `at` is the value's offset, for errors.
    fn from_value(k: u16, v: &[u8], at: usize) -> Result<SvcParam, FormatError> {
        let bad = |what| Err(FormatError::new(at, what));
        Ok(match k {
            key::MANDATORY => {
                if v.is_empty() || !v.len().is_multiple_of(2) {
                    return bad("SVCB mandatory value is not a list of keys");
                }
                let keys: Vec<u16> = v.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                if keys.windows(2).any(|w| w[0] >= w[1]) {
                    return bad("SVCB mandatory keys not strictly increasing");
                }
                if keys.contains(&key::MANDATORY) {
                    return bad("SVCB mandatory lists itself");
                }
                SvcParam::Mandatory(keys)
            }
            key::ALPN => {
                let mut ids = Vec::new();
                let mut i = 0;
                while i < v.len() {
                    let n = v[i] as usize;
                    if n == 0 || i + 1 + n > v.len() {
                        return bad("bad SVCB alpn id");
                    }
                    ids.push(v[i + 1..i + 1 + n].to_vec());
                    i += 1 + n;
                }
                if ids.is_empty() {
                    return bad("SVCB alpn without an id");
                }
                SvcParam::Alpn(ids)
            }
            key::NO_DEFAULT_ALPN => {
                if !v.is_empty() {
                    return bad("SVCB no-default-alpn with a value");
                }
                SvcParam::NoDefaultAlpn
            }
            key::PORT => {
                if v.len() != 2 {
                    return bad("SVCB port is not 2 bytes");
                }
                SvcParam::Port(u16::from_be_bytes([v[0], v[1]]))
            }
            key::IPV4HINT => {
                if v.is_empty() || !v.len().is_multiple_of(4) {
                    return bad("SVCB ipv4hint is not a list of IPv4 addresses");
                }
                SvcParam::Ipv4Hint(v.chunks_exact(4).map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3])).collect())
            }
            key::ECH => {
                if v.is_empty() {
                    return bad("SVCB ech without a value");
                }
                SvcParam::Ech(v.to_vec())
            }
            key::IPV6HINT => {
                if v.is_empty() || !v.len().is_multiple_of(16) {
                    return bad("SVCB ipv6hint is not a list of IPv6 addresses");
                }
                SvcParam::Ipv6Hint(
                    v.chunks_exact(16)
                        .map(|c| {
                            let mut a = [0u8; 16];
                            a.copy_from_slice(c);
                            Ipv6Addr::from(a)
                        })
                        .collect(),
                )
            }
            _ => SvcParam::Unknown(k, v.to_vec()),
        })
    }

    /// Appends the value (without key and length), checking what `from_value` checks.
    fn write_value(&self, buf: &mut Vec<u8>) -> Result<(), RenderError> {
        let bad = |what| Err(RenderError::new(what));
        match self {
            SvcParam::Mandatory(keys) => {
                if keys.is_empty() || keys.windows(2).any(|w| w[0] >= w[1]) || keys.contains(&key::MANDATORY) {
                    return bad("SVCB mandatory keys must be non-empty, strictly increasing, without 0");
                }
                for k in keys {
                    buf.extend_from_slice(&k.to_be_bytes());
                }
            }
            SvcParam::Alpn(ids) => {
                if ids.is_empty() {
                    return bad("SVCB alpn without an id");
                }
                for id in ids {
                    let n = u8::try_from(id.len()).map_err(|_| RenderError::new("SVCB alpn id over 255 bytes"))?;
                    if n == 0 {
                        return bad("empty SVCB alpn id");
                    }
                    buf.push(n);
                    buf.extend_from_slice(id);
                }
            }
            SvcParam::NoDefaultAlpn => {}
            SvcParam::Port(p) => buf.extend_from_slice(&p.to_be_bytes()),
            SvcParam::Ipv4Hint(addrs) => {
                if addrs.is_empty() {
                    return bad("SVCB ipv4hint without an address");
                }
                for a in addrs {
                    buf.extend_from_slice(&a.octets());
                }
            }
            SvcParam::Ech(d) => {
                if d.is_empty() {
                    return bad("SVCB ech without a value");
                }
                buf.extend_from_slice(d);
            }
            SvcParam::Ipv6Hint(addrs) => {
                if addrs.is_empty() {
                    return bad("SVCB ipv6hint without an address");
                }
                for a in addrs {
                    buf.extend_from_slice(&a.octets());
                }
            }
            SvcParam::Unknown(k, d) => {
                if *k <= key::IPV6HINT {
                    return bad("SVCB key 0 to 6 given as raw bytes");
                }
                buf.extend_from_slice(d);
            }
        }
        Ok(())
    }
}

/// Reads SvcParams up to the reader's end: keys strictly increasing, each value well formed.
pub(crate) fn read_params(r: &mut Reader<'_>) -> Result<Vec<SvcParam>, FormatError> {
    const T: &str = "truncated SVCB parameter";
    let mut params: Vec<SvcParam> = Vec::new();
    let mut last: Option<u16> = None;
    while r.remaining() > 0 {
        let at = r.pos;
        let k = r.u16(T)?;
        if last.is_some_and(|l| l >= k) {
            return Err(FormatError::new(at, "SVCB keys not strictly increasing"));
        }
        last = Some(k);
        let len = r.u16(T)? as usize;
        let vat = r.pos;
        let value = r.bytes(len, "SVCB parameter runs past its RDATA")?;
        params.push(SvcParam::from_value(k, value, vat)?);
    }
    Ok(params)
}

/// Writes SvcParams; their keys must be strictly increasing.
pub(crate) fn write_params(buf: &mut Vec<u8>, params: &[SvcParam]) -> Result<(), RenderError> {
    let mut last: Option<u16> = None;
    for p in params {
        let k = p.key();
        if last.is_some_and(|l| l >= k) {
            return Err(RenderError::new("SVCB keys not strictly increasing"));
        }
        last = Some(k);
        buf.extend_from_slice(&k.to_be_bytes());
        let len_at = buf.len();
        buf.extend_from_slice(&[0, 0]);
        p.write_value(buf)?;
        let len = u16::try_from(buf.len() - len_at - 2).map_err(|_| RenderError::new("SVCB value over 65535 bytes"))?;
        buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(data: &[u8]) -> Result<Vec<SvcParam>, FormatError> {
        read_params(&mut Reader::new(data))
    }

    #[test]
    fn round_trip_every_known_key() {
        let params = vec![
            SvcParam::Mandatory(vec![1, 4]),
            SvcParam::Alpn(vec![b"h2".to_vec(), b"h3".to_vec()]),
            SvcParam::NoDefaultAlpn,
            SvcParam::Port(8443),
            SvcParam::Ipv4Hint(vec![Ipv4Addr::new(192, 0, 2, 1)]),
            SvcParam::Ech(vec![0, 4, 1, 2, 3, 4]),
            SvcParam::Ipv6Hint(vec!["2001:db8::1".parse().unwrap()]),
            SvcParam::Unknown(667, b"hello".to_vec()),
        ];
        let mut buf = Vec::new();
        write_params(&mut buf, &params).unwrap();
        assert_eq!(parse(&buf).unwrap(), params);
    }

    #[test]
    fn rejects_malformed_values() {
        // key order, duplicate keys
        assert!(parse(&[0, 3, 0, 2, 0, 53, 0, 1, 0, 3, 2, b'h', b'2']).is_err());
        assert!(parse(&[0, 3, 0, 2, 0, 53, 0, 3, 0, 2, 0, 54]).is_err());
        // a length past the end, a port of 3 bytes, empty alpn, alpn id past its value
        assert!(parse(&[0, 3, 0, 9, 0, 53]).is_err());
        assert!(parse(&[0, 3, 0, 3, 0, 53, 1]).is_err());
        assert!(parse(&[0, 1, 0, 0]).is_err());
        assert!(parse(&[0, 1, 0, 2, 5, b'h']).is_err());
        // ipv4hint of 5 bytes, ipv6hint of 4, no-default-alpn with a value, mandatory with 0
        assert!(parse(&[0, 4, 0, 5, 1, 2, 3, 4, 5]).is_err());
        assert!(parse(&[0, 6, 0, 4, 1, 2, 3, 4]).is_err());
        assert!(parse(&[0, 2, 0, 1, 1]).is_err());
        assert!(parse(&[0, 0, 0, 4, 0, 0, 0, 1]).is_err());
        assert!(parse(&[0, 0, 0, 4, 0, 3, 0, 1]).is_err());
        // an unknown key may be empty
        assert_eq!(parse(&[0, 9, 0, 0]).unwrap(), vec![SvcParam::Unknown(9, vec![])]);
    }

    #[test]
    fn render_refuses_what_parse_refuses() {
        let mut buf = Vec::new();
        assert!(write_params(&mut buf, &[SvcParam::Port(1), SvcParam::Alpn(vec![b"h2".to_vec()])]).is_err());
        assert!(write_params(&mut buf, &[SvcParam::Alpn(vec![])]).is_err());
        assert!(write_params(&mut buf, &[SvcParam::Mandatory(vec![3, 1])]).is_err());
        assert!(write_params(&mut buf, &[SvcParam::Unknown(3, vec![0, 1])]).is_err());
        assert!(write_params(&mut buf, &[SvcParam::Ipv6Hint(vec![])]).is_err());
    }
}
