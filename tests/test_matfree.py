"""Matrix-free Gauss-Newton: Collocation's J v, Jᵀu, (JᵀJ, Jᵀr) and diag(JᵀJ) against the
formed Jacobian, the preconditioned CG solver, and ``nnpde.GaussNewtonCG`` / LM's switch to it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import rel_err, slow_except
from problems_for_tests import disk_poisson, lagaris_pde1, mixed_nonlinear

import nnpde
from nnpde.collocation import make_collocation
from nnpde.matfree import CGConfig, pcg

# Products against the formed J: the same sums in another order, so round-off only.
PRODUCT_RTOL = 1e-12


def test_gram_and_diagonal_summed_over_several_blocks_equal_the_formed_jacobian(monkeypatch):
    """(JᵀJ, Jᵀr) and diag(JᵀJ) accumulated over 3 blocks of rows (the lax.scan path, the last
    block padded) equal the formed J's."""
    from nnpde import kernels

    monkeypatch.setattr(kernels, "ROWS_CHUNK_SIZE", 8)  # 17 points: blocks of 8, 8 and 1
    problem = mixed_nonlinear()
    net = nnpde.TwoLayerNet(problem.dim, (6, 5), "tanh")
    theta = 2 * net.init(jax.random.key(3))
    x = jnp.asarray(problem.domain.sample(17, key=jax.random.key(1)))
    col, data = make_collocation(problem, net, x, boundary_points=24)
    (r, J), (_, JTJ, JTr), diag = jax.jit(
        lambda t, d: (col.residuals_and_jacobian(t, d), col.gram(t, d), col.gram_diagonal(t, d))
    )(theta, data)  # one program
    assert rel_err(diag, jnp.sum(J * J, axis=0)) <= PRODUCT_RTOL
    assert rel_err(JTJ, J.T @ J) <= PRODUCT_RTOL
    assert rel_err(JTr, J.T @ r) <= PRODUCT_RTOL


@pytest.mark.parametrize("backend", slow_except(["kernels", "autodiff"], fast=["kernels"]))
@pytest.mark.parametrize("make", slow_except([lagaris_pde1, mixed_nonlinear, disk_poisson],
                                             fast=[mixed_nonlinear, disk_poisson]))
def test_products_equal_the_formed_jacobian(make, backend):
    problem = make()
    net = nnpde.TwoLayerNet(problem.dim, (6, 5), "tanh")
    theta = 2 * net.init(jax.random.key(3))
    x = jnp.asarray(problem.domain.sample(17, key=jax.random.key(1)))
    col, data = make_collocation(problem, net, x, boundary_points=24, backend=backend)

    @jax.jit  # one program: the formed J, random v and u, and the products
    def products(theta, data):
        r, J = col.residuals_and_jacobian(theta, data)
        v = jax.random.normal(jax.random.key(5), theta.shape, theta.dtype)
        u = jax.random.normal(jax.random.key(6), r.shape, r.dtype)
        r_lin, jvp, vjp = col.linearize(theta, data)
        return (r, J, v, u, r_lin, jvp(v), vjp(u), col.jvp(theta, data, v),
                col.vjp(theta, data, u), col.gram(theta, data),
                col.gram_diagonal(theta, data))  # fmt: skip

    r, J, v, u, r_lin, Jv, JTu, Jv2, JTu2, (loss, JTJ, JTr), diag = products(theta, data)
    assert rel_err(r_lin, r) <= PRODUCT_RTOL
    for a in (Jv, Jv2):
        assert rel_err(a, J @ v) <= PRODUCT_RTOL
    for a in (JTu, JTu2):
        assert rel_err(a, J.T @ u) <= PRODUCT_RTOL
    assert rel_err(JTJ, J.T @ J) <= PRODUCT_RTOL
    assert np.array_equal(JTJ, JTJ.T)
    assert rel_err(JTr, J.T @ r) <= PRODUCT_RTOL
    assert rel_err(loss, 0.5 * jnp.mean(r * r)) <= PRODUCT_RTOL
    assert rel_err(diag, jnp.sum(J * J, axis=0)) <= PRODUCT_RTOL


# Blocks of the default size: the sums over blocks are checked with blocks of 8 points in the
# default suite (test_gram_and_diagonal_summed_over_several_blocks_equal_the_formed_jacobian).
@pytest.mark.slow
def test_gram_and_diagonal_in_blocks_of_points():
    """More points than one block of rows: the sums over blocks equal the formed J's."""
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (4, 3), "tanh")
    theta = net.init(jax.random.key(0))
    p = nnpde.kernels.ROWS_CHUNK_SIZE + 77
    x = jnp.asarray(problem.domain.sample(p, key=jax.random.key(2)))
    col, data = make_collocation(problem, net, x)
    r, J = jax.jit(col.residuals_and_jacobian)(theta, data)
    _, JTJ, JTr = jax.jit(col.gram)(theta, data)
    assert rel_err(JTJ, J.T @ J) <= PRODUCT_RTOL
    assert rel_err(JTr, J.T @ r) <= PRODUCT_RTOL
    assert rel_err(jax.jit(col.gram_diagonal)(theta, data), jnp.sum(J * J, 0)) <= PRODUCT_RTOL


def test_pcg_solves_an_spd_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(30, 30)) * np.logspace(0, 3, 30)  # badly scaled columns
    A = jnp.asarray(m.T @ m + 1e-3 * np.eye(30))
    b = jnp.asarray(rng.normal(size=30))
    x, iters = jax.jit(lambda b: pcg(lambda p: A @ p, b, 1 / jnp.diag(A),
                                     CGConfig(max_iters=500, rtol=1e-12)))(b)  # fmt: skip
    assert rel_err(x, jnp.linalg.solve(A, b)) <= 1e-8
    assert 0 < int(iters) <= 500
    x1, it1 = pcg(lambda p: A @ p, b, 1 / jnp.diag(A), CGConfig(max_iters=3))
    assert int(it1) == 3 and bool(jnp.all(jnp.isfinite(x1)))
    x0, it0 = pcg(lambda p: A @ p, jnp.zeros(30), 1 / jnp.diag(A), CGConfig())
    assert int(it0) == 0 and not bool(jnp.any(x0))


@pytest.mark.parametrize(("cfg", "match"), [
    ({"max_iters": 0}, "max_iters"),
    ({"max_iters": 2.5}, "max_iters"),
    ({"rtol": 1.0}, "rtol"),
    ({"rtol": -1e-3}, "rtol"),
])  # fmt: skip
def test_cg_config_rejects_bad_values(cfg, match):
    with pytest.raises(ValueError, match=match):
        CGConfig(**cfg)


@pytest.mark.slow
def test_gn_cg_reaches_the_dense_lm_solution():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (6, 6), "tanh")
    pts = problem.domain.grid(8)
    dense = nnpde.solve(problem, net, pts, method="lm", steps=150)
    cg = nnpde.solve(problem, net, pts, steps=150,
                     solver=nnpde.GaussNewtonCG(cg=CGConfig(max_iters=200, rtol=1e-8)))
    assert dense.info["solver"] == "dense" and cg.info["solver"] == "cg"
    assert cg.info["method"] == "gn-cg"
    assert cg.history["cg_iters"].sum() > 0 and not dense.history["cg_iters"].any()
    e_dense, e_cg = dense.errors(), cg.errors()
    assert e_dense["max_abs"] <= 1e-5 and e_cg["max_abs"] <= 1e-5, (e_dense, e_cg)
    grid = jnp.asarray(problem.domain.grid(21))
    assert float(jnp.max(jnp.abs(dense(grid) - cg(grid)))) <= 2e-5
    # the first step's linear system is the same; solved by CG to rtol 1e-8 it gives nearly
    # the same loss (the output layer scaled by 1/max B at the start makes the system less well
    # conditioned than it was: 3e-4 apart, against 1 - loss_1/loss_0 ≈ 0.99)
    assert rel_err(cg.history["loss"][0], dense.history["loss"][0]) <= 1e-3


@pytest.mark.slow
def test_lm_switches_to_matrix_free_above_dense_max_params():
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (4, 4), "tanh")
    pts = problem.domain.grid(6)
    assert net.num_params > 10
    small = nnpde.solve(problem, net, pts, steps=3, solver=nnpde.LM(dense_max_params=10))
    big = nnpde.solve(problem, net, pts, method="gn-cg", steps=3)
    assert small.info["solver"] == "cg" and small.info["method"] == "lm"
    assert np.array_equal(small.theta, big.theta)  # the same matrix-free iterations
    dense = nnpde.solve(problem, net, pts, method="lm", steps=3)
    assert dense.info["solver"] == "dense"


@pytest.mark.slow
def test_gn_cg_checkpoint_resume_equals_an_uninterrupted_run(tmp_path):
    problem = lagaris_pde1()
    net = nnpde.TwoLayerNet(2, (4, 4), "tanh")
    pts = problem.domain.grid(6)
    kw = dict(method="gn-cg", checkpoint_every=3)
    full = nnpde.solve(problem, net, pts, steps=6, checkpoint=tmp_path / "a.npz", **kw)
    nnpde.solve(problem, net, pts, steps=3, checkpoint=tmp_path / "b.npz", **kw)
    resumed = nnpde.solve(problem, net, pts, steps=6, checkpoint=tmp_path / "b.npz",
                          resume=True, **kw)  # fmt: skip
    assert np.array_equal(full.theta, resumed.theta)
    np.testing.assert_array_equal(full.history["cg_iters"], resumed.history["cg_iters"])
    np.testing.assert_array_equal(full.history["loss"], resumed.history["loss"])


def test_gn_cg_fits_data_without_model_products():
    """A model without ``linearize`` (DataFit) gets J v from jax.linearize of its residuals."""
    from nnpde.fit import fit

    x = jnp.linspace(-3.0, 3.0, 32)[:, None]
    net = nnpde.TwoLayerNet(1, (5, 5), "tanh")
    dense = fit(net, x, jnp.sin(x), method="lm", steps=40)
    cg = fit(net, x, jnp.sin(x), method="gn-cg", steps=40)
    assert cg.info["solver"] == "cg"
    assert cg.history["loss"][-1] <= 10 * dense.history["loss"][-1] + 1e-12


def test_solvers_reject_bad_configs():
    with pytest.raises(TypeError, match="cg must be a CGConfig"):
        nnpde.GaussNewtonCG(cg={"max_iters": 3})
    with pytest.raises(TypeError, match="cg must be a CGConfig"):
        nnpde.LM(cg=None)
    with pytest.raises(ValueError, match="linear_solver"):
        nnpde.LM(linear_solver="qr")
    with pytest.raises(ValueError, match="linear_solver"):
        nnpde.GaussNewtonCG(linear_solver="dense")
