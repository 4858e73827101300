"""Builds nnpde's optional native kernel ``nnpde._native`` (pyproject.toml holds the metadata).

The extension is optional: where no C++17 compiler is found, or it fails, ``pip install``
still succeeds and nnpde uses its pure-JAX kernels (``nnpde.native.info()`` says why).
"""

import sys

from setuptools import Extension, setup

ext_modules = []
if sys.platform != "win32":  # GCC/Clang vector extensions; MSVC has none
    ext_modules.append(Extension(
        "nnpde._native",
        sources=["nnpde/csrc/native.cc"],
        depends=["nnpde/csrc/kernels.inc", "nnpde/csrc/xla/ffi/api/ffi.h",
                 "nnpde/csrc/xla/ffi/api/api.h", "nnpde/csrc/xla/ffi/api/c_api.h"],
        include_dirs=["nnpde/csrc"],
        extra_compile_args=["-std=c++17", "-O3", "-fvisibility=hidden", "-Wno-psabi"],
        language="c++",
        optional=True,
    ))  # fmt: skip

setup(ext_modules=ext_modules)
