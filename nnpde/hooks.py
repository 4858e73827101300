"""What runs between the jitted dispatches of a run (:mod:`nnpde.engine`): hooks.

A hook is a small object with ``every`` (the longest dispatch it wants, or None) and the methods
``start(run)``, ``after(run)`` (after each dispatch; it may end the run by setting
``run.result``, or change ``run.data`` and call ``run.reinit()``), ``interrupt(run)``
(Ctrl-C) and ``close(run)``. :class:`Hook` gives them all as no-ops. Adding a hook touches no
solver.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from nnpde.results import RESULTS

__all__ = ["Adapt", "Callback", "Hook", "Progress", "TimeLimit"]


class Hook:
    """The no-op hook (a base class)."""

    every: int | None = None

    def start(self, run) -> None:
        """Before the first dispatch (a resume loads its state here)."""

    def after(self, run) -> None:
        """After each dispatch."""

    def interrupt(self, run) -> None:
        """On Ctrl-C, before the run returns ``interrupted``."""

    def close(self, run) -> None:
        """At the end, however the run ended."""


@dataclasses.dataclass
class Progress(Hook):
    """A tqdm progress bar (nothing when tqdm is not installed: ``pip install nnpde[progress]``)."""

    total: int
    every: int | None = None
    bar: object = None

    def start(self, run) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=self.total, initial=run.done, desc="nnpde")
        self._last = run.done

    def after(self, run) -> None:
        if self.bar is not None:
            self.bar.update(run.done - self._last)
            self._last = run.done
            self.bar.set_postfix(loss=f"{run.loss:.3e}")

    def close(self, run) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclasses.dataclass
class Callback(Hook):
    """``fn(step, loss, theta)`` after each dispatch of at most ``every`` steps."""

    fn: Callable
    every: int | None = None

    def after(self, run) -> None:
        self.fn(run.done, run.loss, run.theta())


@dataclasses.dataclass
class TimeLimit(Hook):
    """Ends the run ``time_limit`` after the first dispatch that ends past ``seconds``."""

    seconds: float
    every: int | None = None

    def after(self, run) -> None:
        if run.result is None and time.perf_counter() - run.t_start >= self.seconds:
            run.result = RESULTS.time_limit
            run.detail = f"{self.seconds:g} s"


@dataclasses.dataclass
class Adapt(Hook):
    """Strategies of :mod:`nnpde.adaptive` applied every ``strategy.every`` steps; what they
    did is recorded in ``run.info["adapt"]`` and the final points in
    ``run.info["points_final"]``."""

    strategies: tuple
    every: int | None = None

    def __post_init__(self):
        self.every = min(s.every for s in self.strategies)
        self.records = []
        self._last = 0

    def start(self, run) -> None:
        self._last = run.done

    def after(self, run) -> None:
        prev, self._last = self._last, run.done
        if run.result is not None or run.done >= run.steps:
            return
        changed = False
        for a in self.strategies:
            if run.done // a.every > prev // a.every:
                run.data, rec = a(run.objective.model, run.data, run.theta(),
                                  run.done // a.every)  # fmt: skip
                self.records.append(dict(rec, step=run.done, strategy=type(a).__name__))
                changed = True
        if changed:
            run.reinit()

    def close(self, run) -> None:
        import numpy as np

        run.info["adapt"] = self.records
        run.info["points_final"] = np.asarray(run.data.x)
