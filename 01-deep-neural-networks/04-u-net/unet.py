"""U-Net: the helper module of unet.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Two 3x3 convolutions, each with a ReLU (sec. 2), plus GroupNorm and an optional embedding.

    pad: padded ('same') convolutions if True, the paper's unpadded ('valid') ones if False.
    emb_dim: if set, forward(x, emb) scales and shifts the normalized conv1 output by Linear(emb) [B, 2 c_out]
    (adaptive group normalization, Dhariwal & Nichol 2021).
    """

    def __init__(self, c_in, c_out, pad=True, emb_dim=None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1 if pad else 0)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1 if pad else 0)
        self.norm1 = nn.GroupNorm(min(8, c_out), c_out)
        self.norm2 = nn.GroupNorm(min(8, c_out), c_out)
        self.emb = nn.Linear(emb_dim, 2 * c_out) if emb_dim else None
        if self.emb is not None:  # zero scale and shift: the hook starts as the plain block
            nn.init.zeros_(self.emb.weight)
            nn.init.zeros_(self.emb.bias)

    def forward(self, x, emb=None):
        h = self.norm1(self.conv1(x))
        if self.emb is not None:
            scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)  # [B, c_out, 1, 1] each
            h = h * (1 + scale) + shift
        return F.relu(self.norm2(self.conv2(F.relu(h))))


def center_crop(x, height, width):
    """The middle height x width window of x [..., H, W] (the paper's crop of the skip maps)."""
    top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
    return x[..., top:top + height, left:left + width]


class UNet(nn.Module):
    """Contracting path, expanding path, skip concatenation (Fig. 1), len(widths) levels.

    widths: channels per level, e.g. (16, 32, 64) here, (64, 128, 256, 512, 1024) in the paper.
    out_channels: scores per pixel (the classes K; a diffusion model's predicted noise).
    """

    def __init__(self, in_channels=1, out_channels=2, widths=(16, 32, 64), pad=True, emb_dim=None):
        super().__init__()
        self.down = nn.ModuleList()
        c = in_channels
        for width in widths:
            self.down.append(Block(c, width, pad, emb_dim))
            c = width
        self.up, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, width, 2, stride=2))  # 2x2 up-convolution, halves channels
            self.up_blocks.append(Block(2 * width, width, pad, emb_dim))
            c = width
        self.head = nn.Conv2d(c, out_channels, 1)  # the final 1x1 convolution
        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # sec. 3: Gaussian with std sqrt(2 / N), N inputs per unit
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x, emb=None):
        skips = []
        for level, block in enumerate(self.down):
            if level > 0:
                x = F.max_pool2d(x, 2)
            x = block(x, emb)
            skips.append(x)
        skips.pop()  # the bottom level feeds the expanding path directly
        for up, block in zip(self.up, self.up_blocks):
            x = up(x)
            skip = center_crop(skips.pop(), *x.shape[-2:])
            x = block(torch.cat([skip, x], dim=1), emb)
        return self.head(x)  # [B, out_channels, H', W']


def distance_to(region, R=8):
    """Euclidean distance from every pixel to the nearest True pixel of region [..., H, W],
    exact up to R pixels and clipped to R beyond (so R when the region is empty)."""
    inf = float("inf")
    squared = torch.where(region, 0.0, inf)

    def sweep(f, dim):  # min over offsets o in [-R, R] along dim of f(shifted by o) + o^2
        best, n = f.clone(), f.shape[dim]
        for o in range(1, min(R, n - 1) + 1):
            pad = torch.full_like(f.narrow(dim, 0, o), inf)
            ahead = torch.cat([f.narrow(dim, o, n - o), pad], dim)
            behind = torch.cat([pad, f.narrow(dim, 0, n - o)], dim)
            best = torch.minimum(best, torch.minimum(ahead, behind) + o * o)
        return best

    return sweep(sweep(squared, -1), -2).sqrt().clamp(max=R)


def class_balance(masks, n_classes=2):
    """w_c per class: |Omega| / (K |Omega_c|) over all pixels of masks, so every class weighs the same."""
    counts = torch.bincount(masks.flatten(), minlength=n_classes).float()
    return counts.sum() / (n_classes * counts)


def weight_map(masks, instances, class_weights, w0=10.0, sigma=2.0, R=8, chunk=64):
    """Eq. 2 for every image: w_c(x) + w0 exp(-(d1 + d2)^2 / (2 sigma^2)), the second term on
    background pixels with d2 < R only. masks, instances: [N, H, W] int64 (ids 1, 2, ...; 0 background)."""
    ids = torch.arange(1, max(int(instances.max()), 2) + 1)  # at least two, so that d2 exists
    maps = []
    for start in range(0, len(masks), chunk):
        mask, inst = masks[start:start + chunk], instances[start:start + chunk]
        d = distance_to(inst[:, None] == ids[:, None, None], R)  # [b, cells, H, W]
        d1, d2 = d.topk(2, dim=1, largest=False).values.unbind(1)
        border = w0 * torch.exp(-(d1 + d2) ** 2 / (2 * sigma ** 2)) * (d2 < R)  # 0 where d2 >= R
        maps.append(class_weights[mask] + border * (mask == 0))
    return torch.cat(maps)


def weighted_cross_entropy(logits, target, weight):
    """The negative of eq. 1, averaged over pixels: mean over x of -w(x) log p_l(x)(x).
    logits [B, K, H, W] (the a_k), target [B, H, W] int64 (l), weight [B, H, W] (w)."""
    log_p = logits.log_softmax(dim=1)                               # pixel-wise soft-max, in logs
    return -(weight * log_p.gather(1, target[:, None]).squeeze(1)).mean()


def elastic_deform(images, *maps, sigma=2.0, grid=3):
    """Warp images [B, C, H, W] and any maps [B, H, W] (labels: int, nearest; weights: float,
    bilinear) by one smooth random field per image: N(0, sigma^2) pixel displacements on a
    grid x grid lattice, interpolated bicubically; borders are mirrored. Returns the warped list."""
    B, _, H, W = images.shape
    coarse = sigma * torch.randn(B, 2, grid, grid, device=images.device)
    shift = F.interpolate(coarse, size=(H, W), mode="bicubic", align_corners=True)  # [B, 2, H, W] in pixels
    ys, xs = torch.meshgrid(torch.arange(H, device=images.device), torch.arange(W, device=images.device), indexing="ij")
    where = torch.stack([(xs + shift[:, 0]) / (W - 1), (ys + shift[:, 1]) / (H - 1)], dim=-1) * 2 - 1  # [B, H, W, 2]
    warped = [F.grid_sample(images, where, mode="bilinear", padding_mode="reflection", align_corners=True)]
    for m in maps:
        mode = "bilinear" if m.is_floating_point() else "nearest"
        out = F.grid_sample(m[:, None].float(), where, mode=mode, padding_mode="reflection", align_corners=True)
        warped.append(out[:, 0].to(m.dtype))
    return warped


def connected_components(foreground):
    """Label the 4-connected components of foreground [B, H, W] bool: [B, H, W] int64, 0 off."""
    B, H, W = foreground.shape
    labels = torch.where(foreground, torch.arange(1, H * W + 1, device=foreground.device).view(1, H, W), 0)
    while True:
        p = F.pad(labels, (1, 1, 1, 1))
        spread = torch.stack([labels, p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]]).amax(0)
        spread = torch.where(foreground, spread, 0)
        if torch.equal(spread, labels):
            return labels
        labels = spread


def separation(foreground, instances, min_size=5):
    """Match predicted components to true cells. foreground [B, H, W] bool, instances [B, H, W].
    Returns (separated [cells] bool: one component overlaps the cell with IoU > 0.5,
    touching [cells] bool: the cell comes within 2 px of another cell, number of components
    of at least min_size pixels)."""
    components = connected_components(foreground)
    near = F.max_pool2d(F.one_hot(instances).permute(0, 3, 1, 2).float(), 5, stride=1, padding=2)  # [B, ids, H, W]
    separated, touching, count = [], [], 0
    for comp, inst, close in zip(components, instances, near):
        comp = torch.unique(comp, return_inverse=True)[1]  # renumber 0, 1, ..., C (0 stays background)
        sizes = torch.bincount(comp.flatten())
        comp = torch.where(sizes[comp] >= min_size, comp, 0)
        C, K = int(comp.max()) + 1, int(inst.max()) + 1
        overlap = torch.bincount((inst * C + comp).flatten(), minlength=K * C).view(K, C).float()
        union = overlap.sum(1, keepdim=True) + overlap.sum(0, keepdim=True) - overlap
        present = overlap.sum(1) > 0  # ids that still have pixels
        present[0] = False
        best = (overlap / union)[:, 1:].amax(1) if C > 1 else torch.zeros(K)
        separated.append((best > 0.5)[present])
        other = (inst[None] > 0) & (inst[None] != torch.arange(K, device=inst.device)[:, None, None])
        touching.append((close[:K].bool() & other).flatten(1).any(1)[present])
        count += len(torch.unique(comp)) - 1
    return torch.cat(separated), torch.cat(touching), count


def iou(foreground, masks):
    """Intersection over union of the predicted and true foreground, pooled over all pixels."""
    truth = masks.bool()
    return ((foreground & truth).sum() / (foreground | truth).sum()).item()
