"""Systems, inverse problems, observations and periodic conditions: the names of the older API.

There is one collocation model for any number of unknowns, :class:`nnpde.collocation.Collocation`
(K = 1 is its special case); it handles unknown coefficients (``Problem(params=...)``),
observations (:class:`nnpde.Data`) and :class:`~nnpde.Periodic` conditions alike. This module
keeps the names that code written for the separate system model imports.
"""

from __future__ import annotations

import jax.numpy as jnp

from nnpde.collocation import Collocation, CollocationData, component_problem, make_collocation
from nnpde.problem import Problem

__all__ = ["SystemCollocation", "SystemData", "make_system"]

SystemCollocation = Collocation
SystemData = CollocationData
_component_problem = component_problem


def make_system(problem: Problem, net, x, *, boundary_points: int | None = None, key=None,
                backend: str = "kernels", dtype=None):  # fmt: skip
    """(:class:`~nnpde.collocation.Collocation`, its data, the coefficients' initial values φ
    (m,)): :func:`~nnpde.collocation.make_collocation` plus φ, Θ's last m entries."""
    col, data = make_collocation(problem, net, x, boundary_points=boundary_points, key=key,
                                 backend=backend, dtype=dtype)  # fmt: skip
    phi = jnp.asarray([problem.params[n] for n in problem.param_names], data.x.dtype)
    return col, data, phi
