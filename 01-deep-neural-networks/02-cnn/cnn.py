"""Convolutional networks (LeNet): the helper module of cnn.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn


def output_size(size, k, stride=1, padding=0):
    """Rows (or columns) of a convolution's output: floor((size + 2P - k) / s) + 1."""
    return (size + 2 * padding - k) // stride + 1


def im2col(x, k, stride=1, padding=0):
    """Lay out every k x k window of x [B, C, H, W] as a column: [B, C*k*k, H_out*W_out].

    The rows are ordered (channel, p, q), the order of W.reshape(n, C*k*k)."""
    B, C, H, W = x.shape
    H_out, W_out = output_size(H, k, stride, padding), output_size(W, k, stride, padding)
    x = F.pad(x, (padding,) * 4)
    # slice (p, q) holds x(s*u + p - P, s*v + q - P) for every output position (u, v)
    slices = [x[:, :, p: p + stride * (H_out - 1) + 1: stride, q: q + stride * (W_out - 1) + 1: stride]
              for p in range(k) for q in range(k)]
    columns = torch.stack(slices, dim=2)            # [B, C, k*k, H_out, W_out]
    return columns.reshape(B, C * k * k, H_out * W_out)


def conv2d(x, W, b=None, stride=1, padding=0):
    """(A) computed as the matrix product (B): x [B, C, H, W], kernels W [n, C, k, k], b [n] (shared over the map)
    or [n, H_out, W_out] (one per unit). Returns [B, n, H_out, W_out]."""
    B, _, H, W_in = x.shape
    n, C, k, _ = W.shape
    columns = im2col(x, k, stride, padding)                       # [B, C*k*k, L]
    a = (W.reshape(n, C * k * k) @ columns).reshape(B, n, output_size(H, k, stride, padding),
                                                    output_size(W_in, k, stride, padding))
    if b is None:
        return a
    return a + (b.reshape(1, n, 1, 1) if b.dim() == 1 else b)


A, S = 1.7159, 2 / 3


def squash(a):
    """Eq. 6: f(a) = A tanh(S a), so that f(1) = 1 and f(-1) = -1."""
    return A * torch.tanh(S * a)


def fan_in_uniform(shape, fan_in):
    """Uniform weights with standard deviation 1/sqrt(fan_in) (a number, or a tensor that broadcasts
    to shape): unit-variance sums from unit-variance inputs."""
    bound = (3 / fan_in) ** 0.5
    return nn.Parameter((torch.rand(shape) * 2 - 1) * bound)


class Conv(nn.Module):
    """A convolutional layer (A): n_out maps from n_in maps with k x k kernels.

    table: for each output map, the input maps it is connected to (None: all of them).
    out_size: (H_out, W_out) for one bias per unit, as in 1989; None for one bias per map."""

    def __init__(self, n_in, n_out, k, stride=1, padding=0, table=None, out_size=None):
        super().__init__()
        mask = torch.ones(n_out, n_in)
        if table is not None:
            mask = torch.zeros(n_out, n_in)
            for j, inputs in enumerate(table):
                mask[j, list(inputs)] = 1
        self.register_buffer("mask", mask[:, :, None, None])           # [n_out, n_in, 1, 1]
        fan_in = mask.sum(1) * k * k                                        # [n_out]: C3's maps differ
        self.W = fan_in_uniform((n_out, n_in, k, k), fan_in.view(-1, 1, 1, 1))
        self.b = nn.Parameter(torch.zeros((n_out,) if out_size is None else (n_out, *out_size)))
        self.stride, self.padding = stride, padding

    def forward(self, x):
        return conv2d(x, self.W * self.mask, self.b, self.stride, self.padding)


class Subsampling(nn.Module):
    """(C): average each 2x2 block, times a trainable coefficient, plus a trainable bias, squashed."""

    def __init__(self, n_maps):
        super().__init__()
        self.c = nn.Parameter(torch.ones(n_maps))
        self.beta = nn.Parameter(torch.zeros(n_maps))

    def forward(self, x):
        B, n, H, W = x.shape
        average = x.reshape(B, n, H // 2, 2, W // 2, 2).mean(dim=(3, 5))   # [B, n, H/2, W/2]
        return squash(self.c.view(1, n, 1, 1) * average + self.beta.view(1, n, 1, 1))


def rbf(x, w):
    """Eq. 7: y_i = sum_j (x_j - w_ij)^2 for inputs x [B, n] and class centres w [classes, n] -> [B, classes]."""
    return (x.unsqueeze(1) - w.unsqueeze(0)).square().sum(-1)


C3_TABLE = [(0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
            (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
            (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
            (0, 1, 2, 3, 4, 5)]


def linear(n_in, n_out):
    """A fully connected layer (not this topic's subject: torch's), initialized like Conv."""
    layer = nn.Linear(n_in, n_out)
    layer.weight, layer.bias = fan_in_uniform((n_out, n_in), n_in), nn.Parameter(torch.zeros(n_out))
    return layer


class LeNet5(nn.Module):
    """C1-S2-C3-S4-C5-F6-output on 32x32 inputs; the output is linear (logits), not RBF units."""

    def __init__(self):
        super().__init__()
        self.C1 = Conv(1, 6, 5)                    # [B, 6, 28, 28]
        self.S2 = Subsampling(6)                   # [B, 6, 14, 14]
        self.C3 = Conv(6, 16, 5, table=C3_TABLE)   # [B, 16, 10, 10]
        self.S4 = Subsampling(16)                  # [B, 16, 5, 5]
        self.C5 = Conv(16, 120, 5)                 # [B, 120, 1, 1]
        self.F6 = linear(120, 84)
        self.output = linear(84, 10)

    def forward(self, x):
        x = self.S2(squash(self.C1(x)))
        x = self.S4(squash(self.C3(x)))
        x = squash(self.C5(x)).flatten(1)          # [B, 120]
        return self.output(squash(self.F6(x)))


def lenet_input(images):
    """28x28 images in [0, 1] -> 32x32 with background -0.1 and ink 1.175, as in the paper."""
    return F.pad(images, (2, 2, 2, 2)) * 1.275 - 0.1


H2_TABLE = [tuple((j + i) % 12 for i in range(8)) for j in range(12)]


class ZipNet1989(nn.Module):
    """The 1989 network on 16x16 inputs: H1 12x8x8, H2 12x4x4 (stride-2 convolutions, unshared
    biases), H3 30 units, 10 outputs (linear here)."""

    def __init__(self):
        super().__init__()
        self.H1 = Conv(1, 12, 5, stride=2, out_size=(8, 8))
        self.H2 = Conv(12, 12, 5, stride=2, padding=2, table=H2_TABLE, out_size=(4, 4))
        self.H3 = linear(12 * 4 * 4, 30)
        self.output = linear(30, 10)

    def forward(self, x):
        h1 = squash(self.H1(F.pad(x, (2, 2, 2, 2), value=-1.0)))   # [B, 12, 8, 8]
        h2 = squash(self.H2(h1))                                     # [B, 12, 4, 4]
        return self.output(squash(self.H3(h2.flatten(1))))


def zipnet_input(images):
    """28x28 images in [0, 1] -> 16x16 in [-1, 1], like the 1989 paper's normalized digits."""
    return F.interpolate(images, size=(16, 16), mode="bilinear", antialias=True) * 2 - 1


def free_parameters(model):
    """Trainable numbers the network uses: kernel entries masked out by a connection table do not count."""
    total = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            masked = isinstance(module, Conv) and name == "W"
            total += int(module.mask.expand_as(p).sum()) if masked else p.numel()
    return total


def shift_digits(images, d, generator=None):
    """Move each image [N, 1, H, W] d pixels left, right, up or down (at random), filling with 0."""
    if d == 0:
        return images.clone()
    H, W = images.shape[-2:]
    padded = F.pad(images, (d, d, d, d))
    direction = torch.randint(0, 4, (len(images),), generator=generator)
    shifted = torch.empty_like(images)
    # top-left corner of the crop in the padded image: content moves right, left, down, up
    for i, (row, col) in enumerate([(d, 0), (d, 2 * d), (0, d), (2 * d, d)]):
        chosen = direction == i
        shifted[chosen] = padded[chosen, :, row: row + H, col: col + W]
    return shifted
