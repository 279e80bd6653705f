//! `plait._native`: thin pyo3 wrappers over plait's pure-Rust cores.
//!
//! Only conversions between Python objects and the cores' Rust types live here.
use pyo3::prelude::*;

mod amp_dispatch;
mod dns;
mod dns_catalog;
mod juice;
mod ptcp;
mod schema;
mod ssh;
#[cfg(target_os = "linux")]
mod udp_pump;

/// The `plait._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    juice::register(m)?;
    amp_dispatch::register(m)?;
    schema::register(m)?;
    dns::register(m)?;
    dns_catalog::register(m)?;
    ssh::register(m)?;
    ptcp::register(m)?;
    #[cfg(target_os = "linux")]
    udp_pump::register(m)?;
    Ok(())
}
