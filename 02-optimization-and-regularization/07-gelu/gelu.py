"""GELU: the helper module of gelu.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
from torch import nn


def Phi(x):
    """The standard normal CDF, P(X <= x) for X ~ N(0, 1), through erf."""
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def gelu(x):
    """(G2): x Phi(x), the exact GELU."""
    return x * Phi(x)


def gelu_tanh(x):
    """(G3): the tanh approximation, torch's F.gelu(x, approximate="tanh")."""
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_sigmoid(x):
    """(G4): the sigmoid approximation x sigma(1.702 x)."""
    return x * torch.sigmoid(1.702 * x)


def stochastic_gelu(x, generator=None):
    """(G1): m x with m ~ Bernoulli(Phi(x)) drawn independently for every entry of x."""
    m = torch.bernoulli(Phi(x), generator=generator)
    return m * x


class GELU(nn.Module):
    """The GELU as a layer: (G2) by default, (G3) with approximate="tanh", like nn.GELU."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return gelu_tanh(x) if self.approximate == "tanh" else gelu(x)
