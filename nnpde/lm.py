"""Levenberg-Marquardt on the exact residual Jacobian: :class:`LM` and :class:`GaussNewtonCG`.

Each step solves the damped Gauss-Newton system

    (JᵀJ + μ D) δ = -Jᵀr

for the residuals r (R,) and their Jacobian J (R, NT) at θ, by Cholesky on the formed JᵀJ
("dense", :meth:`nnpde.collocation.Collocation.gram` accumulates it over blocks of points) or
by preconditioned conjugate gradients on J v / Jᵀu products ("cg", :mod:`nnpde.matfree`). The
step is accepted when it lowers the loss ½·mean(r²); μ follows Nielsen's rule (H. B. Nielsen,
IMM-REP-1999-05) from the gain ratio ρ of actual to predicted decrease. D is Moré's scaling
(J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and theory", 1978, the
scaling of MINPACK's lmder): the running maximum over the accepted iterates of diag(JᵀJ), so a
parameter whose column of J is momentarily small keeps the damping it had (see
:class:`LM` for why this is the default).

The convergence tests are MINPACK's (``ftol`` on the relative decrease, ``xtol`` on the relative
step, ``gtol`` on the largest cosine between r and a column of J), and a run that can make no
more progress, by those tests, by the damping reaching ``mu_max``, or by the loss falling less
than ``stall`` over ``stall_window`` steps, ends ``converged`` when its loss is at most
``rtol`` times the reference loss (that of the network N = 0, or of θ0 if larger), or when
that reference is itself round-off (:func:`good_loss`), and ``stalled`` otherwise. Everything
is decided in the jitted step: the state's ``result`` says why the run ended
(:class:`nnpde.results.RESULTS`).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from nnpde.matfree import CGConfig, pcg
from nnpde.results import RESULTS

__all__ = ["LM", "GaussNewtonCG", "LMState", "good_loss"]

Array = jax.Array
SCALINGS = ("more", "marquardt", "identity")
# the tests that end a run, in the order of LMState.test (0: none yet)
TESTS = ("", "atol", "ftol", "xtol", "gtol", "mu_max", "stall window", "polished")
STEPS = ("auto", "dense", "cg")
# The reference loss is round-off when its RMS residual is at most ROUNDOFF·eps times the
# largest column of J in RMS over the rows (the residual one unit of a parameter makes)
ROUNDOFF = 100.0


class LMState(NamedTuple):
    """The state of an LM run between steps (what a checkpoint holds); fixed shapes."""

    theta: Array  # (NT,)
    loss: Array  # () ½·mean(r²) at theta
    blocks: Array  # (n_blocks,) the loss per residual block
    JTr: Array  # (NT,) Jᵀr at theta (summed over residuals, not divided by R)
    gram: Array  # (NT, NT) JᵀJ (dense step) or (NT,) diag(JᵀJ) (cg step)
    scale: Array  # (NT,) the damping's diagonal D
    mu: Array  # () damping μ
    nu: Array  # () Nielsen's rejection factor
    ref: Array  # () reference loss for "converged" vs "stalled"
    window: Array  # () loss at the start of the current stall window
    slow: Array  # () int32 consecutive good windows in which the loss fell < polish×
    steps: Array  # () int32 steps taken
    accepted: Array  # () bool: the last step was accepted
    step_norm: Array  # () |δ| of the last step
    cg_iters: Array  # () int32 CG iterations of the last step (0 for dense)
    result: Array  # () int32 RESULTS member (running until the run ends)
    test: Array  # () int32 which test ended the run: an index into TESTS (0: none)


def _positive(obj, *names):
    for name in names:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v != v \
                or v == float("inf"):  # fmt: skip
            raise ValueError(f"{type(obj).__name__}.{name} must be a finite number > 0, "
                             f"got {v!r}")  # fmt: skip


def _nonnegative(obj, *names):
    for name in names:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 \
                or v == float("inf"):  # fmt: skip
            raise ValueError(f"{type(obj).__name__}.{name} must be a finite number >= 0, "
                             f"got {v!r}")  # fmt: skip


def _positive_int(obj, name):
    v = getattr(obj, name)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{type(obj).__name__}.{name} must be a positive int, got {v!r}")


@dataclasses.dataclass(frozen=True)
class LM:
    """Levenberg-Marquardt with the exact Jacobian (static settings; a solver object).

    Convergence and stalls (see the module docstring):
      atol: converged once the loss ½·mean(r²) is at most ``atol`` (0: off).
      ftol: no progress once an accepted step's actual and predicted relative decreases of
        the loss are both at most ``ftol`` (at least 10 ulps of the dtype).
      xtol: no progress once an accepted step has |δ| ≤ xtol·(|θ| + xtol).
      gtol: no progress once max_j |J_jᵀr| / (|J_j| |r|) ≤ gtol.
      stall_window, stall: no progress once the loss fell by less than the fraction
        ``stall`` over ``stall_window`` steps. The default, 15 % over 100 steps, is where
        1000 more steps at that rate would lower the loss less than 5× (the error, which
        goes as its square root, less than 2.3×): the step cap would change little, so the
        run ends ``stalled`` (or ``converged`` when its loss is good) rather than running on
        to ``max_steps``. It was 1e-3 (230 000 steps per factor 10): slowly converging runs
        (``poisson_10d``, ``poisson_holes``: 6–10 % per 100 steps) then always ended
        ``max_steps``.
      rtol: a run without progress is ``converged`` when its loss is at most ``rtol`` times
        the reference loss (of N = 0 or θ0, whichever is larger), else ``stalled``.
      polish, polish_windows: once the loss is at most rtol·reference, a run whose loss fell
        by less than the factor ``polish`` in each of ``polish_windows`` consecutive windows
        of ``stall_window`` steps has converged. LM's progress comes in bursts: with one
        window (the previous rule) Lagaris ODE 4 (2×16, 512 points) ended at loss 1.6e-12 and
        rel-L2 2.4e-3 after one slow window (1.5×), while the next windows fell 3.4×, 15×,
        12× to 2e-16 and 1.7e-6; seed 6 likewise 1.3e-3 → 6.7e-9. :func:`nnpde.solve`
        applies the same rule to the validated loss too (interior residuals at points not
        trained on; :class:`nnpde.hooks.ValidatedPolish`): a run still lowering its loss at
        the points but no longer between them has converged.

    Damping:
      mu0, mu_min, mu_max: initial, least and largest μ; μ ≥ ``mu_max`` without a decrease
        is no progress.
      mu_singular: least μ after a failed factorisation (non-finite δ).
      scaling: the diagonal D. ``"more"`` (default): the running maximum of diag(JᵀJ) over
        accepted iterates (MINPACK). ``"marquardt"``: diag(JᵀJ) with the floor
        ``eps``·max diag(JᵀJ), today's value only; ``"identity"``: D = max diag(JᵀJ)·I.
        With Marquardt's scaling a parameter whose column of J is nearly zero at θ gets
        almost no damping, LM steps far along it, and the loss's curvature there (invisible
        to JᵀJ) makes every step fail until μ reaches its cap: on an inconsistent problem
        (``u - 1 = 0`` inside, Lagaris PDE 1's boundary data) that stopped the run at loss
        3.7e-2 after 20 steps, while Moré's scaling goes on below 1e-6.
      eps: the floor of D relative to its largest entry (all scalings).
      geodesic: geodesic acceleration (Transtrum & Sethna, arXiv:1201.5885): the step
        δ + a/2 with a = -(JᵀJ + μD)⁻¹Jᵀr'' is taken when |a|_D ≤ geodesic·|δ|_D (0: off;
        dense step only). r'' by a finite difference along δ with step ``geodesic_h``.

    Linear algebra:
      linear_solver: ``"dense"`` (form JᵀJ, Cholesky), ``"cg"`` (matrix-free, :mod:`nnpde.matfree`)
        or ``"auto"``: dense while NT ≤ ``dense_max_params`` (8192: where both cost about
        the same per step on the 2-core CPU, ``benchmarks/results/scaling-cpu.md``), else cg
        when the model has J v / Jᵀu products.
      cg: the :class:`~nnpde.CGConfig` of the matrix-free step.

    Example:
      >>> import nnpde
      >>> nnpde.LM(geodesic=0.75).linear_solver
      'auto'
    """

    atol: float = 0.0
    ftol: float = 1e-10
    xtol: float = 1e-10
    gtol: float = 1e-10
    rtol: float = 1e-10
    stall_window: int = 100
    stall: float = 0.15
    polish: float = 2.0
    polish_windows: int = 2
    mu0: float = 1e-3
    mu_min: float = 1e-15
    mu_max: float = 1e12
    mu_singular: float = 1e-6
    scaling: str = "more"
    eps: float = 1e-12
    geodesic: float = 0.75
    geodesic_h: float = 0.1
    linear_solver: str = "auto"
    dense_max_params: int = 8192
    cg: CGConfig = CGConfig()  # noqa: RUF009 (frozen, hashable)

    def __post_init__(self):
        _positive(self, "mu0", "mu_min", "mu_max", "mu_singular", "geodesic_h", "eps")
        _nonnegative(self, "atol", "ftol", "xtol", "gtol", "rtol", "stall", "geodesic")
        _positive(self, "polish")
        _positive_int(self, "stall_window")
        _positive_int(self, "polish_windows")
        _positive_int(self, "dense_max_params")
        if not self.mu_min < self.mu0 < self.mu_max:
            raise ValueError(f"{type(self).__name__} needs mu_min < mu0 < mu_max, got "
                             f"{self.mu_min!r}, {self.mu0!r}, {self.mu_max!r}")  # fmt: skip
        if self.scaling not in SCALINGS:
            raise ValueError(f"LM.scaling must be one of {SCALINGS}, got {self.scaling!r}")
        if self.linear_solver not in STEPS:
            raise ValueError(f"{type(self).__name__}.linear_solver must be one of {STEPS}, "
                             f"got {self.linear_solver!r}")  # fmt: skip
        if not isinstance(self.cg, CGConfig):
            raise TypeError(f"LM.cg must be a CGConfig, got {type(self.cg).__name__}")

    # ---- the solver protocol --------------------------------------------------------------
    name = "lm"

    def dense(self, objective, num_params: int) -> bool:
        """True when the step forms JᵀJ (static: from the settings, NT and the model)."""
        if self.linear_solver != "auto":
            return self.linear_solver == "dense"
        return num_params <= self.dense_max_params or not hasattr(objective.model, "linearize")

    def init(self, objective, data, theta) -> LMState:
        """The state at θ0: loss, blocks, Jᵀr, JᵀJ (or its diagonal), μ0."""
        dt = theta.dtype
        loss, blocks, JTr, gram = _relinearize(self, objective, data, theta)
        zero_net = objective.half_mean_sq(objective.residuals(jnp.zeros_like(theta), data))
        ref = jnp.maximum(loss, zero_net)
        diag = _diag(gram)
        scale = jnp.maximum(diag, self.eps * jnp.max(diag))
        zero = jnp.zeros((), dt)
        return LMState(theta, loss, blocks, JTr, gram, scale, jnp.asarray(self.mu0, dt),
                       jnp.asarray(2.0, dt), ref, loss, jnp.zeros((), jnp.int32),
                       jnp.zeros((), jnp.int32), jnp.asarray(True), zero, jnp.zeros((), jnp.int32),
                       _initial_result(self, loss, JTr), jnp.zeros((), jnp.int32))  # fmt: skip

    def step(self, objective, data, s: LMState) -> LMState:
        """One LM iteration (accepted or rejected), with its termination test."""
        dt = s.theta.dtype
        damp = s.mu * s.scale  # μD
        delta, iters, pred, factor = _solve_step(self, objective, data, s, damp)
        ok = jnp.all(jnp.isfinite(delta))
        delta = jnp.where(ok, delta, 0.0)
        cand = s.theta + delta
        if self.geodesic > 0 and factor is not None:
            cand = cand + 0.5 * _geodesic(self, objective, data, s, delta, factor)
        new_loss = objective.half_mean_sq(objective.residuals(cand, data))
        rho = (s.loss - new_loss) / jnp.where(pred > 0, pred, jnp.inf)
        accept = ok & jnp.isfinite(new_loss) & (new_loss < s.loss)

        def on_accept(_):
            loss, blocks, JTr, gram = _relinearize(self, objective, data, cand)
            mu = jnp.maximum(s.mu * jnp.maximum(1 / 3, 1 - (2 * rho - 1) ** 3), self.mu_min)
            scale = _update_scale(self, s.scale, _diag(gram))
            return s._replace(theta=cand, loss=loss, blocks=blocks, JTr=JTr, gram=gram,
                              scale=scale, mu=mu, nu=jnp.asarray(2.0, dt))  # fmt: skip

        def on_reject(_):
            mu = s.mu * s.nu
            mu = jnp.where(ok, mu, jnp.maximum(mu, self.mu_singular))
            return s._replace(mu=mu, nu=s.nu * 2)

        new = jax.lax.cond(accept, on_accept, on_reject, None)
        new = new._replace(steps=s.steps + 1, accepted=accept,
                           step_norm=jnp.sqrt(delta @ delta), cg_iters=iters)  # fmt: skip
        return _terminate_step(self, new, s, pred, objective.shards.nres)

    def terminate(self, state: LMState):
        """(done, result): the state's result, decided in :meth:`step`."""
        return state.result != RESULTS.running, state.result

    def record(self, objective, state: LMState) -> dict:
        """Per-step diagnostics for the history (scalars and the block losses); the gradient
        is that of the loss, Jᵀr/R."""
        grad = state.JTr / objective.shards.nres
        return {"loss": state.loss, "blocks": state.blocks, "mu": state.mu,
                "accepted": state.accepted, "step_norm": state.step_norm,
                "grad_norm": jnp.sqrt(grad @ grad), "cg_iters": state.cg_iters}  # fmt: skip

    def detail(self, state: LMState) -> str:
        """Which test ended the run, in words (for the status line)."""
        test = TESTS[int(state.test)]
        if not test:
            return ""
        return {"mu_max": f"damping μ reached mu_max={self.mu_max:g} without a decrease",
                "stall window": f"the loss fell by less than {self.stall:.0%} over the last "
                                f"{self.stall_window} steps",
                "polished": f"the loss fell by less than a factor {self.polish:g} in each "
                            f"of {self.polish_windows} windows of {self.stall_window} steps",
                }.get(test, f"{test} test")  # fmt: skip

    def reinit(self, objective, data, state: LMState) -> LMState:
        """The state at the same θ with new data (adaptive points): loss and derivatives
        again, damping and counters kept."""
        loss, blocks, JTr, gram = _relinearize(self, objective, data, state.theta)
        return state._replace(loss=loss, blocks=blocks, JTr=JTr, gram=gram, window=loss,
                              slow=jnp.zeros_like(state.slow))  # fmt: skip


@dataclasses.dataclass(frozen=True)
class GaussNewtonCG(LM):
    """:class:`LM` whose step is always solved matrix-free by preconditioned conjugate
    gradients (``linear_solver="cg"``): memory O(R + NT), neither J nor JᵀJ formed.

    Example:
      >>> import nnpde
      >>> nnpde.GaussNewtonCG().linear_solver
      'cg'
    """

    linear_solver: str = "cg"
    name = "gn-cg"

    def __post_init__(self):
        super().__post_init__()
        if self.linear_solver != "cg":
            raise ValueError(f"GaussNewtonCG.linear_solver is 'cg', got "
                             f"{self.linear_solver!r}; use LM for the dense step")  # fmt: skip


# ---- pieces of the step --------------------------------------------------------------------
def _diag(gram):
    return jnp.diag(gram) if gram.ndim == 2 else gram


def _update_scale(cfg: LM, scale, diag):
    if cfg.scaling == "more":
        new = jnp.maximum(scale, diag)
    elif cfg.scaling == "marquardt":
        new = diag
    else:
        new = jnp.full_like(diag, jnp.max(diag))
    return jnp.maximum(new, cfg.eps * jnp.max(new))


def _relinearize(cfg: LM, objective, data, theta):
    """(loss, blocks, Jᵀr, JᵀJ or diag(JᵀJ)) at θ."""
    if cfg.dense(objective, theta.shape[0]):
        r, JTJ, JTr = objective.gram(theta, data)
        return objective.half_mean_sq(r), objective.blocks(r, data), JTr, JTJ
    r, _, vjp = objective.linearize(theta, data)
    return (objective.half_mean_sq(r), objective.blocks(r, data), vjp(r),
            objective.gram_diagonal(theta, data))  # fmt: skip


def _solve_step(cfg: LM, objective, data, s: LMState, damp):
    """(δ, CG iterations, predicted decrease of ½·mean(r²), the Cholesky factor of the dense
    step or None) for (JᵀJ + diag(damp)) δ = -Jᵀr."""
    nres = objective.shards.nres
    if s.gram.ndim == 2:
        cf = jax.scipy.linalg.cho_factor(s.gram + jnp.diag(damp))
        delta = -jax.scipy.linalg.cho_solve(cf, s.JTr)
        pred = -(delta @ s.JTr + 0.5 * delta @ (s.gram @ delta)) / nres
        return delta, jnp.zeros((), jnp.int32), pred, cf
    _, jvp, vjp = objective.linearize(s.theta, data)

    def matvec(p):
        return vjp(jvp(p)) + damp * p

    delta, iters = pcg(matvec, -s.JTr, 1.0 / (s.gram + damp), cfg.cg)
    delta = jnp.where(jnp.all(jnp.isfinite(delta)), delta, jnp.nan)
    Jd = jvp(jnp.nan_to_num(delta))
    pred = -(jnp.nan_to_num(delta) @ s.JTr + objective.shards.sum(0.5 * (Jd @ Jd))) / nres
    return delta, iters.astype(jnp.int32), pred, None


def _geodesic(cfg: LM, objective, data, s: LMState, delta, cf):
    """a = -(JᵀJ + μD)⁻¹ Jᵀr'' when |a|_D ≤ geodesic·|δ|_D, else 0 (Transtrum & Sethna);
    ``cf`` is the step's Cholesky factor of JᵀJ + μD (not formed twice)."""
    h = jnp.asarray(cfg.geodesic_h, delta.dtype)
    r_h = objective.residuals(s.theta + h * delta, data)
    r, jvp, vjp = objective.linearize(s.theta, data)
    rpp = (2 / h) * ((r_h - r) / h - jvp(delta))
    a = -jax.scipy.linalg.cho_solve(cf, vjp(rpp))
    size = lambda v: jnp.sqrt(jnp.sum(s.scale * v * v))  # noqa: E731
    take = jnp.all(jnp.isfinite(a)) & (size(a) <= cfg.geodesic * size(delta))
    return jnp.where(take, a, 0.0)


def _cosine(s: LMState, nres: int):
    """max_j |J_jᵀr| / (|J_j| |r|): MINPACK's gtol measure."""
    rnorm = jnp.sqrt(2.0 * nres * s.loss)
    cn = jnp.sqrt(_diag(s.gram))
    c = jnp.abs(s.JTr) / jnp.where(cn > 0, cn, 1.0) / jnp.where(rnorm > 0, rnorm, 1.0)
    return jnp.max(jnp.where(cn > 0, c, 0.0))


def good_loss(rtol, loss, ref, scale, nres):
    """Whether ``loss`` is good enough to call a run without progress converged: at most
    ``rtol`` times the reference loss ``ref``, or ``ref`` (of N = 0 or θ0) is itself
    round-off, ½·mean(r²) ≤ ½·(:data:`ROUNDOFF`·eps)²·max(D)/R with D the state's ``scale``
    (≈ the largest diag(JᵀJ) so far) and R = ``nres`` rows. Then the trial solution alone
    satisfies the problem (a Dirichlet datum given by the exact solution on a domain whose
    boundary data extend inside, :class:`nnpde.Disk`, :class:`nnpde.Polygon`), and no loss
    can be a factor ``rtol`` below round-off. Measured at θ0: RMS(r)/√(max D/R) is 4.7e-16
    for such a disk problem (loss 5.7e-31) and 0.2–1.4 for the reference of a 2-D Poisson,
    heat, Lagaris ODE, Kovasznay or inverse problem. A solution of tiny amplitude
    (u ~ 1e-10) keeps a reference of its own size, far above round-off (its start's output
    layer shrinks, its output columns of J do not)."""
    eps = jnp.finfo(jnp.result_type(ref)).eps
    roundoff = 0.5 * (ROUNDOFF * eps) ** 2 * jnp.max(scale) / nres
    return (loss <= rtol * ref) | (ref <= roundoff)


def _initial_result(cfg: LM, loss, JTr):
    bad = ~jnp.isfinite(loss) | ~jnp.all(jnp.isfinite(JTr))
    code = jnp.where(bad, RESULTS.nonfinite, RESULTS.running)
    return jnp.where(~bad & (loss <= cfg.atol), RESULTS.converged, code).astype(jnp.int32)


def window_test(cfg, steps, loss, window, good, slow=0, windows: int = 1):
    """(no progress, the new window's start loss, the new count of slow windows) at the end of
    each ``stall_window`` steps: the loss fell by less than the fraction ``stall``, or, once
    it is good (≤ rtol·ref), by less than the factor ``polish`` in each of the last
    ``windows`` windows (``slow`` counts them; LM passes its ``polish_windows``, the
    first-order solvers keep one)."""
    at_window = (steps % cfg.stall_window) == 0
    stalled = loss > (1 - cfg.stall) * window
    slow_now = good & (loss * cfg.polish > window)
    count = jnp.where(at_window, jnp.where(slow_now, slow + 1, 0), slow)
    polished = count >= windows
    return at_window & (stalled | polished), jnp.where(at_window, loss, window), count


def _terminate_step(cfg: LM, new: LMState, old: LMState, pred, nres: int) -> LMState:
    """``new`` with its result: converged, stalled, nonfinite or still running."""
    dt = new.loss.dtype
    ftol = jnp.maximum(jnp.asarray(cfg.ftol, dt), 10 * jnp.finfo(dt).eps)
    acc = new.accepted
    actred = old.loss - new.loss
    f_hit = acc & (actred <= ftol * old.loss) & (pred <= ftol * old.loss)
    x_hit = acc & (new.step_norm <= cfg.xtol * (jnp.sqrt(old.theta @ old.theta) + cfg.xtol))
    g_hit = _cosine(new, nres) <= cfg.gtol
    mu_hit = new.mu >= cfg.mu_max
    good = good_loss(cfg.rtol, new.loss, new.ref, new.scale, nres)
    w_hit, window, slow = window_test(cfg, new.steps, new.loss, new.window, good, new.slow,
                                      cfg.polish_windows)  # fmt: skip
    no_progress = f_hit | x_hit | g_hit | mu_hit | w_hit
    a_hit = new.loss <= cfg.atol
    test = jnp.select([a_hit, f_hit, x_hit, g_hit, mu_hit, w_hit & ~good, w_hit],
                      [1, 2, 3, 4, 5, 6, 7], 0)  # fmt: skip
    code = jnp.where(no_progress, jnp.where(good, RESULTS.converged, RESULTS.stalled),
                     RESULTS.running)  # fmt: skip
    code = jnp.where(new.loss <= cfg.atol, RESULTS.converged, code)
    code = jnp.where(jnp.isfinite(new.loss) & jnp.all(jnp.isfinite(new.JTr)), code,
                     RESULTS.nonfinite)  # fmt: skip
    return new._replace(window=window, slow=slow.astype(jnp.int32),
                        result=code.astype(jnp.int32),
                        test=test.astype(jnp.int32))
