//! `plait._native`: thin pyo3 wrappers over plait's pure-Rust cores.
use pyo3::prelude::*;

/// The `plait._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
