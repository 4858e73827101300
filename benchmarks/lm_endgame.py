"""What limits LM's end game on a problem: the linear algebra or the model (issue 16).

Runs ``solve``'s LM (defaults) for ``--steps`` steps from the default start of a robustness
problem (``benchmarks/robustness_problems.py``; no restarts, no validation), then, at that θ:

- the singular values of the residual Jacobian J (R x NT'): largest, smallest, quantiles, and
  how many lie above 1e-8 of the largest;
- for damping μ from 1e-16 to 1e-8 (times LM's scaling D), the step from the normal equations
  (Cholesky of JᵀJ + μD, what LM does) and from a least-squares solve of the augmented system
  [J; √(μD)] δ = -[r; 0] (numpy's SVD-based ``lstsq``, which never forms JᵀJ): the loss the
  linear model predicts, the loss actually reached at θ + δ, and |δ|.

If the two steps reach the same loss, the normal equations lose nothing to round-off and what
limits the step is the model: a step the linear model trusts raises the true loss. Writes a
markdown report (``--out``) with the machine and the command.

    PYTHONPATH=. python benchmarks/lm_endgame.py --problem kovasznay --steps 400 \\
        --out benchmarks/results/lm-endgame-kovasznay-cpu.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import robustness_problems as rp  # noqa: E402

import nnpde  # noqa: E402
from nnpde import _blas, solvers  # noqa: E402
from nnpde.collocation import make_collocation  # noqa: E402
from nnpde.distributed import make_shards  # noqa: E402
from nnpde.objective import Objective  # noqa: E402

MUS = (1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-8)


def lm_state(name: str, steps: int, seed: int):
    """(collocation, data, LM state after ``steps`` LM steps) from solve's default start."""
    case = rp.PROBLEMS[name]()
    problem = case.problem
    net = nnpde.TwoLayerNet(problem.dim, case.hidden)
    key = jax.random.key(seed)
    k_init, k_pts, _ = jax.random.split(key, 3)
    theta, _ = solvers._theta0(problem, net, None, k_init, case.points)
    x = solvers._points(problem, case.points, k_pts, theta.dtype)
    backend = solvers._check_net(problem, net, None)
    col, data = make_collocation(problem, net, x, **solvers.kw_model(None, key, backend,
                                                                      theta.dtype))  # fmt: skip
    theta = solvers._default_start(problem, net, col, data, theta, k_init,
                                   solvers._output_scales(col, data))  # fmt: skip
    obj = Objective(col, make_shards(col, data, theta, None))
    cfg = nnpde.LM()
    state = cfg.init(obj, data, theta)
    run = jax.jit(lambda s: jax.lax.fori_loop(0, steps, lambda i, t: cfg.step(obj, data, t), s))
    with _blas.limited():
        state = run(state)
    return col, data, state


def steps_table(col, data, state):
    """(table rows, J's shape, J's singular values, the loss): per μ the loss reached, the
    loss the linear model predicts and |δ|, for the Cholesky and the lstsq step."""
    theta = state.theta
    r = np.asarray(col.residuals(theta, data))
    J = np.asarray(col.jacobian(theta, data))
    scale, gram, jtr = (np.asarray(a) for a in (state.scale, state.gram, state.JTr))

    def loss_at(delta):
        return 0.5 * float(jnp.mean(col.residuals(theta + jnp.asarray(delta), data) ** 2))

    def model(delta):
        return 0.5 * float(np.mean((r + J @ delta) ** 2))

    rows = []
    for mu in MUS:
        cells = [f"{mu:.0e}"]
        try:
            cf = scipy.linalg.cho_factor(gram + np.diag(mu * scale))
            d = -scipy.linalg.cho_solve(cf, jtr)
            cells += [f"{loss_at(d):.3e}", f"{model(d):.3e}", f"{np.linalg.norm(d):.2e}"]
        except (np.linalg.LinAlgError, ValueError):
            cells += ["not positive definite", "—", "—"]
        a = np.vstack([J, np.diag(np.sqrt(mu * scale))])
        d = np.linalg.lstsq(a, -np.concatenate([r, np.zeros(J.shape[1])]), rcond=None)[0]
        cells += [f"{loss_at(d):.3e}", f"{model(d):.3e}", f"{np.linalg.norm(d):.2e}"]
        rows.append("| " + " | ".join(cells) + " |")
    sv = np.linalg.svd(J, compute_uv=False)
    return rows, J.shape, sv, 0.5 * float(np.mean(r * r))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problem", default="kovasznay", choices=sorted(rp.PROBLEMS))
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    col, data, state = lm_state(args.problem, args.steps, args.seed)
    rows, shape, sv, loss = steps_table(col, data, state)
    quant = ", ".join(f"{q:.0%} {v:.1e}" for q, v in zip((0.5, 0.8, 0.9, 0.95),
                                                         np.quantile(sv, (0.5, 0.8, 0.9, 0.95))))
    lines = [
        f"# LM's end game on `{args.problem}` (seed {args.seed}, after {args.steps} steps)", "",
        f"Command: `python benchmarks/lm_endgame.py {' '.join(argv or sys.argv[1:])}`  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()},"
        f" jax {jax.__version__}, float64  ", "",
        f"State: loss {loss:.3e}, μ {float(state.mu):.2e}, result code {int(state.result)}. "
        f"J is {shape[0]} x {shape[1]}: singular values {sv[0]:.2e} … {sv[-1]:.2e} "
        f"(quantiles {quant}); {int((sv > 1e-8 * sv[0]).sum())} above 1e-8 of the largest.", "",
        "| μ | Cholesky: loss | model | \\|δ\\| | lstsq: loss | model | \\|δ\\| |",
        "|---|---:|---:|---:|---:|---:|---:|", *rows, "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
