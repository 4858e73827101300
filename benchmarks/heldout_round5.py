"""The fifth round of held-out problems for ``benchmarks/heldout.py --round 5``.

Five problems written on 2026-12-07 (night), after the fourth round (which every default run
passed), for what the earlier sets had little or none of: a localized bump (a Gaussian of
width ~0.07 in the unit square), an interior layer (tanh(20x)), a coupled linear system of two
elliptic equations, an inverse problem with two unknown coefficients, and heat in two space
dimensions (x, y, t). The user's choices follow ``docs/choosing.md``: 2×16 to 2×24 tanh nets,
2–3 residuals per parameter.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
() or (K,)), pde (an independent residual of the exact solution, for ``--check``), bcs,
source, and for the inverse problem params (the true coefficients, scored with u).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import nnpde

PI = math.pi


def gaussian_bump():
    """-Δu = f on [0, 1]², u = exp(-100 |x - c|²), c = (0.6, 0.4), Dirichlet data from u:
    a bump of width ~0.07 that most of a random start's units do not see.

    Source: the manufactured "peak" solution of adaptive finite-element tests (e.g. Mitchell,
    "A collection of 2D elliptic problems for testing adaptive grid refinement", 2013)."""
    a, c = 100.0, jnp.asarray([0.6, 0.4])

    def exact(x):
        return jnp.exp(-a * jnp.sum((x - c) ** 2))

    def source(x):  # -Δu = (4a - 4a² r²) u in 2-D
        return (4 * a - 4 * a**2 * jnp.sum((x - c) ** 2)) * exact(x)

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) - source(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), lambda x, u: -u.laplacian - source(x),
                      boundary=[nnpde.Dirichlet(exact)], exact=exact,
                      name="gaussian_bump")  # fmt: skip
    return dict(problem=p, hidden=(24, 24), points=2048, exact=exact, pde=pde, bcs=[],
                source="Mitchell 2013, peak problem (a = 100)")


def interior_layer():
    """-u'' = 800 tanh(20x) sech²(20x) on [-1, 1], u = tanh(20x), u(±1) from it: a jump of 2
    across a layer of width ~0.1 in the middle of the interval.

    Source: the manufactured interior-layer solution of singular perturbation tests."""

    def exact(x):
        return jnp.tanh(20.0 * x[0])

    def source(x):
        t = jnp.tanh(20.0 * x[0])
        return 800.0 * t * (1.0 - t**2)

    def pde(x):
        return -jax.hessian(exact)(x)[0, 0] - source(x)

    p = nnpde.Problem(nnpde.Interval(-1.0, 1.0), lambda x, u: -u.hessian[0, 0] - source(x),
                      boundary=[nnpde.Dirichlet(exact)], exact=exact,
                      name="interior_layer")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=512, exact=exact, pde=pde, bcs=[],
                source="interior layer tanh(20x)")


def coupled_system():
    """-Δu + v = f1, -Δv - u = f2 on [0, 1]², u = v = 0 on the boundary;
    u = sin(πx) sin(πy), v = sin(2πx) sin(πy) (two networks coupled through the equations).

    Source: a manufactured solution of a coupled linear elliptic system (the
    reaction-coupled pair of optimal-control optimality systems)."""

    def exact(x):
        return jnp.stack([jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]),
                          jnp.sin(2 * PI * x[0]) * jnp.sin(PI * x[1])])  # fmt: skip

    def sources(x):
        u, v = exact(x)
        return 2 * PI**2 * u + v, 5 * PI**2 * v - u

    def equation(x, w):
        u, v = w
        f1, f2 = sources(x)
        return jnp.stack([-u.laplacian + v.value - f1, -v.laplacian - u.value - f2])

    def pde(x):
        (u, v), lap = exact(x), jnp.trace(jax.hessian(exact)(x), axis1=1, axis2=2)
        f1, f2 = sources(x)
        return jnp.stack([-lap[0] + v - f1, -lap[1] - u - f2])

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), equation, components=2,
                      boundary=[nnpde.Dirichlet(lambda x: 0.0, component=0),
                                nnpde.Dirichlet(lambda x: 0.0, component=1)],
                      exact=exact, name="coupled_system")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured coupled elliptic pair")


def inverse_two_coefficients():
    """-κΔu + c u = f on [0, 1]², u = (1 + x) sin(πx) sin(πy), u = 0 on the boundary, κ and c
    unknown (κ* = 0.5, c* = 2, initial guesses 1 and 1), from 60 observations of u at Halton
    points (exact values, the default data weight). u is not an eigenfunction of Δ, so the
    two coefficients are identifiable (with sin·sin alone only 2π²κ + c would be: a first
    version of this problem ended with u exact to 2e-11 and κ, c anywhere on that line).

    Source: the two-coefficient variant of the DeepXDE/jinns inverse Poisson examples."""
    kappa, c = 0.5, 2.0

    def exact(x):
        return (1.0 + x[0]) * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    def source(x):
        return -kappa * jnp.trace(jax.hessian(exact)(x)) + c * exact(x)

    def pde(x):  # the closed form of Δu, independent of source's autodiff
        t = jnp.sin(PI * x[1])
        lap = -2 * PI**2 * exact(x) + 2 * PI * jnp.cos(PI * x[0]) * t
        return -kappa * lap + c * exact(x) - source(x)

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    x_obs = box.sample(60, key=jax.random.key(5), method="halton")
    u_obs = jax.vmap(exact)(jnp.asarray(x_obs))
    p = nnpde.Problem(box,
                      lambda x, u, q: -q["kappa"] * u.laplacian + q["c"] * u.value - source(x),
                      boundary=[nnpde.Dirichlet(lambda x: 0.0)], params={"kappa": 1.0, "c": 1.0},
                      data=(x_obs, u_obs), exact=exact,
                      name="inverse_two_coefficients")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                params={"kappa": kappa, "c": c},
                source="DeepXDE/jinns inverse Poisson with two coefficients")


def heat_2d():
    """u_t = Δu on [0, 1]² × [0, 0.2], u = e^{-2π²t} sin(πx) sin(πy) (decays to 2 %), u = 0 on
    the sides, u(x, y, 0) from it: a 3-D (x, y, t) problem.

    Source: separation of variables for the heat equation on a square plate (Haberman)."""

    def exact(x):
        return jnp.exp(-2 * PI**2 * x[2]) * jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    def pde(x):
        h = jax.hessian(exact)(x)
        return jax.grad(exact)(x)[2] - h[0, 0] - h[1, 1]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0, 0.0), (1.0, 1.0, 0.2), time=True),
                      lambda x, u: u.grad[2] - u.hessian[0, 0] - u.hessian[1, 1],
                      boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Initial(exact)],
                      exact=exact, name="heat_2d")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=2048, exact=exact, pde=pde, bcs=[],
                source="heat equation on a square plate, one mode")


PROBLEMS = {fn.__name__: fn for fn in (gaussian_bump, interior_layer, coupled_system,
                                       inverse_two_coefficients, heat_2d)}  # fmt: skip
