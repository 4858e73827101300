"""The driver that runs any solver: jitted dispatches of steps, hooks between them, resume.

A *solver* (:class:`nnpde.LM`, :class:`nnpde.GaussNewtonCG`, :class:`nnpde.Optax`,
:class:`nnpde.LBFGS`) is a small frozen object with

- ``init(objective, data, θ0) -> state``,
- ``step(objective, data, state) -> state`` (pure, jittable; decides ``state.result``),
- ``terminate(state) -> (done, result)``,
- ``record(objective, state) -> dict`` of fixed-shape per-step diagnostics for the history,
- ``reinit(objective, data, state) -> state`` (same θ, new data: adaptive points),

over an :class:`nnpde.objective.Objective` (the model and the run's sharding). The driver runs
up to ``steps`` steps in dispatches of a ``lax.while_loop`` that stops as soon as
``terminate`` says so; between dispatches it calls the run's *hooks* (progress bar, callback,
time limit, checkpoints, adaptive points: :mod:`nnpde.hooks`), each a small object, so adding
one touches no solver. The state is carried whole from one dispatch to the next, so the number
of dispatches never changes the result: a run resumed from a checkpoint ends with exactly the θ
of an uninterrupted one. The history buffer of a dispatch has the dispatch's length (at most
``MAX_DISPATCH`` steps), never that of the whole run.

The state has fixed shapes and the loop is one ``while_loop``, so several starting points can
run at once under ``jax.vmap`` of :func:`dispatch` (each start stops updating when it ends).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import _blas, distributed
from nnpde.objective import Objective, block_names
from nnpde.results import RESULTS, describe

__all__ = ["MAX_DISPATCH", "Run", "dispatch", "run"]

MAX_DISPATCH = 1000


def dispatch(solver, objective: Objective, n: int, data, state, limit):
    """Up to ``limit`` (≤ n, traced) steps of ``solver`` from ``state``, stopping when it
    terminates: (state, history {name: (n, ...)}, steps taken)."""

    def body_fn(data, state, limit):
        first = solver.record(objective, state)
        hist = jax.tree_util.tree_map(lambda v: jnp.zeros((n,) + v.shape, v.dtype), first)

        def cond(c):
            s, i, _ = c
            return (i < limit) & ~solver.terminate(s)[0]

        def body(c):
            s, i, h = c
            s = solver.step(objective, data, s)
            h = jax.tree_util.tree_map(lambda a, v: a.at[i].set(v), h,
                                       solver.record(objective, s))  # fmt: skip
            return s, i + 1, h

        return jax.lax.while_loop(cond, body, (state, jnp.asarray(0), hist))

    s, taken, hist = objective.shards.run(objective.model, body_fn, data, state, limit)
    return s, hist, taken


@dataclasses.dataclass(eq=False)
class Run:
    """The host-side record of a run that hooks read and change between dispatches.

    Attributes:
      solver, objective: what runs.
      data: the model's data (an adaptive hook may replace it; shapes kept).
      state: the solver's state after the last dispatch.
      steps: the step limit; ``done``: steps taken so far (from the original start).
      history: per-step records, lists of host arrays per name.
      result: how the run ended (None while it runs); ``detail``: a clause for the status.
      t_start: ``time.perf_counter()`` at the start; ``info``: what hooks add to ``info``.
    """

    solver: Any
    objective: Objective
    data: Any
    state: Any
    steps: int
    done: int = 0
    history: dict = dataclasses.field(default_factory=dict)
    result: RESULTS | None = None
    detail: str = ""
    t_start: float = dataclasses.field(default_factory=time.perf_counter)
    info: dict = dataclasses.field(default_factory=dict)

    def reinit(self) -> None:
        """Recomputes the state's loss and derivatives for new ``data`` (same θ)."""
        self.state = _reinit(self.solver, self.objective, self.data, self.state)

    @property
    def loss(self) -> float:
        return float(distributed.to_host(self.state.loss))

    def theta(self):
        """θ as an ordinary (host-local) array."""
        return jnp.asarray(distributed.to_host(self.state.theta))


def _dispatch_length(steps: int, hooks) -> int:
    lengths = [steps, MAX_DISPATCH] + [h.every for h in hooks if getattr(h, "every", None)]
    return max(1, min(lengths))


def _extend(history: dict, hist: dict, taken: int) -> None:
    for k, v in hist.items():
        history.setdefault(k, []).append(np.asarray(distributed.to_host(v))[:taken])


def _loop(r: Run, hooks, n: int, step_fn) -> None:
    while r.done < r.steps and r.result is None:
        limit = min(n, r.steps - r.done)
        t0 = time.perf_counter()
        state, hist, taken = jax.block_until_ready(step_fn(r.data, r.state, limit))
        r.info.setdefault("first_call_s", time.perf_counter() - t0)
        taken = int(distributed.to_host(taken))
        r.state = state
        _extend(r.history, hist, taken)
        r.done += taken
        code = RESULTS(int(distributed.to_host(state.result)))
        if code is not RESULTS.running:
            r.result = code
        for h in hooks:
            h.after(r)


# _init and _reinit run the solver on each shard of the data *inside* their jit: a
# ``shard_map`` called outside jit runs op by op, and compiled ≈115 small programs (≈5 s)
# again at every solve on a mesh (its closures are new each time).
@functools.partial(jax.jit, static_argnums=(0, 1))
def _init(solver, objective: Objective, data, theta):
    """The solver's initial state (module level: equal solvers and objectives share it)."""
    init = functools.partial(solver.init, objective)
    return objective.shards.run(objective.model, init, data, theta)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _reinit(solver, objective: Objective, data, state):
    """The state at the same θ on new data (compiled once per solver and objective, not at
    every change of the adaptive points)."""
    reinit = functools.partial(solver.reinit, objective)
    return objective.shards.run(objective.model, reinit, data, state)


def run(solver, objective: Objective, data, theta, steps: int, hooks=()) -> Run:
    """Runs ``solver`` from θ0 for at most ``steps`` steps with ``hooks``; returns the
    :class:`Run` (final state, history as arrays, result).

    Ctrl-C (KeyboardInterrupt) ends the run ``interrupted`` after the hooks' ``interrupt``
    (a checkpoint is written); the last state is kept. The whole run, hooks included, holds
    every loaded BLAS at one thread (:mod:`nnpde._blas`); the counts are restored on return.
    """
    # XLA's default options: the kernels are fastest under them (issue 17; the YNNPACK-dot
    # option of nnpde.compiler_options made operator_gram 2x slower). One BLAS thread: the
    # LAPACK Cholesky's spinning workers would slow XLA's next products (nnpde._blas).
    with _blas.limited():
        return _run(solver, objective, data, theta, steps, hooks)


def _run(solver, objective: Objective, data, theta, steps: int, hooks) -> Run:
    state = _init(solver, objective, data, theta)
    if not np.isfinite(float(distributed.to_host(state.loss))):
        raise ValueError("the initial loss is not finite: check the equation, data and θ0")
    r = Run(solver, objective, data, state, steps)
    for h in hooks:
        h.start(r)
    n = _dispatch_length(steps - r.done if r.done < steps else 1, hooks)
    step_jit = jax.jit(dispatch, static_argnums=(0, 1, 2))

    def step_fn(d, s, limit):
        return step_jit(solver, objective, n, d, s, jnp.asarray(limit, jnp.int32))

    try:
        _loop(r, hooks, n, step_fn)
    except KeyboardInterrupt:
        r.result = RESULTS.interrupted
        for h in hooks:
            h.interrupt(r)
    finally:
        for h in hooks:
            h.close(r)
    if r.result is None:
        code = RESULTS(int(distributed.to_host(r.state.result)))
        r.result = code if code is not RESULTS.running else RESULTS.max_steps
    if not r.detail and hasattr(solver, "detail"):
        r.detail = solver.detail(jax.tree_util.tree_map(distributed.to_host, r.state))
    r.history = _finish_history(r.history)
    r.info["blocks"] = list(block_names(objective.model, r.data))
    return r


def _finish_history(history: dict) -> dict:
    out = {}
    for k, parts in history.items():
        arr = np.concatenate(parts) if parts else np.zeros((0,))
        out[k] = arr.astype(np.int32) if arr.dtype == np.bool_ else arr
    return out


def status(r: Run) -> str:
    """The status line of a finished run (from its result, steps and loss)."""
    return describe(r.result, r.done, r.loss, r.detail)
