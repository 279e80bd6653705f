//! DNS wire codec: `DNSFormatError`, `DnsDecoder` (wire -> the `plait.names` objects, in
//! `build`) and `dns_render`.
//!
//! Rendering takes plain tuples (see `_native.pyi`): names as uncompressed wire bytes, typed
//! RDATA as a tuple of its fields, any other RDATA as `bytes`.

use std::net::{Ipv4Addr, Ipv6Addr};

use plait_dns::{
    rtype, svc_key, Edns, FormatError, Header, Message, Name, Question, RData, Record, SvcParam,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::BoundObject;

use crate::juice::new_bytes;

mod build;
mod intern;

pyo3::create_exception!(
    plait._native,
    DNSFormatError,
    PyValueError,
    "A malformed DNS message; ``offset`` is the byte offset where it went wrong."
);

/// Registers the DNS names on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let error_type = py.get_type::<DNSFormatError>();
    error_type.setattr("offset", 0)?;
    m.add("DNSFormatError", error_type)?;
    m.add_function(wrap_pyfunction!(dns_render, m)?)?;
    m.add_class::<build::DnsDecoder>()?;
    Ok(())
}

fn format_error(py: Python<'_>, e: &FormatError) -> PyErr {
    let err = DNSFormatError::new_err(e.to_string());
    match err.value(py).setattr("offset", e.offset) {
        Ok(()) => err,
        Err(failed) => failed,
    }
}

fn int<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
    v.into_pyobject(py)
        .map(|o| o.into_any().into_bound())
        .map_err(Into::into)
}

/// SvcParams as ``((key, value), ...)``: value a tuple of ints (mandatory), of bytes (alpn),
/// of address text (ipv4hint, ipv6hint), an int (port), None (no-default-alpn), else bytes.
fn svc_params_obj<'py>(py: Python<'py>, params: &[SvcParam]) -> PyResult<Bound<'py, PyAny>> {
    let mut items = Vec::with_capacity(params.len());
    for p in params {
        let value = match p {
            SvcParam::Mandatory(keys) => PyTuple::new(py, keys)?.into_any(),
            SvcParam::Alpn(ids) => {
                let ids = ids
                    .iter()
                    .map(|i| new_bytes(py, i))
                    .collect::<PyResult<Vec<_>>>()?;
                PyTuple::new(py, ids)?.into_any()
            }
            SvcParam::NoDefaultAlpn => py.None().into_bound(py),
            SvcParam::Port(port) => int(py, port)?,
            SvcParam::Ipv4Hint(addrs) => {
                PyTuple::new(py, addrs.iter().map(|a| a.to_string()))?.into_any()
            }
            SvcParam::Ipv6Hint(addrs) => {
                PyTuple::new(py, addrs.iter().map(|a| build::ipv6_text(py, a)))?.into_any()
            }
            SvcParam::Ech(d) | SvcParam::Unknown(_, d) => new_bytes(py, d)?,
        };
        items.push(PyTuple::new(py, [int(py, p.key())?, value])?.into_any());
    }
    Ok(PyTuple::new(py, items)?.into_any())
}

fn bad(what: &str) -> PyErr {
    PyValueError::new_err(what.to_string())
}

pub(crate) fn name_arg(obj: &Bound<'_, PyAny>) -> PyResult<Name> {
    let bytes = obj
        .cast::<PyBytes>()
        .map_err(|_| PyTypeError::new_err("a name must be given as uncompressed wire bytes"))?;
    Name::from_wire(bytes.as_bytes()).map_err(|e| bad(&format!("bad name: {e}")))
}

fn bytes_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Ok(obj
        .cast::<PyBytes>()
        .map_err(|_| PyTypeError::new_err("expected bytes"))?
        .as_bytes()
        .to_vec())
}

fn types_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u16>> {
    obj.try_iter()?.map(|t| t?.extract::<u16>()).collect()
}

fn addrs_arg<A: std::str::FromStr>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<A>> {
    obj.try_iter()?
        .map(|a| {
            let text: String = a?.extract()?;
            text.parse::<A>()
                .map_err(|_| bad(&format!("bad {what} address {text:?}")))
        })
        .collect()
}

fn svc_params_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<SvcParam>> {
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let (key, value): (u16, Bound<'_, PyAny>) = item?.extract()?;
        out.push(match key {
            svc_key::MANDATORY => SvcParam::Mandatory(types_arg(&value)?),
            svc_key::ALPN => SvcParam::Alpn(
                value
                    .try_iter()?
                    .map(|i| bytes_arg(&i?))
                    .collect::<PyResult<_>>()?,
            ),
            svc_key::NO_DEFAULT_ALPN => {
                if !value.is_none() {
                    return Err(bad("SVCB no-default-alpn takes no value (None)"));
                }
                SvcParam::NoDefaultAlpn
            }
            svc_key::PORT => SvcParam::Port(value.extract()?),
            svc_key::IPV4HINT => SvcParam::Ipv4Hint(addrs_arg(&value, "IPv4")?),
            svc_key::ECH => SvcParam::Ech(bytes_arg(&value)?),
            svc_key::IPV6HINT => SvcParam::Ipv6Hint(addrs_arg(&value, "IPv6")?),
            _ => SvcParam::Unknown(key, bytes_arg(&value)?),
        });
    }
    Ok(out)
}

fn rdata_arg(rt: u16, obj: &Bound<'_, PyAny>) -> PyResult<RData> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(RData::Opaque(bytes.as_bytes().to_vec()));
    }
    let t = obj
        .cast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err("RDATA must be a tuple of fields or bytes"))?;
    let want = |n: usize| -> PyResult<()> {
        if t.len() == n {
            Ok(())
        } else {
            Err(bad(&format!(
                "RDATA of type {rt} takes {n} fields, not {}",
                t.len()
            )))
        }
    };
    let f = |i: usize| t.get_item(i);
    Ok(match rt {
        rtype::A => {
            want(1)?;
            let text: String = f(0)?.extract()?;
            RData::A(
                text.parse::<Ipv4Addr>()
                    .map_err(|_| bad("bad IPv4 address"))?,
            )
        }
        rtype::AAAA => {
            want(1)?;
            let text: String = f(0)?.extract()?;
            RData::Aaaa(
                text.parse::<Ipv6Addr>()
                    .map_err(|_| bad("bad IPv6 address"))?,
            )
        }
        rtype::NS | rtype::CNAME | rtype::DNAME | rtype::PTR => {
            want(1)?;
            RData::Name(name_arg(&f(0)?)?)
        }
        rtype::SOA => {
            want(7)?;
            RData::Soa {
                mname: name_arg(&f(0)?)?,
                rname: name_arg(&f(1)?)?,
                serial: f(2)?.extract()?,
                refresh: f(3)?.extract()?,
                retry: f(4)?.extract()?,
                expire: f(5)?.extract()?,
                minimum: f(6)?.extract()?,
            }
        }
        rtype::MX => {
            want(2)?;
            RData::Mx {
                preference: f(0)?.extract()?,
                exchange: name_arg(&f(1)?)?,
            }
        }
        rtype::TXT | rtype::SPF => {
            want(1)?;
            RData::Txt(
                f(0)?
                    .try_iter()?
                    .map(|s| bytes_arg(&s?))
                    .collect::<PyResult<_>>()?,
            )
        }
        rtype::SRV => {
            want(4)?;
            RData::Srv {
                priority: f(0)?.extract()?,
                weight: f(1)?.extract()?,
                port: f(2)?.extract()?,
                target: name_arg(&f(3)?)?,
            }
        }
        rtype::NAPTR => {
            want(6)?;
            RData::Naptr {
                order: f(0)?.extract()?,
                preference: f(1)?.extract()?,
                flags: bytes_arg(&f(2)?)?,
                services: bytes_arg(&f(3)?)?,
                regexp: bytes_arg(&f(4)?)?,
                replacement: name_arg(&f(5)?)?,
            }
        }
        rtype::HINFO => {
            want(2)?;
            RData::Hinfo {
                cpu: bytes_arg(&f(0)?)?,
                os: bytes_arg(&f(1)?)?,
            }
        }
        rtype::RP => {
            want(2)?;
            RData::Rp {
                mbox: name_arg(&f(0)?)?,
                txt: name_arg(&f(1)?)?,
            }
        }
        rtype::AFSDB => {
            want(2)?;
            RData::Afsdb {
                subtype: f(0)?.extract()?,
                hostname: name_arg(&f(1)?)?,
            }
        }
        rtype::SSHFP => {
            want(3)?;
            RData::Sshfp {
                algorithm: f(0)?.extract()?,
                fp_type: f(1)?.extract()?,
                fingerprint: bytes_arg(&f(2)?)?,
            }
        }
        rtype::TLSA => {
            want(4)?;
            RData::Tlsa {
                usage: f(0)?.extract()?,
                selector: f(1)?.extract()?,
                mtype: f(2)?.extract()?,
                data: bytes_arg(&f(3)?)?,
            }
        }
        rtype::CAA => {
            want(3)?;
            RData::Caa {
                flags: f(0)?.extract()?,
                tag: bytes_arg(&f(1)?)?,
                value: bytes_arg(&f(2)?)?,
            }
        }
        rtype::DS => {
            want(4)?;
            RData::Ds {
                key_tag: f(0)?.extract()?,
                algorithm: f(1)?.extract()?,
                digest_type: f(2)?.extract()?,
                digest: bytes_arg(&f(3)?)?,
            }
        }
        rtype::DNSKEY => {
            want(4)?;
            RData::Dnskey {
                flags: f(0)?.extract()?,
                protocol: f(1)?.extract()?,
                algorithm: f(2)?.extract()?,
                key: bytes_arg(&f(3)?)?,
            }
        }
        rtype::RRSIG => {
            want(9)?;
            RData::Rrsig {
                type_covered: f(0)?.extract()?,
                algorithm: f(1)?.extract()?,
                labels: f(2)?.extract()?,
                original_ttl: f(3)?.extract()?,
                expiration: f(4)?.extract()?,
                inception: f(5)?.extract()?,
                key_tag: f(6)?.extract()?,
                signer: name_arg(&f(7)?)?,
                signature: bytes_arg(&f(8)?)?,
            }
        }
        rtype::NSEC => {
            want(2)?;
            RData::Nsec {
                next: name_arg(&f(0)?)?,
                types: types_arg(&f(1)?)?,
            }
        }
        rtype::NSEC3 => {
            want(6)?;
            RData::Nsec3 {
                algorithm: f(0)?.extract()?,
                flags: f(1)?.extract()?,
                iterations: f(2)?.extract()?,
                salt: bytes_arg(&f(3)?)?,
                next: bytes_arg(&f(4)?)?,
                types: types_arg(&f(5)?)?,
            }
        }
        rtype::NSEC3PARAM => {
            want(4)?;
            RData::Nsec3param {
                algorithm: f(0)?.extract()?,
                flags: f(1)?.extract()?,
                iterations: f(2)?.extract()?,
                salt: bytes_arg(&f(3)?)?,
            }
        }
        rtype::SVCB | rtype::HTTPS => {
            want(3)?;
            RData::Svcb {
                priority: f(0)?.extract()?,
                target: name_arg(&f(1)?)?,
                params: svc_params_arg(&f(2)?)?,
            }
        }
        rtype::TSIG => {
            want(7)?;
            RData::Tsig {
                algorithm: name_arg(&f(0)?)?,
                time_signed: f(1)?.extract()?,
                fudge: f(2)?.extract()?,
                mac: bytes_arg(&f(3)?)?,
                original_id: f(4)?.extract()?,
                error: f(5)?.extract()?,
                other: bytes_arg(&f(6)?)?,
            }
        }
        _ => return Err(bad(&format!("type {rt} has no typed RDATA: give bytes"))),
    })
}

pub(crate) fn records_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Record>> {
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let t = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err("a record is (name, type, class, ttl, rdata)"))?;
        if t.len() != 5 {
            return Err(PyTypeError::new_err(
                "a record is (name, type, class, ttl, rdata)",
            ));
        }
        let rt: u16 = t.get_item(1)?.extract()?;
        out.push(Record {
            name: name_arg(&t.get_item(0)?)?,
            rtype: rt,
            class: t.get_item(2)?.extract()?,
            ttl: t.get_item(3)?.extract()?,
            rdata: rdata_arg(rt, &t.get_item(4)?)?,
        });
    }
    Ok(out)
}

/// Renders a DNS message from tuples (see `_native.pyi`); with ``max_size``, drops whole
/// RRsets from the end and sets TC as needed. Raises ValueError or TypeError on bad fields.
#[pyfunction]
#[pyo3(signature = (id, flags, rcode, questions, answers, authority, additional, edns=None, max_size=None))]
#[allow(clippy::too_many_arguments)]
fn dns_render<'py>(
    py: Python<'py>,
    id: u16,
    flags: u16,
    rcode: u16,
    questions: &Bound<'py, PyAny>,
    answers: &Bound<'py, PyAny>,
    authority: &Bound<'py, PyAny>,
    additional: &Bound<'py, PyAny>,
    edns: Option<&Bound<'py, PyAny>>,
    max_size: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut qs = Vec::new();
    for q in questions.try_iter()? {
        let q = q?;
        let (name, qtype, qclass): (Bound<'py, PyAny>, u16, u16) = q.extract()?;
        qs.push(Question {
            name: name_arg(&name)?,
            qtype,
            qclass,
        });
    }
    let edns = match edns {
        None => None,
        Some(e) if e.is_none() => None,
        Some(e) => {
            let (udp_size, version, eflags, options): (u16, u8, u16, Bound<'py, PyAny>) =
                e.extract()?;
            let mut opts = Vec::new();
            for o in options.try_iter()? {
                let (code, data): (u16, Bound<'py, PyAny>) = o?.extract()?;
                opts.push((code, bytes_arg(&data)?));
            }
            Some(Edns {
                udp_size,
                version,
                flags: eflags,
                options: opts,
            })
        }
    };
    let msg = Message {
        header: Header { id, flags, rcode },
        questions: qs,
        answers: records_arg(answers)?,
        authority: records_arg(authority)?,
        additional: records_arg(additional)?,
        edns,
    };
    let wire = msg.render(max_size).map_err(|e| bad(&e.to_string()))?;
    new_bytes(py, &wire)
}
