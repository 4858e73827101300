"""Draws docs/geometry.png: two domains of nnpde.geometry with their collocation points, boundary
points, outward normals and the distance function φ. Run: python docs/geometry_plot.py"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import nnpde

jax.config.update("jax_enable_x64", True)


def main() -> None:
    lshape = nnpde.Polygon([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])
    square = nnpde.Polygon([(-1, -1), (1, -1), (1, 1), (-1, 1)])
    holes = square - nnpde.Disk((-0.4, -0.35), 0.3) - nnpde.Disk((0.45, 0.4), 0.25)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, (title, dom) in zip(axes, [("Polygon (L-shape)", lshape),
                                       ("Polygon - Disk - Disk", holes)]):  # fmt: skip
        g = dom.test_grid(201)
        phi = np.asarray(dom.distance(jnp.asarray(g)))
        sc = ax.scatter(g[:, 0], g[:, 1], c=phi, s=2, cmap="viridis", marker="s", linewidths=0)
        x = dom.sample(300, key=jax.random.key(0))
        ax.plot(x[:, 0], x[:, 1], "k.", ms=2.5, label="sample(300)")
        b = dom.sample_boundary(80)
        for k, face in enumerate(np.unique(b.face)):
            m = b.face == face
            ax.quiver(b.x[m, 0], b.x[m, 1], b.normal[m, 0], b.normal[m, 1], scale=25,
                      width=0.004, color=plt.cm.tab10(k % 10), label=face)  # fmt: skip
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.legend(fontsize=6, loc="upper right", ncol=2)
        fig.colorbar(sc, ax=ax, shrink=0.8, label="distance φ")
    fig.tight_layout()
    out = pathlib.Path(__file__).with_name("geometry.png")
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
