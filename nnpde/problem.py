"""Differential-equation problems: the pointwise equation, boundary conditions and exact solution.

An equation is written for ONE point: ``equation(x, u) -> residual`` (a scalar), where ``x`` has
shape (D,) and ``u`` is a :class:`Jet` holding the local values of the solution. Any
second-order equation, linear or not, fits; ODEs are D = 1. Problems with one unknown may read
partials up to fourth order too, ``u.partial(0, 0, 0, 0)`` (:mod:`nnpde.high_order`).

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
import itertools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Data", "Dirichlet", "Initial", "Jet", "Neumann", "OperatorBC", "Periodic", "Problem",
           "Robin"]

Array = jax.Array


#: The highest order of ``Jet.partial``.
MAX_PARTIAL_ORDER = 4


class Jet(NamedTuple):
    """The solution's local jet at one point: what an ``equation`` receives as ``u``.

    ``u.partial(*axes)`` is any mixed partial derivative up to fourth order, e.g.
    ``u.partial(0, 0, 0, 0)`` (d⁴u/dx⁴ in 1-D), ``u.partial(0, 0, 1, 1)`` (∂⁴u/∂x²∂y²),
    ``u.partial(0, 1)`` (= ``u.hessian[0, 1]``). Only the partials an equation (or an
    :class:`OperatorBC`) reads are computed: those of order 3 and 4 live in ``high``.
    """

    value: Array  # shape=()       u(x)
    grad: Array  # shape=(D,)      ∇u(x)
    hessian: Array  # shape=(D, D) ∇²u(x)
    laplacian: Array  # shape=()   Δu(x) (the trace of ``hessian``, given separately)
    high: Any = None  # {sorted axes: shape ()}: the partials of order 3-4 that are read

    def partial(self, *axes) -> Array:
        """∂^n u / ∂x_{axes[0]} ... ∂x_{axes[n-1]} for n = len(axes) <= 4 (order of the axes
        does not matter); ``u.partial()`` is ``u.value``.

        Raises:
          ValueError: an axis out of 0..D-1, more than four axes, or a third/fourth-order
            partial on a Jet that does not hold it (problems with several unknowns, params,
            data or periodic conditions get derivatives up to order 2 only).
        """
        dim = self.grad.shape[-1] if hasattr(self.grad, "shape") else None
        for i in axes:
            if (
                isinstance(i, bool)
                or not isinstance(i, (int, np.integer))
                or (dim is not None and not 0 <= i < dim)
            ):
                raise ValueError(f"u.partial{tuple(axes)}: each axis must be an int in "
                                 f"0..{(dim or 1) - 1}, got {i!r}")  # fmt: skip
        key = tuple(sorted(int(i) for i in axes))
        if len(key) > MAX_PARTIAL_ORDER:
            raise ValueError(f"u.partial{key}: partial derivatives up to order "
                             f"{MAX_PARTIAL_ORDER} are available, got {len(key)}")  # fmt: skip
        if len(key) == 0:
            return self.value
        if len(key) == 1:
            return self.grad[key[0]]
        if len(key) == 2:
            return self.hessian[key[0], key[1]]
        if self.high is None or key not in self.high:
            raise ValueError(
                f"u.partial{key}: this Jet holds derivatives up to order 2. Partials of "
                "order 3 and 4 are computed for problems with one unknown and no params, "
                "data or Periodic conditions (nnpde.solve with a TwoLayerNet or an MLP)"
            )
        return self.high[key]


def _where_ok(obj, cls: str) -> None:
    """Checks ``obj.where`` and stores a list of face names as a tuple (hashable)."""
    where = obj.where
    if isinstance(where, (list, tuple)):
        if not where or not all(isinstance(f, str) for f in where):
            raise TypeError(f"{cls}: where must be a non-empty list of face names, got {where!r}")
        object.__setattr__(obj, "where", tuple(where))
        return
    if where is None or isinstance(where, str) or callable(where):
        return
    raise TypeError(
        f"{cls}: where must be None (whole boundary), a face name, a list of face names or a "
        f"predicate of a point, got {type(where).__name__}"
    )


def _points_ok(points, cls: str) -> None:
    if points is None:
        return
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ValueError(f"{cls}: points must be a positive int or None, got {points!r}")


def named_faces(domain, where) -> tuple[str, ...] | None:
    """The canonical names of the faces ``where`` names (a face or a list of faces), or None
    when ``where`` is None (the whole boundary) or a predicate."""
    if isinstance(where, str):
        return (domain.canonical_face(where),)
    if isinstance(where, tuple):
        return tuple(dict.fromkeys(domain.canonical_face(f) for f in where))
    return None


def _value_ok(value, name: str, cls: str):
    if not callable(value):
        raise TypeError(f"{cls}: {name} must be a callable of one point x (D,), got {value!r}")
    return value


def _number_ok(value, name: str, cls: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{cls}: {name} must be a finite number, got {value!r}")


def _component_ok(component, cls: str):
    if isinstance(component, bool) or not isinstance(component, int) or component < 0:
        raise ValueError(f"{cls}: component must be an int >= 0, got {component!r}")


@dataclasses.dataclass(frozen=True)
class Periodic:
    """u(x) = u(x + L e_axis) between the lower and upper faces of ``axis`` of a ``Box``, and,
    with ``derivative=True`` (needed by second-order equations), ∂u/∂x_axis likewise: weighted
    penalty residuals at matched point pairs on the two faces.

    ``points``: the number of point pairs on the lower face (None: ``solve``'s
    ``boundary_points``)."""

    axis: int
    weight: float = 1.0
    derivative: bool = True
    component: int = 0
    points: int | None = None

    def __post_init__(self):
        _component_ok(self.component, "Periodic")
        _points_ok(self.points, "Periodic")
        if isinstance(self.axis, bool) or not isinstance(self.axis, int) or self.axis < 0:
            raise ValueError(f"Periodic: axis must be an int >= 0, got {self.axis!r}")


@dataclasses.dataclass(frozen=True)
class Dirichlet:
    """u = value(x) on the faces ``where``.

    ``where`` is None (the whole boundary; on a ``Box(..., time=True)`` its spatial faces, not
    t = t0 or t1), a face name (``"x0_min"``, or an alias such as
    ``"left"``), a list of face names (``["x0_min", "x1_max"]``) or a predicate of one
    point (D,) -> bool. ``points`` is the number of boundary points of this condition when
    it is a penalty (None: ``solve``'s ``boundary_points``); they are spread over its own
    faces in proportion to their size, so a condition on one face of four gets them all.

    Imposed exactly by the trial solution: on a ``Box``/``Interval`` by the Lagaris trial
    solution, on a ``Disk``, ``Polygon`` or set operation of domains by ψ = A + φ·N with the
    domain's approximate distance function φ (:mod:`nnpde.trial`), where ``value`` must then be
    a smooth function defined in the whole domain (it is A there). A predicate ``where`` (and
    faces of a union when other faces have other conditions) gives a weighted penalty residual
    ψ - value at boundary points instead.
    """

    value: Callable
    where: Any = None
    weight: float = 1.0
    component: int = 0
    points: int | None = None

    def __post_init__(self):
        _component_ok(self.component, "Dirichlet")
        _number_ok(self.weight, "weight", "Dirichlet")
        _value_ok(self.value, "value", "Dirichlet")
        _where_ok(self, "Dirichlet")
        _points_ok(self.points, "Dirichlet")


@dataclasses.dataclass(frozen=True)
class Neumann:
    """n·∇u = flux(x) on ``where`` (outward normal n), as a weighted penalty residual
    ``weight·(n·∇ψ - flux)`` at about ``points`` boundary points of its faces (None:
    ``solve``'s ``boundary_points``). ``where`` as for :class:`Dirichlet`: None, a face, a
    list of faces or a predicate.

    Example:
      >>> import nnpde
      >>> nnpde.Neumann(lambda x: 0.0, where=["right", "top"], points=128).where
      ('right', 'top')
    """

    flux: Callable
    where: Any = None
    weight: float = 1.0
    component: int = 0
    points: int | None = None

    def __post_init__(self):
        _component_ok(self.component, "Neumann")
        _number_ok(self.weight, "weight", "Neumann")
        _value_ok(self.flux, "flux", "Neumann")
        _where_ok(self, "Neumann")
        _points_ok(self.points, "Neumann")


@dataclasses.dataclass(frozen=True)
class Robin:
    """alpha u + beta n·∇u = value(x) on ``where``, as a weighted penalty residual at about
    ``points`` boundary points of its faces (``where`` and ``points`` as for
    :class:`Neumann`)."""

    alpha: float
    beta: float
    value: Callable
    where: Any = None
    weight: float = 1.0
    component: int = 0
    points: int | None = None

    def __post_init__(self):
        _component_ok(self.component, "Robin")
        for name in ("alpha", "beta", "weight"):
            _number_ok(getattr(self, name), name, "Robin")
        _value_ok(self.value, "value", "Robin")
        _where_ok(self, "Robin")
        _points_ok(self.points, "Robin")


@dataclasses.dataclass(frozen=True)
class Initial:
    """u = value(x) at the initial face (t = t0 of a ``Box(..., time=True)``, or the left end
    of an ``Interval``), and optionally ∂u/∂t = derivative(x) there (second order in time).
    Imposed exactly by the trial solution."""

    value: Callable
    derivative: Callable | None = None
    component: int = 0

    def __post_init__(self):
        _component_ok(self.component, "Initial")
        _value_ok(self.value, "value", "Initial")
        if self.derivative is not None:
            _value_ok(self.derivative, "derivative", "Initial")


@dataclasses.dataclass(frozen=True)
class OperatorBC:
    """residual(x, u) = 0 on the faces ``where``, as a weighted penalty residual: any condition
    on the solution's jet at boundary points, written like an equation (``u`` is a
    :class:`Jet`, with ``u.partial`` up to fourth order).

    Example (a beam's free end at x = 1: zero second and third derivatives)::

        nnpde.OperatorBC(lambda x, u: u.partial(0, 0), where="right")
        nnpde.OperatorBC(lambda x, u: u.partial(0, 0, 0), where="right")

    For problems with one unknown and no params, data or Periodic conditions.
    """

    residual: Callable
    where: Any = None
    weight: float = 1.0
    component: int = 0

    def __post_init__(self):
        _component_ok(self.component, "OperatorBC")
        _number_ok(self.weight, "weight", "OperatorBC")
        if not callable(self.residual):
            raise TypeError(f"OperatorBC: residual must be a callable (x, u) -> scalar, got "
                            f"{self.residual!r}")  # fmt: skip
        _where_ok(self, "OperatorBC")


BoundaryCondition = Dirichlet | Neumann | Robin | Initial | Periodic | OperatorBC


def _real_array(value, what: str) -> np.ndarray:
    """``value`` as a float64 numpy array, or a TypeError/ValueError naming ``what``."""
    if np.iscomplexobj(value):
        raise ValueError(f"{what} must be real, got complex values; write a complex problem as "
                         "a system of its real and imaginary parts")  # fmt: skip
    try:
        arr = np.array(value, dtype=np.float64)  # a copy: made read-only below
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a real array, got {type(value).__name__}") from None
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class Data:
    """Observations of one component of the solution: residuals ``weight·(ψ_k(x_q) - values_q)``
    join the interior and boundary ones (several ``Data`` may be given; each is one block of
    the history's per-block losses, ``"data[i]"``).

    Args:
      x: observation points, shape (Q, D), Q >= 1.
      values: the observed values of component ``component`` at ``x``, shape (Q,).
      component: k, the unknown observed (0 for a problem with one unknown): e.g. one species
        of a reaction system, or the pressure of a flow pinned at one point.
      weight: the residuals' weight w > 0 (None: the problem's ``data_weight``).

    Raises:
      TypeError/ValueError: naming the argument: x not (Q, D), values not (Q,), NaN or Inf,
        a negative component, a weight that is not a positive finite number.

    Example (pin the pressure, component 2 of (u, v, p), at one point):

    >>> import nnpde
    >>> pin = nnpde.Data([[0.5, 0.5]], [0.25], component=2)
    >>> pin.x.shape, pin.values.shape, pin.component
    ((1, 2), (1,), 2)
    """

    x: Any
    values: Any
    component: int = 0
    weight: float | None = None

    def __post_init__(self):
        x = _real_array(self.x, "Data: x")
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"Data: x must have shape (Q, D) with Q >= 1, got {x.shape}")
        values = _real_array(self.values, "Data: values")
        if values.shape != (x.shape[0],):
            raise ValueError(f"Data: values must have shape ({x.shape[0]},), one per point of "
                             f"x {x.shape}, got {values.shape}")  # fmt: skip
        for name, arr in (("x", x), ("values", values)):
            bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
            if bad.any():
                raise ValueError(f"Data: {name} contains NaN or Inf at {int(bad.sum())} of its "
                                 f"{len(bad)} points (the first at index "
                                 f"{int(np.argmax(bad))})")  # fmt: skip
        if isinstance(self.component, bool) or not isinstance(self.component, (int, np.integer)) \
                or self.component < 0:  # fmt: skip
            raise ValueError(f"Data: component must be an int >= 0, got {self.component!r}")
        if self.weight is not None and (isinstance(self.weight, bool)
                                        or not isinstance(self.weight, (int, float))
                                        or not math.isfinite(self.weight) or self.weight <= 0):
            raise ValueError(f"Data: weight must be a positive finite number or None, got "
                             f"{self.weight!r}")  # fmt: skip
        x.flags.writeable = values.flags.writeable = False
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "component", int(self.component))

    def __repr__(self) -> str:
        w = "" if self.weight is None else f", weight={self.weight!r}"
        return f"Data(<{self.x.shape[0]} points>, component={self.component}{w})"




@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """A differential equation on a domain, with boundary conditions and, optionally, its exact
    solution.

    Args:
      domain: an ``Interval``, ``Box``, ``Disk``, ``Polygon`` or a set operation of domains
        (``a - b``, ``a | b``, ``a & b``).
      equation: ``equation(x, u) -> residual`` for one point x (D,) and ``u`` a :class:`Jet`;
        the residual must be a scalar and is driven to zero.
      boundary: boundary conditions (``Dirichlet``, ``Neumann``, ``Robin``, ``Initial``,
        ``Periodic``, ``OperatorBC``).
      exact: optional exact solution ``exact(x) -> scalar`` for one point, for error reports.
      name: a label for reports.
      trial: optional ``(A, B)``, callables of one point, to use ψ = A + B N instead of the
        trial solution built from the Dirichlet/initial data.
      components: K, the number of unknown functions (a system; one network per component).
        With K > 1, ``equation(x, u)`` receives a tuple of K Jets and returns E residuals (E,)
        (one per equation), conditions say which ``component`` they constrain, and ``exact``
        returns (K,).
      params: unknown scalar coefficients to identify with θ (an inverse problem), as
        ``{"name": initial value}``; the equation is then ``equation(x, u, p)`` with ``p`` a
        dict of scalars.
      data: observations: a :class:`Data` (``Data(x, values, component=k, weight=None)``,
        one component at some points), a list of them, or the pair ``(x_obs (Q, D), u_obs
        (Q,) or (Q, K))`` (every component at every point, weight ``data_weight``):
        residuals ``w·(ψ_k(x_obs) - values)`` join the interior and boundary ones.
      data_weight: weight of the data residuals of the pair form and of ``Data`` whose
        ``weight`` is None.

    Example (identify κ in -κΔu = f from observations):

    >>> import jax.numpy as jnp, nnpde
    >>> problem = nnpde.Problem(
    ...     nnpde.Box((0.0, 0.0), (1.0, 1.0)),
    ...     lambda x, u, p: -p["kappa"] * u.laplacian - 1.0,
    ...     boundary=[nnpde.Dirichlet(lambda x: 0.0)],
    ...     params={"kappa": 1.0},
    ...     data=(jnp.full((3, 2), 0.5), jnp.full((3,), 0.04)),
    ... )
    >>> problem.param_names
    ('kappa',)
    """

    domain: Any
    equation: Callable
    boundary: tuple = ()
    exact: Callable | None = None
    name: str = "problem"
    trial: tuple | None = None
    components: int = 1
    params: Any = None
    data: Any = None
    data_weight: float = 1.0

    def __post_init__(self):
        if not callable(self.equation):
            raise TypeError(f"Problem: equation must be callable, got {self.equation!r}")
        if not all(hasattr(self.domain, a) for a in ("dim", "sample", "sample_boundary")):
            raise TypeError(f"Problem: domain must be an Interval, Box, Disk, Polygon or a "
                            f"set operation of domains, got "
                            f"{type(self.domain).__name__}")  # fmt: skip
        if isinstance(self.components, bool) or not isinstance(self.components, int) or \
                self.components < 1:  # fmt: skip
            raise ValueError(f"Problem: components must be a positive int, got {self.components!r}")
        boundary = tuple(self.boundary) if isinstance(self.boundary, (list, tuple)) else None
        if boundary is None:
            raise TypeError("Problem: boundary must be a list or tuple of boundary conditions")
        for bc in boundary:
            if not isinstance(bc, (Dirichlet, Neumann, Robin, Initial, Periodic, OperatorBC)):
                raise TypeError(
                    "Problem: each boundary condition must be Dirichlet, Neumann, Robin, "
                    f"Initial, Periodic or OperatorBC, got {type(bc).__name__}"
                )
            if bc.component >= self.components:
                raise ValueError(
                    f"Problem: {type(bc).__name__} constrains component {bc.component}, but the "
                    f"problem has components={self.components}"
                )
            if isinstance(bc, Periodic) and (
                not hasattr(self.domain, "face_axis") or bc.axis >= self.domain.dim
            ):
                raise ValueError(
                    f"Problem: Periodic(axis={bc.axis}) needs a Box/Interval with that axis, "
                    f"got {self.domain!r}"
                )
            named_faces(self.domain, getattr(bc, "where", None))  # ValueError naming the faces
        if self.exact is not None and not callable(self.exact):
            raise TypeError("Problem: exact must be a callable of one point, or None")
        if self.trial is not None and (not isinstance(self.trial, (tuple, list))
                                       or len(self.trial) != 2
                                       or not all(map(callable, self.trial))):  # fmt: skip
            raise TypeError("Problem: trial must be a pair (A, B) of callables of one point")
        object.__setattr__(self, "boundary", boundary)
        if self.params is not None:
            if not isinstance(self.params, dict) or not self.params or not all(
                isinstance(k, str) for k in self.params
            ):
                raise TypeError("Problem: params must be a non-empty dict {name: initial value}")
            params = {}
            for k, v in self.params.items():
                try:
                    params[k] = float(v)
                except (TypeError, ValueError):
                    raise TypeError(f"Problem: params[{k!r}] must be a number, got {v!r}") \
                        from None  # fmt: skip
                if not math.isfinite(params[k]):
                    raise ValueError(f"Problem: params[{k!r}] must be finite, got {v!r}")
            object.__setattr__(self, "params", params)
        _number_ok(self.data_weight, "data_weight", "Problem")
        if self.data_weight <= 0:
            raise ValueError(f"Problem: data_weight must be positive, got {self.data_weight!r}")
        if self.data is not None:
            object.__setattr__(self, "data", _check_data(self.data, self.dim, self.components))
        if any(isinstance(bc, OperatorBC) for bc in boundary) and not self.is_simple:
            raise ValueError("Problem: OperatorBC is available for problems with one unknown "
                             "and no params, data or Periodic conditions")  # fmt: skip

    @property
    def is_simple(self) -> bool:
        """One unknown, no coefficients, no observations, no periodic condition: the problems
        whose equation may read partials of order 3-4 (:mod:`nnpde.high_order`)."""
        return (self.components == 1 and not self.params and self.data is None
                and not any(isinstance(bc, Periodic) for bc in self.boundary))  # fmt: skip

    @property
    def param_names(self) -> tuple:
        """Names of the unknown coefficients (empty for a forward problem)."""
        return tuple(self.params) if self.params else ()

    @property
    def observations(self) -> tuple[Data, ...]:
        """The observations as :class:`Data` blocks, one per component for the pair form
        ``(x_obs, u_obs)`` (weights resolved: None becomes ``data_weight``)."""
        if self.data is None:
            return ()
        if isinstance(self.data, tuple) and all(isinstance(d, Data) for d in self.data):
            blocks = self.data
        else:
            x, u = self.data
            blocks = tuple(Data(x, u[:, k], component=k) for k in range(self.components))
        return tuple(d if d.weight is not None else dataclasses.replace(d, weight=float(
            self.data_weight)) for d in blocks)  # fmt: skip

    @property
    def dim(self) -> int:
        """D, the number of coordinates."""
        return self.domain.dim


def _check_data(data, dim: int, components: int):
    """The observations checked: a tuple of :class:`Data`, or the pair form as float numpy
    arrays (x_obs (Q, D), u_obs (Q, K))."""
    if isinstance(data, Data):
        data = (data,)
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, Data) for d in data):
        for i, d in enumerate(data):
            if d.x.shape[1] != dim:
                raise ValueError(f"Problem: data[{i}].x must have shape (Q, {dim}) for this "
                                 f"{dim}-D problem, got {d.x.shape}")  # fmt: skip
            if d.component >= components:
                raise ValueError(f"Problem: data[{i}] observes component {d.component}, but "
                                 f"the problem has components={components}")  # fmt: skip
        return tuple(data)
    if not isinstance(data, (tuple, list)) or len(data) != 2 or \
            any(isinstance(d, Data) for d in data):  # fmt: skip
        raise TypeError("Problem: data must be a nnpde.Data, a list of them, or a pair "
                        "(x_obs (Q, D), u_obs (Q,) or (Q, K))")  # fmt: skip
    x = _real_array(data[0], "Problem: x_obs")
    u = _real_array(data[1], "Problem: u_obs")
    if x.ndim != 2 or x.shape[1] != dim or x.shape[0] == 0:
        raise ValueError(f"Problem: x_obs must have shape (Q, {dim}) with Q >= 1, got {x.shape}")
    if u.ndim == 1 and components == 1:
        u = u[:, None]
    if u.shape != (x.shape[0], components):
        q = x.shape[0]
        expected = f"({q},) or ({q}, 1)" if components == 1 else \
            f"({q}, {components}), one column per component"  # fmt: skip
        raise ValueError(
            f"Problem: u_obs must have shape {expected} to match x_obs {x.shape}, got "
            f"{u.shape}" + ("" if components == 1 else "; to observe one component, give "
                            "nnpde.Data(x, values, component=k) instead")
        )
    if not np.isfinite(x).all():
        raise ValueError("Problem: x_obs contains NaN or Inf")
    if not np.isfinite(u).all():
        raise ValueError("Problem: u_obs contains NaN or Inf" + (
            "" if components == 1 else "; to observe only some components, give one "
            "nnpde.Data(x, values, component=k) per observed component"))  # fmt: skip
    return x, u


# ---- checks of user callables, made once on abstract values (jax.eval_shape) -------------------
_TRACER_ERRORS = (
    jax.errors.TracerArrayConversionError,  # np.sin(u.value), np.asarray(x)
    jax.errors.ConcretizationTypeError,  # float(u.value), math.sin(x[0])
    jax.errors.TracerBoolConversionError,  # if u.value > 0:
    jax.errors.TracerIntegerConversionError,  # range(x[0]), list index
)


def describe(bc) -> str:
    """A short name of a boundary condition for messages: ``Dirichlet(where='x0_min')``."""
    parts = []
    where = getattr(bc, "where", None)
    if where is not None:
        parts.append(f"where={where!r}" if isinstance(where, (str, tuple)) else
                     "where=<predicate>")  # fmt: skip
    if bc.component:
        parts.append(f"component={bc.component}")
    return f"{type(bc).__name__}({', '.join(parts)})"


def traced(fn: Callable, what: str, *args):
    """``jax.eval_shape(fn, *args)`` with JAX's tracer errors explained for a user's callable
    named ``what`` (a user's own exceptions pass unchanged)."""
    try:
        return jax.eval_shape(fn, *args)
    except _TRACER_ERRORS as err:
        raise TypeError(
            f"{what} is traced by JAX (it receives abstract arrays, once for all points), so it "
            "must compute with jax.numpy: jnp.sin, not np.sin or math.sin; no float(), int() or "
            f"`if` on values of x or u (use jnp.where) ({type(err).__name__})"
        ) from err


def check_pointwise(fn: Callable, what: str, dim: int, dtype) -> None:
    """``fn`` of one point x (D,) returns a real scalar, or a ``TypeError``/``ValueError``
    naming ``what`` (e.g. "Dirichlet(where='x0_min') value"). Checked abstractly: nothing is
    computed."""

    def call(x):
        out = fn(x)
        if out is None:
            raise TypeError(f"{what} must return a real scalar for one point x ({dim},), "
                            "got None")  # fmt: skip
        try:
            if isinstance(out, (str, bytes)):  # jnp.asarray("a") reads "a" as a dtype name
                raise TypeError(type(out).__name__)
            return jnp.asarray(out)
        except (TypeError, ValueError, Warning):
            raise TypeError(f"{what} must return a real scalar for one point x ({dim},), got "
                            f"a {type(out).__name__}: {out!r:.60}") from None  # fmt: skip

    out = traced(call, what, jax.ShapeDtypeStruct((dim,), dtype))
    if jnp.issubdtype(out.dtype, jnp.complexfloating):
        raise ValueError(f"{what} returned complex values ({out.dtype}); nnpde solves real "
                         "problems: write a complex one as a system of its real and imaginary "
                         "parts (Problem(components=2))")  # fmt: skip
    if not (jnp.issubdtype(out.dtype, jnp.floating) or jnp.issubdtype(out.dtype, jnp.integer)
            or out.dtype == jnp.bool_):  # fmt: skip
        raise TypeError(f"{what} must return a real scalar for one point x ({dim},), got dtype "
                        f"{out.dtype}")  # fmt: skip
    if out.shape != ():
        raise ValueError(f"{what} must return a real scalar for one point x ({dim},), got shape "
                         f"{out.shape}")  # fmt: skip


def check_residual_type(out, what: str = "the equation") -> None:
    """The abstract output of an equation is real (complex residuals are refused, not cut to
    their real part) and not None."""
    if out is None:
        raise TypeError(f"{what} returned None for one point; it must return its residual "
                        "(a missing `return`?)")  # fmt: skip
    dtype = getattr(out, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jnp.complexfloating):
        raise ValueError(f"{what} returned complex residuals ({dtype}); nnpde solves real "
                         "equations, and would otherwise drop the imaginary part: write a "
                         "complex PDE as a system of its real and imaginary parts "
                         "(Problem(components=2))")  # fmt: skip


def partial_of(fn: Callable, alpha: tuple, dim: int) -> Callable:
    """∂^α fn for a scalar function ``fn`` of one point (D,), by nested ``jax.jvp`` along the
    unit vectors e_i, i in α (forward mode; order n costs up to 2^n evaluations of ``fn``)."""
    g = fn
    for i in alpha:
        e = jnp.zeros((dim,)).at[i].set(1.0)

        def g(y, g=g, e=e):
            return jax.jvp(g, (y,), (e.astype(y.dtype),))[1]

    return g


def jet_of(fn: Callable, x: Array, order: int = 2) -> Jet:
    """The Jet of a scalar function of one point, by autodiff (for A, B and exact solutions).

    With ``order`` 3 or 4, ``high`` holds every partial of order 3..``order`` (so that
    ``u.partial(*axes)`` works on it); D^3 + D^4 of them at most, meant for small D."""
    value = fn(x)
    grad = jax.grad(fn)(x)
    hess = jax.hessian(fn)(x)
    high = None
    if order > 2:
        d = x.shape[0]
        keys = [k for n in range(3, order + 1)
                for k in itertools.combinations_with_replacement(range(d), n)]  # fmt: skip
        high = {k: partial_of(fn, k, d)(x) for k in keys}
    return Jet(jnp.asarray(value, x.dtype), grad, hess, jnp.trace(hess), high)
