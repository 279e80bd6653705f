"""Build plait: the Rust extension ``plait._native`` and every Cython module in one build.

Release builds are the default; set ``PLAIT_DEBUG_BUILD=1`` for a debug (unoptimised, with
assertions) build of both the Rust and the Cython extensions.
"""
from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools_rust import Binding, RustExtension

DEBUG = os.environ.get("PLAIT_DEBUG_BUILD", "") not in ("", "0")
HERE = Path(__file__).parent


def cython_extensions() -> list:
    """Every ``python/plait/**/*.pyx`` becomes one extension beside its Python module."""
    sources = sorted(str(p.relative_to(HERE)) for p in (HERE / "python").rglob("*.pyx"))
    if not sources:
        return []
    from Cython.Build import cythonize
    from setuptools import Extension

    extensions = [
        Extension(
            src[len("python/"):-len(".pyx")].replace("/", "."),
            [src],
            extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
        )
        for src in sources
    ]
    return cythonize(
        extensions,
        compiler_directives={"language_level": "3", "boundscheck": DEBUG, "wraparound": DEBUG},
    )


setup(
    rust_extensions=[
        RustExtension(
            "plait._native",
            path="native/pyext/Cargo.toml",
            binding=Binding.PyO3,
            debug=DEBUG,
            py_limited_api="cp311",
        )
    ],
    ext_modules=cython_extensions(),
)
