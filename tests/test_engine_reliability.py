"""Regression tests for the engine items of issue 19: resume fingerprints, memory checks,
history bounded by the dispatch, settings validation, float32 by accident."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnpde
from nnpde.files import FileFormatError

# One problem object: solves of the same problem object, network and points share their
# compiled programs (compilation is most of these tests' time), so the runs below use the
# checkpoint's 25 points wherever the number of points does not matter.
BASE = nnpde.problems.lagaris_pde1().problem


def _problem(shift=0.0):
    base = BASE
    if shift == 0.0:
        return base
    return nnpde.Problem(base.domain, lambda x, u: base.equation(x, u) + shift * u.value,
                         boundary=base.boundary, exact=base.exact)  # fmt: skip


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "run.npz"
    p = _problem()
    with warnings.catch_warnings():  # 25 points and 3 steps: under-resolved on purpose
        warnings.simplefilter("ignore", nnpde.UnderResolvedWarning)
        nnpde.solve(p, nnpde.TwoLayerNet(2, (10, 10)), p.domain.grid(5), steps=3,
                    checkpoint=path)  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("net", "shift", "what"),
    [
        (nnpde.TwoLayerNet(2, (10, 10), "sin"), 0.0, "net"),  # another activation
        (nnpde.TwoLayerNet(2, (24, 3)), 0.0, "net"),  # the same 150 parameters
        (nnpde.TwoLayerNet(2, (10, 10)), 5.0, "probe"),  # another equation
    ],
)
def test_resume_refuses_another_model(checkpoint, net, shift, what):
    # issue 19.1: the old check compared method, parameter count, dtype and points only
    p = _problem(shift)
    assert net.num_params == 150
    with pytest.raises(FileFormatError, match=what):
        nnpde.solve(p, net, p.domain.grid(5), steps=20, resume=checkpoint)


def test_resume_refuses_other_solver_settings(checkpoint):
    p = _problem()
    with pytest.raises(FileFormatError, match="solver"):
        nnpde.solve(p, nnpde.TwoLayerNet(2, (10, 10)), p.domain.grid(5), steps=20,
                    solver=nnpde.LM(mu0=1e-2), resume=checkpoint)  # fmt: skip


def test_resume_refuses_steps_below_the_checkpoint(checkpoint):
    # issue 19.8: steps=2 from a checkpoint at step 3 reported "step limit (2 steps)"
    p = _problem()
    with pytest.raises(ValueError, match="past this run's steps=2"):
        nnpde.solve(p, nnpde.TwoLayerNet(2, (10, 10)), p.domain.grid(5), steps=2,
                    resume=checkpoint)  # fmt: skip


def test_fit_resume_refuses_another_activation(tmp_path):
    x = jnp.linspace(-1.0, 1.0, 16)[:, None]
    path = tmp_path / "fit.npz"
    sgd = nnpde.Optax(optax.sgd(1e-2))  # compiles in half the time of LM; the check is the same
    nnpde.fit(nnpde.MLP((1, 4, 1)), x, jnp.sin(x), solver=sgd, steps=2, checkpoint=path)
    with pytest.raises(FileFormatError, match="net"):
        nnpde.fit(nnpde.MLP((1, 4, 1), activation="sin"), x, jnp.sin(x), solver=sgd, steps=4,
                  resume=path)  # fmt: skip


def test_dense_lm_too_large_for_memory_is_refused_at_once():
    # issue 19.4: a (300, 300) net (NT ≈ 91 000) with dense steps hung in BlockUntilReady
    p = _problem()
    net = nnpde.TwoLayerNet(2, (300, 300))
    with pytest.raises(MemoryError, match="GaussNewtonCG"):
        nnpde.solve(p, net, p.domain.grid(5), solver=nnpde.LM(dense_max_params=10**9))


def test_history_is_bounded_by_the_dispatch_not_the_step_cap():
    # issue 19.5: steps=3e8 with an immediate stop allocated a history of 3e8 entries
    p = _problem()
    # an SGD solver (its dispatch compiles in half the time of LM's) that has converged at θ0
    sol = nnpde.solve(p, nnpde.TwoLayerNet(2, (10, 10)), p.domain.grid(5), steps=10**10,
                      solver=nnpde.Optax(optax.sgd(1e-3), atol=1e30))  # fmt: skip
    assert sol.result == nnpde.RESULTS.converged
    assert sol.info["steps"] == 0 and sol.history["loss"].shape == (0,)
    assert nnpde.engine._dispatch_length(10**10, ()) == nnpde.engine.MAX_DISPATCH


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: nnpde.LM(mu_max=1e-20), "mu_max"),
        (lambda: nnpde.LM(dense_max_params=-5), "dense_max_params"),
        (lambda: nnpde.LM(mu0=float("inf")), "mu0"),
        (lambda: nnpde.LM(stall_window=0), "stall_window"),
        (lambda: nnpde.LM(scaling="moore"), "scaling"),
        (lambda: nnpde.Optax(nnpde.LM()), "transformation"),
        (lambda: nnpde.LBFGS(memory_size=0), "memory_size"),
        (lambda: nnpde.Optax(__import__("optax").adam(1e-3), divergence=float("inf")),
         "divergence"),
    ],
)
def test_solver_settings_are_checked(make, name):
    # issue 19.8: LMConfig(mu_max=1e-20) ran 0 steps, dense_max_params=-5 was accepted
    with pytest.raises((ValueError, TypeError), match=name):
        make()


def test_removed_arguments_name_their_new_place():
    p = _problem()
    with pytest.raises(TypeError, match="Optax"):
        nnpde.solve(p, nnpde.TwoLayerNet(2, (4, 4)), p.domain.grid(3), learning_rate=np.inf)


@pytest.mark.slow
def test_float32_by_accident_warns():
    # issue 19.10: with jax_enable_x64 off, solve ran in float32 without a word
    code = textwrap.dedent("""
        import warnings, nnpde
        p = nnpde.problems.lagaris_pde1().problem
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            nnpde.solve(p, nnpde.TwoLayerNet(2, (4, 4)), p.domain.grid(3), steps=2)
            nnpde.solve(p, nnpde.TwoLayerNet(2, (4, 4)),
                        p.domain.grid(3).astype("float32"), steps=2)
        print(sum("float32" in str(x.message) for x in w))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={"JAX_ENABLE_X64": "0", "PATH": "/usr/bin:/bin",
                                           "PYTHONPATH": ":".join(sys.path)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"  # warned once, not when asked for


@pytest.mark.slow
def test_dispatch_is_vmappable_over_starting_points():
    # the engine's state has fixed shapes: K starts run as one vmapped while_loop
    from nnpde import distributed, engine
    from nnpde.collocation import make_collocation
    from nnpde.objective import Objective

    p = _problem()
    net = nnpde.TwoLayerNet(2, (4, 4))
    col, data = make_collocation(p, net, jnp.asarray(p.domain.grid(4)))
    thetas = jnp.stack([net.init(jax.random.key(k)) for k in range(3)])
    obj = Objective(col, distributed.make_shards(col, data, thetas[0], None))
    solver = nnpde.LM()
    states = jax.vmap(lambda t: solver.init(obj, data, t))(thetas)
    batched = jax.vmap(lambda s: engine.dispatch(solver, obj, 8, data, s, 8)[0])(states)
    for k in range(3):
        single = engine.dispatch(solver, obj, 8, data, jax.tree_util.tree_map(
            lambda a, k=k: a[k], states), 8)[0]  # fmt: skip
        np.testing.assert_allclose(batched.theta[k], single.theta, rtol=1e-9, atol=1e-12)


# ---- compiled programs released before the process runs out of memory mappings -------------
def test_a_crowded_process_releases_jax_compiled_programs(monkeypatch):
    """One solve adds ≈600 memory mappings that only ``jax.clear_caches`` gives back; past
    half of ``vm.max_map_count`` the next solve clears the caches first (≈100 solves in one
    process crashed LLVM before)."""
    from nnpde import _mappings

    # the cheapest full solve: -u'' = 1 on [0, 1] with u = 0 at both ends (a trial solution
    # that is cheap to compile), θ0 given (no default start or restarts), plain SGD steps; it
    # still compiles every program of a run, ≈450 mappings
    p = nnpde.Problem(nnpde.Interval(0.0, 1.0), lambda x, u: u.laplacian + 1.0,
                      boundary=[nnpde.Dirichlet(lambda x: 0.0)])  # fmt: skip
    net = nnpde.TwoLayerNet(1, (6, 6))
    kw = dict(steps=3, theta0=net.init(jax.random.key(0)),
              solver=nnpde.Optax(optax.sgd(1e-3)))  # fmt: skip
    jax.clear_caches()
    start = _mappings.mapping_count()
    assert start is not None, "the test needs Linux's /proc/self/maps"
    nnpde.solve(p, net, 16, **kw)
    grown = _mappings.mapping_count()
    assert grown > start + 100, (start, grown)
    assert _mappings.release_if_crowded() is False  # far below half the limit
    # a limit this process is already above: the next solve releases first, then runs
    monkeypatch.setattr(_mappings, "FRACTION", (start + 50) / _mappings._limit())
    sol = nnpde.solve(p, net, 16, **kw)
    assert sol.result == nnpde.RESULTS.max_steps
    assert _mappings.release_if_crowded() is True
    assert _mappings.mapping_count() < grown, (start, grown, _mappings.mapping_count())
