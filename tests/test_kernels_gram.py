"""Bounded-memory Gauss-Newton sums: ``kernels.operator_gram`` gives (JᵀJ, Jᵀr) equal to those of
``operator_rows`` and of its autodiff twin, in float64, for chunk sizes that do and do not
divide P; and the blocked kernels' compiled temporary memory does not grow like P·NT.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import F64_RTOL, rel_err
from kernel_cases import MODULES, Config, make_inputs

import nnpde
from nnpde import autodiff, kernels

# (config, weight subset): M1 != M2; chunk size 4 (not dividing P) and None (one block).
CASES = [
    (Config("tanh", 2, 4, 7, 9), ("value", "grad", "hessian", "laplacian")),
    (Config("sigmoid", 3, 6, 5, 11), ("value", "laplacian")),
]
CHUNKS = (None, 4)


@functools.cache
def _results(cfg: Config, subset: tuple) -> dict:
    net = cfg.net
    theta, x, w = make_inputs(net, cfg.points)
    r = jax.random.normal(jax.random.key(3), (cfg.points,))

    def everything(theta, x, w, r):
        kw = {name: w[name] for name in subset}
        J = kernels.operator_rows(net, theta, x, **kw)
        out = {
            "rows": (J.T @ J, J.T @ r),
            "autodiff": autodiff.operator_gram(net, theta, x, r, **kw),
        }
        for c in CHUNKS:
            out[f"chunk{c}"] = kernels.operator_gram(net, theta, x, r, chunk_size=c, **kw)
        return out

    return jax.tree_util.tree_map(np.asarray, jax.jit(everything)(theta, x, w, r))


@pytest.mark.parametrize(
    ("cfg", "subset", "chunk"),
    [
        pytest.param(cfg, s, c, id=f"{cfg.id}-{'+'.join(s)}-chunk{c}")
        for cfg, s in CASES
        for c in CHUNKS
    ],
)
def test_gram_matches_rows_and_autodiff(cfg, subset, chunk):
    res = _results(cfg, subset)
    JtJ, Jtr = res[f"chunk{chunk}"]
    nt = cfg.net.num_params
    assert JtJ.shape == (nt, nt) and Jtr.shape == (nt,)
    assert JtJ.dtype == Jtr.dtype == np.float64
    assert np.array_equal(JtJ, JtJ.T)  # exactly symmetric
    for other in ("rows", "autodiff"):
        assert rel_err(JtJ, res[other][0]) <= F64_RTOL, other
        assert rel_err(Jtr, res[other][1]) <= F64_RTOL, other
    assert np.max(np.abs(res["rows"][1])) > 0


@pytest.mark.parametrize("module", list(MODULES))
def test_gram_edge_cases_and_bad_input(module):
    mod = MODULES[module]
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    nt = net.num_params
    theta, x, w = make_inputs(net, 0)
    JtJ, Jtr = mod.operator_gram(net, theta, x, w["value"], value=w["value"])
    assert JtJ.shape == (nt, nt) and Jtr.shape == (nt,)
    assert np.all(np.asarray(JtJ) == 0) and np.all(np.asarray(Jtr) == 0)
    theta, x, w = make_inputs(net, 5)
    JtJ, Jtr = mod.operator_gram(net, theta, x, w["value"])  # no weights: J = 0
    assert np.all(np.asarray(JtJ) == 0) and np.all(np.asarray(Jtr) == 0)
    with pytest.raises(TypeError, match=r"operator_gram: r .* is required"):
        mod.operator_gram(net, theta, x, None, value=w["value"])
    with pytest.raises(ValueError, match=r"operator_gram: r must have shape \(5,\)"):
        mod.operator_gram(net, theta, x, jnp.zeros(4), value=w["value"])
    with pytest.raises(ValueError, match=r"operator_gram: grad must have shape \(5, 2\)"):
        mod.operator_gram(net, theta, x, w["value"], grad=w["value"])


def test_gauss_newton_step_inside_user_jit_and_vmap():
    """A jitted Gauss-Newton step from operator_gram, vmapped over residual vectors, equals the
    dense one from operator_rows."""
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    theta, x, w = make_inputs(net, 40)
    rs = jax.random.normal(jax.random.key(4), (2, 40))
    kw = dict(value=w["value"], laplacian=w["laplacian"])

    @jax.jit
    def step(r):
        JtJ, Jtr = kernels.operator_gram(net, theta, x, r, chunk_size=16, **kw)
        return jnp.linalg.solve(JtJ + 1e-3 * jnp.eye(net.num_params), Jtr)

    @jax.jit  # one program (op by op, each operation compiled one of its own)
    def dense_step(r):
        J = kernels.operator_rows(net, theta, x, **kw)
        return jnp.linalg.solve(J.T @ J + 1e-3 * jnp.eye(net.num_params), J.T @ r)

    for got, r in zip(jax.vmap(step)(rs), rs, strict=True):
        want = dense_step(r)
        assert rel_err(got, want) <= 1e-8  # solve amplifies round-off by cond(JᵀJ + μI)


# ---- memory independent of P (compiled, not run) ------------------------------------------------
MEM_NET = nnpde.TwoLayerNet(2, (16, 16), "tanh")
MEM_POINTS = 1 << 16
MEM_CHUNK = 256


def _temp_bytes(fn, *args) -> int | None:
    stats = jax.jit(fn).lower(*args).compile().memory_analysis()
    return None if stats is None else stats.temp_size_in_bytes


@pytest.mark.parametrize("name", ["operator_gram", "operator_jvp", "operator_vjp", "value_jvp"])
def test_blocked_kernels_never_hold_p_rows(name):
    """XLA's temporary memory for P = 65536 points in blocks of 256 stays far below the P·NT
    Jacobian (the inputs, padded, and the (P,) output are O(P·D); nothing is O(P·NT))."""
    theta = MEM_NET.init(jax.random.key(0), dtype=jnp.float64)
    x = jax.ShapeDtypeStruct((MEM_POINTS, 2), jnp.float64)
    vec = jax.ShapeDtypeStruct((MEM_POINTS,), jnp.float64)
    t = jnp.ones_like(theta)
    calls = {
        "operator_gram": lambda x, r: kernels.operator_gram(
            MEM_NET, theta, x, r, value=r, grad=x, laplacian=r, chunk_size=MEM_CHUNK
        ),
        "operator_jvp": lambda x, r: kernels.operator_jvp(
            MEM_NET, theta, x, t, value=r, grad=x, laplacian=r, chunk_size=MEM_CHUNK
        ),
        "operator_vjp": lambda x, r: kernels.operator_vjp(
            MEM_NET, theta, x, value=r, grad=x, laplacian=r, chunk_size=MEM_CHUNK
        ),
        "value_jvp": lambda x, r: kernels.value_jvp(MEM_NET, theta, x, t, chunk_size=MEM_CHUNK),
    }
    temp = _temp_bytes(calls[name], x, vec)
    if temp is None:
        pytest.skip("this backend gives no memory analysis")
    jacobian = MEM_POINTS * MEM_NET.num_params * 8
    per_point_inputs = MEM_POINTS * (2 + 2 + 1 + 1) * 8  # padded copies of x, r, weights, out
    assert temp < per_point_inputs + 64 * MEM_CHUNK * MEM_NET.num_params * 8
    assert temp < jacobian / 10


# NT = 204, 720, 1050. The default suite runs the 4-group case; one group (NT < 255) is
# test_gram_matches_rows_and_autodiff's, and six groups (the most) are assembled in
# test_symmetric_products_of_row_blocks_equal_those_of_one_jt (1008 rows); `-m slow` runs both.
@pytest.mark.parametrize(
    ("dim", "width", "groups"),
    [pytest.param(2, 12, 1, marks=pytest.mark.slow), (3, 24, 4),
     pytest.param(2, 30, 6, marks=pytest.mark.slow)],
)  # fmt: skip
def test_gram_from_upper_blocks_matches_autodiff(dim, width, groups):
    """From NT = 255, operator_gram forms only the upper blocks of the symmetric JᵀJ
    (_cols.gram_splits); the assembled matrix equals the autodiff twin's and is symmetric."""
    net = nnpde.TwoLayerNet(dim, (width, width), "tanh")
    assert len(nnpde._cols.gram_splits(net.num_params)) - 1 == groups
    theta, x, w = make_inputs(net, 13)
    r = jax.random.normal(jax.random.key(5), (13,))
    kw = {"value": w["value"], "grad": w["grad"], "laplacian": w["laplacian"]}
    JtJ, Jtr = kernels.operator_gram(net, theta, x, r, chunk_size=5, **kw)
    want_JtJ, want_Jtr = autodiff.operator_gram(net, theta, x, r, **kw)
    assert rel_err(JtJ, want_JtJ) <= F64_RTOL
    assert rel_err(Jtr, want_Jtr) <= F64_RTOL
    np.testing.assert_array_equal(np.asarray(JtJ), np.asarray(JtJ).T)


@pytest.mark.parametrize("sizes", [(336, 336, 336), (100, 0, 250), (7,), (170, 171)])
def test_symmetric_products_of_row_blocks_equal_those_of_one_jt(sizes):
    """Jᵀ given as row blocks (one per component, as LM's systems pass it) gives the same
    upper blocks and Jᵀr as the concatenated Jᵀ: groups that span two blocks included."""
    rng = np.random.default_rng(2)  # numpy: jax.random compiled a program per shape
    pieces = [jnp.asarray(rng.standard_normal((n, 9))) for n in sizes]
    r = jnp.asarray(rng.standard_normal(9))
    n = sum(sizes)

    @jax.jit  # one program (LM traces these inside its step), not one per operation
    def products(pieces, r):
        whole = jnp.concatenate(pieces, axis=0)
        upper, jtr = nnpde._cols.symmetric_products(pieces, r)
        want = nnpde._cols.symmetric_products(whole, r)
        return (upper, jtr), want, nnpde._cols.assemble_gram(upper, n), whole @ whole.T

    (upper, jtr), (want_upper, want_jtr), gram, want_gram = products(pieces, r)
    assert len(upper) == len(want_upper)
    for got, want in zip(upper, want_upper):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(jtr, want_jtr, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(gram, want_gram, rtol=1e-12, atol=1e-12)
