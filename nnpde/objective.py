"""The objective a solver minimises: a model's residuals, summed over the devices of a run.

A *model* (:class:`nnpde.collocation.Collocation` for any number of unknowns,
:class:`nnpde.fit.DataFit`) is a static, hashable object with methods over a flat θ (NT,) and
a data pytree: ``residuals(θ, data) -> (R,)``, ``residuals_and_jacobian(θ, data)`` and
``loss(θ, data)``. Optional methods make the least-squares solvers cheaper: ``gram`` (JᵀJ and
Jᵀr accumulated over blocks of points), ``linearize`` (J v and Jᵀu without forming J),
``gram_diagonal`` (the squared column norms of J), and ``blocks(data)``: the names and sizes of
consecutive residual blocks (interior, each boundary condition, observations), used for the
per-block losses of the history.

:class:`Objective` puts a model and the run's :class:`nnpde.distributed.Shards` together, so
that a solver asks for global quantities (the loss over all residuals, JᵀJ summed over
devices) and never sees the sharding. All methods are traced inside the solver's jitted loop.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from nnpde.distributed import Shards

__all__ = ["Objective", "block_names"]

Array = jax.Array


def _blocks(model, data, num_residuals: int):
    if hasattr(model, "blocks"):
        return model.blocks(data)
    return (("loss", num_residuals),)


def block_names(model, data) -> tuple[str, ...]:
    """Names of the model's residual blocks (``("loss",)`` for a model without ``blocks``)."""
    return tuple(name for name, _ in _blocks(model, data, 0))


@dataclasses.dataclass(frozen=True)
class Objective:
    """A model and the sharding of its residuals (static: a jit argument).

    Attributes:
      model: the model (see the module docstring).
      shards: how the residuals are split over devices (:func:`nnpde.distributed.make_shards`).
    """

    model: object
    shards: Shards

    @property
    def least_squares(self) -> bool:
        """True when the loss is ½·mean(r²) of the residuals (collocation, not data fits)."""
        return hasattr(self.model, "blocks")

    # ---- values ---------------------------------------------------------------------------
    def residuals(self, theta, data) -> Array:
        """This device's residuals (R_local,)."""
        return self.model.residuals(self.shards.local(theta), data)

    def half_mean_sq(self, r) -> Array:
        """½·Σr²/R over all devices from this device's residuals r."""
        return self.shards.half_mean_sq(r)

    def blocks(self, r, data) -> Array:
        """Per-block losses ½·Σ_{block} r²/R over all devices: (n_blocks,); they add up to
        the loss ½·mean(r²)."""
        out, start = [], 0
        for _, size in _blocks(self.model, data, r.shape[0]):
            part = r[start:start + size]
            out.append(self.shards.sum(0.5 * jnp.sum(part * part)) / self.shards.nres)
            start += size
        return jnp.stack(out)

    def loss_and_blocks(self, theta, data):
        """(loss (), per-block losses (n_blocks,)): the quantity a solver minimises. For a
        least-squares model the loss is ½·mean(r²); otherwise ``model.loss`` (one block)."""
        if self.least_squares:
            r = self.residuals(theta, data)
            return self.half_mean_sq(r), self.blocks(r, data)
        loss = self.shards.loss(self.model.loss(self.shards.local(theta), data))
        return loss, loss[None]

    # ---- derivatives ----------------------------------------------------------------------
    def gram(self, theta, data):
        """(r local (R_local,), JᵀJ (NT, NT), Jᵀr (NT,)) at θ, summed over devices."""
        t = self.shards.local(theta)
        if hasattr(self.model, "gram_with_residuals"):
            r, JTJ, JTr = self.model.gram_with_residuals(t, data)
        else:
            r, J = self.model.residuals_and_jacobian(t, data)
            JTJ, JTr = J.T @ J, J.T @ r
        return r, self.shards.sum(JTJ), self.shards.sum(JTr)

    def linearize(self, theta, data):
        """(r local, v ↦ J v local, u local ↦ Jᵀu summed over devices)."""
        from nnpde.matfree import linear_maps

        r, jvp, vjp = linear_maps(self.model, data, self.shards.local(theta))
        return (r, lambda v: jvp(self.shards.local(v)),
                lambda u: self.shards.sum(vjp(u)))  # fmt: skip

    def gram_diagonal(self, theta, data) -> Array:
        """diag(JᵀJ) (NT,) summed over devices."""
        from nnpde.matfree import gram_diagonal

        return self.shards.sum(gram_diagonal(self.model, data, self.shards.local(theta)))

    def value_and_grad(self, theta, data):
        """((loss, blocks), ∇θ loss): the loss by :meth:`loss_and_blocks`, its gradient by
        ``jax.value_and_grad`` (the hand-written VJPs where the model has them)."""
        return jax.value_and_grad(self.loss_and_blocks, has_aux=True)(theta, data)
