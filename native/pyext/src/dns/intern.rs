//! Objects that parses share from message to message.
//!
//! The same names come back in message after message (a zone's apex, its name servers, the
//! names a client keeps asking for), and so does a client's EDNS record. `Name` and `Edns` are
//! immutable, so a decoder keeps the ones it made in small tables and hands out the same
//! object again instead of allocating a `bytes`, a lowercase key and a `Name` each time — as
//! CPython shares its small ints. Addresses recur as well (the glue of name servers, the
//! answers for popular names), so the text of an A or AAAA address is shared the same way.
//!
//! A value is kept only when it is seen a second time (each slot remembers the last value
//! that missed it, a "ghost"): traffic where nothing recurs then costs a lookup per value and
//! nothing more — no object is kept alive only to be replaced, which would also hand
//! the allocator cold memory instead of the block just freed.
//!
//! Bounded: `NAME_SLOTS` names of at most `NAME_MAX` bytes, `ADDR_SLOTS` addresses of each
//! family, one EDNS record.

use pyo3::prelude::*;

/// Slots of the name table (a power of two).
const NAME_SLOTS: usize = 256;
/// Longer names are not kept (they are rare, and every slot holds this many bytes).
pub(super) const NAME_MAX: usize = 62;
/// Slots of each address table (a power of two).
const ADDR_SLOTS: usize = 256;

struct Entry {
    len: u8,
    wire: [u8; NAME_MAX],
    /// The parse that last handed this entry out (see [`Shared::begin`]).
    stamp: u32,
    /// The hash of the last name that missed this slot.
    ghost: u32,
    obj: Option<Py<PyAny>>,
}

/// One slot of an address table.
struct AddrSlot<A> {
    kept: Option<(A, Py<PyAny>)>,
    ghost: Option<A>,
}

/// What one decoder shares between parses; a parse holds it locked for its whole length.
pub(super) struct Shared {
    names: Box<[Entry]>,
    /// This parse's number: an entry stamped with it is in use in the message being built,
    /// and must not be replaced (names equal within a message are one object).
    stamp: u32,
    /// The EDNS object of the last parse without EDNS options: (udp_size, version, flags).
    edns: Option<(u16, u8, u16, Py<PyAny>)>,
    v4: Box<[AddrSlot<u32>]>,
    v6: Box<[AddrSlot<u128>]>,
    /// Reused by each parse for the wire form of the names it did not keep here.
    pub(super) scratch: Vec<u8>,
}

/// The outcome of a name lookup.
pub(super) enum Lookup<'py> {
    /// The shared object.
    Found(Bound<'py, PyAny>),
    /// Not there. With a slot, the name is being seen a second time and
    /// [`Shared::keep`] with that slot keeps its object.
    Missing(Option<usize>),
}

/// Reads 8 bytes at `at` (the caller checks the bounds).
#[inline]
fn word(wire: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&wire[at..at + 8]);
    u64::from_le_bytes(w)
}

const K: u64 = 0x517c_c1b7_2722_0a95;

/// A name's hash: its length and its first, middle and last eight bytes mixed (overlapping
/// reads; no loop over the name). Names that differ elsewhere only share a slot.
#[inline]
fn hash(wire: &[u8]) -> u64 {
    let n = wire.len();
    if n >= 8 {
        let a = word(wire, 0);
        let b = word(wire, n / 2 - 4);
        let c = word(wire, n - 8);
        ((a.wrapping_mul(K) ^ b).rotate_left(23).wrapping_mul(K) ^ c ^ n as u64).wrapping_mul(K)
    } else {
        let mut a = n as u64;
        for &byte in wire {
            a = (a << 8) | u64::from(byte);
        }
        a.wrapping_mul(K)
    }
}

impl Shared {
    pub(super) fn new() -> Self {
        Shared {
            names: (0..NAME_SLOTS)
                .map(|_| Entry {
                    len: 0,
                    wire: [0; NAME_MAX],
                    stamp: 0,
                    ghost: 0,
                    obj: None,
                })
                .collect(),
            stamp: 0,
            edns: None,
            v4: (0..ADDR_SLOTS)
                .map(|_| AddrSlot {
                    kept: None,
                    ghost: None,
                })
                .collect(),
            v6: (0..ADDR_SLOTS)
                .map(|_| AddrSlot {
                    kept: None,
                    ghost: None,
                })
                .collect(),
            scratch: Vec::new(),
        }
    }

    /// Starts a parse.
    pub(super) fn begin(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
    }

    /// The shared Name for uncompressed wire bytes, if the table has it.
    #[inline]
    pub(super) fn find<'py>(&mut self, py: Python<'py>, wire: &[u8]) -> Lookup<'py> {
        if wire.len() > NAME_MAX {
            return Lookup::Missing(None);
        }
        let h = hash(wire);
        let i = (h >> 40) as usize & (NAME_SLOTS - 1);
        let tag = h as u32 | 1; // never 0, the ghost of an unused slot
        let stamp = self.stamp;
        let Some(e) = self.names.get_mut(i) else {
            return Lookup::Missing(None);
        };
        if let Some(obj) = &e.obj {
            if usize::from(e.len) == wire.len() && &e.wire[..wire.len()] == wire {
                e.stamp = stamp;
                return Lookup::Found(obj.bind(py).clone());
            }
            if e.stamp == stamp {
                return Lookup::Missing(None);
            }
        }
        if e.ghost == tag {
            return Lookup::Missing(Some(i));
        }
        e.ghost = tag;
        Lookup::Missing(None)
    }

    /// Keeps `obj` as the Name for `wire` in the slot [`Shared::find`] gave.
    pub(super) fn keep(&mut self, slot: usize, wire: &[u8], obj: &Bound<'_, PyAny>) {
        let stamp = self.stamp;
        if let Some(e) = self.names.get_mut(slot) {
            if wire.len() <= NAME_MAX {
                e.wire[..wire.len()].copy_from_slice(wire);
                e.len = wire.len() as u8;
                e.stamp = stamp;
                e.ghost = 0;
                e.obj = Some(obj.clone().unbind());
            }
        }
    }

    /// The shared Edns object for these values (EDNS records without options only).
    pub(super) fn edns<'py>(
        &self,
        py: Python<'py>,
        udp_size: u16,
        version: u8,
        flags: u16,
    ) -> Option<Bound<'py, PyAny>> {
        match &self.edns {
            Some((u, v, f, obj)) if (*u, *v, *f) == (udp_size, version, flags) => {
                Some(obj.bind(py).clone())
            }
            _ => None,
        }
    }

    /// Keeps `obj` as the Edns object for these values.
    pub(super) fn keep_edns(&mut self, udp_size: u16, version: u8, flags: u16, obj: &Bound<'_, PyAny>) {
        self.edns = Some((udp_size, version, flags, obj.clone().unbind()));
    }

    /// The shared text of an IPv4 address, made by `make` when not kept.
    #[inline]
    pub(super) fn ipv4<'py>(
        &mut self,
        py: Python<'py>,
        a: u32,
        make: impl FnOnce() -> Bound<'py, PyAny>,
    ) -> Bound<'py, PyAny> {
        let i = (u64::from(a).wrapping_mul(K) >> 40) as usize & (ADDR_SLOTS - 1);
        shared_text(py, self.v4.get_mut(i), a, make)
    }

    /// The shared text of an IPv6 address, made by `make` when not kept.
    #[inline]
    pub(super) fn ipv6<'py>(
        &mut self,
        py: Python<'py>,
        a: u128,
        make: impl FnOnce() -> Bound<'py, PyAny>,
    ) -> Bound<'py, PyAny> {
        let folded = (a as u64) ^ ((a >> 64) as u64).rotate_left(29);
        let i = (folded.wrapping_mul(K) >> 40) as usize & (ADDR_SLOTS - 1);
        shared_text(py, self.v6.get_mut(i), a, make)
    }
}

#[inline]
fn shared_text<'py, A: Copy + PartialEq>(
    py: Python<'py>,
    slot: Option<&mut AddrSlot<A>>,
    a: A,
    make: impl FnOnce() -> Bound<'py, PyAny>,
) -> Bound<'py, PyAny> {
    let Some(slot) = slot else { return make() };
    if let Some((k, obj)) = &slot.kept {
        if *k == a {
            return obj.bind(py).clone();
        }
    }
    let obj = make();
    if slot.ghost == Some(a) {
        slot.kept = Some((a, obj.clone().unbind()));
        slot.ghost = None;
    } else {
        slot.ghost = Some(a);
    }
    obj
}
