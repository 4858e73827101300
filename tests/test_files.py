"""Solution files: exact round trips, atomic saves, and one clear error per kind of bad file.

Bad files are made by hand here (``_write_raw``), bypassing the writer's checks, so that each
test damages exactly one thing: the container, the envelope, the solution header or an array.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import re
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from problems_for_tests import lagaris_pde1

import nnpde
from nnpde import files as S
from nnpde.solution import FileFormatError
from nnpde.trial import build_trial

NET = nnpde.TwoLayerNet(2, (4, 3), "tanh")
NT = NET.num_params  # 30


def _solution(dtype=jnp.float64, net=NET, **kw):
    theta = net.init(jax.random.key(3), dtype)
    fields = dict(
        theta=theta,
        net=net,
        history={"loss": np.array([1.0, 0.25, np.inf]), "mu": np.array([1e-3, 1e-4, 1e-5]),
                 "blocks": np.array([[0.75, 0.25], [0.2, 0.05], [np.inf, 0.0]]),
                 "accepted": np.array([1, 1, 0], np.int32)},
        status="reached the step limit while still improving after 3 steps, loss 2.5e-01",
        info={"method": "lm", "backend": "kernels", "wall_s": 0.5, "points": 9,
              "result": "max_steps", "blocks": ["interior", "Neumann@x0_max"],
              "validation": {"points": 9, "ratio": 1.5, "under_resolved": False}},
    )
    fields.update(kw)
    return nnpde.Solution(**fields)


@pytest.fixture
def good(tmp_path):
    """A valid solution file."""
    path = tmp_path / "good.npz"
    _solution().save(path)
    return path


def _read_raw(path):
    """(full header dict, {name: array}) of a file, without any checks."""
    with zipfile.ZipFile(path) as zf:
        arrays = {n[:-4]: np.load(io.BytesIO(zf.read(n))) for n in zf.namelist()}
    header = json.loads(arrays.pop("header").tobytes())
    return header, arrays


def _write_raw(path, header, arrays, *, compression=zipfile.ZIP_STORED, extra_members=(),
               checksum=True):
    """Writes an .npz with the given header (a dict, or raw bytes) and arrays, unchecked.

    With ``checksum``, a header's SHA-256 checksum is recomputed for the edited contents (as a
    tool that edits files consistently would), so the checks behind it are reached."""
    if checksum and isinstance(header, dict) and "sha256" in header:
        try:
            header["sha256"] = S._checksum({k: v for k, v in header.items() if k != "sha256"},
                                           {k: np.asarray(v) for k, v in arrays.items()})
        except (TypeError, ValueError):  # object arrays etc.: the load fails earlier anyway
            pass
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    members = {"header": np.frombuffer(raw, np.uint8), **arrays}
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, arr in members.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=True)
            zf.writestr(f"{name}.npy", buf.getvalue())
        for name, data in extra_members:
            zf.writestr(name, data)


def _edited(good, tmp_path, edit_header=None, edit_arrays=None, **kw):
    """A copy of ``good`` with its header and/or arrays changed by the given functions."""
    header, arrays = _read_raw(good)
    if edit_header is not None:
        edit_header(header)
    if edit_arrays is not None:
        edit_arrays(arrays, header)
    path = tmp_path / "edited.npz"
    _write_raw(path, header, arrays, **kw)
    return path


def _fails(path, pattern, **kw):
    """load(path) raises FileFormatError naming the file, with ``pattern`` in the message."""
    with pytest.raises(FileFormatError, match=pattern) as info:
        nnpde.load(path, **kw)
    assert os.fspath(path) in str(info.value)
    assert info.value.path == os.fspath(path)
    return info.value


# ---- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32, jnp.float16])
def test_round_trip_is_bit_identical(tmp_path, dtype):
    sol = _solution(dtype)
    path = tmp_path / "sol.npz"
    sol.save(path)
    back = nnpde.load(path)
    assert back.theta.dtype == sol.theta.dtype
    np.testing.assert_array_equal(
        np.asarray(back.theta).view(np.uint8), np.asarray(sol.theta).view(np.uint8)
    )
    assert back.net == sol.net
    assert back.status == sol.status
    assert set(back.history) == {"loss", "mu", "blocks", "accepted"}
    assert back.result == sol.result == nnpde.RESULTS.max_steps
    for key, value in sol.history.items():
        np.testing.assert_array_equal(back.history[key], value)
        assert back.history[key].dtype == value.dtype
    assert back.info == sol.info | {"has_trial": False}
    assert back.problem is None and back.trial is None


def test_round_trip_with_problem_evaluates_the_same(tmp_path):
    problem = lagaris_pde1()
    sol = _solution(problem=problem, trial=build_trial(problem)[0])
    path = tmp_path / "sol.npz"
    sol.save(path)
    back = nnpde.load(path, problem=problem)
    x = problem.domain.test_grid(5)
    np.testing.assert_array_equal(np.asarray(back(x)), np.asarray(sol(x)))
    with pytest.raises(ValueError, match="loaded without its problem"):
        nnpde.load(path)(x)


def test_save_is_deterministic_and_replaces(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    _solution().save(a)
    _solution().save(b)
    assert a.read_bytes() == b.read_bytes()
    _solution(status="second").save(a)  # over an existing file
    assert nnpde.load(a).status == "second"
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.npz"]  # no temporary files left


def test_info_keeps_json_values_only(tmp_path):
    info = {"n": np.int64(3), "x": np.float32(0.5), "nan": float("nan"), "obj": object(),
            "list": [1, 2], "nested": {"a": None}}  # fmt: skip
    path = tmp_path / "sol.npz"
    _solution(info=info).save(path)
    back = nnpde.load(path).info
    assert back["n"] == 3 and back["x"] == 0.5 and np.isnan(back["nan"])
    assert back["list"] == [1, 2] and back["nested"] == {"a": None}
    assert "obj" not in back


def test_mlp_round_trip(tmp_path):
    mlp = pytest.importorskip("nnpde.mlp")
    net = mlp.MLP((2, 5, 1), "tanh")
    theta = net.ravel(net.init(jax.random.key(0), jnp.float64))
    path = tmp_path / "mlp.npz"
    nnpde.Solution(theta=theta, net=net).save(path)
    back = nnpde.load(path)
    assert back.net == net
    np.testing.assert_array_equal(np.asarray(back.theta), np.asarray(theta))


# ---- atomic save ---------------------------------------------------------------------------
def test_save_writes_a_temporary_file_fsyncs_then_renames(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "sol.npz"
    _solution().save(path)
    kinds = [e[0] for e in events]
    assert kinds[:2] == ["fsync", "replace"], events
    tmp = events[1][1]
    assert events[0][1] == os.path.realpath(tmp)  # the data were synced before the rename
    assert os.path.dirname(tmp) == str(tmp_path)  # same folder: os.replace is atomic
    assert os.path.basename(tmp).startswith(".sol.npz.") and tmp.endswith(".tmp")
    assert events[1][2] == os.fspath(path)
    assert kinds[2:] == ["fsync"]  # the folder, so that the rename is durable


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_save_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch, error):
    path = tmp_path / "sol.npz"
    _solution(status="old").save(path)
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def failing(fh, arr, **kw):
        calls.append(1)
        if len(calls) == 2:  # after the header, inside the first array
            fh.write(b"partial")
            raise error
        return real(fh, arr, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(type(error)):
        _solution(status="new").save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["sol.npz"]


def test_save_into_a_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        _solution().save(tmp_path / "no" / "such" / "folder.npz")


def test_saved_file_has_the_usual_permissions(tmp_path):
    path = tmp_path / "sol.npz"
    _solution().save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---- what save refuses ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(theta=jnp.full(NT, jnp.nan)), "theta contains NaN or Inf"),
        (dict(theta=jnp.zeros(NT + 1)), rf"theta must have shape \({NT},\)"),
        (dict(theta=jnp.zeros(NT, jnp.bfloat16)), "float16, float32 or float64"),
        (dict(theta=jnp.zeros(NT, jnp.int32)), "float16, float32 or float64"),
        (dict(history={"a/b": np.zeros(2)}), "history key 'a/b' must be an identifier"),
        (dict(history={"": np.zeros(2)}), "history key '' must be an identifier"),
        (dict(history={"c": np.zeros(2, complex)}), r"history\['c'\] is neither a numeric"),
        (dict(history={"o": np.array([None])}), r"history\['o'\] is neither a numeric"),
    ],
)
def test_save_refuses_what_load_could_not_read(tmp_path, change, message):
    path = tmp_path / "sol.npz"
    with pytest.raises(ValueError, match=message):
        _solution(**change).save(path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_save_refuses_an_unregistered_activation(tmp_path):
    act = nnpde.get_activation("tanh")
    impostor = nnpde.Activation("tanh", lambda z: jnp.tanh(z), act.df, act.d2f, act.d3f)
    net = nnpde.TwoLayerNet(2, (4, 3), impostor)
    with pytest.raises(ValueError, match="not the activation registered under that name"):
        _solution(net=net).save(tmp_path / "sol.npz")
    assert os.listdir(tmp_path) == []


# ---- the path ------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    path = tmp_path / "missing.npz"
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        nnpde.load(path)


def test_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        nnpde.load(tmp_path)


def test_path_of_the_wrong_type():
    with pytest.raises(TypeError):
        nnpde.load(3.5)


# ---- the container -------------------------------------------------------------------------
def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    _fails(path, r"the file is empty \(0 bytes\)")


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("theta = [1, 2, 3]\n")
    _fails(path, r"not an .npz \(zip\) archive; it starts with b'theta '")


def test_pickle_is_never_unpickled(tmp_path):
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(sentinel),))

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"theta": Evil()}))
    _fails(path, "looks like a Python pickle, which nnpde never unpickles")
    assert not sentinel.exists()


def test_object_array_member_is_never_unpickled(good, tmp_path):
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(sentinel),))

    def add_object(arrays, header):
        arrays["history_evil"] = np.array([Evil()], dtype=object)
        header["arrays"]["history_evil"] = {"dtype": "|O", "shape": [1]}

    path = _edited(good, tmp_path, edit_arrays=add_object)
    _fails(path, r"'history_evil.npy' has dtype object.*never used")
    assert not sentinel.exists()


def test_single_npy_file(tmp_path):
    path = tmp_path / "theta.npy"
    np.save(path, np.zeros(NT))
    _fails(path, "a single .npy array, not an .npz archive")


def test_plain_npz_without_header(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, theta=np.zeros(NT))
    _fails(path, r"not an nnpde solution file: an .npz archive without a header")


@pytest.mark.parametrize("keep", [1, 4, 30, 200, 0.5, -22, -1])
def test_truncated(good, tmp_path, keep):
    data = good.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[:n])
    _fails(path, "truncated or corrupted")


def test_flipped_byte_in_theta_fails_the_crc(good, tmp_path):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("theta.npy")
    # the local header is 30 bytes + name + extra; theta's last byte is just before the next
    # member's header
    with zipfile.ZipFile(good) as zf:
        nxt = min(i.header_offset for i in zf.infolist() if i.header_offset > info.header_offset)
    data[nxt - 1] ^= 0x01
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(data))
    _fails(path, r"corrupted archive \(BadZipFile: Bad CRC-32")


def test_compressed_archive(good, tmp_path):
    path = _edited(good, tmp_path, compression=zipfile.ZIP_DEFLATED)
    _fails(path, "is compressed; nnpde files are stored uncompressed")


def test_member_that_is_not_npy(good, tmp_path):
    path = _edited(good, tmp_path, extra_members=[("run_me.py", b"import os")])
    _fails(path, r"unexpected archive member 'run_me.py'")


def test_duplicate_member(good, tmp_path):
    header, arrays = _read_raw(good)
    path = tmp_path / "dup.npz"
    buf = io.BytesIO()
    np.save(buf, np.zeros(NT))
    with pytest.warns(UserWarning, match="Duplicate name"):
        _write_raw(path, header, arrays, extra_members=[("theta.npy", buf.getvalue())])
    _fails(path, "'theta.npy' appears twice")


def test_npy_header_that_lies_about_its_size(good, tmp_path):
    """A member claiming 10^12 elements is refused before anything is allocated."""
    header, arrays = _read_raw(good)
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        npy, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    header["arrays"]["history_big"] = {"dtype": "<f8", "shape": [10**12]}
    path = tmp_path / "huge.npz"
    _write_raw(
        path, header, arrays, extra_members=[("history_big.npy", npy.getvalue() + bytes(16))]
    )
    _fails(path, r"'history_big.npy': its .npy header says shape \(1000000000000,\).*holds 16")


def test_header_member_not_npy(good, tmp_path):
    header, _ = _read_raw(good)
    path = tmp_path / "h.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("header.npy", json.dumps(header))
    _fails(path, r"'header.npy' is not a valid .npy array")


# ---- the header: JSON and envelope ---------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"format": "nnpde",', "not valid UTF-8 JSON"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object, got an array"),
        (b"null", "must be a JSON object, got null"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON"),
        (b'{"format": "nnpde", "format": "nnpde"}', "duplicate key 'format'"),
    ],
)
def test_header_that_is_not_a_json_object(good, tmp_path, raw, message):
    _, arrays = _read_raw(good)
    path = tmp_path / "bad.npz"
    _write_raw(path, raw, arrays)
    _fails(path, message)


def test_header_of_the_wrong_dtype(good, tmp_path):
    _, arrays = _read_raw(good)
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in {"header": np.zeros(3), **arrays}.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr)
            zf.writestr(f"{name}.npy", buf.getvalue())
    _fails(path, "the header must be a uint8 vector, got float64")


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def edit(header):
        target = header
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _drop(*keys):
    def edit(header):
        target = header
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return edit


ENVELOPE_EDITS = {
    "format-other": (_set("format", "numpy"), r"header 'format' is 'numpy', expected 'nnpde'"),
    "format-missing": (_drop("format"), r"header 'format' is None"),
    "kind-checkpoint": (_set("kind", "checkpoint"), "an nnpde 'checkpoint' file, not a 'solution'"),
    "kind-missing": (_drop("kind"), r"lacks the key\(s\) \['kind'\]"),
    "kind-not-str": (_set("kind", 7), "'kind' and 'writer' must be strings"),
    "version-newer": (_set("version", 4), "format version 4 .* is newer .*: upgrade nnpde"),
    "version-older": (_set("version", 0), "format version 0 .*; this nnpde reads version 3"),
    "version-str": (_set("version", "2"), "'version' must be an integer, got a string '2'"),
    "version-float": (_set("version", 2.0), "'version' must be an integer, got a number 2.0"),
    "version-bool": (_set("version", True), "'version' must be an integer, got a boolean"),
    "version-nan": (_set("version", float("nan")), "'version' must be an integer, got a number"),
    "version-missing": (_drop("version"), r"lacks the key\(s\) \['version'\]"),
    "writer-missing": (_drop("writer"), r"lacks the key\(s\) \['writer'\]"),
    "arrays-missing": (_drop("arrays"), r"lacks the key\(s\) \['arrays'\]"),
    "arrays-list": (_set("arrays", []), "'arrays' must be an object, got an array"),
    "arrays-shape": (_set("arrays", "theta", "shape", [NT + 1]),
                     rf"'theta' has dtype <f8 and shape \[{NT}\], but the header says <f8 and "
                     rf"\[{NT + 1}\]"),
    "arrays-dtype": (_set("arrays", "theta", "dtype", "<f4"), "but the header says <f4"),
    "arrays-entry": (_set("arrays", "theta", {"dtype": "<f8"}), r"'arrays.theta' must be"),
    "arrays-negative": (_set("arrays", "theta", "shape", [-1]), r"'arrays.theta' must be"),
    "arrays-unlisted": (_drop("arrays", "history_mu"),
                        r"holds array\(s\) \['history_mu'\] that the header does not list"),
    "arrays-phantom": (_set("arrays", "extra", {"dtype": "<f8", "shape": [1]}),
                       r"array\(s\) \['extra'\] listed in the header are missing"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ENVELOPE_EDITS))
def test_hand_edited_envelope(good, tmp_path, case):
    edit, message = ENVELOPE_EDITS[case]
    _fails(_edited(good, tmp_path, edit_header=edit), message)


def test_legacy_version_1_file(good, tmp_path):
    def to_v1(header):
        header.clear()
        header.update(format="nnpde.solution", version=1, net={"dim": 2, "hidden": [4, 3]})

    _fails(_edited(good, tmp_path, edit_header=to_v1), "format version 1 .*re-create the file")


# ---- the header: the solution's keys ---------------------------------------------------------
SOLUTION_EDITS = {
    "hidden-wrong": (_set("net", "hidden", [5, 3]), f"'num_params' is {NT} but .* has 36"),
    "dim-wrong": (_set("net", "dim", 3), f"'num_params' is {NT} but .* has 34"),
    "num-params-wrong": (_set("num_params", 31), f"'num_params' is 31 but .* has {NT}"),
    "net-and-num-params-consistent": (
        lambda h: (_set("net", "hidden", [5, 3])(h), _set("num_params", 36)(h)),
        rf"theta has shape \({NT},\) but .* needs \(36,\)",
    ),
    "extra-key": (_set("comment", "hi"), "unexpected key 'comment'"),
    "extra-net-key": (_set("net", "depth", 2), r"'net' has unexpected key\(s\) \['depth'\]"),
    "net-type": (_set("net", "type", "ResNet"), "'net.type' must be one of"),
    "net-list": (_set("net", [2, 4, 3]), "header 'net' has the wrong type: an array"),
    "net-dim-float": (_set("net", "dim", 2.5), "'net.dim' must be an integer, got a number 2.5"),
    "net-dim-nan": (_set("net", "dim", float("nan")), "'net.dim' must be an integer"),
    "net-dim-zero": (_set("net", "dim", 0), "invalid network in the header .*dim must be"),
    "net-hidden-str": (_set("net", "hidden", "4,3"), "'net.hidden' must be an array"),
    "net-hidden-three": (_set("net", "hidden", [4, 3, 2]), "invalid network in the header"),
    "net-hidden-nan": (_set("net", "hidden", [4, float("nan")]), "sizes must be integers"),
    "net-activation-int": (_set("net", "activation", 7), "'net.activation' must be a string"),
    "net-activation-unknown": (_set("net", "activation", "swish"),
                               "unknown activation 'swish'.*register it with"),
    "num-params-str": (_set("num_params", "30"), "'num_params' has the wrong type: a string"),
    "num-params-bool": (_set("num_params", True), "'num_params' has the wrong type: a boolean"),
    "num-params-nan": (_set("num_params", float("nan")), "'num_params' has the wrong type"),
    "status-int": (_set("status", 5), "'status' has the wrong type: an integer 5"),
    "info-list": (_set("info", []), "'info' has the wrong type: an array"),
    "problem-int": (_set("problem", 3), "'problem' has the wrong type"),
    "has-trial-str": (_set("has_trial", "yes"), "'has_trial' has the wrong type: a string"),
}  # fmt: skip
for _key in ("net", "num_params", "status", "info", "problem", "has_trial"):
    SOLUTION_EDITS[f"missing-{_key}"] = (_drop(_key), f"header lacks the key '{_key}'")
for _key in ("type", "dim", "hidden", "activation"):
    SOLUTION_EDITS[f"missing-net-{_key}"] = (
        _drop("net", _key),
        "'net.type' must be one of" if _key == "type" else rf"lacks the key\(s\) \['{_key}'\]",
    )


@pytest.mark.parametrize("case", list(SOLUTION_EDITS))
def test_hand_edited_solution_header(good, tmp_path, case):
    edit, message = SOLUTION_EDITS[case]
    _fails(_edited(good, tmp_path, edit_header=edit), message)


# ---- the arrays ------------------------------------------------------------------------------
def _replace_theta(new):
    def edit(arrays, header):
        arrays["theta"] = new
        header["arrays"]["theta"] = {"dtype": new.dtype.str, "shape": list(new.shape)}

    return edit


def _theta_with_nan():
    theta = np.asarray(_solution().theta).copy()
    theta[5] = np.nan
    return theta


ARRAY_EDITS = {
    "theta-nan": (_replace_theta(_theta_with_nan()), "theta contains NaN or Inf"),
    "theta-inf": (_replace_theta(np.full(NT, np.inf)), "theta contains NaN or Inf"),
    "theta-short": (_replace_theta(np.zeros(NT - 1)), rf"theta has shape \({NT - 1},\)"),
    "theta-2d": (_replace_theta(np.zeros((1, NT))), rf"theta has shape \(1, {NT}\)"),
    "theta-int": (_replace_theta(np.zeros(NT, np.int64)), "theta must be float16, float32 or"),
    "theta-complex": (_replace_theta(np.zeros(NT, complex)), "has dtype complex128"),
    "theta-missing": (lambda a, h: (a.pop("theta"), h["arrays"].pop("theta")), "no theta array"),
    "unknown-array": (
        lambda a, h: (a.update(extra=np.zeros(2)),
                      h["arrays"].update(extra={"dtype": "<f8", "shape": [2]})),
        "unexpected array 'extra'",
    ),
    "structured": (
        lambda a, h: (a.update(history_s=np.zeros(2, "f8,i4")),
                      h["arrays"].update(history_s={"dtype": "|V12", "shape": [2]})),
        "'history_s.npy' has dtype",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ARRAY_EDITS))
def test_edited_arrays(good, tmp_path, case):
    edit, message = ARRAY_EDITS[case]
    _fails(_edited(good, tmp_path, edit_arrays=edit), message)


@pytest.mark.parametrize("variant", ["big-endian", "fortran"])
def test_portable_layouts_are_read(good, tmp_path, variant):
    theta = np.asarray(_solution().theta)
    if variant == "big-endian":
        new = theta.astype(">f8")
    else:
        new = np.asfortranarray(theta)
    path = _edited(good, tmp_path, edit_arrays=_replace_theta(new))
    back = nnpde.load(path)
    np.testing.assert_array_equal(np.asarray(back.theta), theta)
    assert back.theta.dtype == np.float64


# ---- load's other arguments ------------------------------------------------------------------
def test_problem_of_the_wrong_dimension(good):
    problem = nnpde.Problem(nnpde.Interval(0.0, 1.0), lambda x, u: u.laplacian)
    with pytest.raises(ValueError, match="the problem is 1-D but the network has dim=2"):
        nnpde.load(good, problem=problem)


def test_problem_whose_trial_does_not_match(good):
    with pytest.raises(ValueError, match="trained without a trial solution"):
        nnpde.load(good, problem=lagaris_pde1())


def test_problem_of_the_wrong_type(good):
    with pytest.raises(TypeError, match=r"problem must be a nnpde\.Problem or None, got str"):
        nnpde.load(good, problem="lagaris")


def test_float64_file_without_x64(good):
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="float64 but jax_enable_x64 is off"):
            nnpde.load(good)
    finally:
        jax.config.update("jax_enable_x64", True)


# ---- the exception and the reusable low level ----------------------------------------------
def test_file_format_error_is_a_value_error_that_pickles():
    err = FileFormatError("a.npz", "it is broken")
    assert isinstance(err, ValueError)
    assert str(err) == "cannot load 'a.npz': it is broken"
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.problem, str(again)) == (err.path, err.problem, str(err))


def test_low_level_round_trip_of_another_kind(tmp_path):
    path = tmp_path / "ckpt.npz"
    arrays = {"theta": np.arange(5.0), "step": np.array(7), "mask": np.array([True, False]),
              "empty": np.zeros((0, 3), np.float32)}  # fmt: skip
    header = {"method": "adam", "nested": {"a": [1, 2.5, None]}}
    S.write_npz_atomic(path, arrays, header, kind="checkpoint", version=4)
    got_header, got = S.read_npz(path, "checkpoint", version=4)
    assert got_header == header
    assert set(got) == set(arrays)
    for name, arr in arrays.items():
        assert got[name].dtype == arr.dtype and got[name].shape == arr.shape
        np.testing.assert_array_equal(got[name], arr)
        assert got[name].flags.writeable
    with pytest.raises(FileFormatError, match="an nnpde 'checkpoint' file, not a 'solution'"):
        nnpde.load(path)
    with pytest.raises(FileFormatError, match=r"format version 4 .* newer"):
        S.read_npz(path, "checkpoint", version=3)


@pytest.mark.parametrize(
    ("arrays", "header", "message"),
    [
        ({"header": np.zeros(1)}, {}, "array name 'header' must be an identifier other than"),
        ({"a/b": np.zeros(1)}, {}, "array name 'a/b' must be an identifier"),
        ({"a": np.array([None])}, {}, "array 'a' must be a numpy array of bool, int or float"),
        ({"a": [1.0]}, {}, "array 'a' must be a numpy array"),
        ({"a": np.zeros(1, complex)}, {}, "array 'a' must be a numpy array"),
        ({}, {"kind": "x"}, r"header keys \['kind'\] are reserved"),
        ({}, {"x": object()}, "header must be JSON-serialisable"),
    ],
)
def test_low_level_write_refuses(tmp_path, arrays, header, message):
    with pytest.raises(ValueError, match=message):
        S.write_npz_atomic(tmp_path / "x.npz", arrays, header, kind="checkpoint")
    assert os.listdir(tmp_path) == []


def test_unmodified_copy_still_loads(good, tmp_path):
    """The raw helpers used above do not by themselves break a file."""
    path = _edited(good, tmp_path)
    back = nnpde.load(path)
    np.testing.assert_array_equal(np.asarray(back.theta), np.asarray(_solution().theta))
    assert copy.deepcopy(_read_raw(path)[0]) == _read_raw(good)[0]


# ---- issue 19: hostile archives, FIFOs, stale temporaries, symlinks, checksums ----------------
def _zip_stored(members):
    """A stored zip archive from ``[(name, local_offset_or_None, payload)]``, built by hand.

    A member whose offset is None gets its own local header and payload; one with an offset
    is only a central-directory entry pointing there (for overlapping members)."""
    import struct
    import zlib

    body, central, n = b"", b"", 0
    for name, offset, payload in members:
        raw = name.encode()
        crc, size = zlib.crc32(payload), len(payload)
        if offset is None:
            offset = len(body)
            body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size,
                                len(raw), 0) + raw + payload  # fmt: skip
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size,
                               size, len(raw), 0, 0, 0, 0, 0, offset) + raw  # fmt: skip
        n += 1
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(central), len(body), 0)
    return body + central + end


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr))
    return buf.getvalue()


def test_overlapping_members_are_refused_before_reading(tmp_path):
    # Issue 19, item 3: members whose data overlap (one member's bytes hold another's local
    # header and data) multiplied the memory of a load by the number of members.
    inner = _npy(np.zeros(8, np.uint8))
    b_local = _zip_stored([("history_b.npy", None, inner)]).split(b"PK\x01\x02")[0]
    a_npy_header = _npy(np.zeros(len(b_local), np.uint8))[: -len(b_local)]
    a_payload = a_npy_header + b_local  # history_a's data *is* history_b's member
    header = {"format": "nnpde", "kind": "checkpoint", "version": S.FORMAT_VERSION,
              "writer": "test", "arrays": {"history_a": {"dtype": "|u1", "shape": [len(b_local)]},
                                           "history_b": {"dtype": "|u1", "shape": [8]}}}
    raw_header = _npy(np.frombuffer(json.dumps(header).encode(), np.uint8))
    a_offset = 30 + len("header.npy") + len(raw_header)
    b_offset = a_offset + 30 + len("history_a.npy") + len(a_npy_header)
    blob = _zip_stored([("header.npy", None, raw_header), ("history_a.npy", None, a_payload),
                        ("history_b.npy", b_offset, inner)])  # fmt: skip
    assert blob[b_offset:b_offset + 4] == b"PK\x03\x04"
    path = tmp_path / "overlap.npz"
    path.write_bytes(blob)
    with zipfile.ZipFile(path) as zf:  # zipfile itself reads both members happily
        assert zf.read("history_b.npy") == inner
    with pytest.raises(FileFormatError, match="overlap"):
        S.read_npz(path, "checkpoint")


def test_load_refuses_a_fifo_without_blocking(tmp_path):
    # Issue 19, item 7: open() of a FIFO blocks until a writer comes, so load() hung forever.
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    outcome = []

    def target():
        try:
            nnpde.load(path)
            outcome.append("loaded")
        except Exception as err:  # recorded and checked below
            outcome.append(err)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # release the blocked open() so the test process can end
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(10)
        pytest.fail("load() of a FIFO blocked")
    assert isinstance(outcome[0], FileFormatError)
    assert "not a regular file" in str(outcome[0])


def _stale_tmp(folder, base, age_s):
    path = folder / f".{base}.0123456789ab.tmp"
    path.write_bytes(b"x" * 1000)
    old = os.path.getmtime(path) - age_s
    os.utime(path, (old, old))
    return path


def test_save_removes_stale_temporaries_of_the_same_target(tmp_path):
    # Issue 19, item 7: a save killed between creating its temporary and renaming it left the
    # temporary behind for ever. The next save of the same target removes it.
    stale = _stale_tmp(tmp_path, "sol.npz", 2 * S.STALE_TEMPORARY_S)
    other = _stale_tmp(tmp_path, "other.npz", 2 * S.STALE_TEMPORARY_S)
    _solution().save(tmp_path / "sol.npz")
    assert not stale.exists()
    assert other.exists()  # another target's temporaries are not this save's business
    assert sorted(os.listdir(tmp_path)) == sorted([other.name, "sol.npz"])


def test_save_keeps_temporaries_that_may_belong_to_a_live_writer(tmp_path):
    import fcntl

    young = _stale_tmp(tmp_path, "sol.npz", 0)
    locked = tmp_path / ".sol.npz.fedcba987654.tmp"
    locked.write_bytes(b"y")
    old = os.path.getmtime(locked) - 2 * S.STALE_TEMPORARY_S
    os.utime(locked, (old, old))
    with open(locked, "rb") as fh:  # a writer holds its temporary's lock while it writes
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _solution().save(tmp_path / "sol.npz")
        assert young.exists() and locked.exists()


def test_save_onto_a_symlink_writes_through_it(tmp_path):
    # Issue 19, item 7: os.replace onto the link replaced the link by a regular file.
    target = tmp_path / "real.npz"
    _solution(status="old").save(target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    _solution(status="new").save(link)
    assert link.is_symlink() and os.readlink(link) == os.fspath(target)
    assert nnpde.load(target).status == "new"
    assert sorted(os.listdir(tmp_path)) == ["link.npz", "real.npz"]


def test_lone_surrogate_in_the_header_is_refused(good, tmp_path):
    # Issue 19, item 7: "\ud800" is valid JSON but not Unicode; such a file loaded and then
    # print(sol.status) raised UnicodeEncodeError.
    path = _edited(good, tmp_path, edit_header=_set("status", "ok \ud800"))
    _fails(path, "not valid Unicode")


def test_consistent_hand_edit_fails_the_checksum(good, tmp_path):
    # Issue 19, item 7: tanh -> sin keeps the file consistent, so it loaded as another network.
    path = _edited(good, tmp_path, edit_header=_set("net", "activation", "sin"), checksum=False)
    _fails(path, "SHA-256 checksum")


def test_changed_array_fails_the_checksum(good, tmp_path):
    def edit(arrays, header):
        arrays["history_mu"] = arrays["history_mu"] * 2

    _fails(_edited(good, tmp_path, edit_arrays=edit, checksum=False), "SHA-256 checksum")


def test_v3_file_without_checksum_is_refused(good, tmp_path):
    _fails(_edited(good, tmp_path, edit_header=_drop("sha256")), "lacks its SHA-256 checksum")


def test_version_2_file_without_checksum_still_loads(good, tmp_path):
    def to_v2(header):
        header["version"] = 2
        del header["sha256"]

    back = nnpde.load(_edited(good, tmp_path, edit_header=to_v2))
    np.testing.assert_array_equal(np.asarray(back.theta), np.asarray(_solution().theta))


def test_history_of_adapted_runs_is_saved_as_json(tmp_path):
    # Issue 19, item 7: history["adapt"] (a list of dicts) made save() fail.
    records = [{"moved": np.int64(3), "max_abs_residual": 0.5, "step": 2,
                "strategy": "ResidualAdaptive"},
               {"boundary_weight": None, "step": 4, "strategy": "GradientBalance"}]  # fmt: skip
    sol = _solution(history={"loss": np.array([1.0, 0.5]), "adapt": records})
    sol.save(tmp_path / "a.npz")
    back = nnpde.load(tmp_path / "a.npz")
    assert back.history["adapt"] == json.loads(json.dumps(records, default=int))
    np.testing.assert_array_equal(back.history["loss"], [1.0, 0.5])


def test_history_that_is_not_json_is_refused_by_name(tmp_path):
    sol = _solution(history={"loss": np.array([1.0]), "odd": [object()]})
    with pytest.raises(ValueError, match=r"history\['odd'\]"):
        sol.save(tmp_path / "a.npz")
    assert os.listdir(tmp_path) == []
