"""Checkpoints: exact resume, SIGKILL at random moments, mismatches, Ctrl-C, and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np
import optax
import pytest
from problems_for_tests import lagaris_pde1

import nnpde
from nnpde.files import FileFormatError
from nnpde.files import read_npz as _read_npz

ROOT = Path(__file__).resolve().parents[1]


# One problem object for every run: solves of the same problem object share their compiled
# programs (and a dispatch when the solver and the dispatch length are equal too), and
# compilation is most of these tests' time.
PROBLEM = lagaris_pde1()


def _setup():
    return PROBLEM, nnpde.TwoLayerNet(2, (4, 4)), PROBLEM.domain.grid(5)


@pytest.mark.parametrize(("solver", "steps"), [(nnpde.LM(), 12),
                                               pytest.param(nnpde.Optax(optax.adam(1e-2)), 60,
                                                            marks=pytest.mark.slow)],
                         ids=["lm", "adam"])  # fmt: skip
def test_resumed_run_ends_with_the_uninterrupted_theta(tmp_path, solver, steps):
    problem, net, pts = _setup()
    kw = dict(solver=solver, checkpoint_every=steps // 4)
    full = nnpde.solve(problem, net, pts, steps=steps, checkpoint=tmp_path / "a.npz", **kw)
    part = tmp_path / "b.npz"
    nnpde.solve(problem, net, pts, steps=steps // 2, checkpoint=part, **kw)
    resumed = nnpde.solve(problem, net, pts, steps=steps, checkpoint=part, resume=part, **kw)
    np.testing.assert_array_equal(np.asarray(resumed.theta), np.asarray(full.theta))
    for name, values in full.history.items():
        np.testing.assert_array_equal(resumed.history[name], values, err_msg=name)
    assert resumed.result == full.result == nnpde.RESULTS.max_steps


def test_optax_transformations_are_fingerprinted_by_what_they_do():
    from nnpde.checkpoint import transformation_probe

    probe = transformation_probe
    assert probe(optax.adam(1e-3)) == probe(optax.adam(1e-3))
    assert probe(optax.adam(1e-3)) != probe(optax.adam(2e-3))
    assert probe(optax.adam(1e-3)) != probe(optax.adam(1e-3, b1=0.8))
    assert probe(optax.sgd(1e-3)) != probe(optax.adam(1e-3))
    schedule = optax.exponential_decay(1e-3, 1, 0.5)
    assert probe(optax.adam(schedule)) != probe(optax.adam(1e-3))
    assert probe(optax.lbfgs()) == "GradientTransformationExtraArgs(unprobed)"


@pytest.mark.slow
def test_resume_true_starts_afresh_without_a_file(tmp_path):
    problem, net, pts = _setup()
    path = tmp_path / "none.npz"
    sol = nnpde.solve(problem, net, pts, steps=3, checkpoint=path, resume=True)
    assert path.exists() and len(sol.history["loss"]) == 3


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_of_another_run(tmp_path):
    problem, net, pts = _setup()
    path = tmp_path / "c.npz"
    nnpde.solve(problem, net, pts, steps=2, checkpoint=path)
    with pytest.raises(FileFormatError, match="solver"):
        nnpde.solve(problem, net, pts, steps=4, method="adam", resume=path)
    with pytest.raises(FileFormatError, match="solver"):
        nnpde.solve(problem, net, pts, steps=4, solver=nnpde.LM(mu0=1e-2), resume=path)
    with pytest.raises(FileFormatError, match="points"):
        nnpde.solve(problem, net, problem.domain.grid(6), steps=4, resume=path)
    adam = tmp_path / "adam.npz"
    nnpde.solve(problem, net, pts, steps=2, solver=nnpde.Optax(optax.adam(1e-3)),
                checkpoint=adam)  # fmt: skip
    with pytest.raises(FileFormatError, match="solver"):  # another learning rate
        nnpde.solve(problem, net, pts, steps=4, solver=nnpde.Optax(optax.adam(2e-3)),
                    resume=adam)  # fmt: skip
    resumed = nnpde.solve(problem, net, pts, steps=4, solver=nnpde.Optax(optax.adam(1e-3)),
                          resume=adam)  # fmt: skip
    assert len(resumed.history["loss"]) == 4
    with pytest.raises(FileFormatError, match="net"):
        nnpde.solve(problem, nnpde.TwoLayerNet(2, (5, 4)), pts, steps=4, resume=path)
    with pytest.raises(FileFormatError, match="net"):
        nnpde.solve(problem, nnpde.TwoLayerNet(2, (4, 4), "sigmoid"), pts, steps=4,
                    resume=path)  # fmt: skip
    other = nnpde.Problem(problem.domain, lambda x, u: u.laplacian - 1.0,
                          boundary=problem.boundary)  # fmt: skip
    with pytest.raises(FileFormatError, match="probe"):
        nnpde.solve(other, net, pts, steps=4, resume=path)
    with pytest.raises(FileFormatError, match=r"not a .checkpoint. file"):
        nnpde.solve(problem, net, pts, steps=2).save(tmp_path / "s.npz")
        nnpde.solve(problem, net, pts, steps=4, resume=tmp_path / "s.npz")


@pytest.mark.slow
def test_ctrl_c_ends_the_run_interrupted_and_saves_the_last_state(tmp_path):
    problem, net, pts = _setup()
    path = tmp_path / "int.npz"

    def interrupt(step, loss, theta):
        if step >= 4:
            raise KeyboardInterrupt

    stopped = nnpde.solve(problem, net, pts, steps=10, steps_per_call=2, callback=interrupt,
                          checkpoint=path, checkpoint_every=3)  # fmt: skip
    assert stopped.result == nnpde.RESULTS.interrupted
    assert stopped.info["steps"] == len(stopped.history["loss"]) == 4
    assert _read_npz(path, "checkpoint")[0]["step"] == 4
    resumed = nnpde.solve(problem, net, pts, steps=10, steps_per_call=2, checkpoint=path,
                          checkpoint_every=3, resume=path)  # fmt: skip
    assert len(resumed.history["loss"]) == 10
    full = nnpde.solve(problem, net, pts, steps=10, steps_per_call=2)
    np.testing.assert_array_equal(np.asarray(resumed.theta), np.asarray(full.theta))


_SCRIPT = textwrap.dedent(
    """
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import nnpde
    import optax
    sys.path.insert(0, {tests!r})
    from problems_for_tests import lagaris_pde1
    problem = lagaris_pde1()
    sol = nnpde.solve(problem, nnpde.TwoLayerNet(2, (4, 4)), problem.domain.grid(5),
                      solver=nnpde.Optax(optax.adam(1e-2)), steps=3000, checkpoint=sys.argv[1],
                      checkpoint_every=5, resume=True)
    np.save(sys.argv[2], np.asarray(sol.theta))
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_theta(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT.format(tests=str(ROOT / "tests")))
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")

    def run(ckpt, out, kill_after=None):
        cmd = [sys.executable, str(script), str(ckpt), str(out)]
        if kill_after is None:
            done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
            assert done.returncode == 0, done.stderr.decode()[-2000:]
            return
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        # kill it once its checkpoint has passed step ``kill_after`` (it is training), a
        # random moment later: between two writes or during one
        target, delay = kill_after
        while proc.poll() is None:
            try:
                if _read_npz(ckpt, "checkpoint")[0]["step"] >= target:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)

    run(tmp_path / "ref.npz", tmp_path / "ref.npy")
    reference = np.load(tmp_path / "ref.npy")
    rng = np.random.default_rng(0)
    ckpt = tmp_path / "killed.npz"
    steps_seen = []
    for target in (500, 1400, 2300):
        run(ckpt, tmp_path / "out.npy", kill_after=(target, float(rng.uniform(0.0, 0.02))))
        header, _ = _read_npz(ckpt, "checkpoint")
        steps_seen.append(header["step"])
    assert steps_seen == sorted(steps_seen) and steps_seen[-1] < 3000, steps_seen
    run(ckpt, tmp_path / "out.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), reference)


@pytest.mark.slow
def test_cli_checkpoint_flags(tmp_path):
    from nnpde.cli import main

    path = tmp_path / "cli.npz"
    assert main(["--steps", "3", "--grid", "4", "--hidden", "3", "3", "--no-png",
                 "--checkpoint", str(path), "--checkpoint-every", "1"]) == 0  # fmt: skip
    assert path.exists()
    with pytest.raises(SystemExit) as e:
        main(["--resume"])
    assert e.value.code == 2


def test_checkpoint_file_is_a_checked_nnpde_file(tmp_path):
    problem, net, pts = _setup()
    path = tmp_path / "k.npz"
    # dispatches of 3 steps: the program of test_resumed_run_ends_with_the_uninterrupted_theta
    nnpde.solve(problem, net, pts, steps=3, checkpoint=path, checkpoint_every=3,
                key=jax.random.key(1))  # fmt: skip
    path.write_bytes(path.read_bytes()[:-20])  # truncated
    with pytest.raises(FileFormatError, match=r"k\.npz"):
        nnpde.solve(problem, net, pts, steps=4, key=jax.random.key(1), resume=path)
