# cython: language_level=3
"""The item materialisation loop in C: rows to items of one class.

Why: loading is the whole cost of a large query.  Same algorithm as the pure-Python
loader in ``store._make_loader`` (which stays as the fallback): a dict copied from a
per-class template and filled from the row, converters only for attributes whose DB and
Python forms differ, and a dict of plain weakrefs as the identity map.

What made it fast (100k items, CPU time): most of the cost was the cyclic GC, not the
loop -- each item allocates three GC-tracked objects (item, dict, weakref) and CPython
runs young and full collections over the growing heap every few hundred of them.  So:
the collector is paused for the fetch and the loop (restored after, also on error, and
left alone when the caller had it disabled), so the young objects get one pass after
the load instead of a collection every few hundred allocations (and the full collections
those trigger) -- other threads running meanwhile (SQLite releases the GIL) see it paused
too, which only delays collecting their cyclic garbage to that pass;
the weakrefs (no callback, nothing to traverse) are untracked, so no collection walks
them (clearing on the referent's death does not depend on tracking); the template
already holds every key, so each copy has its final size and the fill never resizes;
tuple rows are read without bounds-checked indexing; and a ``boolean`` whose
``from_db``/``load_value`` are not overridden is converted in C rather than by two
Python calls.
"""
from cpython.dict cimport PyDict_Copy, PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.weakref cimport PyWeakref_GetObject, PyWeakref_NewRef


cdef extern from "Python.h":
    int PyObject_GenericSetDict(object obj, object value, void *context) except -1
    void PyObject_GC_UnTrack(object op)
    int PyGC_Enable()
    int PyGC_Disable()
    int PyObject_IsTrue(object o) except -1

cdef enum:
    CONV_CALL = 0      # load_value(store, value)
    CONV_FROM_DB = 1   # from_db(value): load_value not overridden, None already skipped
    CONV_BOOL = 2      # boolean.from_db unchanged: bool(value), in C


cdef int _converter_kind(object conv):
    from .attributes import Attribute, boolean
    attr = getattr(conv, "__self__", None)
    if not isinstance(attr, Attribute) or getattr(conv, "__func__", None) is not \
            Attribute.load_value or type(attr).load_value is not Attribute.load_value:
        return CONV_CALL
    if isinstance(attr, boolean) and type(attr).from_db is boolean.from_db:
        return CONV_BOOL
    return CONV_FROM_DB


cdef class Loader:
    """``loader(rows) -> list of items`` for one class in one store."""

    def __init__(self, store, cls, tuple names, dict template, list converters, activate,
                 dict imap):
        self.store = store
        self.cls = cls
        self.names = names
        self.template = dict(template)
        for name in names:  # every key present: copies are born at their final size
            if name not in self.template:
                self.template[name] = None
        self.conv_names = tuple([name for name, _ in converters])
        self.conv_funcs = []
        self.conv_kinds = []
        for name, conv in converters:
            kind = _converter_kind(conv)
            self.conv_kinds.append(kind)
            self.conv_funcs.append(conv.__self__.from_db if kind == CONV_FROM_DB else conv)
        self.activate = activate
        self.imap = imap
        self.new = object.__new__

    def __call__(self, rows):
        """``rows``: a list of row tuples, or a cursor (fetched here, with the GC paused)."""
        cdef bint paused = PyGC_Disable()
        try:
            if type(rows) is not list:
                rows = rows.fetchall() if hasattr(rows, "fetchall") else list(rows)
            return self._load(rows)
        finally:
            if paused:
                PyGC_Enable()

    cdef list _load(self, list rows):
        cdef list out = []
        cdef dict imap = self.imap
        cdef dict template = self.template
        cdef dict d
        cdef tuple names = self.names
        cdef tuple conv_names = self.conv_names
        cdef list conv_funcs = self.conv_funcs
        cdef list conv_kinds = self.conv_kinds
        cdef Py_ssize_t width = len(names)
        cdef Py_ssize_t n_conv = len(conv_names)
        cdef Py_ssize_t i
        cdef int kind
        cdef PyObject *found
        cdef PyObject *live
        cdef object row, oid, item, name, value, wr
        cdef object store = self.store
        cdef object cls = self.cls
        cdef object new = self.new
        cdef object activate = self.activate
        for row in rows:
            oid = row[0]
            found = PyDict_GetItem(imap, oid)
            if found is not NULL:
                live = PyWeakref_GetObject(<object>found)
                if <object>live is not None:
                    out.append(<object>live)
                    continue
            d = PyDict_Copy(template)
            if type(row) is tuple and PyTuple_GET_SIZE(row) >= width:
                for i in range(width):
                    PyDict_SetItem(d, <object>PyTuple_GET_ITEM(names, i),
                                   <object>PyTuple_GET_ITEM(row, i))
            else:
                for i in range(width):
                    PyDict_SetItem(d, <object>PyTuple_GET_ITEM(names, i), row[i])
            for i in range(n_conv):
                name = <object>PyTuple_GET_ITEM(conv_names, i)
                value = d[name]
                if value is not None:
                    kind = conv_kinds[i]
                    if kind == CONV_BOOL:
                        d[name] = True if PyObject_IsTrue(value) else False
                    elif kind == CONV_FROM_DB:
                        d[name] = conv_funcs[i](value)
                    else:
                        d[name] = conv_funcs[i](store, value)
            item = new(cls)
            PyObject_GenericSetDict(item, d, NULL)
            wr = PyWeakref_NewRef(item, None)
            PyObject_GC_UnTrack(wr)  # no callback: nothing for a collection to traverse
            PyDict_SetItem(imap, oid, wr)
            if activate is not None:
                activate(item)
            out.append(item)
        return out
