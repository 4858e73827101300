"""Training: ``nnpde.solve`` with Levenberg-Marquardt, Adam (any optax transformation) or L-BFGS.

Steps are jitted and run many per dispatch (``lax.while_loop``), so Python overhead does not
dominate on CPU. A run stops on ``tol`` (loss), on ``steps``, or on a non-finite loss, in which
case it keeps the last finite θ and says so in ``Solution.status``.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnpde._jit import compiler_options
from nnpde.collocation import Collocation, CollocationData, make_collocation
from nnpde.network import TwoLayerNet
from nnpde.problem import Problem
from nnpde.solution import Solution

__all__ = ["LMConfig", "solve"]

Array = jax.Array
METHODS = ("lm", "adam", "lbfgs")


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """Levenberg-Marquardt settings (static).

    The damped Gauss-Newton step solves (JᵀJ + μ diag(JᵀJ) + μ ε I) δ = -Jᵀr by Cholesky;
    μ is adapted by Nielsen's rule (H. B. Nielsen, IMM-REP-1999-05) from the ratio ρ of the
    actual to the predicted decrease; a failed Cholesky (non-finite δ) counts as a rejection.
    """

    mu0: float = 1e-3
    mu_min: float = 1e-15
    mu_max: float = 1e12
    eps: float = 1e-12  # relative floor on the diagonal scaling


class _LMState(NamedTuple):
    theta: Array
    loss: Array
    JTJ: Array
    JTr: Array
    mu: Array
    nu: Array
    step: Array
    losses: Array  # (steps,) history buffer
    mus: Array


def _lm_run(col: Collocation, data: CollocationData, theta0, steps: int, tol: float,
            cfg: LMConfig, mu0):  # fmt: skip
    """Runs up to ``steps`` LM iterations in one while_loop from damping ``mu0``; returns the
    final state (whose ``mu`` the next dispatch continues from)."""
    nres = data.x.shape[0] + data.xb.shape[0]

    def linearize(theta):
        r, J = col.residuals_and_jacobian(theta, data)
        return 0.5 * jnp.mean(r * r), J.T @ J, J.T @ r

    loss0, JTJ0, JTr0 = linearize(theta0)
    dtype = theta0.dtype
    hist = jnp.full((steps,), jnp.nan, dtype)
    state = _LMState(theta0, loss0, JTJ0, JTr0, jnp.asarray(mu0, dtype),
                     jnp.asarray(2.0, dtype), jnp.asarray(0), hist, hist)  # fmt: skip

    def cond(s):
        return (s.step < steps) & (s.loss > tol) & jnp.isfinite(s.loss) & (s.mu < cfg.mu_max)

    def body(s):
        diag = jnp.diag(s.JTJ)
        scale = jnp.maximum(diag, cfg.eps * jnp.max(diag))
        M = s.JTJ + jnp.diag(s.mu * scale)
        cf = jax.scipy.linalg.cho_factor(M)
        delta = -jax.scipy.linalg.cho_solve(cf, s.JTr)
        ok = jnp.all(jnp.isfinite(delta))
        delta = jnp.where(ok, delta, 0.0)
        cand = s.theta + delta
        r_new = col.residuals(cand, data)
        new_loss = 0.5 * jnp.mean(r_new * r_new)
        # predicted decrease of ½|r|²/R under the linear model
        pred = -(delta @ s.JTr + 0.5 * delta @ (s.JTJ @ delta)) / nres
        rho = (s.loss - new_loss) / jnp.where(pred > 0, pred, jnp.inf)
        accept = ok & jnp.isfinite(new_loss) & (new_loss < s.loss)

        def on_accept(_):
            loss, JTJ, JTr = linearize(cand)
            mu = s.mu * jnp.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
            return cand, loss, JTJ, JTr, jnp.maximum(mu, cfg.mu_min), jnp.asarray(2.0, dtype)

        def on_reject(_):
            return s.theta, s.loss, s.JTJ, s.JTr, s.mu * s.nu, s.nu * 2

        theta, loss, JTJ, JTr, mu, nu = jax.lax.cond(accept, on_accept, on_reject, None)
        return _LMState(theta, loss, JTJ, JTr, mu, nu, s.step + 1,
                        s.losses.at[s.step].set(loss), s.mus.at[s.step].set(mu))  # fmt: skip

    return jax.lax.while_loop(cond, body, state)


class _OptState(NamedTuple):
    theta: Array
    opt: object
    loss: Array
    good: Array  # last θ with a finite loss
    step: Array
    losses: Array


def _optax_run(col: Collocation, data, theta0, opt: optax.GradientTransformation, steps: int,
               tol: float, lbfgs: bool, divergence: float):  # fmt: skip
    loss_fn = functools.partial(col.loss, data=data)
    if lbfgs:
        value_and_grad = optax.value_and_grad_from_state(loss_fn)
    else:
        value_and_grad = jax.value_and_grad(loss_fn)
    dtype = theta0.dtype
    state = _OptState(theta0, opt.init(theta0), loss_fn(theta0), theta0,
                      jnp.asarray(0), jnp.full((steps,), jnp.nan, dtype))  # fmt: skip

    limit = divergence * state.loss

    def healthy(loss):
        return jnp.isfinite(loss) & (loss <= limit)

    def cond(s):
        return (s.step < steps) & (s.loss > tol) & healthy(s.loss)

    def body(s):
        if lbfgs:
            loss, grad = value_and_grad(s.theta, state=s.opt)
            updates, opt_state = opt.update(
                grad, s.opt, s.theta, value=loss, grad=grad, value_fn=loss_fn
            )
        else:
            loss, grad = value_and_grad(s.theta)
            updates, opt_state = opt.update(grad, s.opt, s.theta)
        ok = healthy(loss) & jnp.all(jnp.isfinite(grad))
        good = jnp.where(ok, s.theta, s.good)
        theta = optax.apply_updates(s.theta, updates)
        return _OptState(theta, opt_state, loss, good, s.step + 1, s.losses.at[s.step].set(loss))

    out = jax.lax.while_loop(cond, body, state)
    # The loop's last update was not evaluated: keep it only if its loss is healthy; a run
    # that diverged returns the last θ whose loss was, with loss = inf to report it.
    final = loss_fn(out.theta)
    ok = healthy(final)
    return out._replace(theta=jnp.where(ok, out.theta, out.good),
                        loss=jnp.where(ok, final, jnp.inf))  # fmt: skip


def _points(problem: Problem, points, key, dtype):
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        if points < 1:
            raise ValueError(f"points must be a positive int or an array (P, D), got {points}")
        return jnp.asarray(problem.domain.sample(int(points), key=key), dtype)
    x = jnp.asarray(points)
    if x.ndim != 2 or x.shape[1] != problem.dim:
        raise ValueError(
            f"points must have shape (P, {problem.dim}) for this {problem.dim}-D problem, "
            f"got {tuple(x.shape)}"
        )
    x = x.astype(dtype)
    if not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError("points contain NaN or Inf")
    inside = problem.domain.contains(np.asarray(x))
    if not inside.all():
        bad = np.asarray(x)[~inside][0]
        raise ValueError(
            f"{int((~inside).sum())} of the points lie outside the domain {problem.domain!r}, "
            f"e.g. {bad.tolist()}"
        )
    return x


def _check_first_point(col: Collocation, theta, data: CollocationData):
    """Runs the equation at the first point before training: shape and finiteness."""
    first = data._replace(x=data.x[:1], A=jax.tree_util.tree_map(lambda a: a[:1], data.A),
                          B=jax.tree_util.tree_map(lambda a: a[:1], data.B))  # fmt: skip
    r = jax.jit(col.residuals)(theta, first)
    if not bool(jnp.all(jnp.isfinite(r[:1]))):
        raise ValueError(
            "the equation returns a non-finite residual at the first collocation point "
            f"{np.asarray(data.x[0]).tolist()} (with the initial network): check the equation"
        )


def solve(
    problem: Problem,
    net: TwoLayerNet,
    points,
    *,
    method: str | optax.GradientTransformation = "lm",
    steps: int = 200,
    key=None,
    backend: str = "kernels",
    theta0=None,
    tol: float = 0.0,
    learning_rate: float | Callable = 1e-3,
    boundary_points: int = 64,
    lm: LMConfig = LMConfig(),
    steps_per_call: int | None = None,
    callback: Callable | None = None,
    progress: bool = False,
    divergence: float = 1e4,
) -> Solution:
    """Trains ``net`` so that ψ = A + B·N solves ``problem`` at collocation ``points``.

    Args:
      problem: the :class:`~nnpde.Problem`.
      net: a :class:`~nnpde.TwoLayerNet` with ``net.dim == problem.dim``.
      points: interior collocation points (P, D), or an int P (then Sobol' points).
      method: "lm" (Levenberg-Marquardt on the exact Jacobian), "adam", "lbfgs" (optax's
        L-BFGS with zoom line search), or any ``optax.GradientTransformation``.
      steps: maximum number of steps (LM iterations, including rejected ones).
      key: PRNG key for θ's initialisation and sampled points (default ``jax.random.key(0)``).
      backend: "kernels" (hand-written derivatives) or "autodiff" (same numbers).
      theta0: initial θ (NT,); default ``net.init(key)``.
      tol: stop once the loss ½·mean(r²) is at most ``tol``.
      learning_rate: Adam's learning rate, a float or an optax schedule.
      boundary_points: boundary points for penalty conditions.
      lm: :class:`LMConfig`.
      steps_per_call: steps per jitted dispatch (default: all of them); with ``callback`` or
        ``progress`` the run is split into calls of this many steps.
      callback: ``callback(step, loss, theta)`` after each call of ``steps_per_call`` steps.
      progress: show a tqdm progress bar (if tqdm is installed).
      divergence: a first-order run (Adam, L-BFGS, optax) stops as diverged once its loss
        exceeds ``divergence`` times the initial loss or is not finite, and returns the last
        parameters whose loss was below that.

    Returns:
      A :class:`~nnpde.Solution`.
    """
    t_start = time.perf_counter()
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a nnpde.TwoLayerNet, got {type(net).__name__}")
    if net.dim != problem.dim:
        raise ValueError(f"the network has dim={net.dim} inputs but the problem is {problem.dim}-D")
    if isinstance(method, str) and method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} or an optax transformation, "
                         f"got {method!r}")  # fmt: skip
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    key = jax.random.key(0) if key is None else key
    k_init, k_pts, k_bnd = jax.random.split(key, 3)
    dtype = jnp.zeros((), float).dtype
    if theta0 is None:
        theta = net.init(k_init, dtype)
    else:
        theta = jnp.asarray(theta0)
        if theta.shape != (net.num_params,):
            raise ValueError(f"theta0 must have shape ({net.num_params},), got {theta.shape}")
        dtype = theta.dtype
    x = _points(problem, points, k_pts, dtype)
    col, data = make_collocation(
        problem, net, x, boundary_points=boundary_points, key=k_bnd, backend=backend,
        dtype=dtype,
    )  # fmt: skip
    _check_first_point(col, theta, data)

    chunk = steps_per_call or (max(1, steps // 20) if (callback or progress) else steps)
    opts = compiler_options()
    if method == "lm":
        run = jax.jit(_lm_run, static_argnums=(0, 3, 4, 5), compiler_options=opts)
        args = (lm,)
    else:
        if method == "adam":
            opt = optax.adam(learning_rate)
        elif method == "lbfgs":
            opt = optax.lbfgs()
        else:
            opt = method
        run = jax.jit(_optax_run, static_argnums=(0, 3, 4, 5, 6, 7), compiler_options=opts)
        args = (opt, method == "lbfgs", float(divergence))

    bar = _progress(progress, steps)
    history = {"loss": []}
    done, status, t_compile = 0, None, None
    last_good = theta
    mu = lm.mu0  # LM damping, carried across dispatches
    while done < steps:
        n = min(chunk, steps - done)
        t0 = time.perf_counter()
        if method == "lm":
            out = run(col, data, theta, n, float(tol), *args, mu)
            mu = out.mu
        else:
            out = run(col, data, theta, *args[:1], n, float(tol), *args[1:])
        out = jax.block_until_ready(out)
        if t_compile is None:
            t_compile = time.perf_counter() - t0
        taken = int(out.step)
        losses = np.asarray(out.losses[:taken])
        history["loss"].extend(losses.tolist())
        done += taken
        theta = out.theta
        loss = float(out.loss)
        if bar is not None:
            bar.update(taken)
            bar.set_postfix(loss=f"{loss:.3e}")
        if callback is not None:
            callback(done, loss, theta)
        if not np.isfinite(loss) or not np.all(np.isfinite(np.asarray(theta))):
            status = (
                f"diverged at step {done}: the loss became non-finite or grew more than "
                f"{divergence:g}x above its initial value; kept the last parameters whose loss "
                "was finite and below that"
            )
            theta = last_good if not np.all(np.isfinite(np.asarray(theta))) else theta
            break
        last_good = theta
        if loss <= tol:
            status = f"converged: loss {loss:.3e} <= tol {tol:g} after {done} steps"
            break
        if method == "lm" and float(out.mu) >= lm.mu_max:
            status = (
                f"stopped after {done} steps: LM damping reached {lm.mu_max:g} "
                f"(no further decrease possible at loss {loss:.3e})"
            )
            break
        if taken < n:  # the loop ended early for a reason checked above
            break
    if bar is not None:
        bar.close()
    if status is None:
        status = f"reached the step limit ({steps} steps), loss {loss:.3e}"
    wall = time.perf_counter() - t_start
    return Solution(
        theta=theta,
        net=net,
        problem=problem,
        trial=col.trial,
        history={k: np.asarray(v) for k, v in history.items()},
        status=status,
        info={"method": method if isinstance(method, str) else type(method).__name__,
              "backend": backend, "wall_s": wall, "first_call_s": t_compile,
              "points": int(x.shape[0]), "boundary_points": int(data.xb.shape[0])},
    )  # fmt: skip


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="nnpde.solve")
