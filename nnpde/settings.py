"""The settings objects of :func:`nnpde.solve` and :func:`nnpde.fit`, outside the solver's own.

A solver's mathematics (tolerances, damping, learning rate) lives in the solver object
(:class:`nnpde.LM`, :class:`nnpde.Optax`, ...). What is left is grouped here in small frozen
objects, checked when they are made, so that ``solve`` and ``fit`` keep short signatures:

- :class:`RunOptions`: how a run is driven — step cap, dispatch size, callback, progress bar,
  time limit, checkpoints, resume (``solve`` and ``fit``);
- :class:`ModelOptions`: how the collocation model is built — derivative backend, boundary
  points of penalty conditions, adaptive strategies (``solve``).

Every field may also be given to ``solve``/``fit`` as a keyword of the same name
(``solve(..., steps=300)`` is ``solve(..., options=RunOptions(steps=300))``); a keyword
replaces the field of the object passed with it.

Example:
  >>> import nnpde
  >>> nnpde.RunOptions(steps=300, time_limit=60.0).steps
  300
  >>> nnpde.ModelOptions(boundary_points=0)
  Traceback (most recent call last):
  ...
  ValueError: boundary_points must be a positive int or None, got 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = ["ModelOptions", "RunOptions", "merge"]

def _positive_int_or_none(name, v):
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
        raise ValueError(f"{name} must be a positive int or None, got {v!r}")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a run of :func:`nnpde.solve` or :func:`nnpde.fit` is driven.

    Fields (see :func:`nnpde.solve` for each in full):
      steps: the step cap of each attempt (None: the solver's default, high enough that a run
        ends by its own convergence and stall tests).
      steps_per_call: steps per jitted dispatch (None: up to 1000).
      callback: ``callback(step, loss, theta)`` after each dispatch (it runs inside the run,
        so with the host BLAS at one thread: :mod:`nnpde._blas`).
      progress: a tqdm progress bar (``pip install nnpde[progress]``).
      time_limit: end the run (``RESULTS.time_limit``) after the first dispatch past this many
        seconds.
      checkpoint: a path the full state is written to atomically.
      checkpoint_every: steps between checkpoints (None: each dispatch).
      resume: a checkpoint path to continue from, or True for ``checkpoint`` if it exists.

    Raises:
      ValueError / TypeError: naming the field that is wrong.
    """

    steps: int | None = None
    steps_per_call: int | None = None
    callback: Callable | None = None
    progress: bool = False
    time_limit: float | None = None
    checkpoint: object = None
    checkpoint_every: int | None = None
    resume: object = None

    def __post_init__(self):
        for name in ("steps", "steps_per_call", "checkpoint_every"):
            _positive_int_or_none(name, getattr(self, name))
        t = self.time_limit
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0):
            raise ValueError(f"time_limit must be a positive number of seconds, got {t!r}")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable(step, loss, theta), got "
                            f"{self.callback!r}")  # fmt: skip
        if (self.checkpoint_every is not None or self.resume is True) and self.checkpoint is None:
            raise ValueError("checkpoint_every and resume=True need checkpoint=path")


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """How :func:`nnpde.solve` builds its collocation model.

    Fields (see :func:`nnpde.solve` for each in full):
      backend: "kernels" (hand-written derivatives; the default for a ``TwoLayerNet``) or
        "autodiff" (same numbers; the only choice for an ``MLP``); None: by the network
        (checked with the network, :func:`nnpde.derivatives.for_backend`).
      boundary_points: points per condition imposed by penalty (None: matched to the
        interior spacing, :func:`nnpde.penalties.condition_count`).
      adapt: strategies that change the collocation data between dispatches
        (:class:`nnpde.adaptive.ResidualAdaptive`, :class:`nnpde.adaptive.GradientBalance`);
        a list is kept as a tuple.

    Raises:
      ValueError: naming the field that is wrong.
    """

    backend: object = None
    boundary_points: int | None = None
    adapt: tuple = ()

    def __post_init__(self):
        _positive_int_or_none("boundary_points", self.boundary_points)
        adapt = self.adapt
        if adapt is None or isinstance(adapt, (str, bytes)) or not hasattr(adapt, "__iter__"):
            raise TypeError(f"adapt must be a tuple of strategies, got {adapt!r}")
        object.__setattr__(self, "adapt", tuple(adapt))


def merge(cls, given, keywords: dict, name: str):
    """``given`` (a ``cls`` or None) with the fields named in ``keywords`` replaced; those
    keywords are removed from the dict (the caller refuses what is left)."""
    if given is None:
        given = cls()
    elif not isinstance(given, cls):
        raise TypeError(f"{name} must be a nnpde.{cls.__name__}, got {type(given).__name__}")
    fields = {f.name for f in dataclasses.fields(cls)}
    mine = {k: keywords.pop(k) for k in list(keywords) if k in fields}
    return dataclasses.replace(given, **mine) if mine else given
