"""Writing a file so that readers see the old contents or the new, never half of either.

Why one helper: keys, certificates, allow lists and status files are all written the same
way (a private temporary file beside the target, its mode set before any byte is written,
fsync, then a rename), and a second copy of that sequence is a second place to get it wrong.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_file_atomically(path: str | os.PathLike[str], data: bytes, mode: int = 0o600, *,
                          overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` with permission ``mode``, durably and atomically.

    With ``overwrite=False`` an existing ``path`` is left alone and FileExistsError is
    raised (two processes creating the same key: the first one wins)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
            os.unlink(tmp)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
