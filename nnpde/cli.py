"""``python -m nnpde`` / ``nnpde``: the main job.

By default it solves Lagaris et al.'s PDE problem 1 (Poisson on the unit square with Dirichlet
data, IEEE TNN 9 (1998) 987) with Levenberg-Marquardt on the exact Jacobian, prints the error on a
101 x 101 test grid and the time, and writes a PNG of the solution and its error (when matplotlib
is installed). ``--check-kernels`` instead compares every hand-written kernel with its autodiff
twin and prints the differences and times.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]

_KERNELS = (
    "value",
    "grad_theta",
    "grad_x",
    "hessian_x",
    "laplacian_x",
    "grad_x_theta",
    "hessian_x_theta",
    "laplacian_x_theta",
)
_VJPS = {"value_vjp": (), "grad_x_vjp": ("D",), "hessian_x_vjp": ("D", "D"), "laplacian_x_vjp": ()}


def _parser() -> argparse.ArgumentParser:
    from nnpde.activations import list_activations

    p = argparse.ArgumentParser(
        prog="nnpde",
        description="Solve Lagaris et al.'s PDE problem 1 with nnpde and report the error and "
        "the time (or, with --check-kernels, compare the hand-written kernels with autodiff).",
    )
    p.add_argument("--method", default="lm", choices=("lm", "gn-cg", "adam", "lbfgs"),
                   help="solver (default lm: Levenberg-Marquardt)")  # fmt: skip
    p.add_argument("--steps", type=int, default=None,
                   help="step cap (default: the solver's; runs stop when converged or "
                        "stalled)")  # fmt: skip
    p.add_argument("--grid", type=int, default=10,
                   help="interior collocation grid, points per axis (default 10)")  # fmt: skip
    p.add_argument(
        "--hidden", type=int, nargs=2, default=None, metavar=("M1", "M2"),
        help="hidden widths (default 10 10; 32 32 with --check-kernels)",
    )  # fmt: skip
    p.add_argument("--activation", default="tanh", choices=list_activations(), help="default tanh")
    p.add_argument("--backend", default="kernels", choices=("kernels", "autodiff"),
                   help="derivatives: hand-written kernels (default) or autodiff")  # fmt: skip
    p.add_argument("--learning-rate", type=float, default=1e-2, help="Adam's (default 1e-2)")
    p.add_argument(
        "--png", default="nnpde-solution.png", help="picture of the solution and its error"
    )
    p.add_argument("--no-png", action="store_true", help="do not write the picture")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="write the optimiser state there (atomically) as the run goes, and on "
                        "Ctrl-C")  # fmt: skip
    p.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                   help="steps between checkpoints (default: steps/20)")  # fmt: skip
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if that file exists")  # fmt: skip
    p.add_argument("--float32", action="store_true", help="run in float32 (default float64)")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    p.add_argument(
        "--check-kernels", action="store_true", help="compare the kernels with autodiff instead"
    )
    p.add_argument("--dim", type=int, default=2, help="--check-kernels: input dimension D")
    p.add_argument("--points", type=int, default=256, help="--check-kernels: number of points")
    p.add_argument("--repeats", type=int, default=5, help="--check-kernels: timed calls")
    p.add_argument("--compilation-cache", nargs="?", const="", default=None, metavar="DIR",
                   help="keep XLA's compiled programs in DIR (default ~/.cache/nnpde/xla), so "
                   "that the next run reads them back instead of compiling: "
                   "nnpde.use_compilation_cache")  # fmt: skip
    return p


def _time(fn, repeats):
    out = fn()
    out.block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn().block_until_ready()
        times.append(time.perf_counter() - t0)
    return out, sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for bad arguments, via argparse)."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("dim", "points", "repeats", "grid"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if (args.resume or args.checkpoint_every is not None) and args.checkpoint is None:
        parser.error("--resume and --checkpoint-every need --checkpoint PATH")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        parser.error(f"--checkpoint-every must be >= 1, got {args.checkpoint_every}")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    if args.hidden is not None and min(args.hidden) < 1:
        parser.error(f"--hidden widths must be >= 1, got {args.hidden}")
    if not args.learning_rate > 0:
        parser.error(f"--learning-rate must be > 0, got {args.learning_rate}")

    import jax

    if not args.float32:
        jax.config.update("jax_enable_x64", True)
    if args.compilation_cache is not None:
        from nnpde.compile_cache import use_compilation_cache

        print(f"compilation cache: {use_compilation_cache(args.compilation_cache or None)}")
    if args.check_kernels:
        return _check_kernels(args)
    return _solve(args)


def _solve(args) -> int:
    import jax

    import nnpde

    problem = nnpde.problems.lagaris_pde1().problem
    hidden = tuple(args.hidden) if args.hidden else (10, 10)
    net = nnpde.TwoLayerNet(2, hidden, args.activation)
    solver = args.method
    if args.method == "adam":
        import optax

        solver = nnpde.Optax(optax.adam(args.learning_rate))
    steps = args.steps or nnpde.runs.default_steps(nnpde.runs.make_solver(solver))
    print(
        f"nnpde {nnpde.__version__}: Lagaris et al. (1998) PDE problem 1, {net!r} "
        f"(NT={net.num_params}), {args.grid}x{args.grid} interior grid, method={args.method}, "
        f"backend={args.backend}, {'float32' if args.float32 else 'float64'}, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    ckpt = {}
    if args.checkpoint is not None:
        ckpt = {"checkpoint": args.checkpoint, "resume": True if args.resume else None,
                "checkpoint_every": args.checkpoint_every or max(1, steps // 20)}  # fmt: skip
    t0 = time.perf_counter()
    sol = nnpde.solve(problem, net, problem.domain.grid(args.grid), solver=solver, steps=steps,
                      key=jax.random.key(args.seed), backend=args.backend, **ckpt)  # fmt: skip
    if sol.result == nnpde.RESULTS.interrupted:
        where = (f"the state is saved in {args.checkpoint}; continue with --resume"
                 if args.checkpoint else "nothing saved (no --checkpoint)")  # fmt: skip
        print(f"interrupted: {where}", file=sys.stderr)
        return 130
    wall = time.perf_counter() - t0
    err = sol.errors()
    print(f"result: {sol.result.name}: {sol.status}")
    print(
        f"error on a 101x101 test grid: max-abs {err['max_abs']:.3e}, relative L2 "
        f"{err['rel_l2']:.3e}"
    )
    print(
        f"time: {wall:.2f} s in solve (first jitted call incl. compilation "
        f"{sol.info['first_call_s']:.2f} s), {len(sol.history['loss'])} steps"
    )
    if not args.no_png:
        _picture(sol, args.png)
    return 0


def _picture(sol, path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no picture (pip install matplotlib)")
        return
    import jax
    import numpy as np

    n = 101
    g = np.linspace(0.0, 1.0, n)
    pts = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    psi = np.asarray(sol(pts)).reshape(n, n)
    exact = np.asarray(jax.vmap(sol.problem.exact)(jax.numpy.asarray(pts))).reshape(n, n)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    im = axes[0].pcolormesh(g, g, psi.T, shading="auto")
    axes[0].set(title="ψ(x, y): nnpde solution", xlabel="x", ylabel="y")
    fig.colorbar(im, ax=axes[0])
    im = axes[1].pcolormesh(g, g, np.abs(psi - exact).T, shading="auto")
    axes[1].set(title="|ψ - exact|", xlabel="x", ylabel="y")
    fig.colorbar(im, ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def _check_kernels(args) -> int:
    import jax
    import jax.numpy as jnp
    import numpy as np

    import nnpde
    from nnpde import autodiff, kernels

    dtype = jnp.float32 if args.float32 else jnp.float64
    hidden = tuple(args.hidden) if args.hidden else (32, 32)
    net = nnpde.TwoLayerNet(args.dim, hidden, args.activation)
    kt, kx, kw = jax.random.split(jax.random.key(args.seed), 3)
    theta = 2 * net.init(kt, dtype)  # x2: activations well outside their linear range
    x = jax.random.uniform(kx, (args.points, args.dim), dtype, -1.0, 1.0)
    sizes = {"D": args.dim}
    print(
        f"nnpde {nnpde.__version__}: {net!r}, NT={net.num_params}, P={args.points}, "
        f"{jnp.dtype(dtype).name}, jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    header = f"{'kernel':<18} {'max rel diff':>12} {'hand ms':>9} {'autodiff ms':>11} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    calls = [(name, ()) for name in _KERNELS] + list(_VJPS.items())
    for name, wshape in calls:
        extra = ()
        if name in _VJPS:
            shape = (args.points,) + tuple(sizes[s] for s in wshape)
            extra = (jax.random.normal(kw, shape, dtype),)
        order = {"value": 0, "grad_theta": 1, "grad_x": 1, "value_vjp": 1}.get(name, 2)
        if name in ("hessian_x_theta", "laplacian_x_theta", "hessian_x_vjp", "laplacian_x_vjp"):
            order = 3
        if order > net.activation.order:
            print(f"{name:<18} {'(needs f^(' + str(order) + '))':>12}")
            continue
        hand, t_hand = _time(lambda n=name, e=extra: getattr(kernels, n)(net, theta, x, *e),
                             args.repeats)  # fmt: skip
        auto, t_auto = _time(lambda n=name, e=extra: getattr(autodiff, n)(net, theta, x, *e),
                             args.repeats)  # fmt: skip
        hand, auto = np.asarray(hand), np.asarray(auto)
        scale = max(float(np.max(np.abs(auto))), np.finfo(auto.dtype).tiny)
        rel = float(np.max(np.abs(hand - auto))) / scale
        worst = max(worst, rel)
        print(
            f"{name:<18} {rel:>12.2e} {t_hand * 1e3:>9.3f} {t_auto * 1e3:>11.3f} "
            f"{t_auto / t_hand:>6.1f}"
        )
    print(f"largest relative difference from autodiff: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
