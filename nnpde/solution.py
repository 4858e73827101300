"""The result of ``nnpde.solve``: parameters, history, result code, evaluation and errors.

Saving and loading are in :mod:`nnpde.files` (:meth:`Solution.save`, :func:`nnpde.load`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import _nets, kernels
from nnpde.files import FORMAT_VERSION, FileFormatError, load
from nnpde.network import TwoLayerNet

__all__ = ["FORMAT_VERSION", "FileFormatError", "Solution", "load"]


@dataclasses.dataclass(frozen=True, eq=False)
class Solution:
    """A trained network and how it got there.

    Attributes:
      theta: parameters (NT,).
      net: the network spec.
      problem: the problem (None after ``load`` without ``problem=``).
      trial: the trial solution ψ = A + B·N (None: ψ = N).
      history: dict of per-step arrays, one entry per step: ``"loss"`` (½·mean(r²) for
        least-squares solvers), ``"blocks"`` (steps, n_blocks) the loss per residual block
        (names in ``info["blocks"]``; they add up to the loss), ``"grad_norm"``,
        ``"step_norm"``, and for LM ``"mu"`` (damping), ``"accepted"`` (0/1) and
        ``"cg_iters"``.
      status: why the run stopped, as a sentence (derived from :attr:`result`).
      info: method, solver, backend, wall time, points, ``"result"``, ``"validation"`` (the
        interior residual at the points and between them), ...
    """

    theta: Any
    net: TwoLayerNet
    problem: Any = None
    trial: Any = None
    history: dict = dataclasses.field(default_factory=dict)
    status: str = ""
    info: dict = dataclasses.field(default_factory=dict)

    def __call__(self, x) -> jax.Array:
        """ψ at points x (P, D): (P,), or (P, K) for a system of K components."""
        x = jnp.asarray(x, self.theta.dtype)
        dim = _nets.input_dim(self.net)
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"x must have shape (P, {dim}), got {tuple(x.shape)}")
        if self.problem is None and self.info.get("has_trial", False):
            raise ValueError(
                "this solution was loaded without its problem; use "
                "nnpde.load(path, problem=...) to rebuild the trial solution"
            )
        k, nt = self.components, self.net.num_params
        trials = self.trial if isinstance(self.trial, tuple) else (self.trial,) * k
        out = [_evaluate(self.net, trials[i], self.theta[i * nt:(i + 1) * nt], x)
               for i in range(k)]  # fmt: skip
        return out[0] if k == 1 else jnp.stack(out, axis=1)

    @property
    def result(self):
        """How the run ended: a :class:`nnpde.RESULTS` member (None if unknown)."""
        from nnpde.results import RESULTS

        name = self.info.get("result")
        return RESULTS[name] if isinstance(name, str) and name in RESULTS.__members__ else None

    def diagnose(self) -> str:
        """A summary of the run in words: how it ended, how the loss and its blocks evolved,
        the damping, and whether the points resolve the solution (see
        :mod:`nnpde.diagnostics`)."""
        from nnpde.diagnostics import diagnose

        return diagnose(self)

    @property
    def components(self) -> int:
        """K, the number of unknown functions (1 unless the problem is a system)."""
        return int(self.info.get("components", 1))

    @property
    def param_names(self) -> tuple:
        """Names of the identified coefficients (inverse problems), in θ's order."""
        return tuple(self.info.get("param_names", ()))

    @property
    def params(self) -> dict:
        """The identified coefficients ``{name: value}`` (empty for a forward problem)."""
        names = self.param_names
        tail = np.asarray(self.theta)[len(self.theta) - len(names):] if names else []
        return {n: float(v) for n, v in zip(names, tail)}

    @property
    def num_theta(self) -> int:
        """Length of θ: K network parameter vectors, then the coefficients."""
        return self.net.num_params * self.components + len(self.param_names)

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

        Returns:
          ``{"max_abs", "rel_l2", "points"}`` over all components, and for a system of K
          components also ``"per_component"``: a list of K such dicts.

        Raises:
          ValueError: no problem or no exact solution, or ``exact`` does not return one number
            per point (K numbers for a system).
        """
        if self.problem is None or self.problem.exact is None:
            raise ValueError("errors() needs a problem with an exact solution")
        x = self.test_points() if x is None else np.asarray(x)
        xj = jnp.asarray(x, self.theta.dtype)
        approx = np.asarray(self(xj), np.float64)
        exact = np.asarray(jax.jit(jax.vmap(self.problem.exact))(xj), np.float64)
        if exact.shape != approx.shape:
            what = "a scalar" if approx.ndim == 1 else f"{approx.shape[1]} values"
            raise ValueError(
                f"errors(): problem.exact must return {what} for one point x (D,); over "
                f"{x.shape[0]} points it returned shape {exact.shape}, expected {approx.shape}"
            )
        out = _error_stats(approx, exact)
        if approx.ndim == 2:
            out["per_component"] = [_error_stats(approx[:, k], exact[:, k])
                                    for k in range(approx.shape[1])]  # fmt: skip
        return out

    # ---- files ------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Writes the solution to ``path`` (used as given; ``.npz`` is the usual suffix).

        The write is atomic (temporary file in the same folder, fsync, ``os.replace``): a
        reader sees the old file or the new one, never a part. θ and the history round-trip
        bit for bit (float16, float32 or float64); ``info`` keeps its JSON-representable
        entries (numpy scalars become Python numbers, other objects are dropped).

        Raises:
          ValueError: θ is not a finite float16/32/64 vector of length ``net.num_params``, a
            history entry is not a numeric array, or the activation is not registered under its
            name (``load`` could not find it).
          TypeError: the network is of a kind that cannot be saved.
          OSError: from the filesystem; an existing file at ``path`` is left untouched.

        Example:
          >>> import os, tempfile, jax, nnpde
          >>> net = nnpde.TwoLayerNet(1, (3, 2))
          >>> sol = nnpde.Solution(theta=net.init(jax.random.key(0)), net=net, status="demo")
          >>> path = os.path.join(tempfile.mkdtemp(), "sol.npz")
          >>> sol.save(path)
          >>> nnpde.load(path).status
          'demo'
        """
        from nnpde.files import save_solution

        save_solution(self, path)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _evaluate(net, trial, theta, x):
    if _nets.is_two_layer(net):
        N = kernels.value(net, theta, x)
    else:
        N = jax.vmap(functools.partial(_nets.apply_single, net, theta))(x)
    if trial is None:
        return N
    return jax.vmap(trial.A)(x) + jax.vmap(trial.B)(x) * N


def _error_stats(approx, exact) -> dict:
    err = approx - exact
    return {
        "max_abs": float(np.max(np.abs(err))),
        "rel_l2": float(np.linalg.norm(err) / max(np.linalg.norm(exact), 1e-300)),
        "points": int(approx.shape[0]),
    }
