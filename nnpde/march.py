"""Time marching for a restart of an evolution problem that stalled.

An initial-value problem over a long horizon can stall at a poor stationary point that the
early times decide: the logistic equation u' = u(1 - u)/2, u(0) = 0.01 on [0, 30] (2×16 net,
512 points) decays to the unstable equilibrium u = 0 from every start (rel-L2 1.0, five
attempts stalled on seeds 0-4, with or without the start's slope rule;
``benchmarks/results/heldout-round3-cpu.md``), because a run that sees the whole horizon at
once can lower the loss more by flattening the growth than by following it. Trained first
on the first quarter of the horizon, then the first half, then all of it (each stage from the
last's θ), the same net reaches 8e-11, 1e-11, 1e-11 on seeds 0-2; with ``solve``'s marched
restarts seeds 1-4 reach 1.5e-11 … 3.9e-10 (``heldout-round3-march-cpu.md``).

:func:`marcher` gives ``solve`` that staging for a restart after a stall: the points keep
their count and their space coordinates, and their time coordinates are compressed to
t0 + (t - t0)·f for f in :data:`STAGES`, so every stage has the shapes, and the compiled
programs, of the full run. Only the restarts after :data:`AFTER_STALLS` stalls march (a plain
new start has then failed once already): a run that converges at its first attempt or after
one plain restart, or is restarted only for swinging between its points, is as before.
Marching the first restart instead was measured on the robustness benchmark's wave equation
(2×24, 2048 points), whose stalls are poor minima that a new start leaves: seeds 3, 4, 6 ended
3.0e-6, 4.4e-6, 1.0e-4 in 106, 91, 73 s, against 1.8e-6, 3.4e-6, 2.9e-6 in 63, 49, 52 s with a
plain restart.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from nnpde.problem import Initial
from nnpde.trial import initial_axis

#: fractions of the time horizon that the stages before the full run train on
STAGES = (0.25, 0.5)
#: a restart marches once this many attempts have stalled
AFTER_STALLS = 2


def time_axis(problem) -> int | None:
    """The time axis of an evolution problem: the axis its ``Initial`` condition is imposed on
    (:func:`nnpde.trial.initial_axis`: t of a ``Box(..., time=True)`` or of an ``Interval``),
    else None."""
    if not any(isinstance(bc, Initial) for bc in problem.boundary):
        return None
    return initial_axis(problem.domain)


def compressed(x, axis: int, t0: float, fraction: float):
    """The points x (P, D) with their time coordinate mapped t -> t0 + (t - t0)·fraction."""
    t = x[:, axis]
    return x.at[:, axis].set(t0 + (t - t0) * fraction)


def marcher(problem, execute, data_at, x):
    """``march(θ, options) -> (θ', stages)`` for ``solve``'s restarts, or None when ``problem``
    is not an evolution problem (:func:`time_axis`).

    Args:
      execute: ``execute(data, θ, options) -> Run`` (``nnpde.runs.execute`` with the solver
        and model bound).
      data_at: ``data_at(points) -> CollocationData`` at other points of the same count.
      x: the run's interior points (P, D).

    ``march``'s ``options`` are the attempt's :class:`nnpde.RunOptions`: each stage gets its
    step cap, and its ``time_limit`` is what is left of it when the stage starts (the stages
    end once it is spent); stages run without callback, progress or checkpoint.
    :func:`nnpde.runs.execute_restarting` puts the stages' histories before the attempt's.
    ``stages`` are records, one per stage:
    ``{"fraction", "result", "loss", "steps", "history"}`` (the runs' states, with their JᵀJ,
    are not kept).
    """
    axis = time_axis(problem)
    if axis is None:
        return None
    t0 = float(np.asarray(problem.domain.bounds[0], float)[axis])

    def march(theta, options):
        o = dataclasses.replace(options, callback=None, progress=False, checkpoint=None,
                                checkpoint_every=None, resume=None)  # fmt: skip
        deadline = None if o.time_limit is None else time.perf_counter() + o.time_limit
        stages = []
        for fraction in STAGES:
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                o = dataclasses.replace(o, time_limit=left)
            run = execute(data_at(compressed(x, axis, t0, fraction)), theta, o)
            theta = run.theta()
            stages.append({"fraction": fraction, "result": run.result.name,
                           "loss": float(run.loss), "steps": int(run.done),
                           "history": run.history})  # fmt: skip
        return theta, stages

    return march
