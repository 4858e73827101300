"""The robustness benchmark's script (benchmarks/robustness.py): scoring, outcome labels, the
summary and the report, without solving (the solves are the benchmark's, minutes each)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_benchmark

rb = load_benchmark("robustness")


class _FakeSolution:
    """Stands in for nnpde.Solution: the reference scaled by (1 + eps), and coefficients."""

    def __init__(self, case, eps, params=None):
        self.case, self.eps, self.params = case, eps, params or {}

    def __call__(self, x):
        return jax.vmap(self.case.reference)(x) * (1 + self.eps)


def test_quick_is_two_seeds_on_three_problems():
    args = rb.parse_args(["--quick"])
    assert args.seeds == 2 and len(args.problems) == 3
    assert set(args.problems) <= set(rb.PROBLEMS)
    assert rb.parse_args(["--quick", "--problems", "heat_1d"]).problems == ["heat_1d"]
    with pytest.raises(SystemExit):
        rb.parse_args(["--problems", "no_such_problem"])


def test_jinns_method_is_refused_where_it_would_be_ignored():
    assert rb.parse_args(["--peers"]).jinns_method == "ngd"
    assert rb.parse_args(["--peers", "--jinns-method", "ssbroyden"]).jinns_method == "ssbroyden"
    for argv in (["--peers", "--peer", "deepxde", "--jinns-method", "ssbroyden"],
                 ["--jinns-method", "ngd"]):  # fmt: skip
        with pytest.raises(SystemExit):
            rb.parse_args(argv)


@pytest.mark.parametrize("name", ["heat_1d", "kovasznay", "poisson_5d", "laplace_disk",
                                  "lagaris_ode4"])  # fmt: skip
def test_test_points_are_fine_and_in_the_domain(name):
    domain = rb.PROBLEMS[name]().problem.domain
    x = rb.test_points(domain)
    assert x.shape[0] >= 10_000 and x.shape[1] == domain.dim
    assert domain.contains(x).all()


def test_score_is_relative_l2_per_component_and_coefficient_error():
    case = rb.PROBLEMS["kovasznay"]()
    x = rb.test_points(case.problem.domain)
    u_ref = np.asarray(jax.vmap(case.reference)(jnp.asarray(x))).reshape(x.shape[0], -1)
    out = rb.score(case, _FakeSolution(case, 1e-3), x, u_ref)
    assert out["rel_l2"] == pytest.approx(1e-3, rel=1e-6)
    assert len(out["rel_l2_components"]) == 3 and out["error"] == out["rel_l2"]
    inverse = rb.PROBLEMS["inverse_poisson_kappa"]()
    x = rb.test_points(inverse.problem.domain)
    u_ref = np.asarray(jax.vmap(inverse.reference)(jnp.asarray(x))).reshape(x.shape[0], -1)
    out = rb.score(inverse, _FakeSolution(inverse, 1e-8, {"kappa": 2.02}), x, u_ref)
    assert out["param_err"] == pytest.approx(1e-2) and out["error"] == out["param_err"]


def test_outcome_prefers_the_result_code():
    assert rb.outcome({"result": "Result.stalled", "status": "converged"}) == "Result.stalled"
    assert rb.outcome({"result": None, "status": "reached the step limit (200 steps)"}) == \
        "max_steps"  # fmt: skip
    assert rb.outcome({"result": None, "status": "stopped at the time limit (3 s)"}) == \
        "time_limit"  # fmt: skip


def test_summary_counts_successes_and_the_report_lists_them():
    recs = [{"problem": "p", "method": "lm", "error": e, "max_abs": e, "wall_s": 1.0 + i,
             "outcome": "max_steps", "budget_s": None, "hidden": [16, 16], "points": 64}
            for i, e in enumerate([1e-7, 1e-5, 1e-2])]  # fmt: skip
    (row,) = rb.summarize(recs)
    assert (row["ok_1e-06"], row["ok_0.0001"], row["runs"]) == (1, 2, 3)
    assert row["median"] == 1e-5 and row["worst"] == 1e-2 and row["median_wall_s"] == 2.0
    m = rb.machine()
    text = rb.markdown([row], {"command": "x", "start": m, "end": m, "total_s": 1.0})
    assert "| p | 2×16 | 64 | 1/3 | 2/3 |" in text


def test_run_info_keeps_the_validation_the_restart_reasons_and_each_attempt():
    info = {"validation": {"ratio": 1.2e4, "under_resolved": True}, "steps": 900,
            "restarts": [{"restart_reason": "under-resolved", "score": 1.0, "attempt": 0,
                          "result": "converged", "loss": 2e-9, "steps": 400},
                         {"restart_reason": "", "score": 0.5, "attempt": 1,
                          "result": "stalled", "loss": 3e-9, "steps": 500}]}  # fmt: skip
    out = rb.run_info(info)
    assert out == {"validation": {"ratio": 1.2e4, "under_resolved": True},
                   "restarts": ["under-resolved", ""],
                   "attempts": [{"result": "converged", "loss": 2e-9, "steps": 400,
                                 "score": 1.0},
                                {"result": "stalled", "loss": 3e-9, "steps": 500,
                                 "score": 0.5}]}  # fmt: skip
    assert rb.run_info({"steps": 10}) == {}


def _saved_sweep(path, seeds, start_date, peer=None):
    """A saved sweep (JSON) of one problem with the given seeds, as main() writes it (of the
    peer library ``peer``, with its note, when given)."""
    recs = [{"problem": "p", "method": "lm", "seed": s, "error": 2 * 10.0 ** -(s + 3),
             "max_abs": 1.0, "wall_s": 1.0, "outcome": "converged", "budget_s": None,
             "hidden": [16, 16], "points": 64} for s in seeds]  # fmt: skip
    m = dict(rb.machine(), date=start_date)
    meta = {"command": f"python benchmarks/robustness.py --seeds {len(seeds)}", "start": m,
            "end": m, "total_s": 2.0}  # fmt: skip
    if peer:
        meta.update(peer=peer, peers="1.0", note=f"Peer runs: {peer} 1.0.")
    rb.write([str(path)], "", {"meta": meta, "summary": rb.summarize(recs), "runs": recs},
             quiet=True)  # fmt: skip


def test_a_sweep_split_by_first_seed_merges_into_one_report(tmp_path):
    args = rb.parse_args(["--first-seed", "3", "--seeds", "7"])
    assert (args.first_seed, args.seeds) == (3, 7) and rb.seed_range(args) == range(3, 10)
    with pytest.raises(SystemExit):
        rb.parse_args(["--first-seed", "-1"])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _saved_sweep(a, [0, 1, 2], "2026-01-02T00:00:00+00:00")
    _saved_sweep(b, range(3, 10), "2026-01-01T00:00:00+00:00")
    out = tmp_path / "all.md"
    assert rb.main(["--report", str(a), str(b), "--out", str(out)]) == 0
    merged = rb.json.loads((tmp_path / "all.json").read_text())
    assert sorted(r["seed"] for r in merged["runs"]) == list(range(10))
    (row,) = merged["summary"]
    assert row["runs"] == 10 and row["ok_1e-06"] == 6 and row["worst"] == 2e-3
    assert merged["meta"]["total_s"] == 4.0
    assert merged["meta"]["start"]["date"].startswith("2026-01-01")
    assert "| p | 2×16 | 64 | 6/10 | 8/10 |" in out.read_text()
    with pytest.raises(SystemExit):  # a seed in both sweeps
        rb.main(["--report", str(a), str(a), "--out", str(tmp_path / "twice.md")])


def test_merged_peer_sweeps_keep_the_peer_title_and_one_note(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _saved_sweep(a, [0], "2026-01-01T00:00:00+00:00", peer="deepxde")
    _saved_sweep(b, [1, 2], "2026-01-02T00:00:00+00:00", peer="deepxde")
    out = tmp_path / "all.md"
    assert rb.main(["--report", str(a), str(b), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Peer library (deepxde)")
    assert text.count("Peer runs: deepxde 1.0.") == 1
    _saved_sweep(b, [1, 2], "2026-01-02T00:00:00+00:00")  # nnpde's own runs: not a peer's
    assert rb.main(["--report", str(a), str(b), "--out", str(out)]) == 0
    assert out.read_text().startswith("# Robustness of nnpde.solve")
