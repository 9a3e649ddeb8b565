"""Generated datasets that are lessons in themselves, seeded and fast: touching cells for
U-Net, and the smoke-scale stand-ins of the real datasets (same shapes and types, no disk or
network), so CI runs in seconds.
"""
import numpy as np
import torch
import torch.nn.functional as F


def synthetic_images(n, shape=(1, 28, 28), seed=0):
    """Smoke-scale stand-in for an image dataset: ten fixed blob patterns (one per class),
    each drawn shifted by up to 2 pixels and with pixel noise, so that a classifier can
    learn them in a few steps."""
    g = torch.Generator().manual_seed(1234)  # the same ten patterns in every split
    prototypes = torch.rand(10, *shape, generator=g)
    for _ in range(2):
        prototypes = F.avg_pool2d(prototypes, 5, stride=1, padding=2)
    prototypes = (prototypes > prototypes.flatten(1).quantile(0.8, dim=1).view(10, 1, 1, 1)).float()
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    shifts = torch.randint(-2, 3, (n, 2), generator=g)
    images = torch.stack([prototypes[y].roll(tuple(s.tolist()), dims=(1, 2)) for y, s in zip(labels, shifts)])
    images = (images + 0.2 * torch.rand(images.shape, generator=g)).clamp(0, 1)
    return images, labels


def touching_cells(n, size=64, seed=0):
    """Generated microscopy-like images of blob-shaped cells in touching clusters (U-Net's lesson).

    Returns images [n, 1, size, size] float in [0, 1], masks [n, size, size] int64 (0 background,
    1 cell) and instances [n, size, size] int64 (0 background, a distinct id 1, 2, ... per cell).
    Each image has 4 to 9 cells of varied brightness; most are placed leaning against an earlier
    cell, so they touch or nearly touch. Where two cells meet, a line about a pixel wide is
    background in the mask, as in hand-made annotations, and only faintly darker in the image,
    which is blurred and noisy: that thin line is what a segmentation net must learn to keep.
    """
    rng = np.random.default_rng(seed)
    k_max, unit = 9, size / 64
    centers = np.full((n, k_max, 2), -1e3)   # unused slots sit far away and draw nothing
    radii = np.ones((n, k_max))
    for i in range(n):
        k, placed = int(rng.integers(4, k_max + 1)), 0
        for _ in range(60):
            if placed == k:
                break
            r = rng.uniform(5.0, 8.5) * unit
            if placed == 0 or rng.random() < 0.2:   # start a new cluster
                c = rng.uniform(r, size - r, 2)
            else:                                    # lean against an earlier cell
                j, angle = int(rng.integers(placed)), rng.uniform(0, 2 * np.pi)
                c = centers[i, j] + (radii[i, j] + r) * rng.uniform(0.85, 1.05) * np.array([np.cos(angle), np.sin(angle)])
            in_frame = (c > 0.6 * r).all() and (c < size - 0.6 * r).all()
            if in_frame and not (np.linalg.norm(centers[i, :placed] - c, axis=1) < 0.8 * (radii[i, :placed] + r)).any():
                centers[i, placed], radii[i, placed] = c, r
                placed += 1
    # Blob outlines r(angle) = r0 (1 + a2 cos(2 angle + p2) + a3 cos(3 angle + p3)), written
    # with cos/sin of the angle from dx/rho and dy/rho (multiple-angle formulas: no atan2, fast).
    a, p = rng.uniform(0, 0.15, (n, k_max, 2)), rng.uniform(0, 2 * np.pi, (n, k_max, 2))
    brightness = rng.uniform(0.45, 1.0, (n, k_max))

    def per_cell(values):  # [n, k] -> [n, k, 1, 1]
        return torch.tensor(values, dtype=torch.float32)[..., None, None]

    axis = torch.arange(size, dtype=torch.float32)
    coefficients = [per_cell(v) for v in (a[..., 0] * np.cos(p[..., 0]), a[..., 0] * np.sin(p[..., 0]),
                                          a[..., 1] * np.cos(p[..., 1]), a[..., 1] * np.sin(p[..., 1]))]
    y0, x0, r0, level0 = per_cell(centers[..., 0]), per_cell(centers[..., 1]), per_cell(radii), per_cell(brightness)
    instances, border, inside, level = [], [], [], []
    for i in range(0, n, 16):  # 16 images at a time: the [16, k, H, W] tensors stay in cache
        part = slice(i, i + 16)
        dy, dx = axis.view(-1, 1) - y0[part], axis.view(1, -1) - x0[part]   # [16, k, H, W]
        rho = torch.sqrt(dy ** 2 + dx ** 2).clamp_min(1e-6)
        c1, s1 = dx / rho, dy / rho
        A, B, C, D = (coefficient[part] for coefficient in coefficients)
        wobble = A * (c1 * c1 - s1 * s1) - B * 2 * s1 * c1 + C * c1 * (4 * c1 * c1 - 3) - D * s1 * (3 - 4 * s1 * s1)
        s = rho - r0[part] * (1 + wobble)              # about the signed distance to each outline, in pixels
        s12, order = s.topk(2, dim=1, largest=False)   # nearest and second-nearest cell of every pixel
        inside.append(s12[:, 0] < 0)
        border.append((s12[:, 1] - s12[:, 0] < 1.5) & (s12[:, 1] < 1.0))   # where two cells meet
        instances.append(torch.where(inside[-1] & ~border[-1], order[:, 0] + 1, 0))
        level.append(level0[part].expand(-1, -1, size, size).gather(1, order[:, :1]).squeeze(1))
    instances, border, inside, level = (torch.cat(t) for t in (instances, border, inside, level))
    g = torch.Generator().manual_seed(seed)
    image = 0.1 + torch.where(instances > 0, level - 0.1, 0.0) + torch.where(border & inside, 0.15, 0.0)
    image = image + 0.08 * torch.randn(image.shape, generator=g)
    blur = torch.tensor([0.25, 0.5, 0.25])
    image = F.conv2d(F.pad(image[:, None], (1, 1, 1, 1), mode="replicate"), (blur[:, None] * blur[None])[None, None])
    image = image + 0.05 * torch.randn(image.shape, generator=g)
    return image.clamp(0, 1), (instances > 0).long(), instances
