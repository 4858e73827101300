"""The fourth round of held-out problems for ``benchmarks/heldout.py --round 4``.

Five problems written on 2026-12-07 (night), after the third round, for what the earlier sets
had none of: a box far from the origin ([100, 101] × [-50.5, -49.5]), a box 100 times smaller
than the unit square, a solution of large amplitude on a large offset (500 + 1000 sin·sin), a
boundary layer of width 0.02, and an evolution problem whose time starts at t = 10. The user's
choices follow ``docs/choosing.md``: 2×16 tanh nets, 2–3 residuals per parameter.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
()), pde (an independent residual of the exact solution, for ``--check``), bcs and source.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from heldout_round3 import heat_mode_problem

import nnpde

PI = math.pi


def _sin_sin(lo, width, amplitude=1.0, offset=0.0):
    """offset + amplitude · sin(π(x - lo_x)/w) sin(π(y - lo_y)/w) and its Poisson source."""
    k = PI / width

    def exact(x):
        return offset + amplitude * jnp.sin(k * (x[0] - lo[0])) * jnp.sin(k * (x[1] - lo[1]))

    def source(x):  # -Δu
        return 2 * k**2 * (exact(x) - offset)

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) - source(x)

    return exact, source, pde


def _poisson(name, lo, width, amplitude=1.0, offset=0.0):
    exact, source, pde = _sin_sin(lo, width, amplitude, offset)
    box = nnpde.Box(tuple(lo), (lo[0] + width, lo[1] + width))
    p = nnpde.Problem(box, lambda x, u: -u.laplacian - source(x),
                      boundary=[nnpde.Dirichlet(lambda x: offset)], exact=exact,
                      name=name)  # fmt: skip
    return p, exact, pde


def poisson_offset():
    """-Δu = 2π² sin(π(x - 100)) sin(π(y + 50.5)) on [100, 101] × [-50.5, -49.5], u = 0 on the
    boundary: the unit square's sin·sin moved far from the origin (a user's coordinates).

    Source: the manufactured sin·sin solution in translated coordinates."""
    p, exact, pde = _poisson("poisson_offset", (100.0, -50.5), 1.0)
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured sin·sin on [100, 101] × [-50.5, -49.5]")


def poisson_tiny():
    """-Δu = 2(100π)² u on [0, 0.01]², u = sin(100πx) sin(100πy), u = 0 on the boundary: a
    box 100 times smaller than the unit square (a cell in metres), so Δu ~ 2e5 u.

    Source: the manufactured sin·sin solution on a small box."""
    p, exact, pde = _poisson("poisson_tiny", (0.0, 0.0), 0.01)
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured sin·sin on [0, 0.01]²")


def poisson_amplitude():
    """-Δu = 2000π² sin(πx) sin(πy) on [0, 1]², u = 500 on the boundary;
    u = 500 + 1000 sin(πx) sin(πy) (a temperature in kelvin, say).

    Source: the manufactured sin·sin solution with a large offset and amplitude."""
    p, exact, pde = _poisson("poisson_amplitude", (0.0, 0.0), 1.0, 1000.0, 500.0)
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured 500 + 1000 sin·sin")


def boundary_layer():
    """-ε u'' + u' = 0 on [0, 1], u(0) = 0, u(1) = 1, ε = 0.02;
    u = (e^{(x-1)/ε} - e^{-1/ε}) / (1 - e^{-1/ε}): flat, then a layer of width ~ε at x = 1.

    Source: the steady convection-diffusion model problem of singular perturbation texts
    (e.g. Roos, Stynes & Tobiska, "Robust Numerical Methods for Singularly Perturbed
    Differential Equations", ch. 1)."""
    eps = 0.02
    tail = math.exp(-1.0 / eps)

    def exact(x):
        return (jnp.exp((x[0] - 1.0) / eps) - tail) / (1.0 - tail)

    def pde(x):
        return -eps * jax.hessian(exact)(x)[0, 0] + jax.grad(exact)(x)[0]

    p = nnpde.Problem(nnpde.Interval(0.0, 1.0),
                      lambda x, u: -eps * u.hessian[0, 0] + u.grad[0],
                      boundary=[nnpde.Dirichlet(exact)], exact=exact,
                      name="boundary_layer")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=512, exact=exact, pde=pde, bcs=[],
                source="convection-diffusion boundary layer (ε = 0.02)")


def heat_late_start():
    """u_t = u_xx on [0, 1] × [10, 11], u = e^{-π²(t - 10)} sin(πx): the initial data at
    t = 10 (a simulation restarted at a later time), u = 0 at x = 0 and 1.

    Source: separation of variables for the heat equation (Haberman), time shifted."""
    p, exact, pde = heat_mode_problem(1.0, 10.0, 11.0, "heat_late_start")
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="heat equation, one mode, t in [10, 11]")


PROBLEMS = {fn.__name__: fn for fn in (poisson_offset, poisson_tiny, poisson_amplitude,
                                       boundary_layer, heat_late_start)}  # fmt: skip
