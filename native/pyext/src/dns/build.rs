//! `DnsDecoder`: parses a message straight into the public `plait.names` objects (Message,
//! Question, RR, Edns, Name and the typed RData classes), with no tuples in between.
//!
//! Those classes are slotted dataclasses (and `Name` a slotted class). An instance is made
//! the way `object.__new__` makes one, and each slot is set through its own member
//! descriptor's `__set__`: what `object.__setattr__` does for a slot, without the attribute
//! lookup and without the frozen dataclass's `__setattr__` (which refuses). `__init__` is not
//! run, which is only right because the codec gives every field its final, checked value; the
//! decoder's constructor refuses a class whose fields are not plain slots in the order the
//! codec fills them. Equal names are one `Name` object within a message, and usually across
//! messages too (see [`intern`]).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::raw::c_int;
use std::sync::{Mutex, MutexGuard, TryLockError};

use plait_dns::{rtype, Edns, FormatError, Message, RData, Section, Sink};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};

use super::intern::{Lookup, Shared};
use super::{format_error, int, svc_params_obj};
use crate::juice::new_bytes;

type DescrSet =
    unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject, *mut ffi::PyObject) -> c_int;

/// A class and the member descriptors of its slots, in the order values are given.
struct SlotClass {
    cls: Py<PyType>,
    descrs: Vec<Py<PyAny>>,
    /// Where each slot lies in an instance, when found and checked (see [`probe_offsets`]).
    offsets: Option<Vec<usize>>,
}

impl SlotClass {
    fn new(cls: &Bound<'_, PyAny>, fields: &[&str], set: &mut Option<DescrSet>) -> PyResult<Self> {
        let cls = cls
            .cast::<PyType>()
            .map_err(|_| PyTypeError::new_err("expected a class"))?;
        let mut descrs = Vec::with_capacity(fields.len());
        for field in fields {
            let descr = cls.getattr(*field)?;
            let dtype = descr.get_type();
            if dtype.name()?.to_str()? != "member_descriptor" {
                return Err(PyTypeError::new_err(format!(
                    "{}.{field} is not a slot",
                    cls.name()?
                )));
            }
            // SAFETY: `dtype` is a live type object; the slot read is the documented
            // PyType_GetSlot, which returns NULL when the type has no such slot.
            let f = unsafe { ffi::PyType_GetSlot(dtype.as_type_ptr(), ffi::Py_tp_descr_set) };
            if f.is_null() {
                return Err(PyTypeError::new_err("member descriptor without __set__"));
            }
            // SAFETY: a non-NULL tp_descr_set slot holds a descrsetfunc.
            let f: DescrSet = unsafe { std::mem::transmute::<*mut std::ffi::c_void, DescrSet>(f) };
            match set {
                Some(g) if *g as usize != f as usize => {
                    return Err(PyTypeError::new_err("slots of different descriptor types"))
                }
                _ => *set = Some(f),
            }
            descrs.push(descr.unbind());
        }
        let mut out = SlotClass {
            cls: cls.clone().unbind(),
            descrs,
            offsets: None,
        };
        if let Some(f) = *set {
            out.offsets = out.probe_offsets(cls.py(), f)?;
        }
        Ok(out)
    }

    /// Finds where each slot's pointer lies in an instance: sets the slots through their
    /// descriptors to distinct sentinels and looks for each sentinel among the pointer-sized
    /// words of the instance (its `__basicsize__` bytes). Only an unambiguous answer for every
    /// slot is kept; otherwise instances are filled through the descriptors.
    fn probe_offsets(&self, py: Python<'_>, set: DescrSet) -> PyResult<Option<Vec<usize>>> {
        let basicsize: usize = self.cls.bind(py).getattr("__basicsize__")?.extract()?;
        let word = std::mem::size_of::<*mut ffi::PyObject>();
        let sentinels: Vec<Bound<'_, PyAny>> = (0..self.descrs.len())
            .map(|i| PyTuple::new(py, [i]).map(Bound::into_any))
            .collect::<PyResult<_>>()?;
        let obj = self.make_with_descriptors(py, set, &sentinels)?;
        let mut offsets = Vec::with_capacity(sentinels.len());
        for sentinel in &sentinels {
            let mut found = None;
            let mut off = 2 * word; // past the reference count and the type pointer
            while off + word <= basicsize {
                // SAFETY: the instance is at least `basicsize` bytes and pointer-aligned; the
                // read is of a word inside it.
                let p = unsafe {
                    (obj.as_ptr() as *const u8)
                        .add(off)
                        .cast::<*mut ffi::PyObject>()
                        .read()
                };
                if p == sentinel.as_ptr() {
                    if found.is_some() {
                        return Ok(None);
                    }
                    found = Some(off);
                }
                off += word;
            }
            match found {
                Some(off) => offsets.push(off),
                None => return Ok(None),
            }
        }
        Ok(Some(offsets))
    }

    fn make_with_descriptors<'py>(
        &self,
        py: Python<'py>,
        set: DescrSet,
        values: &[Bound<'py, PyAny>],
    ) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: PyType_GenericAlloc returns a new reference (zeroed slots) or NULL with an
        // exception set; each set call gets live borrowed pointers and takes its own reference
        // to the value, returning -1 with an exception set on failure.
        unsafe {
            let obj = Bound::from_owned_ptr_or_err(
                py,
                ffi::PyType_GenericAlloc(self.cls.bind(py).as_type_ptr(), 0),
            )?;
            for (descr, value) in self.descrs.iter().zip(values) {
                if set(descr.as_ptr(), obj.as_ptr(), value.as_ptr()) != 0 {
                    return Err(PyErr::fetch(py));
                }
            }
            Ok(obj)
        }
    }

    /// The class's own field names, in order (a dataclass's `__match_args__`).
    fn fields(cls: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        cls.getattr("__match_args__")?.extract()
    }

    /// A new instance with `values` in field order.
    #[inline]
    fn make<'py, const N: usize>(
        &self,
        py: Python<'py>,
        set: DescrSet,
        values: [Bound<'py, PyAny>; N],
    ) -> PyResult<Bound<'py, PyAny>> {
        if N != self.descrs.len() {
            return Err(PyValueError::new_err(format!(
                "{N} values for a class of {} fields",
                self.descrs.len()
            )));
        }
        let Some(offsets) = &self.offsets else {
            return self.make_with_descriptors(py, set, &values);
        };
        // SAFETY: as in `make_with_descriptors` for the allocation; each offset was found by
        // `probe_offsets` to be where this class keeps that slot, and a fresh instance's slots
        // are NULL, so storing an owned reference there is what the descriptor's set does.
        unsafe {
            let obj = Bound::from_owned_ptr_or_err(
                py,
                ffi::PyType_GenericAlloc(self.cls.bind(py).as_type_ptr(), 0),
            )?;
            let base = obj.as_ptr() as *mut u8;
            for (off, value) in offsets.iter().zip(values) {
                base.add(*off)
                    .cast::<*mut ffi::PyObject>()
                    .write(value.into_ptr());
            }
            Ok(obj)
        }
    }
}

/// How many values each typed RData variant gives (checked against the class at start-up).
fn arity(rt: u16) -> Option<usize> {
    Some(match rt {
        rtype::A | rtype::AAAA | rtype::NS | rtype::CNAME | rtype::DNAME | rtype::PTR => 1,
        rtype::TXT | rtype::SPF => 1,
        rtype::SOA => 7,
        rtype::MX | rtype::HINFO | rtype::RP | rtype::AFSDB | rtype::NSEC => 2,
        rtype::SRV | rtype::TLSA | rtype::DS | rtype::DNSKEY | rtype::NSEC3PARAM => 4,
        rtype::NAPTR | rtype::NSEC3 => 6,
        rtype::SSHFP | rtype::CAA | rtype::SVCB | rtype::HTTPS => 3,
        rtype::RRSIG => 9,
        rtype::TSIG => 7,
        _ => return None,
    })
}

/// The highest type number with typed RDATA, plus one.
const TYPED_LIMIT: usize = 258;

/// Parses DNS messages into the public Python objects (see the module docs).
#[pyclass(frozen, module = "plait._native")]
pub(crate) struct DnsDecoder {
    set: DescrSet,
    name: SlotClass,
    message: SlotClass,
    question: SlotClass,
    rr: SlotClass,
    edns: SlotClass,
    opaque: SlotClass,
    rdata: Vec<Option<SlotClass>>,
    shared: Mutex<Shared>,
}

#[pymethods]
impl DnsDecoder {
    /// ``classes`` maps "Name", "Message", "Question", "RR", "Edns", "Opaque" to the classes;
    /// ``rdata_classes`` maps each typed record type to its RData class.
    #[new]
    fn new(classes: &Bound<'_, PyDict>, rdata_classes: &Bound<'_, PyDict>) -> PyResult<Self> {
        let mut set = None;
        let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            classes
                .get_item(key)?
                .ok_or_else(|| PyValueError::new_err(format!("no {key} class")))
        };
        let dataclass = |key: &str, n: usize, set: &mut Option<DescrSet>| -> PyResult<SlotClass> {
            let cls = get(key)?;
            let fields = SlotClass::fields(&cls)?;
            if fields.len() != n {
                return Err(PyValueError::new_err(format!(
                    "{key} has {} fields, not {n}",
                    fields.len()
                )));
            }
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            SlotClass::new(&cls, &names, set)
        };
        let name = SlotClass::new(&get("Name")?, &["_wire", "_key"], &mut set)?;
        let message = dataclass("Message", 8, &mut set)?;
        let question = dataclass("Question", 3, &mut set)?;
        let rr = dataclass("RR", 5, &mut set)?;
        let edns = dataclass("Edns", 4, &mut set)?;
        let opaque = dataclass("Opaque", 2, &mut set)?;
        let mut rdata: Vec<Option<SlotClass>> = (0..TYPED_LIMIT).map(|_| None).collect();
        for (rt, slot) in rdata.iter_mut().enumerate() {
            let Some(n) = arity(rt as u16) else { continue };
            let cls = rdata_classes
                .get_item(rt)?
                .ok_or_else(|| PyValueError::new_err(format!("no RData class for type {rt}")))?;
            let fields = SlotClass::fields(&cls)?;
            if fields.len() != n {
                return Err(PyValueError::new_err(format!(
                    "RData class for type {rt} has {} fields, not {n}",
                    fields.len()
                )));
            }
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            *slot = Some(SlotClass::new(&cls, &names, &mut set)?);
        }
        let set = set.ok_or_else(|| PyValueError::new_err("no slots"))?;
        Ok(DnsDecoder {
            set,
            name,
            message,
            question,
            rr,
            edns,
            opaque,
            rdata,
            shared: Mutex::new(Shared::new()),
        })
    }

    /// The ``plait.names.Message`` for a whole wire message. Raises DNSFormatError.
    fn parse<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mut b = Builder::new(py, self);
        let parsed = if let Ok(bytes) = data.cast::<PyBytes>() {
            Message::parse_with(bytes.as_bytes(), &mut b)
        } else {
            let buf = pyo3::buffer::PyBuffer::<u8>::get(data)?;
            Message::parse_with(&buf.to_vec(py)?, &mut b)
        };
        b.release();
        if let Some(err) = b.err.take() {
            return Err(err);
        }
        let header = parsed.map_err(|e| format_error(py, &e))?;
        let none = py.None().into_bound(py);
        let message = self.message.make(
            py,
            self.set,
            [
                int(py, header.id)?,
                shared_int(py, u32::from(header.flags))?,
                int(py, header.rcode)?,
                b.questions.finish()?,
                b.answers.finish()?,
                b.authority.finish()?,
                PyTuple::new(py, b.additional)?.into_any(),
                b.edns.unwrap_or(none),
            ],
        )?;
        Ok(message)
    }
}

/// Names of one message that the shared table does not hold, remembered so that equal
/// names in it are still one object (a bound on the linear search).
const OVERFLOW_NAMES: usize = 32;

/// The names of the message being built that the shared table does not hold: their wire
/// forms one after another in `wires` (a buffer reused from parse to parse).
struct Overflow<'py> {
    wires: Vec<u8>,
    spans: [(u16, u16); OVERFLOW_NAMES],
    objs: [Option<Bound<'py, PyAny>>; OVERFLOW_NAMES],
    n: usize,
}

impl<'py> Overflow<'py> {
    fn new(wires: Vec<u8>) -> Self {
        Overflow {
            wires,
            spans: [(0, 0); OVERFLOW_NAMES],
            objs: [const { None }; OVERFLOW_NAMES],
            n: 0,
        }
    }

    #[inline]
    fn find(&self, wire: &[u8]) -> Option<&Bound<'py, PyAny>> {
        for (&(start, len), obj) in self.spans.iter().zip(&self.objs).take(self.n) {
            let (start, len) = (usize::from(start), usize::from(len));
            if self.wires.get(start..start + len) == Some(wire) {
                return obj.as_ref();
            }
        }
        None
    }

    fn push(&mut self, wire: &[u8], obj: &Bound<'py, PyAny>) {
        let start = self.wires.len();
        if self.n >= OVERFLOW_NAMES || start > usize::from(u16::MAX) - wire.len() {
            return;
        }
        self.wires.extend_from_slice(wire);
        self.spans[self.n] = (start as u16, wire.len() as u16);
        self.objs[self.n] = Some(obj.clone());
        self.n += 1;
    }
}

/// A section's tuple, filled in place: the parser gives exactly the header's count of
/// questions, answers and authority records when it succeeds.
struct Filling<'py> {
    tuple: Option<Bound<'py, PyTuple>>,
    n: usize,
}

impl<'py> Filling<'py> {
    fn new(py: Python<'py>, len: usize) -> PyResult<Self> {
        // SAFETY: PyTuple_New returns a new reference (NULL items) or NULL with an exception.
        let tuple =
            unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(len as ffi::Py_ssize_t))? };
        // SAFETY: PyTuple_New made a tuple.
        Ok(Filling {
            tuple: Some(unsafe { tuple.cast_into_unchecked() }),
            n: 0,
        })
    }

    fn push(&mut self, item: Bound<'py, PyAny>) -> PyResult<()> {
        let Some(tuple) = &self.tuple else {
            return Err(PyValueError::new_err("section tuple missing"));
        };
        if self.n >= tuple.len() {
            return Err(PyValueError::new_err("more records than the header counts"));
        }
        // SAFETY: the index is inside the tuple, whose slot is still NULL; SetItem steals the
        // new reference `into_ptr` gives.
        if unsafe {
            ffi::PyTuple_SetItem(tuple.as_ptr(), self.n as ffi::Py_ssize_t, item.into_ptr())
        } != 0
        {
            return Err(PyErr::fetch(tuple.py()));
        }
        self.n += 1;
        Ok(())
    }

    fn finish(self) -> PyResult<Bound<'py, PyAny>> {
        match self.tuple {
            Some(t) if self.n == t.len() => Ok(t.into_any()),
            _ => Err(PyValueError::new_err(
                "a section has fewer records than the header counts",
            )),
        }
    }
}

/// An int object for `v`, shared with earlier parses for values that recur from message to
/// message (TTLs, header flags, payload sizes): CPython itself shares only -5..=256.
fn shared_int(py: Python<'_>, v: u32) -> PyResult<Bound<'_, PyAny>> {
    type Slots = Vec<Option<(u32, Py<PyAny>)>>;
    thread_local! {
        static INTS: std::cell::RefCell<Slots> = std::cell::RefCell::new((0..64).map(|_| None).collect());
    }
    if v <= 256 {
        return int(py, v);
    }
    INTS.with(|cell| {
        let Ok(mut slots) = cell.try_borrow_mut() else {
            return int(py, v);
        };
        let slot = &mut slots[((v ^ (v >> 6) ^ (v >> 12)) & 63) as usize];
        if let Some((k, obj)) = slot {
            if *k == v {
                return Ok(obj.bind(py).clone());
            }
        }
        let obj = int(py, v)?;
        *slot = Some((v, obj.clone().unbind()));
        Ok(obj)
    })
}

/// The [`Sink`] that builds the Python objects.
struct Builder<'a, 'py> {
    py: Python<'py>,
    d: &'a DnsDecoder,
    err: Option<PyErr>,
    /// The decoder's shared objects; None while another parse holds them (a parse run from
    /// a finalizer during this one), and then nothing is shared across messages.
    shared: Option<MutexGuard<'a, Shared>>,
    overflow: Overflow<'py>,
    last_ttl: Option<(u32, Bound<'py, PyAny>)>,
    questions: Filling<'py>,
    answers: Filling<'py>,
    authority: Filling<'py>,
    additional: Vec<Bound<'py, PyAny>>,
    edns: Option<Bound<'py, PyAny>>,
}

/// Stops the parse after a Python error (kept in the builder and raised instead).
fn stop(b_err: &mut Option<PyErr>, e: PyErr) -> FormatError {
    *b_err = Some(e);
    FormatError {
        offset: 0,
        what: "Python error",
    }
}

impl<'a, 'py> Builder<'a, 'py> {
    fn new(py: Python<'py>, d: &'a DnsDecoder) -> Self {
        let mut shared = match d.shared.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        let mut wires = Vec::new();
        if let Some(s) = &mut shared {
            s.begin();
            wires = std::mem::take(&mut s.scratch);
            wires.clear();
        }
        Builder {
            py,
            d,
            err: None,
            shared,
            overflow: Overflow::new(wires),
            last_ttl: None,
            questions: Filling { tuple: None, n: 0 },
            answers: Filling { tuple: None, n: 0 },
            authority: Filling { tuple: None, n: 0 },
            additional: Vec::new(),
            edns: None,
        }
    }

    /// Gives the reused buffer back to the shared state (at the end of a parse).
    fn release(&mut self) {
        if let Some(shared) = &mut self.shared {
            shared.scratch = std::mem::take(&mut self.overflow.wires);
        }
    }

    /// The Name for uncompressed wire bytes: the shared one when the table holds it, else
    /// the one made earlier in this message, else a new one.
    #[inline]
    fn name(&mut self, wire: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let mut keep = None;
        if let Some(shared) = &mut self.shared {
            match shared.find(py, wire) {
                Lookup::Found(name) => return Ok(name),
                Lookup::Missing(slot) => keep = slot,
            }
        }
        if let Some(name) = self.overflow.find(wire) {
            let name = name.clone();
            if let (Some(slot), Some(shared)) = (keep, &mut self.shared) {
                shared.keep(slot, wire, &name);
            }
            return Ok(name);
        }
        self.new_name(wire, keep)
    }

    #[cold]
    fn new_name(&mut self, wire: &[u8], keep: Option<usize>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let bytes = new_bytes(py, wire)?;
        let key = if wire.iter().any(u8::is_ascii_uppercase) {
            new_bytes(py, &wire.to_ascii_lowercase())?
        } else {
            bytes.clone()
        };
        let name = self.d.name.make(py, self.d.set, [bytes, key])?;
        match (keep, &mut self.shared) {
            (Some(slot), Some(shared)) => shared.keep(slot, wire, &name),
            _ => self.overflow.push(wire, &name),
        }
        Ok(name)
    }

    /// The TTL's int, the same object as the last record's when equal (RRsets share one).
    #[inline]
    fn ttl(&mut self, ttl: u32) -> PyResult<Bound<'py, PyAny>> {
        if let Some((v, obj)) = &self.last_ttl {
            if *v == ttl {
                return Ok(obj.clone());
            }
        }
        let obj = shared_int(self.py, ttl)?;
        self.last_ttl = Some((ttl, obj.clone()));
        Ok(obj)
    }

    fn rdata(&mut self, rt: u16, rdata: &RData) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let set = self.d.set;
        let b = |d: &[u8]| new_bytes(py, d);
        let d = self.d;
        if let RData::Opaque(data) = rdata {
            return d.opaque.make(py, set, [int(py, rt)?, b(data)?]);
        }
        let cls = d
            .rdata
            .get(rt as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| PyValueError::new_err(format!("no RData class for type {rt}")))?;
        macro_rules! mk {
            ($values:expr) => {
                cls.make(py, set, $values)
            };
        }
        match rdata {
            RData::A(a) => {
                let text = match &mut self.shared {
                    Some(s) => s.ipv4(py, u32::from(*a), || ipv4_text(py, a)),
                    None => ipv4_text(py, a),
                };
                mk!([text])
            }
            RData::Aaaa(a) => {
                let text = match &mut self.shared {
                    Some(s) => s.ipv6(py, u128::from(*a), || ipv6_text(py, a)),
                    None => ipv6_text(py, a),
                };
                mk!([text])
            }
            RData::Name(n) => mk!([self.name(n.as_wire())?]),
            RData::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            } => mk!([
                self.name(mname.as_wire())?,
                self.name(rname.as_wire())?,
                int(py, serial)?,
                int(py, refresh)?,
                int(py, retry)?,
                int(py, expire)?,
                int(py, minimum)?,
            ]),
            RData::Mx {
                preference,
                exchange,
            } => mk!([int(py, preference)?, self.name(exchange.as_wire())?]),
            RData::Txt(strings) => {
                let items = strings.iter().map(|s| b(s)).collect::<PyResult<Vec<_>>>()?;
                mk!([PyTuple::new(py, items)?.into_any()])
            }
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => mk!([
                int(py, priority)?,
                int(py, weight)?,
                int(py, port)?,
                self.name(target.as_wire())?,
            ]),
            RData::Naptr {
                order,
                preference,
                flags,
                services,
                regexp,
                replacement,
            } => mk!([
                int(py, order)?,
                int(py, preference)?,
                b(flags)?,
                b(services)?,
                b(regexp)?,
                self.name(replacement.as_wire())?,
            ]),
            RData::Hinfo { cpu, os } => mk!([b(cpu)?, b(os)?]),
            RData::Rp { mbox, txt } => mk!([self.name(mbox.as_wire())?, self.name(txt.as_wire())?]),
            RData::Afsdb { subtype, hostname } => {
                mk!([int(py, subtype)?, self.name(hostname.as_wire())?])
            }
            RData::Sshfp {
                algorithm,
                fp_type,
                fingerprint,
            } => {
                mk!([int(py, algorithm)?, int(py, fp_type)?, b(fingerprint)?])
            }
            RData::Tlsa {
                usage,
                selector,
                mtype,
                data,
            } => {
                mk!([
                    int(py, usage)?,
                    int(py, selector)?,
                    int(py, mtype)?,
                    b(data)?
                ])
            }
            RData::Caa { flags, tag, value } => mk!([int(py, flags)?, b(tag)?, b(value)?]),
            RData::Ds {
                key_tag,
                algorithm,
                digest_type,
                digest,
            } => {
                mk!([
                    int(py, key_tag)?,
                    int(py, algorithm)?,
                    int(py, digest_type)?,
                    b(digest)?
                ])
            }
            RData::Dnskey {
                flags,
                protocol,
                algorithm,
                key,
            } => {
                mk!([
                    int(py, flags)?,
                    int(py, protocol)?,
                    int(py, algorithm)?,
                    b(key)?
                ])
            }
            RData::Rrsig {
                type_covered,
                algorithm,
                labels,
                original_ttl,
                expiration,
                inception,
                key_tag,
                signer,
                signature,
            } => mk!([
                int(py, type_covered)?,
                int(py, algorithm)?,
                int(py, labels)?,
                int(py, original_ttl)?,
                int(py, expiration)?,
                int(py, inception)?,
                int(py, key_tag)?,
                self.name(signer.as_wire())?,
                b(signature)?,
            ]),
            RData::Nsec { next, types } => mk!([
                self.name(next.as_wire())?,
                PyTuple::new(py, types)?.into_any()
            ]),
            RData::Nsec3 {
                algorithm,
                flags,
                iterations,
                salt,
                next,
                types,
            } => mk!([
                int(py, algorithm)?,
                int(py, flags)?,
                int(py, iterations)?,
                b(salt)?,
                b(next)?,
                PyTuple::new(py, types)?.into_any(),
            ]),
            RData::Nsec3param {
                algorithm,
                flags,
                iterations,
                salt,
            } => {
                mk!([
                    int(py, algorithm)?,
                    int(py, flags)?,
                    int(py, iterations)?,
                    b(salt)?
                ])
            }
            RData::Svcb {
                priority,
                target,
                params,
            } => {
                mk!([
                    int(py, priority)?,
                    self.name(target.as_wire())?,
                    svc_params_obj(py, params)?
                ])
            }
            RData::Tsig {
                algorithm,
                time_signed,
                fudge,
                mac,
                original_id,
                error,
                other,
            } => mk!([
                self.name(algorithm.as_wire())?,
                int(py, time_signed)?,
                int(py, fudge)?,
                b(mac)?,
                int(py, original_id)?,
                int(py, error)?,
                b(other)?,
            ]),
            _ => Err(PyValueError::new_err(format!(
                "no Python form for RDATA of type {rt}"
            ))),
        }
    }

    fn record_obj(
        &mut self,
        name: &[u8],
        rt: u16,
        class: u16,
        ttl: u32,
        rdata: &RData,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let values = [
            self.name(name)?,
            int(py, rt)?,
            int(py, class)?,
            self.ttl(ttl)?,
            self.rdata(rt, rdata)?,
        ];
        self.d.rr.make(py, self.d.set, values)
    }
}

impl Sink for Builder<'_, '_> {
    fn header(&mut self, _id: u16, _flags: u16, counts: [usize; 4]) -> Result<(), FormatError> {
        let py = self.py;
        let made = (|| {
            self.questions = Filling::new(py, counts[0])?;
            self.answers = Filling::new(py, counts[1])?;
            self.authority = Filling::new(py, counts[2])?;
            Ok(())
        })();
        // The OPT record is counted there but is not kept in it: most responses carry no
        // other additional record, so the vector grows when one comes (no allocation else).
        if counts[3] > 1 {
            self.additional.reserve_exact(counts[3] - 1);
        }
        made.map_err(|e| stop(&mut self.err, e))
    }

    fn question(&mut self, name: &[u8], qtype: u16, qclass: u16) -> Result<(), FormatError> {
        let py = self.py;
        let q = (|| {
            let values = [self.name(name)?, int(py, qtype)?, int(py, qclass)?];
            self.d.question.make(py, self.d.set, values)
        })();
        match q {
            Ok(q) => self.questions.push(q).map_err(|e| stop(&mut self.err, e)),
            Err(e) => Err(stop(&mut self.err, e)),
        }
    }

    fn record(
        &mut self,
        section: Section,
        name: &[u8],
        rt: u16,
        class: u16,
        ttl: u32,
        rdata: &mut RData,
    ) -> Result<(), FormatError> {
        match self.record_obj(name, rt, class, ttl, rdata) {
            Ok(rec) => {
                let pushed = match section {
                    Section::Answer => self.answers.push(rec),
                    Section::Authority => self.authority.push(rec),
                    Section::Additional => {
                        self.additional.push(rec);
                        Ok(())
                    }
                };
                pushed.map_err(|e| stop(&mut self.err, e))
            }
            Err(e) => Err(stop(&mut self.err, e)),
        }
    }

    fn edns(&mut self, edns: Edns) -> Result<(), FormatError> {
        let py = self.py;
        let plain = edns.options.is_empty();
        if plain {
            if let Some(shared) = &self.shared {
                if let Some(obj) = shared.edns(py, edns.udp_size, edns.version, edns.flags) {
                    self.edns = Some(obj);
                    return Ok(());
                }
            }
        }
        let obj = (|| {
            let options = edns
                .options
                .iter()
                .map(|(code, data)| {
                    Ok(PyTuple::new(py, [int(py, code)?, new_bytes(py, data)?])?.into_any())
                })
                .collect::<PyResult<Vec<_>>>()?;
            let values = [
                shared_int(py, u32::from(edns.udp_size))?,
                int(py, edns.version)?,
                shared_int(py, u32::from(edns.flags))?,
                PyTuple::new(py, options)?.into_any(),
            ];
            self.d.edns.make(py, self.d.set, values)
        })();
        match obj {
            Ok(obj) => {
                if let (true, Some(shared)) = (plain, &mut self.shared) {
                    shared.keep_edns(edns.udp_size, edns.version, edns.flags, &obj);
                }
                self.edns = Some(obj);
                Ok(())
            }
            Err(e) => Err(stop(&mut self.err, e)),
        }
    }
}

/// Dotted-quad text, as Python's ``str(IPv4Address)`` writes it.
fn ipv4_text<'py>(py: Python<'py>, a: &Ipv4Addr) -> Bound<'py, PyAny> {
    let mut buf = [0u8; 15];
    let mut n = 0;
    for (i, octet) in a.octets().iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        let o = *octet;
        if o >= 100 {
            buf[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            buf[n] = b'0' + (o / 10) % 10;
            n += 1;
        }
        buf[n] = b'0' + o % 10;
        n += 1;
    }
    // SAFETY: digits and dots only, so valid UTF-8.
    PyString::new(py, unsafe { std::str::from_utf8_unchecked(&buf[..n]) }).into_any()
}

/// IPv6 text as Python's ``str(IPv6Address)`` writes it (lowercase hex without leading
/// zeros, the first longest run of two or more zero groups as ``::``), so an address reads
/// the same from the wire and from a zone file.
pub(super) fn ipv6_text<'py>(py: Python<'py>, a: &Ipv6Addr) -> Bound<'py, PyAny> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let groups = a.segments();
    let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                best = run;
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    if best_len < 2 {
        best_len = 0;
    }
    let mut buf = [0u8; 40];
    let mut n = 0;
    let mut i = 0;
    while i < 8 {
        if best_len > 0 && i == best {
            buf[n] = b':';
            n += 1;
            if i == 0 {
                buf[n] = b':';
                n += 1;
            }
            i += best_len;
            continue;
        }
        let g = groups[i];
        let mut shift = 12;
        while shift > 0 && (g >> shift) & 0xF == 0 {
            shift -= 4;
        }
        loop {
            buf[n] = HEX[((g >> shift) & 0xF) as usize];
            n += 1;
            if shift == 0 {
                break;
            }
            shift -= 4;
        }
        i += 1;
        if i < 8 {
            buf[n] = b':';
            n += 1;
        }
    }
    // SAFETY: hex digits and colons only, so valid UTF-8.
    PyString::new(py, unsafe { std::str::from_utf8_unchecked(&buf[..n]) }).into_any()
}
