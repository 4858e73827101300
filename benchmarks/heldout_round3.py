"""The third round of held-out problems for ``benchmarks/heldout.py --round 3``.

Five problems written on 2026-12-07 (evening), after the second round, for what the earlier
sets had none of: boxes wider than 10 along an axis, in the units a user would pick (an ODE
over 30 or 40 time units, heat over 50, an anisotropic 20 × 1 rectangle; the robustness
benchmark's widest box is the logistic's [0, 10]), and DeepXDE's Helmholtz example at its own
wavenumber k = 4π (the benchmark's ``helmholtz_2d`` uses k = 2π; the issue that asked for
robustness measured 1.4e-2 there with tanh). The user's choices follow ``docs/choosing.md``:
2×16 or 2×24 tanh nets, 2–3 residuals per parameter.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
()), pde (an independent residual of the exact solution, for ``--check``), bcs and source.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from robustness_problems import oscillator_problem

import nnpde

PI = math.pi


def logistic_30():
    """u' = u(1 - u)/2, u(0) = 0.01 on [0, 30]; u = 1/(1 + 99 e^{-t/2}) (the growth front
    near t = 9, then 20 time units at the stable equilibrium).

    Source: Verhulst's logistic equation with a slower rate and a longer horizon than the
    robustness benchmark's (its r = 1 on [0, 10])."""

    def exact(x):
        return 1.0 / (1.0 + 99.0 * jnp.exp(-0.5 * x[0]))

    def pde(x):
        u = exact(x)
        return jax.grad(exact)(x)[0] - 0.5 * u * (1.0 - u)

    p = nnpde.Problem(nnpde.Interval(0.0, 30.0),
                      lambda x, u: u.grad[0] - 0.5 * u.value * (1.0 - u.value),
                      boundary=[nnpde.Initial(lambda x: 0.01)], exact=exact,
                      name="logistic_30")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=512, exact=exact, pde=pde, bcs=[],
                source="Verhulst 1838 (r = 1/2, T = 30)")


def oscillator_40():
    """u'' + 2ζω u' + ω² u = 0, ω = 1/2, ζ = 0.05, u(0) = 1, u'(0) = 0 on [0, 40];
    u = e^{-ζωt}(cos ω_d t + (ζω/ω_d) sin ω_d t), ω_d = ω√(1 - ζ²) (three periods).

    Source: the lightly damped harmonic oscillator (any mechanics text), in seconds."""
    omega, zeta = 0.5, 0.05
    p, exact = oscillator_problem(omega, zeta, 40.0, "oscillator_40")

    def pde(x):
        return (jax.hessian(exact)(x)[0, 0] + 2 * zeta * omega * jax.grad(exact)(x)[0]
                + omega**2 * exact(x))  # fmt: skip

    return dict(problem=p, hidden=(16, 16), points=512, exact=exact, pde=pde, bcs=[],
                source="damped harmonic oscillator (ζ = 0.05, T = 40)")


def heat_mode_problem(length: float, t0: float, t1: float, name: str):
    """(Problem, exact, pde) of u_t = u_xx on [0, length] × [t0, t1] with the one mode
    u = exp(-k²(t - t0)) sin(kx), k = π/length: Dirichlet data at both ends, u(x, t0) from it
    (separation of variables, Haberman). ``pde`` is an independent autodiff residual."""
    k = PI / length

    def exact(x):
        return jnp.exp(-(k**2) * (x[1] - t0)) * jnp.sin(k * x[0])

    def pde(x):
        return jax.grad(exact)(x)[1] - jax.hessian(exact)(x)[0, 0]

    p = nnpde.Problem(nnpde.Box((0.0, t0), (length, t1), time=True),
                      lambda x, u: u.grad[1] - u.hessian[0, 0],
                      boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact)], exact=exact,
                      name=name)  # fmt: skip
    return p, exact, pde


def heat_20x50():
    """u_t = u_xx on [0, 20] × [0, 50], u = exp(-(π/20)² t) sin(πx/20): a rod 20 long over 50
    time units (the mode decays to 29 %), Dirichlet data at both ends, u(x, 0) from it.

    Source: separation of variables for the heat equation (Haberman), in a user's units."""
    p, exact, pde = heat_mode_problem(20.0, 0.0, 50.0, "heat_20x50")
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="heat equation, one mode (Haberman), x in [0, 20], t in [0, 50]")


def poisson_20x1():
    """-Δu = ((π/20)² + π²) u on [0, 20] × [0, 1], u = sin(πx/20) sin(πy), u = 0 on the
    boundary: one axis 20× the other.

    Source: a manufactured solution on a long strip (a channel's cross-section in metres)."""
    k = PI / 20.0

    def exact(x):
        return jnp.sin(k * x[0]) * jnp.sin(PI * x[1])

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) - (k**2 + PI**2) * exact(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (20.0, 1.0)),
                      lambda x, u: -u.laplacian - (k**2 + PI**2) * exact(x),
                      boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact,
                      name="poisson_20x1")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured sin·sin on a 20 × 1 strip")


def helmholtz_4pi():
    """-Δu - k²u = k² sin(kx) sin(ky) on [0, 1]², u = 0 on the boundary, k = 4π;
    u = sin(kx) sin(ky) (two periods along each axis).

    Source: DeepXDE's example "Helmholtz equation over a 2D square domain" at its own n = 2
    (the robustness benchmark's ``helmholtz_2d`` has n = 1)."""
    k = 4 * PI

    def exact(x):
        return jnp.sin(k * x[0]) * jnp.sin(k * x[1])

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) - k**2 * exact(x) - k**2 * exact(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                      lambda x, u: -u.laplacian - k**2 * u.value - k**2 * exact(x),
                      boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact,
                      name="helmholtz_4pi")  # fmt: skip
    return dict(problem=p, hidden=(24, 24), points=2048, exact=exact, pde=pde, bcs=[],
                source="DeepXDE example (Helmholtz, n = 2)")


PROBLEMS = {fn.__name__: fn for fn in (logistic_30, oscillator_40, heat_20x50, poisson_20x1,
                                       helmholtz_4pi)}  # fmt: skip
WIDE = ("logistic_30", "oscillator_40", "heat_20x50", "poisson_20x1")
