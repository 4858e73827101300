"""``nnpde.fit``: a network trained on data (regression or classification).

The solvers are those of :func:`nnpde.solve` (:mod:`nnpde.engine`, :mod:`nnpde.runs`); what
changes is the model: residuals r = N(x) - y and the losses of :mod:`nnpde.backprop`, with
gradients from the hand-written back-propagation (seeds 001-004) or, for
:class:`~nnpde.TwoLayerNet`, the seed-000
kernels, and the exact Jacobian for Levenberg-Marquardt.

    >>> import jax, jax.numpy as jnp, nnpde
    >>> x = jnp.linspace(-3.0, 3.0, 64)[:, None]
    >>> result = nnpde.fit(nnpde.MLP((1, 8, 1)), x, jnp.sin(x), method="lm", steps=100)
    >>> bool(jnp.max(jnp.abs(result.predict(x) - jnp.sin(x))) < 1e-2)
    True
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnpde import _mappings, _nets, kernels, runs
from nnpde.lm import LM
from nnpde.results import describe
from nnpde.settings import RunOptions, merge

__all__ = ["FitResult", "fit"]

Array = jax.Array
LOSSES = ("mse", "sum_squares", "cross_entropy")
FIT_BACKENDS = ("backprop", "autodiff")


class FitData(NamedTuple):
    x: Array  # (P, N0)
    y: Array  # (P, NK)


@dataclasses.dataclass(frozen=True, eq=False)
class DataFit:
    """The fitting model of :func:`fit` for the engine (static; hashed by identity)."""

    net: object
    loss_name: str
    backend: str

    def outputs(self, theta, x) -> Array:
        """Network outputs (P, NK) for a flat θ."""
        if _nets.is_two_layer(self.net):
            return kernels.value(self.net, theta, x)[:, None]
        return self.net.apply(self.net.unravel(theta), x)

    def residuals(self, theta, data: FitData) -> Array:
        """r = (N(x) - y) flattened: (P·NK,)."""
        return (self.outputs(theta, data.x) - data.y).reshape(-1)

    def residuals_and_jacobian(self, theta, data: FitData):
        """(r (P·NK,), J (P·NK, NT)): the exact Jacobian of the outputs."""
        if _nets.is_two_layer(self.net):
            J = kernels.grad_theta(self.net, theta, data.x)
        elif self.backend == "autodiff":
            from nnpde import autodiff

            J = autodiff.jacobian(self.net, self.net.unravel(theta), data.x)
        else:
            from nnpde import backprop

            J = backprop.jacobian(self.net, self.net.unravel(theta), data.x)
        return self.residuals(theta, data), J

    def loss(self, theta, data: FitData) -> Array:
        """The chosen loss; its θ-gradient is the hand-written one (``custom_vjp``)."""
        return _loss(self, theta, data)


def _value_and_grad(model: DataFit, theta, data: FitData):
    net = model.net
    if _nets.is_two_layer(net):
        r = kernels.value(net, theta, data.x) - data.y[:, 0]
        p = data.x.shape[0]
        if model.loss_name == "mse":
            value, c = 0.5 * jnp.sum(r * r) / p, r / p
        else:  # sum_squares
            value, c = jnp.sum(r * r), 2 * r
        return value, kernels.value_vjp(net, theta, data.x, c)
    if model.backend == "autodiff":
        from nnpde import autodiff as impl
    else:
        from nnpde import backprop as impl
    value, grads = impl.value_and_grad(net, net.unravel(theta), data.x, data.y,
                                       loss=model.loss_name)  # fmt: skip
    return value, net.ravel(grads)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _loss(model, theta, data):
    return _value_and_grad(model, theta, data)[0]


def _loss_fwd(model, theta, data):
    value, grad = _value_and_grad(model, theta, data)
    return value, grad


def _loss_bwd(model, grad, ct):
    return ct * grad, None


_loss.defvjp(_loss_fwd, _loss_bwd)


@dataclasses.dataclass
class FitResult:
    """A trained network: ``predict(x)``, the flat ``theta``, loss ``history``, ``status``
    and ``result`` (the :class:`~nnpde.RESULTS` member)."""

    net: object
    theta: Array  # (NT,)
    loss: str
    history: dict
    status: str
    info: dict

    @property
    def result(self):
        """How the run ended: a :class:`nnpde.RESULTS` member."""
        from nnpde.results import RESULTS

        return RESULTS[self.info["result"]]

    @property
    def params(self):
        """The parameters in the network's own form (``Params`` or the MLP's layer tuple)."""
        return self.net.unravel(self.theta) if _nets.is_mlp(self.net) else \
            self.net.unpack(self.theta)  # fmt: skip

    def predict(self, x) -> Array:
        """Network outputs for inputs x (P, N0): (P, NK) (a TwoLayerNet gives (P, 1))."""
        return DataFit(self.net, self.loss, "backprop").outputs(self.theta, jnp.asarray(x))

    def __repr__(self) -> str:
        return (f"FitResult(net={self.net!r}, loss={self.loss!r}, "
                f"result={self.result.name}, status={self.status!r})")  # fmt: skip


def _check_data(net, x, y, dtype):
    n0 = _nets.input_dim(net)
    nk = net.sizes[-1] if _nets.is_mlp(net) else 1
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    for name, arr in (("x", x), ("y", y)):
        if jnp.iscomplexobj(arr):  # astype would silently keep the real part only
            raise ValueError(f"{name} must be real, got {arr.dtype}; fit a complex function as "
                             "two real outputs (its real and imaginary parts)")  # fmt: skip
    if x.ndim != 2 or x.shape[1] != n0:
        raise ValueError(f"x must have shape (P, {n0}) for this network, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x holds no samples (P = 0)")
    if y.ndim == 1 and nk == 1:
        y = y[:, None]
    if y.shape != (x.shape[0], nk):
        raise ValueError(
            f"y must have shape ({x.shape[0]}, {nk}) to match x {tuple(x.shape)} and the "
            f"network's {nk} outputs, got {tuple(y.shape)}"
        )
    x, y = x.astype(dtype), y.astype(dtype)
    if not (bool(jnp.all(jnp.isfinite(x))) and bool(jnp.all(jnp.isfinite(y)))):
        raise ValueError("x or y contains NaN or Inf")
    return x, y


def fit(
    net,
    x,
    y,
    *,
    loss: str | None = None,
    solver=None,
    key=None,
    backend: str = "backprop",
    theta0=None,
    options: RunOptions | None = None,
    **keywords,
) -> FitResult:
    """Trains ``net`` on samples (x, y) with the solvers of :func:`nnpde.solve`.

    Args:
      net: an :class:`~nnpde.MLP` or a :class:`~nnpde.TwoLayerNet` (scalar output).
      x: inputs (P, N0).
      y: targets (P, NK) (or (P,) for one output); one-hot rows for classification.
      loss: "mse" (½·mean over samples of |N - y|², the default for regression),
        "sum_squares" (Σ |N - y|²) or "cross_entropy" (the default for an MLP with
        ``output="softmax"``); see :mod:`nnpde.backprop`.
      solver: as in :func:`nnpde.solve` (``method=`` is its older name): :class:`~nnpde.LM` and
        :class:`~nnpde.GaussNewtonCG` (least-squares losses only: the exact Jacobian of the
        outputs; J v by ``jax.linearize``), :class:`~nnpde.Optax`, :class:`~nnpde.LBFGS`, or
        the shortcuts "lm", "gn-cg", "adam", "lbfgs", an optax transformation.
      backend: "backprop" (hand-written gradients and Jacobian) or "autodiff" (their
        ``jax.value_and_grad``/``jax.jacrev`` twins). A TwoLayerNet always uses the kernels.
      theta0: initial flat θ (NT,) (``net.ravel(params)`` for an MLP).
      key: PRNG key of θ's initialisation (default ``jax.random.key(0)``).
      options: a :class:`~nnpde.RunOptions` (steps, steps_per_call, callback, progress,
        time_limit, checkpoint, checkpoint_every, resume: as in :func:`nnpde.solve`, the same
        checks); each of its fields may be given as a keyword instead (``steps=300``), which
        replaces that field of ``options``. The history and an LM solver's ``atol`` are in
        units of ``loss``.

    Returns:
      A :class:`FitResult` (``result``: the :class:`~nnpde.RESULTS` member).

    Raises:
      ValueError: mismatched shapes, non-finite data, an unknown loss or backend, LM with
        cross-entropy, or a loss that does not suit the network's output.
    """
    method = keywords.pop("method", None)
    opts = merge(RunOptions, options, keywords, "options")
    runs.check_legacy(keywords, "fit")
    _mappings.release_if_crowded()  # before ≈100 runs' programs crash the process
    t_start = time.perf_counter()
    the_solver = runs.pick_solver(solver, method)
    _nets.check_net(net)
    loss = _check_loss(net, loss, backend, the_solver)
    key = jax.random.key(0) if key is None else key
    theta = _initial_theta(net, theta0, key)
    x, y = _check_data(net, x, y, theta.dtype)
    if _nets.is_mlp(net) and net.output_name == "softmax":
        _check_probabilities(y, loss)
    # LM minimises ½·mean(r²) over the P·NK residuals; report in the units of ``loss``
    scale = 1.0
    if isinstance(the_solver, LM):
        scale = float(y.shape[1]) if loss == "mse" else 2.0 * y.size
        the_solver = dataclasses.replace(the_solver, atol=the_solver.atol / scale)
    run = runs.execute(the_solver, DataFit(net, loss, backend), FitData(x, y), theta, opts,
                       key=key)  # fmt: skip
    history = dict(run.history)
    for k in ("loss", "blocks"):
        if k in history:
            history[k] = history[k] * scale
    info = dict(run.info, method=the_solver.name, solver=runs.solver_kind(run),
                steps=run.done, loss=run.loss * scale, backend=backend,
                samples=int(x.shape[0]), wall_s=time.perf_counter() - t_start,
                result=run.result.name)  # fmt: skip
    status = describe(run.result, run.done, run.loss * scale, run.detail)
    return FitResult(net, run.theta(), loss, history, status, info)


def _check_loss(net, loss, backend, solver) -> str:
    softmax = _nets.is_mlp(net) and net.output_name == "softmax"
    if loss is None:
        loss = "cross_entropy" if softmax else "mse"
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if backend not in FIT_BACKENDS:
        raise ValueError(f"backend must be one of {FIT_BACKENDS}, got {backend!r}")
    if _nets.is_two_layer(net) and loss == "cross_entropy":
        raise ValueError("cross_entropy needs an MLP with output='softmax'; a TwoLayerNet has "
                         "one linear output")  # fmt: skip
    if loss == "cross_entropy" and not softmax:
        raise ValueError("cross_entropy needs output='softmax' (class probabilities)")
    if isinstance(solver, LM) and loss == "cross_entropy":
        raise ValueError(f"solver {solver.name!r} needs a least-squares loss ('mse' or "
                         "'sum_squares'); use 'adam' or 'lbfgs' for cross_entropy")  # fmt: skip
    return loss


def _initial_theta(net, theta0, key):
    if theta0 is None:
        return _nets.flat_init(net, key, jnp.zeros((), float).dtype)
    theta = jnp.asarray(theta0)
    if theta.shape != (net.num_params,):
        raise ValueError(f"theta0 must have shape ({net.num_params},), got {theta.shape}")
    return theta


def _check_probabilities(y, loss):
    yy = np.asarray(y)
    if (yy < 0).any() or not np.allclose(yy.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(
            f"output='softmax' gives class probabilities, but y's rows are not probability "
            f"vectors (non-negative, summing to 1) for loss {loss!r}; regression targets need "
            "output='identity'"
        )
