"""The robustness benchmark's claims, on several seeds, with ``solve``'s defaults (issue 16).

Each case is solved the benchmark's way (``benchmarks/robustness.py``: the problem, the net,
the point count and the seed chosen; everything else default) and scored on the benchmark's
fine test set, never the training points. Every seed must reach rel-L2 ≤ 1e-6 and end
``converged``. These are minutes of CPU each, so they are ``slow``; the default suite keeps
the rule they rest on (the automatic boundary count, ``tests/test_collocation.py``) and the
scoring (``tests/test_robustness_script.py``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_benchmark

import nnpde
from nnpde.results import RESULTS

rb = load_benchmark("robustness")

SEEDS = (0, 1, 2)


def _solve_and_score(name: str, seed: int) -> tuple[dict, object]:
    case = rb.PROBLEMS[name]()
    x = rb.test_points(case.problem.domain)
    u_ref = np.asarray(jax.jit(jax.vmap(case.reference))(jnp.asarray(x)), np.float64)
    out = rb.solve_once(case, "lm", seed)
    return rb.score(case, out["sol"], x, u_ref.reshape(x.shape[0], -1)), out["sol"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_poisson_5d_with_penalty_dirichlet_data_reaches_1e_minus_6(seed):
    """Dirichlet data by penalty on the ten faces of [0, 1]⁵ (P = 2048, 2×20): with 64 boundary
    points per condition 10 seeds ended 1.4e-6 … 4.9e-4; with the automatic count (512) every
    measured seed is below 1e-7 (``benchmarks/results/robustness-boundary-cpu.md``),
    about 45 s each."""
    scores, sol = _solve_and_score("poisson_5d", seed)
    assert sol.result == RESULTS.converged
    assert sol.info["boundary_points"] >= 500
    assert scores["rel_l2"] <= 1e-6, scores


@pytest.mark.slow
@pytest.mark.parametrize("name", ["poisson_2d_sinsin", "heat_1d", "convection"])
def test_representative_problems_reach_1e_minus_6_on_every_seed(name):
    """Three of the benchmark's classes (elliptic, parabolic, the periodic 'failure mode'
    convection problem), seeds 0-2: measured ≤ 2e-10, 7e-10, 7e-8 over 10 seeds."""
    for seed in SEEDS:
        scores, sol = _solve_and_score(name, seed)
        assert sol.result == RESULTS.converged, (seed, sol.status)
        assert scores["rel_l2"] <= 1e-6, (seed, scores)


@pytest.mark.slow
def test_a_run_that_swings_between_its_points_is_restarted_once_and_flagged():
    """The logistic ODE with far too few points (48 for a 2×16 net, NT = 336), seed 0: an
    attempt converges at the points with a residual between them ≫ the one at them (measured
    3.6e4x for the kept one); the validation flags it, the run is started again once (not
    more: a second swing means the points are too few) and the result says it is
    under-resolved."""
    case = rb.PROBLEMS["logistic"]()
    net = nnpde.TwoLayerNet(1, case.hidden)
    with pytest.warns(nnpde.UnderResolvedWarning):
        sol = nnpde.solve(case.problem, net, 48, key=jax.random.key(0))
    reasons = [a["restart_reason"] for a in sol.info["restarts"]]
    assert reasons == ["under-resolved", "under-resolved"], reasons
    assert sol.info["validation"]["under_resolved"] and sol.result == RESULTS.converged


@pytest.mark.slow
def test_lagaris_ode4_seed_3_no_longer_swings():
    """Lagaris ODE 4 (an IVP on [0, 3] that amplifies its residual ~5000x; 2×16, 1024 points),
    seed 3: started with its hyperplanes near t = 0 the first attempt swung between the points
    (ratio 1.2e4, rel-L2 7.9e-2) and had to be restarted; spread over [0, 3] it converges on
    the first attempt (validation ratio ≈ 1)."""
    scores, sol = _solve_and_score("lagaris_ode4", 3)
    assert not sol.info.get("restarts"), sol.info.get("restarts")
    assert sol.result == RESULTS.converged
    assert scores["rel_l2"] <= 1e-6, scores


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_heat_with_insulated_ends_reaches_its_accuracy(seed):
    """The held-out heat equation with u_x = 0 at both ends (``Neumann`` on the whole boundary
    of [0, 1] × [0, 0.5], time; 2×16, 1024 points). Before ``where=None`` meant the spatial
    faces of a space-time box, its points lay on t = 0 and t = 0.5 too, asking u_t = 0 there:
    seeds 0-4 ended 1e-3 … 0.2; now 1.4e-7 … 1.8e-6
    (``benchmarks/results/heldout-round2-cpu.md``), about 16 s each."""
    heldout = load_benchmark("heldout")
    record = heldout.run_once("heat_insulated", seed)
    assert record["result"] == "converged", record["status"]
    assert record["rel_l2"] <= 1e-5, record
