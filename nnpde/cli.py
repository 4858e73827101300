"""``python -m nnpde`` / ``nnpde``: the main job.

For now it builds a network, evaluates every hand-written kernel and VJP on a batch of points,
and prints each one's largest relative difference from its autodiff twin and both run times.
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
        description="Check nnpde's hand-written derivative kernels against JAX autodiff: "
        "prints the largest relative difference and the run time of each.",
    )
    p.add_argument("--dim", type=int, default=2, help="input dimension D (default 2)")
    p.add_argument(
        "--hidden", type=int, nargs=2, default=(32, 32), metavar=("M1", "M2"),
        help="hidden widths (default 32 32)",
    )  # fmt: skip
    p.add_argument("--activation", default="tanh", choices=list_activations(), help="default tanh")
    p.add_argument("--points", type=int, default=256, help="number of points P (default 256)")
    p.add_argument("--float32", action="store_true", help="run in float32 (default float64)")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per kernel (default 5)")
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
    for name in ("dim", "points", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if min(args.hidden) < 1:
        parser.error(f"--hidden widths must be >= 1, got {args.hidden}")

    import jax

    if not args.float32:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np

    import nnpde
    from nnpde import autodiff, kernels

    dtype = jnp.float32 if args.float32 else jnp.float64
    net = nnpde.TwoLayerNet(args.dim, tuple(args.hidden), args.activation)
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
