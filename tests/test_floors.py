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


@pytest.mark.parametrize(("losses", "expected"), [
    ((2.354e-9, 3.047e-9), True),    # the rotating Gaussian's first two stalls (2×20)
    ((4.1e-8, 4.6e-8), True),        # a 2×4 Poisson net's capacity minima, 12 % apart
    ((2.18e-9, 1.775e-8), False),    # 8× apart: another start may do better
    ((1.03, 2.48), False),           # Lotka-Volterra's poor minima: not deep
    ((2.2137e-2, 2.2156e-2), False),  # one wrong basin, 1e-4 of the reference
])  # fmt: skip
def test_capacity_floor_is_two_deep_stalls_within_a_factor_two(losses, expected):
    attempts = [_attempt(v, 200.0) for v in losses]
    verdicts = [("stalled", v) for v in losses]
    assert runs.reproduced_floor(attempts, verdicts, runs.CAPACITY_SPREAD) is expected


def _fake_attempts(monkeypatch, losses, ref=3.4e-2):
    """``runs.execute`` replaced by attempts that stall at ``losses`` in turn (LM-like runs:
    a reference loss, the solver's rtol)."""
    solver = types.SimpleNamespace(rtol=1e-10)
    made = iter(losses)

    def execute(*args, **kw):
        loss = next(made)
        return types.SimpleNamespace(
            result=RESULTS.stalled, loss=loss, done=100, detail="", info={}, solver=solver,
            state=types.SimpleNamespace(ref=np.float64(ref)),
            history={"loss": np.full(100, loss)})  # fmt: skip

    monkeypatch.setattr(runs, "execute", execute)
    return solver


def _restart(solver, restarts=4):
    return runs.execute_restarting(solver, None, None, nnpde.RunOptions(steps=100),
                                   lambda i, reasons, o: (None, []), restarts)  # fmt: skip


def test_restarts_end_stalled_after_two_deep_stalls_at_about_one_loss(monkeypatch):
    """The rotating Gaussian's seed 0 (2×20): its stalls at 2.35e-9, 3.05e-9, 1.79e-9, 1.25e-8,
    2.03e-9 took five attempts; two at about one loss now end the restarts, ``stalled`` (the
    net's capacity: not the noisy data's ``converged`` floor), keeping the better one."""
    solver = _fake_attempts(monkeypatch, [2.354e-9, 3.047e-9, 1.791e-9, 1.25e-8, 2.03e-9])
    best = _restart(solver)
    assert [a["loss"] for a in best.info["restarts"]] == [2.354e-9, 3.047e-9]
    assert best.result == RESULTS.stalled
    assert best.info["capacity"] is True and best.info["floor"] is False
    assert best.loss == 2.354e-9


def test_restarts_go_on_after_deep_stalls_far_apart(monkeypatch):
    """Stalls 8× apart (the same problem's seed 2) are not a capacity floor: a third start."""
    solver = _fake_attempts(monkeypatch, [2.18e-9, 1.775e-8, 2.02e-9, 3.37e-9, 2.96e-9])
    best = _restart(solver)
    assert len(best.info["restarts"]) == 4  # stopped at the pair 2.02e-9, 3.37e-9
    assert best.info["capacity"] is True
    assert best.loss == 2.02e-9


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


def test_diagnose_advises_a_wider_network_after_a_capacity_stop():
    from nnpde.diagnostics import ADVICE, diagnose

    def sol(info):
        return types.SimpleNamespace(status="stalled", result=RESULTS.stalled, info=info,
                                     history={"loss": np.array([1.0, 2e-9])})  # fmt: skip

    assert diagnose(sol({"capacity": True})).splitlines()[-1] == "next: " + ADVICE["capacity"]
    assert diagnose(sol({})).splitlines()[-1] == "next: " + ADVICE["stalled"]
