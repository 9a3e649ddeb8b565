"""Residual networks: the helper module of resnet.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics.relu import relu


def shortcut_A(x, channels, stride=1):
    """Option A (Section 3.3): the identity shortcut of eq. (1), made to fit where the
    dimensions grow: subsample by taking every `stride`-th position (a stride-2 identity)
    and append zero-filled channels up to `channels`. No parameters.
    x [N, C, H, W] -> [N, channels, ceil(H / stride), ceil(W / stride)]."""
    if stride > 1:
        x = x[:, :, ::stride, ::stride]
    return F.pad(x, (0, 0, 0, 0, 0, channels - x.shape[1]))  # zeros after the last channel


class Projection(nn.Module):
    """Option B's projection W_s of eq. (2): a linear map of the channels, taken at every
    `stride`-th position, which is what a 1x1 convolution with that stride computes.
    x [N, c_in, H, W] -> [N, c_out, ceil(H / stride), ceil(W / stride)]."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.W_s = nn.Parameter(torch.empty(c_out, c_in))
        nn.init.kaiming_normal_(self.W_s)  # He et al. 2015's init (the paper's [13]), fan-in c_in
        self.stride = stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        return torch.einsum("oc,nchw->nohw", self.W_s, x)


def conv3x3(c_in, c_out, stride=1):
    """A 3x3 convolution, padding 1, no bias: batch norm right after it supplies the shift."""
    return nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv layers with batch norm, the residual function F of eq. (1)-(2):
    y = relu(F(x) + shortcut(x)), F(x) = BN(conv(relu(BN(conv(x))))) (Section 3.3, Figure 2).
    `shortcut`: "A" (zero-padded identity, eq. (1)), "B" (projection W_s, eq. (2), only where
    the dimensions change; identity elsewhere), or None: the plain twin, y = relu(F(x))."""

    def __init__(self, c_in, c_out, stride=1, shortcut="A"):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = conv3x3(c_out, c_out), nn.BatchNorm2d(c_out)
        self.shortcut, self.c_out, self.stride = shortcut, c_out, stride
        self.projection = None
        if shortcut == "B" and (stride > 1 or c_in != c_out):
            # BN after every convolution (Section 3.4), the 1x1 projection included
            self.projection = nn.Sequential(Projection(c_in, c_out, stride), nn.BatchNorm2d(c_out))

    def residual(self, x):
        """F(x, {W_i}): the two weight layers of the block, before the addition."""
        return self.bn2(self.conv2(relu(self.bn1(self.conv1(x)))))

    def forward(self, x):
        f = self.residual(x)
        if self.shortcut is None:
            return relu(f)
        if self.projection is not None:
            return relu(f + self.projection(x))               # eq. (2)
        return relu(f + shortcut_A(x, self.c_out, self.stride))  # eq. (1)


class CifarResNet(nn.Module):
    """The 32x32 networks of Section 4.2: a 3x3 conv, then 3 stages of n blocks on feature maps
    of 32, 16, 8 with widths w, 2w, 4w (the paper: 16, 32, 64), the first block of stages 2 and
    3 halving the map with stride 2; global average pooling and a 10-way linear layer.
    6n + 2 weight layers: n = 3 gives 20, n = 9 gives 56. shortcut=None is the plain twin:
    the same layers, no shortcuts."""

    def __init__(self, n, shortcut="A", width=16, in_channels=3, classes=10):
        super().__init__()
        widths = (width, 2 * width, 4 * width)
        self.conv, self.bn = conv3x3(in_channels, width), nn.BatchNorm2d(width)
        blocks, c = [], width
        for stage, w in enumerate(widths):
            for i in range(n):
                blocks.append(BasicBlock(c, w, stride=2 if stage > 0 and i == 0 else 1, shortcut=shortcut))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)
        for m in self.modules():  # He et al. 2015's init for the conv layers (Section 3.4)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.blocks(relu(self.bn(self.conv(x))))
        return self.fc(x.mean(dim=(2, 3)))          # global average pooling, then the classifier


def depth(model):
    """Weight layers counted as the paper counts them: the convolutions of the main path and
    the fully connected layer (projection shortcuts are not counted)."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def block_gradient_norms(model, x, y):
    """Section 4.1's check of the backward pass, block by block, for one batch in training
    mode (batch statistics, as in a step): the norm of the loss's gradient with respect to
    each block's output, and with respect to each block's two conv kernels together.
    Works on a copy, so the model's BN running statistics stay as they were.
    Returns (output gradient norms [blocks], weight gradient norms [blocks])."""
    model = copy.deepcopy(model).train()
    outputs = []

    def keep(module, inputs, output):
        output.retain_grad()
        outputs.append(output)

    for block in model.blocks:
        block.register_forward_hook(keep)
    F.cross_entropy(model(x), y).backward()
    signal = torch.stack([output.grad.norm() for output in outputs])
    weights = torch.stack([torch.cat([b.conv1.weight.grad.flatten(), b.conv2.weight.grad.flatten()]).norm()
                           for b in model.blocks])
    return signal, weights
