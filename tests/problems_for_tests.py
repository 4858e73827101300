"""Small problems with exact solutions shared by the collocation tests."""

import jax
import jax.numpy as jnp

import nnpde

PI = jnp.pi


def lagaris_pde1():
    """Lagaris et al. (1998) PDE problem 1: ∇²ψ = e^{-x}(x - 2 + y³ + 6y), Dirichlet data (the
    catalogue's)."""
    return nnpde.problems.lagaris_pde1().problem


def _manufactured(u_exact):
    lap = lambda x: jnp.trace(jax.hessian(u_exact)(x))  # noqa: E731
    return lap


def nonlinear_poisson():
    """Δu = u³ + f on [0,1]², manufactured from u = sin(πx) sin(πy) + xy, Dirichlet data."""

    def exact(x):
        return jnp.sin(PI * x[0]) * jnp.sin(PI * x[1]) + x[0] * x[1]

    lap = _manufactured(exact)

    def equation(x, u):
        return u.laplacian - u.value**3 - (lap(x) - exact(x) ** 3)

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    return nnpde.Problem(box, equation, boundary=[nnpde.Dirichlet(exact)], exact=exact)


def mixed_nonlinear():
    """A nonlinear equation using every jet field, with Dirichlet, Neumann and Robin parts."""

    def exact(x):
        return jnp.exp(-x[0]) * (x[0] + x[1] ** 3)

    grad = jax.grad(exact)

    def equation(x, u):
        return u.laplacian * u.value + u.grad[0] * u.hessian[0, 1] + jnp.sin(u.value) - x[0]

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    boundary = [
        nnpde.Dirichlet(exact, where="x0_min"),
        nnpde.Dirichlet(exact, where="x1_min"),
        nnpde.Neumann(lambda x: grad(x)[0], where="x0_max", weight=2.0),
        nnpde.Robin(1.0, 0.5, lambda x: exact(x) + 0.5 * grad(x)[1], where="top"),
    ]
    return nnpde.Problem(box, equation, boundary=boundary, exact=exact)


def heat():
    """u_t = u_xx / π² on x ∈ [0,1], t ∈ [0,1]; exact e^{-t} sin(πx); Dirichlet + initial."""

    def exact(x):
        return jnp.exp(-x[1]) * jnp.sin(PI * x[0])

    def equation(x, u):
        return u.grad[1] - u.hessian[0, 0] / PI**2

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0), time=True)
    return nnpde.Problem(
        box, equation, boundary=[nnpde.Dirichlet(exact), nnpde.Initial(exact)], exact=exact
    )


def lagaris_ode1():
    """Lagaris et al. (1998) ODE problem 1, an initial-value problem on [0, 1] (the catalogue's)."""
    return nnpde.problems.lagaris_ode1().problem


def disk_poisson():
    """-Δu = 1 on the unit disk with Dirichlet data by penalty; exact 1 - r²/4 + x/10."""

    def exact(x):
        return 1 - (x[0] ** 2 + x[1] ** 2) / 4 + 0.1 * x[0]

    return nnpde.Problem(
        nnpde.Disk((0.0, 0.0), 1.0),
        lambda x, u: u.laplacian + 1.0,
        # a predicate where: a penalty (Dirichlet(exact) alone is exact on a Disk, A = exact)
        boundary=[nnpde.Dirichlet(exact, where=lambda x: True)],
        exact=exact,
    )


def coupled_system():
    """Every kind of residual block of the collocation model at once: two unknowns, E = 2
    equations using every jet field, two coefficients, a Dirichlet condition imposed exactly,
    a Neumann condition on a list of faces, a periodic condition and observations of one
    component at a time (no exact solution: for Jacobian and sharding checks)."""

    def equation(x, u, p):
        U, V = u
        return jnp.stack([-p["a"] * U.laplacian + V.value ** 2 - 1.0,
                          -V.hessian[0, 1] + U.grad[0] * V.value - p["b"] * x[0]])  # fmt: skip

    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    return nnpde.Problem(
        box, equation, components=2, params={"a": 1.5, "b": -0.5},
        boundary=[nnpde.Dirichlet(lambda x: x[0], component=0),
                  nnpde.Neumann(lambda x: 0.1, where=["left", "top"], component=1),
                  nnpde.Periodic(0, component=1, points=5)],
        data=[nnpde.Data([[0.3, 0.3], [0.7, 0.4], [0.2, 0.9]], [1.0, 0.5, -0.2], component=1,
                         weight=2.0),
              nnpde.Data([[0.6, 0.2]], [0.5], component=0)],
    )  # fmt: skip
