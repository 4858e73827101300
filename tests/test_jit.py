"""The kernels inside user transformations: jax.jit, jax.vmap (over θ and over x batches), and
no recompilation on repeated calls with the same shapes."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err
from kernel_cases import MODULES, make_inputs

import nnpde

NET = nnpde.TwoLayerNet(2, (4, 3), "tanh")
MODULE_NAMES = list(MODULES)


class _CompileLog(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def compiled(self, name: str) -> int:
        """Number of XLA compilations of a jitted function called ``name``."""
        pat = re.compile(rf"Compiling jit\({re.escape(name)}\)")
        return sum(bool(pat.search(m)) for m in self.messages)


@contextlib.contextmanager
def compile_log():
    """Records jax's compile log messages (``jax.log_compiles``) while active."""
    handler = _CompileLog()
    logger = logging.getLogger("jax")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with jax.log_compiles(True):
            yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _thetas(n, net=NET):
    keys = jax.random.split(jax.random.key(11), n)
    return jnp.stack([net.init(k) * 3 for k in keys])


# ---- jax.jit by the user -------------------------------------------------------------------------
@pytest.mark.parametrize("module", MODULE_NAMES)
def test_user_jit_of_partial(module):
    mod = MODULES[module]
    theta, x, _ = make_inputs(NET, 6)
    f = jax.jit(functools.partial(mod.laplacian_x, NET))
    got = f(theta, x)
    assert rel_err(got, mod.laplacian_x(NET, theta, x)) <= F64_RTOL
    assert rel_err(got, nnpde.autodiff.laplacian_x(NET, theta, x)) <= F64_RTOL


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_user_jit_of_a_loss_and_its_gradient(module):
    """A typical training step: a jitted loss built from kernels, differentiated by the
    user-facing VJP inside the same jit."""
    mod = MODULES[module]
    theta, x, _ = make_inputs(NET, 6)

    @jax.jit
    def step(theta, x):
        res = mod.laplacian_x(NET, theta, x) - 1.0
        grad = mod.laplacian_x_vjp(NET, theta, x, res, chunk_size=4)
        return 0.5 * jnp.sum(res**2), grad

    loss, grad = step(theta, x)
    res = nnpde.autodiff.laplacian_x(NET, theta, x) - 1.0
    assert rel_err(loss, 0.5 * jnp.sum(res**2)) <= F64_RTOL
    want = jax.grad(lambda t: 0.5 * jnp.sum((nnpde.autodiff.laplacian_x(NET, t, x) - 1.0) ** 2))
    assert rel_err(grad, want(theta)) <= F64_RTOL


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_user_jit_with_closed_over_arrays(module):
    """Inside a user's jit the kernel may receive concrete (closed-over) arrays, not tracers."""
    mod = MODULES[module]
    theta, x, _ = make_inputs(NET, 6)
    got = jax.jit(lambda s: s * mod.laplacian_x(NET, theta, x))(2.0)
    assert rel_err(got, 2.0 * nnpde.autodiff.laplacian_x(NET, theta, x)) <= F64_RTOL


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_eval_shape(module):
    mod = MODULES[module]
    theta, x, w = make_inputs(NET, 6)
    out = jax.eval_shape(lambda: mod.hessian_x_vjp(NET, theta, x, w["hessian"]))
    assert out.shape == (NET.num_params,)
    assert out.dtype == jnp.float64
    out = jax.eval_shape(functools.partial(mod.grad_x_theta, NET), theta, x)
    assert out.shape == (6, NET.dim, NET.num_params)


@pytest.mark.parametrize("module", MODULE_NAMES)
def test_jax_grad_through_a_kernel(module):
    """The kernels are differentiable JAX code: grad of Σ r N equals value_vjp."""
    mod = MODULES[module]
    theta, x, w = make_inputs(NET, 6)
    r = w["value"]
    # jitted: one compiled program instead of one per primitive of the eager gradient
    got = jax.jit(jax.grad(lambda t: jnp.sum(r * mod.value(NET, t, x, chunk_size=4))))(theta)
    assert rel_err(got, nnpde.autodiff.value_vjp(NET, theta, x, r)) <= F64_RTOL


# ---- jax.vmap by the user ------------------------------------------------------------------------
VMAP_FUNCS = {
    "laplacian_x": lambda mod, t, x, w, c: mod.laplacian_x(NET, t, x, chunk_size=c),
    "hessian_x_theta": lambda mod, t, x, w, c: mod.hessian_x_theta(NET, t, x, chunk_size=c),
    "laplacian_x_vjp": lambda mod, t, x, w, c: mod.laplacian_x_vjp(NET, t, x, w, chunk_size=c),
    "operator_rows": lambda mod, t, x, w, c: mod.operator_rows(
        NET, t, x, value=w, laplacian=w, chunk_size=c
    ),
}


def _vmap_cases(configs):
    """(name, *config) for every function of VMAP_FUNCS and config ``(module, ...)``. Every
    case of the hand-written kernels runs by default; of the autodiff twins (plain jax.jit of
    JAX's own transformations, batched by JAX itself) only laplacian_x, the others are slow."""
    return [pytest.param(name, *config, marks=pytest.mark.slow)
            if config[0] == "autodiff" and name != "laplacian_x" else (name, *config)
            for name in VMAP_FUNCS for config in configs]  # fmt: skip


# 5 points, as each batch of test_vmap_over_x_batches (the looped calls share their programs);
# not a multiple of chunk_size=4
@pytest.mark.parametrize(
    ("name", "module", "chunk_size"),
    _vmap_cases([("kernels", None), ("kernels", 4), ("autodiff", None)]),
)
def test_vmap_over_theta(module, name, chunk_size):
    mod, fn = MODULES[module], VMAP_FUNCS[name]
    thetas = _thetas(3)
    _, x, w = make_inputs(NET, 5)
    r = w["laplacian"]
    # jitted: the kernel is traced inline under the vmap all the same (tracer arguments), and
    # one compiled program replaces one per batched primitive of the eager vmap
    batched = jax.jit(jax.vmap(lambda t: fn(mod, t, x, r, chunk_size)))(thetas)
    looped = jnp.stack([fn(mod, t, x, r, chunk_size) for t in thetas])
    assert batched.shape == looped.shape
    assert rel_err(batched, looped) <= F64_RTOL
    assert not np.allclose(looped[0], looped[1])  # the θs really differ


@pytest.mark.parametrize(("name", "module"), _vmap_cases([(m,) for m in MODULE_NAMES]))
def test_vmap_over_x_batches(module, name):
    mod, fn = MODULES[module], VMAP_FUNCS[name]
    theta, _, _ = make_inputs(NET, 1)
    xs = jax.random.normal(jax.random.key(3), (3, 5, NET.dim))
    rs = jax.random.normal(jax.random.key(4), (3, 5))
    batched = jax.jit(jax.vmap(lambda x, r: fn(mod, theta, x, r, None)))(xs, rs)  # as above
    looped = jnp.stack([fn(mod, theta, x, r, None) for x, r in zip(xs, rs, strict=True)])
    assert rel_err(batched, looped) <= F64_RTOL


# ---- no recompilation ----------------------------------------------------------------------------
@pytest.mark.parametrize("module", MODULE_NAMES)
def test_second_call_with_same_shapes_does_not_recompile(module):
    mod = MODULES[module]
    net = nnpde.TwoLayerNet(3, (5, 2), "sin")  # a spec no other test uses: a fresh compile
    theta, x, w = make_inputs(net, 4)
    theta2, x2, w2 = make_inputs(net, 4, seed=1)
    with compile_log() as log:
        mod.laplacian_x(net, theta, x).block_until_ready()
        mod.laplacian_x_vjp(net, theta, x, w["laplacian"]).block_until_ready()
        first = (log.compiled("laplacian_x"), log.compiled("laplacian_x_vjp"))
        # same shapes, new values, and an equal but distinct net object
        mod.laplacian_x(nnpde.TwoLayerNet(3, (5, 2), "sin"), theta2, x2).block_until_ready()
        mod.laplacian_x_vjp(net, theta2, x2, w2["laplacian"]).block_until_ready()
        second = (log.compiled("laplacian_x"), log.compiled("laplacian_x_vjp"))
        # a new shape compiles again (the detector works)
        mod.laplacian_x(net, theta, x[:3]).block_until_ready()
        third = log.compiled("laplacian_x")
    assert first == (1, 1)
    assert second == first
    assert third == 2


def test_user_jit_does_not_recompile():
    theta, x, _ = make_inputs(NET, 6)
    theta2, x2, _ = make_inputs(NET, 6, seed=2)
    f = jax.jit(functools.partial(nnpde.kernels.hessian_x, NET))
    traces = []

    def traced(theta, x):
        traces.append(1)
        return f(theta, x)

    g = jax.jit(traced)
    g(theta, x).block_until_ready()
    g(theta2, x2).block_until_ready()
    assert len(traces) == 1
    with compile_log() as log:
        f(theta2, x2).block_until_ready()
        f(theta, x).block_until_ready()
    assert log.compiled("hessian_x") <= 1  # at most the first call of f itself
    with compile_log() as log:
        f(theta2 * 2, x2 + 1).block_until_ready()
    assert log.compiled("hessian_x") == 0


_ONE_CPU_LM = """
import os, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # before JAX starts its thread pools
import jax
jax.config.update("jax_enable_x64", True)
import nnpde
problem = nnpde.Problem(nnpde.Interval(0.0, 1.0), lambda x, u: u.laplacian + 1.0,
                        boundary=[nnpde.Dirichlet(lambda x: 0.0)])
sol = nnpde.solve(problem, nnpde.TwoLayerNet(1, (5, 5)), 16, steps=3, method="lm")
assert len(os.sched_getaffinity(0)) == 1
print("taken", sol.history["loss"].shape[0])
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity")
def test_dense_lm_runs_on_a_process_pinned_to_one_cpu():
    # Issue 19, item 11: under `taskset -c 0` the dense LM dispatch failed to compile its
    # Cholesky (an untyped lapack_dpotrf_ffi custom call) while 2 CPUs worked. A 1-D problem:
    # the same dense LM dispatch, and a quicker compile than on the unit square (one CPU).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _ONE_CPU_LM], capture_output=True, text=True,
                         env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "taken 3" in out.stdout
