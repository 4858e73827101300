"""Points split over 4 CPU devices (``solve(..., devices=4)``) give the one-device result.

The device count must be fixed before JAX starts (``--xla_force_host_platform_device_count``),
so the runs happen in a subprocess; it prints one JSON line of relative differences.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import compilations

import nnpde
from nnpde import distributed

TESTS = Path(__file__).resolve().parent

# LM on 4 devices sums JᵀJ in another order: round-off, amplified a little by 5 solves.
LM_RTOL = 1e-9
# CG stops on a tolerance, so round-off can change the iteration count of a step; the
# result is the same to the CG tolerance.
CG_RTOL = 1e-4
# First-order methods: gradients summed in another order.
OPTAX_RTOL = 1e-12

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_rank_promotion", "raise")
    import jax.numpy as jnp
    import nnpde
    from problems_for_tests import coupled_system, lagaris_pde1, mixed_nonlinear

    assert jax.device_count() == 4, jax.devices()
    out = {}
    cases = [(method, globals()[name], backend, n)
             for method, name, backend, n in json.loads(sys.argv[1])]
    for method, make, backend, n in cases:
        problem = make()
        net = nnpde.TwoLayerNet(2, (6, 6), "tanh")
        x = problem.domain.grid(n)
        kw = dict(method=method, steps=5, backend=backend, boundary_points=20)
        one = nnpde.solve(problem, net, x, **kw)
        four = nnpde.solve(problem, net, x, devices=4, **kw)
        d = float(jnp.max(jnp.abs(one.theta - four.theta)) / jnp.max(jnp.abs(one.theta)))
        first = abs(one.history["loss"][0] - four.history["loss"][0]) / one.history["loss"][0]
        theta0 = net.init(jax.random.split(jax.random.key(0), 3)[0])  # solve's default θ0
        moved = (1 - four.history["loss"][-1] / four.history["loss"][0]
                 if problem.components > 1 else jnp.max(jnp.abs(four.theta - theta0)))
        out[f"{method}-{make.__name__}-{backend}" + ("-chunked" if n > 8 else "")] = {
            "theta": d, "loss1": float(first), "devices": four.info["devices"],
            "moved": float(moved),
        }
    try:
        nnpde.solve(lagaris_pde1(), nnpde.TwoLayerNet(2, (4, 4)), 10, devices=4, steps=1)
    except ValueError as err:
        out["error"] = str(err)
    print("RESULT " + json.dumps(out))
    """
)


# (method, problem, backend, grid n): each case solves 5 steps on one device and on four.
CASES = {
    "lm-mixed_nonlinear-kernels": ("lm", "mixed_nonlinear", "kernels", 8),  # every jet field;
    "lm-mixed_nonlinear-autodiff": ("lm", "mixed_nonlinear", "autodiff", 8),  # Neumann, Robin
    "lm-lagaris_pde1-kernels": ("lm", "lagaris_pde1", "kernels", 8),
    "gn-cg-lagaris_pde1-kernels": ("gn-cg", "lagaris_pde1", "kernels", 8),
    "adam-mixed_nonlinear-kernels": ("adam", "mixed_nonlinear", "kernels", 8),
    "lbfgs-lagaris_pde1-kernels": ("lbfgs", "lagaris_pde1", "kernels", 8),
    # 130² = 16900 points, 4225 per device: more than one block of every chunked sum
    # (rows: 1024, sums: 4096 points), so the lax.scan paths run inside shard_map
    "lm-lagaris_pde1-kernels-chunked": ("lm", "lagaris_pde1", "kernels", 130),
    "gn-cg-lagaris_pde1-kernels-chunked": ("gn-cg", "lagaris_pde1", "kernels", 130),
    "adam-lagaris_pde1-kernels-chunked": ("adam", "lagaris_pde1", "kernels", 130),
    # a system: 2 unknowns, 2 coefficients, a Neumann face, periodic pairs, observations
    "lm-coupled_system-kernels": ("lm", "coupled_system", "kernels", 8),
    "lm-coupled_system-autodiff": ("lm", "coupled_system", "autodiff", 8),
    "gn-cg-coupled_system-kernels": ("gn-cg", "coupled_system", "kernels", 8),
}
# Each case costs 20-40 s on the 2-core CPU (compiling for four devices dominates): the default
# suite runs LM on a problem that reads every jet field with Neumann and Robin faces (penalty
# rows on every device; 25 s alone), `pytest -m slow` the rest, the system among them
# (periodic pairs, observations, coefficients: 43 s alone).
FAST = ("lm-mixed_nonlinear-kernels",)
MORE = tuple(n for n in CASES if n not in FAST)
RTOL = {"lm": LM_RTOL, "gn-cg": CG_RTOL, "adam": OPTAX_RTOL, "lbfgs": OPTAX_RTOL}


def _run_on_four_devices(names) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
        " --xla_backend_optimization_level=0"
    ).strip()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS), str(TESTS.parent), env.get("PYTHONPATH", "")]
    )  # fmt: skip
    cases = json.dumps([CASES[n] for n in names])
    proc = subprocess.run([sys.executable, "-c", SCRIPT, cases], env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


@pytest.fixture(scope="module")
def sharded_runs():
    return _run_on_four_devices(FAST)


@pytest.fixture(scope="module")
def more_sharded_runs():
    return _run_on_four_devices(MORE)


def _check_four_equal_one(got, case):
    rtol = RTOL[CASES[case][0]]
    assert got["devices"] == 4
    assert got["loss1"] <= rtol, got  # after the first step
    assert got["theta"] <= rtol, got
    assert got["moved"] > 1e-3, got  # the runs did something (θ moved; a system's loss fell)


@pytest.mark.parametrize("case", FAST)
def test_four_devices_equal_one(sharded_runs, case):
    _check_four_equal_one(sharded_runs[case], case)


@pytest.mark.slow
@pytest.mark.parametrize("case", MORE)
def test_four_devices_equal_one_more_cases(more_sharded_runs, case):
    _check_four_equal_one(more_sharded_runs[case], case)


def test_points_must_divide_over_the_devices(sharded_runs):
    assert "10 interior collocation points cannot be split evenly over 4 devices" in \
        sharded_runs["error"]  # fmt: skip
    assert "use a multiple of 4 (e.g. 8 or 12)" in sharded_runs["error"]


def test_mesh_arguments_are_checked():
    with pytest.raises(ValueError, match="not both"):
        distributed.resolve_mesh(distributed.make_mesh(1), 1)
    with pytest.raises(ValueError, match="devices=99"):
        distributed.make_mesh(99)
    with pytest.raises(TypeError, match=r"jax\.sharding\.Mesh"):
        distributed.resolve_mesh("cpu", None)


def test_one_device_mesh_runs_in_process(monkeypatch):
    """A mesh of one device goes through shard_map and gives the plain run's θ."""
    import jax.numpy as jnp
    from problems_for_tests import lagaris_pde1

    from nnpde import _mappings

    monkeypatch.setattr(_mappings, "release_if_crowded", lambda: None)  # no cache clearing

    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (4, 4))
    plain = nnpde.solve(problem, net, problem.domain.grid(6), steps=3)
    meshed = nnpde.solve(problem, net, problem.domain.grid(6), steps=3, devices=1)
    assert meshed.info["devices"] == 1
    assert float(jnp.max(jnp.abs(plain.theta - meshed.theta))) <= 1e-12
    # A second solve on a mesh compiles nothing: the start's shard_map runs inside a jitted
    # program (called outside jit it ran op by op, ≈115 small compilations at every solve).
    with compilations() as compiles:
        again = nnpde.solve(problem, net, problem.domain.grid(6), steps=3, devices=1)
    assert compiles == [] and float(jnp.max(jnp.abs(again.theta - meshed.theta))) == 0.0
