"""The result of ``nnpde.solve``: parameters, history, status, evaluation, errors, save/load.

Files are ``.npz`` archives (numpy's zip of arrays, read with ``allow_pickle=False``) holding θ,
the loss history and a JSON header: format name and version, the network spec, dtype, status
and run info. No pickle, no code: a user's equation cannot be stored, so ``load`` returns a
solution whose ``problem`` must be given again (``load(path, problem=...)``) to evaluate ψ.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import kernels
from nnpde.network import TwoLayerNet

__all__ = ["FORMAT_VERSION", "Solution", "load"]

FORMAT = "nnpde.solution"
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True, eq=False)
class Solution:
    """A trained network and how it got there.

    Attributes:
      theta: parameters (NT,).
      net: the network spec.
      problem: the problem (None after ``load`` without ``problem=``).
      trial: the trial solution ψ = A + B·N (None: ψ = N).
      history: dict of per-step arrays (``"loss"``: ½·mean(r²) after each step).
      status: why the run stopped, as a sentence.
      info: method, backend, wall time, points, ...
    """

    theta: Any
    net: TwoLayerNet
    problem: Any = None
    trial: Any = None
    history: dict = dataclasses.field(default_factory=dict)
    status: str = ""
    info: dict = dataclasses.field(default_factory=dict)

    def __call__(self, x) -> jax.Array:
        """ψ at points x (P, D): (P,)."""
        x = jnp.asarray(x, self.theta.dtype)
        if x.ndim != 2 or x.shape[1] != self.net.dim:
            raise ValueError(f"x must have shape (P, {self.net.dim}), got {tuple(x.shape)}")
        if self.problem is None and self.info.get("has_trial", False):
            raise ValueError(
                "this solution was loaded without its problem; use "
                "nnpde.load(path, problem=...) to rebuild the trial solution"
            )
        return _evaluate(self.net, self.trial, self.theta, x)

    def test_points(self) -> np.ndarray:
        """Default test set: a fine grid with the boundary (101² in 2-D) or 10⁴ Sobol' points."""
        domain = self.problem.domain
        per_axis = {1: 1001, 2: 101, 3: 22}.get(domain.dim)
        if per_axis is not None:
            return domain.test_grid(per_axis)
        return domain.sample(10_000)

    def errors(self, x=None) -> dict:
        """Max-abs and relative L2 error against the problem's exact solution.

        Args:
          x: test points (P, D); default :meth:`test_points` (never the training points).
        """
        if self.problem is None or self.problem.exact is None:
            raise ValueError("errors() needs a problem with an exact solution")
        x = self.test_points() if x is None else np.asarray(x)
        xj = jnp.asarray(x, self.theta.dtype)
        exact = np.asarray(jax.jit(jax.vmap(self.problem.exact))(xj), np.float64)
        approx = np.asarray(self(xj), np.float64)
        err = approx - exact
        return {
            "max_abs": float(np.max(np.abs(err))),
            "rel_l2": float(np.linalg.norm(err) / max(np.linalg.norm(exact), 1e-300)),
            "points": int(x.shape[0]),
        }

    # ---- files ------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Writes the solution to ``path`` (.npz) atomically: temporary file, fsync, rename."""
        path = os.fspath(path)
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "net": {
                "dim": self.net.dim,
                "hidden": list(self.net.hidden),
                "activation": self.net.activation.name,
            },
            "dtype": str(np.asarray(self.theta).dtype),
            "num_params": self.net.num_params,
            "status": self.status,
            "info": {k: v for k, v in self.info.items() if _jsonable(v)}
            | {"has_trial": self.trial is not None},
            "problem": None if self.problem is None else getattr(self.problem, "name", None),
        }
        arrays = {"theta": np.asarray(self.theta)}
        arrays.update({f"history_{k}": np.asarray(v) for k, v in self.history.items()})
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".nnpde-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


@functools.partial(jax.jit, static_argnums=(0, 1))
def _evaluate(net, trial, theta, x):
    N = kernels.value(net, theta, x)
    if trial is None:
        return N
    return jax.vmap(trial.A)(x) + jax.vmap(trial.B)(x) * N


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True


def load(path, problem=None) -> Solution:
    """Reads a solution written by :meth:`Solution.save`.

    Args:
      path: the file.
      problem: the problem it solved (needed to evaluate ψ when it had a trial solution).

    Raises:
      ValueError: naming the file and the problem (not an nnpde file, truncated or corrupted,
        unknown format version, inconsistent contents).
    """
    from nnpde.trial import build_trial

    path = os.fspath(path)

    def fail(why):
        raise ValueError(f"cannot load {path!r}: {why}")

    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            files = set(npz.files)
            if "header" not in files or "theta" not in files:
                fail("not an nnpde solution file (no header/theta)")
            header = json.loads(bytes(npz["header"]).decode())
            theta = np.array(npz["theta"])
            history = {f[len("history_"):]: np.array(npz[f]) for f in files
                       if f.startswith("history_")}  # fmt: skip
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        fail(f"unreadable, truncated or corrupted file ({type(err).__name__}: {err})")
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        fail(f"corrupted header ({err})")
    except ValueError as err:
        if str(err).startswith("cannot load"):
            raise
        fail(f"unreadable, truncated or corrupted file ({err})")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        fail("not an nnpde solution file (wrong format name)")
    if header.get("version") != FORMAT_VERSION:
        fail(f"format version {header.get('version')!r}; this nnpde reads {FORMAT_VERSION}")
    try:
        spec = header["net"]
        net = TwoLayerNet(int(spec["dim"]), tuple(int(m) for m in spec["hidden"]),
                          str(spec["activation"]))  # fmt: skip
    except (KeyError, TypeError, ValueError) as err:
        fail(f"invalid network spec in the header ({err})")
    if theta.shape != (net.num_params,) or str(theta.dtype) != header.get("dtype"):
        fail(f"theta has shape {theta.shape} and dtype {theta.dtype}, but the header says "
             f"({net.num_params},) and {header.get('dtype')}")  # fmt: skip
    if not np.all(np.isfinite(theta)):
        fail("theta contains NaN or Inf")
    trial = None
    if problem is not None:
        if problem.dim != net.dim:
            fail(f"the problem is {problem.dim}-D but the network has dim={net.dim}")
        trial = build_trial(problem)[0]
    return Solution(
        theta=jnp.asarray(theta),
        net=net,
        problem=problem,
        trial=trial,
        history=history,
        status=str(header.get("status", "")),
        info=dict(header.get("info", {})),
    )
