"""The second round of held-out problems for ``benchmarks/heldout.py --round 2``.

Eight problems written on 2026-12-07, after every default of ``nnpde.solve`` had been fixed,
that appear neither in ``benchmarks/robustness_problems.py``, nor in the first held-out round,
nor in nnpde's catalogue. They were chosen for what the earlier sets had little of: nonlinear
waves (sine-Gordon kink, Fisher–KPP front), a damped hyperbolic equation (telegraph), a complex
PDE split into two real components with periodic conditions (Schrödinger), Neumann data in time
(insulated rod), a polygon that is not a rectangle (pentagon), a nonlinear oscillator without a
closed form (Van der Pol, reference by scipy), and 3-D unsteady Navier–Stokes with four unknowns
(Beltrami flow, DeepXDE's example). The user's choices (net 2×16..2×24, points) follow
``docs/choosing.md``: 2–3 residuals per parameter.

Each builder returns the dict ``heldout.py`` runs: problem, hidden, points, exact (x (D,) ->
() or (K,)), pde (an independent residual of the exact solution, () or (E,), for ``--check``),
bcs (extra (fn, points) checks) and source.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from robustness_problems import hermite_interpolant, ode_table

import nnpde

PI = math.pi


def fisher_kpp_front():
    """u_t = u_xx + u(1 - u) on [-5, 5] × [0, 2], Dirichlet data at x = ±5, u(x, 0) from the
    travelling front u = (1 + exp(x/√6 - 5t/6))⁻² (speed 5/√6).

    Source: Ablowitz & Zeppetella, "Explicit solutions of Fisher's equation for a special wave
    speed", Bull. Math. Biol. 41 (1979) 835-840."""

    def exact(x):
        return (1.0 + jnp.exp(x[0] / math.sqrt(6.0) - 5.0 * x[1] / 6.0)) ** -2

    def eq(x, u):
        return u.grad[1] - u.hessian[0, 0] - u.value * (1.0 - u.value)

    def pde(x):
        g = jax.grad(exact)(x)
        u = exact(x)
        return g[1] - jax.hessian(exact)(x)[0, 0] - u * (1.0 - u)

    p = nnpde.Problem(nnpde.Box((-5.0, 0.0), (5.0, 2.0), time=True), eq,
                      boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact)],
                      exact=exact, name="fisher_kpp_front")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="Ablowitz & Zeppetella 1979 (Fisher-KPP travelling front)")  # fmt: skip


def sine_gordon_kink():
    """u_tt - u_xx + sin u = 0 on [-5, 5] × [0, 3], the moving kink
    u = 4 arctan(exp(γ(x - vt))), v = 0.5, γ = 1/√(1 - v²): Dirichlet data at x = ±5,
    u and u_t at t = 0 from it.

    Source: the sine-Gordon kink (Drazin & Johnson, "Solitons: an introduction", CUP 1989, §1.4)."""
    v = 0.5
    gamma = 1.0 / math.sqrt(1.0 - v * v)

    def exact(x):
        return 4.0 * jnp.arctan(jnp.exp(gamma * (x[0] - v * x[1])))

    def velocity(x):
        return jax.grad(exact)(x)[1]

    def eq(x, u):
        return u.hessian[1, 1] - u.hessian[0, 0] + jnp.sin(u.value)

    def pde(x):
        h = jax.hessian(exact)(x)
        return h[1, 1] - h[0, 0] + jnp.sin(exact(x))

    p = nnpde.Problem(nnpde.Box((-5.0, 0.0), (5.0, 3.0), time=True), eq,
                      boundary=[nnpde.Dirichlet(exact),
                                nnpde.Initial(exact, derivative=velocity)],
                      exact=exact, name="sine_gordon_kink")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="sine-Gordon moving kink (Drazin & Johnson 1989)")  # fmt: skip


def telegraph_two_mode():
    """u_tt + 2u_t = u_xx on [0, 1] × [0, 1], zero Dirichlet data,
    u = e^{-t} (sin(πx) cos(ω₁t) + ½ sin(3πx) cos(ω₃t)), ω_k = √((kπ)² - 1);
    u(x, 0) and u_t(x, 0) = -u(x, 0) from it.

    Source: separation of variables for the damped wave (telegraph) equation (Haberman, "Applied
    PDEs", §8.4 exercises)."""
    w1, w3 = math.sqrt(PI**2 - 1.0), math.sqrt(9 * PI**2 - 1.0)

    def exact(x):
        s, t = x[0], x[1]
        return jnp.exp(-t) * (jnp.sin(PI * s) * jnp.cos(w1 * t)
                              + 0.5 * jnp.sin(3 * PI * s) * jnp.cos(w3 * t))  # fmt: skip

    def eq(x, u):
        return u.hessian[1, 1] + 2.0 * u.grad[1] - u.hessian[0, 0]

    def pde(x):
        h = jax.hessian(exact)(x)
        return h[1, 1] + 2.0 * jax.grad(exact)(x)[1] - h[0, 0]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True), eq,
                      boundary=[nnpde.Dirichlet(lambda x: 0.0),
                                nnpde.Initial(exact, derivative=lambda x: -exact(x))],
                      exact=exact, name="telegraph_two_mode")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="telegraph equation, two separated modes (Haberman)")  # fmt: skip


def schrodinger_two_mode():
    """i h_t + ½ h_xx = 0 on [0, 2] × [0, 1], periodic in x (value and slope), initial data
    from h = e^{i(πx - π²t/2)} + ½ e^{i(2πx - 2π²t)}; unknowns (Re h, Im h), equations
    u_t + ½ v_xx = 0 and v_t - ½ u_xx = 0.

    Source: the free linear Schrödinger equation (the linear part of the nonlinear Schrödinger
    benchmark of Raissi et al. 2019), plane waves of two wave numbers."""

    def exact(x):
        a1 = PI * x[0] - 0.5 * PI**2 * x[1]
        a2 = 2 * PI * x[0] - 2 * PI**2 * x[1]
        return jnp.stack([jnp.cos(a1) + 0.5 * jnp.cos(a2), jnp.sin(a1) + 0.5 * jnp.sin(a2)])

    def eq(x, w):
        u, v = w
        return jnp.stack([u.grad[1] + 0.5 * v.hessian[0, 0], v.grad[1] - 0.5 * u.hessian[0, 0]])

    def pde(x):
        J = jax.jacfwd(exact)(x)
        H = jax.hessian(exact)(x)
        return jnp.stack([J[0, 1] + 0.5 * H[1, 0, 0], J[1, 1] - 0.5 * H[0, 0, 0]])

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (2.0, 1.0), time=True), eq, components=2,
                      boundary=[nnpde.Periodic(0, component=0), nnpde.Periodic(0, component=1),
                                nnpde.Initial(lambda x: exact(x)[0], component=0),
                                nnpde.Initial(lambda x: exact(x)[1], component=1)],
                      exact=exact, name="schrodinger_two_mode")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="linear Schrödinger, two plane waves (Raissi et al. 2019's "
                       "equation without the cubic term)")  # fmt: skip


def heat_insulated():
    """u_t = u_xx on [0, 1] × [0, 0.5], u_x = 0 at x = 0 and 1 (insulated ends), initial data
    from u = 1 + e^{-π²t} cos(πx) + ½ e^{-4π²t} cos(2πx).

    Source: separation of variables, heat equation with Neumann conditions (Haberman §2.4)."""

    def exact(x):
        s, t = x[0], x[1]
        return (1.0 + jnp.exp(-PI**2 * t) * jnp.cos(PI * s)
                + 0.5 * jnp.exp(-4 * PI**2 * t) * jnp.cos(2 * PI * s))  # fmt: skip

    def eq(x, u):
        return u.grad[1] - u.hessian[0, 0]

    def pde(x):
        return jax.grad(exact)(x)[1] - jax.hessian(exact)(x)[0, 0]

    p = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 0.5), time=True), eq,
                      boundary=[nnpde.Neumann(lambda x: 0.0), nnpde.Initial(exact)],
                      exact=exact, name="heat_insulated")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=exact, pde=pde, bcs=[],
                source="heat equation, insulated ends (Haberman §2.4)")  # fmt: skip


PENTAGON = tuple((math.cos(2 * PI * k / 5 + PI / 2), math.sin(2 * PI * k / 5 + PI / 2))
                 for k in range(5))  # fmt: skip


def poisson_pentagon():
    """-Δu = f on the regular pentagon inscribed in the unit circle, Dirichlet data;
    u = cos(πx) sin(πy) + x y² (manufactured), f = 2π² cos(πx) sin(πy) - 2x.

    Source: manufactured Poisson problem on a convex polygon (FEniCS-tutorial style)."""

    def exact(x):
        return jnp.cos(PI * x[0]) * jnp.sin(PI * x[1]) + x[0] * x[1] ** 2

    def f(x):
        return 2 * PI**2 * jnp.cos(PI * x[0]) * jnp.sin(PI * x[1]) - 2 * x[0]

    def eq(x, u):
        return -u.laplacian - f(x)

    def pde(x):
        return -jnp.trace(jax.hessian(exact)(x)) - f(x)

    def data(x):  # the boundary values, extended into the pentagon by a function that is not
        # u there (with value=exact the trial solution A + φ·N would be u already at N = 0)
        edges = [jnp.cos(2 * PI * k / 5 + PI / 5 + PI / 2) * x[0]
                 + jnp.sin(2 * PI * k / 5 + PI / 5 + PI / 2) * x[1] - math.cos(PI / 5)
                 for k in range(5)]  # fmt: skip
        return exact(x) + 4.0 * math.prod(edges)

    p = nnpde.Problem(nnpde.Polygon(PENTAGON), eq, boundary=[nnpde.Dirichlet(data)],
                      exact=exact, name="poisson_pentagon")  # fmt: skip
    return dict(problem=p, hidden=(20, 20), points=1024, exact=exact, pde=pde, bcs=[],
                source="manufactured Poisson on a regular pentagon")  # fmt: skip


_VDP = {"mu": 1.0, "y0": 2.0, "T": 10.0, "nodes": 8001}


def _vdp_rhs(y):
    return np.array([y[1], _VDP["mu"] * (1.0 - y[0] ** 2) * y[1] - y[0]])


def _vdp_reference():
    """y(t) of Van der Pol by scipy's DOP853 (rtol = atol = 1e-13, :func:`ode_table`), as a
    cubic Hermite interpolant (h = 1.25e-3): x (1,) -> ()."""
    t, y, dy = ode_table(_vdp_rhs, [_VDP["y0"], 0.0], _VDP["T"], _VDP["nodes"], 1e-13,
                         "Van der Pol")  # fmt: skip
    interp = hermite_interpolant(t, y[:, :1], dy[:, :1])
    return lambda x: interp(x)[0]


def van_der_pol():
    """y'' - μ(1 - y²) y' + y = 0 on [0, 10], μ = 1, y(0) = 2, y'(0) = 0 (one and a half
    periods of the limit cycle); one unknown, second order in time.

    Source: Hairer, Nørsett & Wanner I, §II.10 (Van der Pol's equation). No closed form: the
    reference is scipy's DOP853 at rtol 1e-13, interpolated (cubic Hermite, 8001 nodes)."""
    mu = _VDP["mu"]
    reference = _vdp_reference()

    def eq(x, u):
        return u.hessian[0, 0] - mu * (1.0 - u.value**2) * u.grad[0] + u.value

    def pde(x):  # the Hermite interpolant's own ODE residual: O(h²) ≈ 1e-5, not round-off
        g = jax.grad(reference)(x)[0]
        return jax.hessian(reference)(x)[0, 0] - mu * (1.0 - reference(x) ** 2) * g + reference(x)

    p = nnpde.Problem(nnpde.Interval(0.0, _VDP["T"]), eq,
                      boundary=[nnpde.Initial(lambda x: _VDP["y0"], derivative=lambda x: 0.0)],
                      exact=reference, name="van_der_pol")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=reference, pde=pde, bcs=[],
                source="Van der Pol, mu = 1 (Hairer, Norsett & Wanner I)")  # fmt: skip


def _beltrami(x):
    """(u, v, w, p) of the Beltrami flow, a = d = 1, at x = (x, y, z, t)."""
    a = d = 1.0
    X, Y, Z, t = x[0], x[1], x[2], x[3]
    e = jnp.exp(-d * d * t)
    u = -a * (jnp.exp(a * X) * jnp.sin(a * Y + d * Z) + jnp.exp(a * Z) * jnp.cos(a * X + d * Y))
    v = -a * (jnp.exp(a * Y) * jnp.sin(a * Z + d * X) + jnp.exp(a * X) * jnp.cos(a * Y + d * Z))
    w = -a * (jnp.exp(a * Z) * jnp.sin(a * X + d * Y) + jnp.exp(a * Y) * jnp.cos(a * Z + d * X))
    p = -0.5 * a * a * (
        jnp.exp(2 * a * X) + jnp.exp(2 * a * Y) + jnp.exp(2 * a * Z)
        + 2 * jnp.sin(a * X + d * Y) * jnp.cos(a * Z + d * X) * jnp.exp(a * (Y + Z))
        + 2 * jnp.sin(a * Y + d * Z) * jnp.cos(a * X + d * Y) * jnp.exp(a * (Z + X))
        + 2 * jnp.sin(a * Z + d * X) * jnp.cos(a * Y + d * Z) * jnp.exp(a * (X + Y)))
    return jnp.stack([u * e, v * e, w * e, p * e * e])


def beltrami_flow():
    """Unsteady incompressible Navier–Stokes, Re = 1, on [-1, 1]³ × [0, 1], Ethier &
    Steinman's Beltrami flow (a = d = 1): u, v, w Dirichlet on the whole boundary and at t = 0,
    p pinned on x = 1 (it is otherwise defined up to a function of t).

    Source: Ethier & Steinman, "Exact fully 3D Navier–Stokes solutions for benchmarking",
    Int. J. Numer. Meth. Fluids 19 (1994) 369-375; DeepXDE examples, "Beltrami flow"."""

    def eq(x, c):
        vel = [c[0], c[1], c[2]]
        val = jnp.stack([q.value for q in vel])
        mom = [vel[i].grad[3] + val @ vel[i].grad[:3] + c[3].grad[i]
               - (vel[i].hessian[0, 0] + vel[i].hessian[1, 1] + vel[i].hessian[2, 2])
               for i in range(3)]  # fmt: skip
        div = vel[0].grad[0] + vel[1].grad[1] + vel[2].grad[2]
        return jnp.stack([*mom, div])

    def pde(x):
        J = jax.jacfwd(_beltrami)(x)
        H = jax.hessian(_beltrami)(x)
        val = _beltrami(x)[:3]
        mom = [J[i, 3] + val @ J[i, :3] + J[3, i] - (H[i, 0, 0] + H[i, 1, 1] + H[i, 2, 2])
               for i in range(3)]  # fmt: skip
        return jnp.stack([*mom, J[0, 0] + J[1, 1] + J[2, 2]])

    def comp(k):
        return lambda x: _beltrami(x)[k]

    boundary = [nnpde.Dirichlet(comp(k), component=k) for k in range(3)]
    boundary += [nnpde.Initial(comp(k), component=k) for k in range(3)]
    boundary.append(nnpde.Dirichlet(comp(3), where="x0_max", component=3))
    p = nnpde.Problem(nnpde.Box((-1.0, -1.0, -1.0, 0.0), (1.0, 1.0, 1.0, 1.0), time=True), eq,
                      components=4, boundary=boundary, exact=_beltrami,
                      name="beltrami_flow")  # fmt: skip
    return dict(problem=p, hidden=(16, 16), points=1024, exact=_beltrami, pde=pde, bcs=[],
                source="Ethier & Steinman 1994; DeepXDE example (Beltrami flow)")  # fmt: skip


PROBLEMS = {fn.__name__: fn for fn in (fisher_kpp_front, sine_gordon_kink, telegraph_two_mode,
                                       schrodinger_two_mode, heat_insulated, poisson_pentagon,
                                       van_der_pol, beltrami_flow)}  # fmt: skip
