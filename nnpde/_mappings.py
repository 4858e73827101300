"""A guard against the crash of a long session: JAX's caches keep every compiled program.

Each ``solve`` or ``fit`` of a new problem object compiles its jitted loop and kernels (their
closures hold the problem; solves of the same problem object share them), and JAX's
compilation caches keep every executable alive. On Linux each executable's
machine code occupies memory mappings of its own: measured with jax 0.10.2 on CPU, one small
``solve`` adds ≈630 mappings to ``/proc/self/maps`` and none are released by ``gc.collect()``.
Past the kernel's ``vm.max_map_count`` (65530 by default), i.e. after ≈100 solves in one
process (a seed sweep in a notebook, a benchmark loop), LLVM fails to allocate code memory and
the process aborts ("LLVM ERROR: Unable to allocate section memory!") or segfaults in XLA.

:func:`release_if_crowded` runs before every run: when the process holds more than
``FRACTION`` of the limit, it clears JAX's caches (``jax.clear_caches()``) and collects
garbage, which releases them (the count falls back to its start). The only cost is that
programs compiled before, the caller's included, compile again on their next call. Off Linux
(no ``/proc``) it does nothing.
"""

from __future__ import annotations

import gc

import jax

__all__ = ["FRACTION", "mapping_count", "release", "release_if_crowded"]

#: clear JAX's caches when the process holds more than this fraction of vm.max_map_count
FRACTION = 0.5
_DEFAULT_LIMIT = 65530


def _limit() -> int:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return _DEFAULT_LIMIT


def mapping_count() -> int | None:
    """The number of memory mappings of this process (``/proc/self/maps``), None off Linux."""
    try:
        with open("/proc/self/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def release() -> None:
    """Drops JAX's compiled programs (``jax.clear_caches()``) and collects the garbage that
    held them, which gives their memory mappings back."""
    jax.clear_caches()
    gc.collect()


def release_if_crowded() -> bool:
    """:func:`release` when this process holds more than :data:`FRACTION` of
    ``vm.max_map_count`` memory mappings; True when it did."""
    n = mapping_count()
    if n is None or n <= FRACTION * _limit():
        return False
    release()
    return True
