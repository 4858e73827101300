"""A run explained in words, from its result code, history and validation residual.

:func:`diagnose` (``Solution.diagnose()``) reads only what a :class:`nnpde.Solution` holds, so
it works on a loaded solution too. It says how the run ended, how far the loss fell and how
fast at the end, which residual block dominates, what the LM damping did, and whether the
residual between the points is much larger than at them (too few points, or a tensor grid that
aliases), with what to try next.
"""

from __future__ import annotations

import numpy as np

__all__ = ["diagnose"]

ADVICE = {
    "stalled": "try another seed (key=), more points, or a larger network; a stall far above "
               "round-off usually means a poor local minimum",
    "capacity": "a wider network (or more points): starts from new seeds stalled at about "
                "the same loss, far below the first, which is what this network can do",
    "max_steps": "the loss was still falling: give more steps=",
    "time_limit": "the loss was still falling: give a longer time_limit=",
    "diverged": "lower the learning rate, or use LM",
    "nonfinite": "check the equation and boundary data for NaN/Inf (division by zero, log of "
                 "a negative number)",
}


def _orders(a: float, b: float) -> float:
    return float(np.log10(max(a, 1e-300) / max(b, 1e-300)))


def _loss_lines(h: dict) -> list[str]:
    loss = np.asarray(h.get("loss", []), float)
    if loss.size == 0:
        return ["no steps were taken"]
    lines = [f"loss {loss[0]:.3e} after the first step, {loss[-1]:.3e} at the end "
             f"({_orders(loss[0], loss[-1]):.1f} orders of magnitude)"]
    tail = loss[-min(50, loss.size):]
    if tail.size > 1:
        lines.append(f"over the last {tail.size} steps it fell by a factor "
                     f"{tail[0] / max(tail[-1], 1e-300):.3g}")
    return lines


def _block_lines(h: dict, names) -> list[str]:
    blocks = np.asarray(h.get("blocks", []), float)
    if blocks.ndim != 2 or blocks.shape[0] == 0 or len(names) != blocks.shape[1]:
        return []
    last = blocks[-1]
    total = max(float(last.sum()), 1e-300)
    parts = ", ".join(f"{n} {v:.2e} ({100 * v / total:.0f}%)" for n, v in zip(names, last))
    return [f"final loss by block: {parts}"]


def _lm_lines(h: dict) -> list[str]:
    if "mu" not in h or len(h["mu"]) == 0:
        return []
    mu = np.asarray(h["mu"], float)
    acc = np.asarray(h.get("accepted", np.ones_like(mu)), float)
    return [f"LM damping μ ended at {mu[-1]:.1e} (least {mu.min():.1e}); "
            f"{100 * acc.mean():.0f}% of steps accepted"]


def _validation_lines(v) -> list[str]:
    if not v:
        return []
    line = (f"interior residual RMS {v['train_rms']:.2e} at the training points, "
            f"{v['validation_rms']:.2e} at {v['points']} other points (ratio {v['ratio']:.3g})")
    if v.get("under_resolved"):
        line += ": the points under-resolve the solution; use more points (Sobol' rather " \
                "than a tensor grid)"  # fmt: skip
    return [line]


def diagnose(sol) -> str:
    """The summary of a solution's run (several lines).

    Args:
      sol: a :class:`nnpde.Solution`.

    Example:
      >>> import nnpde
      >>> p = nnpde.problems.lagaris_pde1().problem
      >>> sol = nnpde.solve(p, nnpde.TwoLayerNet(2, (10, 10)), p.domain.grid(10))
      >>> print(sol.diagnose().splitlines()[0])  # doctest: +ELLIPSIS
      converged ... steps, loss ...
    """
    result = sol.result
    lines = [sol.status or "no status"]
    lines += _loss_lines(sol.history)
    lines += _block_lines(sol.history, sol.info.get("blocks", ()))
    lines += _lm_lines(sol.history)
    lines += _validation_lines(sol.info.get("validation"))
    advice = "capacity" if sol.info.get("capacity") else getattr(result, "name", None)
    if advice in ADVICE:
        lines.append("next: " + ADVICE[advice])
    return "\n".join(lines)
