"""Problems with exact solutions beyond Lagaris et al.: Poisson in D = 2, 5, 10, Helmholtz, heat,
viscous Burgers, Allen–Cahn and Poisson on a disk.

"Manufactured" solutions (the right-hand side f is computed from a chosen u) are marked so; the
Burgers front and the Allen–Cahn kink are exact solutions of the homogeneous equations. Every
exact solution is checked with autodiff in ``tests/test_catalogue.py``.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from nnpde.domains import Box, Disk
from nnpde.problem import Dirichlet, Initial, Problem
from nnpde.problems.catalogue import Benchmark, Points, Recipe, register

__all__ = [
    "allen_cahn",
    "burgers",
    "heat",
    "helmholtz",
    "poisson_2d",
    "poisson_5d",
    "poisson_10d",
    "poisson_disk",
]

PI = jnp.pi


# ---- Poisson on the unit box in D dimensions --------------------------------------------------
_PENALTY_WEIGHT = 10.0  # Dirichlet penalties (high-D boxes, the disk): 10 beats 1 (measured)


def _poisson(dim: int, recipe: Recipe, quick: Recipe, exact_trial: bool) -> Benchmark:
    """Δu = f on [0,1]^D, manufactured from u = exp(-|x|²/D), so f = u (4|x|²/D² - 2).

    The Gaussian is O(1) in any D (between e^{-1} and 1) and not a sum of functions of fewer
    variables, which the transfinite trial solution would reproduce exactly. With
    ``exact_trial`` the Dirichlet data are imposed by the trial solution (its interpolant has
    3^D - 1 terms, too many to compile quickly beyond D = 3 or so); otherwise by a penalty of
    weight 10 at Sobol' points on the 2D faces.
    """

    def exact(x):
        return jnp.exp(-jnp.sum(x * x) / dim)

    def equation(x, u):
        r2 = jnp.sum(x * x)
        return u.laplacian - jnp.exp(-r2 / dim) * (4 * r2 / dim**2 - 2)

    where = None if exact_trial else (lambda x: True)  # a predicate: penalty residuals
    name = f"poisson_{dim}d"
    problem = Problem(Box((0.0,) * dim, (1.0,) * dim), equation,
                      boundary=[Dirichlet(exact, where=where, weight=_PENALTY_WEIGHT)],
                      exact=exact,
                      name=name)  # fmt: skip
    how = "exactly (trial solution)" if exact_trial else "by penalty"
    summary = f"Δu = f on [0,1]^{dim}, u = exp(-|x|²/{dim}), Dirichlet {how}"
    return Benchmark(name, problem, recipe=recipe, quick=quick, summary=summary)


@register
def poisson_2d() -> Benchmark:
    """Poisson on [0,1]² (manufactured): Δu = u(4|x|²/4 - 2) with u = exp(-|x|²/2), Dirichlet
    data imposed exactly."""
    return _poisson(
        2,
        Recipe((10, 10), Points("grid", 20), 400, max_abs=1e-8, rel_l2=1e-8),
        Recipe((6, 6), Points("grid", 12), 100, max_abs=1e-6, rel_l2=1e-6),
        exact_trial=True,
    )


@register
def poisson_5d() -> Benchmark:
    """Poisson on [0,1]⁵ (manufactured): Δu = u(4|x|²/25 - 2) with u = exp(-|x|²/5), Dirichlet
    data by penalty (the exact interpolant's 242 terms take minutes to compile)."""
    return _poisson(
        5,
        Recipe(
            (16, 16), Points("sobol", 2000), 300, max_abs=1e-3, rel_l2=2e-4, boundary_points=1000
        ),
        Recipe((8, 8), Points("sobol", 300), 60, max_abs=5e-2, rel_l2=1e-2, boundary_points=300),
        exact_trial=False,
    )


@register
def poisson_10d() -> Benchmark:
    """Poisson on [0,1]¹⁰ (manufactured): Δu = u(4|x|²/100 - 2) with u = exp(-|x|²/10),
    Dirichlet data by penalty (the exact interpolant would have 3¹⁰ - 1 terms)."""
    return _poisson(
        10,
        Recipe(
            (12, 12), Points("sobol", 2000), 300, max_abs=5e-3, rel_l2=1e-3, boundary_points=2000
        ),
        Recipe((6, 6), Points("sobol", 300), 60, max_abs=0.5, rel_l2=0.1, boundary_points=200),
        exact_trial=False,
    )


# ---- Helmholtz --------------------------------------------------------------------------------
_K = 4.0


@register
def helmholtz() -> Benchmark:
    """Helmholtz on [-1,1]² (manufactured), k = 4:

        Δu + k²u = (k² - 5π²) u,   u = sin(πx) sin(2πy),   u = 0 on the boundary.

    The form of Wang, Teng & Perdikaris, "Understanding and mitigating gradient flow
    pathologies in physics-informed neural networks", SIAM J. Sci. Comput. 43(5):A3055 (2021),
    §4.1, with (a1, a2) = (1, 2) and k = 4 in place of (1, 4) and k = 1. k² = 16 lies between
    the Dirichlet eigenvalues 5π²/4 ≈ 12.3 and 2π² ≈ 19.7 of -Δ on the square, so the
    operator is indefinite, as for a genuine Helmholtz problem.
    """
    k = _K

    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(2 * PI * x[1])

    def equation(x, u):
        return u.laplacian + k**2 * u.value - (k**2 - 5 * PI**2) * exact(x)

    square = Box((-1.0, -1.0), (1.0, 1.0))
    problem = Problem(square, equation, boundary=[Dirichlet(lambda x: 0.0)], exact=exact,
                      name="helmholtz")  # fmt: skip
    return Benchmark(
        "helmholtz",
        problem,
        recipe=Recipe((16, 16), Points("grid", 36), 500, max_abs=5e-5, rel_l2=5e-5),
        quick=Recipe((10, 10), Points("grid", 16), 150, max_abs=5e-2, rel_l2=5e-2),
        summary="Δu + 16u = f on [-1,1]², u = sin(πx) sin(2πy), u = 0 on the boundary",
    )


# ---- heat equation ----------------------------------------------------------------------------
def _time_grid(n: int) -> Points:
    """An n x n grid of (x, t) that reaches the final time t = T, which no condition fixes."""
    return Points("grid", n, closed=("t_max",))


_KAPPA = 0.1


@register
def heat() -> Benchmark:
    """Heat equation in 1-D + time, κ = 0.1:

        u_t = κ u_xx on x ∈ [0, 1], t ∈ [0, 1],   u(0,t) = u(1,t) = 0,
        u(x,0) = sin(πx) + ½ sin(2πx);   exact u = e^{-κπ²t} sin(πx) + ½ e^{-4κπ²t} sin(2πx)

    (the separated solution of two Fourier modes). Coordinates (x, t); t is the last one.
    """
    kappa = _KAPPA

    def exact(x):
        return (jnp.exp(-kappa * PI**2 * x[1]) * jnp.sin(PI * x[0])
                + 0.5 * jnp.exp(-4 * kappa * PI**2 * x[1]) * jnp.sin(2 * PI * x[0]))  # fmt: skip

    def equation(x, u):
        return u.grad[1] - kappa * u.hessian[0, 0]

    problem = Problem(Box((0.0, 0.0), (1.0, 1.0), time=True), equation,
                      boundary=[Dirichlet(lambda x: 0.0), Initial(exact)], exact=exact,
                      name="heat")  # fmt: skip
    return Benchmark(
        "heat",
        problem,
        recipe=Recipe((12, 12), _time_grid(24), 600, max_abs=3e-5, rel_l2=3e-5),
        quick=Recipe((8, 8), _time_grid(16), 150, max_abs=1e-2, rel_l2=1e-2),
        summary="u_t = 0.1 u_xx on [0,1] x [0,1], two sine modes, Dirichlet + initial",
    )


# ---- viscous Burgers --------------------------------------------------------------------------
_NU = 0.05


@register
def burgers() -> Benchmark:
    """Viscous Burgers equation with its exact travelling front, ν = 0.05:

        u_t + u u_x = ν u_xx on x ∈ [-1, 1], t ∈ [0, 1],
        exact u = ½ (1 - tanh((x - t/2)/(4ν))),

    the viscous shock joining u = 1 (left) to u = 0 (right), moving at the Rankine–Hugoniot
    speed ½; Dirichlet data on x = ±1 and the initial profile come from it. (With
    s = (x - t/2)/(4ν) and T = tanh s: u_t = T'/(16ν), u u_x = -(1 - T) T'/(16ν) and
    ν u_xx = -T T'/(16ν), which sum to zero.)
    """
    nu = _NU

    def exact(x):
        return 0.5 * (1 - jnp.tanh((x[0] - x[1] / 2) / (4 * nu)))

    def equation(x, u):
        return u.grad[1] + u.value * u.grad[0] - nu * u.hessian[0, 0]

    problem = Problem(Box((-1.0, 0.0), (1.0, 1.0), time=True), equation,
                      boundary=[Dirichlet(exact), Initial(exact)], exact=exact,
                      name="burgers")  # fmt: skip
    return Benchmark(
        "burgers",
        problem,
        recipe=Recipe((16, 16), _time_grid(36), 600, max_abs=2e-5, rel_l2=2e-5),
        quick=Recipe((8, 8), _time_grid(20), 150, max_abs=1e-2, rel_l2=1e-2),
        summary="u_t + u u_x = 0.05 u_xx on [-1,1] x [0,1], exact travelling front",
    )


# ---- Allen-Cahn -------------------------------------------------------------------------------
_EPS = 0.2
_NORMAL = (0.6, 0.8)


@register
def allen_cahn() -> Benchmark:
    """Stationary Allen–Cahn equation with its exact planar kink, ε = 0.2:

        ε² Δu + u - u³ = 0 on [0,1]²,   exact u = tanh((n·x - 0.7)/(√2 ε)),  n = (0.6, 0.8),

    with Dirichlet data from the kink. (For the 1-D profile v(s) = tanh(s/(√2 ε)),
    ε² v'' = -v(1 - v²) = -(v - v³), and |n| = 1 makes Δu = v''.) The equation is nonlinear
    and bistable, so it can have other solutions with the same data: LM from some initial θ
    stalls in one (seeds 0-2 of the recipe: 1e-7, 6e-6, 2e-2), a test of nonlinear solving.
    """
    eps = _EPS
    n0, n1 = _NORMAL

    def exact(x):
        return jnp.tanh((n0 * x[0] + n1 * x[1] - 0.7) / (math.sqrt(2) * eps))

    def equation(x, u):
        return eps**2 * u.laplacian + u.value - u.value**3

    problem = Problem(Box((0.0, 0.0), (1.0, 1.0)), equation, boundary=[Dirichlet(exact)],
                      exact=exact, name="allen_cahn")  # fmt: skip
    return Benchmark(
        "allen_cahn",
        problem,
        recipe=Recipe((16, 16), Points("grid", 30), 500, max_abs=1e-6, rel_l2=1e-6),
        quick=Recipe((12, 12), Points("grid", 16), 150, max_abs=5e-2, rel_l2=5e-2),
        summary="0.04 Δu + u - u³ = 0 on [0,1]², exact kink tanh((0.6x + 0.8y - 0.7)/(0.2√2))",
    )


# ---- Poisson on a disk ------------------------------------------------------------------------
@register
def poisson_disk() -> Benchmark:
    """Poisson on the unit disk (manufactured), Dirichlet data by a penalty of weight 10:

    Δu = (1 - π²/4) u,   u = e^{y} sin(πx/2),   u = exact on the circle.
    """

    def exact(x):
        return jnp.exp(x[1]) * jnp.sin(PI * x[0] / 2)

    def equation(x, u):
        return u.laplacian - (1 - PI**2 / 4) * exact(x)

    # A predicate ``where`` keeps the penalty: Dirichlet(exact) alone would be imposed exactly
    # with A = exact (nnpde.trial), leaving the network nothing to learn.
    problem = Problem(Disk((0.0, 0.0), 1.0), equation,
                      boundary=[Dirichlet(exact, where=lambda x: True, weight=_PENALTY_WEIGHT)],
                      exact=exact, name="poisson_disk")  # fmt: skip
    return Benchmark(
        "poisson_disk",
        problem,
        recipe=Recipe(
            (12, 12), Points("grid", 24), 400, max_abs=2e-5, rel_l2=5e-6, boundary_points=300
        ),
        quick=Recipe(
            (8, 8), Points("grid", 14), 150, max_abs=3e-4, rel_l2=1e-4, boundary_points=120
        ),
        summary="Δu = f on the unit disk, u = e^y sin(πx/2), Dirichlet by penalty",
    )
