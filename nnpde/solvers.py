"""``nnpde.solve``: a PDE problem trained by Levenberg-Marquardt (dense, or matrix-free
Gauss-Newton with conjugate gradients), Adam (any optax transformation) or L-BFGS at
collocation points, on one device or with the points split over a device mesh.

The optimisers live in :mod:`nnpde.training` (shared with :func:`nnpde.fit`). A run stops on
``tol`` (loss), ``steps``, ``time_limit``, a stalled LM damping or a non-finite/diverging loss,
in which case it keeps the last finite θ and says so in ``Solution.status``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnpde import _nets, distributed
from nnpde.collocation import Collocation, CollocationData, make_collocation
from nnpde.network import TwoLayerNet
from nnpde.problem import Problem
from nnpde.solution import Solution
from nnpde.systems import make_system
from nnpde.training import CGConfig, LMConfig, train

__all__ = ["CGConfig", "LMConfig", "solve"]


def _points(problem: Problem, points, key, dtype):
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        if points < 1:
            raise ValueError(f"points must be a positive int or an array (P, D), got {points}")
        return jnp.asarray(problem.domain.sample(int(points), key=key), dtype)
    arr = np.asarray(points) if points is not None else None
    if arr is None or arr.dtype.kind not in "iuf":
        what = "None" if points is None else f"of dtype {arr.dtype}"
        raise ValueError(f"points must be a positive int or a real array (P, D), got {what}")
    x = jnp.asarray(arr)
    if x.ndim == 2 and x.shape[0] == 0:
        raise ValueError("points is empty: give at least one collocation point")
    if x.ndim != 2 or x.shape[1] != problem.dim:
        raise ValueError(
            f"points must have shape (P, {problem.dim}) for this {problem.dim}-D problem, "
            f"got {tuple(x.shape)}"
        )
    x = x.astype(dtype)
    if not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError("points contain NaN or Inf")
    inside = problem.domain.contains(np.asarray(x))
    if not inside.all():
        bad = np.asarray(x)[~inside][0]
        raise ValueError(
            f"{int((~inside).sum())} of the points lie outside the domain {problem.domain!r}, "
            f"e.g. {bad.tolist()}"
        )
    return x


def _check_first_point(col: Collocation, theta, data: CollocationData):
    """Runs the equation at the first point before training: shape and finiteness."""
    first = data._replace(x=data.x[:1], A=jax.tree_util.tree_map(lambda a: a[:1], data.A),
                          B=jax.tree_util.tree_map(lambda a: a[:1], data.B))  # fmt: skip
    r = jax.jit(col.residuals)(theta, first)
    if not bool(jnp.all(jnp.isfinite(r[:1]))):
        raise ValueError(
            "the equation returns a non-finite residual at the first collocation point "
            f"{np.asarray(data.x[0]).tolist()} (with the initial network): check the equation"
        )


def solve(
    problem: Problem,
    net,
    points,
    *,
    method: str | optax.GradientTransformation = "lm",
    steps: int = 200,
    key=None,
    backend: str | None = None,
    theta0=None,
    tol: float = 0.0,
    learning_rate: float | Callable = 1e-3,
    boundary_points: int = 64,
    lm: LMConfig = LMConfig(),  # noqa: B008 (frozen, immutable)
    cg: CGConfig = CGConfig(),  # noqa: B008
    mesh=None,
    devices=None,
    steps_per_call: int | None = None,
    callback: Callable | None = None,
    progress: bool = False,
    divergence: float = 1e4,
    time_limit: float | None = None,
    checkpoint=None,
    checkpoint_every: int | None = None,
    resume=None,
    adapt=(),
) -> Solution:
    """Trains ``net`` so that ψ = A + B·N solves ``problem`` at collocation ``points``.

    Args:
      problem: the :class:`~nnpde.Problem`.
      net: a :class:`~nnpde.TwoLayerNet` with ``net.dim == problem.dim``, or a scalar
        :class:`~nnpde.MLP` (``sizes = (D, ..., 1)``; derivatives by autodiff).
      points: interior collocation points (P, D), or an int P (then Sobol' points).
      method: "lm" (Levenberg-Marquardt on the exact Jacobian: Cholesky on JᵀJ, or
        matrix-free above ``lm.dense_max_params`` parameters), "gn-cg" (the same damped
        Gauss-Newton step always solved matrix-free by preconditioned conjugate gradients on
        J v / Jᵀu products, :mod:`nnpde.matfree`), "adam", "lbfgs" (optax's L-BFGS with zoom
        line search), or any ``optax.GradientTransformation``.
      steps: maximum number of steps (LM iterations, including rejected ones).
      key: PRNG key for θ's initialisation and sampled points (default ``jax.random.key(0)``).
      backend: "kernels" (hand-written derivatives; the default for ``TwoLayerNet``) or
        "autodiff" (same numbers; the only choice for an ``MLP``).
      theta0: initial θ (NT,); default ``net.init(key)``.
      tol: stop once the loss ½·mean(r²) is at most ``tol``.
      learning_rate: Adam's learning rate, a float or an optax schedule.
      boundary_points: boundary points for penalty conditions.
      lm: :class:`LMConfig` (damping; ``dense_max_params``, the dense/matrix-free switch).
      cg: :class:`CGConfig` (iterations and tolerance of the matrix-free step).
      mesh: a :class:`jax.sharding.Mesh` with a ``"points"`` axis
        (:func:`nnpde.distributed.make_mesh`): the interior points are split over its
        devices (their number must divide P), θ is replicated, and the sums over points
        (loss, JᵀJ, Jᵀr, JᵀJ·p) are reduced across devices. In a multi-process run
        (:func:`nnpde.distributed.initialize`) every process passes the same arguments and
        keeps only its own rows of the points.
      devices: instead of ``mesh``, an int n (the first n devices) or a list of devices.
      steps_per_call: steps per jitted dispatch (default: all of them); with ``callback`` or
        ``progress`` the run is split into calls of this many steps.
      callback: ``callback(step, loss, theta)`` after each call of ``steps_per_call`` steps.
      progress: show a tqdm progress bar (if tqdm is installed).
      divergence: a first-order run (Adam, L-BFGS, optax) stops as diverged once its loss
        exceeds ``divergence`` times the initial loss or is not finite, and returns the last
        parameters whose loss was below that.
      time_limit: stop after the first dispatch that ends past this many seconds (the run is
        then split into dispatches of ~steps/100 steps).
      checkpoint: a path: the full optimiser state, step count, loss history and key are
        written there atomically every ``checkpoint_every`` steps, at the end, and on Ctrl-C.
      checkpoint_every: steps between checkpoints (default: each dispatch).
      resume: a checkpoint path to continue from, or True to continue from ``checkpoint`` if
        that file exists (else start afresh). The problem, network, points, method and dtype
        must match; ``steps`` counts from the start of the original run. With the same
        ``checkpoint_every``, a resumed run ends with exactly the θ of an uninterrupted one.

      adapt: strategies that change the collocation data between dispatches without changing
        any shape (nothing recompiles): :class:`nnpde.adaptive.ResidualAdaptive` (points
        moved to large residuals) and :class:`nnpde.adaptive.GradientBalance` (adaptive
        boundary weight); what they did is in ``history["adapt"]`` and the final points in
        ``info["points_final"]``. Problems with one unknown only.

    Returns:
      A :class:`~nnpde.Solution`.
    """
    t_start = time.perf_counter()
    mesh = distributed.resolve_mesh(mesh, devices)
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a nnpde.Problem, got {type(problem).__name__}")
    _check_options(tol=tol, learning_rate=learning_rate, divergence=divergence, key=key,
                   callback=callback, boundary_points=boundary_points)  # fmt: skip
    _nets.check_net(net)
    _nets.check_scalar(net)
    dim = _nets.input_dim(net)
    if dim != problem.dim:
        raise ValueError(f"the network has dim={dim} inputs but the problem is {problem.dim}-D")
    if backend is None:
        backend = "autodiff" if _nets.is_mlp(net) else "kernels"
    elif backend == "kernels" and not isinstance(net, TwoLayerNet):
        raise ValueError("the hand-written kernels exist for TwoLayerNet only; use "
                         "backend='autodiff' (the default) for an MLP")  # fmt: skip
    key = jax.random.key(0) if key is None else key
    k_init, k_pts, k_bnd = jax.random.split(key, 3)
    dtype = jnp.zeros((), float).dtype
    n_k, names = problem.components, problem.param_names
    n_total = net.num_params * n_k + len(names)
    if theta0 is None:
        keys = [k_init] if n_k == 1 else list(jax.random.split(k_init, n_k))
        phi = jnp.asarray([problem.params[n] for n in names], dtype)
        theta = jnp.concatenate([_nets.flat_init(net, k, dtype) for k in keys] + [phi])
    else:
        theta = np.asarray(theta0)
        if theta.dtype not in (np.float32, np.float64):
            raise TypeError(f"theta0 must be a float32 or float64 array, got {theta.dtype}")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta0 contains NaN or Inf")
        theta = jnp.asarray(theta)
        if theta.shape != (n_total,):
            raise ValueError(f"theta0 must have shape ({n_total},) (components × "
                             f"{net.num_params} + {len(names)} params), got {theta.shape}")
        dtype = theta.dtype
    x = _points(problem, points, k_pts, dtype)
    rows = slice(None)
    if mesh is not None:  # this process's rows; the others build their own data
        rows = distributed.local_rows(x.shape[0], mesh)
    if problem.is_simple:
        col, data = make_collocation(
            problem, net, x[rows], boundary_points=boundary_points, key=k_bnd, backend=backend,
            dtype=dtype,
        )  # fmt: skip
        _check_first_point(col, theta, data)
    else:  # systems, unknown parameters, observations, periodic conditions
        if adapt:
            raise ValueError("adapt= supports problems with one unknown and no params/data/"
                             "Periodic conditions")  # fmt: skip
        if mesh is not None:
            raise ValueError("mesh= supports problems with one unknown and no params/data/"
                             "Periodic conditions")  # fmt: skip
        col, data, _ = make_system(problem, net, x, boundary_points=boundary_points, key=k_bnd,
                                   backend=backend, dtype=dtype)  # fmt: skip
    if mesh is not None:
        data = distributed.shard_data(data, col.shard_specs(data, distributed.AXIS), mesh,
                                      local=True)  # fmt: skip

    trained = train(
        col, data, theta, method=method, steps=steps, tol=tol, learning_rate=learning_rate,
        lm=lm, cg=cg, mesh=mesh, steps_per_call=steps_per_call, callback=callback,
        progress=progress, divergence=divergence, time_limit=time_limit,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, key=key,
        adapt=adapt,
    )  # fmt: skip
    info = dict(trained.info, backend=col.backend, wall_s=time.perf_counter() - t_start,
                points=int(x.shape[0]), boundary_points=_n_penalty(data))  # fmt: skip
    if not problem.is_simple:
        info.update(components=problem.components, param_names=list(problem.param_names))
    return Solution(
        theta=trained.theta,
        net=net,
        problem=problem,
        trial=col.trial if problem.is_simple else col.trials,
        history=trained.history,
        status=trained.status,
        info=info,
    )


def _n_penalty(data) -> int:
    """Number of penalty residuals (boundary, periodic, observations)."""
    if hasattr(data, "xb"):
        return int(data.xb.shape[0])
    return sum(int(p.x.shape[0]) for p in data.pen)


def _check_options(*, tol, learning_rate, divergence, key, callback, boundary_points):
    """Checks solve's scalar options up front, naming the one that is wrong."""

    def real(v):
        return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)

    if not real(tol) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if not callable(learning_rate) and (not real(learning_rate) or not learning_rate > 0):
        raise ValueError(f"learning_rate must be a number > 0 or an optax schedule, "
                         f"got {learning_rate!r}")  # fmt: skip
    if not real(divergence) or not divergence > 1:
        raise ValueError(f"divergence must be a factor > 1, got {divergence!r}")
    typed = isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32 and key.shape == (2,)
    if key is not None and not (typed or raw):
        raise TypeError(f"key must be a PRNG key (jax.random.key or jax.random.PRNGKey), "
                        f"got {key!r}")  # fmt: skip
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(step, loss, theta), got {callback!r}")
    if isinstance(boundary_points, bool) or not isinstance(boundary_points, (int, np.integer)) \
            or boundary_points < 1:  # fmt: skip
        raise ValueError(f"boundary_points must be a positive int, got {boundary_points!r}")
