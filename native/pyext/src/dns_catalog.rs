//! `DnsCatalog`: the native authoritative answer engine (`plait_dns::Catalog`) for Python.
//!
//! The catalog is an `Arc` swapped whole under a short lock, so `set_zone` and `remove_zone`
//! are atomic for readers and `answer` never holds a lock while it works or calls Python.
//! That state lives in a [`SharedCatalog`] so native readers (the UDP pump's thread) answer
//! from the same zones without the GIL.

use std::sync::{Arc, RwLock};

use plait_dns::{Catalog, Config, Name, Outcome, Zone};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::dns::{name_arg, records_arg};
use crate::juice::new_bytes;

/// What `answer` returns for queries Python must handle (NOTIFY, AXFR/IXFR, recursion).
const PASS: u8 = 1;

/// Registers `DnsCatalog` on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DnsCatalog>()
}

/// The zones and answer settings of a `DnsCatalog`, shareable with native threads.
pub(crate) struct SharedCatalog {
    catalog: RwLock<Arc<Catalog>>,
    /// How the engine answers (fixed when the catalog is made).
    pub(crate) config: Config,
}

impl SharedCatalog {
    /// The catalog as it is now (a later `set_zone` makes a new one; this one stays whole).
    pub(crate) fn current(&self) -> Option<Arc<Catalog>> {
        self.catalog.read().ok().map(|c| Arc::clone(&c))
    }
}

/// Zones answered natively: ``answer(query, tcp)`` returns the response bytes, ``1`` (pass
/// to Python) or ``None`` (drop).
#[pyclass(module = "plait._native", frozen)]
pub(crate) struct DnsCatalog {
    shared: Arc<SharedCatalog>,
}

impl DnsCatalog {
    /// The state native readers share with this object.
    pub(crate) fn shared(&self) -> Arc<SharedCatalog> {
        Arc::clone(&self.shared)
    }

    fn current(&self) -> PyResult<Arc<Catalog>> {
        self.shared
            .current()
            .ok_or_else(|| PyRuntimeError::new_err("DnsCatalog lock poisoned"))
    }

    fn update(&self, f: impl FnOnce(&mut Catalog)) -> PyResult<()> {
        let mut guard = self
            .shared
            .catalog
            .write()
            .map_err(|_| PyRuntimeError::new_err("DnsCatalog lock poisoned"))?;
        let mut next = Catalog::clone(&guard);
        f(&mut next);
        *guard = Arc::new(next);
        Ok(())
    }
}

#[pymethods]
impl DnsCatalog {
    #[new]
    #[pyo3(signature = (*, recursion=false, max_udp_payload=1232))]
    fn new(recursion: bool, max_udp_payload: u16) -> PyResult<Self> {
        if max_udp_payload < 512 {
            return Err(PyValueError::new_err(
                "max_udp_payload must be at least 512",
            ));
        }
        Ok(DnsCatalog {
            shared: Arc::new(SharedCatalog {
                catalog: RwLock::new(Arc::new(Catalog::new())),
                config: Config {
                    recursion,
                    max_udp_payload,
                },
            }),
        })
    }

    /// Adds or replaces the zone at ``origin_wire`` (records as ``dns_render`` takes them).
    /// Raises ValueError if the zone cannot be served.
    fn set_zone(
        &self,
        py: Python<'_>,
        origin_wire: &Bound<'_, PyAny>,
        records: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let origin = name_arg(origin_wire)?;
        let recs = records_arg(records)?;
        let zone = py
            .detach(|| Zone::new(origin, recs))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let zone = Arc::new(zone);
        self.update(|c| c.insert(zone))
    }

    /// Removes the zone at ``origin_wire``; whether there was one.
    fn remove_zone(&self, origin_wire: &Bound<'_, PyAny>) -> PyResult<bool> {
        let origin = name_arg(origin_wire)?;
        let mut found = false;
        self.update(|c| found = c.remove(&origin))?;
        Ok(found)
    }

    /// The origins as wire bytes, in canonical order.
    fn origins<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let cat = self.current()?;
        let list = PyList::empty(py);
        for o in cat.origins() {
            list.append(new_bytes(py, o.as_wire())?)?;
        }
        Ok(list)
    }

    /// The number of names (empty non-terminals included) in the zone at ``origin_wire``,
    /// or None if there is no such zone.
    fn node_count(&self, origin_wire: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        let origin: Name = name_arg(origin_wire)?;
        Ok(self.current()?.get(&origin).map(|z| z.node_count()))
    }

    /// The response to one query: bytes to send, ``1`` to pass it to Python, None to drop it.
    #[pyo3(signature = (query, tcp=false))]
    fn answer<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        tcp: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cat = self.current()?;
        let outcome = if let Ok(b) = query.cast::<PyBytes>() {
            cat.answer(b.as_bytes(), tcp, &self.shared.config)
        } else {
            let buf = PyBuffer::<u8>::get(query)?;
            cat.answer(&buf.to_vec(py)?, tcp, &self.shared.config)
        };
        match outcome {
            Outcome::Response(wire) => new_bytes(py, &wire),
            Outcome::Pass => Ok(PASS.into_pyobject(py)?.into_any()),
            Outcome::Drop => Ok(py.None().into_bound(py)),
        }
    }
}
