"""The training engine shared by :func:`nnpde.solve` and :func:`nnpde.fit`.

A *model* is a static, hashable object with three methods over a flat θ (NT,) and a data
pytree: ``residuals(θ, data) -> (R,)``, ``residuals_and_jacobian(θ, data) -> ((R,), (R, NT))``
and ``loss(θ, data) -> ()``. Collocation (:class:`nnpde.collocation.Collocation`) and data
fitting (:mod:`nnpde.fit`) are both models, so Levenberg-Marquardt, Adam / any optax
transformation and L-BFGS exist once. Optional methods make the least-squares methods cheaper:

- ``gram(θ, data) -> (½·mean(r²), JᵀJ, Jᵀr)``: dense LM uses it instead of forming J
  (Collocation accumulates it over blocks of points, so memory does not grow with R);
- ``linearize(θ, data) -> (r, v ↦ J v, u ↦ Jᵀu)`` and ``gram_diagonal(θ, data) -> diag(JᵀJ)``:
  the matrix-free step (``method="gn-cg"``, :mod:`nnpde.matfree`); without them it uses
  ``jax.linearize`` of ``residuals`` and the Jacobian's column norms;
- ``shard_specs(data, axis)`` and ``mask_replicated(data, keep)``: how ``data`` is split over
  a device mesh (``mesh=``, :mod:`nnpde.distributed`); without them every array of ``data``
  is split over its leading axis. The loss must then be a mean over residuals.

Steps run many per jitted dispatch (``lax.while_loop``). The whole optimiser state (θ, the LM
damping μ and ν, the optax state, the divergence limit) is carried from one dispatch to the
next, so splitting a run into dispatches (for a callback, a progress bar, a time limit or
checkpoints) does not change it: a run resumed from a checkpoint ends with the θ of an
uninterrupted run with the same ``checkpoint_every``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnpde import distributed
from nnpde._jit import compiler_options
from nnpde.matfree import CGConfig, damped_dispatch, gn_dispatch, gn_init

__all__ = ["METHODS", "CGConfig", "LMConfig", "Trained", "train"]

Array = jax.Array
METHODS = ("lm", "gn-cg", "adam", "lbfgs")
CHECKPOINT_KIND = "checkpoint"


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """Levenberg-Marquardt settings (static).

    The damped Gauss-Newton step solves (JᵀJ + μ D) δ = -Jᵀr by Cholesky, with
    D = max(diag(JᵀJ), ε·max diag(JᵀJ)) (Marquardt's scaling with a floor); μ is adapted by
    Nielsen's rule (H. B. Nielsen, IMM-REP-1999-05) from the ratio ρ of the actual to the
    predicted decrease. A failed Cholesky (ill-conditioned JᵀJ: non-finite δ) is a rejected
    step, so μ grows until the system is well conditioned: it never returns NaN.

    ``geodesic``: geodesic acceleration (Transtrum & Sethna, arXiv:1201.5885, 2012). With the
    second directional derivative r'' ≈ (2/h)((r(θ + hδ) - r(θ))/h - Jδ) (h = ``geodesic_h``),
    the correction a = -(JᵀJ + μD)⁻¹ Jᵀr'' reuses the factorisation, and the step is
    δ + a/2 when ‖a‖_D ≤ ``geodesic``·‖δ‖_D, else δ. Off by default (0); 0.75 is Transtrum's
    choice. It costs one residual evaluation and one J v, Jᵀu pair per step, small beside JᵀJ,
    and lets LM follow curved valleys instead of crawling along them with a large μ: on Lagaris
    PDE 1 (NT = 336, 576 points, 300 steps) the loss reaches ≈6e-19 instead of ≈3e-14 and the
    relative L2 error ≈1e-11 instead of ≈2e-9 (``benchmarks/results/geodesic-cpu.md``). It is
    not a default because on problems with few residuals per parameter, nonlinear equations
    and systems it drove the loss lower but ended, as often as not, in minima that generalise
    worse between the points. Dense LM only; the matrix-free step (``gn-cg``) ignores it.

    ``dense_max_params``: ``method="lm"`` forms JᵀJ (NT × NT) and factors it while
    NT <= dense_max_params, and above that takes the same damped step matrix-free (conjugate
    gradients on J v / Jᵀu products, :mod:`nnpde.matfree`, settings in :class:`CGConfig`)
    when the model has ``linearize`` (collocation does). The default 8192 is where the two
    cost about the same per step on the 2-core CPU (float64, P = 4096 points, D = 2): at
    NT = 8184 forming JᵀJ took 10.3 s and its Cholesky factorisation 14.3 s (under load; paid at
    every rejected step), against 0.11 s per CG iteration, and gn-cg takes ≈100-450
    iterations per step; at NT = 3900 it was 2.3 s + 1.0 s against 0.07 s (dense LM clearly
    faster). Dense memory is 2·NT² floats (JᵀJ and its factor: 1 GiB at 8192) and grows as
    NT², time as NT³; the matrix-free step needs O(R + NT). Dense LM never forms the (R, NT)
    Jacobian of a model with ``gram`` (collocation accumulates JᵀJ over blocks of points),
    so R is not limited by it.
    """

    mu0: float = 1e-3
    mu_min: float = 1e-15
    mu_max: float = 1e12
    eps: float = 1e-12  # relative floor on the diagonal scaling
    mu_singular: float = 1e-6  # least μ after a failed Cholesky factorisation
    dense_max_params: int = 8192  # above this NT, "lm" solves its step by CG (matrix-free)
    geodesic: float = 0.0  # largest ‖a‖/‖δ‖ of the geodesic correction taken; 0: off
    geodesic_h: float = 0.1  # finite-difference step along δ for r''

    def __post_init__(self):
        for name in ("mu0", "mu_min", "mu_max", "mu_singular", "geodesic_h"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"LMConfig.{name} must be a positive number, got {value!r}")
        if not (isinstance(self.geodesic, (int, float)) and self.geodesic >= 0):
            raise ValueError(f"LMConfig.geodesic must be >= 0 (0: off), got {self.geodesic!r}")


# ---- Levenberg-Marquardt ----------------------------------------------------------------------
class _LMCarry(NamedTuple):
    theta: Array  # (NT,)
    loss: Array  # () ½·mean(r²) at theta
    JTJ: Array  # (NT, NT)
    JTr: Array  # (NT,)
    mu: Array  # () damping
    nu: Array  # () Nielsen's rejection factor


def _linearize(model, data, theta, shards):
    """(½·mean(r²), JᵀJ, Jᵀr) at θ, summed over shards."""
    t = shards.local(theta)
    if hasattr(model, "gram"):
        loss, JTJ, JTr = model.gram(t, data)
    else:
        r, J = model.residuals_and_jacobian(t, data)
        loss, JTJ, JTr = 0.5 * jnp.mean(r * r), J.T @ J, J.T @ r
    return shards.loss(loss), shards.sum(JTJ), shards.sum(JTr)


def _lm_init(model, data, theta, cfg: LMConfig, shards):
    def run(data, theta):
        loss, JTJ, JTr = _linearize(model, data, theta, shards)
        dt = theta.dtype
        return _LMCarry(theta, loss, JTJ, JTr, jnp.asarray(cfg.mu0, dt), jnp.asarray(2.0, dt))

    return shards.run(model, run, data, theta)


def lm_step(model, data, s: _LMCarry, cfg: LMConfig, shards) -> _LMCarry:
    """One LM iteration (accepted or rejected) from carry ``s``; ``shards`` is the run's
    :class:`nnpde.distributed.Shards` (residual counts, sums over devices)."""
    dt = s.theta.dtype
    diag = jnp.diag(s.JTJ)
    scale = jnp.maximum(diag, cfg.eps * jnp.max(diag))
    cf = jax.scipy.linalg.cho_factor(s.JTJ + jnp.diag(s.mu * scale))
    delta = -jax.scipy.linalg.cho_solve(cf, s.JTr)
    ok = jnp.all(jnp.isfinite(delta))
    delta = jnp.where(ok, delta, 0.0)
    cand = s.theta + delta
    if cfg.geodesic > 0:
        cand = cand + 0.5 * _geodesic_correction(model, data, s.theta, delta, cf, scale, cfg,
                                                 shards)  # fmt: skip
    new_loss = shards.half_mean_sq(model.residuals(shards.local(cand), data))
    # predicted decrease of ½|r|²/R under the linear model
    pred = -(delta @ s.JTr + 0.5 * delta @ (s.JTJ @ delta)) / shards.nres
    rho = (s.loss - new_loss) / jnp.where(pred > 0, pred, jnp.inf)
    accept = ok & jnp.isfinite(new_loss) & (new_loss < s.loss)

    def on_accept(_):
        loss, JTJ, JTr = _linearize(model, data, cand, shards)
        mu = s.mu * jnp.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
        return _LMCarry(cand, loss, JTJ, JTr, jnp.maximum(mu, cfg.mu_min), jnp.asarray(2.0, dt))

    def on_reject(_):
        # a failed factorisation (singular JᵀJ + μD in this precision) jumps μ to at least
        # mu_singular instead of creeping up from a tiny μ
        mu = jnp.where(ok, s.mu * s.nu, jnp.maximum(s.mu * s.nu, cfg.mu_singular))
        return s._replace(mu=mu, nu=s.nu * 2)

    return jax.lax.cond(accept, on_accept, on_reject, None)


def _geodesic_correction(model, data, theta, delta, cf, scale, cfg: LMConfig, shards):
    """The geodesic acceleration a = -(JᵀJ + μD)⁻¹ Jᵀr'' of step ``delta`` (factor ``cf``),
    or zeros where ‖a‖_D > cfg.geodesic·‖δ‖_D or a is not finite (see :class:`LMConfig`)."""
    h = jnp.asarray(cfg.geodesic_h, delta.dtype)
    t = shards.local(theta)
    r_h = model.residuals(shards.local(theta + h * delta), data)
    if hasattr(model, "linearize"):  # r, J v and Jᵀu from one pass
        r, jvp, vjp = model.linearize(t, data)
        rpp = (2 / h) * ((r_h - r) / h - jvp(shards.local(delta)))
    else:  # central difference: residuals only, Jᵀu by reverse mode
        r, pullback = jax.vjp(lambda th: model.residuals(th, data), t)
        r_m = model.residuals(shards.local(theta - h * delta), data)
        rpp = (r_h - 2 * r + r_m) / (h * h)
        vjp = lambda u: pullback(u)[0]  # noqa: E731
    a = -jax.scipy.linalg.cho_solve(cf, shards.sum(vjp(rpp)))
    size = lambda v: jnp.sqrt(jnp.sum(scale * v * v))  # noqa: E731
    take = jnp.all(jnp.isfinite(a)) & (size(a) <= cfg.geodesic * size(delta))
    return jnp.where(take, a, 0.0)


def _lm_dispatch(model, data, carry: _LMCarry, n: int, tol, cfg: LMConfig, shards):
    """Up to ``n`` LM iterations in one while_loop: (carry, losses (n,), taken)."""

    def step(data, s):
        return lm_step(model, data, s, cfg, shards)

    return damped_dispatch(model, data, carry, n, tol, cfg, shards, step)


# ---- first-order methods (optax) ---------------------------------------------------------------
class _OptCarry(NamedTuple):
    theta: Array  # (NT,) next θ to evaluate
    opt: Any  # optax state
    loss: Array  # () loss at theta (inf once diverged)
    good: Array  # (NT,) last θ with a healthy loss
    limit: Array  # () divergence limit: divergence × initial loss


def _opt_init(model, data, theta, opt, divergence: float, shards):
    def run(data, theta):
        loss = shards.loss(model.loss(shards.local(theta), data))
        return _OptCarry(theta, opt.init(theta), loss, theta, divergence * loss)

    return shards.run(model, run, data, theta)


def _opt_dispatch(model, data, carry: _OptCarry, opt, n: int, tol, lbfgs: bool, shards):
    def run(data, carry, tol):
        return _opt_loop(model, data, carry, opt, n, tol, lbfgs, shards)

    return shards.run(model, run, data, carry, jnp.asarray(tol, carry.theta.dtype))


def _opt_loop(model, data, carry: _OptCarry, opt, n: int, tol, lbfgs: bool, shards):
    def loss_fn(theta):  # a sum over shards: its gradient is summed by the transpose
        return shards.loss(model.loss(shards.local(theta), data))

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
        a = np.ascontiguousarray(distributed.gather_to_host(leaf))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return {"method": method_name, "num_params": int(theta.shape[0]),
            "dtype": str(theta.dtype), "data_sha256": h.hexdigest()}  # fmt: skip


def _save_checkpoint(path, carry, done: int, losses: list, key_data, fingerprint: dict):
    from nnpde.files import write_npz_atomic as _write_npz_atomic

    if jax.process_index() != 0:  # multi-process runs: the state is replicated; one writer
        return
    leaves = jax.tree_util.tree_leaves(carry)
    arrays = {f"state_{i}": distributed.to_host(v) for i, v in enumerate(leaves)}
    arrays["history_loss"] = np.asarray(losses, dtype=np.float64)
    arrays["rng"] = np.asarray(key_data)
    header = dict(fingerprint, step=int(done), num_state=len(leaves))
    _write_npz_atomic(path, arrays, header, kind=CHECKPOINT_KIND)


def _load_checkpoint(path, template, fingerprint: dict):
    from nnpde.files import FileFormatError
    from nnpde.files import read_npz as _read_npz

    header, arrays = _read_npz(path, CHECKPOINT_KIND)

    def fail(msg):
        raise FileFormatError(path, f"cannot resume from this checkpoint: {msg}")

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
        ref = distributed.to_host(ref)
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


# ---- the driver ----------------------------------------------------------------------------------
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
    cg: CGConfig = CGConfig(),  # noqa: B008 (frozen, immutable)
    mesh=None,
    steps_per_call: int | None = None,
    callback: Callable | None = None,
    progress: bool = False,
    divergence: float = 1e4,
    time_limit: float | None = None,
    checkpoint=None,
    checkpoint_every: int | None = None,
    resume=None,
    key=None,
    adapt=(),
) -> Trained:
    """Runs ``method`` on ``model`` from ``theta``; see :func:`nnpde.solve` for the arguments.

    The loss recorded in ``history["loss"]`` is ``model.loss`` for first-order methods and
    ½·mean(r²) for LM and gn-cg (the same for collocation). ``mesh``: a
    :class:`jax.sharding.Mesh` with a ``"points"`` axis; ``data`` is split over it
    (:func:`nnpde.distributed.shard_data`; arrays already placed on it are kept) and θ is
    replicated. Returns a :class:`Trained` whose θ is an ordinary (host-local) array.
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
    if not isinstance(lm, LMConfig):
        raise TypeError(f"lm must be an LMConfig, got {type(lm).__name__}")
    if not isinstance(cg, CGConfig):
        raise TypeError(f"cg must be a CGConfig, got {type(cg).__name__}")
    if mesh is not None:
        mesh = distributed.resolve_mesh(mesh, None)

    t_start = time.perf_counter()
    opts = compiler_options()
    name = _method_name(method)
    fingerprint = _fingerprint(model, data, theta, name)
    specs = None
    if mesh is not None:
        specs = distributed.data_specs(model, data)
        data = distributed.shard_data(data, specs, mesh)
        theta = distributed.replicate(theta, mesh)
    shards = distributed.make_shards(model, data, theta, mesh, specs)
    solver = _solver(model, method, theta.shape[0], lm)
    if solver == "dense":
        carry = jax.jit(_lm_init, static_argnums=(0, 3, 4), compiler_options=opts)(
            model, data, theta, lm, shards
        )
        dispatch = jax.jit(_lm_dispatch, static_argnums=(0, 3, 5, 6), compiler_options=opts)

        def run(c, n):
            return dispatch(model, data, c, n, tol, lm, shards)
    elif solver == "cg":
        carry = jax.jit(gn_init, static_argnums=(0, 3, 4), compiler_options=opts)(
            model, data, theta, lm, shards
        )
        dispatch = jax.jit(gn_dispatch, static_argnums=(0, 3, 5, 6, 7), compiler_options=opts)

        def run(c, n):
            return dispatch(model, data, c, n, tol, lm, cg, shards)
    else:
        opt = _optimizer(method, learning_rate)
        lbfgs = method == "lbfgs"
        carry = jax.jit(_opt_init, static_argnums=(0, 3, 4, 5), compiler_options=opts)(
            model, data, theta, opt, float(divergence), shards
        )
        dispatch = jax.jit(_opt_dispatch, static_argnums=(0, 3, 4, 6, 7), compiler_options=opts)

        def run(c, n):
            return dispatch(model, data, c, opt, n, tol, lbfgs, shards)

    if not np.isfinite(distributed.to_host(carry.loss)):
        raise ValueError("the initial loss is not finite: check the equation, data and θ")

    key_data = jax.random.key_data(key) if key is not None else np.zeros((0,), np.uint32)
    done, losses = 0, []
    if resume is not None:
        path = checkpoint if resume is True else resume
        if resume is not True or os.path.exists(path):
            carry, done, losses = _load_checkpoint(path, carry, fingerprint)
            if mesh is not None:
                carry = distributed.replicate(carry, mesh)

    if steps_per_call is None:
        if checkpoint_every is not None:
            steps_per_call = checkpoint_every
        elif callback or progress or time_limit:
            steps_per_call = max(1, steps // (100 if time_limit else 20))
        else:
            steps_per_call = steps
    if checkpoint_every is not None:
        steps_per_call = min(steps_per_call, checkpoint_every)
    adapt = tuple(adapt or ())
    records: list = []
    if adapt:
        if mesh is not None or resume is not None:
            raise ValueError("adapt= cannot be combined with mesh= or resume= yet: the adapted "
                             "points are neither sharded nor checkpointed")  # fmt: skip
        steps_per_call = min([steps_per_call] + [a.every for a in adapt])
        if solver == "optax":
            loss_jit = jax.jit(lambda d, t: model.loss(t, d))

            def relinearize(c, d):  # keep the optimiser state; the loss is the new data's
                return c._replace(loss=loss_jit(d, c.theta))
        else:
            init_jit = jax.jit(_lm_init if solver == "dense" else gn_init,
                               static_argnums=(0, 3, 4), compiler_options=opts)  # fmt: skip

            def relinearize(c, d):  # same θ and damping, the new data's loss and derivatives
                kept = {f: getattr(c, f) for f in ("mu", "nu", "cg_iters") if hasattr(c, f)}
                return init_jit(model, d, c.theta, lm, shards)._replace(**kept)

    host = distributed.to_host
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
            taken = int(host(taken))
            losses.extend(host(hist)[:taken].tolist())
            done += taken
            since_ckpt += taken
            carry = new
            loss = float(host(carry.loss))
            if bar is not None:
                bar.update(taken)
                bar.set_postfix(loss=f"{loss:.3e}")
            finite_theta = bool(np.all(np.isfinite(host(carry.theta))))
            if checkpoint is not None and finite_theta and (
                since_ckpt >= (checkpoint_every or steps_per_call) or done >= steps
            ):
                _save_checkpoint(checkpoint, carry, done, losses, key_data, fingerprint)
                since_ckpt = 0
            if callback is not None:
                callback(done, loss, carry.theta if mesh is None else _local(carry.theta))
            if not np.isfinite(loss) or not finite_theta:
                stop = "diverged"
                break
            last_good = carry.theta
            if loss <= tol:
                stop = "converged"
                break
            if solver != "optax" and float(host(carry.mu)) >= lm.mu_max:
                stop = "stalled"
                break
            if time_limit is not None and time.perf_counter() - t_start >= time_limit:
                stop = "time"
                break
            if taken < n:  # the loop ended early for a reason checked above
                break
            changed = False
            for a in adapt:  # strategies change the data between dispatches, shapes kept
                if done < steps and done // a.every > (done - taken) // a.every:
                    data, rec = a(model, data, carry.theta, done // a.every)
                    records.append(dict(rec, step=done, strategy=type(a).__name__))
                    changed = True
            if changed:
                carry = relinearize(carry, data)
    except KeyboardInterrupt:
        if checkpoint is not None and bool(np.all(np.isfinite(host(carry.theta)))):
            _save_checkpoint(checkpoint, carry, done, losses, key_data, fingerprint)
        raise
    finally:
        if bar is not None:
            bar.close()

    theta = carry.theta if bool(np.all(np.isfinite(host(carry.theta)))) else last_good
    if mesh is not None:
        theta = _local(theta)
    loss = float(host(carry.loss))
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
    if solver != "optax":
        info["solver"] = solver
    if solver == "cg":
        info["cg_iters"] = int(host(carry.cg_iters))
    if mesh is not None:
        info["devices"] = int(mesh.devices.size)
    history = {"loss": np.asarray(losses)}
    if adapt:
        history["adapt"] = records
        info["points_final"] = np.asarray(data.x)
    return Trained(theta, history, status, info)


def _local(x):
    """A replicated (possibly multi-process) array as an ordinary array on the default device."""
    return jnp.asarray(distributed.to_host(x))


def _solver(model, method, num_params: int, cfg: LMConfig) -> str:
    """"dense" (Cholesky on JᵀJ), "cg" (matrix-free) or "optax" for ``method``."""
    if method == "gn-cg":
        return "cg"
    if method == "lm":
        big = num_params > cfg.dense_max_params
        return "cg" if big and hasattr(model, "linearize") else "dense"
    return "optax"


def _progress(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc="nnpde")
