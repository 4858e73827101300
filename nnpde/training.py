"""The training engine shared by :func:`nnpde.solve` and :func:`nnpde.fit`.

A *model* is a static, hashable object with three methods over a flat θ (NT,) and a data
pytree: ``residuals(θ, data) -> (R,)``, ``residuals_and_jacobian(θ, data) -> ((R,), (R, NT))``
and ``loss(θ, data) -> ()``. Collocation (:class:`nnpde.collocation.Collocation`) and data
fitting (:mod:`nnpde.fit`) are both models, so Levenberg-Marquardt, Adam / any optax
transformation and L-BFGS exist once.

Steps run many per jitted dispatch (``lax.while_loop``). The whole optimiser state (θ, the LM
damping μ and ν, the optax state, the divergence limit) is carried from one dispatch to the
next, so splitting a run into dispatches (for a callback, a progress bar, a time limit or
checkpoints) does not change it: a run resumed from a checkpoint ends with the θ of an
uninterrupted run with the same ``checkpoint_every``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnpde._jit import compiler_options

__all__ = ["LMConfig", "METHODS", "Trained", "train"]

Array = jax.Array
METHODS = ("lm", "adam", "lbfgs")
CHECKPOINT_KIND = "nnpde-checkpoint"


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """Levenberg-Marquardt settings (static).

    The damped Gauss-Newton step solves (JᵀJ + μ D) δ = -Jᵀr by Cholesky, with
    D = max(diag(JᵀJ), ε·max diag(JᵀJ)) (Marquardt's scaling with a floor); μ is adapted by
    Nielsen's rule (H. B. Nielsen, IMM-REP-1999-05) from the ratio ρ of the actual to the
    predicted decrease. A failed Cholesky (ill-conditioned JᵀJ: non-finite δ) is a rejected
    step, so μ grows until the system is well conditioned: it never returns NaN.
    """

    mu0: float = 1e-3
    mu_min: float = 1e-15
    mu_max: float = 1e12
    eps: float = 1e-12  # relative floor on the diagonal scaling


# ---- Levenberg-Marquardt ----------------------------------------------------------------------
class _LMCarry(NamedTuple):
    theta: Array  # (NT,)
    loss: Array  # () ½·mean(r²) at theta
    JTJ: Array  # (NT, NT)
    JTr: Array  # (NT,)
    mu: Array  # () damping
    nu: Array  # () Nielsen's rejection factor


def _linearize(model, data, theta):
    r, J = model.residuals_and_jacobian(theta, data)
    return 0.5 * jnp.mean(r * r), J.T @ J, J.T @ r


def _lm_init(model, data, theta, cfg: LMConfig):
    loss, JTJ, JTr = _linearize(model, data, theta)
    dt = theta.dtype
    return _LMCarry(theta, loss, JTJ, JTr, jnp.asarray(cfg.mu0, dt), jnp.asarray(2.0, dt))


def lm_step(model, data, s: _LMCarry, cfg: LMConfig, nres: int) -> _LMCarry:
    """One LM iteration (accepted or rejected) from carry ``s``."""
    dt = s.theta.dtype
    diag = jnp.diag(s.JTJ)
    scale = jnp.maximum(diag, cfg.eps * jnp.max(diag))
    cf = jax.scipy.linalg.cho_factor(s.JTJ + jnp.diag(s.mu * scale))
    delta = -jax.scipy.linalg.cho_solve(cf, s.JTr)
    ok = jnp.all(jnp.isfinite(delta))
    delta = jnp.where(ok, delta, 0.0)
    cand = s.theta + delta
    r_new = model.residuals(cand, data)
    new_loss = 0.5 * jnp.mean(r_new * r_new)
    # predicted decrease of ½|r|²/R under the linear model
    pred = -(delta @ s.JTr + 0.5 * delta @ (s.JTJ @ delta)) / nres
    rho = (s.loss - new_loss) / jnp.where(pred > 0, pred, jnp.inf)
    accept = ok & jnp.isfinite(new_loss) & (new_loss < s.loss)

    def on_accept(_):
        loss, JTJ, JTr = _linearize(model, data, cand)
        mu = s.mu * jnp.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
        return _LMCarry(cand, loss, JTJ, JTr, jnp.maximum(mu, cfg.mu_min), jnp.asarray(2.0, dt))

    def on_reject(_):
        return s._replace(mu=s.mu * s.nu, nu=s.nu * 2)

    return jax.lax.cond(accept, on_accept, on_reject, None)


def _lm_dispatch(model, data, carry: _LMCarry, n: int, tol: float, cfg: LMConfig):
    """Up to ``n`` LM iterations in one while_loop: (carry, losses (n,), taken)."""
    nres = model.residuals(carry.theta, data).shape[0]
    hist = jnp.full((n,), jnp.nan, carry.theta.dtype)

    def cond(st):
        s, i, _ = st
        return (i < n) & (s.loss > tol) & jnp.isfinite(s.loss) & (s.mu < cfg.mu_max)

    def body(st):
        s, i, losses = st
        s = lm_step(model, data, s, cfg, nres)
        return s, i + 1, losses.at[i].set(s.loss)

    carry, taken, losses = jax.lax.while_loop(cond, body, (carry, jnp.asarray(0), hist))
    return carry, losses, taken


# ---- first-order methods (optax) ---------------------------------------------------------------
class _OptCarry(NamedTuple):
    theta: Array  # (NT,) next θ to evaluate
    opt: Any  # optax state
    loss: Array  # () loss at theta (inf once diverged)
    good: Array  # (NT,) last θ with a healthy loss
    limit: Array  # () divergence limit: divergence × initial loss


def _opt_init(model, data, theta, opt, divergence: float):
    loss = model.loss(theta, data)
    return _OptCarry(theta, opt.init(theta), loss, theta, divergence * loss)


def _opt_dispatch(model, data, carry: _OptCarry, opt, n: int, tol: float, lbfgs: bool):
    loss_fn = functools.partial(model.loss, data=data)
    if lbfgs:
        value_and_grad = optax.value_and_grad_from_state(loss_fn)
    else:
        value_and_grad = jax.value_and_grad(loss_fn)
    hist = jnp.full((n,), jnp.nan, carry.theta.dtype)

    def healthy(loss):
        return jnp.isfinite(loss) & (loss <= carry.limit)

    def cond(st):
        s, i, _ = st
        return (i < n) & (s.loss > tol) & healthy(s.loss)

    def body(st):
        s, i, losses = st
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
        loss = jnp.where(ok, loss, jnp.inf)
        return s._replace(theta=theta, opt=opt_state, loss=loss, good=good), i + 1, \
            losses.at[i].set(loss)  # fmt: skip

    carry, taken, losses = jax.lax.while_loop(cond, body, (carry, jnp.asarray(0), hist))
    # The last update has not been evaluated: evaluate it, and once the loss is unhealthy
    # return the last θ whose loss was healthy (loss = inf says so).
    final = loss_fn(carry.theta)
    ok = healthy(final) & jnp.isfinite(carry.loss)
    carry = carry._replace(theta=jnp.where(ok, carry.theta, carry.good),
                           loss=jnp.where(ok, final, jnp.inf))  # fmt: skip
    return carry, losses, taken


def _optimizer(method, learning_rate):
    if method == "adam":
        return optax.adam(learning_rate)
    if method == "lbfgs":
        return optax.lbfgs()
    return method


# ---- checkpoints ---------------------------------------------------------------------------------
def _fingerprint(model, data, theta, method_name: str) -> dict:
    """What a checkpoint must match to be resumed: method, sizes, dtype and the data."""
    h = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(data):
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return {"method": method_name, "num_params": int(theta.shape[0]),
            "dtype": str(theta.dtype), "data_sha256": h.hexdigest()}  # fmt: skip


def _save_checkpoint(path, carry, done: int, losses: list, key_data, fingerprint: dict):
    from nnpde.solution import write_npz_atomic

    leaves = jax.tree_util.tree_leaves(carry)
    arrays = {f"state_{i}": np.asarray(v) for i, v in enumerate(leaves)}
    arrays["history_loss"] = np.asarray(losses, dtype=np.float64)
    arrays["rng"] = np.asarray(key_data)
    header = dict(fingerprint, step=int(done), num_state=len(leaves))
    write_npz_atomic(path, arrays, header, kind=CHECKPOINT_KIND)


def _load_checkpoint(path, template, fingerprint: dict):
    from nnpde.solution import FileFormatError, read_npz

    header, arrays = read_npz(path, kind=CHECKPOINT_KIND)

    def fail(msg):
        raise FileFormatError(f"cannot resume from checkpoint {os.fspath(path)!r}: {msg}")

    for k, v in fingerprint.items():
        if header.get(k) != v:
            what = "collocation points/data" if k == "data_sha256" else k
            fail(f"its {what} ({header.get(k)!r}) differs from this run's ({v!r})")
    leaves, treedef = jax.tree_util.tree_flatten(template)
    if header.get("num_state") != len(leaves):
        fail(f"it holds {header.get('num_state')} state arrays, this run needs {len(leaves)}")
    new = []
    for i, ref in enumerate(leaves):
        a = arrays.get(f"state_{i}")
        ref = np.asarray(ref)
        if a is None or a.shape != ref.shape or a.dtype != ref.dtype:
            got = None if a is None else (a.shape, str(a.dtype))
            fail(f"state array {i} is {got}, expected {(ref.shape, str(ref.dtype))}")
        new.append(jnp.asarray(a))
    step = header.get("step")
    if not isinstance(step, int) or step < 0:
        fail(f"bad step {step!r}")
    hist = arrays.get("history_loss")
    if hist is None or hist.ndim != 1:
        fail("missing loss history")
    return jax.tree_util.tree_unflatten(treedef, new), step, hist.tolist()


# ---- the driver ------------------------------------------------------------------------------------
@dataclasses.dataclass
class Trained:
    """What :func:`train` returns: final θ, per-step loss history, status line and timings."""

    theta: Array
    history: dict
    status: str
    info: dict


def _method_name(method) -> str:
    return method if isinstance(method, str) else type(method).__name__


def train(
    model,
    data,
    theta: Array,
    *,
    method="lm",
    steps: int = 200,
    tol: float = 0.0,
    learning_rate=1e-3,
    lm: LMConfig = LMConfig(),
    steps_per_call: int | None = None,
    callback: Callable | None = None,
    progress: bool = False,
    divergence: float = 1e4,
    time_limit: float | None = None,
    checkpoint=None,
    checkpoint_every: int | None = None,
    resume=None,
    key=None,
) -> Trained:
    """Runs ``method`` on ``model`` from ``theta``; see :func:`nnpde.solve` for the arguments.

    The loss recorded in ``history["loss"]`` is ``model.loss`` for first-order methods and
    ½·mean(r²) for LM (the same for collocation). Returns a :class:`Trained`.
    """
    if isinstance(method, str) and method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} or an optax transformation, "
                         f"got {method!r}")  # fmt: skip
    if not isinstance(method, str) and not isinstance(method, optax.GradientTransformation):
        raise TypeError(f"method must be a string or an optax.GradientTransformation, "
                        f"got {type(method).__name__}")  # fmt: skip
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    steps = int(steps)
    for name, v in (("steps_per_call", steps_per_call), ("checkpoint_every", checkpoint_every)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ValueError(f"{name} must be a positive int or None, got {v!r}")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if (checkpoint_every is not None or resume is True) and checkpoint is None:
        raise ValueError("checkpoint_every and resume=True need checkpoint=path")
    if not divergence > 1:
        raise ValueError(f"divergence must be a factor > 1, got {divergence!r}")

    t_start = time.perf_counter()
    opts = compiler_options()
    name = _method_name(method)
    if method == "lm":
        carry = jax.jit(_lm_init, static_argnums=(0, 3), compiler_options=opts)(
            model, data, theta, lm
        )
        dispatch = jax.jit(_lm_dispatch, static_argnums=(0, 3, 5), compiler_options=opts)

        def run(c, n):
            return dispatch(model, data, c, n, tol, lm)
    else:
        opt = _optimizer(method, learning_rate)
        lbfgs = method == "lbfgs"
        carry = jax.jit(_opt_init, static_argnums=(0, 3, 4), compiler_options=opts)(
            model, data, theta, opt, float(divergence)
        )
        dispatch = jax.jit(_opt_dispatch, static_argnums=(0, 3, 4, 6), compiler_options=opts)

        def run(c, n):
            return dispatch(model, data, c, opt, n, tol, lbfgs)

    if not bool(jnp.isfinite(carry.loss)):
        raise ValueError("the initial loss is not finite: check the equation, data and θ")

    fingerprint = _fingerprint(model, data, theta, name)
    key_data = jax.random.key_data(key) if key is not None else np.zeros((0,), np.uint32)
    done, losses = 0, []
    if resume is not None:
        path = checkpoint if resume is True else resume
        if resume is not True or os.path.exists(path):
            carry, done, losses = _load_checkpoint(path, carry, fingerprint)

    if steps_per_call is None:
        if checkpoint_every is not None:
            steps_per_call = checkpoint_every
        elif callback or progress or time_limit:
            steps_per_call = max(1, steps // (100 if time_limit else 20))
        else:
            steps_per_call = steps
    if checkpoint_every is not None:
        steps_per_call = min(steps_per_call, checkpoint_every)

    bar = _progress(progress, steps, done)
    status, t_compile, stop = None, None, None
    last_good = carry.theta
    since_ckpt = 0
    try:
        while done < steps:
            n = min(steps_per_call, steps - done)
            t0 = time.perf_counter()
            new, hist, taken = jax.block_until_ready(run(carry, n))
            if t_compile is None:
                t_compile = time.perf_counter() - t0
            taken = int(taken)
            losses.extend(np.asarray(hist[:taken]).tolist())
            done += taken
            since_ckpt += taken
            carry = new
            loss = float(carry.loss)
            if bar is not None:
                bar.update(taken)
                bar.set_postfix(loss=f"{loss:.3e}")
            finite_theta = bool(jnp.all(jnp.isfinite(carry.theta)))
            if checkpoint is not None and finite_theta and (
                since_ckpt >= (checkpoint_every or steps_per_call) or done >= steps
            ):
                _save_checkpoint(checkpoint, carry, done, losses, key_data, fingerprint)
                since_ckpt = 0
            if callback is not None:
                callback(done, loss, carry.theta)
            if not np.isfinite(loss) or not finite_theta:
                stop = "diverged"
                break
            last_good = carry.theta
            if loss <= tol:
                stop = "converged"
                break
            if method == "lm" and float(carry.mu) >= lm.mu_max:
                stop = "stalled"
                break
            if time_limit is not None and time.perf_counter() - t_start >= time_limit:
                stop = "time"
                break
            if taken < n:  # the loop ended early for a reason checked above
                break
    except KeyboardInterrupt:
        if checkpoint is not None and bool(jnp.all(jnp.isfinite(carry.theta))):
            _save_checkpoint(checkpoint, carry, done, losses, key_data, fingerprint)
        raise
    finally:
        if bar is not None:
            bar.close()

    theta = carry.theta if bool(jnp.all(jnp.isfinite(carry.theta))) else last_good
    loss = float(carry.loss)
    if stop == "diverged":
        status = (
            f"diverged at step {done}: the loss became non-finite or grew more than "
            f"{divergence:g}x above its initial value; kept the last parameters whose loss "
            "was finite and below that"
        )
    elif stop == "converged":
        status = f"converged: loss {loss:.3e} <= tol {tol:g} after {done} steps"
    elif stop == "stalled":
        status = (f"stopped after {done} steps: LM damping reached {lm.mu_max:g} "
                  f"(no further decrease possible at loss {loss:.3e})")  # fmt: skip
    elif stop == "time":
        status = f"stopped at the time limit ({time_limit:g} s) after {done} steps, loss {loss:.3e}"
    else:
        status = f"reached the step limit ({steps} steps), loss {loss:.3e}"
    info = {"method": name, "steps": done, "loss": loss, "first_call_s": t_compile,
            "train_s": time.perf_counter() - t_start}  # fmt: skip
    return Trained(theta, {"loss": np.asarray(losses)}, status, info)


def _progress(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc="nnpde")
