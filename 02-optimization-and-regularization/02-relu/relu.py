"""Rectified linear units: the helper module of relu.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn


class _Rectifier(torch.autograd.Function):
    """(rectifier): forward max(0, x); backward passes the gradient where x > 0 and blocks it
    elsewhere, so the derivative we take at x = 0 is 0 (torch's choice too)."""

    @staticmethod
    def forward(ctx, x):
        active = x > 0
        ctx.save_for_backward(active)
        return torch.where(active, x, 0.0)

    @staticmethod
    def backward(ctx, grad):
        (active,) = ctx.saved_tensors
        return torch.where(active, grad, 0.0)


def relu(x):
    """The rectifier max(0, x), elementwise, written from scratch (rectifier)."""
    return _Rectifier.apply(x)


class ReLU(nn.Module):
    """The rectifier as a layer: ReLU()(x) == relu(x)."""

    def forward(self, x):
        return relu(x)


class _Softplus(torch.autograd.Function):
    """(softplus): log(1 + e^x), computed as max(x, 0) + log(1 + e^-|x|) so that e^x never
    overflows; its derivative is the logistic sigmoid 1 / (1 + e^-x), 1/2 at x = 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + torch.exp(-x))


def softplus(x):
    """The softplus log(1 + e^x), elementwise: the smooth version of the rectifier (softplus)."""
    return _Softplus.apply(x)


class Softplus(nn.Module):
    """The softplus as a layer: Softplus()(x) == softplus(x)."""

    def forward(self, x):
        return softplus(x)


class MLP(nn.Module):
    """A fully connected net, `sizes` = [inputs, hidden..., outputs], one activation module
    after every hidden layer. After each forward pass `self.hidden` holds the hidden layers'
    outputs (a list of [batch, units] tensors), for the sparsity measures and the L1 penalty."""

    def __init__(self, sizes, activation=ReLU):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = activation()
        self.hidden = []

    def forward(self, x):
        x = x.flatten(1)
        self.hidden = []
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
            self.hidden.append(x)
        return self.layers[-1](x)


def activation_l1(hidden):
    """(L1): the penalty on the activations, the mean absolute activation of each hidden layer
    (over examples and units), summed over the hidden layers. `hidden`: MLP.hidden."""
    return sum(h.abs().mean() for h in hidden)


@torch.no_grad()
def sparsity(model, x, batch=1000):
    """(sparsity): the share of hidden activations that are exactly zero, over the examples x and
    all hidden units of `model` (an MLP); a float in [0, 1]."""
    model.eval()
    zeros = total = 0
    for i in range(0, len(x), batch):
        model(x[i:i + batch])
        zeros += sum((h == 0).sum().item() for h in model.hidden)
        total += sum(h.numel() for h in model.hidden)
    return zeros / total


@torch.no_grad()
def dead_units(model, x, batch=1000):
    """The share of hidden units whose activation is zero (or not a number) on every example of x:
    units that pass no gradient on these examples, so gradient descent on them cannot revive them."""
    model.eval()
    ever = None
    for i in range(0, len(x), batch):
        model(x[i:i + batch])
        alive = torch.cat([(h > 0).any(0) for h in model.hidden])
        ever = alive if ever is None else ever | alive
    return 1 - ever.float().mean().item()
