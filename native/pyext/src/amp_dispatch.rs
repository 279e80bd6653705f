//! AMP's receive path in one native call: answers resolve their callers' futures and
//! commands with plain responders are answered, box by box, in wire order.
//!
//! `BoxDecoder.feed_amp` (in `juice.rs`) frames the boxes; [`dispatch`] then handles each
//! one on the common paths without building a dict, a tuple or a `bytes` per box:
//!
//! * `_answer` to a pending call whose command has a native response codec: the values
//!   are decoded from the wire, the entry leaves `pending` and the future gets the dict.
//! * `_command` with a responder in the [`ResponderTable`]: the arguments are decoded
//!   from the wire and passed in one call (positionally when the function's parameters are
//!   the arguments in order, else by keyword), and a dict result is encoded natively and
//!   appended to the outbox.
//!
//! Everything else (errors, unknown tags and commands, values the native codecs leave to
//! the Python ones, exceptions, results that are not plain dicts) goes, as a dict box or
//! as the responder's outcome, to the same Python methods of the protocol that handled it
//! before: `_box_received`, `_responder_failed`, `_responder_returned`.

use crate::juice::new_bytes;
use crate::schema::{dict_get, ArgumentSchema};
use plait_juice::WirePairs;
use pyo3::exceptions::PyException;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::HashMap;

/// Registers the class on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ResponderTable>()
}

/// One responder the native path may call.
struct Responder {
    command: Py<PyAny>,
    func: Py<PyAny>,
    arguments: Py<ArgumentSchema>,
    answer: Option<Py<ArgumentSchema>>,
    /// Whether the function takes the arguments positionally, in declaration order.
    positional: bool,
}

/// The responders of an AMP class that the native receive path calls itself: plain
/// (synchronous) functions of commands whose arguments have a native codec.
#[pyclass(module = "plait._native", frozen)]
pub(crate) struct ResponderTable {
    by_name: HashMap<Vec<u8>, Responder>,
}

#[pymethods]
impl ResponderTable {
    /// ``entries``: ``(command name, command, function, argument codec, answer codec or
    /// None, positional)``; the function is called as ``function(protocol, *values)`` when
    /// ``positional`` (its parameters are the arguments, in order), else as
    /// ``function(protocol, **arguments)``.
    #[new]
    #[allow(clippy::type_complexity)]
    fn new(
        entries: Vec<(
            Vec<u8>,
            Py<PyAny>,
            Py<PyAny>,
            Py<ArgumentSchema>,
            Option<Py<ArgumentSchema>>,
            bool,
        )>,
    ) -> Self {
        let by_name = entries
            .into_iter()
            .map(|(name, command, func, arguments, answer, positional)| {
                (
                    name,
                    Responder {
                        command,
                        func,
                        arguments,
                        answer,
                        positional,
                    },
                )
            })
            .collect();
        ResponderTable { by_name }
    }

    fn __len__(&self) -> usize {
        self.by_name.len()
    }

    fn __repr__(&self) -> String {
        let mut names: Vec<String> = self
            .by_name
            .keys()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect();
        names.sort();
        format!("<ResponderTable {}>", names.join(", "))
    }
}

/// The protocol's side of dispatch: the objects [`dispatch`] reads and the methods it
/// hands the uncommon cases to.
pub(crate) struct Target<'a, 'py> {
    pub(crate) protocol: &'a Bound<'py, PyAny>,
    pub(crate) pending: &'a Bound<'py, PyDict>,
    pub(crate) outbox: &'a Bound<'py, PyList>,
    pub(crate) table: Option<&'a Bound<'py, ResponderTable>>,
}

/// The AMP keys a box is sorted by (the last of a repeated key wins, as in a dict).
#[derive(Default)]
struct Head<'w> {
    answer: Option<&'w [u8]>,
    error: bool,
    command: Option<&'w [u8]>,
    ask: Option<&'w [u8]>,
}

impl<'w> Head<'w> {
    fn read(wire: &'w [u8]) -> Self {
        let mut head = Head::default();
        for (key, value) in WirePairs::new(wire) {
            match key {
                b"_answer" => head.answer = Some(value),
                b"_error" => head.error = true,
                b"_command" => head.command = Some(value),
                b"_ask" => head.ask = Some(value),
                _ => {}
            }
        }
        head
    }
}

/// Whether dispatch goes on to the next box.
enum Next {
    Continue,
    /// The protocol stopped receiving (it closed the connection).
    Stop,
}

/// Handles each box of `boxes` (wire bytes; `bounds` are their ranges) in order; returns
/// how many futures got a result.
pub(crate) fn dispatch(
    py: Python<'_>,
    target: &Target<'_, '_>,
    boxes: &[u8],
    bounds: &[(usize, usize)],
) -> PyResult<usize> {
    let mut resolved = 0;
    for &(start, end) in bounds {
        let Some(wire) = boxes.get(start..end) else {
            continue;
        };
        let head = Head::read(wire);
        let next = if let Some(tag) = head.answer {
            answer(py, target, wire, tag, &mut resolved)?
        } else if head.error {
            slow(py, target, wire)?
        } else if let Some(name) = head.command {
            command(py, target, wire, name, head.ask)?
        } else {
            slow(py, target, wire)?
        };
        if let Next::Stop = next {
            break;
        }
    }
    Ok(resolved)
}

/// A box as a new `dict[bytes, bytes]` (a later duplicate key wins).
fn box_dict<'py>(py: Python<'py>, wire: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in WirePairs::new(wire) {
        dict.set_item(new_bytes(py, key)?, new_bytes(py, value)?)?;
    }
    Ok(dict)
}

/// Whether the protocol still reads (Python code may have closed it).
fn receiving(target: &Target<'_, '_>) -> PyResult<Next> {
    let py = target.protocol.py();
    Ok(
        if target
            .protocol
            .getattr(intern!(py, "_receiving"))?
            .is_truthy()?
        {
            Next::Continue
        } else {
            Next::Stop
        },
    )
}

/// The Python path: `protocol._box_received(dict)`.
fn slow(py: Python<'_>, target: &Target<'_, '_>, wire: &[u8]) -> PyResult<Next> {
    target
        .protocol
        .call_method1(intern!(py, "_box_received"), (box_dict(py, wire)?,))?;
    receiving(target)
}

/// `asyncio.InvalidStateError`, what `set_result` raises on a cancelled future.
fn invalid_state_error(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    ERROR
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("asyncio")?.getattr("InvalidStateError")?.unbind())
        })
        .map(|error| error.bind(py))
}

/// An `_answer` box: the pending entry is `(future, command, native response codec or
/// None)`.
fn answer(
    py: Python<'_>,
    target: &Target<'_, '_>,
    wire: &[u8],
    tag: &[u8],
    resolved: &mut usize,
) -> PyResult<Next> {
    let tag = new_bytes(py, tag)?;
    let Some(entry) = dict_get(target.pending, &tag)? else {
        return slow(py, target, wire); // an unknown tag: the Python path reports it
    };
    let Ok(entry) = entry.cast_exact::<PyTuple>() else {
        return slow(py, target, wire);
    };
    let codec = entry.get_item(2)?;
    let Ok(codec) = codec.cast_exact::<ArgumentSchema>() else {
        return slow(py, target, wire); // the Python response codec
    };
    let Some(result) = codec.get().decode_wire(py, wire)? else {
        return slow(py, target, wire); // a value the Python codec decodes (or rejects)
    };
    target.pending.del_item(&tag)?;
    let future = entry.get_item(0)?;
    // future.set_result(result), without a bound method object.
    // SAFETY: all three are valid objects for the call and the argument list ends with
    // NULL; the result is a new reference or NULL with an exception set.
    let set = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_CallMethodObjArgs(
                future.as_ptr(),
                intern!(py, "set_result").as_ptr(),
                result.as_ptr(),
                std::ptr::null_mut::<ffi::PyObject>(),
            ),
        )
    };
    match set {
        Ok(_) => *resolved += 1,
        // The caller cancelled it.
        Err(err) if err.is_instance(py, invalid_state_error(py)?) => {}
        Err(err) => return Err(err),
    }
    Ok(Next::Continue)
}

/// A `_command` box.
fn command(
    py: Python<'_>,
    target: &Target<'_, '_>,
    wire: &[u8],
    name: &[u8],
    ask: Option<&[u8]>,
) -> PyResult<Next> {
    let Some(responder) = target.table.and_then(|t| t.get().by_name.get(name)) else {
        return slow(py, target, wire);
    };
    let arguments = responder.arguments.get();
    // The protocol, then the values (the positional call's arguments).
    let mut values = Vec::with_capacity(arguments.len() + 1);
    values.push(target.protocol.clone());
    if !arguments.decode_values_into(py, wire, &mut values)? {
        return slow(py, target, wire); // the Python codec decodes (or rejects) them
    }
    let func = responder.func.bind(py);
    let result = if responder.positional {
        func.call1(PyTuple::new(py, values)?)
    } else {
        let kwargs = PyDict::new(py);
        for (name, value) in arguments.names(py).iter().zip(values.into_iter().skip(1)) {
            kwargs.set_item(name, value)?;
        }
        func.call((target.protocol,), Some(&kwargs))
    };
    let ask_object = |py| match ask {
        Some(ask) => new_bytes(py, ask),
        None => Ok(py.None().into_bound(py)),
    };
    let command = responder.command.bind(py);
    match result {
        Err(err) if err.is_instance_of::<PyException>(py) => {
            target.protocol.call_method1(
                intern!(py, "_responder_failed"),
                (command, ask_object(py)?, err.value(py)),
            )?;
        }
        Err(err) => return Err(err), // KeyboardInterrupt, SystemExit...: not ours to answer
        Ok(result) => {
            let encoded = match (ask, &responder.answer, result.cast_exact::<PyDict>()) {
                (Some(ask), Some(codec), Ok(values)) => codec.get().encode_bytes(py, values, ask)?,
                _ => None,
            };
            match encoded {
                Some(encoded) => {
                    target.outbox.append(encoded)?;
                }
                // Awaitables, results that are not plain dicts or need the Python codec,
                // and commands without _ask.
                None => {
                    target.protocol.call_method1(
                        intern!(py, "_responder_returned"),
                        (command, ask_object(py)?, result),
                    )?;
                }
            }
        }
    }
    receiving(target)
}
