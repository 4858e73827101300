"""What :func:`nnpde.solve` and :func:`nnpde.fit` share: the solver argument, the hooks of a
run from its :class:`~nnpde.RunOptions` (step limit, callback, progress, time limit,
checkpoints, resume; checked when made, :mod:`nnpde.settings`), and the call of the engine.

Both entry points build their run options with :func:`nnpde.settings.merge` and then call
:func:`execute`; a solver's own settings (tolerances, damping, learning rate, divergence) live
in the solver object, never in more keyword arguments.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnpde import distributed, engine
from nnpde.checkpoint import Checkpoint
from nnpde.first_order import LBFGS, Optax
from nnpde.hooks import Adapt, Callback, Progress, TimeLimit
from nnpde.lm import LM, GaussNewtonCG
from nnpde.objective import Objective
from nnpde.results import RESULTS
from nnpde.settings import RunOptions

__all__ = ["METHODS", "RunOptions", "execute", "execute_starts", "make_solver"]

METHODS = ("lm", "gn-cg", "adam", "lbfgs")
DEFAULT_STEPS = {"lm": 2000, "gn-cg": 2000, "optax": 20000, "lbfgs": 5000}
# arguments of solve/fit before solver objects, and where their settings went
LEGACY = {
    "tol": "the solver's atol: solver=nnpde.LM(atol=...) or nnpde.Optax(tx, atol=...)",
    "learning_rate": "the optax transformation: solver=nnpde.Optax(optax.adam(lr))",
    "lm": "the solver: solver=nnpde.LM(...) (the fields of LMConfig are LM's)",
    "cg": "the solver: solver=nnpde.GaussNewtonCG(cg=nnpde.CGConfig(...))",
    "divergence": "the solver: solver=nnpde.Optax(tx, divergence=...)",
}


def check_legacy(legacy: dict, where: str) -> None:
    """Refuses an argument that moved into the solver objects, saying where it went."""
    for name in legacy:
        if name in LEGACY:
            raise TypeError(f"{where}() no longer takes {name}=; it is now {LEGACY[name]}")
        raise TypeError(f"{where}() got an unexpected keyword argument {name!r}")


@functools.cache
def _adam() -> Optax:
    """The ``"adam"`` shortcut, one object per process: equal solvers share compiled runs."""
    return Optax(optax.adam(1e-3))


def make_solver(solver):
    """A solver object from ``solver``: an object with init/step/terminate, a method name
    (``"lm"``, ``"gn-cg"``, ``"adam"`` (optax's Adam, learning rate 1e-3), ``"lbfgs"``) or an
    ``optax.GradientTransformation``."""
    if isinstance(solver, str):
        if solver not in METHODS:
            raise ValueError(f"solver/method must be one of {METHODS}, a solver object or an "
                             f"optax transformation, got {solver!r}")  # fmt: skip
        return {"lm": LM, "gn-cg": GaussNewtonCG, "lbfgs": LBFGS}.get(solver, _adam)()
    if isinstance(solver, optax.GradientTransformation):
        return Optax(solver)
    if all(hasattr(solver, m) for m in ("init", "step", "terminate", "record")):
        try:
            hash(solver)
        except TypeError as err:
            raise TypeError(f"the solver must be hashable (a frozen dataclass), got "
                            f"{type(solver).__name__}") from err  # fmt: skip
        return solver
    raise TypeError(f"solver/method must be a method name {METHODS}, a solver object "
                    f"(nnpde.LM, nnpde.GaussNewtonCG, nnpde.Optax, nnpde.LBFGS) or an "
                    f"optax.GradientTransformation, got {type(solver).__name__}")  # fmt: skip


def pick_solver(solver, method):
    """``solver=`` or its older name ``method=`` (not both); default LM."""
    if solver is not None and method is not None:
        raise TypeError("give solver= or method=, not both (method= is solver='s older name)")
    return make_solver("lm" if solver is None and method is None else solver or method)


def default_steps(solver) -> int:
    """The step cap when ``steps`` is not given: high enough that a run ends by its own tests."""
    name = getattr(solver, "name", "optax")
    return DEFAULT_STEPS.get(name, DEFAULT_STEPS["optax"])


def hooks_for(o: RunOptions, steps: int, key, adapt=()) -> tuple:
    """The hooks of a run from its options, in the order they run after a dispatch."""
    every = o.steps_per_call
    if every is None and (o.callback or o.progress or o.time_limit):
        every = max(1, steps // (100 if o.time_limit else 20))
    if o.checkpoint_every is not None:
        every = min(every or o.checkpoint_every, o.checkpoint_every)
    hooks = []
    if adapt:
        hooks.append(Adapt(tuple(adapt)))
    if o.progress:
        hooks.append(Progress(steps, every))
    if o.callback is not None:
        hooks.append(Callback(o.callback, every))
    if o.time_limit is not None:
        hooks.append(TimeLimit(float(o.time_limit), every))
    if o.checkpoint is not None or o.resume is not None:
        key_data = None if key is None else np.asarray(jax.random.key_data(key))
        resume = o.checkpoint if o.resume is True else o.resume
        hooks.append(Checkpoint(o.checkpoint, o.checkpoint_every or every, resume,
                                o.resume is True, key_data))  # fmt: skip
    if not hooks and every is not None:
        hooks.append(Callback(lambda *a: None, every))
    return tuple(hooks)


def available_bytes(device=None) -> int | None:
    """Memory a run may use on ``device`` (default: the first device): the accelerator's limit
    from ``memory_stats()``, or on CPU the host's available memory (``/proc/meminfo``); None
    when unknown."""
    device = device or jax.devices()[0]
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_dense_memory(solver, objective, theta) -> None:
    """Refuses a dense LM step whose JᵀJ and Cholesky factor (2·NT² numbers, plus the
    (R, NT) Jacobian for a model without ``gram``) would not fit in memory, instead of letting
    the device swap or hang; names the way out."""
    if not isinstance(solver, LM) or not solver.dense(objective, theta.shape[0]):
        return
    nt, item = int(theta.shape[0]), jnp.dtype(theta.dtype).itemsize
    need = 3 * nt * nt * item
    if not hasattr(objective.model, "gram_with_residuals"):
        need += objective.shards.nloc * nt * item
    have = available_bytes()
    if have is not None and need > 0.8 * have:
        raise MemoryError(
            f"dense LM with NT={nt} parameters needs about {need / 2**30:.1f} GiB for JᵀJ and "
            f"its factor, but {have / 2**30:.1f} GiB are available; use "
            f"solver=nnpde.GaussNewtonCG() (matrix-free, O(R + NT) memory) or "
            f"nnpde.LM(dense_max_params=...) below {nt}"
        )


def execute(solver, model, data, theta, o: RunOptions, *, mesh=None, key=None, adapt=(),
            hooks=()):
    """Runs ``solver`` on ``model`` from θ with options ``o`` (and ``hooks`` after those of
    the options): the engine's finished :class:`nnpde.engine.Run` (θ host-local)."""
    steps = o.steps or default_steps(solver)
    if mesh is not None:
        specs = distributed.data_specs(model, data)
        data = distributed.shard_data(data, specs, mesh)
        theta = distributed.replicate(theta, mesh)
        shards = distributed.make_shards(model, data, theta, mesh, specs)
    else:
        shards = distributed.make_shards(model, data, theta, None)
    objective = Objective(model, shards)
    check_dense_memory(solver, objective, theta)
    hooks = hooks_for(o, steps, key, adapt) + tuple(hooks)
    run = engine.run(solver, objective, data, theta, steps, hooks)
    run.steps_limit = steps
    return run


def execute_starts(solver, model, data, thetas, o: RunOptions, *, key=None, hooks=()) -> list:
    """Runs ``solver`` from each row of ``thetas`` (K, NT): K finished
    :class:`nnpde.engine.Run` objects. No mesh, checkpoint or adaptive points.

    The starts run one after the other through the same compiled dispatch (the shapes are
    equal, so only the first compiles). Running them as one ``jax.vmap``-batched loop was
    tried: on XLA:CPU (jax 0.10.2) it deadlocked intermittently (an executable waiting on its
    own thunks, 2×10 units, 100 points, ≥ 15 steps per dispatch), so it is not used.
    """
    steps = o.steps or default_steps(solver)
    out = []
    for theta in thetas:
        run = execute(solver, model, data, theta, o, key=key, hooks=hooks)
        run.steps_limit = steps
        out.append(run)
    return out


def solver_kind(run) -> str:
    """"dense" (LM forming JᵀJ), "cg" (matrix-free LM) or "optax" (first-order)."""
    gram = getattr(run.state, "gram", None)
    if gram is None:
        return "optax"
    return "dense" if gram.ndim == 2 else "cg"


def warn_float32(dtype, asked: bool) -> None:
    """Warns once per call when a run is in float32 because jax_enable_x64 is off (not asked
    for): the accuracy is then ~1e-3..1e-4 instead of ~1e-7..1e-10."""
    if jnp.dtype(dtype) == jnp.float32 and not asked and not jax.config.jax_enable_x64:
        warnings.warn(
            "nnpde runs in float32 because jax_enable_x64 is off; call "
            "jax.config.update('jax_enable_x64', True) before creating arrays for float64 "
            "(errors several orders of magnitude smaller), or pass float32 points/theta0 to "
            "ask for float32 explicitly",
            UserWarning,
            stacklevel=3,
        )


def should_restart(run) -> bool:
    """True when ``run`` stalled far above round-off: its loss is above the solver's ``rtol``
    times the reference loss (a poor stationary point, not the end of what the net can do).
    LM's step already ends a run whose loss is good (:func:`nnpde.lm.good_loss`, which also
    accepts a reference at round-off) ``converged``, never ``stalled``."""
    if run.result is not RESULTS.stalled or not hasattr(run.state, "ref"):
        return False
    rtol = getattr(run.solver, "rtol", 0.0)
    return run.loss > rtol * float(distributed.to_host(run.state.ref))


def stall_verdict(run) -> tuple[str, float]:
    """The default judge of an attempt: ("stalled", loss) when it stalled far above round-off
    (:func:`should_restart`), else ("", loss); the score (less is better) picks the attempt
    kept."""
    return ("stalled" if should_restart(run) else "", run.loss)


def merge_attempts(runs_: list, verdicts: list, stages: list | None = None):
    """The best of several attempts, with every attempt's history concatenated
    (``history["attempt"]`` numbers them) and ``info["restarts"]`` listing them.

    The best is the attempt with the least score among those the judge kept (no reason to
    restart), or among all when it kept none; ``verdicts`` holds (reason, score) per attempt.
    ``stages`` holds per attempt the records of the runs that trained its start first (time
    marching, :func:`nnpde.march.marcher`: fraction, result, loss, steps, history): their
    histories go before the attempt's, ``history["horizon"]`` then says which fraction of the
    time horizon each step trained on (1 for the attempts' own steps), their steps count in
    ``done``, and ``info["march"]`` lists them (without their histories) per marched attempt.
    """
    stages = stages or [[] for _ in runs_]
    i_best = min(range(len(runs_)), key=lambda i: (bool(verdicts[i][0]), verdicts[i][1]))
    best = runs_[i_best]
    marched = any(stages)
    history = {}
    for i, (r, before) in enumerate(zip(runs_, stages)):
        parts = [(s["history"], s["fraction"]) for s in before] + [(r.history, 1.0)]
        for hist, horizon in parts:
            n = len(hist.get("loss", ()))
            extra = [("attempt", np.full(n, i, np.int32))]
            if marched:
                extra.append(("horizon", np.full(n, horizon)))
            for k, v in list(hist.items()) + extra:
                history.setdefault(k, []).append(v)
    best.history = {k: np.concatenate(v) for k, v in history.items()}
    best.info["restarts"] = [
        {"attempt": i, "result": r.result.name, "loss": r.loss, "steps": r.done,
         "restart_reason": why, "score": score}
        for i, (r, (why, score)) in enumerate(zip(runs_, verdicts))]  # fmt: skip
    if marched:
        best.info["march"] = [
            {"attempt": i, "stages": [{k: v for k, v in s.items() if k != "history"}
                                      for s in before]}
            for i, before in enumerate(stages) if before]  # fmt: skip
    best.info["attempt"] = i_best
    best.done = sum(r.done for r in runs_) + sum(s["steps"] for b in stages for s in b)
    return best


def _cause_is_the_problem(verdicts: list) -> bool:
    """True when the last two attempts were restarted for the same reason other than a stall
    (a new start cured it once and did not: e.g. points too few for the solution, where every
    start swings between them), so more starts would only cost time."""
    return len(verdicts) >= 2 and verdicts[-1][0] == verdicts[-2][0] != "stalled"


# Two stalls "at the same loss": within this relative difference, and at most FLOOR_DEPTH
# times the reference loss (N = 0 or θ0). Measured (2-D inverse Poisson, κ from 60 noisy
# observations, 2×16 or 2×8 nets): every start of a seed stalls at one loss, the least-squares
# minimum the noise leaves (2.182e-06 five times to four digits at 1 % noise, 2.1816e-04 at
# 10 %, 7.485e-08 … 7.514e-08 with 2×8 at 0.1 %: ≤ 0.5 % apart, 4e-10 … 1.1e-6 of the
# reference); stalls at poor minima differ far more (Lotka-Volterra 1.03 / 2.48, the wave
# 28.8 / 271, a 2×4 Poisson net's capacity minima 4.1e-8 … 4.9e-7, consecutive ones ≥ 12 %
# apart), but a wrong κ basin reproduced too (2.2137e-02 / 2.2156e-02, 1e-4 of the reference):
# the depth keeps restarting there.
FLOOR_SPREAD = 0.05
FLOOR_DEPTH = 1e-5
# Two deep stalls "at about the same loss" (within a factor 2, so a relative difference of at
# most CAPACITY_SPREAD, and as deep as FLOOR_DEPTH): distinct minima of like quality, the
# network's capacity. Measured (held-out round 6, advection of a rotating Gaussian in (x, y, t),
# 2×20, 2048 points, seeds 0-4): all 24 attempts stalled, at 1.5e-9 … 4.1e-8 (seed 0's first
# two at 6.8e-8 and 6.6e-8 of their references 3.4e-2, 4.6e-2), consecutive pairs 1.02 … 8.8×
# apart, the best of five 1.3× below the first; the same 2×20 fitted to the solution directly
# reaches 2.4e-4 (the solve 1.2e-4): five attempts, 61-74 s, where two do as well.
# Among the recorded sweeps' runs (`benchmarks/results/*.json`) the only other pairs of
# consecutive stalls within 2× are shallower than FLOOR_DEPTH: Lotka-Volterra's 1.36 / 2.43 (a
# loss of order 1) and the logistic over 30 growth times before time marching (1.6e-6 five
# times, within 5 %, so the floor rule's depth test is what let its restarts go on).
CAPACITY_SPREAD = 0.5


def reproduced_floor(attempts: list, verdicts: list, spread: float = FLOOR_SPREAD) -> bool:
    """True when the last two attempts, from independent starts, both stalled at the same loss
    (within ``spread``, default :data:`FLOOR_SPREAD`) far below their reference loss
    (:data:`FLOOR_DEPTH`): that loss is the least the problem allows this network (noisy or
    inconsistent data, the net's capacity), not a poor stationary point, so another start
    would end there again. With ``spread`` :data:`CAPACITY_SPREAD`: at about the same loss
    (the net's capacity: its minima differ, another start ends at one of them)."""
    if len(verdicts) < 2 or not verdicts[-1][0] == verdicts[-2][0] == "stalled":
        return False
    a, b = (r.loss for r in attempts[-2:])
    refs = [float(distributed.to_host(r.state.ref)) for r in attempts[-2:]]
    return bool(abs(a - b) <= spread * max(a, b) and max(a, b) <= FLOOR_DEPTH * min(refs))


def _attempt_options(o: RunOptions, t0: float) -> RunOptions:
    """``o`` with its time limit cut to what is left of the whole run's (started at t0)."""
    if o.time_limit is None:
        return o
    return dataclasses.replace(o, time_limit=max(o.time_limit - (time.perf_counter() - t0), 1e-6))


def execute_restarting(solver, model, data, o: RunOptions, new_theta, restarts: int,
                       judge=stall_verdict, **kw):
    """:func:`execute` from ``new_theta(0, (), o)``, then, while ``judge(attempt)`` gives a
    reason to restart (default :func:`stall_verdict`: stalled far above round-off) and restarts
    remain, again from ``new_theta(i, reasons, o_i)`` (``reasons``: the earlier attempts'
    restart reasons, e.g. ``("stalled",)``; ``o_i``: the options with what is left of the time
    limit); each attempt has the run's step limit. ``new_theta`` returns ``(θ, stages)``:
    ``stages`` are the records of the runs that trained θ first (time marching,
    :func:`nnpde.march.marcher`; ``[]`` for a plain start), kept with the attempt
    (:func:`merge_attempts`). A reason other than a
    stall ends the restarts when two attempts in a row give it (:func:`_cause_is_the_problem`);
    two stalls in a row at the same loss far below the reference end them ``converged``
    (:func:`reproduced_floor`: the problem's least-squares minimum), two at about the same
    loss (within 2×) end them ``stalled`` (the network's capacity, ``info["capacity"]``).
    Returns the best attempt (:func:`merge_attempts`).

    ``judge(run) -> (reason, score)``: a non-empty reason asks for a new start; the score
    (less is better) ranks the attempts.
    """
    steps = o.steps or default_steps(solver)
    attempts, verdicts, stages, t0 = [], [], [], time.perf_counter()
    while True:
        o_i = _attempt_options(o, t0)
        if o.time_limit is not None and attempts and o_i.time_limit <= 1e-6:
            break
        theta, before = new_theta(len(attempts), tuple(v[0] for v in verdicts), o_i)
        # the time limit is the whole run's, not each attempt's (nor each stage's)
        attempts.append(execute(solver, model, data, theta, _attempt_options(o, t0), **kw))
        stages.append(before)
        verdicts.append(judge(attempts[-1]))
        floor = reproduced_floor(attempts, verdicts)
        capacity = not floor and reproduced_floor(attempts, verdicts, CAPACITY_SPREAD)
        if (not verdicts[-1][0] or len(attempts) > restarts or floor or capacity
                or _cause_is_the_problem(verdicts)):
            break
    if len(attempts) == 1 and not stages[0]:
        return attempts[0]
    best = merge_attempts(attempts, verdicts, stages)
    best.steps_limit = steps
    why = ", ".join(f"{n} {w}" for w, n in Counter(v[0] for v in verdicts[:-1]).items())
    extra = f"attempt {best.info['attempt'] + 1} of {len(attempts)}, restarted: {why}"
    if floor:
        best.result = RESULTS.converged
        a, b = (r.loss for r in attempts[-2:])
        extra += (f"; two starts stalled at the same loss ({a:.4g}, {b:.4g}): the least this "
                  f"network reaches on these data (noisy or inconsistent data, or its capacity)")
    elif capacity:
        a, b = (r.loss for r in attempts[-2:])
        extra += (f"; two starts stalled at about the same loss ({a:.4g}, {b:.4g}), far below "
                  f"the reference: likely the most this network can do; a wider network (or "
                  f"more points) should go lower, another start would not")
    best.detail = f"{best.detail}; {extra}" if best.detail else extra
    best.info["floor"] = floor
    best.info["capacity"] = capacity
    return best
