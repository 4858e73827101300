"""Changes to the collocation data during training: residual-adaptive points and loss balancing.

Both run between jitted dispatches of a run (:class:`nnpde.hooks.Adapt`, ``solve(...,
adapt=...)``) and keep every array's shape, so the compiled steps are reused, never recompiled.

- :class:`ResidualAdaptive`: residual-based adaptive refinement. Every ``every`` steps, draw
  ``candidates`` fresh points (seeded), evaluate |r| there, and move the ``fraction`` of the
  current interior points with the smallest |r| to the candidates with the largest |r|: the
  point buffer keeps its size (the "RAR-D"-style redistribution of Wu et al., "A comprehensive
  study of non-adaptive and residual-based adaptive sampling for PINNs", CMAME 403 (2023)
  115671; Lu et al., DeepXDE, SIAM Rev. 63 (2021) 208, for the original RAR).
- :class:`GradientBalance`: the learning-rate-annealing weights of Wang, Teng & Perdikaris,
  "Understanding and mitigating gradient flow pathologies in physics-informed neural
  networks", SIAM J. Sci. Comput. 43(5) (2021) A3055: the boundary-penalty weight is moved
  towards λ̂ = max|∇θ L_r| / mean|∇θ L_b| (L_r the interior loss, L_b the unweighted penalty
  loss) by λ ← (1 - α) λ + α λ̂. The weights are recorded in the history.

Both apply to any :class:`nnpde.collocation.Collocation` (systems too: a point's residual is
then the norm of its E equations' residuals, and all penalty weights move together).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from nnpde.collocation import Collocation, CollocationData, residuals_jit, trial_jets

__all__ = ["GradientBalance", "ResidualAdaptive"]


def _positive_int(v, name, cls):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{cls}: {name} must be a positive int, got {v!r}")


@dataclasses.dataclass(frozen=True)
class ResidualAdaptive:
    """Residual-adaptive redistribution of the interior points (a fixed-size buffer).

    Args:
      every: steps between redistributions.
      candidates: fresh points drawn (uniformly) per redistribution.
      fraction: share of the interior points moved each time (0 < fraction <= 1).
      seed: seed of the candidate draws (round r uses ``seed + r``).
      mode: "replace" (the ``fraction`` of points with the smallest |r| go to the candidates
        with the largest |r|) or "density" (Wu et al.'s RAD: the ``fraction`` of points chosen
        at random are redrawn from the candidates with probability ∝ |r|^k / mean|r|^k + c).
      k, c: the exponent and floor of the "density" mode (Wu et al. recommend k = 1, c = 1).
    """

    every: int = 50
    candidates: int = 4096
    fraction: float = 0.1
    seed: int = 0
    mode: str = "replace"
    k: float = 1.0
    c: float = 1.0

    def __post_init__(self):
        _positive_int(self.every, "every", "ResidualAdaptive")
        _positive_int(self.candidates, "candidates", "ResidualAdaptive")
        if not 0 < self.fraction <= 1:
            raise ValueError(f"ResidualAdaptive: fraction must be in (0, 1], got {self.fraction}")
        if self.mode not in ("replace", "density"):
            raise ValueError(f"ResidualAdaptive: mode must be 'replace' or 'density', "
                             f"got {self.mode!r}")  # fmt: skip

    def __call__(self, col: Collocation, data: CollocationData, theta, round_: int):
        """New data with the moved points, and a record for the history."""
        p = data.x.shape[0]
        n_move = max(1, round(self.fraction * p))
        n_move = min(n_move, self.candidates)
        cand = col.problem.domain.sample(self.candidates, key=jax.random.key(self.seed + round_),
                                         method="uniform")  # fmt: skip
        cand = jnp.asarray(cand, data.x.dtype)
        r_cand = _interior_residuals(col, theta, _with_points(col, data, cand))
        rng = np.random.default_rng(self.seed + 7919 * round_)
        if self.mode == "replace":
            r_now = _interior_residuals(col, theta, data)
            drop = np.argsort(np.abs(np.asarray(r_now)))[:n_move]
            take = np.argsort(-np.abs(np.asarray(r_cand)))[:n_move]
        else:
            drop = rng.choice(p, n_move, replace=False)
            w = np.abs(np.asarray(r_cand, np.float64)) ** self.k
            w = w / max(w.mean(), 1e-300) + self.c
            take = rng.choice(len(w), n_move, replace=False, p=w / w.sum())
        keep = np.setdiff1d(np.arange(p), drop)
        x = jnp.concatenate([data.x[keep], cand[take]])
        record = {"moved": n_move, "max_abs_residual": float(np.max(np.abs(r_cand)))}
        return _with_points(col, data, x), record


@dataclasses.dataclass(frozen=True)
class GradientBalance:
    """Adaptive weight of the boundary-penalty residuals (Wang, Teng & Perdikaris 2021).

    Args:
      every: steps between updates.
      alpha: moving-average factor α in (0, 1].
    """

    every: int = 50
    alpha: float = 0.1

    def __post_init__(self):
        _positive_int(self.every, "every", "GradientBalance")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"GradientBalance: alpha must be in (0, 1], got {self.alpha}")

    def __call__(self, col: Collocation, data: CollocationData, theta, round_: int):
        if sum(b.x.shape[0] for b in data.pen + data.pairs) == 0:
            return data, {"boundary_weight": None}
        g_r, g_b, lam = _balance_terms(col, theta, data)
        lam_hat = float(jnp.max(jnp.abs(g_r)) / jnp.maximum(jnp.mean(jnp.abs(g_b)), 1e-300))
        new = (1 - self.alpha) * lam + self.alpha * lam_hat
        scale = new / lam

        def rescale(block):
            return block._replace(w=block.w * scale)

        data = data._replace(pen=tuple(map(rescale, data.pen)),
                             pairs=tuple(map(rescale, data.pairs)))  # fmt: skip
        return data, {"boundary_weight": float(new)}


def _with_points(col: Collocation, data: CollocationData, x) -> CollocationData:
    """``data`` with the interior points x (P, D) and the trial jets there."""
    jets = [trial_jets(t, x) for t in col.trials]
    return data._replace(x=x, A=tuple(j[0] for j in jets), B=tuple(j[1] for j in jets))


def _interior_residuals(col: Collocation, theta, data: CollocationData):
    """|r| per interior point (P,): the norm over its E equations' residuals."""
    p = data.x.shape[0]
    r = residuals_jit(col, theta, data)[: col.n_eq * p].reshape(col.n_eq, p)
    return jnp.sqrt(jnp.sum(r * r, axis=0))


@functools.partial(jax.jit, static_argnums=(0,))
def _balance_terms(col: Collocation, theta, data: CollocationData):
    """(∇θ L_r, ∇θ L_b, current mean weight) with L_r = ½ mean r_int², L_b the same for the
    penalty residuals divided by their weights."""
    p = col.n_eq * data.x.shape[0]
    r, vjp = jax.vjp(lambda t: col.residuals(t, data), theta)
    wb = jnp.concatenate([b.w for k in range(col.k) for b in (data.pen[k], data.pairs[k])])
    lam = jnp.mean(wb)
    mask_r = jnp.concatenate([jnp.ones((p,), r.dtype), jnp.zeros_like(wb)])
    (g_r,) = vjp(mask_r * r / p)
    raw_b = r[p:] / wb
    ct_b = jnp.concatenate([jnp.zeros((p,), r.dtype), raw_b / wb / wb.shape[0]])
    (g_b,) = vjp(ct_b)
    return g_r, g_b, lam
