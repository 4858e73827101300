"""First-order solvers: any optax transformation (:class:`Optax`, e.g. Adam) and L-BFGS.

They minimise the model's loss (½·mean(r²) for collocation, the chosen loss for data fits)
from its value and gradient (the hand-written VJPs where the model has them). The state keeps
θ with its loss and gradient, so every step evaluates exactly one new point; a step whose loss
is not finite ends the run ``nonfinite``, one whose loss exceeds ``divergence`` times the
reference loss ends it ``diverged``, and in both cases θ stays the last healthy point. A run
whose best loss fell by less than the fraction ``stall`` over ``stall_window`` steps has made
no progress: it ends ``converged`` when that loss is at most ``rtol`` times the reference
loss (of θ0), else ``stalled``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from nnpde.lm import _nonnegative, _positive, _positive_int, window_test
from nnpde.results import RESULTS

__all__ = ["LBFGS", "Optax", "OptaxState"]

Array = jax.Array


class OptaxState(NamedTuple):
    """The state of a first-order run (fixed shapes)."""

    theta: Array  # (NT,) current θ
    opt: Any  # the optax state
    loss: Array  # () loss at theta
    blocks: Array  # (n_blocks,) its blocks
    grad: Array  # (NT,) ∇θ loss at theta
    ref: Array  # () reference loss (at θ0)
    best: Array  # () best loss so far
    window: Array  # () best loss at the start of the stall window
    steps: Array  # () int32
    step_norm: Array  # () |θ_new - θ|
    result: Array  # () int32 RESULTS member


@dataclasses.dataclass(frozen=True)
class Optax:
    """Any ``optax.GradientTransformation`` as a solver (static settings).

    Attributes:
      transformation: e.g. ``optax.adam(1e-3)``.
      atol: converged once the loss is at most ``atol`` (0: off).
      rtol: a run without progress ends ``converged`` if its loss is at most ``rtol``·loss(θ0).
      stall_window, stall: no progress once the best loss fell by less than the fraction
        ``stall`` over ``stall_window`` steps.
      polish: once the best loss is at most rtol·loss(θ0), converged when it fell by less
        than this factor over ``stall_window`` steps.
      divergence: ``diverged`` once the loss exceeds ``divergence``·loss(θ0).

    Example:
      >>> import optax, nnpde
      >>> nnpde.Optax(optax.adam(1e-3)).stall_window
      1000
    """

    transformation: Any
    atol: float = 0.0
    rtol: float = 1e-10
    stall_window: int = 1000
    stall: float = 1e-3
    polish: float = 2.0
    divergence: float = 1e4
    name = "optax"

    def __post_init__(self):
        if not isinstance(self.transformation, optax.GradientTransformation):
            raise TypeError(f"{type(self).__name__}.transformation must be an "
                            f"optax.GradientTransformation, got "
                            f"{type(self.transformation).__name__}")  # fmt: skip
        _nonnegative(self, "atol", "rtol", "stall")
        _positive(self, "polish")
        _positive_int(self, "stall_window")
        d = self.divergence
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 1 < d < float("inf"):
            raise ValueError(f"{type(self).__name__}.divergence must be a finite factor > 1, "
                             f"got {d!r}")  # fmt: skip

    def init(self, objective, data, theta) -> OptaxState:
        (loss, blocks), grad = objective.value_and_grad(theta, data)
        bad = ~jnp.isfinite(loss) | ~jnp.all(jnp.isfinite(grad))
        code = jnp.where(bad, RESULTS.nonfinite, RESULTS.running)
        code = jnp.where(~bad & (loss <= self.atol), RESULTS.converged, code)
        z = jnp.zeros((), jnp.int32)
        return OptaxState(theta, self.transformation.init(theta), loss, blocks, grad, loss,
                          loss, loss, z, jnp.zeros((), theta.dtype),
                          code.astype(jnp.int32))  # fmt: skip

    def _update(self, objective, data, s: OptaxState):
        updates, opt = self.transformation.update(s.grad, s.opt, s.theta)
        cand = optax.apply_updates(s.theta, updates)
        (loss, blocks), grad = objective.value_and_grad(cand, data)
        return cand, opt, loss, blocks, grad

    def step(self, objective, data, s: OptaxState) -> OptaxState:
        """One update from θ and its gradient; the new point's loss and gradient."""
        cand, opt, loss, blocks, grad = self._update(objective, data, s)
        finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(grad)) & jnp.all(jnp.isfinite(cand))
        healthy = finite & (loss <= self.divergence * s.ref)
        keep = lambda new, old: jnp.where(healthy, new, old)  # noqa: E731
        opt = jax.tree_util.tree_map(keep, opt, s.opt)
        d = cand - s.theta
        best = jnp.where(healthy, jnp.minimum(s.best, loss), s.best)
        new = s._replace(theta=keep(cand, s.theta), opt=opt, loss=keep(loss, s.loss),
                         blocks=keep(blocks, s.blocks), grad=keep(grad, s.grad), best=best,
                         steps=s.steps + 1, step_norm=jnp.sqrt(d @ d))  # fmt: skip
        return self._terminate(new, finite, healthy)

    def _terminate(self, new: OptaxState, finite, healthy) -> OptaxState:
        good = new.best <= self.rtol * new.ref
        w_hit, window, _ = window_test(self, new.steps, new.best, new.window, good)
        code = jnp.where(w_hit, jnp.where(good, RESULTS.converged, RESULTS.stalled),
                         RESULTS.running)  # fmt: skip
        code = jnp.where(new.loss <= self.atol, RESULTS.converged, code)
        code = jnp.where(finite & ~healthy, RESULTS.diverged, code)
        code = jnp.where(finite, code, RESULTS.nonfinite)
        return new._replace(window=window, result=code.astype(jnp.int32))

    def terminate(self, state: OptaxState):
        return state.result != RESULTS.running, state.result

    def record(self, objective, state: OptaxState) -> dict:
        return {"loss": state.loss, "blocks": state.blocks, "step_norm": state.step_norm,
                "grad_norm": jnp.sqrt(state.grad @ state.grad)}  # fmt: skip

    def reinit(self, objective, data, state: OptaxState) -> OptaxState:
        """The state at the same θ with new data: loss and gradient again, optimiser kept."""
        (loss, blocks), grad = objective.value_and_grad(state.theta, data)
        return state._replace(loss=loss, blocks=blocks, grad=grad, best=loss, window=loss)


@dataclasses.dataclass(frozen=True)
class LBFGS(Optax):
    """optax's L-BFGS with its zoom line search (``optax.lbfgs``) as a solver.

    Attributes:
      memory_size: number of (s, y) pairs kept.
      max_linesearch_steps: most line-search evaluations per step.
      Others as :class:`Optax` (``transformation`` is built from these).

    Example:
      >>> import nnpde
      >>> nnpde.LBFGS().memory_size
      10
    """

    transformation: Any = None
    memory_size: int = 10
    max_linesearch_steps: int = 20
    stall_window: int = 200
    name = "lbfgs"

    def __post_init__(self):
        _positive_int(self, "memory_size")
        _positive_int(self, "max_linesearch_steps")
        tx = optax.lbfgs(memory_size=self.memory_size, linesearch=optax.scale_by_zoom_linesearch(
            max_linesearch_steps=self.max_linesearch_steps))  # fmt: skip
        object.__setattr__(self, "transformation", tx)
        super().__post_init__()

    def __hash__(self):  # the transformation is rebuilt from the settings: not part of identity
        return hash((type(self), self.memory_size, self.max_linesearch_steps, self.atol,
                     self.rtol, self.stall_window, self.stall, self.polish,
                     self.divergence))  # fmt: skip

    def __eq__(self, other):
        return type(other) is type(self) and hash(other) == hash(self)

    def _update(self, objective, data, s: OptaxState):
        def value_fn(theta):
            return objective.loss_and_blocks(theta, data)[0]

        updates, opt = self.transformation.update(s.grad, s.opt, s.theta, value=s.loss,
                                                  grad=s.grad, value_fn=value_fn)  # fmt: skip
        cand = optax.apply_updates(s.theta, updates)
        (loss, blocks), grad = objective.value_and_grad(cand, data)
        return cand, opt, loss, blocks, grad
