# cython: language_level=3
"""The item materialisation loop in C: rows to items of one class.

Why: loading is the whole cost of a large query.  Same algorithm as the pure-Python
loader in ``store._make_loader`` (which stays as the fallback): a dict copied from a
per-class template and filled from the row, converters only for attributes whose DB and
Python forms differ, and a dict of plain weakrefs as the identity map.
"""
from cpython.dict cimport PyDict_Copy, PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject
from cpython.weakref cimport PyWeakref_GetObject, PyWeakref_NewRef


cdef extern from "Python.h":
    int PyObject_GenericSetDict(object obj, object value, void *context) except -1


cdef class Loader:
    """``loader(rows) -> list of items`` for one class in one store."""

    def __init__(self, store, cls, tuple names, dict template, list converters, activate,
                 dict imap):
        self.store = store
        self.cls = cls
        self.names = names
        self.template = template
        self.converters = converters
        self.activate = activate
        self.imap = imap
        self.new = object.__new__

    def __call__(self, list rows):
        cdef list out = []
        cdef dict imap = self.imap
        cdef dict d
        cdef tuple names = self.names
        cdef Py_ssize_t width = len(names)
        cdef Py_ssize_t i
        cdef PyObject *found
        cdef PyObject *live
        cdef object row, oid, item, name, conv, value
        cdef bint has_converters = len(self.converters) > 0
        cdef object store = self.store
        for row in rows:
            oid = row[0]
            found = PyDict_GetItem(imap, oid)
            if found is not NULL:
                live = PyWeakref_GetObject(<object>found)
                if <object>live is not None:
                    out.append(<object>live)
                    continue
            d = PyDict_Copy(self.template)
            for i in range(width):
                PyDict_SetItem(d, names[i], row[i])
            if has_converters:
                for name, conv in self.converters:
                    value = d[name]
                    if value is not None:
                        d[name] = conv(store, value)
            item = self.new(self.cls)
            PyObject_GenericSetDict(item, d, NULL)
            PyDict_SetItem(imap, oid, PyWeakref_NewRef(item, None))
            if self.activate is not None:
                self.activate(item)
            out.append(item)
        return out
