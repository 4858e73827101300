"""Hostile input, fuzzed: every public entry point fails with a documented, helpful error.

Property-based (hypothesis) over random shapes, ranks, dtypes, counts, keys, options and
bytes. Each case ends in one of: the documented result; a ``TypeError``/``ValueError`` whose
message names the offending argument; the documented NaN propagation (NaN in θ or x gives NaN
out, nothing is cleaned); or, for files, ``nnpde.solution.FileFormatError``. Never a crash
inside XLA, never a hang.

Examples are derandomized (the same cases every run, no example database on disk) and few, so
the file runs in well under a minute; most cases fail validation before anything is compiled.

The last known gaps (unhashable static kernel arguments, boundary values of the wrong shape or
type) were pinned as ``xfail(strict=True)`` reproducers until issue 19 fixed them; none remain.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nnpde
from nnpde import kernels, sampling
from nnpde import solution as S
from nnpde.solution import FileFormatError

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FEW = settings(FUZZ, max_examples=12)

NET = nnpde.TwoLayerNet(2, (3, 2), "tanh")
NT = NET.num_params  # 19
FLOATS = ("float16", "bfloat16", "float32", "float64")
DTYPES = FLOATS + ("int32", "int64", "uint8", "bool", "complex64", "complex128",
                   "float8_e4m3fn")  # fmt: skip

POINTWISE = ("value", "grad_theta", "grad_x", "hessian_x", "laplacian_x", "grad_x_theta",
             "hessian_x_theta", "laplacian_x_theta", "jet")  # fmt: skip
# named VJPs: the shape of their weights (P = number of points, D = dim)
VJPS = {"value_vjp": "P", "grad_x_vjp": "PD", "hessian_x_vjp": "PDD", "laplacian_x_vjp": "P"}
OPERATOR = {"value": "P", "grad": "PD", "hessian": "PDD", "laplacian": "P"}
ALL_KERNELS = POINTWISE + tuple(VJPS) + ("operator_vjp", "operator_rows")


def _array(shape, dtype, seed=0):
    """A deterministic array of the given shape and dtype (values in about [-1, 1])."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, size=shape)
    if dtype == "bool":
        return jnp.asarray(values > 0)
    if dtype.startswith("complex"):
        return jnp.asarray(values + 0.5j, dtype)
    return jnp.asarray(values, dtype)


def _weight_shape(code, p, d):
    return {"P": (p,), "PD": (p, d), "PDD": (p, d, d)}[code]


def _expected_shape(fn, p):
    d = NET.dim
    if fn in VJPS or fn == "operator_vjp":
        return (NT,)
    return {
        "value": (p,), "grad_theta": (p, NT), "grad_x": (p, d), "hessian_x": (p, d, d),
        "laplacian_x": (p,), "grad_x_theta": (p, d, NT), "hessian_x_theta": (p, d, d, NT),
        "laplacian_x_theta": (p, NT), "operator_rows": (p, NT),
    }[fn]  # fmt: skip


def _call(fn, theta, x, weights, chunk_size=None):
    f = getattr(kernels, fn)
    if fn in VJPS:
        return f(NET, theta, x, weights[0], chunk_size=chunk_size)
    if fn.startswith("operator"):
        return f(NET, theta, x, **weights, chunk_size=chunk_size)
    return f(NET, theta, x, chunk_size=chunk_size)


def _check_error(err, fn, names):
    """``err`` is a TypeError/ValueError from ``fn`` that names one of ``names``."""
    assert isinstance(err, (TypeError, ValueError)), repr(err)
    msg = str(err)
    assert msg.startswith(f"{fn}:") or msg.startswith(f"{fn} needs"), msg
    assert any(name in msg for name in names), (names, msg)


# ---- kernels: shapes, ranks, dtypes ------------------------------------------------------------
@st.composite
def kernel_inputs(draw):
    fn = draw(st.sampled_from(ALL_KERNELS))
    good = draw(st.booleans())
    p = draw(st.sampled_from([0, 3]))
    tdtype = draw(st.sampled_from(("float64",) if good else DTYPES))
    xdtype = tdtype if good or draw(st.booleans()) else draw(st.sampled_from(DTYPES))
    tshape = (NT,) if good else draw(st.sampled_from([(NT,), (NT,), (NT - 1,), (NT + 1,), (),
                                                      (1, NT), (0,)]))  # fmt: skip
    xshape = (p, NET.dim) if good else draw(st.sampled_from([(p, 2), (p, 2), (p, 1), (p, 3),
                                                             (2,), (), (1, p, 2)]))  # fmt: skip
    weights = None
    if fn in VJPS or fn.startswith("operator"):
        slots = [VJPS[fn]] if fn in VJPS else None
        if slots is None:
            names = draw(st.lists(st.sampled_from(list(OPERATOR)), min_size=1, max_size=4,
                                  unique=True))  # fmt: skip
            slots = [(n, OPERATOR[n]) for n in names]
        else:
            slots = [(0, slots[0])]
        weights = {}
        for name, code in slots:
            shape = _weight_shape(code, p, NET.dim)
            wdtype = tdtype
            if not good and draw(st.booleans()):
                shape = draw(st.sampled_from([shape, (p + 1,) + shape[1:], shape + (1,),
                                              shape[:-1] if len(shape) > 1 else ()]))  # fmt: skip
                wdtype = draw(st.sampled_from(DTYPES))
            weights[name] = (shape, wdtype)
    return fn, (tshape, tdtype), (xshape, xdtype), weights


@FUZZ
@given(kernel_inputs())
def test_kernels_accept_or_name_the_bad_argument(case):
    fn, (tshape, tdtype), (xshape, xdtype), wspec = case
    theta = _array(tshape, tdtype, 1)
    x = _array(xshape, xdtype, 2)
    weights = {k: _array(s, dt, 3) for k, (s, dt) in (wspec or {}).items()}
    bad = set()
    if tdtype not in FLOATS or tshape != (NT,):
        bad.add("theta")
    if xdtype not in FLOATS or len(xshape) != 2 or xshape[1] != NET.dim:
        bad.add("x")
    if not bad and xdtype != tdtype:
        bad.update({"x", "theta"})
    p = xshape[0] if len(xshape) == 2 else 0
    for key, (shape, dtype) in (wspec or {}).items():
        code = VJPS[fn] if fn in VJPS else OPERATOR[key]
        if dtype != tdtype or shape != _weight_shape(code, p, NET.dim):
            bad.add("weights" if fn in VJPS else key)
    if bad:
        with pytest.raises((TypeError, ValueError)) as info:
            _call(fn, theta, x, weights)
        _check_error(info.value, fn, bad)
        return
    out = _call(fn, theta, x, weights)
    if fn == "jet":
        assert [o.shape for o in out] == [(p,), (p, 2), (p, 2, 2)]
        return
    assert out.shape == _expected_shape(fn, p)
    assert out.dtype == theta.dtype
    assert bool(jnp.all(jnp.isfinite(out)))


@FEW
@given(
    fn=st.sampled_from(["value", "grad_theta", "laplacian_x", "laplacian_x_vjp", "operator_rows"]),
    chunk=st.one_of(st.none(), st.sampled_from([-3, 0, 1, 2]), st.floats(-2, 5), st.booleans(),
                    st.just(np.int64(2)), st.just(10**30), st.text(max_size=3)),
)  # fmt: skip
def test_kernel_chunk_size(fn, chunk):
    theta, x = _array((NT,), "float64", 1), _array((3, 2), "float64", 2)
    weights = {"value": _array((3,), "float64", 3)}
    if fn in VJPS:
        weights = [_array(_weight_shape(VJPS[fn], 3, 2), "float64", 3)]
    ok = chunk is None or (type(chunk) is int and chunk >= 1)
    if not ok:
        with pytest.raises(ValueError, match=rf"^{fn}: chunk_size must be a positive int"):
            _call(fn, theta, x, weights, chunk)
        return
    want = _call(fn, theta, x, weights)
    got = _call(fn, theta, x, weights, chunk)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


@FEW
@given(fn=st.sampled_from(ALL_KERNELS), what=st.sampled_from(["theta", "x", "net"]),
       value=st.sampled_from([None, "abc", object(), [[1.0], [1.0, 2.0]], {"a": 1.0}]))  # fmt: skip
def test_kernels_refuse_non_arrays(fn, what, value):
    args = {"theta": _array((NT,), "float64", 1), "x": _array((3, 2), "float64", 2)}
    weights = [_array((3,), "float64", 3)] if fn in ("value_vjp", "laplacian_x_vjp") else None
    if fn in VJPS and weights is None:
        weights = [_array(_weight_shape(VJPS[fn], 3, 2), "float64", 3)]
    if fn.startswith("operator"):
        weights = {"value": _array((3,), "float64", 3)}
    if what == "net":
        assume(value is not None and not isinstance(value, (list, dict)))  # unhashable: see end
        f = getattr(kernels, fn)
        extra = (weights[0],) if fn in VJPS else ()
        kw = weights if fn.startswith("operator") else {}
        with pytest.raises(TypeError, match=rf"^{fn}: net must be a nnpde.TwoLayerNet"):
            f(value, args["theta"], args["x"], *extra, **kw)
        return
    args[what] = value
    with pytest.raises(TypeError) as info:
        _call(fn, args["theta"], args["x"], weights)
    assert what in str(info.value), str(info.value)


# ---- kernels: NaN and Inf ----------------------------------------------------------------------
@FUZZ
@given(fn=st.sampled_from(ALL_KERNELS), where=st.sampled_from(["theta", "x"]),
       index=st.integers(0, 10**6), bad=st.sampled_from([np.nan, np.inf, -np.inf]))  # fmt: skip
def test_nan_and_inf_propagate_without_a_crash(fn, where, index, bad):
    """NaN in θ or x gives NaN out (documented); Inf gives Inf or NaN; nothing crashes."""
    dtype = "float64"  # the shapes and dtype of the valid cases above: compiled once
    theta = np.array(_array((NT,), dtype, 1))
    x = np.array(_array((3, 2), dtype, 2))
    row = None
    if where == "theta":
        theta[index % NT] = bad
    else:
        row, col = divmod(index % 6, 2)
        x[row, col] = bad
    weights = {"value": _array((3,), dtype, 3), "laplacian": _array((3,), dtype, 4)}
    if fn in VJPS:
        weights = [_array(_weight_shape(VJPS[fn], 3, 2), dtype, 3)]
    out = _call(fn, jnp.asarray(theta), jnp.asarray(x), weights)
    leaves = [np.asarray(o, np.float64) for o in jax.tree_util.tree_leaves(out)]
    assert leaves[0].shape == ((3,) if fn == "jet" else _expected_shape(fn, 3))
    if not np.isnan(bad):
        return  # Inf: no crash, the right shape; values may be Inf, NaN or finite
    if fn == "value" and where == "theta":
        assert np.all(np.isnan(leaves[0]))  # every θ entry reaches every output of N
    elif row is not None and leaves[0].shape[0] == 3:
        assert np.all(np.isnan(leaves[0][row]))  # a point's own outputs
    else:
        assert any(np.any(np.isnan(leaf)) for leaf in leaves)


# ---- TwoLayerNet -------------------------------------------------------------------------------
junk = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True), st.text(max_size=4),
    st.just(np.int64(3)), st.just(np.float64(2.0)), st.just(np.bool_(True)),
)  # fmt: skip


def _size_ok(n):
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) and n >= 1


@FUZZ
@given(
    dim=junk,
    hidden=st.one_of(junk, st.lists(junk, max_size=3), st.tuples(junk, junk)),
    activation=st.one_of(st.sampled_from(["tanh", "relu", "sin", "tanhh", ""]), junk),
)
def test_two_layer_net_construction(dim, hidden, activation):
    dim_ok = _size_ok(dim)
    hidden_ok = (
        isinstance(hidden, (list, tuple)) and len(hidden) == 2 and all(map(_size_ok, hidden))
    )
    act_ok = isinstance(activation, str) and activation in nnpde.list_activations()
    if dim_ok and hidden_ok and act_ok:
        net = nnpde.TwoLayerNet(dim, hidden, activation)
        assert net.dim == dim and type(net.dim) is int
        assert net.hidden == tuple(int(m) for m in hidden)
        hash(net)
        return
    with pytest.raises((TypeError, ValueError)) as info:
        nnpde.TwoLayerNet(dim, hidden, activation)
    named = [n for n, ok in (("dim", dim_ok), ("hidden", hidden_ok), ("activation", act_ok))
             if not ok]  # fmt: skip
    assert named[0] in str(info.value), str(info.value)


@FEW
@given(
    key=st.one_of(st.sampled_from(["key", "raw", "batch", "int", "str", "float"])),
    dtype=st.sampled_from(("float32", "float64", None) + DTYPES[4:] + ("nonsense",)),
)
def test_init_key_and_dtype(key, dtype):
    keys = {"key": jax.random.key(0), "raw": jax.random.PRNGKey(0),
            "batch": jax.random.split(jax.random.key(0), 2), "int": 3, "str": "abc",
            "float": 1.5}  # fmt: skip
    key_ok = key in ("key", "raw")
    dtype_ok = dtype is None or dtype in FLOATS
    if key_ok and dtype_ok:
        theta = NET.init(keys[key], dtype)
        assert theta.shape == (NT,) and bool(jnp.all(jnp.isfinite(theta)))
        return
    with pytest.raises(TypeError, match=r"^TwoLayerNet.init: (key|dtype)"):
        NET.init(keys[key], dtype)


# ---- domains and sampling ----------------------------------------------------------------------
coords = st.one_of(
    st.floats(-1e3, 1e3),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308]),
    st.integers(-5, 5),
)
counts = st.one_of(
    st.integers(-2, 40), st.none(), st.booleans(), st.floats(0, 5), st.text(max_size=2),
    st.just(np.int64(4)), st.just(np.array(3)), st.just(10**12),
)  # fmt: skip
methods = st.sampled_from(["sobol", "halton", "uniform", "Sobol", "", None, 3])
keys = st.sampled_from([None, "key", "raw", "batch", "int", "neg"])
KEYS = {None: None, "key": jax.random.key(1), "raw": jax.random.PRNGKey(2),
        "batch": jax.random.split(jax.random.key(0), 3), "int": 7, "neg": [-1, 5]}  # fmt: skip


def _count_ok(n, limit=sampling.MAX_POINTS):
    return _size_ok(n) and n <= limit


@FUZZ
@given(lower=st.lists(coords, min_size=0, max_size=4), upper=st.lists(coords, min_size=0,
       max_size=4), time=st.sampled_from([False, True, 0, "yes", None]))  # fmt: skip
def test_box_construction(lower, upper, time):
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    with np.errstate(over="ignore", invalid="ignore"):
        ok = (
            len(lower) == len(upper) >= 1
            and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo < hi)
            and np.all(np.isfinite(hi - lo)) and isinstance(time, bool)
        )  # fmt: skip
    if ok:
        box = nnpde.Box(lower, upper, time)
        assert box.dim == len(lower)
        return
    with pytest.raises((TypeError, ValueError), match=r"lower|upper|time"):
        nnpde.Box(lower, upper, time)


@FUZZ
@given(
    domain=st.sampled_from(["interval", "box2", "box3t", "box4", "disk", "polygon", "holed"]),
    call=st.sampled_from(["grid", "test_grid", "sample", "sample_boundary"]),
    n=counts, method=methods, key=keys,
)  # fmt: skip
def test_domain_points(domain, call, n, method, key):
    dom = {
        "interval": nnpde.Interval(-1.0, 2.0),
        "box2": nnpde.Box((0.0, -1.0), (1.0, 1.0)),
        "box3t": nnpde.Box((0.0, 0.0, 0.0), (1.0, 2.0, 3.0), time=True),
        "box4": nnpde.Box((0.0,) * 4, (1.0,) * 4),
        "disk": nnpde.Disk((1.0, -1.0), 2.0),
        "polygon": nnpde.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]),
        "holed": nnpde.Box((0.0, 0.0), (2.0, 1.0)) - nnpde.Disk((0.5, 0.5), 0.25),
    }[domain]
    fn = getattr(dom, call)
    kwargs = {} if call.endswith("grid") else {"key": KEYS[key], "method": method}
    n_ok = _size_ok(n)
    if n_ok and call.endswith("grid"):
        n_ok = math.log10(n) * dom.dim <= math.log10(sampling.MAX_POINTS)
    elif n_ok:
        n_ok = n <= sampling.MAX_POINTS
    m_ok = call.endswith("grid") or method in ("sobol", "halton", "uniform")
    k_ok = call.endswith("grid") or key in (None, "key", "raw")
    if call == "sample" and method == "uniform" and key is None:
        k_ok = False
    if n_ok and m_ok and k_ok:
        if call.endswith("grid") or call == "sample":
            assume(int(n) ** (dom.dim if call.endswith("grid") else 1) <= 50_000)
        out = fn(n, **kwargs)
        pts = out.x if call == "sample_boundary" else out
        assert pts.ndim == 2 and pts.shape[1] == dom.dim and pts.dtype == np.float64
        assert np.all(np.isfinite(pts)) and np.all(dom.contains(pts))
        if call == "sample":
            assert pts.shape[0] == n
        return
    with pytest.raises((TypeError, ValueError)) as info:
        fn(n, **kwargs)
    msg = str(info.value)
    named = r"\bn\b|points" if not n_ok else "method" if not m_ok else "key"
    assert re.search(named, msg), msg


@FEW
@given(center=st.lists(coords, min_size=0, max_size=3),
       radius=st.one_of(coords, st.none(), st.text(max_size=2), st.just([1.0])))  # fmt: skip
def test_disk_construction(center, radius):
    c = np.asarray(center, float)
    r_ok = isinstance(radius, (int, float)) and math.isfinite(radius) and radius > 0
    with np.errstate(over="ignore", invalid="ignore"):
        ok = (len(center) == 2 and np.all(np.isfinite(c)) and r_ok
              and np.all(np.isfinite(c + radius)) and np.all(np.isfinite(c - radius)))  # fmt: skip
    if ok:
        assert nnpde.Disk(center, radius).radius == float(radius)
        return
    with pytest.raises((TypeError, ValueError), match=r"center|radius"):
        nnpde.Disk(center, radius)


@FUZZ
@given(n=counts, dim=st.one_of(st.integers(-1, 25), st.none(), st.floats(0, 3)),
       method=methods, key=keys)  # fmt: skip
def test_unit_cube(n, dim, method, key):
    n_ok = _count_ok(n)
    d_ok = _size_ok(dim) and (method != "sobol" or dim <= sampling.MAX_SOBOL_DIM)
    m_ok = method in ("sobol", "halton", "uniform")
    k_ok = key in (None, "key", "raw") and not (method == "uniform" and key is None)
    if n_ok and d_ok and m_ok and k_ok:
        assume(n * dim <= 100_000)
        pts = sampling.unit_cube(n, dim, key=KEYS[key], method=method)
        assert pts.shape == (n, dim) and np.all((pts >= 0) & (pts < 1))
        return
    with pytest.raises((TypeError, ValueError)) as info:
        sampling.unit_cube(n, dim, key=KEYS[key], method=method)
    named = ["points"] if not n_ok else ["dim"] if not d_ok else ["method"] if not m_ok else ["key"]
    assert any(name in str(info.value) for name in named), str(info.value)


def test_huge_requests_fail_at_once():
    """Counts that would exhaust memory or run for hours raise before allocating."""
    box = nnpde.Box((0.0,) * 8, (1.0,) * 8)
    with pytest.raises(ValueError, match=r"n\^D ≈ 10\^16.0 points, more than"):
        box.grid(100)
    with pytest.raises(ValueError, match=r"n\^D ≈ 10\^400.0 points"):
        nnpde.Box((0.0,) * 200, (1.0,) * 200).test_grid(100)
    with pytest.raises(ValueError, match="MAX_POINTS"):
        box.sample(10**12)
    with pytest.raises(ValueError, match="MAX_POINTS"):
        nnpde.Disk().sample_boundary(10**12)
    with pytest.raises(ValueError, match="MAX_POINTS"):
        sampling.sobol(10**12, 2)


@FEW
@given(x=st.sampled_from([np.zeros(2), np.zeros((3, 3)), np.zeros((2, 2), complex), "ab",
                          np.zeros((0, 2))]),
       tol=st.sampled_from([1e-9, -1.0, np.nan, "a", True]))  # fmt: skip
def test_contains_and_on_face(x, tol):
    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    x_ok = isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == 2 and x.dtype.kind == "f"
    tol_ok = type(tol) is float and tol >= 0
    for fn in (box.contains, lambda x, tol: box.on_face(x, "left", tol=tol)):
        if x_ok and tol_ok:
            assert fn(x, tol=tol).shape == (x.shape[0],)
            continue
        with pytest.raises(ValueError, match=r"x must|tol must"):
            fn(x, tol=tol)


# ---- problems and solve: validation before anything is compiled --------------------------------
def _problem(**kw):
    box = nnpde.Box((0.0, 0.0), (1.0, 1.0))
    fields = dict(boundary=[nnpde.Dirichlet(lambda x: 0.0)])
    fields.update(kw)
    return nnpde.Problem(box, lambda x, u: u.laplacian - 1.0, **fields)


TINY = nnpde.TwoLayerNet(2, (2, 2))


class UserError(Exception):
    pass


def _raises(x):
    raise UserError("user code failed")


@FEW
@given(which=st.sampled_from(["dirichlet", "neumann", "robin", "equation", "exact-trial"]))
def test_user_callables_that_raise_propagate_unchanged(which):
    """A user's own exception comes back as it is (with its traceback), not wrapped."""
    if which == "dirichlet":
        problem = _problem(boundary=[nnpde.Dirichlet(_raises)])
    elif which == "neumann":
        problem = _problem(boundary=[nnpde.Neumann(_raises)])
    elif which == "robin":
        problem = _problem(boundary=[nnpde.Robin(1.0, 1.0, _raises)])
    elif which == "equation":
        problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)), lambda x, u: _raises(x))
    else:
        problem = _problem(trial=(_raises, lambda x: 1.0))
    with pytest.raises(UserError):
        nnpde.solve(problem, TINY, problem.domain.grid(2), steps=1)


@pytest.mark.parametrize("exact", [lambda x: x, lambda x: x[:1], lambda x: jnp.zeros((2, 2))])
def test_errors_with_an_exact_solution_of_the_wrong_shape(exact):
    problem = _problem(exact=exact)
    sol = S.Solution(theta=TINY.init(jax.random.key(0)), net=TINY, problem=problem)
    with pytest.raises(ValueError, match=r"problem\.exact must return a scalar for one point"):
        sol.errors(problem.domain.grid(2))


bad_points = st.sampled_from([
    "nan", "inf", "outside", "rank1", "rank3", "dim3", "negative-int", "zero", "bool", "float",
])  # fmt: skip


@FUZZ
@given(points=bad_points, method=st.sampled_from(["lm", "adam", "lbfgs"]))
def test_solve_refuses_bad_points(points, method):
    problem = _problem()
    grid = problem.domain.grid(2)
    bad = {
        "nan": np.where(np.arange(4)[:, None] == 1, np.nan, grid),
        "inf": np.where(np.arange(4)[:, None] == 2, np.inf, grid),
        "outside": grid + 5.0,
        "rank1": grid[0],
        "rank3": grid[None],
        "dim3": np.zeros((4, 3)) + 0.5,
        "negative-int": -3,
        "zero": 0,
        "bool": True,
        "float": 4.0,
    }[points]
    with pytest.raises(ValueError, match="points"):
        nnpde.solve(problem, TINY, bad, steps=1, method=method)


@FEW
@given(
    option=st.sampled_from(["method", "steps", "steps_per_call", "backend", "theta0", "net",
                            "unknown"]),
    value=st.one_of(st.integers(-3, 0), st.floats(allow_nan=True), st.text(max_size=5),
                    st.none(), st.just([1, 2])),
)  # fmt: skip
def test_solve_refuses_bad_options(option, value):
    problem = _problem(boundary=[nnpde.Neumann(lambda x: 0.0)])
    args, net = {"steps": 1}, TINY
    if option == "unknown":
        with pytest.raises(TypeError, match="stepz"):
            nnpde.solve(problem, net, problem.domain.grid(2), stepz=1)
        return
    if option == "net":
        net = value
    elif option == "theta0":
        args["theta0"] = np.zeros(TINY.num_params + 1)
    else:
        # None is the default of method, steps_per_call and backend (it trains: not this test)
        assume(not (option in ("method", "steps_per_call", "backend") and value is None))
        args[option] = value
    with pytest.raises((TypeError, ValueError), match=rf"\b{option} must"):
        nnpde.solve(problem, net, problem.domain.grid(2), **args)


# ---- files: random bytes, truncation, flipped bytes, random headers ----------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A valid solution file and its bytes."""
    path = tmp_path_factory.mktemp("fuzz") / "good.npz"
    theta = NET.init(jax.random.key(0), jnp.float64)
    S.Solution(theta=theta, net=NET, history={"loss": np.linspace(1, 0, 5)}, status="ok").save(path)
    return path, path.read_bytes(), np.asarray(theta)


def _load_bytes(tmp_path, data, name="fuzz.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return nnpde.load(path)


@FUZZ
@given(data=st.binary(max_size=600))
def test_load_random_bytes(tmp_path, data):
    with pytest.raises(FileFormatError, match=r"cannot load '.*fuzz\.npz'"):
        _load_bytes(tmp_path, data)


@FUZZ
@given(data=st.binary(min_size=1, max_size=40))
def test_load_random_bytes_after_a_zip_signature(tmp_path, data):
    with pytest.raises(FileFormatError):
        _load_bytes(tmp_path, b"PK\x03\x04" + data)


@FUZZ
@given(cut=st.integers(0, 10**6))
def test_load_truncated(tmp_path, saved, cut):
    _, data, _ = saved
    with pytest.raises(FileFormatError):
        _load_bytes(tmp_path, data[: cut % len(data)])


@settings(FUZZ, max_examples=60)
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1,
                      max_size=3))  # fmt: skip
def test_load_flipped_bytes(tmp_path, saved, flips):
    """A damaged file is refused, or (damage in bytes that carry no data, e.g. a timestamp)
    read back exactly as saved: never a different model."""
    _, data, theta = saved
    damaged = bytearray(data)
    for pos, xor in flips:
        damaged[pos % len(data)] ^= xor
    try:
        sol = _load_bytes(tmp_path, bytes(damaged))
    except FileFormatError:
        return
    np.testing.assert_array_equal(np.asarray(sol.theta), theta)
    assert sol.net == NET and sol.status == "ok"
    np.testing.assert_array_equal(sol.history["loss"], np.linspace(1, 0, 5))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)  # fmt: skip


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_load_randomly_edited_header(tmp_path, saved, data):
    """Any edit of the JSON header gives FileFormatError, or a model equal to the saved one."""
    _, raw, theta = saved
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(np.load(io.BytesIO(members["header.npy"])).tobytes())
    paths = [p for p in _paths(header) if p]
    target = data.draw(st.sampled_from(paths))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    parent = header
    for k in target[:-1]:
        parent = parent[k]
    if action == "replace":
        parent[target[-1]] = data.draw(json_values)
    elif action == "delete":
        del parent[target[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=5))] = data.draw(json_values)
    else:
        parent.append(data.draw(json_values))
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
    members["header.npy"] = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    try:
        sol = _load_bytes(tmp_path, out.getvalue())
    except FileFormatError:
        return
    # Edits that leave a valid file: free-form ``info``, the ``status`` text, the problem name,
    # the writer's version string, or has_trial.
    np.testing.assert_array_equal(np.asarray(sol.theta), theta)
    assert sol.net == NET


# ---- formerly known gaps (strict xfails until issue 19): each now names the culprit -------------
def test_unhashable_chunk_size_is_named():
    # Was a strict xfail: jax.jit hashed the static chunk_size before the kernel's checks.
    theta, x = _array((NT,), "float64", 1), _array((3, 2), "float64", 2)
    with pytest.raises(ValueError, match=r"^value: chunk_size must be a positive int"):
        kernels.value(NET, theta, x, chunk_size=[2])


def test_unhashable_net_is_named():
    # Was a strict xfail: jax.jit hashed the static net before check_net.
    theta, x = _array((NT,), "float64", 1), _array((3, 2), "float64", 2)
    with pytest.raises(TypeError, match=r"^value: net must be a nnpde.TwoLayerNet"):
        kernels.value([NET], theta, x)


def test_dirichlet_value_of_the_wrong_shape_is_named():
    # Was a strict xfail: the vector failed in jax.grad without naming the condition.
    problem = _problem(boundary=[nnpde.Dirichlet(lambda x: x)])
    with pytest.raises(ValueError, match="Dirichlet"):
        nnpde.solve(problem, TINY, problem.domain.grid(2), steps=1)


def test_neumann_flux_of_the_wrong_shape_is_named():
    # Was a strict xfail: the vector failed on rank promotion without naming the condition.
    problem = _problem(boundary=[nnpde.Neumann(lambda x: x)])
    with pytest.raises(ValueError, match="Neumann"):
        nnpde.solve(problem, TINY, problem.domain.grid(2), steps=1)


@pytest.mark.parametrize("value", ["a", None])
def test_boundary_value_not_a_number_is_named(value):
    # Was a strict xfail: jnp.asarray failed without naming the condition.
    problem = _problem(boundary=[nnpde.Dirichlet(lambda x: value)])
    with pytest.raises((TypeError, ValueError), match="Dirichlet"):
        nnpde.solve(problem, TINY, problem.domain.grid(2), steps=1)


@pytest.mark.parametrize("field", ["alpha", "weight"])
def test_robin_coefficients_are_checked(field):
    kwargs = {"alpha": 1.0, "beta": 1.0, "value": lambda x: 0.0, field: "a"}
    with pytest.raises((TypeError, ValueError), match=field):
        _problem(boundary=[nnpde.Robin(**kwargs)])


@pytest.mark.parametrize("bad", ["domain", "trial"])
def test_problem_fields_are_checked(bad):
    eq = lambda x, u: u.laplacian  # noqa: E731
    with pytest.raises(TypeError, match=bad):
        if bad == "domain":
            nnpde.Problem("box", eq)
        else:
            nnpde.Problem(nnpde.Box((0.0,), (1.0,)), eq, trial=5)


def test_solve_names_a_bad_problem():
    with pytest.raises(TypeError, match="problem"):
        nnpde.solve("p", TINY, np.full((1, 2), 0.5), steps=1)


@pytest.mark.parametrize(
    ("option", "value", "method"),
    [("key", 3, "lm"), ("callback", 3, "adam"), ("boundary_points", 0, "lm"),
     ("time_limit", -1.0, "lm"), ("checkpoint_every", 0, "adam")],
)  # fmt: skip
def test_solve_names_a_bad_option(option, value, method):
    problem = _problem(boundary=[nnpde.Neumann(lambda x: 0.0)])
    with pytest.raises((TypeError, ValueError), match=rf"\b{option} must"):
        nnpde.solve(problem, TINY, problem.domain.grid(2), steps=1, method=method,
                    **{option: value})  # fmt: skip


@pytest.mark.parametrize(
    ("make", "match"),
    [(lambda: nnpde.LM(atol="a"), r"LM\.atol must"),
     (lambda: nnpde.LM(ftol=-1.0), r"LM\.ftol must"),
     (lambda: nnpde.LM(mu0=1e20), "mu_min < mu0 < mu_max"),
     (lambda: nnpde.LM(scaling="x"), r"LM\.scaling must"),
     (lambda: nnpde.Optax(optax.adam(1e-3), divergence="x"), r"Optax\.divergence must"),
     (lambda: nnpde.Optax(optax.adam(1e-3), divergence=1.0), r"Optax\.divergence must"),
     (lambda: nnpde.Optax(optax.adam(1e-3), stall_window=0), r"Optax\.stall_window must"),
     (lambda: nnpde.Optax("adam"), r"Optax\.transformation must"),
     (lambda: nnpde.LBFGS(memory_size=0), r"LBFGS\.memory_size must")],
)  # fmt: skip
def test_solver_settings_are_checked_when_the_solver_is_built(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("kind", ["int", "complex", "float16", "nan"])
def test_solve_names_a_bad_theta0(kind):
    problem = _problem()
    nt = TINY.num_params
    theta0 = {"int": np.zeros(nt, int), "complex": np.zeros(nt, complex),
              "float16": np.zeros(nt, np.float16), "nan": np.full(nt, np.nan)}[kind]  # fmt: skip
    with pytest.raises((TypeError, ValueError), match=r"\btheta0 (must|contains|has)"):
        nnpde.solve(problem, TINY, problem.domain.grid(2), steps=1, theta0=theta0)


@pytest.mark.parametrize("kind", ["empty", "complex", "str", "none"])
def test_solve_names_bad_points(kind):
    problem = _problem()
    pts = {"empty": np.zeros((0, 2)), "complex": np.full((2, 2), 0.5 + 0j), "str": "grid",
           "none": None}[kind]  # fmt: skip
    with pytest.raises((TypeError, ValueError), match=r"\bpoints (must|contain|is|are)"):
        nnpde.solve(problem, TINY, pts, steps=1)


# ---- observations (issue 18, item 3) ------------------------------------------------------------
@FUZZ
@given(
    xshape=st.sampled_from([(3, 2), (3, 2), (1, 2), (3,), (0, 2), (3, 3), (2, 2, 1), ()]),
    vshape=st.sampled_from([(3,), (3,), (1,), (4,), (3, 1), ()]),
    bad=st.sampled_from([None, None, "nan-x", "inf-values", "complex"]),
    component=st.one_of(st.integers(-2, 3), st.just(1.5), st.just(True)),
    weight=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.just("w")),
)
def test_observations_are_accepted_or_name_the_argument(xshape, vshape, bad, component, weight):
    """A Data block and a two-unknown problem holding it: either both are built, with the
    documented shapes, or a TypeError/ValueError names ``Data: <argument>`` or ``data``."""
    x = np.full(xshape, 0.5)
    values = np.linspace(0.0, 1.0, int(np.prod(vshape))).reshape(vshape)
    if bad == "nan-x" and x.size:
        x.flat[0] = np.nan
    elif bad == "inf-values" and values.size:
        values.flat[-1] = np.inf
    elif bad == "complex":
        values = values + 1j
    try:
        obs = nnpde.Data(x, values, component=component, weight=weight)
        problem = nnpde.Problem(nnpde.Box((0.0, 0.0), (1.0, 1.0)),
                                lambda x, u: jnp.stack([u[0].laplacian, u[1].laplacian]),
                                components=2, data=[obs])  # fmt: skip
    except (TypeError, ValueError) as err:
        assert re.match(r"^(Data: (x|values|component|weight)|Problem: data\[0\])", str(err)), err
        return
    q = xshape[0]
    assert xshape == (q, 2) and q >= 1 and vshape == (q,) and bad is None
    assert component in (0, 1) and not isinstance(component, bool)
    assert weight is None or (math.isfinite(weight) and weight > 0)
    (got,) = problem.observations
    assert got.x.shape == (q, 2) and got.values.shape == (q,) and got.weight > 0
