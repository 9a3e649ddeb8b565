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


def image_grid(images, titles=None, ncols=10, cmap="gray", size=1.0, suptitle=None, centered=False):
    """Show a batch of images ([N, H, W] or [N, C, H, W]; one channel in `cmap`, three as RGB) as
    one picture, each image scaled to its own range: filters are best seen that way.
    centered=True scales each image by its largest |value| instead, so that zero sits at the
    middle of a diverging colour map (use one, e.g. cmap="RdBu_r", for signed weights)."""
    from torchvision.utils import make_grid
    images = torch.as_tensor(_numpy(images)).float()
    if images.ndim == 3:
        images = images.unsqueeze(1)
    flat = images.flatten(1)
    if centered:   # each image into [0, 1] with its zero at 0.5
        scale = flat.abs().amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
        images = images / (2 * scale) + 0.5
    else:
        low, high = flat.amin(1).view(-1, 1, 1, 1), flat.amax(1).view(-1, 1, 1, 1)
        images = (images - low) / (high - low).clamp_min(1e-12)
    n, ncols = len(images), min(ncols, len(images))
    nrows = math.ceil(n / ncols)
    pad = max(1, round(0.25 * images.shape[-2])) if titles is not None else 1   # room for a title line
    grid = make_grid(images, nrow=ncols, padding=pad, pad_value=0.5 if centered else 1.0)  # [C, H', W']
    fig, ax = plt.subplots(figsize=(size * ncols, size * nrows * (1.25 if titles is not None else 1)))
    picture = grid[0] if images.shape[1] == 1 else grid.permute(1, 2, 0)
    ax.imshow(_numpy(picture), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if titles is not None:
        h, w = images.shape[-2] + pad, images.shape[-1] + pad
        for i, title in enumerate(titles[:n]):
            ax.text((i % ncols) * w + w / 2 + pad / 2, (i // ncols) * h + pad, str(title), ha="center", va="bottom", fontsize=8)
    if suptitle:
        ax.set_title(suptitle, pad=14 if titles is not None else 6)
    fig.tight_layout()
    return fig


def heatmap(matrix, xlabels=None, ylabels=None, title=None, cmap="viridis", annotate=False, ax=None,
            centered=False, xlabel=None, ylabel=None):
    """A matrix as colours, e.g. attention weights or hidden-unit codes. centered=True puts
    zero at the middle of the colour map (for signed values, with a diverging map)."""
    matrix = _numpy(matrix)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * matrix.shape[1] + 1.5, 0.4 * matrix.shape[0] + 1))
    limit = np.abs(matrix).max() if centered else None
    image = ax.imshow(matrix, cmap=cmap, aspect="auto", vmin=-limit if centered else None, vmax=limit)
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
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return ax
