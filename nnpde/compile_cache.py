"""JAX's persistent compilation cache, switched on for nnpde: compiled programs kept on disk.

Most of a short :func:`nnpde.solve` is XLA compiling its programs, not running them
(``benchmarks/results/setup-time-zen3.md``: 65-75 % of a 10 s 2-D Poisson solve). JAX can keep
the compiled executables on disk, keyed by the program's HLO, the compile options, the device
and the jax/jaxlib versions, so that another process compiling the same program reads it back
instead: a notebook restarted, a script run again, the next seed of a sweep. A hit is the
executable the compiler would have produced, so results do not change.

:func:`use_compilation_cache` switches it on with thresholds that suit nnpde. JAX's own
(``JAX_COMPILATION_CACHE_DIR`` alone) keep only programs that took at least 1 s to compile;
a solve's set-up is a few dozen programs of 0.1-6 s (the LM loop, its start, the trial
solution's jets, the residuals, θ0's random draws), so here every program is kept.

Measured (AMD EPYC, 2 cores, jax 0.10.2, float64;
``benchmarks/results/setup-time-cache-zen3.md``): ``python -m nnpde --compilation-cache DIR``
three times in a row with a new directory, the solve 10.6 s, then 3.9 and 3.8 s (11.9 and
9.4 s without); the set-up of a solve (``benchmarks/setup_time.py --compilation-cache``)
19.3 → 6.3 s for Kovasznay's three networks and 6.6–8.4 → 1.9–2.5 s for 2-D Poisson, heat,
wave and Helmholtz. What remains is JAX's tracing and lowering, which the cache does not
keep. JAX's 1 s threshold alone (``JAX_COMPILATION_CACHE_DIR``): ``python -m nnpde``
9.6 → 6.1 s. The directory grows by ≈ 13 kB per program on average (≈ 0.5 MB per problem
solved, ≈ 40 programs); delete it at will.

Use: ``nnpde.use_compilation_cache()`` once per process, before the first solve (or
``python -m nnpde --compilation-cache``).

Example:
  >>> import nnpde
  >>> nnpde.compile_cache.default_directory().parts[-2:]
  ('nnpde', 'xla')
"""

from __future__ import annotations

import os
import pathlib

import jax

__all__ = ["default_directory", "use_compilation_cache"]


def default_directory() -> pathlib.Path:
    """``$XDG_CACHE_HOME/nnpde/xla``, or ``~/.cache/nnpde/xla`` where that is not set."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "nnpde" / "xla"


def use_compilation_cache(directory: str | os.PathLike | None = None) -> pathlib.Path:
    """Keeps every program JAX compiles from now on in ``directory`` and reads it back there
    (this process and later ones). Sets JAX's global options ``jax_compilation_cache_dir``,
    ``jax_persistent_cache_min_compile_time_secs`` = 0 and
    ``jax_persistent_cache_min_entry_size_bytes`` = 0; call it before the first solve.

    Args:
      directory: where the compiled programs go (created if missing); None:
        :func:`default_directory`.

    Returns:
      The directory (absolute).

    Raises:
      TypeError: ``directory`` is not a path.
      OSError: the directory cannot be created.
    """
    if directory is None:
        path = default_directory()
    elif isinstance(directory, (str, os.PathLike)) and str(directory):
        path = pathlib.Path(directory).expanduser()
    else:
        raise TypeError(f"directory must be a path (str or os.PathLike) or None, got "
                        f"{directory!r}")  # fmt: skip
    path = path.absolute()
    path.mkdir(parents=True, exist_ok=True)
    changed = jax.config.jax_compilation_cache_dir != str(path)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if changed:  # JAX opens its cache once per process: make it open this directory
        from jax.experimental.compilation_cache import compilation_cache

        compilation_cache.reset_cache()
    return path
