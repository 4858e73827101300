"""Differential-equation problems: the pointwise equation, boundary conditions and exact solution.

An equation is written for ONE point: ``equation(x, u) -> residual`` (a scalar), where ``x`` has
shape (D,) and ``u`` is a :class:`Jet` holding the local values of the solution. Any
second-order equation, linear or not, fits; ODEs are D = 1.

    >>> import jax.numpy as jnp
    >>> import nnpde
    >>> poisson = nnpde.Problem(
    ...     nnpde.Box((0.0, 0.0), (1.0, 1.0)),
    ...     lambda x, u: u.laplacian + jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1]),
    ...     boundary=[nnpde.Dirichlet(lambda x: 0.0)],
    ... )
    >>> poisson.dim
    2
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Dirichlet", "Initial", "Jet", "Neumann", "Problem", "Robin"]

Array = jax.Array


class Jet(NamedTuple):
    """The solution's local jet at one point: what an ``equation`` receives as ``u``."""

    value: Array  # shape=()       u(x)
    grad: Array  # shape=(D,)      ∇u(x)
    hessian: Array  # shape=(D, D) ∇²u(x)
    laplacian: Array  # shape=()   Δu(x) (the trace of ``hessian``, given separately)


def _where_ok(where, cls: str):
    if where is None or isinstance(where, str) or callable(where):
        return where
    raise TypeError(
        f"{cls}: where must be None (whole boundary), a face name or a predicate of a point, "
        f"got {type(where).__name__}"
    )


def _value_ok(value, name: str, cls: str):
    if not callable(value):
        raise TypeError(f"{cls}: {name} must be a callable of one point x (D,), got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Dirichlet:
    """u = value(x) on the faces ``where`` (None: the whole boundary).

    On a ``Box``/``Interval`` it is imposed exactly by the trial solution; elsewhere (``Disk``,
    a predicate ``where``) by a weighted penalty residual ψ - value.
    """

    value: Callable
    where: Any = None
    weight: float = 1.0

    def __post_init__(self):
        _value_ok(self.value, "value", "Dirichlet")
        _where_ok(self.where, "Dirichlet")


@dataclasses.dataclass(frozen=True)
class Neumann:
    """n·∇u = flux(x) on ``where`` (outward normal n), as a weighted penalty residual."""

    flux: Callable
    where: Any = None
    weight: float = 1.0

    def __post_init__(self):
        _value_ok(self.flux, "flux", "Neumann")
        _where_ok(self.where, "Neumann")


@dataclasses.dataclass(frozen=True)
class Robin:
    """alpha u + beta n·∇u = value(x) on ``where``, as a weighted penalty residual."""

    alpha: float
    beta: float
    value: Callable
    where: Any = None
    weight: float = 1.0

    def __post_init__(self):
        _value_ok(self.value, "value", "Robin")
        _where_ok(self.where, "Robin")


@dataclasses.dataclass(frozen=True)
class Initial:
    """u = value(x) at the initial face (t = t0 of a ``Box(..., time=True)``, or the left end
    of an ``Interval``), and optionally ∂u/∂t = derivative(x) there (second order in time).
    Imposed exactly by the trial solution."""

    value: Callable
    derivative: Callable | None = None

    def __post_init__(self):
        _value_ok(self.value, "value", "Initial")
        if self.derivative is not None:
            _value_ok(self.derivative, "derivative", "Initial")


BoundaryCondition = Dirichlet | Neumann | Robin | Initial


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """A differential equation on a domain, with boundary conditions and, optionally, its exact
    solution.

    Args:
      domain: an ``Interval``, ``Box`` or ``Disk``.
      equation: ``equation(x, u) -> residual`` for one point x (D,) and ``u`` a :class:`Jet`;
        the residual must be a scalar and is driven to zero.
      boundary: boundary conditions (``Dirichlet``, ``Neumann``, ``Robin``, ``Initial``).
      exact: optional exact solution ``exact(x) -> scalar`` for one point, for error reports.
      name: a label for reports.
      trial: optional ``(A, B)``, callables of one point, to use ψ = A + B N instead of the
        trial solution built from the Dirichlet/initial data.
    """

    domain: Any
    equation: Callable
    boundary: tuple = ()
    exact: Callable | None = None
    name: str = "problem"
    trial: tuple | None = None

    def __post_init__(self):
        if not callable(self.equation):
            raise TypeError(f"Problem: equation must be callable, got {self.equation!r}")
        boundary = tuple(self.boundary) if isinstance(self.boundary, (list, tuple)) else None
        if boundary is None:
            raise TypeError("Problem: boundary must be a list or tuple of boundary conditions")
        for bc in boundary:
            if not isinstance(bc, (Dirichlet, Neumann, Robin, Initial)):
                raise TypeError(
                    "Problem: each boundary condition must be Dirichlet, Neumann, Robin or "
                    f"Initial, got {type(bc).__name__}"
                )
            where = getattr(bc, "where", None)
            if isinstance(where, str):
                self.domain.canonical_face(where)  # raises ValueError naming the faces
        if self.exact is not None and not callable(self.exact):
            raise TypeError("Problem: exact must be a callable of one point, or None")
        if self.trial is not None and (len(self.trial) != 2 or not all(map(callable, self.trial))):
            raise TypeError("Problem: trial must be a pair (A, B) of callables of one point")
        object.__setattr__(self, "boundary", boundary)

    @property
    def dim(self) -> int:
        """D, the number of coordinates."""
        return self.domain.dim


def jet_of(fn: Callable, x: Array) -> Jet:
    """The Jet of a scalar function of one point, by autodiff (for A, B and exact solutions)."""
    value = fn(x)
    grad = jax.grad(fn)(x)
    hess = jax.hessian(fn)(x)
    return Jet(jnp.asarray(value, x.dtype), grad, hess, jnp.trace(hess))
