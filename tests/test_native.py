"""The fused native kernels (nnpde.native, nnpde/csrc): the VJPs Σ_p ∂F_p/∂θ for every weight
of F = α N + β·∇N + h:∇²N + λ ΔN, its rows ∂F_p/∂θ (operator_rows, laplacian_x_theta, and Jᵀ
in operator_gram's sums), the rows ∂N_p/∂θ (grad_theta), and N, ∇xN, ΔN, ∇²xN.

They are checked against the autodiff twins (jax.grad through jax.hessian) in float64 to F64_RTOL,
against the pure-JAX kernel it replaces, in every instruction-set variant, under jit, vmap and
differentiation, and it must hand back everything it does not serve.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err

import nnpde
from nnpde import autodiff, kernels, native

TARGET = "nnpde_operator_vjp_f64"
ROWS_TARGET = "nnpde_grad_theta_f64"
FORWARD_TARGET = "nnpde_forward_f64"
OPERATOR_ROWS_TARGET = "nnpde_operator_rows_f64"
FORWARD = ("value", "grad_x", "laplacian_x", "hessian_x")  # per-point outputs, forward kernel


def _case(dim, hidden, p, seed=0, scale=1.0, activation="tanh", dtype=jnp.float64):
    net = nnpde.TwoLayerNet(dim, hidden, activation)
    k = jax.random.split(jax.random.key(seed), 4)
    theta = (scale * net.init(k[0])).astype(dtype)
    x = jax.random.uniform(k[1], (p, dim), dtype, -1.5, 1.5)
    return net, theta, x, jax.random.normal(k[2], (p,), dtype), jax.random.normal(k[3], (p,), dtype)


def _lowered(fn, *args) -> str:
    return jax.jit(fn).lower(*args).as_text()


def test_built_where_a_compiler_is_found():
    """`pip install` builds the extension wherever a C++ compiler is on PATH (CI has one);
    without it nnpde says why and the pure-JAX kernels give the same results."""
    info = native.info()
    if shutil.which("c++") is None and shutil.which("g++") is None and not info["built"]:
        assert "not built" in info["reason"] and not native.enabled()
        net, theta, x, r, _ = _case(2, (4, 4), 10)
        got = kernels.laplacian_x_vjp(net, theta, x, r)
        assert rel_err(got, autodiff.laplacian_x_vjp(net, theta, x, r)) <= F64_RTOL
        return
    assert info["built"], info["reason"]
    assert info["isa"] in ("avx512", "avx2", "baseline")


# ~20 s per size in the default suite (each compiles a dozen kernels and their autodiff twins):
# P = 63, 64 (one short of / exactly the point tiles at M = 32) run with `-m slow`; P = 1 and 65
# keep partial tiles, P = 5000 several chunks and M = 32 in the default suite.
SIZES = [(1, (5, 7), 1), pytest.param(1, (32, 32), 63, marks=pytest.mark.slow),
         pytest.param(2, (32, 32), 64, marks=pytest.mark.slow), (2, (10, 10), 65),
         (3, (17, 9), 1000), (10, (32, 32), 777), (2, (32, 32), 5000)]  # fmt: skip


def _weights(x, seed):
    """Every subset of the operator's weights is checked; h is not symmetric on purpose."""
    k = jax.random.split(jax.random.key(seed), 4)
    p, d = x.shape
    shapes = {"value": (p,), "grad": (p, d), "hessian": (p, d, d), "laplacian": (p,)}
    return {name: jax.random.normal(kk, shape) for kk, (name, shape) in zip(k, shapes.items())}


ALL_WEIGHTS = ("value", "grad", "hessian", "laplacian")
SUBSETS = [("laplacian",), ("value",), ("value", "laplacian"), ("grad",), ("value", "grad"),
           ("hessian",), ALL_WEIGHTS]  # fmt: skip
# Each weight subset is its own compiled kernel pair (native and autodiff), ~1-2 s apiece: every
# subset is checked at D = 1 and 2 (widths 5, 7, 10: partial SIMD lanes; P = 1 and 65: partial
# point tiles), the full operator (all of the native code's per-weight branches at once) at
# every size.
SUBSET_SIZES = ((1, (5, 7), 1), (2, (10, 10), 65))


@pytest.mark.parametrize("dim,hidden,p", SIZES)
def test_matches_autodiff(dim, hidden, p):
    net, theta, x, r, a = _case(dim, hidden, p)
    assert native.serves(net, x)
    got = kernels.laplacian_x_vjp(net, theta, x, r)
    assert rel_err(got, autodiff.laplacian_x_vjp(net, theta, x, r)) <= F64_RTOL
    assert (
        rel_err(kernels.value_vjp(net, theta, x, a), autodiff.value_vjp(net, theta, x, a))
        <= F64_RTOL
    )
    ws = _weights(x, p)
    for subset in SUBSETS if (dim, hidden, p) in SUBSET_SIZES else [ALL_WEIGHTS]:
        kw = {k: ws[k] for k in subset}
        got = kernels.operator_vjp(net, theta, x, **kw)
        assert rel_err(got, autodiff.operator_vjp(net, theta, x, **kw)) <= F64_RTOL, subset
        if p <= 1000:  # the rows, and JᵀJ, Jᵀr from their columns (blocks of 100: a last partial)
            got = kernels.operator_rows(net, theta, x, **kw)
            assert rel_err(got, autodiff.operator_rows(net, theta, x, **kw)) <= F64_RTOL, subset
            got = kernels.operator_gram(net, theta, x, r, **kw, chunk_size=100)
            want = autodiff.operator_gram(net, theta, x, r, **kw)
            assert max(rel_err(g, w) for g, w in zip(got, want)) <= F64_RTOL, subset
    got = kernels.laplacian_x_theta(net, theta, x)
    assert rel_err(got, autodiff.laplacian_x_theta(net, theta, x)) <= F64_RTOL
    rows = kernels.grad_theta(net, theta, x)
    assert rel_err(rows, autodiff.grad_theta(net, theta, x)) <= F64_RTOL
    for name in FORWARD:
        got, want = getattr(kernels, name)(net, theta, x), getattr(autodiff, name)(net, theta, x)
        assert rel_err(got, want) <= F64_RTOL, name


@pytest.mark.parametrize("scale", [0.05, 8.0])
def test_small_and_saturated_arguments(scale):
    """tanh near 0 (expm1 without cancellation) and saturated (|A| ~ 50)."""
    net, theta, x, r, _ = _case(2, (16, 12), 300, seed=3, scale=scale)
    got = kernels.laplacian_x_vjp(net, theta, x, r)
    assert rel_err(got, autodiff.laplacian_x_vjp(net, theta, x, r)) <= F64_RTOL
    assert (
        rel_err(kernels.grad_theta(net, theta, x), autodiff.grad_theta(net, theta, x)) <= F64_RTOL
    )


@pytest.mark.parametrize(
    "kernel,target",
    [("laplacian_x_vjp", TARGET), ("value_vjp", TARGET), ("grad_theta", ROWS_TARGET),
     ("laplacian_x_theta", OPERATOR_ROWS_TARGET), ("operator_rows", OPERATOR_ROWS_TARGET),
     ("operator_gram", OPERATOR_ROWS_TARGET)]
    + [(name, FORWARD_TARGET) for name in FORWARD],
)  # fmt: skip
def test_the_call_is_native_and_disabled_is_pure(kernel, target):
    net, theta, x, r, _ = _case(2, (8, 8), 100)
    args = (theta, x, r) if kernel.endswith(("_vjp", "_gram")) else (theta, x)
    kw = {"grad": jnp.ones_like(x), "laplacian": r} if kernel.startswith("operator") else {}

    def fn():  # a new function each time: jax caches a trace per function
        return lambda *a: getattr(kernels, kernel)(net, *a, **kw)

    assert target in _lowered(fn(), *args)
    with native.disabled():
        assert not native.enabled()
        assert target not in _lowered(fn(), *args)
        pure = jax.jit(fn())(*args)
    assert native.enabled()
    got = jax.jit(fn())(*args)
    assert max(rel_err(g, w) for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(pure))) <= 1e-12


def test_repeatable_bit_for_bit():
    net, theta, x, r, _ = _case(2, (32, 32), 20000, seed=5)
    first = np.asarray(kernels.laplacian_x_vjp(net, theta, x, r))
    for _ in range(3):
        np.testing.assert_array_equal(np.asarray(kernels.laplacian_x_vjp(net, theta, x, r)), first)


def test_vmap_and_derivatives_follow_the_pure_kernel():
    net, theta, x, r, _ = _case(2, (9, 11), 50, seed=2)
    thetas = jnp.stack([theta, 0.5 * theta, -theta])
    batched = jax.vmap(lambda t: kernels.laplacian_x_vjp(net, t, x, r))(thetas)
    for t, g in zip(thetas, batched):
        assert rel_err(g, autodiff.laplacian_x_vjp(net, t, x, r)) <= F64_RTOL

    ws = _weights(x, 1)

    def f(t, y):
        return kernels.operator_vjp(net, t, y, **ws)

    v, u = jax.random.normal(jax.random.key(9), theta.shape), jnp.ones_like(x)  # θ and x tangents
    tangent = jax.jvp(f, (theta, x), (v, u))[1]
    with native.disabled():
        want = jax.jvp(f, (theta, x), (v, u))[1]
    assert rel_err(tangent, want) <= 1e-12
    grad = jax.grad(lambda t: jnp.sum(f(t, x) ** 2))(theta)
    with native.disabled():
        want = jax.grad(lambda t: jnp.sum(f(t, x) ** 2))(theta)
    assert rel_err(grad, want) <= 1e-12
    rows = jax.vmap(lambda t: kernels.grad_theta(net, t, x))(thetas)
    for t, g in zip(thetas, rows):
        assert rel_err(g, autodiff.grad_theta(net, t, x)) <= F64_RTOL
    jac = jax.jacfwd(lambda t: kernels.grad_theta(net, t, x[:5]))(theta)
    want = jax.jacfwd(lambda t: autodiff.grad_theta(net, t, x[:5]))(theta)
    assert rel_err(jac, want) <= 1e-10
    rows = jax.vmap(lambda t: kernels.operator_rows(net, t, x, **ws))(thetas)
    for t, g in zip(thetas, rows):
        assert rel_err(g, autodiff.operator_rows(net, t, x, **ws)) <= F64_RTOL
    jac = jax.jacfwd(lambda t: kernels.laplacian_x_theta(net, t, x[:5]))(theta)
    want = jax.jacfwd(lambda t: autodiff.laplacian_x_theta(net, t, x[:5]))(theta)
    assert rel_err(jac, want) <= 1e-10


@pytest.mark.parametrize("what", ["float32", "sin"])
def test_hands_back_what_it_does_not_serve(what):
    dtype = jnp.float32 if what == "float32" else jnp.float64
    net, theta, x, r, _ = _case(2, (6, 5), 40, activation="sin" if what == "sin" else "tanh",
                                dtype=dtype)  # fmt: skip
    assert not native.serves(net, x)
    vjp = lambda t, y: kernels.operator_vjp(net, t, y, laplacian=r, grad=jnp.ones_like(y))  # noqa: E731
    assert TARGET not in _lowered(vjp, theta, x)
    for name, target in [("grad_theta", ROWS_TARGET), ("laplacian_x", FORWARD_TARGET),
                         ("laplacian_x_theta", OPERATOR_ROWS_TARGET)]:  # fmt: skip
        kernel = getattr(kernels, name)
        assert target not in _lowered(lambda t, y, k=kernel: k(net, t, y), theta, x)
    want = autodiff.laplacian_x_vjp(net, theta, x, r)
    assert rel_err(kernels.laplacian_x_vjp(net, theta, x, r), want) <= (
        1e-4 if what == "float32" else F64_RTOL
    )


RUNS = {  # environment of a fresh process -> what info() must say
    "best": ({}, None),
    "avx2": ({"NNPDE_NATIVE_ISA": "avx2"}, None),
    "baseline": ({"NNPDE_NATIVE_ISA": "baseline"}, "baseline"),
    "one thread": ({"NNPDE_NATIVE_THREADS": "1"}, None),
    "off": ({"NNPDE_NATIVE": "0"}, "off"),
}


def test_every_variant_and_switch_agrees(tmp_path):
    """NNPDE_NATIVE_ISA caps the variant chosen at load, NNPDE_NATIVE_THREADS the threads,
    NNPDE_NATIVE=0 switches the kernels off: each gives the autodiff gradient, and one thread
    gives the same bits as several (chunks depend on P only)."""
    code = textwrap.dedent("""
        import sys, jax, numpy as np, nnpde
        jax.config.update("jax_enable_x64", True)
        from nnpde import kernels, native
        net = nnpde.TwoLayerNet(3, (13, 10), "tanh")
        k = jax.random.split(jax.random.key(4), 3)
        theta, x = net.init(k[0]), jax.random.uniform(k[1], (333, 3))
        r = jax.random.normal(k[2], (333,))
        g = kernels.laplacian_x_vjp(net, theta, x, r)
        rows = kernels.grad_theta(net, theta, x)
        hess = kernels.hessian_x(net, theta, x)
        lrows = kernels.laplacian_x_theta(net, theta, x)
        np.save(sys.argv[1], np.concatenate([g, rows.ravel(), hess.ravel(), lrows.ravel()]))
        print(native.info()["isa"] if native.enabled() else "off")
    """)  # fmt: skip
    got = {}
    runs = dict(RUNS)
    if native.info()["isa"] == "avx2":  # the best variant here: that run would repeat "best"
        del runs["avx2"]
    for label, (env, says) in runs.items():
        out = str(tmp_path / f"{label.replace(' ', '-')}.npy")
        res = subprocess.run([sys.executable, "-c", code, out], env=dict(os.environ, **env),
                             capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
        assert says is None or res.stdout.strip() == says, (label, res.stdout)
        got[label] = np.load(out)
    np.testing.assert_array_equal(got["one thread"], got["best"])
    net = nnpde.TwoLayerNet(3, (13, 10), "tanh")
    k = jax.random.split(jax.random.key(4), 3)
    theta, x = net.init(k[0]), jax.random.uniform(k[1], (333, 3))
    want = autodiff.laplacian_x_vjp(net, theta, x, jax.random.normal(k[2], (333,)))
    rows, hess = autodiff.grad_theta(net, theta, x), autodiff.hessian_x(net, theta, x)
    lrows = autodiff.laplacian_x_theta(net, theta, x)
    for label, g in got.items():
        parts = np.split(g, np.cumsum([want.size, rows.size, hess.size]))
        assert rel_err(parts[0], want) <= F64_RTOL, label
        for part, ref in zip(parts[1:], (rows, hess, lrows)):
            assert rel_err(part.reshape(ref.shape), ref) <= F64_RTOL, label
