"""The problem set of the robustness benchmark (``benchmarks/robustness.py``, issue 16 item 4).

Thirty-three problems taken from public sources (the example sets of DeepXDE and jinns,
PINNacle, Krishnapriyan et al. 2021, Lagaris et al. 1998, Müller & Zeinhofer 2023, Wang, Teng &
Perdikaris 2021, Benton & Platzman 1972, Verhulst 1838), each with an exact closed-form
solution or, for Lotka–Volterra, a reference integrated once by scipy's ``solve_ivp`` (DOP853,
rtol 1e-12) and interpolated by cubic Hermite polynomials on a fine table. Every function returns a
:class:`Case`: the problem, the default network's hidden sizes (2×16 .. 2×32 tanh), the number
of Sobol' collocation points (``solve(points=int)``: no tensor grid, so nothing aliases), the
reference ``reference(x (D,)) -> () or (K,)``, and, for inverse problems, the true
coefficients. The source of every problem is named in its docstring and in ``Case.source``.
``tests/test_robustness_problems.py`` checks that every reference satisfies its equation (by
autodiff) and its conditions.

Only nnpde's public API is used. Coordinates of time-dependent problems are (x, ..., t).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import nnpde
import nnpde.problems as catalogue
from nnpde.problems import flows

PI = math.pi


class Case(NamedTuple):
    """One benchmark problem and what the benchmark needs to run and score it."""

    problem: nnpde.Problem
    hidden: tuple  # (M1, M2) of the default TwoLayerNet, 16 <= M <= 32
    points: int  # number of Sobol' collocation points (solve(points=int))
    reference: Callable  # reference(x (D,)) -> () or (K,)
    params: Any = None  # {name: true value} for inverse problems
    source: str = ""


def laplacian(fn, x):
    """Δfn(x) by autodiff (for right-hand sides manufactured from a closed form; the held-out
    rounds use it too)."""
    return jnp.trace(jax.hessian(fn)(x))


_lap = laplacian


def _from_catalogue(entry: str, name: str) -> nnpde.Problem:
    """A problem of nnpde's catalogue (nnpde.problems), renamed for this benchmark."""
    return dataclasses.replace(catalogue.get(entry).problem, name=name)


def _everywhere(x):
    """Predicate for Dirichlet data imposed by penalty on every boundary face."""
    return True


# ---- elliptic ---------------------------------------------------------------------------------
def poisson_2d_sinsin() -> Case:
    """-Δu = 2π² sin(πx) sin(πy) on [0,1]², u = 0 on the boundary; u = sin(πx) sin(πy).

    Source: Müller & Zeinhofer, "Achieving high accuracy with PINNs via energy natural gradient
    descent", ICML 2023, §4.1 (the 2-D Poisson example); also DeepXDE's and jinns' first examples.
    """

    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    problem = nnpde.Problem(
        nnpde.Box((0.0, 0.0), (1.0, 1.0)),
        lambda x, u: -u.laplacian - 2 * PI**2 * exact(x),
        boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact, name="poisson_2d_sinsin",
    )  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="Müller & Zeinhofer 2023 §4.1")


def lagaris_pde1() -> Case:
    """Δψ = e^{-x}(x - 2 + y³ + 6y) on [0,1]², Dirichlet data; ψ = e^{-x}(x + y³).

    Source: Lagaris, Likas & Fotiadis, IEEE TNN 9(5) 1998, Problem 5 (nnpde's catalogue entry).
    """
    problem = catalogue.lagaris_pde1().problem
    return Case(problem, (16, 16), 1024, problem.exact, source="Lagaris et al. 1998, Problem 5")


def lagaris_pde3() -> Case:
    """Δψ = f on [0,1]² with Dirichlet data on three faces and a Neumann condition on y = 1.

    Source: Lagaris, Likas & Fotiadis, IEEE TNN 9(5) 1998, Problem 7 (nnpde's catalogue entry).
    """
    problem = catalogue.lagaris_pde3().problem
    return Case(problem, (16, 16), 1024, problem.exact, source="Lagaris et al. 1998, Problem 7")


def poisson_3d() -> Case:
    """-Δu = 3π² sin(πx) sin(πy) sin(πz) on [0,1]³, u = 0 on the boundary.

    Source: the 3-D extension of the sin·sin Poisson problem (Müller & Zeinhofer 2023 §4.1;
    PINNacle's Poisson 3d-CG uses the same operator on a harder geometry).
    """

    def exact(x):
        return jnp.prod(jnp.sin(PI * x))

    problem = nnpde.Problem(
        nnpde.Box((0.0,) * 3, (1.0,) * 3), lambda x, u: -u.laplacian - 3 * PI**2 * exact(x),
        boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact, name="poisson_3d",
    )  # fmt: skip
    return Case(problem, (20, 20), 2048, exact, source="Müller & Zeinhofer 2023 §4.1, in 3-D")


def poisson_5d() -> Case:
    """-Δu = (π²/4) Σ sin(πx_i/2) on [0,1]⁵, Dirichlet data by penalty; u = Σ sin(πx_i/2).

    Source: Müller & Zeinhofer, ICML 2023, §4.2 (the 5-D Poisson example).
    """

    def exact(x):
        return jnp.sum(jnp.sin(PI * x / 2))

    problem = nnpde.Problem(
        nnpde.Box((0.0,) * 5, (1.0,) * 5), lambda x, u: -u.laplacian - PI**2 / 4 * exact(x),
        boundary=[nnpde.Dirichlet(exact, where=_everywhere)], exact=exact, name="poisson_5d",
    )  # fmt: skip
    return Case(problem, (20, 20), 2048, exact, source="Müller & Zeinhofer 2023 §4.2")


def poisson_1d_robin() -> Case:
    """u'' = 2 on [-1,1], u(-1) = 0, u'(1) = u(1) (Robin); u = (x + 1)².

    Source: DeepXDE examples, "Poisson equation in 1D with Dirichlet/Robin boundary conditions".
    """

    def exact(x):
        return (x[0] + 1) ** 2

    problem = nnpde.Problem(
        nnpde.Interval(-1.0, 1.0), lambda x, u: u.laplacian - 2.0,
        boundary=[nnpde.Dirichlet(lambda x: 0.0, where="left"),
                  nnpde.Robin(-1.0, 1.0, lambda x: 0.0, where="right")],
        exact=exact, name="poisson_1d_robin",
    )  # fmt: skip
    return Case(problem, (16, 16), 512, exact, source="DeepXDE example (Poisson 1D Robin)")


def laplace_disk() -> Case:
    """Δu = 0 on the unit disk, Dirichlet data by penalty; u = eˣ cos y (harmonic).

    Source: DeepXDE examples, "Laplace equation on a disk" (there u = r cos θ); PINNacle's
    Poisson 2d-C also poses Dirichlet data on circles.
    """

    def exact(x):
        return jnp.exp(x[0]) * jnp.cos(x[1])

    problem = nnpde.Problem(nnpde.Disk((0.0, 0.0), 1.0), lambda x, u: u.laplacian,
                            boundary=[nnpde.Dirichlet(exact)], exact=exact,
                            name="laplace_disk")  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="DeepXDE example (Laplace on a disk)")


# ---- nonlinear elliptic -----------------------------------------------------------------------
def _bratu_theta(lam: float) -> float:
    """The smaller root θ of θ = √(2λ) cosh(θ/4) (Newton's method, to round-off)."""
    theta = 1.0
    for _ in range(50):
        g = theta - math.sqrt(2 * lam) * math.cosh(theta / 4)
        theta -= g / (1 - math.sqrt(2 * lam) * math.sinh(theta / 4) / 4)
    return theta


def bratu_1d() -> Case:
    """Bratu's problem u'' + λ eᵘ = 0 on [0,1], u(0) = u(1) = 0, λ = 1 (the lower branch);
    u = -2 ln(cosh((x - ½)θ/2) / cosh(θ/4)) with θ = √(2λ) cosh(θ/4).

    Source: the Liouville–Bratu–Gelfand equation; the closed form as in Boyd, "Chebyshev
    polynomial expansions for simultaneous approximation of two branches of a function with
    application to the one-dimensional Bratu equation", Appl. Math. Comput. 143 (2003).
    """
    lam = 1.0
    theta = _bratu_theta(lam)

    def exact(x):
        return -2 * jnp.log(jnp.cosh((x[0] - 0.5) * theta / 2) / math.cosh(theta / 4))

    problem = nnpde.Problem(nnpde.Interval(0.0, 1.0),
                            lambda x, u: u.laplacian + lam * jnp.exp(u.value),
                            boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact,
                            name="bratu_1d")  # fmt: skip
    return Case(problem, (16, 16), 512, exact, source="Bratu (Boyd 2003 closed form)")


def nonlinear_diffusion_2d() -> Case:
    """-∇·((1 + u²)∇u) = f on [0,1]², Dirichlet data, manufactured from
    u = e^{-(x² + y²)} + x y (quasi-linear: -(1 + u²)Δu - 2u|∇u|² = f).

    Source: manufactured; the quasi-linear diffusion of PINNacle's nonlinear Poisson family
    (Hao et al. 2023) with a closed-form solution.
    """

    def exact(x):
        return jnp.exp(-jnp.sum(x * x)) + x[0] * x[1]

    def operator(value, grad, lap):
        return -(1 + value**2) * lap - 2 * value * jnp.sum(grad * grad)

    def equation(x, u):
        f = operator(exact(x), jax.grad(exact)(x), _lap(exact, x))
        return operator(u.value, u.grad, u.laplacian) - f

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), equation,
                            boundary=[nnpde.Dirichlet(exact)], exact=exact,
                            name="nonlinear_diffusion_2d")  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="manufactured (PINNacle-style NL Poisson)")


def allen_cahn_kink() -> Case:
    """ε²Δu + u - u³ = 0 on [0,1]², ε = 0.2, the exact planar kink (nnpde's catalogue entry).

    Source: Allen–Cahn's stationary front tanh(s/(√2ε)); nnpde.problems.allen_cahn.
    """
    problem = _from_catalogue("allen_cahn", "allen_cahn_kink")
    return Case(problem, (16, 16), 1024, problem.exact, source="Allen–Cahn kink (catalogue)")


# ---- Helmholtz --------------------------------------------------------------------------------
def helmholtz_2d() -> Case:
    """-Δu - k²u = k² sin(kx) sin(ky) on [0,1]², u = 0 on the boundary, k = 2π;
    u = sin(kx) sin(ky).

    Source: DeepXDE examples, "Helmholtz equation over a 2D square domain" (k0 = 2πn; DeepXDE
    uses n = 2, here n = 1: a moderate k).
    """
    k = 2 * PI

    def exact(x):
        return jnp.sin(k * x[0]) * jnp.sin(k * x[1])

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                            lambda x, u: -u.laplacian - k**2 * u.value - k**2 * exact(x),
                            boundary=[nnpde.Dirichlet(lambda x: 0.0)], exact=exact,
                            name="helmholtz_2d")  # fmt: skip
    return Case(problem, (24, 24), 2048, exact, source="DeepXDE example (Helmholtz, n = 1)")


# ---- parabolic --------------------------------------------------------------------------------
def heat_1d() -> Case:
    """u_t = a u_xx on [0,1] × [0,1], a = 0.4, u(0,t) = u(1,t) = 0, u(x,0) = sin(πx);
    u = e^{-π²a t} sin(πx).

    Source: DeepXDE examples, "Heat equation" (n = 1, L = 1, a = 0.4).
    """
    a = 0.4

    def exact(x):
        return jnp.exp(-(PI**2) * a * x[1]) * jnp.sin(PI * x[0])

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True),
                            lambda x, u: u.grad[1] - a * u.hessian[0, 0],
                            boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Initial(exact)],
                            exact=exact, name="heat_1d")  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="DeepXDE example (heat equation)")


def heat_2d() -> Case:
    """u_t = κΔu on [0,1]² × [0,1], κ = 0.1, zero Dirichlet data, two separated modes:
    u = e^{-2κπ²t} sin(πx) sin(πy) + ½ e^{-5κπ²t} sin(2πx) sin(πy).

    Source: the closed-form separated solution of PINNacle's Heat 2d family (Hao et al. 2023).
    """
    kappa = 0.1

    def exact(x):
        s, t = jnp.sin(PI * x[1]), x[2]
        return (jnp.exp(-2 * kappa * PI**2 * t) * jnp.sin(PI * x[0]) * s
                + 0.5 * jnp.exp(-5 * kappa * PI**2 * t) * jnp.sin(2 * PI * x[0]) * s)  # fmt: skip

    def equation(x, u):
        return u.grad[2] - kappa * (u.hessian[0, 0] + u.hessian[1, 1])

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), time=True), equation,
                            boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Initial(exact)],
                            exact=exact, name="heat_2d")  # fmt: skip
    return Case(problem, (20, 20), 2048, exact, source="separated heat modes (PINNacle Heat 2d)")


def diffusion_reaction() -> Case:
    """u_t = u_xx + e^{-t}(3/2 sin 2x + 8/3 sin 3x + 15/4 sin 4x + 63/8 sin 8x) on
    [-π, π] × [0, 1], u(±π, t) = 0, u(x, 0) = Σ_k sin(kx)/k over k = 1, 2, 3, 4, 8;
    u = e^{-t} Σ_k sin(kx)/k.

    Source: DeepXDE examples, "Diffusion-reaction equation".
    """
    modes = (1, 2, 3, 4, 8)

    def exact(x):
        return jnp.exp(-x[1]) * sum(jnp.sin(k * x[0]) / k for k in modes)

    def equation(x, u):
        t, s = x[1], x[0]
        f = jnp.exp(-t) * (1.5 * jnp.sin(2 * s) + 8 / 3 * jnp.sin(3 * s)
                           + 15 / 4 * jnp.sin(4 * s) + 63 / 8 * jnp.sin(8 * s))  # fmt: skip
        return u.grad[1] - u.hessian[0, 0] - f

    problem = nnpde.Problem(nnpde.Box((-PI, 0.0), (PI, 1.0), time=True), equation,
                            boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Initial(exact)],
                            exact=exact, name="diffusion_reaction")  # fmt: skip
    return Case(problem, (24, 24), 2048, exact, source="DeepXDE example (diffusion-reaction)")


def reaction() -> Case:
    """u_t = ρ u(1 - u) on [0, 2π] × [0, 1], ρ = 5, periodic in x,
    u(x, 0) = h(x) = exp(-(x - π)²/(2(π/4)²)); u = h e^{ρt} / (h e^{ρt} + 1 - h).

    Source: Krishnapriyan, Gholami, Zhe, Kirby & Mahoney, "Characterizing possible failure
    modes in physics-informed neural networks", NeurIPS 2021, §4 (reaction, ρ = 5). The
    Gaussian is symmetric about π, so u is periodic but ∂u/∂x is not (it flips sign): the
    periodic condition is on u only, as in the paper.
    """
    rho = 5.0

    def h(x):
        return jnp.exp(-((x[0] - PI) ** 2) / (2 * (PI / 4) ** 2))

    def exact(x):
        e = h(x) * jnp.exp(rho * x[1])
        return e / (e + 1 - h(x))

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (2 * PI, 1.0), time=True),
                            lambda x, u: u.grad[1] - rho * u.value * (1 - u.value),
                            boundary=[nnpde.Initial(h), nnpde.Periodic(0, derivative=False)],
                            exact=exact,
                            name="reaction")  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="Krishnapriyan et al. 2021 (ρ = 5)")


def convection() -> Case:
    """u_t + β u_x = 0 on [0, 2π] × [0, 1], β = 5, periodic in x, u(x, 0) = sin x;
    u = sin(x - βt).

    Source: Krishnapriyan et al., NeurIPS 2021, §3 (convection; β = 5, where their PINN
    still trains, below the β ≥ 20 where it fails).
    """
    beta = 5.0

    def exact(x):
        return jnp.sin(x[0] - beta * x[1])

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (2 * PI, 1.0), time=True),
                            lambda x, u: u.grad[1] + beta * u.grad[0],
                            boundary=[nnpde.Initial(exact), nnpde.Periodic(0)], exact=exact,
                            name="convection")  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="Krishnapriyan et al. 2021 (β = 5)")


def advection_diffusion() -> Case:
    """u_t + a u_x = ν u_xx on [0,1] × [0,1], a = 0.5, ν = 0.01, a Gaussian pulse carried and
    spread: u = (1 + 4νt/s²)^{-1/2} exp(-(x - x0 - at)²/(s² + 4νt)), s = 0.1, x0 = 0.25;
    Dirichlet data and the initial pulse from it.

    Source: the heat kernel moving at speed a (the closed form used for advection–diffusion in
    PINNacle's and DeepXDE's time-dependent examples).
    """
    a, nu, s2, x0 = 0.5, 0.01, 0.01, 0.25

    def exact(x):
        w = s2 + 4 * nu * x[1]
        return jnp.sqrt(s2 / w) * jnp.exp(-((x[0] - x0 - a * x[1]) ** 2) / w)

    problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True),
                            lambda x, u: u.grad[1] + a * u.grad[0] - nu * u.hessian[0, 0],
                            boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact)],
                            exact=exact, name="advection_diffusion")  # fmt: skip
    return Case(problem, (20, 20), 2048, exact, source="moving heat kernel (closed form)")


def burgers_cole_hopf() -> Case:
    """u_t + u u_x = ν u_xx on [-1,1] × [0,1], ν = 0.05, the Cole–Hopf solution of
    φ = a + e^{-νπ²t} cos(πx), a = 1.5:  u = -2νφ_x/φ = 2νπ e^{-νπ²t} sin(πx) / φ;
    u(±1, t) = 0 and the initial profile from it.

    Source: Benton & Platzman, "A table of solutions of the one-dimensional Burgers equation",
    Q. Appl. Math. 30 (1972) 195-212 (Cole–Hopf with a two-term heat solution).
    """
    nu, a = 0.05, 1.5

    def exact(x):
        e = jnp.exp(-nu * PI**2 * x[1])
        return 2 * nu * PI * e * jnp.sin(PI * x[0]) / (a + e * jnp.cos(PI * x[0]))

    problem = nnpde.Problem(
        nnpde.Box((-1.0, 0.0), (1.0, 1.0), time=True),
        lambda x, u: u.grad[1] + u.value * u.grad[0] - nu * u.hessian[0, 0],
        boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Initial(exact)], exact=exact,
        name="burgers_cole_hopf",
    )  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="Benton & Platzman 1972 (Cole–Hopf)")


def burgers_front() -> Case:
    """u_t + u u_x = ν u_xx on [-1,1] × [0,1], ν = 0.05, the exact travelling viscous shock
    (nnpde's catalogue entry ``burgers``).

    Source: the Burgers travelling wave ½(1 - tanh((x - t/2)/(4ν))) (Whitham, Linear and
    Nonlinear Waves, §4.5).
    """
    problem = _from_catalogue("burgers", "burgers_front")
    return Case(problem, (20, 20), 2048, problem.exact, source="Burgers front (Whitham §4.5)")


def allen_cahn_front() -> Case:
    """u_t = ε²u_xx + u(1 - u)(u - α) on [-1,1] × [0,1], ε = 0.2, α = 0.1 (Allen–Cahn /
    Nagumo with an unbalanced cubic); the exact travelling front
    u = 1/(1 + exp(-(x - ct)/(√2ε))), c = √2ε(α - ½).

    Source: the Nagumo (Zeldovich) travelling wave, McKean, "Nagumo's equation", Adv. Math.
    4 (1970) 209-223; PINNacle and jinns pose Allen–Cahn / Fisher–KPP fronts of this kind.
    """
    eps, alpha = 0.2, 0.1
    c = math.sqrt(2) * eps * (alpha - 0.5)

    def exact(x):
        return 1 / (1 + jnp.exp(-(x[0] - c * x[1]) / (math.sqrt(2) * eps)))

    def equation(x, u):
        v = u.value
        return u.grad[1] - eps**2 * u.hessian[0, 0] - v * (1 - v) * (v - alpha)

    problem = nnpde.Problem(nnpde.Box((-1.0, 0.0), (1.0, 1.0), time=True), equation,
                            boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact)],
                            exact=exact, name="allen_cahn_front")  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="Nagumo front (McKean 1970)")


# ---- hyperbolic -------------------------------------------------------------------------------
def wave_1d() -> Case:
    """u_tt = 4 u_xx on [0,1] × [0,1], u(0,t) = u(1,t) = 0, u(x,0) = sin(πx) + ½ sin(4πx),
    u_t(x,0) = 0;  u = sin(πx) cos(2πt) + ½ sin(4πx) cos(8πt).

    Source: DeepXDE examples, wave_1d (C = 2; the problem of its multi-scale Fourier feature
    example).
    """

    def exact(x):
        return (jnp.sin(PI * x[0]) * jnp.cos(2 * PI * x[1])
                + 0.5 * jnp.sin(4 * PI * x[0]) * jnp.cos(8 * PI * x[1]))  # fmt: skip

    problem = nnpde.Problem(
        nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True),
        lambda x, u: u.hessian[1, 1] - 4 * u.hessian[0, 0],
        boundary=[nnpde.Dirichlet(lambda x: 0.0),
                  nnpde.Initial(exact, derivative=lambda x: 0.0)],
        exact=exact, name="wave_1d",
    )  # fmt: skip
    # 2×24 (NT = 697): 2048 points are 2.9 residuals per parameter, as docs/choosing.md
    # advises (2–3). With 2×32 (NT = 1185, 1.7 per parameter) seeds 0–2 gave 0.46, 1.2e-5,
    # 2.6e-5 in 97–325 s (the net swings between its points: restarts "under-resolved");
    # 2×24: 2.6e-6, 4.3e-6, 3.4e-5 in 63–85 s.
    return Case(problem, (24, 24), 2048, exact, source="DeepXDE example (wave 1D, C = 2)")


def wave_standing() -> Case:
    """u_tt = u_xx on [0,1] × [0,2], one standing mode: u = sin(πx) cos(πt), zero Dirichlet
    data, u(x,0) = sin(πx), u_t(x,0) = 0.

    Source: the fundamental mode of DeepXDE's wave example (c = 1, a full period in t).
    """

    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.cos(PI * x[1])

    problem = nnpde.Problem(
        nnpde.Box((0.0, 0.0), (1.0, 2.0), time=True),
        lambda x, u: u.hessian[1, 1] - u.hessian[0, 0],
        boundary=[nnpde.Dirichlet(lambda x: 0.0),
                  nnpde.Initial(exact, derivative=lambda x: 0.0)],
        exact=exact, name="wave_standing",
    )  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="DeepXDE wave example, fundamental mode")


def klein_gordon() -> Case:
    """u_tt - u_xx + u³ = f on [0,1] × [0,1], manufactured from u = x cos(5πt) + (xt)³, with
    Dirichlet data at x = 0, 1 and u(x,0) = x, u_t(x,0) = 0 from it.

    Source: Wang, Teng & Perdikaris, "Understanding and mitigating gradient flow pathologies in
    physics-informed neural networks", SIAM J. Sci. Comput. 43(5) (2021), §4.3 (Klein–Gordon,
    α = -1, β = 0, γ = 1, k = 3).
    """

    def exact(x):
        return x[0] * jnp.cos(5 * PI * x[1]) + (x[0] * x[1]) ** 3

    def equation(x, u):
        s, t = x[0], x[1]
        u_tt = -25 * PI**2 * s * jnp.cos(5 * PI * t) + 6 * s**3 * t
        f = u_tt - 6 * s * t**3 + exact(x) ** 3
        return u.hessian[1, 1] - u.hessian[0, 0] + u.value**3 - f

    problem = nnpde.Problem(
        nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True), equation,
        boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact, derivative=lambda x: 0.0)],
        exact=exact, name="klein_gordon",
    )  # fmt: skip
    return Case(problem, (24, 24), 2048, exact, source="Wang, Teng & Perdikaris 2021 §4.3")


# ---- ODEs and ODE systems ---------------------------------------------------------------------
def lagaris_ode1() -> Case:
    """ψ' + (x + q)ψ = x³ + 2x + x²q, q = (1 + 3x²)/(1 + x + x³), ψ(0) = 1 on [0, 1].

    Source: Lagaris et al. 1998, Problem 1 (nnpde's catalogue entry).
    """
    problem = catalogue.lagaris_ode1().problem
    return Case(problem, (16, 16), 512, problem.exact, source="Lagaris et al. 1998, Problem 1")


def lagaris_ode4() -> Case:
    """Lagaris et al.'s system of two nonlinear ODEs on [0, 3]; ψ1 = sin x, ψ2 = 1 + x².

    Source: Lagaris et al. 1998, Problem 4 (nnpde's catalogue entry).
    """
    problem = catalogue.lagaris_ode4().problem
    # 1024 points (3.2 residuals per parameter, as stiff_linear_system and lotka_volterra):
    # at 512 seed 1 ends at 2.2e-4; at 1024 seed 3 swings between the points (validation
    # ratio 1.2e4, rel-L2 7.9e-2), which solve's validation now flags and restarts
    # (robustness-ode4-cpu.md).
    return Case(problem, (16, 16), 1024, problem.exact, source="Lagaris et al. 1998, Problem 4")


def oscillator_problem(om: float, zeta: float, horizon: float, name: str):
    """(the Problem, its exact solution) of u'' + 2ζω u' + ω²u = 0 on [0, horizon],
    u(0) = 1, u'(0) = 0 (underdamped: ζ < 1)."""
    om_d = om * math.sqrt(1 - zeta**2)

    def exact(x):
        t = x[0]
        return jnp.exp(-zeta * om * t) * (jnp.cos(om_d * t) + zeta * om / om_d * jnp.sin(om_d * t))

    problem = nnpde.Problem(
        nnpde.Interval(0.0, horizon),
        lambda x, u: u.laplacian + 2 * zeta * om * u.grad[0] + om**2 * u.value,
        boundary=[nnpde.Initial(lambda x: 1.0, derivative=lambda x: 0.0)], exact=exact,
        name=name,
    )  # fmt: skip
    return problem, exact


def damped_oscillator() -> Case:
    """u'' + 2ζω u' + ω²u = 0 on [0, 3], ω = 2π, ζ = 0.1, u(0) = 1, u'(0) = 0;
    u = e^{-ζωt}(cos ω_d t + (ζω/ω_d) sin ω_d t), ω_d = ω√(1 - ζ²) (three periods).

    Source: the classical closed form of the underdamped oscillator (a staple of PINN
    tutorials); second order in time.
    """
    problem, exact = oscillator_problem(2 * PI, 0.1, 3.0, "damped_oscillator")
    return Case(problem, (16, 16), 512, exact, source="damped harmonic oscillator (closed form)")


def logistic() -> Case:
    """u' = u(1 - u) on [0, 10], u(0) = 0.1 (Verhulst's logistic growth); u = 1/(1 + 9e^{-t}).

    Source: Verhulst 1838, the textbook nonlinear IVP (an unstable equilibrium u = 0 beside the
    stable u = 1, on a horizon of ten growth times). Added after it failed with the defaults
    when it was first tried as a held-out problem: 2 of 5 seeds at rel-L2 ≈ 1 (the net decays
    to u = 0), the others only after 3–4 restarts; first-layer hyperplanes spread over the
    domain fixed it (``nnpde.solve``, ``benchmarks/results/robustness-spread-cpu.md``).
    """

    def exact(x):
        return 1.0 / (1.0 + 9.0 * jnp.exp(-x[0]))

    problem = nnpde.Problem(nnpde.Interval(0.0, 10.0),
                            lambda x, u: u.grad[0] - u.value * (1.0 - u.value),
                            boundary=[nnpde.Initial(lambda x: 0.1)], exact=exact,
                            name="logistic")  # fmt: skip
    return Case(problem, (16, 16), 512, exact, source="Verhulst 1838 (logistic equation)")


def prothero_robinson() -> Case:
    """y' = -λ(y - cos t) - sin t on [0, 2], y(0) = 2, λ = 20 (stiff); y = cos t + e^{-λt}.

    Source: Prothero & Robinson, "On the stability and accuracy of one-step methods for
    solving stiff systems of ordinary differential equations", Math. Comp. 28 (1974) 145-162.
    """
    lam = 20.0

    def exact(x):
        return jnp.cos(x[0]) + jnp.exp(-lam * x[0])

    problem = nnpde.Problem(
        nnpde.Interval(0.0, 2.0),
        lambda x, u: u.grad[0] + lam * (u.value - jnp.cos(x[0])) + jnp.sin(x[0]),
        boundary=[nnpde.Initial(lambda x: 2.0)], exact=exact, name="prothero_robinson",
    )  # fmt: skip
    return Case(problem, (16, 16), 512, exact, source="Prothero & Robinson 1974 (λ = 20)")


def stiff_linear_system() -> Case:
    """u' = (λ-2)u + (2λ-2)v, v' = (1-λ)u + (1-2λ)v on [0, 1], u(0) = 1, v(0) = 0, λ = 50;
    u = 2e^{-t} - e^{-λt}, v = -e^{-t} + e^{-λt} (eigenvalues -1 and -λ).

    Source: the classic stiff linear system of Hairer & Wanner, Solving ODEs II, §IV.1 (there
    λ = 1000: u' = 998u + 1998v, v' = -999u - 1999v); λ = 50 keeps the layer resolvable.
    """
    lam = 50.0

    def exact(x):
        e1, e2 = jnp.exp(-x[0]), jnp.exp(-lam * x[0])
        return jnp.stack([2 * e1 - e2, -e1 + e2])

    def equation(x, u):
        U, V = u
        return jnp.stack([U.grad[0] - (lam - 2) * U.value - (2 * lam - 2) * V.value,
                          V.grad[0] - (1 - lam) * U.value - (1 - 2 * lam) * V.value])  # fmt: skip

    problem = nnpde.Problem(nnpde.Interval(0.0, 1.0), equation, components=2,
                            boundary=[nnpde.Initial(lambda x: 1.0, component=0),
                                      nnpde.Initial(lambda x: 0.0, component=1)],
                            exact=exact, name="stiff_linear_system")  # fmt: skip
    # Two networks of 2×16 (NT = 640): 1024 points are 3.2 residuals per parameter, as
    # docs/choosing.md advises (2–3). With 512 (1.6 per parameter) 5 of 10 seeds ended
    # above 1e-6: the residual between the points was 17–276× the one at them (seeds 1, 3, 6:
    # 2.6e-5, 1.3e-5, 2.3e-5; with 1024 points 1.8e-7, 1.5e-7, 4.6e-8).
    return Case(problem, (16, 16), 1024, exact, source="Hairer & Wanner II §IV.1 (λ = 50)")


_LV = {"a": 1.0, "b": 0.1, "c": 1.5, "d": 0.75, "x0": 10.0, "y0": 5.0, "T": 5.0}
_LV_TABLE = 4001  # nodes of the Hermite table: h = 1.25e-3, interpolation error ~1e-11


def _lv_rhs(y, p=_LV):
    x, z = y[0], y[1]
    return np.array([p["a"] * x - p["b"] * x * z, -p["c"] * z + p["d"] * p["b"] * x * z])


def ode_table(rhs: Callable, y0, t_end: float, nodes: int, tol: float, name: str):
    """y' = rhs(y) from y(0) = y0 integrated by scipy's DOP853 (rtol = atol = ``tol``) to
    ``t_end``: equidistant nodes t (nodes,), values y (nodes, K) and slopes rhs(y) (nodes, K),
    the table of :func:`hermite_interpolant`. scipy is imported here only (it is not a
    dependency of nnpde).

    Raises:
      RuntimeError: the integration failed (``name`` says which reference).
    """
    from scipy.integrate import solve_ivp

    t = np.linspace(0.0, t_end, nodes)
    sol = solve_ivp(lambda s, y: rhs(y), (0.0, t_end), list(y0), method="DOP853", t_eval=t,
                    rtol=tol, atol=tol)  # fmt: skip
    if not sol.success:
        raise RuntimeError(f"the {name} reference failed: {sol.message}")
    y = sol.y.T
    return t, y, np.stack([np.asarray(rhs(row)) for row in y])


def _lv_table():
    """Lotka–Volterra integrated once (:func:`ode_table`, rtol = atol = 1e-12)."""
    return ode_table(_lv_rhs, [_LV["x0"], _LV["y0"]], _LV["T"], _LV_TABLE, 1e-12,
                     "Lotka–Volterra")  # fmt: skip


def hermite_interpolant(t_nodes: np.ndarray, y: np.ndarray, dy: np.ndarray) -> Callable:
    """The cubic Hermite interpolant of values y (n, K) and slopes dy (n, K) at equidistant
    nodes (n,), as a jnp function of one point x (1,) -> (K,), differentiable by autodiff."""
    t0, h = float(t_nodes[0]), float(t_nodes[1] - t_nodes[0])
    y, dy = jnp.asarray(y), jnp.asarray(dy)
    last = len(t_nodes) - 2

    def interp(x):
        s = (x[0] - t0) / h
        i = jnp.clip(jnp.floor(s).astype(jnp.int32), 0, last)
        r = s - i
        h00, h10 = 2 * r**3 - 3 * r**2 + 1, r**3 - 2 * r**2 + r
        h01, h11 = -2 * r**3 + 3 * r**2, r**3 - r**2
        return h00 * y[i] + h10 * h * dy[i] + h01 * y[i + 1] + h11 * h * dy[i + 1]

    return interp


def lotka_volterra() -> Case:
    """x' = a x - b x y, y' = -c y + d b x y on [0, 5], (a, b, c, d) = (1, 0.1, 1.5, 0.75),
    x(0) = 10, y(0) = 5 (about one period of the predator–prey cycle).

    Source: the SciPy Cookbook's Lotka–Volterra tutorial (same coefficients and initial
    populations); jinns' "Generalized Lotka–Volterra" example poses the same system. No closed
    form: the reference is scipy's DOP853 at rtol 1e-12, interpolated (cubic Hermite, 4001
    nodes).
    """
    p = _LV
    reference = hermite_interpolant(*_lv_table())

    def equation(x, u):
        X, Y = u
        xy = X.value * Y.value
        return jnp.stack([X.grad[0] - p["a"] * X.value + p["b"] * xy,
                          Y.grad[0] + p["c"] * Y.value - p["d"] * p["b"] * xy])  # fmt: skip

    problem = nnpde.Problem(nnpde.Interval(0.0, p["T"]), equation, components=2,
                            boundary=[nnpde.Initial(lambda x: p["x0"], component=0),
                                      nnpde.Initial(lambda x: p["y0"], component=1)],
                            exact=reference, name="lotka_volterra")  # fmt: skip
    # Two networks of 2×16: 1024 points, 3.2 residuals per parameter (see stiff_linear_system).
    return Case(problem, (16, 16), 1024, reference, source="SciPy Cookbook Lotka–Volterra")


# ---- Navier–Stokes ----------------------------------------------------------------------------
def kovasznay() -> Case:
    """Steady incompressible Navier–Stokes, Re = 20, on [-0.5, 1] × [-0.5, 1.5], Kovasznay's
    exact flow: u = 1 - e^{λx} cos 2πy, v = λ/(2π) e^{λx} sin 2πy, p = ½(1 - e^{2λx}),
    λ = Re/2 - √(Re²/4 + 4π²). Components (u, v, p); u and v Dirichlet on the whole boundary,
    p on x = 1 (as in DeepXDE's example).

    Source: Kovasznay, "Laminar flow behind a two-dimensional grid", Proc. Camb. Phil. Soc. 44
    (1948) 58-62; DeepXDE examples, "Kovasznay flow".
    """
    exact, equation = flows.kovasznay_exact, flows.kovasznay_equation  # Re = 20

    problem = nnpde.Problem(
        nnpde.Box((-0.5, -0.5), (1.0, 1.5)), equation, components=3,
        boundary=[nnpde.Dirichlet(lambda x: exact(x)[0], component=0),
                  nnpde.Dirichlet(lambda x: exact(x)[1], component=1),
                  nnpde.Dirichlet(lambda x: exact(x)[2], where="right", component=2)],
        exact=exact, name="kovasznay",
    )  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, source="Kovasznay 1948; DeepXDE example")


# ---- inverse problems -------------------------------------------------------------------------
def inverse_poisson_kappa() -> Case:
    """-κΔu = 2κ*π² sin(πx) sin(πy) on [0,1]², u = 0 on the boundary, κ unknown (κ* = 2,
    initial guess 1), identified from 60 observations of u at Sobol' points (exact values,
    the default data weight).

    Source: the inverse Poisson coefficient problem of DeepXDE's and jinns' inverse examples
    (the issue's "one diffusion coefficient from 60 interior observations").
    """
    kappa = 2.0

    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1])

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    x_obs = box.sample(60, key=jax.random.key(2023), method="halton")
    u_obs = np.asarray(jax.vmap(exact)(jnp.asarray(x_obs)))
    problem = nnpde.Problem(
        box, lambda x, u, p: -p["kappa"] * u.laplacian - kappa * 2 * PI**2 * exact(x),
        boundary=[nnpde.Dirichlet(lambda x: 0.0)], params={"kappa": 1.0},
        data=(x_obs, u_obs), exact=exact, name="inverse_poisson_kappa",
    )  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, params={"kappa": kappa},
                source="DeepXDE/jinns inverse Poisson coefficient")  # fmt: skip


def inverse_diffusion() -> Case:
    """u_t = C u_xx - e^{-t}(sin πx - π² sin πx) on [-1,1] × [0,1], u(±1,t) = 0,
    u(x,0) = sin πx, C unknown (C* = 1, initial guess 2), observed at 10 points x =
    linspace(-1, 1, 10) at t = 1; u = e^{-t} sin πx.

    Source: DeepXDE examples, "Inverse problem for the diffusion equation".
    """

    def exact(x):
        return jnp.exp(-x[1]) * jnp.sin(PI * x[0])

    def equation(x, u, p):
        f = -jnp.exp(-x[1]) * (jnp.sin(PI * x[0]) - PI**2 * jnp.sin(PI * x[0]))
        return u.grad[1] - p["C"] * u.hessian[0, 0] - f

    x_obs = np.stack([np.linspace(-1, 1, 10), np.ones(10)], axis=1)
    u_obs = np.asarray(jax.vmap(exact)(jnp.asarray(x_obs)))
    problem = nnpde.Problem(
        nnpde.Box((-1.0, 0.0), (1.0, 1.0), time=True), equation,
        boundary=[nnpde.Dirichlet(lambda x: 0.0), nnpde.Initial(exact)], params={"C": 2.0},
        data=(x_obs, u_obs), exact=exact, name="inverse_diffusion",
    )  # fmt: skip
    return Case(problem, (16, 16), 1024, exact, params={"C": 1.0},
                source="DeepXDE example (inverse diffusion)")  # fmt: skip


PROBLEMS: dict[str, Callable[[], Case]] = {
    f.__name__: f
    for f in (
        poisson_2d_sinsin, lagaris_pde1, lagaris_pde3, poisson_3d, poisson_5d, poisson_1d_robin,
        laplace_disk, bratu_1d, nonlinear_diffusion_2d, allen_cahn_kink, helmholtz_2d, heat_1d,
        heat_2d, diffusion_reaction, reaction, convection, advection_diffusion,
        burgers_cole_hopf, burgers_front, allen_cahn_front, wave_1d, wave_standing,
        klein_gordon, lagaris_ode1, lagaris_ode4, damped_oscillator, logistic,
        prothero_robinson,
        stiff_linear_system, lotka_volterra, kovasznay, inverse_poisson_kappa,
        inverse_diffusion,
    )
}  # fmt: skip
