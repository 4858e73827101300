"""Poisson problems on non-box domains (:mod:`nnpde.geometry`), with Dirichlet data imposed
exactly through the domain's approximate distance function φ (ψ = A + φ·N, :mod:`nnpde.trial`).

Both are manufactured from u = e^{x/2} sin(y + 1), for which Δu = -¾ u. The Dirichlet value is
A = u - b with a bubble b that vanishes on the boundary, so A equals u there but not inside and
the network has to learn N = b/φ (with A = u it would have nothing to learn). Each bubble
vanishes to higher order at the corners where φ is least smooth (the L's re-entrant corner),
so that b/φ is smooth.
"""

from __future__ import annotations

import jax.numpy as jnp

from nnpde.domains import Disk
from nnpde.geometry import Polygon
from nnpde.problem import Dirichlet, Problem
from nnpde.problems.catalogue import Benchmark, Points, Recipe, register

__all__ = ["poisson_holes", "poisson_lshape"]


def _exact(x):
    return jnp.exp(0.5 * x[0]) * jnp.sin(x[1] + 1.0)


def _equation(x, u):
    return u.laplacian + 0.75 * _exact(x)


L_SHAPE = ((-1.0, -1.0), (1.0, -1.0), (1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (-1.0, 1.0))


@register
def poisson_lshape() -> Benchmark:
    """Poisson on the L-shape [-1,1]² minus [0,1]² (manufactured), Dirichlet data:

        Δu = -¾ u,   u = e^{x/2} sin(y + 1),   A = u - (1-x²)(1-y²) x y (x² + y²)²,

    the bubble vanishing on the six edges' lines and like r⁶ at the re-entrant corner (0, 0).
    The inner edges end at that corner, where the polygon's ADF is a cone, so the data are a
    penalty (:func:`nnpde.geometry.kinked_faces`; with the exact trial ψ = A + φN the same runs
    reached max-abs 2.7e-7 to 3.1e-7 in 17-19 s). Recipe: 2000 Sobol' points inside the L (about
    7 residuals per parameter). Measured with ``solve``'s defaults (float64, 2-core AMD EPYC,
    jax 0.10.2, 2026-12-08), seeds 0-4: max-abs 6.6e-9 to 9.9e-9, rel-L2 1.0e-9 to 1.6e-9,
    converged after 555-810 steps, 11-13 s (`benchmarks/results/catalogue-defaults-geometry-
    kinks-cpu.md`); quick recipe, seeds 0/1/2: max-abs 7.3e-5 / 3.4e-5 / 4.3e-5, rel-L2 2.3e-5 /
    9.4e-6 / 1.3e-5 (by the exact trial 6.2e-4 / 2.8e-3 / 1.0e-2).
    """

    def data(x):
        r2 = x[0] ** 2 + x[1] ** 2
        return _exact(x) - (1 - x[0] ** 2) * (1 - x[1] ** 2) * x[0] * x[1] * r2**2

    problem = Problem(Polygon(L_SHAPE), _equation, boundary=[Dirichlet(data)], exact=_exact,
                      name="poisson_lshape")  # fmt: skip
    return Benchmark(
        "poisson_lshape",
        problem,
        recipe=Recipe((16, 16), Points("sobol", 2000), 2000, max_abs=1e-7, rel_l2=2e-8),
        quick=Recipe((8, 8), Points("sobol", 300), 60, max_abs=5e-4, rel_l2=2e-4),
        summary="Δu = -¾u on an L-shape (Polygon), u = e^{x/2} sin(y+1), Dirichlet exact (ADF)",
    )


HOLES = ((-0.4, -0.35, 0.3), (0.45, 0.4, 0.25))  # (centre x, centre y, radius)


@register
def poisson_holes() -> Benchmark:
    """Poisson on the square [-1,1]² (a Polygon) with two circular holes (manufactured),
    Dirichlet data exact on all three boundaries:

        Δu = -¾ u,   u = e^{x/2} sin(y + 1),   A = u - (1-x²)(1-y²) Π_k (|x - c_k|² - R_k²),

    the domain ``Polygon(square) - Disk(c_1, R_1) - Disk(c_2, R_2)``. Recipe: 2×24 and 3000
    Sobol' points (2×16 on the 30 × 30 grid stalled near 1e-3, 2×16 on 2000 Sobol' points at
    1.2e-5). Measured with ``solve``'s defaults (float64, 2-core CPU, jax 0.10.2), seeds 0-4:
    max-abs 4.7e-7 to 1.0e-6, rel-L2 7.7e-8 to 1.6e-7, converged after 800-1700 steps,
    56-112 s (``benchmarks/results/catalogue-defaults-geometry-cpu.md``). Quick recipe,
    seeds 0/1/2: max-abs 9.3e-3 / 1.1e-1 / 4.3e-2.
    """

    def data(x):
        bubble = (1 - x[0] ** 2) * (1 - x[1] ** 2)
        for cx, cy, r in HOLES:
            bubble = bubble * ((x[0] - cx) ** 2 + (x[1] - cy) ** 2 - r**2)
        return _exact(x) - bubble

    domain = Polygon([(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)])
    for cx, cy, r in HOLES:
        domain = domain - Disk((cx, cy), r)
    problem = Problem(domain, _equation, boundary=[Dirichlet(data)], exact=_exact,
                      name="poisson_holes")  # fmt: skip
    return Benchmark(
        "poisson_holes",
        problem,
        recipe=Recipe((24, 24), Points("sobol", 3000), 2000, max_abs=5e-6, rel_l2=5e-7),
        quick=Recipe((8, 8), Points("sobol", 300), 60, max_abs=2e-1, rel_l2=5e-2),
        summary="Δu = -¾u on a square with two circular holes, u = e^{x/2} sin(y+1), "
        "Dirichlet exact (ADF)",
    )
