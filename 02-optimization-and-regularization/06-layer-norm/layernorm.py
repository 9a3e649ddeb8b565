"""Layer normalization: the helper module of layernorm.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
from torch import nn


def layer_norm(a, gain, bias, dims=1, eps=1e-5):
    """Layer normalization of the summed inputs a [..., *units] over its last `dims` dimensions:
    mu and sigma of eq. (3) for each example, then eq. (2)'s g / sigma (a - mu) and the bias b of
    eq. (1). eps is added to sigma^2 as torch does; eps=0 is the paper's eq. (3) exactly."""
    units = tuple(range(-dims, 0))
    mu = a.mean(units, keepdim=True)                                          # eq. (3), mu^l
    centred = a - mu
    sigma = torch.sqrt((centred * centred).mean(units, keepdim=True) + eps)  # eq. (3), sigma^l
    return gain * centred / sigma + bias


class LayerNorm(nn.Module):
    """Eq. (3) as a layer, a gain g (ones) and a bias b (zeros) per unit, over the trailing
    dimensions `normalized_shape` (an int or a tuple, as for nn.LayerNorm). It has no running
    statistics and no training mode: training and inference compute the same thing."""

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.gain = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, a):
        return layer_norm(a, self.gain, self.bias, self.gain.dim(), self.eps)


class LNLSTM(nn.Module):
    """The layer-normalized LSTM of the paper's supplementary material, (L1)-(L3), over a
    sequence x [T, N, input_size] -> (h [T, N, H], (h_T, c_T)); gates ordered (f, i, o, g).
    ln_h, ln_x normalize W_h h_{t-1} and W_x x_t, each over its 4H entries; ln_c normalizes c_t."""

    def __init__(self, input_size, hidden_size, eps=1e-5):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.W_x = nn.Parameter(torch.empty(4 * H, input_size))
        self.W_h = nn.Parameter(torch.empty(4 * H, H))
        self.b = nn.Parameter(torch.zeros(4 * H))
        self.ln_h, self.ln_x, self.ln_c = LayerNorm(4 * H, eps), LayerNorm(4 * H, eps), LayerNorm(H, eps)
        for W in (self.W_x, self.W_h):  # nn.LSTM's initialization
            nn.init.uniform_(W, -1 / math.sqrt(H), 1 / math.sqrt(H))

    def step(self, x_term, h, c):
        # x_term = LN(W_x x_t; alpha_2, beta_2) + b, [N, 4H]
        gates = self.ln_h(h @ self.W_h.T) + x_term                        # (L1)
        f, i, o = torch.sigmoid(gates[:, :3 * self.hidden_size]).chunk(3, dim=-1)
        c = f * c + i * torch.tanh(gates[:, 3 * self.hidden_size:])     # (L2)
        h = o * torch.tanh(self.ln_c(c))                                  # (L3)
        return h, c

    def forward(self, x, state=None):
        if state is None:
            state = (x.new_zeros(x.shape[1], self.hidden_size),) * 2
        h, c = state
        x_terms = self.ln_x(x @ self.W_x.T) + self.b                      # (L1)'s input half, every t at once
        outputs = []
        for x_term in x_terms:
            h, c = self.step(x_term, h, c)
            outputs.append(h)
        return torch.stack(outputs), (h, c)
