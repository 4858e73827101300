"""Runs whose loss cannot fall further for a reason other than a poor start: noisy data (two
starts stall at one loss, the least-squares minimum) and a trial solution that alone solves
the problem (the reference loss is round-off). Both ended ``stalled`` after five attempts
before; they end ``converged``, without the restarts that could not help."""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_benchmark

import nnpde
from nnpde import runs
from nnpde.lm import good_loss

RESULTS = nnpde.RESULTS
noisy_inverse = load_benchmark("noisy_inverse")  # κ from 60 noisy observations
PI = np.pi


def _sinsin(x):
    return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])


# ---- two stalls at the same loss -----------------------------------------------------------
def _attempt(loss: float, ref: float):
    return types.SimpleNamespace(loss=loss, state=types.SimpleNamespace(ref=np.float64(ref)))


@pytest.mark.parametrize(("losses", "verdicts", "expected"), [
    ((2.182e-6, 2.182e-6), ("stalled", "stalled"), True),      # the noisy κ: one minimum
    ((7.485e-8, 7.514e-8), ("stalled", "stalled"), True),      # 0.4 % apart
    ((1.03, 2.48), ("stalled", "stalled"), False),             # Lotka-Volterra's poor minima
    ((4.1e-8, 4.6e-8), ("stalled", "stalled"), False),         # 12 % apart: capacity minima
    ((2.2137e-2, 2.2156e-2), ("stalled", "stalled"), False),   # one wrong basin, 1e-4 of ref
    ((2.182e-6, 2.182e-6), ("under-resolved", "stalled"), False),
    ((2.182e-6, 2.182e-6), ("stalled", ""), False),
])  # fmt: skip
def test_reproduced_floor_needs_two_stalls_at_one_loss_far_below_the_reference(
        losses, verdicts, expected):
    attempts = [_attempt(v, 200.0) for v in losses]
    assert runs.reproduced_floor(attempts, [(w, v) for w, v in zip(verdicts, losses)]) is expected
    assert runs.reproduced_floor(attempts[:1], [(verdicts[0], losses[0])]) is False


def test_noisy_observations_end_converged_after_two_starts_at_one_loss():
    """0.1 % noise: the least-squares minimum is far above rtol × the reference, so every start
    stalled there and solve restarted four times, ending ``stalled``; now two starts at the same
    loss end it ``converged`` and κ is the least-squares one."""
    sol = nnpde.solve(noisy_inverse.problem(1e-3), nnpde.TwoLayerNet(2, (8, 8)), 256,
                      key=jax.random.key(0))  # fmt: skip
    attempts = sol.info["restarts"]
    assert sol.result == RESULTS.converged, sol.status
    assert sol.info["floor"] is True
    assert [a["result"] for a in attempts] == ["stalled", "stalled"], attempts
    a, b = (t["loss"] for t in attempts)
    assert abs(a - b) <= runs.FLOOR_SPREAD * max(a, b)
    assert abs(sol.params["kappa"] / 2.0 - 1) < 1e-3, sol.params


# ---- the reference loss at round-off -------------------------------------------------------
def test_good_loss_when_the_reference_is_round_off():
    """loss ≤ rtol·ref, or ref itself at most ½(100·eps)²·max(D)/R; not for a reference of a
    tiny solution above that."""
    def state(loss, ref, scale):  # (loss, ref, D)
        return jnp.float64(loss), jnp.float64(ref), jnp.asarray([scale, 1.0])

    eps = float(jnp.finfo(jnp.float64).eps)
    floor = 0.5 * (100 * eps) ** 2 * 4.0 / 10  # max D = 4, R = 10
    assert bool(good_loss(1e-10, *state(1e-11, 1.0, 4.0), 10))
    assert not bool(good_loss(1e-10, *state(1e-9, 1.0, 4.0), 10))
    assert bool(good_loss(1e-10, *state(0.9 * floor, 0.9 * floor, 4.0), 10))
    assert not bool(good_loss(1e-10, *state(0.9 * floor, 1.1 * floor, 4.0), 10))
    assert not bool(good_loss(1e-10, *state(1e-26, 1e-18, 4.0), 10))  # u ~ 1e-9: its own scale


def test_a_trial_solution_that_solves_the_problem_ends_converged():
    """On a disk the Dirichlet datum is the function itself inside (a distance-function trial
    solution), so Dirichlet(exact) makes A = u and N = 0 the solution: the loss is round-off
    from θ0 on. It ended ``stalled`` after five starts (no loss is 1e-10 below round-off)."""
    def exact(x):
        return _sinsin(x) + x[0]

    problem = nnpde.Problem(
        nnpde.Disk((0.0, 0.0), 1.0), lambda x, u: u.laplacian + 2 * PI**2 * _sinsin(x),
        boundary=[nnpde.Dirichlet(exact)], exact=exact, name="disk_exact_data",
    )  # fmt: skip
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (8, 8)), 256, key=jax.random.key(0))
    assert sol.result == RESULTS.converged, sol.status
    assert "restarts" not in sol.info
    assert sol.errors()["max_abs"] < 1e-12
