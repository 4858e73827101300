"""Too few conditions for the order of the equation: a warning before a run that would end
``converged`` at one of many solutions.

An equation of order n in the coordinate x_i on a ``Box`` (or ``Interval``) needs n conditions
on the faces of that axis: u_t + 6uu_x + u_xxx = 0 with the values at both ends of x only (2 of
3) has a family of solutions, and ``solve`` ends ``converged`` at one of them — the held-out
KdV soliton (`benchmarks/heldout_round9.py`, 2×20, seeds 0–4) at rel-L2 6.7e-6 … 5.1e-5, the
catalogue's ``kdv`` at max-abs 1e-4 with a loss of 1e-17; with u_x at one end as well,
4.7e-10 … 3.2e-9. :func:`missing_conditions` counts, per axis on which the equation reads a
partial of order ≥ 3, the conditions on that axis's faces (each face a condition covers counts
once, an ``Initial`` once more for its derivative, a ``Periodic`` axis as enough) and says
which axes fall short; ``solve`` warns with :class:`~nnpde.UnderdeterminedWarning`.

Scope: one unknown on a ``Box``/``Interval``, no coefficients or observations, no user trial
solution and no predicate ``where`` (the count is then unknown, and nothing is said); a
``Periodic`` axis is never short. Orders 1 and 2 are left out: the equation reads them through
``u.grad``, ``u.hessian`` and ``u.laplacian``, whose entries one trace does not tell apart, so
a heat equation (second order in x, first in t, one condition in t) would count as second order
in t.
"""

from __future__ import annotations

import jax.numpy as jnp

from nnpde.problem import Initial, Periodic, Problem, named_faces
from nnpde.trial import initial_axis

__all__ = ["missing_conditions"]


def equation_orders(problem: Problem, dtype=None, high=None) -> dict[int, int]:
    """{axis: the highest order of a partial in that axis of order ≥ 3 the equation reads}.

    ``high``: the partials of order 3-4 the equation reads (a model's
    ``HighOrderCollocation.interior.high``); by default found by one trace,
    :func:`nnpde.high_order.reads` ({} when the equation cannot be traced: the regular checks
    then name the problem)."""
    if high is None:
        from nnpde.high_order import reads

        dtype = jnp.zeros((), float).dtype if dtype is None else dtype
        try:
            high = reads(problem.equation, "the equation", problem.dim, dtype)[1]
        except Exception:  # the model's checks report a bad equation
            return {}
    orders: dict[int, int] = {}
    for alpha in high:
        for i in set(alpha):
            orders[i] = max(orders.get(i, 0), alpha.count(i))
    return {i: n for i, n in orders.items() if n >= 3}


def condition_counts(problem: Problem, axes) -> dict[int, int] | None:
    """{axis: conditions on its faces} for the listed axes (a ``Periodic`` axis counts as
    enough: a large number), or None when a condition's faces are a predicate."""
    domain = problem.domain
    have = dict.fromkeys(axes, 0)
    t_axis = initial_axis(domain)
    for bc in problem.boundary:
        if isinstance(bc, Periodic):
            if bc.axis in have:
                have[bc.axis] = 1 << 30
        elif isinstance(bc, Initial):
            if t_axis in have:
                have[t_axis] += 1 + (bc.derivative is not None)
        elif callable(bc.where):
            return None
        else:
            faces = named_faces(domain, bc.where)
            for face in domain.spatial_faces if faces is None else faces:
                axis = domain.face_axis(face)[0]
                if axis in have:
                    have[axis] += 1
    return have


def missing_conditions(problem: Problem, dtype=None, high=None) -> str | None:
    """What is missing, in words, when an axis has fewer conditions than the equation's order
    in it (orders ≥ 3 on a ``Box``/``Interval``, see the module docstring); else None.
    ``high`` as for :func:`equation_orders` (``solve`` passes its model's, so that the
    equation is not traced again).

    Example:
      >>> import jax.numpy as jnp, nnpde
      >>> kdv = lambda x, u: u.grad[1] + 6 * u.value * u.grad[0] + u.partial(0, 0, 0)
      >>> box = nnpde.Box((-4.0, 0.0), (4.0, 1.0), time=True)
      >>> p = nnpde.Problem(box, kdv, boundary=[nnpde.Dirichlet(lambda x: 0.0),
      ...                                       nnpde.Initial(lambda x: 0.0)])
      >>> missing_conditions(p, jnp.float64)
      'the equation is of order 3 in x0 but 2 conditions are given on its faces'
    """
    domain = problem.domain
    if (problem.components != 1 or problem.params or problem.data is not None
            or problem.trial is not None or not hasattr(domain, "face_axis")):  # fmt: skip
        return None
    need = equation_orders(problem, dtype, high)
    have = condition_counts(problem, need) if need else None
    if not have:
        return None
    short = [f"of order {need[i]} in {domain._axis_name(i)} but {have[i]} condition"
             f"{'s are' if have[i] != 1 else ' is'} given on its faces"
             for i in sorted(need) if have[i] < need[i]]  # fmt: skip
    return ("the equation is " + "; ".join(short)) if short else None
