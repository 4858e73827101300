"""The seventh round of held-out problems for ``benchmarks/heldout.py --round 7``.

Four problems written on 2026-12-07 (late night), after the sixth round, for boundary
conditions the earlier sets used little or not at all on such problems: a Robin condition on a
circle, periodicity along one axis of a strip with Dirichlet data on the other, a coupled
system with zero-flux (Neumann) conditions only, and a nonlinear fourth-order ODE with both
ends clamped (the value and the slope given at each end). The user's choices follow
``docs/choosing.md``: 2×16 to 2×20 tanh nets, 2–3 residuals per parameter.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
() or (K,)), pde (an independent residual of the exact solution, for ``--check``), bcs,
source.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import nnpde

PI = math.pi


def robin_disk():
    """-Δu = f on the disk of radius 1 centred at (0.2, -0.1), u + ∂u/∂n = g on its circle;
    u = e^x cos(y) + x² + y/2 (manufactured), f = -2, g from u.

    Source: a manufactured Poisson problem with a Robin (impedance) condition on a circle."""
    c = jnp.asarray([0.2, -0.1])

    def exact(x):
        return jnp.exp(x[0]) * jnp.cos(x[1]) + x[0] ** 2 + 0.5 * x[1]

    def g(x):  # u + n·∇u with n = (x - c) / |x - c| on the circle
        n = (x - c) / jnp.linalg.norm(x - c)
        return exact(x) + n @ jax.grad(exact)(x)

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) + 2.0

    p = nnpde.Problem(nnpde.Disk((0.2, -0.1), 1.0), lambda x, u: -u.laplacian + 2.0,
                      boundary=[nnpde.Robin(1.0, 1.0, g)], exact=exact,
                      name="robin_disk")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured Poisson with a Robin condition on a circle")


def periodic_strip():
    """-Δu + u_x = f on [0, 2π] × [0, 1], periodic in x, u = 0 at y = 0 and y = 1;
    u = (sin x + cos(2x) / 2) sin(πy) (manufactured).

    Source: a manufactured steady advection-diffusion problem on a periodic channel."""

    def exact(x):
        return (jnp.sin(x[0]) + 0.5 * jnp.cos(2 * x[0])) * jnp.sin(PI * x[1])

    def f(x):
        s = jnp.sin(PI * x[1])
        lap = (-jnp.sin(x[0]) - 2 * jnp.cos(2 * x[0])) * s - PI**2 * exact(x)
        ux = (jnp.cos(x[0]) - jnp.sin(2 * x[0])) * s
        return -lap + ux

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) + jax.grad(exact)(x)[0] - f(x)

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (2 * PI, 1.0)),
                      lambda x, u: -u.laplacian + u.grad[0] - f(x),
                      boundary=[nnpde.Periodic(0), nnpde.Dirichlet(lambda x: 0.0,
                                                                   where=["bottom", "top"])],
                      exact=exact, name="periodic_strip")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured advection-diffusion on a periodic channel")


def neumann_system():
    """-Δu + v = f1, -Δv + u = f2 on [0, 1]², ∂u/∂n = ∂v/∂n = 0 on the whole boundary (no
    Dirichlet data: the system's operator is invertible, the Neumann eigenvalues λ of -Δ
    giving λ ± 1 ≠ 0); u = cos(πx) cos(2πy) + 1, v = cos(2πx) + y²(1 - y)².

    Source: a manufactured zero-flux reaction-diffusion pair (two networks)."""

    def exact(x):
        return jnp.stack([jnp.cos(PI * x[0]) * jnp.cos(2 * PI * x[1]) + 1.0,
                          jnp.cos(2 * PI * x[0]) + x[1] ** 2 * (1 - x[1]) ** 2])  # fmt: skip

    def sources(x):
        lap = jnp.trace(jax.hessian(exact)(x), axis1=1, axis2=2)
        u, v = exact(x)
        return -lap[0] + v, -lap[1] + u

    def equation(x, w):
        u, v = w
        f1, f2 = sources(x)
        return jnp.stack([-u.laplacian + v.value - f1, -v.laplacian + u.value - f2])

    def pde(x):  # the closed-form Laplacians
        u, v = exact(x)
        lap_u = -5 * PI**2 * (u - 1.0)
        lap_v = -4 * PI**2 * jnp.cos(2 * PI * x[0]) + 2 - 12 * x[1] + 12 * x[1] ** 2
        f1, f2 = sources(x)
        return jnp.stack([-lap_u + v - f1, -lap_v + u - f2])

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), equation, components=2,
                      boundary=[nnpde.Neumann(lambda x: 0.0, component=0),
                                nnpde.Neumann(lambda x: 0.0, component=1)],
                      exact=exact, name="neumann_system")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured zero-flux reaction-diffusion pair")


def clamped_nonlinear_beam():
    """u'''' + u u' = f on [0, 1], u(0) = u'(0) = 0 and u(1) = u'(1) = 0 (both ends clamped);
    u = sin²(πx) (1 + x) (manufactured), f from it: fourth order and nonlinear.

    Source: a manufactured clamped-clamped beam with a nonlinear (Burgers-like) term."""

    def exact(x):
        return jnp.sin(PI * x[0]) ** 2 * (1.0 + x[0])

    def d(fn):
        return lambda y: jax.grad(fn)(y)[0]

    d1 = d(exact)
    d4 = d(d(d(d1)))

    def f(x):
        return d4(x) + exact(x) * d1(x)

    def pde(x):  # the fourth derivative by nested forward mode, independent of f's
        e = jnp.ones((1,), x.dtype)
        g = exact
        for _ in range(4):
            g = (lambda h: (lambda y: jax.jvp(h, (y,), (e,))[1]))(g)
        return g(x) + exact(x) * d1(x) - f(x)

    p = nnpde.Problem(nnpde.Interval(0.0, 1.0),
                      lambda x, u: u.partial(0, 0, 0, 0) + u.value * u.grad[0] - f(x),
                      boundary=[nnpde.Initial(lambda x: 0.0, derivative=lambda x: 0.0),
                                nnpde.Dirichlet(lambda x: 0.0, where="right"),
                                nnpde.Neumann(lambda x: 0.0, where="right")],
                      exact=exact, name="clamped_nonlinear_beam")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=512, exact=exact, pde=pde, bcs=[],
                source="manufactured clamped-clamped beam, nonlinear")


PROBLEMS = {fn.__name__: fn for fn in (robin_disk, periodic_strip, neumann_system,
                                       clamped_nonlinear_beam)}  # fmt: skip
