//! `ArgumentSchema`: a command's simple-typed arguments, encoded and decoded natively.
//!
//! Every value it cannot handle exactly as the Python codec would (a subclass, a bool for
//! an Integer, a value over 65,535 bytes, a missing or extra name, a malformed peer value)
//! sends the caller back to the Python codec: `encode` returns None, and `decode` calls
//! the Python decoder it was built with, so errors and their messages stay the same.

use crate::juice::new_bytes;
use plait_juice::{
    bool_bytes, encode_pair, end_box, int_text, last_value, parse_bool, parse_int, ArgKind, Field,
    Schema, INT_TEXT_LEN,
};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use std::os::raw::c_char;

/// Registers the class on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ArgumentSchema>()
}

thread_local! {
    /// The encode buffer.
    static OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The outcome of one native step: done, or "use the Python codec".
enum Step<T> {
    Done(T),
    Fallback,
}

/// The compiled argument list of one command direction (a call's arguments, or a response).
#[pyclass(module = "plait._native", frozen)]
pub(crate) struct ArgumentSchema {
    schema: Schema,
    /// Each field's wire key, as the `bytes` object the box decoder's dicts use.
    keys: Vec<Py<PyBytes>>,
    /// Each field's Python keyword, interned.
    names: Vec<Py<PyString>>,
    /// The same keywords as a tuple, for the AMP dispatcher.
    kwnames: Py<PyTuple>,
    /// Field indexes: the required ones, then the optional ones (the box order).
    order: Vec<usize>,
    strict: bool,
    fallback: Py<PyAny>,
}

/// `dict.get(key)` without raising for a missing key.
#[inline]
pub(crate) fn dict_get<'py>(
    dict: &Bound<'py, PyDict>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = dict.py();
    // SAFETY: both are valid objects; the result is a borrowed reference (or NULL, with an
    // exception set only on error), turned into an owned one at once.
    unsafe {
        let item = ffi::PyDict_GetItemWithError(dict.as_ptr(), key.as_ptr());
        if item.is_null() {
            if ffi::PyErr_Occurred().is_null() {
                Ok(None)
            } else {
                Err(PyErr::fetch(py))
            }
        } else {
            Ok(Some(Bound::from_borrowed_ptr(py, item)))
        }
    }
}

/// A float's `repr` (what `float.__repr__` writes), in a PyMem buffer freed on drop.
struct FloatRepr(*mut c_char);

impl FloatRepr {
    fn new(py: Python<'_>, value: f64) -> PyResult<Self> {
        // SAFETY: returns a NUL-terminated PyMem buffer, or NULL with an exception set.
        let text = unsafe {
            ffi::PyOS_double_to_string(
                value,
                b'r' as c_char,
                0,
                ffi::Py_DTSF_ADD_DOT_0,
                std::ptr::null_mut(),
            )
        };
        if text.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(FloatRepr(text))
    }

    fn as_bytes(&self) -> &[u8] {
        // SAFETY: a valid NUL-terminated string until drop.
        unsafe { std::ffi::CStr::from_ptr(self.0) }.to_bytes()
    }
}

impl Drop for FloatRepr {
    fn drop(&mut self) {
        // SAFETY: allocated by PyOS_double_to_string, freed once.
        unsafe { ffi::PyMem_Free(self.0.cast()) };
    }
}

/// Appends one value's wire form, or says the Python codec must do it.
fn encode_value(
    out: &mut Vec<u8>,
    key: &[u8],
    kind: ArgKind,
    value: &Bound<'_, PyAny>,
) -> PyResult<Step<()>> {
    let py = value.py();
    let ptr = value.as_ptr();
    let mut digits = [0u8; INT_TEXT_LEN];
    let big: Bound<'_, PyAny>;
    let float: FloatRepr;
    // SAFETY (each arm): `ptr` is a valid object of the exact type just checked.
    let data: &[u8] = unsafe {
        match kind {
            ArgKind::Integer if ffi::PyLong_CheckExact(ptr) != 0 => {
                let mut overflow = 0;
                let n = ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
                if overflow != 0 {
                    // str() of an exact int is its decimal text, as b"%d" writes it.
                    // (Over the int_max_str_digits limit, the Python codec raises.)
                    let Ok(text) = Bound::from_owned_ptr_or_err(py, ffi::PyObject_Str(ptr)) else {
                        return Ok(Step::Fallback);
                    };
                    big = text;
                    big.cast::<PyString>()?.to_str()?.as_bytes()
                } else if n == -1 && !ffi::PyErr_Occurred().is_null() {
                    return Err(PyErr::fetch(py));
                } else {
                    int_text(n, &mut digits)
                }
            }
            ArgKind::String if ffi::PyBytes_CheckExact(ptr) != 0 => {
                value.cast_unchecked::<PyBytes>().as_bytes()
            }
            ArgKind::Unicode if ffi::PyUnicode_CheckExact(ptr) != 0 => {
                let mut size: ffi::Py_ssize_t = 0;
                let text = ffi::PyUnicode_AsUTF8AndSize(ptr, &mut size);
                if text.is_null() {
                    // Surrogates: let str.encode raise its own error.
                    ffi::PyErr_Clear();
                    return Ok(Step::Fallback);
                }
                let len = usize::try_from(size).unwrap_or(0);
                std::slice::from_raw_parts(text.cast::<u8>(), len)
            }
            ArgKind::Boolean if ptr == ffi::Py_True() || ptr == ffi::Py_False() => {
                bool_bytes(ptr == ffi::Py_True())
            }
            ArgKind::Float if ffi::PyFloat_CheckExact(ptr) != 0 => {
                float = FloatRepr::new(py, ffi::PyFloat_AsDouble(ptr))?;
                float.as_bytes()
            }
            _ => return Ok(Step::Fallback),
        }
    };
    Ok(match encode_pair(out, key, data) {
        Ok(()) => Step::Done(()),
        Err(_) => Step::Fallback, // too long: the Python path reports TooLong
    })
}

/// One wire value as its Python value, or None when the Python decoder must do it.
///
/// `raw` is the value's `bytes` object when there is one (from a dict box), else it is made
/// when needed.
fn decode_value<'py>(
    py: Python<'py>,
    kind: ArgKind,
    data: &[u8],
    raw: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let bytes_object = || match raw {
        Some(raw) => Ok(raw.clone()),
        None => new_bytes(py, data),
    };
    // SAFETY: the calls below get valid pointers and return new references or NULL with an
    // exception set, which `from_owned_ptr_or_err` turns into an error.
    let value = unsafe {
        match kind {
            ArgKind::Integer => match parse_int(data) {
                Some(n) => Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromLongLong(n))?,
                None => return Ok(None),
            },
            ArgKind::String => bytes_object()?,
            ArgKind::Unicode => {
                let text = ffi::PyUnicode_DecodeUTF8(
                    data.as_ptr().cast(),
                    data.len() as ffi::Py_ssize_t,
                    c"strict".as_ptr(),
                );
                if text.is_null() {
                    ffi::PyErr_Clear();
                    return Ok(None);
                }
                Bound::from_owned_ptr(py, text)
            }
            ArgKind::Boolean => match parse_bool(data) {
                Some(b) => pyo3::types::PyBool::new(py, b).to_owned().into_any(),
                None => return Ok(None),
            },
            ArgKind::Float => {
                let number = ffi::PyNumber_Float(bytes_object()?.as_ptr());
                if number.is_null() {
                    ffi::PyErr_Clear();
                    return Ok(None);
                }
                Bound::from_owned_ptr(py, number)
            }
        }
    };
    Ok(Some(value))
}

impl ArgumentSchema {
    fn encode_into(
        &self,
        out: &mut Vec<u8>,
        values: &Bound<'_, PyDict>,
        tag: &[u8],
    ) -> PyResult<Step<()>> {
        let py = values.py();
        if self.schema.begin_box(out, tag).is_err() {
            return Ok(Step::Fallback);
        }
        let fields = self.schema.fields();
        let mut present = 0usize;
        for &i in &self.order {
            let (Some(field), Some(name)) = (fields.get(i), self.names.get(i)) else {
                return Ok(Step::Fallback);
            };
            let value = dict_get(values, name.bind(py).as_any())?;
            let value = match value {
                Some(v) => {
                    present += 1;
                    if field.optional && v.is_none() {
                        continue;
                    }
                    v
                }
                None if field.optional => continue,
                None => return Ok(Step::Fallback),
            };
            if let Step::Fallback = encode_value(out, &field.key, field.kind, &value)? {
                return Ok(Step::Fallback);
            }
        }
        if self.strict && present != values.len() {
            return Ok(Step::Fallback); // unexpected names
        }
        end_box(out);
        Ok(Step::Done(()))
    }

    fn decode_fast<'py>(&self, r#box: &Bound<'py, PyDict>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let py = r#box.py();
        let result = PyDict::new(py);
        for ((field, key), name) in self.schema.fields().iter().zip(&self.keys).zip(&self.names) {
            let value = match dict_get(r#box, key.bind(py).as_any())? {
                Some(raw) => {
                    let Ok(bytes) = raw.cast::<PyBytes>() else {
                        return Ok(None);
                    };
                    match decode_value(py, field.kind, bytes.as_bytes(), Some(&raw))? {
                        Some(value) => value,
                        None => return Ok(None),
                    }
                }
                None if field.optional => py.None().into_bound(py),
                None => return Ok(None),
            };
            result.set_item(name.bind(py), value)?;
        }
        Ok(Some(result))
    }
}

/// What the AMP dispatcher (`crate::amp_dispatch`) uses.
impl ArgumentSchema {
    /// Decodes a box's wire bytes into a dict of the values, or None when the Python
    /// decoder must do it.
    pub(crate) fn decode_wire<'py>(
        &self,
        py: Python<'py>,
        wire: &[u8],
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let result = PyDict::new(py);
        for (field, name) in self.schema.fields().iter().zip(&self.names) {
            let value = match last_value(wire, &field.key) {
                Some(data) => match decode_value(py, field.kind, data, None)? {
                    Some(value) => value,
                    None => return Ok(None),
                },
                None if field.optional => py.None().into_bound(py),
                None => return Ok(None),
            };
            result.set_item(name.bind(py), value)?;
        }
        Ok(Some(result))
    }

    /// Appends a box's values to `values` in declaration order (None for an absent optional
    /// one); false when the Python decoder must do it.
    pub(crate) fn decode_values_into<'py>(
        &self,
        py: Python<'py>,
        wire: &[u8],
        values: &mut Vec<Bound<'py, PyAny>>,
    ) -> PyResult<bool> {
        for field in self.schema.fields() {
            values.push(match last_value(wire, &field.key) {
                Some(data) => match decode_value(py, field.kind, data, None)? {
                    Some(value) => value,
                    None => return Ok(false),
                },
                None if field.optional => py.None().into_bound(py),
                None => return Ok(false),
            });
        }
        Ok(true)
    }

    /// How many values a box carries.
    pub(crate) fn len(&self) -> usize {
        self.schema.fields().len()
    }

    /// The keywords of [`ArgumentSchema::decode_values_into`]'s values, in their order.
    pub(crate) fn names<'py>(&self, py: Python<'py>) -> &Bound<'py, PyTuple> {
        self.kwnames.bind(py)
    }

    /// One box's wire bytes as a new `bytes`, or None when the Python codec must do it.
    pub(crate) fn encode_bytes<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyDict>,
        tag: &[u8],
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let encode = |out: &mut Vec<u8>| match self.encode_into(out, values, tag)? {
            Step::Done(()) => Ok(Some(new_bytes(py, out)?)),
            Step::Fallback => Ok(None),
        };
        // One buffer per thread, reused; a nested call (a dict key's __eq__ calling back in)
        // gets its own.
        OUT.with(|cell| match cell.try_borrow_mut() {
            Ok(mut out) => {
                out.clear();
                let result = encode(&mut out);
                if out.capacity() > 1 << 16 {
                    *out = Vec::new(); // do not keep a big value's buffer around
                }
                result
            }
            Err(_) => encode(&mut Vec::new()),
        })
    }
}

#[pymethods]
impl ArgumentSchema {
    #[new]
    #[pyo3(signature = (fields, head, tag_key, strict, fallback))]
    fn new(
        py: Python<'_>,
        fields: Vec<(Vec<u8>, String, String, bool)>,
        head: Vec<(Vec<u8>, Vec<u8>)>,
        tag_key: Option<Vec<u8>>,
        strict: bool,
        fallback: Py<PyAny>,
    ) -> PyResult<Self> {
        let mut specs = Vec::with_capacity(fields.len());
        let mut keys = Vec::with_capacity(fields.len());
        let mut names: Vec<Py<PyString>> = Vec::with_capacity(fields.len());
        for (key, name, kind, optional) in fields {
            let kind = ArgKind::from_name(&kind)
                .ok_or_else(|| PyValueError::new_err(format!("not a simple AMP type: {kind}")))?;
            if names
                .iter()
                .any(|n| n.bind(py).to_str().ok() == Some(name.as_str()))
            {
                return Err(PyValueError::new_err(format!(
                    "Python name {name} declared twice"
                )));
            }
            keys.push(PyBytes::new(py, &key).unbind());
            names.push(PyString::intern(py, &name).unbind());
            specs.push(Field {
                key,
                kind,
                optional,
            });
        }
        let head: Vec<(&[u8], &[u8])> = head
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let schema = Schema::new(specs, &head, tag_key.as_deref())
            .map_err(|err| PyValueError::new_err(err.to_string()))?;
        let fields = schema.fields();
        let order = (0..fields.len())
            .filter(|&i| !fields[i].optional)
            .chain((0..fields.len()).filter(|&i| fields[i].optional))
            .collect();
        let kwnames = PyTuple::new(py, &names)?.unbind();
        Ok(ArgumentSchema {
            schema,
            keys,
            names,
            kwnames,
            order,
            strict,
            fallback,
        })
    }

    /// Encodes one box (head, tag, values) to wire bytes, or returns None when the Python
    /// codec must do it (it then raises or builds the box as it always has).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        tag: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (Ok(values), Ok(tag)) = (values.cast_exact::<PyDict>(), tag.cast_exact::<PyBytes>())
        else {
            return Ok(None);
        };
        self.encode_bytes(py, values, tag.as_bytes())
    }

    /// Decodes a box (a dict) into the keyword arguments, as the Python decoder would
    /// (which it calls for anything it does not handle, so errors are the Python codec's).
    fn decode<'py>(
        &self,
        py: Python<'py>,
        r#box: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(dict) = r#box.cast_exact::<PyDict>() {
            if let Some(result) = self.decode_fast(dict)? {
                return Ok(result.into_any());
            }
        }
        self.fallback.bind(py).call1((r#box,))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let names: Vec<String> = self.names.iter().map(|n| n.bind(py).to_string()).collect();
        format!("<ArgumentSchema {}>", names.join(", "))
    }
}
