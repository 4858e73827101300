"""Matrix-free Gauss-Newton / Levenberg-Marquardt: each step solved by preconditioned CG.

The damped Gauss-Newton step δ solves

    (JᵀJ + μ S) δ = -Jᵀr,     S = max(diag(JᵀJ), ε·max diag(JᵀJ))

(the system of dense LM, :class:`nnpde.LM`). Here it is solved by conjugate gradients
that touch J only through the products J v and Jᵀu (``model.linearize``; for collocation the
hand-written :func:`nnpde.kernels.operator_jvp` and :func:`~nnpde.kernels.operator_vjp`), so
neither the (R, NT) Jacobian nor the (NT, NT) matrix JᵀJ is ever formed: memory O(R + NT) on
top of the kernels' blocks, cost per CG iteration about three forward passes. The
preconditioner is Jacobi, M = diag(JᵀJ) + μ S, with diag(JᵀJ) the squared column norms of J
(``model.gram_diagonal``: the rows formed one block of points at a time, once per accepted
step). Acceptance, Nielsen's damping update and the stopping rules are those of dense LM
(:mod:`nnpde.lm`, where the step is taken); the predicted decrease uses one extra product,
½|Jδ|² + δᵀJᵀr.

CG stops after ``CGConfig.max_iters`` iterations or once the preconditioned residual
|b - Aδ|_{M⁻¹} ≤ ``rtol``·|b|_{M⁻¹}. An inexact solve is still a descent direction (CG from 0
decreases the quadratic model monotonically), so LM's accept/reject logic stays valid.

References:
  M. R. Hestenes and E. Stiefel (1952), conjugate gradients; H. B. Nielsen (1999),
  IMM-REP-1999-05, damping update; J. Martens (2010), Hessian-free optimisation (a CG
  Gauss-Newton step for networks).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

__all__ = ["CGConfig", "gram_diagonal", "linear_maps", "pcg"]

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class CGConfig:
    """Conjugate-gradient settings of the matrix-free LM step (static).

    Attributes:
      max_iters: most CG iterations per LM step (each one J v and one Jᵀu product).
      rtol: stop once |b - Aδ|_{M⁻¹} ≤ rtol·|b|_{M⁻¹} (M the Jacobi preconditioner).

    The defaults solve the step nearly as exactly as a Cholesky factorisation would: with a
    looser ``rtol`` (1e-6) the steps lose their small-eigenvalue components, LM rejects them,
    μ climbs and the run stalls (seen on Poisson 2-D with NT = 336); CG from 0 needs at most
    a few hundred iterations at these sizes, and fewer while μ is large.
    """

    max_iters: int = 500
    rtol: float = 1e-10

    def __post_init__(self):
        if isinstance(self.max_iters, bool) or not isinstance(self.max_iters, int) or \
                self.max_iters < 1:  # fmt: skip
            raise ValueError(f"CGConfig.max_iters must be a positive int, got {self.max_iters!r}")
        if not 0 <= self.rtol < 1:
            raise ValueError(f"CGConfig.rtol must be in [0, 1), got {self.rtol!r}")


def pcg(matvec, b: Array, minv: Array, cfg: CGConfig):
    """Jacobi-preconditioned CG for A x = b from x = 0 (A symmetric positive definite).

    Args:
      matvec: p ↦ A p, (NT,) → (NT,).
      b: right-hand side (NT,).
      minv: inverse of the preconditioner's diagonal (NT,).
      cfg: iteration limit and tolerance.

    Returns:
      (x (NT,), iterations ()). A breakdown (pᵀAp ≤ 0 or not finite, from round-off) stops
      the iteration with the last good x.

    Example:
      >>> import jax.numpy as jnp
      >>> from nnpde.matfree import CGConfig, pcg
      >>> A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
      >>> b = jnp.array([1.0, 2.0])
      >>> x, its = pcg(lambda p: A @ p, b, 1 / jnp.diag(A), CGConfig(rtol=1e-3))
      >>> bool(jnp.allclose(A @ x, b, atol=1e-4)), int(its)
      (True, 2)
    """
    z = minv * b
    rz = b @ z
    stop = (cfg.rtol**2) * rz

    def cond(st):
        _, _, _, rz, i, ok = st
        return (i < cfg.max_iters) & (rz > stop) & ok

    def body(st):
        x, r, p, rz, i, _ = st
        Ap = matvec(p)
        pAp = p @ Ap
        ok = jnp.isfinite(pAp) & (pAp > 0)
        alpha = jnp.where(ok, rz / jnp.where(ok, pAp, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        z = minv * r
        rz_new = r @ z
        p = z + (rz_new / jnp.where(rz > 0, rz, 1.0)) * p
        return x, r, p, jnp.where(ok, rz_new, rz), i + 1, ok

    zero = jnp.zeros_like(b)
    ok0 = jnp.isfinite(rz)
    x, _, _, _, iters, _ = jax.lax.while_loop(cond, body, (zero, b, z, rz, jnp.asarray(0), ok0))
    return x, iters


def linear_maps(model, data, theta):
    """(r, jvp, vjp) of ``model`` at θ: ``model.linearize``, else ``jax.linearize`` of
    ``model.residuals`` and its transpose."""
    if hasattr(model, "linearize"):
        return model.linearize(theta, data)
    fn = lambda t: model.residuals(t, data)  # noqa: E731
    try:
        r, jvp = jax.linearize(fn, theta)
    except TypeError as err:
        raise ValueError(
            f"method='gn-cg' needs Jacobian-vector products of the residuals: "
            f"{type(model).__name__} has no linearize(θ, data) method and its residuals "
            f"cannot be differentiated in forward mode ({err})"
        ) from err
    transpose = jax.linear_transpose(jvp, theta)
    return r, jvp, lambda u: transpose(u)[0]


def gram_diagonal(model, data, theta) -> Array:
    """diag(JᵀJ): ``model.gram_diagonal``, else from the model's Jacobian."""
    if hasattr(model, "gram_diagonal"):
        return model.gram_diagonal(theta, data)
    J = model.residuals_and_jacobian(theta, data)[1]
    return jnp.sum(J * J, axis=0)
