//! SSH binary packet layer: `SshPacketError`, `SshPacketLayer` over `plait_ssh::PacketLayer`.

use plait_ssh::{PacketError, PacketLayer, Sntrup761KeyPair as KeyPair, SntrupLengthError};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::juice::new_bytes;

pyo3::create_exception!(
    plait._native,
    SshPacketError,
    PyValueError,
    "A packet the peer got wrong; ``reason`` is the SSH disconnect reason code\n\
     (2 protocol error, 5 MAC error, 6 compression error)."
);

/// Registers the SSH packet names on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let error_type = py.get_type::<SshPacketError>();
    error_type.setattr("reason", 2)?;
    m.add("SshPacketError", error_type)?;
    m.add_class::<SshPacketLayer>()?;
    let ciphers = PyDict::new(py);
    for (name, s) in plait_ssh::CIPHERS {
        ciphers.set_item(*name, (s.key_len, s.iv_len, s.block_size, s.is_aead))?;
    }
    m.add("SSH_CIPHERS", ciphers)?;
    let macs = PyDict::new(py);
    for (name, s) in plait_ssh::MACS {
        macs.set_item(*name, (s.key_len, s.digest_len, s.etm))?;
    }
    m.add("SSH_MACS", macs)?;
    m.add_class::<Sntrup761KeyPair>()?;
    m.add_function(wrap_pyfunction!(sntrup761_encapsulate, m)?)?;
    m.add("SNTRUP761_PUBLIC_KEY_SIZE", plait_ssh::SNTRUP761_PUBLIC_KEY_SIZE)?;
    m.add("SNTRUP761_CIPHERTEXT_SIZE", plait_ssh::SNTRUP761_CIPHERTEXT_SIZE)?;
    Ok(())
}

fn to_py(py: Python<'_>, e: PacketError) -> PyErr {
    if let PacketError::Config(msg) = e {
        return PyValueError::new_err(msg);
    }
    let reason = e.reason();
    let err = SshPacketError::new_err(e.to_string());
    match err.value(py).setattr("reason", reason) {
        Ok(()) => err,
        Err(failed) => failed,
    }
}

/// The SSH binary packet protocol for one connection (see ``plait.conch.ssh.packet``).
#[pyclass(module = "plait._native")]
pub struct SshPacketLayer {
    inner: PacketLayer,
    out: Vec<u8>,
}

#[pymethods]
impl SshPacketLayer {
    #[new]
    #[pyo3(signature = (max_packet_length = 262_144))]
    fn new(py: Python<'_>, max_packet_length: usize) -> PyResult<Self> {
        let inner = PacketLayer::new(max_packet_length).map_err(|e| to_py(py, e))?;
        Ok(SshPacketLayer {
            inner,
            out: Vec::new(),
        })
    }

    /// Whole payloads from the bytes received so far; stops after a NEWKEYS payload.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        self.inner.feed(data);
        let out = PyList::empty(py);
        loop {
            match self.inner.next_payload() {
                Ok(Some(payload)) => out.append(new_bytes(py, payload)?)?,
                Ok(None) => return Ok(out),
                Err(e) => return Err(to_py(py, e)),
            }
        }
    }

    /// One packet carrying ``payload``.
    fn encode<'py>(&mut self, py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        self.out.clear();
        self.inner
            .encode(payload, &mut self.out)
            .map_err(|e| to_py(py, e))?;
        let packet = PyBytes::new(py, &self.out);
        if self.out.capacity() > 1 << 20 {
            self.out = Vec::new();
        }
        Ok(packet)
    }

    /// Packets for several payloads, concatenated.
    fn encode_many<'py>(
        &mut self,
        py: Python<'py>,
        payloads: Vec<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.out.clear();
        for p in &payloads {
            self.inner
                .encode(p, &mut self.out)
                .map_err(|e| to_py(py, e))?;
        }
        let packets = PyBytes::new(py, &self.out);
        if self.out.capacity() > 1 << 20 {
            self.out = Vec::new();
        }
        Ok(packets)
    }

    /// Packets for a batch, concatenated: each item is a payload (bytes) or a
    /// ``(recipient, ext, data, chunk)`` tuple of channel data (``ext`` None for
    /// CHANNEL_DATA, ``data`` any contiguous byte buffer) split into pieces of ``chunk``.
    fn encode_batch<'py>(
        &mut self,
        py: Python<'py>,
        items: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.out.clear();
        for item in items.iter() {
            if let Ok(payload) = item.cast::<PyBytes>() {
                self.inner
                    .encode(payload.as_bytes(), &mut self.out)
                    .map_err(|e| to_py(py, e))?;
                continue;
            }
            let (recipient, ext, data, chunk): (u32, Option<u32>, Bound<'py, PyAny>, usize) =
                item.extract()?;
            let r = if let Ok(b) = data.cast::<PyBytes>() {
                self.inner
                    .encode_channel_data(recipient, ext, b.as_bytes(), chunk, &mut self.out)
            } else {
                let buf = PyBuffer::<u8>::get(&data)?;
                if !buf.is_c_contiguous() {
                    return Err(PyValueError::new_err("channel data must be contiguous"));
                }
                // SAFETY: a C-contiguous u8 buffer of len_bytes() bytes, held (and so kept
                // alive and exported) by `buf` until the end of this block; the GIL is held
                // throughout, so no Python code runs while the slice is read.
                let bytes = unsafe {
                    std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes())
                };
                self.inner
                    .encode_channel_data(recipient, ext, bytes, chunk, &mut self.out)
            };
            r.map_err(|e| to_py(py, e))?;
        }
        let packets = PyBytes::new(py, &self.out);
        if self.out.capacity() > 8 << 20 {
            self.out = Vec::new();
        }
        Ok(packets)
    }

    #[pyo3(signature = (cipher, key, iv, mac, mac_key))]
    fn set_encrypt(
        &mut self,
        py: Python<'_>,
        cipher: &str,
        key: &[u8],
        iv: &[u8],
        mac: Option<&str>,
        mac_key: &[u8],
    ) -> PyResult<()> {
        self.inner
            .set_encrypt(cipher, key, iv, mac, mac_key)
            .map_err(|e| to_py(py, e))
    }

    #[pyo3(signature = (cipher, key, iv, mac, mac_key))]
    fn set_decrypt(
        &mut self,
        py: Python<'_>,
        cipher: &str,
        key: &[u8],
        iv: &[u8],
        mac: Option<&str>,
        mac_key: &[u8],
    ) -> PyResult<()> {
        self.inner
            .set_decrypt(cipher, key, iv, mac, mac_key)
            .map_err(|e| to_py(py, e))
    }

    fn set_compression(&mut self, outgoing: bool, incoming: bool) {
        self.inner.set_compression(outgoing, incoming);
    }

    fn reset_sequence_in(&mut self) {
        self.inner.reset_sequence_in();
    }

    fn reset_sequence_out(&mut self) {
        self.inner.reset_sequence_out();
    }

    /// Bytes received but not yet decoded.
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    #[getter]
    fn max_packet_length(&self) -> usize {
        self.inner.max_packet_length()
    }

    #[getter]
    fn paused(&self) -> bool {
        self.inner.paused()
    }

    #[getter]
    fn compression(&self) -> (bool, bool) {
        self.inner.compression()
    }

    #[getter]
    fn get_seq_in(&self) -> u32 {
        self.inner.seq_in
    }

    #[setter]
    fn set_seq_in(&mut self, value: u32) {
        self.inner.seq_in = value;
    }

    #[getter]
    fn get_seq_out(&self) -> u32 {
        self.inner.seq_out
    }

    #[setter]
    fn set_seq_out(&mut self, value: u32) {
        self.inner.seq_out = value;
    }

    #[getter]
    fn bytes_in(&self) -> u64 {
        self.inner.bytes_in
    }

    #[getter]
    fn bytes_out(&self) -> u64 {
        self.inner.bytes_out
    }
}

fn length_error(e: SntrupLengthError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// An sntrup761 key pair for one key exchange; the secret half never leaves Rust and is
/// zeroized when the object goes.
#[pyclass(module = "plait._native", frozen)]
pub struct Sntrup761KeyPair {
    inner: KeyPair,
}

#[pymethods]
impl Sntrup761KeyPair {
    /// A fresh key pair from the OS random source.
    #[new]
    fn new(py: Python<'_>) -> Self {
        Sntrup761KeyPair {
            inner: py.detach(KeyPair::generate),
        }
    }

    /// A key pair from an encoded secret key (known-answer tests).
    #[staticmethod]
    fn from_secret_bytes(secret: &[u8]) -> PyResult<Self> {
        let inner = KeyPair::from_secret_bytes(secret).map_err(length_error)?;
        Ok(Sntrup761KeyPair { inner })
    }

    /// The encoded public key (1158 bytes).
    fn public_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.public_bytes())
    }

    /// The 32-byte shared secret for a 1039-byte ciphertext (implicit rejection: a forged
    /// ciphertext gives a pseudorandom secret, in constant time).
    fn decapsulate<'py>(
        &self,
        py: Python<'py>,
        ciphertext: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let secret = self.inner.decapsulate(ciphertext).map_err(length_error)?;
        Ok(PyBytes::new(py, &secret))
    }
}

/// Encapsulates to an encoded sntrup761 public key: ``(ciphertext, shared_secret)``.
#[pyfunction]
fn sntrup761_encapsulate<'py>(
    py: Python<'py>,
    public_key: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (ct, ss) = plait_ssh::sntrup761_encapsulate(public_key).map_err(length_error)?;
    Ok((PyBytes::new(py, &ct), PyBytes::new(py, &ss)))
}
