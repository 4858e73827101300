"""Compilations of repeated ``solve(..., mesh=...)`` calls (one CPU device as a mesh).

Three identical LM solves of Lagaris PDE 1 (2×6×6 net, 8² points, 20 boundary points, 5 steps)
on the same mesh; for each, the wall time and the number of XLA compilations (``jax.monitoring``
``backend_compile_duration`` events). A solve after the first should compile nothing.

    PYTHONPATH=.:tests python benchmarks/mesh_compile.py [label]
"""

from __future__ import annotations

import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.monitoring  # noqa: E402
from problems_for_tests import lagaris_pde1  # noqa: E402

import nnpde  # noqa: E402

_events: list[str] = []


def _listen(name: str, seconds: float, **_) -> None:
    if name.endswith("backend_compile_duration"):
        _events.append(name)


def main(label: str = "") -> list[tuple[float, int]]:
    """[(wall s, compilations)] of three identical meshed solves."""
    jax.monitoring.register_event_duration_secs_listener(_listen)
    problem, net = lagaris_pde1(), nnpde.TwoLayerNet(2, (6, 6))
    mesh = nnpde.distributed.make_mesh()
    out = []
    for _ in range(3):
        start, t0 = len(_events), time.perf_counter()
        nnpde.solve(problem, net, problem.domain.grid(8), method="lm", steps=5,
                    boundary_points=20, mesh=mesh)  # fmt: skip
        out.append((round(time.perf_counter() - t0, 2), len(_events) - start))
    print(label, out)
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
