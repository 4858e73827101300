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

from nnpde.lm import good_loss
from nnpde.results import RESULTS

__all__ = ["Adapt", "Callback", "Hook", "Progress", "TimeLimit", "ValidatedPolish"]


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
class ValidatedPolish(Hook):
    """LM's polish rule (:class:`nnpde.LM`: ``polish``, ``polish_windows``, ``stall_window``)
    judged on the *validated* loss: the run has converged once its loss is good (≤ rtol ×
    the reference) and ``score(run)`` fell by less than the factor ``polish`` in each of
    ``windows`` consecutive windows of ``window`` steps.

    ``score`` is the loss with its interior part taken at points not trained on (``solve``'s
    validation set), so this stops a run whose loss still falls at its points while the
    residual between them no longer does: the net is then fitting the points, not the
    solution. Kovasznay (three 2×16 nets, 1024 points, seed 0) ran 813 steps, its loss
    falling ≈ 2.5× per 100 steps from step 400 while the validation RMS fell 1.1–1.4× per
    100 steps (ratio to the training RMS 3.7 → 11) and rel-L2 2.2e-8 → 9e-9.

    ``run.info["validated"]``: the steps and validated losses at each window's end, and
    ``ended`` (whether this rule ended the run).
    """

    score: Callable
    window: int
    polish: float
    windows: int
    rtol: float
    every: int | None = None

    def __post_init__(self) -> None:
        self.every = self.window if self.every is None else self.every

    def start(self, run) -> None:
        self._at, self._last, self._slow = run.done, None, 0
        self._record = run.info.setdefault("validated", {"steps": [], "loss": [], "ended": False})

    def after(self, run) -> None:
        if run.result is not None or run.done - self._at < self.window:
            return
        self._at = run.done
        value = float(self.score(run))
        self._record["steps"].append(run.done)
        self._record["loss"].append(value)
        good = bool(good_loss(self.rtol, run.loss, float(run.state.ref), run.state.scale,
                              run.objective.shards.nres))  # fmt: skip
        slow = good and self._last is not None and value * self.polish > self._last
        self._slow, self._last = (self._slow + 1 if slow else 0), value
        if self._slow >= self.windows:
            self._record["ended"] = True
            run.result = RESULTS.converged
            run.detail = (f"the validated loss fell by less than a factor {self.polish:g} in "
                          f"each of {self.windows} windows of {self.window} steps")


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
