"""benchmarks/corners.py: each case's data g meet its solution u = g + bubble on the whole
boundary (the bubble vanishes there) and not inside, and the kink rule's verdicts are the ones
its table reports."""

from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp
import pytest

from nnpde.geometry import kinked_faces
from nnpde.trial import build_trial

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import corners

KINKED = {"L_polygon", "L_boxes", "quarter_cut", "square_hole", "lens"}


@pytest.mark.parametrize("name", sorted(corners.CASES))
def test_bubble_vanishes_on_the_boundary_only(name):
    dom, bubble = corners.CASES[name]
    xb = jnp.asarray(dom.sample_boundary(400, key=jax.random.key(1)).x)
    assert float(jnp.max(jnp.abs(jax.vmap(bubble)(xb)))) <= 1e-12
    x = jnp.asarray(dom.sample(200))
    assert float(jnp.max(jnp.abs(jax.vmap(bubble)(x)))) > 1e-2
    assert (kinked_faces(dom, dom.faces) is not None) == (name in KINKED)


def test_the_two_modes_build_the_trials_the_table_names():
    """Forced: the user's (g, φ) trial on every case; default: none on a kinked domain (the
    data a penalty), the distance trial on the round hole."""
    for name in ("L_polygon", "round_hole"):
        trial, rest = build_trial(corners.problem(name, True))
        assert trial is not None and rest == []
    trial, rest = build_trial(corners.problem("L_polygon", False))
    assert trial is None and len(rest) == 1
    trial, rest = build_trial(corners.problem("round_hole", False))
    assert trial is not None and trial.exact_faces and rest == []
