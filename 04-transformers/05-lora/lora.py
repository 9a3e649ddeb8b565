"""LoRA: the helper module of lora.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """Eq. (3) with Section 4.1's scaling: h = W_0 x + (alpha / r) B A x. W_0 (and its bias) frozen;
    A [r, k] Gaussian, B [d, r] zero, so the layer starts equal to the frozen one."""

    def __init__(self, base, r, alpha, generator=None):
        super().__init__()
        self.base, self.r, self.alpha, self.scaling = base, r, alpha, alpha / r
        base.requires_grad_(False)
        weight = base.weight
        A = torch.randn(r, base.in_features, generator=generator, dtype=weight.dtype) / math.sqrt(base.in_features)
        self.A = nn.Parameter(A.to(weight.device))
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=weight.dtype, device=weight.device))
        self.merged = False

    def delta(self):
        """Delta W = (alpha / r) B A [d, k]: rank at most r."""
        return self.scaling * self.B @ self.A

    def forward(self, x):
        h = self.base(x)                                          # W_0 x + b (W_0 + Delta W once merged)
        if self.merged:
            return h
        return h + self.scaling * (x @ self.A.T) @ self.B.T       # two thin products, Delta W never formed

    @torch.no_grad()
    def merge(self):
        """W_0 <- W_0 + Delta W: one ordinary linear layer, as fast as the original."""
        if not self.merged:
            self.base.weight += self.delta()
            self.merged = True

    @torch.no_grad()
    def unmerge(self):
        """W_0 + Delta W <- W_0: back to the frozen weights (up to rounding)."""
        if self.merged:
            self.base.weight -= self.delta()
            self.merged = False


ATTENTION_QV = ("W_q", "W_v")                              # the paper's choice in most experiments
EVERY_LINEAR = ("W_q", "W_k", "W_v", "W_o", "W_1", "W_2")  # every linear layer of a transformer block


def add_lora(model, names, r, alpha, generator=None):
    """Freeze all of `model`, then wrap every nn.Linear child whose attribute name is in `names` in a
    LoRALinear of rank r; returns {module path: LoRALinear}."""
    model.requires_grad_(False)
    layers = {}
    for path, module in list(model.named_modules()):
        for name, child in list(module.named_children()):
            if name in names and isinstance(child, nn.Linear):
                setattr(module, name, LoRALinear(child, r, alpha, generator))
                layers[f"{path}.{name}"] = getattr(module, name)
    return layers


def trainable_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def subspace_similarity(A_1, A_2):
    """Eq. (4): phi(A_1, A_2, i, j) = ||U_1[:, :i]^T U_2[:, :j]||_F^2 / min(i, j) for all i <= r_1, j <= r_2 -> [r_1, r_2],
    U the right-singular vectors of A [r, k] (columns by decreasing singular value)."""
    U_1, U_2 = (torch.linalg.svd(A.detach().double(), full_matrices=False).Vh.T for A in (A_1, A_2))
    overlap = (U_1.T @ U_2).square().cumsum(0).cumsum(1)      # [r_1, r_2]: sums over the first i rows, j columns
    i = torch.arange(1, overlap.shape[0] + 1, dtype=overlap.dtype)[:, None]
    j = torch.arange(1, overlap.shape[1] + 1, dtype=overlap.dtype)[None]
    return overlap / torch.minimum(i, j)
