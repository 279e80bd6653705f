//! AMP box framing: `JuiceError`, `BoxDecoder`, `encode_box`, `encode_boxes`.

use crate::amp_dispatch::{dispatch, ResponderTable, Target};
use plait_juice::{encode_pair, end_box, BoxRef, Decoder, Limits};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

pyo3::create_exception!(
    plait._native,
    JuiceError,
    PyValueError,
    "An AMP framing violation; the message says what and where.\n\n\
     When raised by ``BoxDecoder.feed``, ``boxes`` holds the boxes completed in that same\n\
     chunk before the violation."
);

/// Registers the AMP names on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let error_type = py.get_type::<JuiceError>();
    error_type.setattr("boxes", PyList::empty(py))?;
    m.add("JuiceError", error_type)?;
    m.add_class::<BoxDecoder>()?;
    m.add_function(wrap_pyfunction!(encode_box, m)?)?;
    m.add_function(wrap_pyfunction!(encode_boxes, m)?)?;
    Ok(())
}

/// A JuiceError with `message`, whose `boxes` attribute is `boxes` (or a fresh empty list),
/// so no instance shares the class attribute's list.
fn juice_error(py: Python<'_>, message: String, boxes: Option<Bound<'_, PyList>>) -> PyErr {
    let err = JuiceError::new_err(message);
    let boxes = boxes.unwrap_or_else(|| PyList::empty(py));
    match err.value(py).setattr("boxes", boxes) {
        Ok(()) => err,
        Err(setattr_failed) => setattr_failed,
    }
}

/// A new `bytes` object holding `data`.
#[inline]
pub(crate) fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // A slice never exceeds isize::MAX bytes, so the length cast is lossless.
    // SAFETY: the pointer and length describe `data`, which outlives the call; the result is
    // a new reference or NULL with an exception set, which `from_owned_ptr_or_err` handles.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t),
        )
    }
}

/// Slots in a decoder's key cache (a power of two).
const KEY_CACHE_SLOTS: usize = 64;
/// Keys longer than this are not cached.
const KEY_CACHE_MAX_LEN: usize = 32;

/// A small direct-mapped cache of key `bytes` objects.
///
/// AMP boxes repeat the same few keys (`_command`, `_ask`, argument names); reusing one
/// `bytes` object per key saves an allocation and, since `bytes` caches its hash, the
/// hashing in every dict insertion.
struct KeyCache {
    slots: Vec<Option<Py<PyBytes>>>,
}

impl KeyCache {
    fn new() -> Self {
        KeyCache {
            slots: (0..KEY_CACHE_SLOTS).map(|_| None).collect(),
        }
    }

    #[inline]
    fn get<'py>(&mut self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        if key.len() > KEY_CACHE_MAX_LEN {
            return new_bytes(py, key);
        }
        // A cheap slot index from the length and the first and last bytes; a collision only
        // costs a fresh `bytes` object.
        let (first, last) = match (key.first(), key.last()) {
            (Some(&first), Some(&last)) => (usize::from(first), usize::from(last)),
            _ => (0, 0),
        };
        let index = (key.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last.wrapping_mul(131))
            & (KEY_CACHE_SLOTS - 1);
        let Some(slot) = self.slots.get_mut(index) else {
            return new_bytes(py, key);
        };
        if let Some(cached) = slot {
            if cached.as_bytes(py) == key {
                return Ok(cached.bind(py).clone().into_any());
            }
        }
        let fresh = new_bytes(py, key)?;
        *slot = Some(fresh.clone().cast_into::<PyBytes>()?.unbind());
        Ok(fresh)
    }
}

/// One decoded box as a new `dict[bytes, bytes]`.
#[inline]
fn box_to_dict<'py>(
    py: Python<'py>,
    keys: &mut KeyCache,
    decoded: BoxRef<'_>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in decoded {
        let key = keys.get(py, key)?;
        let value = new_bytes(py, value)?;
        // SAFETY: all three are valid objects held by `Bound`s; PyDict_SetItem does not steal.
        if unsafe { ffi::PyDict_SetItem(dict.as_ptr(), key.as_ptr(), value.as_ptr()) } < 0 {
            return Err(PyErr::fetch(py));
        }
    }
    Ok(dict)
}

/// Releases a buffer view on drop (the view stays where `PyObject_GetBuffer` filled it).
struct ReleaseView<'v>(&'v mut ffi::Py_buffer);

impl Drop for ReleaseView<'_> {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released once;
        // the GIL is held by the caller of `with_bytes`.
        unsafe { ffi::PyBuffer_Release(self.0) };
    }
}

/// Calls `f` with the bytes fed to a decoder: a `bytes` directly; any other object exporting
/// a contiguous buffer (bytearray, memoryview, mmap, array...) read in place, as
/// `bytes(data)` would read it, through a view held on the stack for the call.
fn with_bytes<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    let mut slot = std::mem::MaybeUninit::<ffi::Py_buffer>::uninit();
    // SAFETY: `data` is a valid object and `slot` is writable memory for one Py_buffer;
    // PyBUF_SIMPLE asks for contiguous, unformatted bytes, and the exporter raises
    // (BufferError/TypeError) rather than hand out anything else.
    if unsafe { ffi::PyObject_GetBuffer(data.as_ptr(), slot.as_mut_ptr(), ffi::PyBUF_SIMPLE) } != 0
    {
        return Err(PyErr::fetch(data.py()));
    }
    // SAFETY: PyObject_GetBuffer succeeded, so it filled in the whole struct.
    let view = ReleaseView(unsafe { slot.assume_init_mut() });
    let len = usize::try_from(view.0.len).unwrap_or(0);
    let slice = if view.0.buf.is_null() || len == 0 {
        &[][..]
    } else {
        // SAFETY: a PyBUF_SIMPLE view is `len` contiguous initialised bytes at `buf`, valid
        // (and, for bytearray, unresizable) until the view is released when `view` drops,
        // after `f` returns. While the slice is alive only our own code runs; the one way
        // Python code could write to a mutable buffer meanwhile is a finalizer run by a
        // garbage collection during an allocation, and then the decoder merely sees other
        // bytes: every access it makes is bounds-checked against lengths it has recorded.
        unsafe { std::slice::from_raw_parts(view.0.buf.cast::<u8>().cast_const(), len) }
    };
    let result = f(slice);
    drop(view);
    Ok(result)
}

/// An incremental AMP box decoder: feed it bytes in any chunking, get complete boxes.
#[pyclass(module = "plait._native")]
pub(crate) struct BoxDecoder {
    decoder: Decoder,
    keys: KeyCache,
    /// Set when building the Python result failed mid-feed (boxes were lost), which leaves the
    /// decoder unusable just like a framing violation does.
    broken: Option<String>,
    /// `feed_amp`'s copies of the boxes one feed completes, and their ranges (kept for reuse).
    scratch: Vec<u8>,
    bounds: Vec<(usize, usize)>,
}

/// Capacity above which `feed_amp`'s scratch buffer is freed rather than kept.
const KEEP_SCRATCH: usize = 64 * 1024;

/// Why [`BoxDecoder::feed_each`] stopped early.
enum FeedStop<'py> {
    /// Turning a box into a Python object failed; the decoder is now unusable.
    Convert(PyErr),
    /// The stream broke AMP framing; the entries completed before the violation.
    Framing(String, Bound<'py, PyList>),
}

impl BoxDecoder {
    /// Raises the JuiceError of a decoder left unusable by a failed conversion.
    fn check_usable(&self, py: Python<'_>) -> PyResult<()> {
        match &self.broken {
            Some(reason) => {
                let message = format!("decoder is unusable after an earlier error: {reason}");
                Err(juice_error(py, message, None))
            }
            None => Ok(()),
        }
    }

    /// Decodes `data`, turning each completed box into a Python object with `convert`.
    fn feed_each<'py, T, F>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        mut convert: F,
    ) -> PyResult<Result<Bound<'py, PyList>, FeedStop<'py>>>
    where
        T: IntoPyObject<'py>,
        F: FnMut(Python<'py>, &mut KeyCache, BoxRef<'_>) -> PyResult<T>,
    {
        self.check_usable(py)?;
        let entries = PyList::empty(py);
        let mut failure: Option<PyErr> = None;
        let keys = &mut self.keys;
        let decoder = &mut self.decoder;
        let result = with_bytes(data, |slice| {
            decoder.feed_with(slice, |decoded| {
                if failure.is_some() {
                    return;
                }
                if let Err(err) = convert(py, keys, decoded).and_then(|e| entries.append(e)) {
                    failure = Some(err);
                }
            })
        })?;
        if let Some(err) = failure {
            self.broken = Some(err.to_string());
            return Ok(Err(FeedStop::Convert(err)));
        }
        Ok(match result {
            Ok(()) => Ok(entries),
            Err(violation) => Err(FeedStop::Framing(violation.to_string(), entries)),
        })
    }
}

/// Converts a limit argument, rejecting negatives with ValueError.
fn limit(name: &str, value: i64) -> PyResult<usize> {
    usize::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("{name} must be >= 0, not {value}")))
}

#[pymethods]
impl BoxDecoder {
    #[new]
    // Literal defaults so that __text_signature__ (and stubtest) shows them; the test in
    // tests/vertex/test_native_juice.py checks they match Limits::default().
    #[pyo3(signature = (max_box_size = 4194304, max_keys = 1024))]
    fn new(max_box_size: i64, max_keys: i64) -> PyResult<Self> {
        let limits = Limits {
            max_box_size: limit("max_box_size", max_box_size)?,
            max_keys: limit("max_keys", max_keys)?,
        };
        Ok(BoxDecoder {
            decoder: Decoder::new(limits),
            keys: KeyCache::new(),
            broken: None,
            scratch: Vec::new(),
            bounds: Vec::new(),
        })
    }

    /// Feeds bytes; returns the boxes they complete, in order, as ``dict[bytes, bytes]``.
    ///
    /// Raises JuiceError on a framing violation, and again on every later call.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        match self.feed_each(py, data, box_to_dict)? {
            Ok(boxes) => Ok(boxes),
            Err(FeedStop::Convert(err)) => Err(err),
            Err(FeedStop::Framing(violation, boxes)) => {
                Err(juice_error(py, violation, Some(boxes)))
            }
        }
    }

    /// Feeds bytes to an AMP connection: ``protocol``, with its ``pending`` calls, its
    /// ``outbox`` and its ``table`` of native responders (or None).
    ///
    /// The boxes completed are handled in order (see ``amp_dispatch.rs``): answers resolve
    /// their futures, commands in the table are answered into ``outbox``, and everything
    /// else goes to ``protocol._box_received`` as a dict. Returns how many futures got a
    /// result. Stops early when ``protocol._receiving`` turns false. A framing violation
    /// raises JuiceError after the boxes before it were handled, and on every later call.
    #[pyo3(signature = (data, protocol, pending, outbox, table))]
    fn feed_amp<'py>(
        slf: &Bound<'py, Self>,
        data: &Bound<'py, PyAny>,
        protocol: &Bound<'py, PyAny>,
        pending: &Bound<'py, PyDict>,
        outbox: &Bound<'py, PyList>,
        table: Option<&Bound<'py, ResponderTable>>,
    ) -> PyResult<usize> {
        let py = slf.py();
        // Framing first, with the decoder borrowed; the boxes are copied out so that the
        // Python code dispatch runs (responders) finds the decoder free.
        let (scratch, bounds, violation) = {
            let mut this = slf.try_borrow_mut()?;
            this.check_usable(py)?;
            let mut scratch = std::mem::take(&mut this.scratch);
            let mut bounds = std::mem::take(&mut this.bounds);
            scratch.clear();
            bounds.clear();
            let decoder = &mut this.decoder;
            let result = with_bytes(data, |slice| {
                decoder.feed_with(slice, |decoded| {
                    let start = scratch.len();
                    scratch.extend_from_slice(decoded.wire_bytes());
                    bounds.push((start, scratch.len()));
                })
            })?;
            (scratch, bounds, result.err())
        };
        let target = Target {
            protocol,
            pending,
            outbox,
            table,
        };
        let resolved = dispatch(py, &target, &scratch, &bounds);
        if let Ok(mut this) = slf.try_borrow_mut() {
            if scratch.capacity() <= KEEP_SCRATCH {
                this.scratch = scratch;
            }
            this.bounds = bounds;
        }
        let resolved = resolved?;
        match violation {
            Some(violation) => Err(juice_error(py, violation.to_string(), None)),
            None => Ok(resolved),
        }
    }

    /// Bytes held of an incomplete box.
    #[getter]
    fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    fn __repr__(&self) -> String {
        let limits = self.decoder.limits();
        format!(
            "<BoxDecoder max_box_size={} max_keys={} buffered={}{}>",
            limits.max_box_size,
            limits.max_keys,
            self.decoder.buffered(),
            if self.decoder.error().is_some() || self.broken.is_some() {
                " failed"
            } else {
                ""
            }
        )
    }
}

/// The bytes a key or value stands for: a `bytes` as is, a `str` as UTF-8.
#[inline]
fn wire_bytes<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        Ok(bytes.as_bytes())
    } else if let Ok(text) = obj.cast::<PyString>() {
        Ok(text.to_str()?.as_bytes())
    } else {
        Err(PyTypeError::new_err(format!(
            "AMP box {what}s must be bytes or str, not {}",
            obj.get_type().name()?
        )))
    }
}

#[inline]
fn encode_pair_into(
    out: &mut Vec<u8>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = key.py();
    let key = wire_bytes(key, "key")?;
    let value = wire_bytes(value, "value")?;
    encode_pair(out, key, value).map_err(|err| juice_error(py, err.to_string(), None))
}

/// Appends one Python mapping as a box to `out`; on error `out` is left as it was.
fn encode_mapping_into(out: &mut Vec<u8>, mapping: &Bound<'_, PyAny>) -> PyResult<()> {
    let start = out.len();
    let result = (|| {
        if let Ok(dict) = mapping.cast::<PyDict>() {
            for (key, value) in dict.iter() {
                encode_pair_into(out, &key, &value)?;
            }
        } else {
            let items = mapping.call_method0("items").map_err(|err| {
                if err.is_instance_of::<PyAttributeError>(mapping.py()) {
                    PyTypeError::new_err(format!(
                        "an AMP box must be a mapping, not {}",
                        mapping
                            .get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                } else {
                    err
                }
            })?;
            for item in items.try_iter()? {
                let item = item?;
                let pair = item.cast::<PyTuple>().map_err(|_| {
                    PyTypeError::new_err("mapping items() must yield (key, value) tuples")
                })?;
                if pair.len() != 2 {
                    return Err(PyTypeError::new_err(
                        "mapping items() must yield (key, value) tuples",
                    ));
                }
                encode_pair_into(out, &pair.get_item(0)?, &pair.get_item(1)?)?;
            }
        }
        end_box(out);
        Ok(())
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Encodes one box (a mapping of bytes or str to bytes or str; str as UTF-8).
#[pyfunction]
fn encode_box<'py>(py: Python<'py>, r#box: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(256);
    encode_mapping_into(&mut out, r#box)?;
    Ok(PyBytes::new(py, &out))
}

/// Encodes boxes one after another into one bytes object.
#[pyfunction]
fn encode_boxes<'py>(py: Python<'py>, boxes: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(1024);
    for mapping in boxes.try_iter()? {
        encode_mapping_into(&mut out, &mapping?)?;
    }
    Ok(PyBytes::new(py, &out))
}
