"""The curriculum's figures, in one style: curves, image grids, heatmaps.

Figures are drawn at a modest resolution so that committed notebooks stay small.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

plt.rcParams.update({
    "figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (6, 3.5),
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "font.size": 10, "legend.frameon": False,
})


def _numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def curves(series, title=None, xlabel="step", ylabel=None, logy=False, ax=None):
    """Plot named curves. `series` maps a label to a list of (x, y) pairs, the shape of a
    `dlhistory.train.fit` history, or to a list of y values (x = 0, 1, 2, ...)."""
    if ax is None:
        _, ax = plt.subplots()
    for label, points in series.items():
        points = list(points)
        if points and isinstance(points[0], (tuple, list)):
            x, y = zip(*points)
        else:
            x, y = range(len(points)), points
        ax.plot(x, y, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend()
    return ax


def image_grid(images, titles=None, ncols=10, cmap="gray", size=1.0, suptitle=None):
    """Show a batch of images ([N, H, W] or [N, C, H, W]; one channel in `cmap`, three as RGB),
    each scaled to its own range: filters are best seen that way."""
    images = _numpy(images)
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)
        if images.shape[-1] == 1:
            images = images[..., 0]
    n = len(images)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * (1.25 if titles else 1)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            image = images[i]
            low, high = image.min(), image.max()
            ax.imshow((image - low) / (high - low + 1e-12), cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def heatmap(matrix, xlabels=None, ylabels=None, title=None, cmap="viridis", annotate=False, ax=None):
    """A matrix as colours, e.g. attention weights or hidden-unit codes."""
    matrix = _numpy(matrix)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * matrix.shape[1] + 1.5, 0.4 * matrix.shape[0] + 1))
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), [str(s) for s in xlabels], rotation=90 if len(xlabels) > 12 else 0)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), [str(s) for s in ylabels])
    if annotate:
        middle = (matrix.min() + matrix.max()) / 2
        for (i, j), value in np.ndenumerate(matrix):  # dark text on light cells, light on dark
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="k" if value > middle else "w")
    ax.set_title(title)
    return ax
