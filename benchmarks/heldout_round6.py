"""The sixth round of held-out problems for ``benchmarks/heldout.py --round 6``.

Six problems written on 2026-12-07 (late night), after the fifth round (which every default
run passed), for what the earlier sets had little or none of: a domain with a hole (an
annulus, ``Disk - Disk``), a fourth-order equation on a curved domain (a clamped plate on the
disk: Dirichlet and Neumann data together), a linear saddle-point system (Stokes flow, three
networks), a strongly nonlinear ODE (the pendulum at 115°), an inverse ODE problem with two
coefficients, and pure advection in (x, y, t) by a rotating velocity field. The user's
choices follow ``docs/choosing.md``: 2×16 to 2×20 tanh nets, 2–3 residuals per parameter; the
equations are written as a user would write them, not rescaled.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
() or (K,)), pde (an independent residual of the exact solution, for ``--check``), bcs,
source, and for the inverse problem params (the true coefficients, scored with u).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from robustness_problems import hermite_interpolant, ode_table

import nnpde

PI = math.pi


def _laplacian(fn, x):
    return jnp.trace(jax.hessian(fn)(x))


def annulus_poisson():
    """-Δu = 3 sin(2x) cosh(y) on the annulus 0.4 ≤ |x| ≤ 1 (``Disk - Disk``),
    u = sin(2x) cosh(y) + x y / 2, Dirichlet data on both circles.

    Source: a manufactured Poisson problem on a domain with a hole (FEniCS-tutorial style)."""

    def exact(x):
        return jnp.sin(2 * x[0]) * jnp.cosh(x[1]) + 0.5 * x[0] * x[1]

    def f(x):
        return 3 * jnp.sin(2 * x[0]) * jnp.cosh(x[1])

    def pde(x):
        return -_laplacian(exact, x) - f(x)

    def data(x):  # u on both circles, but not u inside (else N = 0 would already solve it)
        r2 = x[0] ** 2 + x[1] ** 2
        return exact(x) + 3.0 * (r2 - 1.0) * (r2 - 0.16)

    domain = nnpde.Disk((0.0, 0.0), 1.0) - nnpde.Disk((0.0, 0.0), 0.4)
    p = nnpde.Problem(domain, lambda x, u: -u.laplacian - f(x),
                      boundary=[nnpde.Dirichlet(data)], exact=exact,
                      name="annulus_poisson")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured Poisson on an annulus")


def clamped_plate_disk():
    """Δ²u = f on the unit disk, u = 0 and ∂u/∂n = 0 on the circle (a clamped plate);
    u = (1 - r²)² (1 + x/2 + y²/4), f = Δ²u (manufactured). Fourth order, written with
    ``u.partial``; the equation is not rescaled (f is O(100)).

    Source: the clamped circular plate (Timoshenko & Woinowsky-Krieger, §62), with a
    manufactured non-symmetric load."""

    def exact(x):
        r2 = x[0] ** 2 + x[1] ** 2
        return (1 - r2) ** 2 * (1 + 0.5 * x[0] + 0.25 * x[1] ** 2)

    def f(x):
        return _laplacian(lambda y: _laplacian(exact, y), x)

    def equation(x, u):
        return u.partial(0, 0, 0, 0) + 2 * u.partial(0, 0, 1, 1) + u.partial(1, 1, 1, 1) - f(x)

    def pde(x):  # Δ² as the sum of the fourth partials, by nested autodiff
        d4 = jax.jacfwd(jax.jacfwd(jax.hessian(exact)))(x)
        return d4[0, 0, 0, 0] + 2 * d4[0, 0, 1, 1] + d4[1, 1, 1, 1] - f(x)

    p = nnpde.Problem(nnpde.Disk((0.0, 0.0), 1.0), equation,
                      boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Neumann(lambda x: 0.0)],
                      exact=exact, name="clamped_plate_disk")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="clamped circular plate, manufactured load")


def _stokes(x):
    """(u, v, p) of the manufactured Stokes flow: a divergence-free vortex and a pressure."""
    s, c = jnp.sin(PI * x[0]), jnp.sin(PI * x[1])
    u = PI * s**2 * jnp.sin(2 * PI * x[1])
    v = -PI * jnp.sin(2 * PI * x[0]) * c**2
    p = jnp.cos(PI * x[0]) * jnp.sin(PI * x[1])
    return jnp.stack([u, v, p])


def _stokes_forces(x):
    lap = jnp.trace(jax.hessian(_stokes)(x), axis1=1, axis2=2)
    grad_p = jax.grad(lambda y: _stokes(y)[2])(x)
    return -lap[:2] + grad_p


def stokes_flow():
    """-Δu + ∇p = f, ∇·u = 0 on [0, 1]², u = v = 0 on the boundary, p given on x = 1;
    u = π sin²(πx) sin(2πy), v = -π sin(2πx) sin²(πy), p = cos(πx) sin(πy), f from them.
    Three networks (u, v, p); p enters only through its gradient.

    Source: the manufactured Stokes solution of finite-element tests (e.g. the vortex of
    John, "Finite Element Methods for Incompressible Flow Problems", 2016, §4.1)."""

    def equation(x, w):
        u, v, p = w
        f = _stokes_forces(x)
        return jnp.stack([-u.laplacian + p.grad[0] - f[0], -v.laplacian + p.grad[1] - f[1],
                          u.grad[0] + v.grad[1]])  # fmt: skip

    def pde(x):  # the divergence in closed form, the momentum by autodiff
        div = (PI**2 * jnp.sin(2 * PI * x[0]) * jnp.sin(2 * PI * x[1])
               - PI**2 * jnp.sin(2 * PI * x[0]) * jnp.sin(2 * PI * x[1]))  # fmt: skip
        J = jax.jacfwd(_stokes)(x)
        return jnp.stack([div, J[0, 0] + J[1, 1]])

    def comp(k):
        return lambda x: _stokes(x)[k]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), equation, components=3,
                      boundary=[nnpde.Dirichlet(lambda x: 0.0, component=0),
                                nnpde.Dirichlet(lambda x: 0.0, component=1),
                                nnpde.Dirichlet(comp(2), where="right", component=2)],
                      exact=_stokes, name="stokes_flow")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=_stokes, pde=pde, bcs=[],
                source="manufactured Stokes vortex (John 2016)")


_PENDULUM = {"theta0": 2.0, "T": 10.0, "nodes": 8001}


def _pendulum_reference():
    """θ(t) of the pendulum by scipy's DOP853 (rtol = atol = 1e-13, :func:`ode_table`), as a
    cubic Hermite interpolant (h = 1.25e-3): x (1,) -> ()."""
    t, y, dy = ode_table(lambda y: np.array([y[1], -np.sin(y[0])]),
                         [_PENDULUM["theta0"], 0.0], _PENDULUM["T"], _PENDULUM["nodes"], 1e-13,
                         "pendulum")  # fmt: skip
    interp = hermite_interpolant(t, y[:, :1], dy[:, :1])
    return lambda x: interp(x)[0]


def pendulum():
    """θ'' + sin θ = 0 on [0, 10], θ(0) = 2 (115°), θ'(0) = 0: the nonlinear pendulum at
    large amplitude (period ≈ 8.4, so a little over one swing and back).

    Source: the simple pendulum (e.g. Strogatz, "Nonlinear Dynamics and Chaos", §6.7). No
    closed form in elementary functions: the reference is scipy's DOP853 at rtol 1e-13,
    interpolated (cubic Hermite, 8001 nodes)."""
    reference = _pendulum_reference()

    def pde(x):  # the interpolant's own ODE residual: O(h²), not round-off
        return jax.hessian(reference)(x)[0, 0] + jnp.sin(reference(x))

    p = nnpde.Problem(nnpde.Interval(0.0, _PENDULUM["T"]),
                      lambda x, u: u.hessian[0, 0] + jnp.sin(u.value),
                      boundary=[nnpde.Initial(lambda x: _PENDULUM["theta0"],
                                              derivative=lambda x: 0.0)],
                      exact=reference, name="pendulum")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=reference, pde=pde, bcs=[],
                source="nonlinear pendulum, theta0 = 2 (Strogatz 6.7)")


def inverse_oscillator():
    """y'' + c y' + k y = 0 on [0, 6], y(0) = 1, y'(0) = 0, c and k unknown (c* = 0.4,
    k* = 4, initial guesses 1 and 1), from 20 observations of y at Halton times (exact
    values, the default data weight); y = e^{-t/5} (cos ωt + sin(ωt) / (5ω)), ω² = 3.96.

    Source: parameter identification of a damped oscillator (the ODE inverse examples of
    DeepXDE and jinns)."""
    c, k = 0.4, 4.0
    w = math.sqrt(k - c * c / 4)

    def exact(x):
        t = x[0]
        return jnp.exp(-c * t / 2) * (jnp.cos(w * t) + c / (2 * w) * jnp.sin(w * t))

    def pde(x):
        g = jax.grad(exact)(x)[0]
        return jax.hessian(exact)(x)[0, 0] + c * g + k * exact(x)

    line = nnpde.Interval(0.0, 6.0)
    t_obs = line.sample(20, key=jax.random.key(6), method="halton")
    y_obs = jax.vmap(exact)(jnp.asarray(t_obs))
    p = nnpde.Problem(line,
                      lambda x, u, q: u.hessian[0, 0] + q["c"] * u.grad[0] + q["k"] * u.value,
                      boundary=[nnpde.Initial(lambda x: 1.0, derivative=lambda x: 0.0)],
                      params={"c": 1.0, "k": 1.0}, data=(t_obs, y_obs), exact=exact,
                      name="inverse_oscillator")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=512, exact=exact, pde=pde, bcs=[],
                params={"c": c, "k": k}, source="damped oscillator, c and k identified")


def rotating_gaussian():
    """u_t - y u_x + x u_y = 0 on [-1, 1]² × [0, 1.5]: a Gaussian (width ~0.3, centred at
    (0.4, 0)) carried a quarter turn by the rotating velocity (-y, x);
    u = exp(-10 ((X - 0.4)² + Y²)), (X, Y) = R(-t)(x, y); u on the sides and at t = 0.

    Source: the rotating-cone advection test (e.g. LeVeque, "Finite Volume Methods for
    Hyperbolic Problems", §20.8), with a smooth Gaussian."""

    def exact(x):
        ct, st = jnp.cos(x[2]), jnp.sin(x[2])
        X, Y = x[0] * ct + x[1] * st, -x[0] * st + x[1] * ct
        return jnp.exp(-10.0 * ((X - 0.4) ** 2 + Y**2))

    def pde(x):
        g = jax.grad(exact)(x)
        return g[2] - x[1] * g[0] + x[0] * g[1]

    p = nnpde.Problem(nnpde.Box((-1.0, -1.0, 0.0), (1.0, 1.0, 1.5), time=True),
                      lambda x, u: u.grad[2] - x[1] * u.grad[0] + x[0] * u.grad[1],
                      boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact)],
                      exact=exact, name="rotating_gaussian")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=2048, exact=exact, pde=pde, bcs=[],
                source="rotating Gaussian (LeVeque 20.8)")


PROBLEMS = {fn.__name__: fn for fn in (annulus_poisson, clamped_plate_disk, stokes_flow, pendulum,
                                       inverse_oscillator, rotating_gaussian)}  # fmt: skip
