"""Whether an inverse problem's coefficients are identifiable from its residuals.

An inverse problem (``Problem(params=...)``) can be posed so that only a combination of its
coefficients is determined: -κΔu + c u = f with u = sin(πx) sin(πy) fixes 2π²κ + c and nothing
else, because Δu = -2π²u. LM then fits u to round-off (the held-out round 5's first version:
u's max-abs error 2e-11) and ends ``converged`` with κ and c anywhere on that line (relative
error 1.47), and nothing said so. The coefficients' columns of the residual Jacobian,
∂r/∂p_j (the interior rows; observations and boundary rows do not depend on p), are then
parallel: with unit columns C = Ĵ_pᵀ Ĵ_p has an eigenvalue at round-off, and its eigenvector,
divided by the column norms, is the direction δp along which the residuals do not change.

:func:`check` measures that at the solution (from the coefficients' block of the JᵀJ a dense
LM run already holds, else one J·e_j per coefficient) and :func:`nnpde.solve` records it in
``info["identifiability"]`` and gives an :class:`~nnpde.UnidentifiableWarning` when the least
eigenvalue is at most :data:`TOL`. Not detected: a change of the coefficients that the
network's own parameters can absorb (that would need the Schur complement of JᵀJ's coefficient
block, as costly as a dense step and ill-conditioned where the network's block is); the check
is of the coefficients' columns among themselves, and of a coefficient that does not enter the
residuals at all.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["TOL", "check", "describe"]

#: the least eigenvalue of the coefficients' unit-column Gram matrix at or below which they
#: are reported as not identifiable (parallel to about 1e-4 in angle; the round-5 example
#: had 6.7e-16, its well-posed version with u = (1 + x) sin(πx) sin(πy) 2.0e-2).
TOL = 1e-8


def check(model, theta, data, names, gram=None) -> dict | None:
    """The coefficients' identifiability at θ, or None for a forward problem.

    Args:
      model: the collocation model (``linearize(θ, data) -> (r, v ↦ J v, u ↦ Jᵀu)``).
      theta: parameters (K·NT + m,), the m coefficients last (their order is ``names``).
      data: the model's data.
      names: the m coefficients' names.
      gram: JᵀJ at θ (K·NT + m, K·NT + m) where the run has it (dense LM's state): its last
        m × m block is J_pᵀJ_p and nothing is computed; else the m columns J e_j come from one
        compiled program of ``model.linearize``.

    Returns:
      ``{"min_eigenvalue": λ, "identifiable": λ > TOL, "column_norms": {name: |∂r/∂p|},
      "direction": {name: δp}}``: λ the least eigenvalue of Ĵ_pᵀ Ĵ_p (unit columns; 0 when a
      column is zero), δp the parameter change the residuals are least sensitive to (its
      largest entry ±1).
    """
    m = len(names)
    if m == 0:
        return None
    if gram is not None and getattr(gram, "ndim", 0) == 2:
        block = np.asarray(gram, np.float64)[-m:, -m:]
    else:
        cols = np.asarray(_columns(model, theta, data, m), np.float64)
        block = cols.T @ cols
    return _summary(0.5 * (block + block.T), names)


def _columns(model, theta, data, m: int):
    """∂r/∂p_j for the m last entries of θ: (R, m)."""
    nt = theta.shape[0]

    def cols(t, d):
        _, jvp, _ = model.linearize(t, d)
        eye = jnp.eye(m, dtype=t.dtype)
        return jnp.stack([jvp(jnp.zeros(nt, t.dtype).at[nt - m:].set(eye[j]))
                          for j in range(m)], axis=1)  # fmt: skip

    return jax.jit(cols)(theta, data)


def _summary(block: np.ndarray, names) -> dict:
    """λ_min and its direction of the coefficients' Gram block J_pᵀJ_p (m, m)."""
    norms = np.sqrt(np.maximum(np.diag(block), 0.0))
    if np.any(norms == 0):
        lam, direction = 0.0, (norms == 0).astype(float)
    else:
        w, v = np.linalg.eigh(block / np.outer(norms, norms))
        lam, direction = float(max(w[0], 0.0)), v[:, 0] / norms
    direction = direction / np.max(np.abs(direction))
    return {"min_eigenvalue": lam, "identifiable": bool(lam > TOL),
            "column_norms": {n: float(c) for n, c in zip(names, norms)},
            "direction": {n: float(d) for n, d in zip(names, direction)}}


def describe(ident: dict) -> str:
    """A sentence for the warning: which combination the residuals do not see."""
    zero = [n for n, c in ident["column_norms"].items() if c == 0]
    if zero:
        return f"the coefficient(s) {', '.join(zero)} do not enter the residuals"
    combo = " + ".join(f"{d:.3g}·δ{n}" for n, d in ident["direction"].items())
    return (f"their columns of the residual Jacobian are parallel (least eigenvalue "
            f"{ident['min_eigenvalue']:.1e} of the unit columns' Gram matrix): changing them "
            f"along ({combo}) leaves the residuals unchanged")
