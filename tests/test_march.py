"""Time marching for the restarts of an evolution problem that stalled (``nnpde.march``).

The logistic equation u' = u(1 - u)/2, u(0) = 0.01 on [0, 30] (``benchmarks/heldout_round3.py``)
decays to the unstable equilibrium u = 0 from every start when a run sees the whole horizon
at once: with a 2×8 net on 256 points, seed 1 ended at rel-L2 1.0 after five attempts (the
runs without marching: three stalled, two swinging between the points). Restarted in stages
(the first quarter of the horizon, then the half, then all of it) after two stalls, it
reaches ≤ 1e-6. Checked here: which problems march, the stages' points, and that run.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from conftest import load_benchmark

import nnpde
from nnpde import march
from nnpde.results import RESULTS

r3 = load_benchmark("heldout_round3")


def _problem(domain, boundary):
    return nnpde.Problem(domain, lambda x, u: u.grad[0], boundary=boundary)


def test_time_axis_is_that_of_an_initial_condition():
    initial = [nnpde.Initial(lambda x: 0.0)]
    assert march.time_axis(_problem(nnpde.Interval(0.0, 2.0), initial)) == 0
    # a 1-D box: where the trial solution imposes the Initial (nnpde.trial.initial_axis)
    assert march.time_axis(_problem(nnpde.Box((0.0,), (2.0,)), initial)) == 0
    assert march.time_axis(_problem(nnpde.Box((0.0, 0.0, 1.0), (1.0, 1.0, 3.0), time=True),
                                    initial)) == 2  # fmt: skip
    # no initial condition, or no time axis: nothing to march along
    assert march.time_axis(_problem(nnpde.Interval(0.0, 2.0),
                                    [nnpde.Dirichlet(lambda x: 0.0)])) is None  # fmt: skip
    assert march.time_axis(_problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                                    [nnpde.Dirichlet(lambda x: 0.0)])) is None  # fmt: skip


def test_compressed_points_keep_space_and_start_at_t0():
    x = jnp.asarray([[0.2, 1.0], [0.7, 3.0], [0.4, 2.0]])
    y = march.compressed(x, 1, 1.0, 0.25)
    np.testing.assert_array_equal(y[:, 0], x[:, 0])
    np.testing.assert_allclose(y[:, 1], [1.0, 1.5, 1.25], rtol=0, atol=1e-15)


def test_a_stalled_logistic_is_marched_to_its_solution(tmp_path):
    """2×8 net, 256 points, seed 1: before marching, rel-L2 1.0 after five attempts."""
    problem = r3.logistic_30()["problem"]
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(1, (8, 8)), 256, key=jax.random.key(1))
    assert sol.result == RESULTS.converged, sol.status
    assert sol.errors()["rel_l2"] <= 1e-6, sol.errors()
    reasons = [a["restart_reason"] for a in sol.info["restarts"]]
    stalls = np.cumsum([r == "stalled" for r in reasons])
    marched = sol.info["march"]
    assert [m["attempt"] for m in marched] == [
        i for i in range(1, len(reasons)) if stalls[i - 1] >= march.AFTER_STALLS]
    assert [s["fraction"] for s in marched[0]["stages"]] == list(march.STAGES)
    # the stages' steps come first in their attempt's history, marked by their horizon
    h = sol.history
    assert len(h["loss"]) == len(h["attempt"]) == len(h["horizon"]) == sol.info["steps"]
    for m in marched:
        horizons = h["horizon"][h["attempt"] == m["attempt"]]
        expected = np.concatenate([np.full(s["steps"], s["fraction"]) for s in m["stages"]])
        np.testing.assert_array_equal(horizons[: len(expected)], expected)
        assert (horizons[len(expected):] == 1.0).all() and len(horizons) > len(expected)
    assert (h["horizon"][h["attempt"] < marched[0]["attempt"]] == 1.0).all()
    # the file keeps the marched history and info
    sol.save(tmp_path / "marched.npz")
    back = nnpde.load(tmp_path / "marched.npz", problem=problem)
    np.testing.assert_array_equal(back.history["horizon"], h["horizon"])
    assert back.info["march"] == marched


class _StageRun:
    """What ``march`` reads of a stage's run: its θ, result, loss, steps and history."""

    def __init__(self, theta):
        self.history, self.loss, self.done, self._theta = {}, 0.0, 1, theta
        self.result = RESULTS.converged

    def theta(self):
        return self._theta


def test_the_stages_share_the_attempts_time_limit():
    """Each stage gets what is left of the attempt's time limit; once it is spent the
    remaining stages are skipped (each fake stage takes 0.05 s)."""
    problem = r3.logistic_30()["problem"]
    limits = []

    def execute(data, theta, options):
        limits.append(options.time_limit)
        time.sleep(0.05)
        return _StageRun(theta + 1.0)

    marcher = march.marcher(problem, execute, lambda pts: pts, jnp.linspace(0, 30, 8)[:, None])
    theta, stages = marcher(jnp.zeros(3), nnpde.RunOptions(time_limit=0.04))
    assert len(stages) == len(limits) == 1
    assert limits[0] <= 0.04 and float(theta[0]) == 1.0
    limits.clear()
    theta, stages = marcher(jnp.zeros(3), nnpde.RunOptions(time_limit=10.0))
    assert [s["fraction"] for s in stages] == list(march.STAGES)
    assert all(set(s) == {"fraction", "result", "loss", "steps", "history"} for s in stages)
    assert limits[1] < limits[0] - 0.04 and float(theta[0]) == len(march.STAGES)
    limits.clear()
    marcher(jnp.zeros(3), nnpde.RunOptions())  # no time limit: none for the stages
    assert limits == [None] * len(march.STAGES)


def test_a_run_that_converges_at_once_does_not_march():
    problem = nnpde.Problem(nnpde.Interval(0.0, 2.0), lambda x, u: u.grad[0] + u.value,
                            boundary=[nnpde.Initial(lambda x: 1.0)],
                            exact=lambda x: jnp.exp(-x[0]))  # fmt: skip
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(1, (8, 8)), 128, key=jax.random.key(0))
    assert sol.result == RESULTS.converged, sol.status
    assert "march" not in sol.info and "restarts" not in sol.info
