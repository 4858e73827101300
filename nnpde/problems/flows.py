"""Incompressible flows with exact solutions: a system of three unknowns (u, v, p).

Kovasznay's flow solves the steady Navier–Stokes equations exactly. The pressure enters them
only through ∇p, so it is determined up to a constant: here it is fixed by one observation,
p(x₀) = p*(x₀), an :class:`~nnpde.Data` block of component 2, rather than by a boundary
condition on p.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from nnpde.domains import Box
from nnpde.problem import Data, Dirichlet, Problem
from nnpde.problems.catalogue import Benchmark, Points, Recipe, Reference, register

__all__ = ["kovasznay_equation", "kovasznay_exact", "kovasznay_pinned"]

RE = 20.0
LAMBDA = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)
PIN = (0.25, 0.5)  # where the pressure is observed
FACES = ("x0_min", "x0_max", "x1_min", "x1_max")


def kovasznay_exact(x):
    """(u, v, p) of Kovasznay's flow at one point x (2,)."""
    e = jnp.exp(LAMBDA * x[0])
    return jnp.stack([1 - e * jnp.cos(2 * jnp.pi * x[1]),
                      LAMBDA / (2 * jnp.pi) * e * jnp.sin(2 * jnp.pi * x[1]),
                      0.5 * (1 - jnp.exp(2 * LAMBDA * x[0]))])  # fmt: skip


def kovasznay_equation(x, u):
    """The steady Navier–Stokes residuals (momentum x, momentum y, continuity) of (U, V, P)."""
    U, V, P = u
    return jnp.stack([
        U.value * U.grad[0] + V.value * U.grad[1] + P.grad[0] - U.laplacian / RE,
        U.value * V.grad[0] + V.value * V.grad[1] + P.grad[1] - V.laplacian / RE,
        U.grad[0] + V.grad[1],
    ])  # fmt: skip


@register
def kovasznay_pinned() -> Benchmark:
    """Steady incompressible Navier–Stokes at Re = 20 on [-0.5, 1] × [-0.5, 1.5]:

        u u_x + v u_y + p_x - Δu / Re = 0,   u v_x + v v_y + p_y - Δv / Re = 0,
        u_x + v_y = 0,

    with Kovasznay's exact flow u = 1 - e^{λx} cos 2πy, v = λ/(2π) e^{λx} sin 2πy,
    p = ½(1 - e^{2λx}), λ = Re/2 - √(Re²/4 + 4π²). u and v are Dirichlet on the whole boundary
    (imposed exactly by the trial solution); p has no boundary condition and is pinned at the
    one point (0.25, 0.5) by ``Data(x₀, p*(x₀), component=2)``.

    The recipe's grid reaches the four faces (``Points("grid", 32, closed=...)``): the
    pressure has no condition there, and with a grid that stops short of them the momentum
    equations leave p to be extrapolated to the boundary (max-abs error 2.8e-4 with the open
    24 × 24 grid after 600 steps, at x = -0.5 where |∇p| is largest). 32 × 32 rather than 24
    × 24 (3072 residuals for 3 × 337 parameters rather than 1728): with 24, seeds 1 and 3
    converged at a loss near 1e-16 with max-abs 1.3e-5 and 1.5e-5 (above the issue's 1e-5;
    ``catalogue-defaults-rerun-cpu.md``); with 32, 1.2e-6 and 2.8e-7. Measured with
    ``solve``'s defaults (float64, 2-core CPU, jax 0.10.2), seeds 0-4: max-abs of all three
    components 1.4e-7 to 1.2e-6 (seed 1: u 1.6e-7, v 3.0e-8, p 1.2e-6), rel-L2 1.5e-8 to
    9.5e-8, converged after 800-1000 steps, 98-117 s
    (``benchmarks/results/catalogue-defaults-geometry-cpu.md``); quick u 5.8e-3, v 2.2e-3,
    p 1.3e-1 (rel-L2 of all 1.5e-2 or less).
    """
    x0 = [PIN]
    problem = Problem(
        Box((-0.5, -0.5), (1.0, 1.5)), kovasznay_equation, components=3,
        boundary=[Dirichlet(lambda x: kovasznay_exact(x)[0], component=0),
                  Dirichlet(lambda x: kovasznay_exact(x)[1], component=1)],
        data=Data(x0, [float(kovasznay_exact(jnp.asarray(PIN))[2])], component=2),
        exact=kovasznay_exact, name="kovasznay_pinned",
    )  # fmt: skip
    return Benchmark(
        "kovasznay_pinned",
        problem,
        recipe=Recipe((16, 16), Points("grid", 32, closed=FACES), 2000, max_abs=1e-5,
                      rel_l2=1e-6),
        quick=Recipe((8, 8), Points("grid", 12), 150, max_abs=5e-1, rel_l2=5e-2),
        reference=Reference(
            citation="L. I. G. Kovasznay, Laminar flow behind a two-dimensional grid, Proc. "
            "Camb. Phil. Soc. 44(1):58-62 (1948)",
            note="the exact solution; DeepXDE's example 'Kovasznay flow' poses it with a "
            "pressure condition on x = 1",
            short="Kovasznay (1948)",
        ),
        summary="Navier–Stokes (u, v, p), Re = 20, Kovasznay flow; u, v Dirichlet exact, p "
        "pinned at one point by Data(component=2)",
    )
