"""``nnpde.solve``: a PDE problem trained at collocation points by a solver object
(:class:`nnpde.LM` by default; :class:`nnpde.GaussNewtonCG`, :class:`nnpde.Optax`,
:class:`nnpde.LBFGS`), on one device or with the points split over a device mesh.

The solvers and the driver that runs them are shared with :func:`nnpde.fit`
(:mod:`nnpde.engine`, :mod:`nnpde.runs`). A run ends when its solver's tests say converged or
stalled, or at the step cap, the time limit, a non-finite or diverging loss, or Ctrl-C:
``Solution.result`` is the :class:`nnpde.RESULTS` member, and θ is always the last healthy one.
"""

from __future__ import annotations

import functools
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import (
    _mappings,
    _nets,
    determinacy,
    distributed,
    engine,
    high_order,
    identifiability,
    runs,
    sampling,
)
from nnpde import march as marching
from nnpde._checks_solve import check_theta0
from nnpde.collocation import Collocation, CollocationData, make_collocation, residuals_jit
from nnpde.hooks import ValidatedPolish
from nnpde.lm import LM
from nnpde.problem import Problem
from nnpde.results import (
    RESULTS,
    UnderdeterminedWarning,
    UnderResolvedWarning,
    UnidentifiableWarning,
)
from nnpde.settings import ModelOptions, RunOptions, merge
from nnpde.solution import Solution

__all__ = ["solve"]


def _points(problem: Problem, points, key, dtype):
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        if points < 1:
            raise ValueError(f"points must be a positive int or an array (P, D), got {points}")
        return jnp.asarray(problem.domain.sample(int(points), key=key), dtype)
    arr = np.asarray(points) if points is not None else None
    if arr is None or arr.dtype.kind not in "iuf":
        what = "None" if points is None else f"of dtype {arr.dtype}"
        raise ValueError(f"points must be a positive int or a real array (P, D), got {what}")
    x = jnp.asarray(arr)
    if x.ndim == 2 and x.shape[0] == 0:
        raise ValueError("points is empty: give at least one collocation point")
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
    """Runs the equation at the points before training and checks the first point's residuals
    (shape and finiteness). All points, not the first alone: the compiled residuals are those
    the validation uses at as many points (:func:`_validation`), so set-up compiles them once."""
    r = np.asarray(residuals_jit(col, theta, data))
    n_points = int(data.x.shape[0])
    first = r[[e * n_points for e in range(getattr(col, "n_eq", 1))]] if n_points else r[:0]
    if not np.all(np.isfinite(first)):
        raise ValueError(
            "the equation returns a non-finite residual at the first collocation point "
            f"{np.asarray(data.x[0]).tolist()} (with the initial network): check the equation"
        )


def solve(
    problem: Problem,
    net,
    points,
    *,
    solver=None,
    key=None,
    theta0=None,
    starts: int = 1,
    restarts: int = 4,
    mesh=None,
    options: RunOptions | None = None,
    model: ModelOptions | None = None,
    **keywords,
) -> Solution:
    """Trains ``net`` so that ψ = A + B·N solves ``problem`` at collocation ``points``.

    Args:
      problem: the :class:`~nnpde.Problem`. Its functions are traced once per ``Problem``
        object: solves of the same object (other seeds, ``starts``) reuse the compiled
        programs, and a global constant those functions read is frozen at the first solve.
      net: a :class:`~nnpde.TwoLayerNet` with ``net.dim == problem.dim``, or a scalar
        :class:`~nnpde.MLP` (``sizes = (D, ..., 1)``; derivatives by autodiff).
      points: interior collocation points (P, D), or an int P (then Sobol' points).
      solver: a solver object — :class:`~nnpde.LM` (the default: Levenberg-Marquardt on the
        exact Jacobian, dense or matrix-free by size), :class:`~nnpde.GaussNewtonCG`,
        :class:`~nnpde.Optax` (any optax transformation), :class:`~nnpde.LBFGS` — holding
        its own settings (tolerances, damping, learning rate), or a shortcut: ``"lm"``,
        ``"gn-cg"``, ``"adam"`` (optax's Adam, learning rate 1e-3), ``"lbfgs"``, or an
        ``optax.GradientTransformation``.
        ``method=`` is its older name.
      key: PRNG key for θ's initialisation and sampled points (default ``jax.random.key(0)``).
      theta0: initial θ (NT,), used as it is; default ``net.init(key)`` per component, its
        first-layer hyperplanes moved to random points of the domain's bounding box on the
        axes where it reaches outside [-1, 1], its output layer scaled by 1/max|B| and then
        shrunk where it would add more to the residual than the problem has
        (``_spread_hyperplanes``, ``_output_scales``, ``_fit_output_scales``).
      starts: train this many initialisations (one after the other through one compiled
        program) and keep the one with the least loss when its interior residuals are taken
        at the validation points; ``info["starts"]`` lists every start (result, loss,
        steps, validation residual, that score, θ) and
        ``info["start"]`` says which was kept. Without ``theta0``, ``mesh``, ``adapt``,
        ``callback``, ``checkpoint``/``resume``; ``restarts`` is then not used.
      restarts: when a run stalls far above round-off (``RESULTS.stalled`` with a loss above
        the solver's ``rtol`` × the loss of the zero network: a saddle or a poor local
        minimum of the collocation loss), or ends with a residual between the points far
        above that at them (the validation residual; the net swings between the points),
        start again from a new initialisation (``jax.random.fold_in`` of the key), at most
        this many times (for the swing, once: when a second start swings too, the points
        are too few and more starts would not help); each attempt has the step cap
        ``steps`` and ``time_limit`` is the whole run's. The attempt kept is the one with
        the least loss, its interior residuals taken at the validation points, among those
        not restarted (among all when every attempt was); ``info["restarts"]`` lists the
        attempts with their ``restart_reason`` and ``history["attempt"]`` numbers each
        step's attempt. On an evolution problem (an ``Initial`` condition on an ``Interval``
        or a ``Box(..., time=True)``) every restart after two stalls first trains its new
        start on the first quarter, then the first half of the time horizon (:mod:`nnpde.march`;
        ``info["march"]``: the stages' results, losses and steps; their steps come first in
        the attempt's ``history``, ``history["horizon"]`` giving the fraction of the horizon,
        and share ``time_limit``; one device, no ``adapt``). Only without ``theta0``,
        ``checkpoint``/``resume`` and ``mesh`` (0 turns it off).
      mesh: a :class:`jax.sharding.Mesh` with a ``"points"`` axis
        (:func:`nnpde.distributed.make_mesh`): the interior points are split over its
        devices (their number must divide P), θ is replicated, and the sums over points
        (loss, JᵀJ, Jᵀr, JᵀJ·p) are reduced across devices. In a multi-process run
        (:func:`nnpde.distributed.initialize`) every process passes the same arguments and
        keeps only its own rows of the points.
        An int n (the first n devices) or a list of devices makes that mesh (``devices=``
        is the older name).
      options: a :class:`~nnpde.RunOptions`: how the run is driven (fields below).
      model: a :class:`~nnpde.ModelOptions`: how the collocation model is built (fields
        below).
      **keywords: any field of ``options`` or ``model`` by its name (``steps=300``,
        ``boundary_points=256``), replacing that field of the object given; ``method`` and
        ``devices`` as above. Any other name is refused with a TypeError.

    Run options (:class:`~nnpde.RunOptions`):
      steps: the step cap of each attempt (LM iterations, accepted or not). Default: high
        enough that a run ends by its own convergence and stall tests (2000 for LM, 20000
        for optax, 5000 for L-BFGS); a run cut by it ends ``max_steps``.
      steps_per_call: steps per jitted dispatch (default: up to 1000); with ``callback``,
        ``progress`` or ``time_limit`` the run is split into dispatches of this many steps.
      callback: ``callback(step, loss, theta)`` after each dispatch.
      progress: show a tqdm progress bar (``pip install nnpde[progress]``).
      time_limit: end the run (``RESULTS.time_limit``) after the first dispatch that ends
        past this many seconds (dispatches are then ~steps/100 steps).
      checkpoint: a path: the full solver state, step count, history and key are written
        there atomically every ``checkpoint_every`` steps, at the end, and on Ctrl-C.
      checkpoint_every: steps between checkpoints (default: each dispatch).
      resume: a checkpoint path to continue from, or True to continue from ``checkpoint`` if
        that file exists (else start afresh). The solver and its settings, the network, the
        problem's structure and equation, the points and the dtype must match (a
        :class:`~nnpde.FileFormatError` names what differs); ``steps`` counts from the start
        of the original run. With the same ``checkpoint_every``, a resumed run ends with
        exactly the θ of an uninterrupted one.

    Model options (:class:`~nnpde.ModelOptions`):
      backend: "kernels" (hand-written derivatives; the default for ``TwoLayerNet``) or
        "autodiff" (same numbers; the only choice for an ``MLP``).
      boundary_points: boundary points of each condition imposed by penalty (Neumann,
        Robin, Dirichlet not imposed exactly), spread over that condition's own faces (so a
        condition on one face of four gets them all), and point pairs of each periodic
        condition; a condition's own ``points=`` overrides it. Default (None): each condition's
        part of the boundary sampled about as finely as the interior, S·(P/V)^((D-1)/D)
        points for a part of measure S of a domain of volume V, at least 64 and at most P/4:
        64 in 1-D, for P ≤ 256 and for one face of the unit square with P = 1024; 128 for
        the whole square's boundary; 512 for the whole of [0, 1]⁵ with P = 2048
        (:func:`nnpde.penalties.condition_count`).
      adapt: strategies that change the collocation data between dispatches without changing
        any shape (nothing recompiles): :class:`nnpde.adaptive.ResidualAdaptive` and
        :class:`nnpde.adaptive.GradientBalance`; what they did is in ``info["adapt"]`` and
        the final points in ``info["points_final"]``.

    Returns:
      A :class:`~nnpde.Solution`: ``result`` (a :class:`~nnpde.RESULTS` member) says why the
      run ended, ``status`` says it in words, ``history`` holds per-step diagnostics and
      ``diagnose()`` summarises them. Ctrl-C ends the run ``interrupted`` and returns it.

    Warns:
      :class:`~nnpde.UnderdeterminedWarning`: fewer conditions on an axis's faces than the
      equation's order (≥ 3) in it (:mod:`nnpde.determinacy`), before the run.
      :class:`~nnpde.UnderResolvedWarning`: the kept run's residual between the points is far
      above that at them (``info["validation"]["under_resolved"]``), whatever its result.
      :class:`~nnpde.UnidentifiableWarning`: an inverse problem's coefficients are not
      determined by its residuals (``info["identifiability"]``, :mod:`nnpde.identifiability`;
      one device).

    Example:
      >>> import jax, nnpde
      >>> problem = nnpde.problems.lagaris_pde1().problem
      >>> sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (10, 10)), problem.domain.grid(10))
      >>> sol.result == nnpde.RESULTS.converged, sol.errors()["max_abs"] < 1e-6
      (True, True)
    """
    method, devices = keywords.pop("method", None), keywords.pop("devices", None)
    opts = merge(RunOptions, options, keywords, "options")
    model = merge(ModelOptions, model, keywords, "model")
    runs.check_legacy(keywords, "solve")
    _mappings.release_if_crowded()  # before ≈100 runs' programs crash the process
    t_start = time.perf_counter()
    mesh = distributed.resolve_mesh(mesh, devices)
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a nnpde.Problem, got {type(problem).__name__}")
    the_solver = runs.pick_solver(solver, method)
    _check_key(key)
    backend = _check_net(problem, net, model.backend)
    boundary_points, adapt = model.boundary_points, model.adapt
    key = jax.random.key(0) if key is None else key
    k_init, k_pts, _ = jax.random.split(key, 3)  # (k_bnd: kw_model splits it again)
    theta, asked = _theta0(problem, net, theta0, k_init, points)
    runs.warn_float32(theta.dtype, asked)
    x = _points(problem, points, k_pts, theta.dtype)
    kw = kw_model(boundary_points, key, backend, theta.dtype)
    col, data = _model(problem, net, x, mesh, kw)
    _check_first_point(col, theta, data)
    _warn_if_underdetermined(problem, col)
    if mesh is not None:
        data = distributed.shard_data(data, col.shard_specs(data, distributed.AXIS), mesh,
                                      local=True)  # fmt: skip
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 0:
        raise ValueError(f"restarts must be an int >= 0, got {restarts!r}")
    if any(v is not None for v in (theta0, opts.checkpoint, opts.resume, mesh)):
        restarts = 0
    _check_starts(starts, theta0=theta0, mesh=mesh, adapt=adapt, callback=opts.callback,
                  checkpoint=opts.checkpoint, resume=opts.resume)  # fmt: skip

    scales = _output_scales(col, data) if theta0 is None else None

    def new_start(i):
        k = k_init if i == 0 else jax.random.fold_in(k_init, i)
        t = theta if i == 0 else _theta0(problem, net, None, k, points)[0].astype(theta.dtype)
        return t if scales is None else _default_start(problem, net, col, data, t, k, scales)

    new_theta = _marching(problem, net, the_solver, col, x, kw, new_start,
                          mesh is None and not adapt)  # fmt: skip

    data_val = _validation_data(problem, net, x, kw) if mesh is None else None
    hooks = _validated_polish(the_solver, col, data_val)
    if starts > 1:
        thetas = [new_start(i) for i in range(int(starts))]
        runs_ = runs.execute_starts(the_solver, col, data, thetas, opts, key=key, hooks=hooks)
        run = _best_start(col, runs_, _validation(col, runs_, data_val))
    else:
        judge = runs.stall_verdict if mesh is not None else functools.partial(
            _verdict, col, data_val)  # fmt: skip
        run = runs.execute_restarting(the_solver, col, data, opts, new_theta, int(restarts),
                                      judge=judge, mesh=mesh, key=key, adapt=adapt,
                                      hooks=hooks)  # fmt: skip
        _note_marches(run)
    sol = _solution(problem, net, col, data, run, x, time.perf_counter() - t_start)
    _warn_if_under_resolved(sol.info.get("validation"))
    if problem.params and mesh is None:
        sol.info["identifiability"] = identifiability.check(
            col, sol.theta, data, problem.param_names, getattr(run.state, "gram", None))
        _warn_if_unidentifiable(sol.info["identifiability"])
    return sol


def _marching(problem, net, solver, col, x, kw, new_start, allowed: bool):
    """``new_theta(i, reasons, options) -> (θ, stages)`` for
    :func:`nnpde.runs.execute_restarting`: a new start, trained in time stages
    (:mod:`nnpde.march`) first once ``marching.AFTER_STALLS`` attempts have stalled on an
    evolution problem (one device, no adaptive points); ``stages`` are the records of those
    runs (:func:`nnpde.march.marcher`)."""
    march = None
    if allowed:
        march = marching.marcher(problem, lambda d, t, o: runs.execute(solver, col, d, t, o),
                                 lambda pts: _model(problem, net, pts, None, kw)[1], x)

    def new_theta(i, reasons, options):
        theta = new_start(i)
        if march is None or reasons.count("stalled") < marching.AFTER_STALLS:
            return theta, []
        return march(theta, options)

    return new_theta


def _note_marches(run) -> None:
    """Says in the run's detail which attempts were marched in time (``info["march"]``,
    :func:`nnpde.runs.merge_attempts`)."""
    if not run.info.get("march"):
        return
    which = ", ".join(str(m["attempt"] + 1) for m in run.info["march"])
    extra = (f"attempt(s) {which} trained first on the first "
             + ", ".join(f"{f:g}" for f in marching.STAGES) + " of the time horizon")
    run.detail = f"{run.detail}; {extra}" if run.detail else extra


def _check_starts(starts, **refused) -> None:
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise ValueError(f"starts must be a positive int, got {starts!r}")
    if starts > 1:
        for name, value in refused.items():
            if not (value is None or value is False or (isinstance(value, tuple) and not value)):
                raise ValueError(f"starts={starts} cannot be combined with {name}= (several "
                                 f"starts run without it); use starts=1")  # fmt: skip


def _best_start(col, runs_: list, validations: list):
    """The start with the least validated loss (:func:`_validated_loss`), with every start
    listed in its info."""
    scores = [_validated_loss(col, r, v["validation_rms"]) for r, v in zip(runs_, validations)]
    i = int(np.argmin(scores))
    best = runs_[i]
    best.info["validation"] = validations[i]
    best.info["start"] = i
    best.info["starts"] = [
        {"start": j, "result": r.result.name, "loss": r.loss, "steps": r.done,
         "validation_rms": v["validation_rms"], "score": score, "theta": np.asarray(r.theta())}
        for j, (r, v, score) in enumerate(zip(runs_, validations, scores))]  # fmt: skip
    extra = f"start {i + 1} of {len(runs_)}, least validated loss"
    best.detail = f"{best.detail}; {extra}" if best.detail else extra
    return best


def kw_model(boundary_points, key, backend, dtype) -> dict:
    k_bnd = jax.random.split(key, 3)[2]
    return dict(boundary_points=boundary_points, key=k_bnd, backend=backend, dtype=dtype)


def _validation_data(problem, net, x, kw) -> CollocationData:
    """The model's data at as many points as x (P, D) that are not trained on (a Sobol' set
    drawn with another key): built once per solve, for every attempt or start."""
    x_val = jnp.asarray(problem.domain.sample(int(x.shape[0]), key=jax.random.key(7919)),
                        x.dtype)  # fmt: skip
    return _model(problem, net, x_val, None, kw)[1]


def _validated_polish(solver, col, data_val) -> tuple:
    """LM's polish rule on the validated loss (:class:`nnpde.hooks.ValidatedPolish`), for an
    LM run on one device (no validation set on a mesh; the first-order solvers keep theirs)."""
    if data_val is None or not isinstance(solver, LM):
        return ()

    def score(run):
        return _validated_loss(col, run, _interior_rms(col, run.theta(), data_val))

    return (ValidatedPolish(score, solver.stall_window, solver.polish, solver.polish_windows,
                            solver.rtol),)  # fmt: skip


def _interior_rms(col, theta, data: CollocationData) -> float:
    """RMS of the equation's residuals (the interior rows) at θ on ``data``."""
    r = np.asarray(residuals_jit(col, theta, data))
    return float(np.sqrt(np.mean(r[: _interior_rows(col, data)] ** 2)))


def _interior_rows(col, data: CollocationData) -> int:
    """How many of the residuals are the equation's at the interior points (they come first)."""
    return sum(int(n) for name, n in col.blocks(data) if name.startswith("interior"))


def _validation(col, runs_: list, data_val: CollocationData) -> list[dict]:
    """Per run: the interior residual's RMS at the training points and at the validation
    points ``data_val`` (:func:`_validation_data`), and their ratio: ≫ 1 says the points
    under-resolve the solution (``under_resolved``, by :func:`_swings`)."""
    eps = float(jnp.finfo(data_val.x.dtype).eps)
    out = []
    for run in runs_:
        theta = run.theta()
        train, val = (_interior_rms(col, theta, d) for d in (run.data, data_val))
        ratio = val / train if train > 0 else (np.inf if val > 0 else 1.0)
        scale = float(np.sqrt(2 * float(distributed.to_host(getattr(run.state, "ref", 0.0)))))
        under = _swings(ratio, val / max(scale, 1e-300), eps)
        out.append({"points": int(data_val.x.shape[0]), "train_rms": train, "validation_rms": val,
                    "ratio": float(ratio), "under_resolved": under})  # fmt: skip
    return out


def _swings(ratio: float, level: float, eps: float) -> bool:
    """Whether the validation says the points under-resolve the solution: the interior
    residual's RMS between the points is ``ratio`` times that at them and ``level`` times the
    reference residual's RMS (of N = 0 or θ0).

    A ratio above 10 counts at a level above 1e-5; a ratio above 1000 at any level above
    √eps (round-off, where the ratio of two tiny RMS means nothing). The second clause is for
    problems whose error is far larger than their residual: Lagaris ODE 4 (an IVP whose
    linearisation grows ~5000x over [0, 3]; 2×16, 1024 points, seed 3) converged at a
    training RMS of 3.0e-9 and a validation RMS of 3.6e-5 (ratio 1.2e4, level 9e-6) with
    rel-L2 7.9e-2, and the first clause alone did not flag it."""
    return bool((ratio > 10 and level > 1e-5) or (ratio > 1e3 and level > np.sqrt(eps)))


def _verdict(col, data_val: CollocationData, run) -> tuple[str, float]:
    """Whether to start ``run`` again, and its score (less is better): a stall far above
    round-off (:func:`nnpde.runs.stall_verdict`), or a residual between the points far above
    that at them (``under_resolved``: the net fits the points and swings between them, which
    another initialisation on the same points usually does not: damped oscillator, 512
    points, seed 9: rel-L2 0.59 with a ratio of 8.5e6, 9 of 10 seeds ≤ 5e-8). The score is
    the loss with its interior part taken at the validation points instead of the training
    points (boundary, initial and data terms count as in the loss: an attempt that fits the
    equation but not noisy observations does not win); the validation is kept in
    ``run.info["validation"]``. Only a converged run is restarted for the swing: one cut
    short (``max_steps``, ``time_limit``) is not judged."""
    v = _validation(col, [run], data_val)[0]
    run.info["validation"] = v
    swings = v["under_resolved"] and run.result is RESULTS.converged  # not a cut-short run
    reason = runs.stall_verdict(run)[0] or ("under-resolved" if swings else "")
    return reason, _validated_loss(col, run, v["validation_rms"])


def _validated_loss(col, run, validation_rms: float) -> float:
    """½·mean(r²) over the run's residuals with the interior ones at the validation points:
    loss - (interior loss at the training points) + (the same at the validation points)."""
    sizes = col.blocks(run.data)
    total = sum(int(n) for _, n in sizes)
    n_int = _interior_rows(col, run.data)
    blocks = np.asarray(distributed.to_host(run.state.blocks), np.float64)
    l_int = float(sum(b for (name, _), b in zip(sizes, blocks) if name.startswith("interior")))
    score = run.loss - l_int + 0.5 * n_int * validation_rms**2 / max(total, 1)
    return score if np.isfinite(score) else np.inf


def _output_scales(col, data) -> list[float]:
    """1/max|B| over the points, per component: the initial network's output scale.

    The trial factor B is small inside the domain (x(1-x)y(1-y) peaks at 1/16), so the network
    must represent (u - A)/B, max|B|⁻¹ times larger than u, from an initialisation whose
    output is O(1). Scaling the initial output layer by 1/max|B| starts it at the right scale;
    LM is invariant under this diagonal re-parametrisation, so it is the same as dividing B by
    its maximum (benchmarks/results/stall-study-cpu.md: sin·sin Poisson, seeds 0-4, median
    rel-L2 1.4e-5 → 2.2e-7, worst 4e-2 → 5e-7).
    """
    out = []
    for B in col.trial_factors(data):
        m = float(np.max(np.abs(distributed.gather_to_host(B)))) if B.size else 1.0
        out.append(1.0 / m if m > 0 and np.isfinite(m) else 1.0)
    return out


def _default_start(problem, net, col, data, theta, key, scales):
    """solve's start from ``net.init(key)``'s θ (NT,): the output layer times ``scales``
    (1/max|B|, :func:`_output_scales`), the first-layer hyperplanes spread over the domain's
    box (:func:`_spread_hyperplanes`), the output layer shrunk to the problem's residual
    (:func:`_fit_output_scales`)."""
    theta = _scale_outputs(problem, net, theta, scales)
    # The ξ come from NumPy's generator seeded by fold_in(key, 1): for attempt 0 that is
    # also attempt 1's init key, whose θ jax draws by threefry, an unrelated stream.
    theta = _spread_hyperplanes(problem, net, theta, jax.random.fold_in(key, 1))
    return _fit_output_scales(problem, net, col, data, theta)


# _fit_output_scales grows a component's output layer when the start is this many times too
# small for the problem's residual (|r_0| / |d_k|), to 1/GROW_BEYOND of it
GROW_BEYOND = 10.0


def _fit_output_scales(problem, net, col, data, theta):
    """θ0 with component k's output layer times c_k = min(1, |r_0| / |d_k|) (and grown where
    it is far too small, below): r_0 are the residuals of N = 0 and d_k = r(θ0 with only
    component k) - r_0 the initial network's contribution, so the random start adds at most
    as much to the residual as the problem itself has, whatever the units of u. Kept only
    when it lowers the loss (r is not affine in the output layer for a nonlinear equation);
    the coefficients φ unchanged. K + 2 residual evaluations (3 for one component, one more
    when a component grows) through the residual program the validation shares, the sums over
    rows on the devices (``data`` may be split over a mesh, θ is replicated).

    The output layer starts O(1/max|B|) (:func:`_output_scales`) whatever the size of u:
    with u = a·sin πx sin πy on the unit square (2×16, 1024 points), a = 1e-8 converged
    (xtol) at rel-L2 2e-4 and 4e-4 (seeds 0, 1) and a = 1e-4 at 2.6e-8 … 4.5e-8, where a = 1
    reaches 1e-11; with the shrink, 2.0e-10 … 3.4e-10 and 1.8e-11 … 2.3e-11 (seeds 0-2,
    ``benchmarks/amplitude.py``). Shrinking only: the least-squares factor (the best c along
    the output layer, which also grows it) reached 1.5e-10 at a = 1e-8 and 10× lower errors
    on Lagaris PDE 1, Bratu and the 2-D nonlinear diffusion (|r_0|/|d| = 0.02-0.4), but where the
    random start hardly correlates with the solution it shrank the output towards the
    saddle N = 0 (Helmholtz 2-D: c ≈ 0.03-0.16, rel-L2 7e-11 → 1.2e-9) and where it grew the
    output (Poisson 5-D, c ≈ 7-15) the worst seed went 1e-8 → 3.5e-8
    (``benchmarks/results/robustness-fit-cpu.md``, notes).

    Growing, where the start is more than :data:`GROW_BEYOND` times too small: component k's
    output layer times |r_0|/|d_k|/GROW_BEYOND, not guarded by the loss (a small start adds
    little to r whatever its size). Too small a start made LM's first steps, of the size of
    r, throw every weight to 1e5-1e7 (the hidden units saturated, ftol ended the attempt at
    13 % of the reference loss): at the same code otherwise, a = 1e6, seeds 0-1, gave
    3.1e-11 and 7.0e-5 (four attempts stalled that way, the fifth under-resolved), a = 1e3
    2.2e-9 and 3.7e-11; grown, seeds 0-2, 1.1e-10, 1.9e-11, 3.5e-11 and 1.2e-11, 1.8e-11,
    1.5e-10 (``benchmarks/results/amplitude-grow-cpu.md``; on the benchmark
    ``robustness-grow-cpu.md`` against ``robustness-grow-off-cpu.md``).
    """
    nt, n_k = net.num_params, problem.components
    host = np.array(distributed.to_host(theta))

    def only(keep):
        t = host.copy()
        for i in range(n_k):
            if i not in keep:
                t[i * nt:(i + 1) * nt] = 0.0
        return residuals_jit(col, t, data)

    r0, full = only(()), residuals_jit(col, host, data)
    alone = [only((i,)) for i in range(n_k)] if n_k > 1 else [full]
    d_sq, r0_sq, full_sq = (distributed.gather_to_host(a).astype(np.float64)
                            for a in _fit_norms(alone, r0, full))  # fmt: skip
    ratio = np.sqrt(r0_sq / np.where(d_sq > 0, d_sq, np.inf))
    if not np.all(np.isfinite(ratio) & (ratio > 0)):
        return theta
    grow = np.where(ratio > GROW_BEYOND, ratio / GROW_BEYOND, 1.0)
    if np.any(grow > 1.0):  # not guarded: a start too small by far is the failure itself
        theta = _per_component(problem, net, theta,
                               lambda k, t: _nets.scale_output(net, t, grow[k]))  # fmt: skip
        full_sq = _residual_sq(col, theta, data)
    c = np.minimum(1.0, ratio)
    if np.all(c == 1.0):
        return theta
    fitted = _per_component(problem, net, theta, lambda k, t: _nets.scale_output(net, t, c[k]))
    return fitted if _residual_sq(col, fitted, data) < float(full_sq) else theta


def _residual_sq(col, theta, data) -> float:
    """|r(θ)|² on ``data`` (summed on the devices), for :func:`_fit_output_scales`."""
    r = residuals_jit(col, np.asarray(distributed.to_host(theta)), data)
    return float(distributed.gather_to_host(_sum_sq(r)))


@jax.jit
def _fit_norms(alone: list, r0, full):
    """(|alone_k - r_0|² (K,), |r_0|², |full|²) of residual vectors (R,), for
    :func:`_fit_output_scales`."""
    D = jnp.stack(alone, axis=1) - r0[:, None]
    return jnp.sum(D * D, axis=0), r0 @ r0, full @ full


@jax.jit
def _sum_sq(r):
    """|r|² of a residual vector (R,) (split over a mesh or not)."""
    return r @ r


def _per_component(problem, net, theta, fn):
    """θ0 with ``fn(k, θ_k)`` in place of each component's parameters θ_k (NT,), on the host
    (no set-up compilations); the coefficients φ after them unchanged."""
    host = np.array(distributed.to_host(theta))
    nt, k = net.num_params, problem.components
    parts = [np.asarray(fn(i, host[i * nt:(i + 1) * nt])) for i in range(k)]
    return jnp.asarray(np.concatenate(parts + [host[k * nt:]]), theta.dtype)


def _scale_outputs(problem, net, theta, scales):
    """θ0 with component k's output layer times ``scales[k]`` (:func:`_output_scales`,
    :func:`nnpde._nets.scale_output`)."""
    return _per_component(problem, net, theta,
                          lambda k, t: _nets.scale_output(net, t, scales[k]))  # fmt: skip


# _spread_hyperplanes divides the first-layer slopes on an axis whose box is wider than this by
# width / SLOPE_WIDTH, so that a unit's transition spans at least ~1/SLOPE_WIDTH of the box
SLOPE_WIDTH = 10.0


def _spread_hyperplanes(problem, net, theta, key):
    """θ0 with each component's first-layer hyperplanes moved into the domain's bounding box
    on the axes where the box reaches outside [-1, 1]: unit m's hyperplane is translated by a
    point ξ_m drawn uniformly from the box on those axes (0 on the others;
    :func:`nnpde._nets.shift_first_layer`); the slopes are kept. ``key`` draws the ξ (on the
    host, no compilation). Only the start changes: the network stays N(x, θ) of the raw
    coordinates.

    The default initialisation places the hyperplanes v_m·x + b_m = 0 within ≈ 1 of the
    origin (b ~ U(±1/√D)). On an interval [0, 10] they then crowd near t = 0 and the units
    are saturated over the rest of it: the logistic ODE u' = u(1 - u), u(0) = 0.1 on [0, 10]
    (2×16, 512 points) decayed to the unstable equilibrium u = 0 on every first attempt, and
    2 of 5 seeds ended at rel-L2 ≈ 1; with the hyperplanes spread, 10 of 10 seeds reach
    3.9e-12 … 5.2e-11 (two after one restart). Mapping the whole box to [-1, 1] (slopes
    scaled too) also fixed the logistic, but made the periodic convection problem on [0, 2π]
    (seeds 0-2) 2e-8 … 1.7e-6 instead of 1e-8 … 1.7e-8. Boxes inside [-1, 1]^D keep their
    start: mapping [0, 1] to [-1, 1] made the catalogue's clamped beam converge to max-abs
    3.1e-10 and 7.5e-10 instead of 4.5e-11 and 7.7e-12
    (``benchmarks/results/robustness-spread-cpu.md``, notes).

    On an axis wider than ``SLOPE_WIDTH`` (10) the slopes are also divided by
    width / ``SLOPE_WIDTH`` before the shift, so that a unit's transition spans about a tenth of
    the box, as it does on a box 10 wide; narrower axes keep theirs (every benchmark problem
    starts as before). With O(1) slopes each unit is a step across a wide box: sin·sin Poisson
    on [0, L]² (2×16, 1024 points, seeds 0-3) ended 2.9e-8 … 2.6e-5 for L = 100 (restarts on
    three seeds) and 2.2e-10 … 1.4e-9 for L = 30; with the slopes scaled 3.5e-11 … 1.1e-10 and
    5.0e-11 … 1.1e-10, and 3.5e-11 … 2.1e-10 for L = 1000, no restarts
    (``benchmarks/results/domain-size-cpu.md``).
    """
    lo, hi = (np.asarray(b, float) for b in problem.domain.bounds)
    inside = (lo >= -1.0) & (hi <= 1.0)
    if inside.all():
        return theta
    rng, width = sampling._rng(key), _nets.first_width(net)
    slopes = np.minimum(1.0, SLOPE_WIDTH / (hi - lo))  # 1 on axes up to SLOPE_WIDTH wide

    def shift(_, theta_k):
        xi = np.where(inside, 0.0, lo + (hi - lo) * rng.random((width, lo.size)))
        return _nets.shift_first_layer(net, theta_k, xi, slopes)

    return _per_component(problem, net, theta, shift)


def _check_net(problem, net, backend):
    _nets.check_net(net)
    _nets.check_scalar(net)
    dim = _nets.input_dim(net)
    if dim != problem.dim:
        raise ValueError(f"the network has dim={dim} inputs but the problem is {problem.dim}-D")
    if backend is None:
        return "autodiff" if _nets.is_mlp(net) else "kernels"
    return backend  # checked by nnpde.derivatives.for_backend


def _theta0(problem, net, theta0, key, points):
    """(θ0 (NT,), whether the dtype was asked for: float32 points or θ0 given)."""
    n_k, names = problem.components, problem.param_names
    n_total = net.num_params * n_k + len(names)
    if theta0 is None:
        dtype = jnp.zeros((), float).dtype
        keys = [key] if n_k == 1 else list(jax.random.split(key, n_k))
        phi = jnp.asarray([problem.params[n] for n in names], dtype)
        theta = jnp.concatenate([_nets.flat_init(net, k, dtype) for k in keys] + [phi])
        asked = getattr(points, "dtype", None) == np.float32
        if asked:
            theta = theta.astype(jnp.float32)
        return theta, asked
    return check_theta0(theta0, n_total), True


def _model(problem, net, x, mesh, kw):
    """(the collocation model, its data) for this process's rows of x."""
    rows = distributed.local_rows(x.shape[0], mesh) if mesh is not None else slice(None)
    return make_collocation(problem, net, x[rows], **kw)


def _solution(problem, net, col, data, run, x, wall_s) -> Solution:
    info = dict(run.info, method=run.solver.name, solver=runs.solver_kind(run),
                steps=run.done, loss=run.loss, backend=col.backend, wall_s=wall_s,
                points=int(x.shape[0]), boundary_points=_n_penalty(col, data),
                steps_limit=run.steps_limit)  # fmt: skip
    if run.objective.shards.mesh is not None:
        info["devices"] = int(run.objective.shards.mesh.devices.size)
    info.update(components=problem.components, param_names=list(problem.param_names))
    return Solution(
        theta=run.theta(),
        net=net,
        problem=problem,
        trial=col.trial,
        history=run.history,
        status=engine.status(run) + _resolution_clause(info.get("validation")),
        info=dict(info, result=run.result.name),
    )


def _warn_if_under_resolved(v) -> None:
    """An :class:`~nnpde.UnderResolvedWarning` for the caller of ``solve`` when the kept run's
    validation says its points under-resolve the solution."""
    if v and v["under_resolved"]:
        warnings.warn(f"the collocation points under-resolve the solution: the equation's "
                      f"residual between them is {v['ratio']:.3g}x that at them "
                      f"(RMS {v['validation_rms']:.2e} vs {v['train_rms']:.2e}); the error "
                      f"between the points may be large. Use more points (Sobol' rather than a "
                      f"tensor grid).", UnderResolvedWarning, stacklevel=3)  # fmt: skip


def _warn_if_underdetermined(problem, col) -> None:
    """An :class:`~nnpde.UnderdeterminedWarning` when an axis has fewer conditions than the
    equation's order in it (:func:`nnpde.determinacy.missing_conditions`), from the partials
    of order 3-4 the model found (only a ``HighOrderCollocation`` reads any: nothing to count,
    and no trace, for the others)."""
    interior = getattr(col, "interior", None)
    if not isinstance(interior, high_order.Block):
        return
    missing = determinacy.missing_conditions(problem, high=interior.high)
    if missing:
        warnings.warn(f"{missing}: the solution may not be unique, and a run can converge to "
                      f"another one. Give as many conditions on an axis's faces as the "
                      f"equation's order in it (e.g. a Neumann condition on one face).",
                      UnderdeterminedWarning, stacklevel=3)  # fmt: skip


def _warn_if_unidentifiable(ident) -> None:
    """An :class:`~nnpde.UnidentifiableWarning` when the coefficients found are not determined
    by the residuals (:func:`nnpde.identifiability.check`)."""
    if ident and not ident["identifiable"]:
        warnings.warn(f"the inverse problem's coefficients are not identifiable: "
                      f"{identifiability.describe(ident)}; the values found are one of many "
                      f"that fit equally well. Observe something that separates them, or "
                      f"identify fewer coefficients.", UnidentifiableWarning,
                      stacklevel=3)  # fmt: skip


def _resolution_clause(v) -> str:
    if not v or not v["under_resolved"]:
        return ""
    return (f"; the points under-resolve the solution: the residual between them is "
            f"{v['ratio']:.0f}x that at them (use more or Sobol' points)")


def _n_penalty(col, data) -> int:
    """Number of penalty residuals (boundary, periodic, observations): every block of the
    model's residual vector but the interior equations."""
    return sum(int(n) for name, n in col.blocks(data) if not name.startswith("interior"))


def _check_key(key):
    """Checks solve's key up front."""
    typed = isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32 and key.shape == (2,)
    if key is not None and not (typed or raw):
        raise TypeError(f"key must be a PRNG key (jax.random.key or jax.random.PRNGKey), "
                        f"got {key!r}")  # fmt: skip
