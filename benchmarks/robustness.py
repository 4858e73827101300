"""Robustness of ``nnpde.solve`` with its defaults, over many problems and seeds (issue 16, item 4).

Every problem of ``benchmarks/robustness_problems.py`` (33 problems from DeepXDE's and jinns'
example sets, PINNacle, Krishnapriyan et al. 2021, Lagaris et al. 1998, ..., each with an exact
or high-accuracy reference) is solved as a new user would: the user picks only the problem, a
``TwoLayerNet`` of 2×16 .. 2×32 tanh units and a number of (Sobol') collocation points, and
calls ``nnpde.solve(problem, net, n_points, key=jax.random.key(seed))`` with every other
setting at the library's default, for 10 seeds. Adam (``method="adam"``) and L-BFGS
(``method="lbfgs"``) get the same wall time as LM's median on that problem (``time_limit=``,
with a step count that is never reached).

Each run is scored on a fine test set that never contains the training points (the domain's
test grid with its boundary: 10001 points in 1-D, 101² in 2-D, 22³ in 3-D, ≈10⁴ grid points in
the disk; 10⁴ Halton points beyond): the relative L2 error (for a system, the largest over its
components) and the max-abs error; for an inverse problem the score is the larger of u's
relative L2 error and the coefficients' relative error. The wall time includes compilation
(JAX's caches are cleared before every run, as for a new process). Reported per problem and
method: success rates at rel-L2 ≤ 1e-6 and ≤ 1e-4, median and worst error, median wall time and
how the runs ended. The JSON beside the report also keeps, per run, ``solve``'s validation
(the interior residual's RMS at the training points and at as many unseen Sobol' points, and
their ratio) and the reason each restarted attempt was restarted (:func:`run_info`).

    python benchmarks/robustness.py                       # everything: 33 problems × 10 seeds
    python benchmarks/robustness.py --quick               # smoke test: 3 problems × 2 seeds
    python benchmarks/robustness.py --problems heat_1d wave_1d --seeds 3 --methods lm
    python benchmarks/robustness.py --out results/robustness-cpu.md   # and .json beside it
    python benchmarks/robustness.py --first-seed 3 --seeds 7 --out b.md   # seeds 3-9 only
    python benchmarks/robustness.py --report a.json b.json --out all.md   # merged into one
    python benchmarks/robustness.py --peers --problems ...   # jinns on the peer problems
    python benchmarks/robustness.py --peers --jinns-method ssbroyden   # jinns' SSBroyden
    python benchmarks/robustness.py --peers --peer deepxde   # DeepXDE's Adam + L-BFGS on them

The call to ``solve`` is isolated in :func:`solve_once` (the engine's API is changing).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnpde  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import robustness_problems  # noqa: E402

PROBLEMS = robustness_problems.PROBLEMS
METHODS = ("lm", "adam", "lbfgs")
SEEDS = 10
THRESHOLDS = (1e-6, 1e-4)
QUICK = ("poisson_2d_sinsin", "heat_1d", "stiff_linear_system")
# Adam / L-BFGS under a time limit: a step count they never reach, and steps per dispatch that
# bound the overshoot past the limit (checked between dispatches) to a fraction of a second.
TIMED_STEPS = 10_000_000
STEPS_PER_CALL = {"adam": 500, "lbfgs": 100}
DEFAULT_BUDGET_S = 20.0  # equal-time budget when LM is not run
TEST_POINTS = 10_000
# Problems with a peer formulation in robustness_peers.py (jinns: hard-constrained zero-Dirichlet
# / initial data) and robustness_deepxde.py (DeepXDE: soft conditions), jinns' natural-gradient
# steps and DeepXDE's Adam / L-BFGS iterations.
PEER_SET = ("poisson_2d_sinsin", "poisson_3d", "helmholtz_2d", "heat_1d", "heat_2d",
            "diffusion_reaction")
PEERS = {"jinns": "robustness_peers.py", "deepxde": "robustness_deepxde.py"}
PEER_STEPS = 100
PEER_ADAM_ITERS = 5000
PEER_LBFGS_ITERS = 5000


def solve_once(case, method: str, seed: int, budget: float | None = None) -> dict:
    """Solves one case once; the only place that calls ``nnpde.solve``.

    LM runs with every default (the user chooses the problem, the network, the point count and
    the seed). Adam and L-BFGS run until ``budget`` seconds (``time_limit``).

    Returns:
      ``{"sol": Solution, "wall_s": float, "result": str | None, "status": str}``, with
      ``result`` the engine's result code (``sol.result``) where it has one.
    """
    net = nnpde.TwoLayerNet(case.problem.dim, case.hidden)
    kwargs = {"key": jax.random.key(seed)}
    if method != "lm":
        kwargs.update(method=method, steps=TIMED_STEPS, steps_per_call=STEPS_PER_CALL[method],
                      time_limit=budget)  # fmt: skip
    jax.clear_caches()  # every run pays its compilation, as a user's first solve does
    t0 = time.perf_counter()
    sol = nnpde.solve(case.problem, net, case.points, **kwargs)
    jax.block_until_ready(sol.theta)
    wall = time.perf_counter() - t0
    result = getattr(sol, "result", None)
    return {"sol": sol, "wall_s": wall, "result": None if result is None else str(result),
            "status": str(sol.status)}  # fmt: skip


def run_info(info: dict) -> dict:
    """What ``solve`` says about a run besides its result: the validation (interior residual
    RMS at the training and at unseen points, their ratio), each restarted attempt's reason
    (``restarts``) and how each attempt ended (``attempts``: result, loss, steps, score)."""
    out = {}
    if info.get("validation"):
        out["validation"] = dict(info["validation"])
    if info.get("restarts"):
        out["restarts"] = [a["restart_reason"] for a in info["restarts"]]
        # each attempt's end, so that a rule on repeated stalls (e.g. "two stalls at about the
        # same loss: the net's limit, stop") can be judged from a sweep's JSON
        out["attempts"] = [{k: a[k] for k in ("result", "loss", "steps", "score") if k in a}
                           for a in info["restarts"]]  # fmt: skip
    return out


def test_points(domain) -> np.ndarray:
    """A fine test set with the boundary, never the training points: (≥ 10⁴ or 1001..., D)."""
    if isinstance(domain, nnpde.Disk):
        return domain.test_grid(115)  # ≈ 1.04e4 points in the closed disk
    per_axis = {1: 10_001, 2: 101, 3: 22}.get(domain.dim)
    if per_axis is not None:
        return domain.test_grid(per_axis)
    return domain.sample(TEST_POINTS, key=jax.random.key(10**6), method="halton")


def score(case, sol, x, u_ref) -> dict:
    """Errors of ``sol`` on test points x (P, D) against the reference values u_ref (P, K)."""
    u = np.asarray(sol(jnp.asarray(x)), np.float64).reshape(u_ref.shape)
    err = u - u_ref
    rel = np.linalg.norm(err, axis=0) / np.maximum(np.linalg.norm(u_ref, axis=0), 1e-300)
    out = {"rel_l2": float(np.max(rel)), "max_abs": float(np.max(np.abs(err))),
           "rel_l2_components": [float(r) for r in rel]}  # fmt: skip
    if case.params:
        found = sol.params
        p_err = max(abs(found[k] - v) / abs(v) for k, v in case.params.items())
        out.update(params=found, param_err=float(p_err))
    out["error"] = max(out["rel_l2"], out.get("param_err", 0.0))
    return out


def outcome(record: dict) -> str:
    """How a run ended, in one word: the result code, or a word from the status sentence (for
    the report only; the status's prose is not a stable interface)."""
    if record.get("result"):
        return record["result"]
    status = record["status"].lower()
    for word, label in (("converged", "converged"), ("damping", "stalled"),
                        ("time limit", "time_limit"), ("step limit", "max_steps"),
                        ("diverg", "diverged"), ("finite", "nonfinite")):  # fmt: skip
        if word in status:
            return label
    return "other"


def wait_while_paused() -> None:
    """Waits before the next run while the file named by ``$NNPDE_BENCH_PAUSE`` exists: on a
    shared 2-core machine another job can take the cores between runs without disturbing a
    run's wall time (an equal-time comparison needs the cores a run had)."""
    path = os.environ.get("NNPDE_BENCH_PAUSE")
    while path and os.path.exists(path):
        time.sleep(2.0)


def run_problem(name: str, seeds, methods, budget: float | None, log) -> list[dict]:
    """All runs of one problem: LM first (its median wall time sets the others' budget; without
    LM, ``budget`` is that time, e.g. LM's median read from an earlier sweep)."""
    case = PROBLEMS[name]()
    x = test_points(case.problem.domain)
    u_ref = np.asarray(jax.jit(jax.vmap(case.reference))(jnp.asarray(x)), np.float64)
    u_ref = u_ref.reshape(x.shape[0], -1)
    records, method_budget = [], budget
    for method in sorted(methods, key=lambda m: m != "lm"):
        for seed in seeds:
            wait_while_paused()
            try:
                out = solve_once(PROBLEMS[name](), method, seed, method_budget)
                rec = {k: out[k] for k in ("wall_s", "result", "status")}
                rec.update(score(case, out["sol"], x, u_ref),
                           steps=len(out["sol"].history.get("loss", ())),
                           **run_info(out["sol"].info))  # fmt: skip
            except Exception as exc:  # a crash is a result too: recorded, not fatal
                rec = {"wall_s": float("nan"), "result": "error", "error": float("inf"),
                       "rel_l2": float("inf"), "max_abs": float("inf"),
                       "status": f"{type(exc).__name__}: {exc}"}  # fmt: skip
            rec.update(problem=name, method=method, seed=seed,
                       budget_s=None if method == "lm" else method_budget,
                       hidden=list(case.hidden), points=case.points)  # fmt: skip
            rec["outcome"] = outcome(rec)
            records.append(rec)
            log(f"{name:24s} {method:6s} seed {seed}: error {rec['error']:.2e} "
                f"max-abs {rec['max_abs']:.2e} {rec['wall_s']:6.1f} s  {rec['outcome']}")
        if method == "lm":
            walls = [r["wall_s"] for r in records if np.isfinite(r["wall_s"])]
            method_budget = float(np.median(walls)) if walls else budget
    return records


def summarize(records: list[dict]) -> list[dict]:
    """One row per (problem, method): success rates, median/worst error, median wall time."""
    rows = []
    keys = dict.fromkeys((r["problem"], r["method"]) for r in records)
    for problem, method in keys:
        rs = [r for r in records if r["problem"] == problem and r["method"] == method]
        err = np.array([r["error"] for r in rs])
        ends: dict[str, int] = {}
        for r in rs:
            ends[r["outcome"]] = ends.get(r["outcome"], 0) + 1
        rows.append({
            "problem": problem, "method": method, "runs": len(rs),
            **{f"ok_{t:g}": int(np.sum(err <= t)) for t in THRESHOLDS},
            "median": float(np.median(err)), "worst": float(np.max(err)),
            "median_max_abs": float(np.median([r["max_abs"] for r in rs])),
            "median_wall_s": float(np.nanmedian([r["wall_s"] for r in rs])),
            "budget_s": rs[0]["budget_s"], "hidden": rs[0]["hidden"], "points": rs[0]["points"],
            "ends": ends,
        })  # fmt: skip
    return rows


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "jax": jax.__version__,
            "nnpde": nnpde.__version__, "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "device": str(jax.devices()[0]), "load_avg": load}  # fmt: skip


def markdown(rows: list[dict], meta: dict) -> str:
    """The results as a Markdown report: the command, the machine and one table per method."""
    title = (f"Peer library ({meta.get('peer', 'jinns')}) on problems of the robustness benchmark"
             if meta.get("peers") else "Robustness of nnpde.solve with its defaults")  # fmt: skip
    lines = [f"# {title}", "",
             f"Command: `{meta['command']}`  ", f"Date: {meta['start']['date']}  ",
             f"Machine: {meta['start']['processor']}, {meta['start']['cpus']} CPUs, "
             f"{meta['start']['platform']}; Python {meta['start']['python']}, "
             f"jax {meta['start']['jax']}, nnpde {meta['start']['nnpde']}, float64  ",
             f"Load average (1, 5, 15 min) at the start {_load(meta['start'])}, at the end "
             f"{_load(meta['end'])}; total {meta['total_s']:.0f} s"
             + (f"; problems done: {meta['problems_done']}" if "problems_done" in meta else ""),
             "",
             "Error: relative L2 on the test set (largest over a system's components; for "
             "inverse problems the larger of that and the coefficients' relative error). "
             "ok: runs with error ≤ 1e-6 / ≤ 1e-4. Wall time includes compilation. Adam and "
             "L-BFGS get LM's median wall time on the problem (budget).", ""]  # fmt: skip
    if meta.get("note"):
        lines += [meta["note"], ""]
    for method in dict.fromkeys(r["method"] for r in rows):
        lines += [f"## {method}", "",
                  "| problem | net | P | ok 1e-6 | ok 1e-4 | median | worst | median max-abs "
                  "| median wall s | budget s | ends |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for r in (r for r in rows if r["method"] == method):
            ends = ", ".join(f"{k} {v}" for k, v in sorted(r["ends"].items()))
            budget = "" if r["budget_s"] is None or method == "lm" else f"{r['budget_s']:.1f}"
            lines.append(
                f"| {r['problem']} | 2×{r['hidden'][0]} | {r['points']} | "
                f"{r['ok_1e-06']}/{r['runs']} | {r['ok_0.0001']}/{r['runs']} | "
                f"{r['median']:.1e} | {r['worst']:.1e} | {r['median_max_abs']:.1e} | "
                f"{r['median_wall_s']:.1f} | {budget} | {ends} |"
            )
        ok6 = sum(r["ok_1e-06"] for r in rows if r["method"] == method)
        ok4 = sum(r["ok_0.0001"] for r in rows if r["method"] == method)
        n = sum(r["runs"] for r in rows if r["method"] == method)
        lines += ["", f"All problems: {ok6}/{n} runs ≤ 1e-6, {ok4}/{n} ≤ 1e-4.", ""]
    return "\n".join(lines) + "\n"


def _load(m: dict) -> str:
    return "n/a" if m["load_avg"] is None else ", ".join(f"{v:.2f}" for v in m["load_avg"])


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), metavar="NAME",
                   help="a subset of the problems (default: all)")  # fmt: skip
    p.add_argument("--seeds", type=int, default=SEEDS,
                   help="how many seeds: first-seed .. first-seed + N - 1 (default 10)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the first seed (default 0): a sweep split over several runs, merged "
                   "by --report")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S,
                   help="Adam/L-BFGS time limit in s when LM is not run (else LM's median)")
    p.add_argument("--budgets-from", metavar="JSON", nargs="+", default=[],
                   help="without LM: each problem's budget is LM's median wall time in these "
                   "saved sweeps (the first that has the problem); with --peers (jinns), "
                   "the peer's steps are chosen to fill that time")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 seeds, 3 problems")
    p.add_argument("--out", nargs="+", default=[], metavar="PATH",
                   help="report paths: .md and/or .json (one .md also writes the .json beside)")
    p.add_argument("--report", metavar="JSON", nargs="+",
                   help="only re-render the Markdown report of saved JSON runs to --out; "
                   "several are merged into one (each (problem, method, seed) once)")
    p.add_argument("--peers", action="store_true",
                   help="run a peer library on the problems instead (--peer, in the virtual "
                   "environment --peers-python)")
    p.add_argument("--peer", choices=sorted(PEERS), default="jinns",
                   help="jinns' natural gradient (benchmarks/robustness_peers.py, the default) "
                   "or DeepXDE's Adam + L-BFGS (benchmarks/robustness_deepxde.py)")
    p.add_argument("--jinns-method", choices=("ngd", "ssbroyden"), default=None,
                   help="with --peer jinns: its natural gradient (vanilla_ngd, the default) or "
                   "its self-scaled Broyden (scale_by_SSBroyden_family)")
    p.add_argument("--peers-python", default="/tmp/peers/bin/python")
    p.add_argument("--peer-steps", type=int, default=PEER_STEPS,
                   help="jinns: natural-gradient steps (default 100)")
    p.add_argument("--adam-iters", type=int, default=PEER_ADAM_ITERS,
                   help="deepxde: Adam iterations (default 5000)")
    p.add_argument("--lbfgs-iters", type=int, default=PEER_LBFGS_ITERS,
                   help="deepxde: L-BFGS iterations (set_LBFGS_options(maxiter=), default 5000)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.problems = min(args.seeds, 2), args.problems or list(QUICK)
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    if args.first_seed < 0:
        p.error("--first-seed must be at least 0")
    if args.jinns_method is not None and not (args.peers and args.peer == "jinns"):
        p.error("--jinns-method applies to --peers --peer jinns only")
    args.jinns_method = args.jinns_method or "ngd"
    return args


def seed_range(args: argparse.Namespace) -> range:
    """The seeds a run covers: ``--first-seed`` .. ``--first-seed + --seeds - 1``."""
    return range(args.first_seed, args.first_seed + args.seeds)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        return rerender(args.report, args.out)
    names = args.problems or list(PROBLEMS)
    if args.peers:
        return run_peers(args, names)
    command = "python benchmarks/robustness.py " + " ".join(sys.argv[1:] if argv is None
                                                             else argv)  # fmt: skip
    meta = {"command": command.strip(), "start": machine()}
    saved_budgets = lm_medians(args.budgets_from)
    t0, records, seeds = time.perf_counter(), [], seed_range(args)
    for i, name in enumerate(names):
        budget = saved_budgets.get(name, args.budget)
        records += run_problem(name, seeds, args.methods, budget,
                               lambda s: print(s, flush=True))  # fmt: skip
        # the report so far after every problem, so an interrupted sweep still leaves one
        meta.update(end=machine(), total_s=time.perf_counter() - t0,
                    problems_done=f"{i + 1} of {len(names)}")  # fmt: skip
        rows = summarize(records)
        report = markdown(rows, meta)
        write(args.out, report, {"meta": meta, "summary": rows, "runs": records},
              quiet=i + 1 < len(names))  # fmt: skip
    print(report)
    return 0


def lm_medians(paths) -> dict:
    """LM's median wall time per problem in saved sweeps (JSON); the first path wins."""
    out = {}
    for path in reversed(paths):
        payload = json.loads(pathlib.Path(path).read_text())
        out.update({r["problem"]: r["median_wall_s"] for r in payload["summary"]
                    if r["method"] == "lm"})  # fmt: skip
    return out


def run_peers(args, names) -> int:
    """Runs the peer library ``--peer`` (jinns' natural gradient or DeepXDE's Adam + L-BFGS) on
    the problems of ``PEER_SET`` among ``names`` in the peer virtual environment
    (``--peers-python``), on the same test points and seeds, and reports them like nnpde's
    runs."""
    import subprocess
    import tempfile

    names = [n for n in (args.problems or PEER_SET) if n in PEER_SET]
    if not names:
        raise SystemExit(f"--peers: none of the problems has a peer formulation; "
                         f"choose from {', '.join(PEER_SET)}")  # fmt: skip
    arrays, runs = {}, []
    # equal wall time when given; only the jinns script calibrates its steps to a budget
    budgets = lm_medians(args.budgets_from) if args.peer == "jinns" else {}
    for name in names:
        case = PROBLEMS[name]()
        x = test_points(case.problem.domain)
        arrays[f"x_{name}"] = x
        arrays[f"u_{name}"] = np.asarray(jax.vmap(case.reference)(jnp.asarray(x)))
        runs += [{"problem": name, "seed": s, "hidden": list(case.hidden),
                  "points": case.points, "budget_s": budgets.get(name)}
                 for s in seed_range(args)]  # fmt: skip
    meta = {"command": "python benchmarks/robustness.py " + " ".join(sys.argv[1:]),
            "start": machine()}  # fmt: skip
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.json")
        spec = {"runs": runs, "n_iter": args.peer_steps, "adam_iters": args.adam_iters,
                "lbfgs_iters": args.lbfgs_iters, "jinns_method": args.jinns_method}  # fmt: skip
        np.savez(src, spec=np.asarray(json.dumps(spec)), **arrays)
        script = pathlib.Path(__file__).resolve().parent / PEERS[args.peer]
        subprocess.run([args.peers_python, str(script), src, dst], check=True)
        with open(dst) as fh:
            peers = json.load(fh)
    meta.update(end=machine(), total_s=time.perf_counter() - t0, peer=args.peer,
                peers=peers[args.peer], note=peer_note(args, peers))  # fmt: skip
    records = peers["runs"]
    for r in records:
        r.setdefault("budget_s", None)
        r.update(outcome=r["status"] if r["status"] != "ok" else peer_end(r))
    report = markdown(summarize(records), meta)
    print(report)
    write(args.out, report, {"meta": meta, "summary": summarize(records), "runs": records})
    return 0


def peer_note(args, peers: dict) -> str:
    """The report's description of the peer runs."""
    common = "the same Sobol' point count, net and test points as nnpde's runs"
    unbudgeted = common + "; no budget (wall time as measured)."
    if args.peer == "jinns":
        if args.budgets_from:
            steps = ("as many steps as fit in nnpde's median wall time on the problem (budget; "
                     "the step count is calibrated per problem from two short runs), "
                     + common + ".")  # fmt: skip
        else:
            steps = f"{args.peer_steps} steps, " + unbudgeted
        how = {"ngd": "vanilla_ngd (energy natural gradient, its defaults)",
               "ssbroyden": "scale_by_SSBroyden_family (self-scaled Broyden with its zoom line "
                            "search, its defaults)"}[args.jinns_method]  # fmt: skip
        return (f"Peer runs: jinns {peers['jinns']} {how}, hard-constrained boundary/initial "
                f"data, {steps}")  # fmt: skip
    return (f"Peer runs: DeepXDE {peers['deepxde']}, PyTorch {peers['torch']} backend "
            f"(torch threads: {peers['torch_threads']}), float64, the recipe of DeepXDE's examples "
            "(heat.py, Poisson_Lshape.py): soft DirichletBC / IC loss terms (every weight 1), "
            "dde.data.PDE / TimePDE with num_domain = nnpde's point count, boundary and "
            "initial points at about the domain points' spacing (at least 64), "
            "train_distribution Sobol, FNN tanh Glorot normal; Adam (lr 1e-3) "
            f"{args.adam_iters} iterations, then L-BFGS (torch.optim.LBFGS, strong Wolfe) "
            f"maxiter {args.lbfgs_iters}; " + unbudgeted)  # fmt: skip


def peer_end(record: dict) -> str:
    """How a peer run ended: jinns runs its steps; DeepXDE's L-BFGS runs to maxiter or stops
    earlier on its tolerances."""
    if "lbfgs_steps" not in record:
        return "n_iter"
    return "max_steps" if record["lbfgs_steps"] >= record["lbfgs_iters"] else "lbfgs_stopped"


def rerender(paths, out) -> int:
    """Writes the Markdown report of saved JSON runs (``--report``) to the .md (and .json)
    paths; several runs (e.g. one sweep split by ``--first-seed``) are merged into one."""
    payloads = [json.loads(pathlib.Path(p).read_text()) for p in paths]
    runs, seen = [], set()
    for payload in payloads:
        for r in payload["runs"]:
            key = (r["problem"], r["method"], r["seed"])
            if key in seen:
                raise SystemExit(f"--report: {key} appears in more than one of {paths}")
            seen.add(key)
            runs.append(r)
    meta = merged_meta([p["meta"] for p in payloads], paths)
    rows = summarize(runs)
    report = markdown(rows, meta)
    if len(paths) > 1:
        write(out, report, {"meta": meta, "summary": rows, "runs": runs})
    else:
        for md in (p for p in out if p.endswith(".md")):
            pathlib.Path(md).write_text(report)
    print(report)
    return 0


def merged_meta(metas: list[dict], paths) -> dict:
    """One run's metadata, or several runs' merged: their commands, the first start, the
    last end, the summed time."""
    if len(metas) == 1:
        return metas[0]
    first = min(metas, key=lambda m: m["start"]["date"])
    last = max(metas, key=lambda m: m["end"]["date"])
    commands = "`; `".join(m["command"] for m in metas)
    note = (f"Merged from {len(metas)} runs ({', '.join(map(str, paths))}), "
            f"{first['start']['date']} to {last['end']['date']}; load average at each run's "
            "start / end: " + "; ".join(f"{_load(m['start'])} / {_load(m['end'])}"
                                        for m in metas) + ".")  # fmt: skip
    notes = list(dict.fromkeys(m["note"] for m in metas if m.get("note")))  # once each
    merged = {"command": commands, "start": first["start"], "end": last["end"],
              "total_s": sum(m["total_s"] for m in metas), "note": " ".join([note] + notes)}
    for key in ("peer", "peers"):  # a peer library's runs stay titled as such
        if len({json.dumps(m.get(key)) for m in metas}) == 1 and metas[0].get(key):
            merged[key] = metas[0][key]
    return merged


def write(paths, report: str, payload: dict, quiet: bool = False) -> None:
    """Writes the Markdown report and/or the JSON record to ``paths`` (.md / .json)."""
    paths = list(paths)
    if len(paths) == 1 and paths[0].endswith(".md"):
        paths.append(paths[0][:-3] + ".json")
    for path in paths:
        text = report if path.endswith(".md") else json.dumps(payload, indent=1, default=str)
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_text(text)
        if not quiet:
            print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
