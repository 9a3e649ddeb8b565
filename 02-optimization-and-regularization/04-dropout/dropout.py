"""Dropout: the helper module of dropout.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn


def dropout(x, p, training, generator=None):
    """Inverted dropout (the paper's Section 4, scaled in training): in training zero each element
    of x with probability p (torch's convention: p drops, the paper's retention probability is
    1 - p) and divide the kept ones by 1 - p, so that E[output] = x; in eval return x unchanged."""
    if not training or p == 0:
        return x
    if p == 1:
        return x * torch.zeros_like(x)                      # keeps the graph, like F.dropout
    mask = torch.empty_like(x).bernoulli_(1 - p, generator=generator)   # r ~ Bernoulli(1 - p)
    return x * mask.div_(1 - p)


class Dropout(nn.Module):
    """(dropout net) as a module: dropout(x, p) in train mode, identity in eval mode. The masks
    come from torch's global random state, or from `generator` when one is set."""

    def __init__(self, p=0.5, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p, self.generator = p, generator

    def forward(self, x):
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}"


@torch.no_grad()
def max_norm_(weight, c):
    """(max-norm), Section 5.1: project each incoming weight vector (row of an nn.Linear weight
    [out, in]) onto the ball ||w_i||_2 <= c, in place. Returns weight."""
    norms = weight.norm(dim=1, keepdim=True)                  # [out, 1]
    return weight.mul_((c / norms).clamp(max=1.0))


class DropoutMLP(nn.Module):
    """(dropout net): Linear-ReLU layers of `sizes`, dropout with probability p_input on the input
    and p_hidden on each hidden layer's output (torch's convention: p drops)."""

    def __init__(self, sizes=(784, 512, 512, 10), p_input=0.2, p_hidden=0.5):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.drops = nn.ModuleList([Dropout(p_input)] + [Dropout(p_hidden) for _ in sizes[1:-1]])

    def hidden(self, x):
        """The hidden layers' outputs y^(l) (before their dropout): a list of [B, n_l]."""
        ys, h = [], x.flatten(1)
        for layer, drop in zip(self.layers[:-1], self.drops[:-1]):
            h = torch.relu(layer(drop(h)))
            ys.append(h)
        return ys

    def forward(self, x):                                     # x [B, ...] -> logits [B, classes]
        h = self.hidden(x)[-1] if len(self.layers) > 1 else x.flatten(1)
        return self.layers[-1](self.drops[-1](h))


@torch.no_grad()
def mc_probabilities(model, x, samples, generator=None, batch=2000):
    """(MC), Section 7.5: class probabilities of `samples` thinned networks on x,
    [samples, N, classes]; average over the first dimension for the Monte-Carlo estimate.
    The model's Dropout modules draw from `generator` during these passes."""
    drops = [m for m in model.modules() if isinstance(m, Dropout)]
    model.train()
    saved = [m.generator for m in drops]
    for m in drops:
        m.generator = generator
    try:
        return torch.stack([torch.cat([model(x[i:i + batch]).softmax(-1) for i in range(0, len(x), batch)])
                            for _ in range(samples)])
    finally:
        for m, g in zip(drops, saved):
            m.generator = g
        model.eval()
