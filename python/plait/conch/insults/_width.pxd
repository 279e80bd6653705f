from libc.stdint cimport uint32_t


cdef int table_width(uint32_t cp) noexcept


cdef inline int cp_width(uint32_t cp) noexcept:
    """Cells a code point takes (0, 1 or 2): below U+0300 without a call into the tables."""
    if cp < 0x300:
        return 1
    return table_width(cp)
