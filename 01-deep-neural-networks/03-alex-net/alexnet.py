"""AlexNet: the helper module of alexnet.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics.relu import relu   # sec. 3.1: f(x) = max(0, x), the relu topic's


class Activation(nn.Module):
    """The network's nonlinearity by name: "relu" (the relu topic's) or "tanh"."""

    def __init__(self, name):
        super().__init__()
        self.name = name
        self.f = {"relu": relu, "tanh": torch.tanh}[name]

    def forward(self, x):
        return self.f(x)


class LocalResponseNorm(nn.Module):
    """Sec. 3.3, eq. 2: b^i = a^i / (k + alpha * sum of (a^j)^2 over the n channels around i)^beta.

    alpha is the paper's; torch.nn.LocalResponseNorm(n, alpha=n * alpha, beta, k) is the same layer.
    """

    def __init__(self, n=5, k=2.0, alpha=1e-4, beta=0.75):
        super().__init__()
        self.n, self.k, self.alpha, self.beta = n, k, alpha, beta

    def denominator(self, a):
        """(k + alpha * sum_j (a^j)^2)^beta, for a: [B, N, H, W]."""
        squares = F.pad(a * a, (0, 0, 0, 0, self.n // 2, (self.n - 1) // 2))  # zero channels beyond the edges
        total = squares.unfold(1, self.n, 1).sum(-1)                            # [B, N, H, W]
        # x^beta written as exp(beta log x): the same number, about twice as fast as pow on a CPU
        return torch.exp(self.beta * torch.log(self.k + self.alpha * total))

    def forward(self, a):
        return a / self.denominator(a)


def max_pool(x, z=3, s=2):
    """Sec. 3.4: the max over z x z windows placed every s pixels; x: [B, C, H, W]."""
    return x.unfold(2, z, s).unfold(3, z, s).amax(dim=(-2, -1))  # [B, C, H', W'], eq. 4


class Dropout(nn.Module):
    """Sec. 4.2, eq. 5: in training zero each unit with probability p; at test keep all, times 1 - p."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, h):
        if self.training:
            return h * torch.empty_like(h).bernoulli_(1 - self.p)  # m ~ Bernoulli(1 - p)
        return h * (1 - self.p)


class TwoTowerConv2d(nn.Module):
    """Sec. 3.2: the kernels split into `groups` towers (the paper's GPUs); each tower
    sees only its own share of the input maps. Equals nn.Conv2d(..., groups=groups)."""

    def __init__(self, in_channels, out_channels, kernel_size, groups=2, padding=0):
        super().__init__()
        self.towers = nn.ModuleList(nn.Conv2d(in_channels // groups, out_channels // groups, kernel_size,
                                              padding=padding) for _ in range(groups))

    def forward(self, x):
        parts = x.chunk(len(self.towers), dim=1)                       # the maps on each GPU
        return torch.cat([tower(part) for tower, part in zip(self.towers, parts)], dim=1)

    def as_grouped_conv(self):
        """The same layer as one torch.nn.Conv2d with groups=len(towers)."""
        first = self.towers[0]
        conv = nn.Conv2d(first.in_channels * len(self.towers), first.out_channels * len(self.towers),
                         first.kernel_size, padding=first.padding, groups=len(self.towers))
        with torch.no_grad():
            conv.weight.copy_(torch.cat([t.weight for t in self.towers]))
            conv.bias.copy_(torch.cat([t.bias for t in self.towers]))
        return conv


class SubtractMean(nn.Module):
    """Sec. 2: the only preprocessing, subtracting the training set's mean image."""

    def __init__(self, mean):
        super().__init__()
        self.register_buffer("mean", mean)  # [C, H, W]

    def forward(self, x):
        return x - self.mean


class AlexNet(nn.Module):
    """Sec. 3.5 for small images: conv1 - LRN - pool, conv2 (two towers) - LRN - pool, conv3 (sees
    both towers), conv4 and conv5 (two towers) - pool, fc6 - dropout, fc7 - dropout, fc8.

    mean: the training set's mean image [C, H, W]; widths: kernels in (conv1, conv2 and conv5,
    conv3 and conv4); hidden: units in fc6 and fc7; lrn_alpha: eq. 2's alpha (the paper's 1e-4).
    """

    def __init__(self, mean, classes=10, widths=(96, 256, 384), hidden=4096, stride=1,
                 activation="relu", lrn=True, lrn_alpha=1e-4, dropout=0.5, towers=2):
        super().__init__()
        c1, c2, c3 = widths
        act = lambda: Activation(activation)
        norm = lambda: LocalResponseNorm(alpha=lrn_alpha) if lrn else nn.Identity()
        self.features = nn.Sequential(
            SubtractMean(mean),
            nn.Conv2d(mean.shape[0], c1, 5, stride, padding=2), act(), norm(), nn.MaxPool2d(3, 2),
            TwoTowerConv2d(c1, c2, 5, towers, padding=2), act(), norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1), act(),
            TwoTowerConv2d(c3, c3, 3, towers, padding=1), act(),
            TwoTowerConv2d(c3, c2, 3, towers, padding=1), act(), nn.MaxPool2d(3, 2),
            nn.Flatten())
        flat = self.features(mean[None]).shape[1]
        drop = lambda: Dropout(dropout) if dropout else nn.Identity()
        self.classifier = nn.Sequential(
            nn.Linear(flat, hidden), act(), drop(),
            nn.Linear(hidden, hidden), act(), drop(),
            nn.Linear(hidden, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def four_layer_net(mean, activation, classes=10, widths=(32, 32, 64), stride=1):
    """Figure 1's 'four-layer convolutional network', which the paper does not specify: the
    widths of cuda-convnet's CIFAR-10 example (layers-18pct.cfg), three 5x5 conv layers each
    followed by overlapping pooling, and a fully connected output; no normalization, no dropout."""
    act = lambda: Activation(activation)
    c1, c2, c3 = widths
    features = nn.Sequential(
        SubtractMean(mean),
        nn.Conv2d(mean.shape[0], c1, 5, stride, padding=2), act(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c1, c2, 5, padding=2), act(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c2, c3, 5, padding=2), act(), nn.MaxPool2d(3, 2),
        nn.Flatten())
    return nn.Sequential(features, nn.Linear(features(mean[None]).shape[1], classes))


def init_normal(model, std=0.01):
    """Sec. 5: weights from N(0, std^2), the paper's std = 0.01; biases 0."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, std)
            nn.init.zeros_(module.bias)
    return model


def init_weights(model, gain):
    """Weights from N(0, gain / fan-in), biases 0: gain 2 for ReLU nets, 1 for tanh nets."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, math.sqrt(gain / module.weight[0].numel()))
            nn.init.zeros_(module.bias)
    return model


def random_crop(x, size, padding=0):
    """Sec. 4.1: a random size x size patch of each image in x: [B, C, H, W], after zero padding."""
    x = F.pad(x, (padding,) * 4)
    B, C, H, W = x.shape
    top = torch.randint(0, H - size + 1, (B,)).to(x.device)
    left = torch.randint(0, W - size + 1, (B,)).to(x.device)
    offsets = torch.arange(size, device=x.device)
    rows = (top[:, None] + offsets)[:, None, :, None]    # [B, 1, size, 1]
    cols = (left[:, None] + offsets)[:, None, None, :]   # [B, 1, 1, size]
    batch = torch.arange(B, device=x.device)[:, None, None, None]
    channel = torch.arange(C, device=x.device)[None, :, None, None]
    return x[batch, channel, rows, cols]                 # [B, C, size, size]


def random_flip(x):
    """Sec. 4.1: each image mirrored left-right with probability 1/2."""
    flip = (torch.rand(len(x)) < 0.5).to(x.device)[:, None, None, None]
    return torch.where(flip, x.flip(-1), x)


def rgb_pca(images):
    """Eigenvalues lambda [3] (largest first) and eigenvectors p [3, 3] (columns) of the covariance
    of the RGB values of all pixels of images: [N, 3, H, W]."""
    pixels = images.transpose(0, 1).reshape(3, -1)      # [3, N*H*W]
    lam, p = torch.linalg.eigh(torch.cov(pixels))
    p = p * torch.where(p.sum(0) < 0, -1.0, 1.0)        # an eigenvector's sign is arbitrary: make it sum >= 0
    return lam.flip(0), p.flip(1)


def fancy_pca(x, lam, p, sigma=0.1):
    """Sec. 4.1, eq. 7: add [p1 p2 p3][a1 lam1, a2 lam2, a3 lam3]^T to every pixel of each image,
    a_i ~ N(0, sigma^2) drawn per image. x: [B, 3, H, W]."""
    alpha = torch.randn(len(x), 3).to(x.device) * sigma   # [B, 3]
    shift = (alpha * lam.to(x.device)) @ p.T.to(x.device)  # [B, 3]: sum_i a_i lam_i p_i
    return x + shift[:, :, None, None]


class Augment(nn.Module):
    """The training-time augmentation as a first layer: crop (if padding), mirror (if flip), fancy
    PCA (if pca=(lam, p)); in eval mode it passes images through, like dropout."""

    def __init__(self, padding=0, flip=False, pca=None):
        super().__init__()
        self.padding, self.flip, self.pca = padding, flip, pca

    def forward(self, x):
        if not self.training:
            return x
        if self.padding:
            x = random_crop(x, x.shape[-1], self.padding)
        if self.flip:
            x = random_flip(x)
        if self.pca is not None:
            x = fancy_pca(x, *self.pca)
        return x
