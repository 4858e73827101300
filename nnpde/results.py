"""Why a run stopped: :class:`RESULTS`, decided inside the jitted loop, and its message.

Every solver's state carries ``result`` (an int32 scalar): ``RESULTS.running`` while it runs,
then the member that stopped it. The driver (:mod:`nnpde.engine`) adds the members decided on
the host (``max_steps``, ``time_limit``, ``interrupted``). People read
:func:`describe`'s sentence; programs and tests compare the member
(``sol.result == nnpde.RESULTS.converged``), never the prose (optimistix's ``RESULTS`` is the
model).

    >>> from nnpde.results import RESULTS
    >>> RESULTS.converged.ok, RESULTS.stalled.ok
    (True, False)
"""

from __future__ import annotations

import enum

__all__ = ["RESULTS", "UnderResolvedWarning", "UnderdeterminedWarning", "UnidentifiableWarning",
           "describe"]


class UnderResolvedWarning(UserWarning):
    """``solve``'s kept run fits its collocation points, but the equation's residual between
    them (at the validation points) is far larger than at them (``info["validation"]``,
    ``under_resolved``): the network swings between the points and its error can be large
    whatever the result code says (a linear Schrödinger problem with two 2×20 nets on 1024
    points: ``converged`` at rel-L2 0.53, ratio 1.5e5; ``benchmarks/results/
    heldout-round2-cpu.md``). More collocation points (Sobol' rather than a tensor grid) are
    the remedy. Given once per ``solve``, after its restarts; ``warnings.simplefilter("error",
    nnpde.UnderResolvedWarning)`` makes it an exception."""


class UnderdeterminedWarning(UserWarning):
    """``solve``'s problem has fewer conditions on the faces of an axis than its equation's
    order in that coordinate (orders ≥ 3, :mod:`nnpde.determinacy`): its solution is then one
    of a family, and a run can end ``converged`` at another member of it (KdV, u_xxx, with the
    values at both ends only: rel-L2 2e-5 against 1e-9 with u_x at one end too). Add the
    missing conditions. Given once per ``solve``, before it runs; ``warnings.simplefilter(
    "error", nnpde.UnderdeterminedWarning)`` makes it an exception."""


class UnidentifiableWarning(UserWarning):
    """``solve`` of an inverse problem ended with coefficients that its residuals do not
    determine: their columns of the residual Jacobian are parallel at the solution, or one is
    zero (``info["identifiability"]``, :mod:`nnpde.identifiability`), so the values found are
    one point of a line (or more) of equally good ones, whatever the result code says
    (-κΔu + c u = f with u = sin(πx) sin(πy) fixes only 2π²κ + c: u to 2e-11 and κ, c off by
    147 %). Observations of something else, another solution or fewer coefficients are the
    remedy. Given once per ``solve``; ``warnings.simplefilter("error",
    nnpde.UnidentifiableWarning)`` makes it an exception."""


class RESULTS(enum.IntEnum):
    """How a run ended.

    Members:
      running: not ended (inside the loop only).
      converged: a convergence test held: the loss is at most the solver's ``atol``, or the
        relative loss decrease (``ftol``), the relative step (``xtol``) or the largest cosine
        between the residual and a Jacobian column (``gtol``) fell below its tolerance (LM:
        with a loss at most ``rtol`` times the reference, or a reference at round-off);
        ``solve`` also when two starts in a row stalled at the same loss far below the
        reference (the problem's least-squares floor, e.g. noisy observations).
      max_steps: the step limit was reached while the run was still making progress.
      time_limit: the run reached ``time_limit`` seconds.
      stalled: no useful progress: the LM damping reached its cap without a decrease, or the
        loss fell by less than the solver's ``stall`` fraction over its ``stall_window``
        steps (LM: 15 % over 100 steps, too slow for more steps to change much).
      diverged: the loss grew beyond ``divergence`` times its initial value (first-order
        methods); the last parameters below that are kept.
      nonfinite: the loss or gradient became NaN/Inf; the last finite parameters are kept.
      interrupted: Ctrl-C (KeyboardInterrupt) during the run.
    """

    running = 0
    converged = 1
    max_steps = 2
    time_limit = 3
    stalled = 4
    diverged = 5
    nonfinite = 6
    interrupted = 7

    def __str__(self) -> str:  # "converged", not IntEnum's "1"
        return self.name

    @property
    def ok(self) -> bool:
        """True for ``converged`` (the run ended because it had nothing left to gain)."""
        return self is RESULTS.converged


_MESSAGES = {
    RESULTS.running: "still running",
    RESULTS.converged: "converged",
    RESULTS.max_steps: "reached the step limit while still improving",
    RESULTS.time_limit: "reached the time limit",
    RESULTS.stalled: "stalled: the loss stopped decreasing, or fell too slowly to matter",
    RESULTS.diverged: "diverged: the loss grew far above its initial value",
    RESULTS.nonfinite: "stopped: the loss or its gradient became NaN or Inf",
    RESULTS.interrupted: "interrupted",
}


def describe(result: RESULTS, steps: int, loss: float, detail: str = "") -> str:
    """The status line of a run: the member's message, the steps and the final loss.

    Args:
      result: how it ended.
      steps: steps taken.
      loss: the final loss.
      detail: an optional clause (which test held, where it stalled).
    """
    result = RESULTS(int(result))
    extra = f" ({detail})" if detail else ""
    return f"{_MESSAGES[result]}{extra} after {steps} steps, loss {loss:.3e}"
