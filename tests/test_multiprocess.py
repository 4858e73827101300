"""Two processes on 127.0.0.1 (``python -m nnpde.launch --nproc 2``, gloo CPU collectives),
each holding half of the points, give the result of one process."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnpde import distributed, launch

TESTS = Path(__file__).resolve().parent

# The two processes sum their halves of JᵀJ (or JᵀJ·p) in another order than one process.
LM_RTOL = 1e-9
ADAM_RTOL = 1e-12  # gradients summed in another order (as in test_sharding)
CG_RTOL = 1e-4  # CG's stopping test may flip on round-off; same result to its tolerance

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    import numpy as np
    import nnpde

    pid, nproc = nnpde.distributed.initialize()   # from NNPDE_* set by nnpde.launch
    jax.config.update("jax_enable_x64", True)
    from problems_for_tests import mixed_nonlinear

    out_dir = sys.argv[1]
    problem = mixed_nonlinear()
    net = nnpde.TwoLayerNet(2, (6, 6), "tanh")
    mesh = nnpde.distributed.make_mesh()
    info = {"processes": nproc, "devices": jax.device_count()}
    for method in sys.argv[2].split(","):
        sol = nnpde.solve(problem, net, problem.domain.grid(8), method=method, steps=5,
                          boundary_points=20, mesh=mesh,
                          checkpoint=f"{out_dir}/ckpt-{method}.npz")
        if pid == 0:
            np.save(f"{out_dir}/theta-{method}.npy", np.asarray(sol.theta))
            info[method] = {"loss": sol.history["loss"].tolist(), "result": sol.result.name,
                            "blocks": sol.history["blocks"].tolist()}
    if pid == 0:
        with open(f"{out_dir}/info.json", "w") as fh:
            json.dump(info, fh)
    """
)


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNPDE_")}
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent),
                                         env.get("PYTHONPATH", "")])  # fmt: skip
    return env


def _one_and_two_processes(tmp_path_factory, methods: str):
    """Runs SCRIPT in one process and in two (nnpde.launch): (dir one, dir two, launcher
    stdout)."""
    root = tmp_path_factory.mktemp("multiprocess")
    script = root / "solve.py"
    script.write_text(SCRIPT)
    one, two = root / "one", root / "two"
    one.mkdir()
    two.mkdir()
    single = subprocess.run([sys.executable, str(script), str(one), methods], env=_env(),
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert single.returncode == 0, single.stderr[-4000:]
    cmd = [sys.executable, "-m", "nnpde.launch", "--nproc", "2", "--timeout", "600", "--",
           sys.executable, str(script), str(two), methods]  # fmt: skip
    multi = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=660)
    assert multi.returncode == 0, multi.stdout[-4000:] + multi.stderr[-2000:]
    return one, two, multi.stdout


# What is checked here (jax.distributed, gloo's collectives, the launcher, process 0 writing the
# checkpoint) is the same for every method: the default suite runs Adam (its program compiles
# in about two thirds of LM's time; three processes ≈ 25 s alone on the 2-core CPU), `pytest
# -m slow` LM and GN-CG (LM's sums over devices are in the default suite's test_sharding).
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return _one_and_two_processes(tmp_path_factory, "adam")


@pytest.fixture(scope="module")
def runs_lm(tmp_path_factory):
    return _one_and_two_processes(tmp_path_factory, "lm")


@pytest.fixture(scope="module")
def runs_gn_cg(tmp_path_factory):
    return _one_and_two_processes(tmp_path_factory, "gn-cg")


def test_two_processes_join_one_run(runs):
    _, two, stdout = runs
    info = json.loads((two / "info.json").read_text())
    assert info["processes"] == 2 and info["devices"] == 2
    assert "[0] " in stdout or "[1] " in stdout or stdout == ""  # prefixed output


@pytest.mark.parametrize(("method", "rtol", "fixture"),
                         [("adam", ADAM_RTOL, "runs"),
                          pytest.param("lm", LM_RTOL, "runs_lm", marks=pytest.mark.slow),
                          pytest.param("gn-cg", CG_RTOL, "runs_gn_cg", marks=pytest.mark.slow)])
def test_two_processes_equal_one(request, method, rtol, fixture):
    one, two, _ = request.getfixturevalue(fixture)
    a = np.load(one / f"theta-{method}.npy")
    b = np.load(two / f"theta-{method}.npy")
    assert np.max(np.abs(a - b)) <= rtol * np.max(np.abs(a))
    la = json.loads((one / "info.json").read_text())[method]["loss"]
    lb = json.loads((two / "info.json").read_text())[method]["loss"]
    np.testing.assert_allclose(lb, la, rtol=rtol)
    ia, ib = (json.loads((d / "info.json").read_text())[method] for d in (one, two))
    assert ia["result"] == ib["result"] == "max_steps"
    np.testing.assert_allclose(ib["blocks"], ia["blocks"], rtol=rtol)
    # process 0 alone wrote the checkpoint, with the global data's fingerprint
    assert (two / f"ckpt-{method}.npz").exists()


def test_initialize_without_configuration_is_single_process(monkeypatch):
    for name in (distributed.ENV_COORDINATOR, distributed.ENV_NUM_PROCESSES,
                 distributed.ENV_PROCESS_ID):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert distributed.initialize() == (0, 1)
    monkeypatch.setenv(distributed.ENV_NUM_PROCESSES, "2")
    with pytest.raises(ValueError, match="needs the coordinator address"):
        distributed.initialize()
    monkeypatch.setenv(distributed.ENV_NUM_PROCESSES, "two")
    with pytest.raises(ValueError, match="must be an integer"):
        distributed.initialize()


def test_launcher_reports_the_first_failure():
    code = "import os, sys; sys.exit(3 if os.environ['NNPDE_PROCESS_ID'] == '1' else 0)"
    assert launch.launch([sys.executable, "-c", code], 2, prefix=False, timeout=60) == 3
    env_code = ("import os; assert os.environ['NNPDE_NUM_PROCESSES'] == '3'; "
                "assert os.environ['NNPDE_COORDINATOR'].startswith('127.0.0.1:')")  # fmt: skip
    assert launch.launch([sys.executable, "-c", env_code], 3, prefix=False, timeout=60) == 0
    with pytest.raises(ValueError, match="nproc"):
        launch.launch(["true"], 0)
