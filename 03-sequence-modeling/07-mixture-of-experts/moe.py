"""Mixture of experts: the helper module of moe.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def keep_top_k(v, k):
    """Eq. 5: keep the k largest entries of v along its last axis and set the others to -inf,
    so that the softmax of eq. 3 gives them exactly zero. Exactly k survive, ties included."""
    top = v.topk(k, dim=-1).indices
    kept = torch.zeros_like(v, dtype=torch.bool).scatter(-1, top, True)
    return v.masked_fill(~kept, float("-inf"))


class NoisyTopKGating(nn.Module):
    """Eqs. 3-4 on x [N, d]: H(x) = x W_g + StandardNormal() * Softplus(x W_noise), then
    G(x) = Softmax(KeepTopK(H(x), k)) over the n experts. W_g and W_noise start at zero
    (Appendix A): no signal and some noise, so the experts start with equal loads.
    The noise is drawn in training only (our choice; at evaluation H(x) = x W_g).
    Returns G [N, n] and what the load of eqs. 8-10 needs: x W_g, H(x) and the noise's scale."""

    def __init__(self, d, n_experts, k):
        super().__init__()
        self.k = k
        self.W_g = nn.Parameter(torch.zeros(d, n_experts))
        self.W_noise = nn.Parameter(torch.zeros(d, n_experts))

    def forward(self, x):
        clean = x @ self.W_g                                      # [N, n]
        noise_std = F.softplus(x @ self.W_noise)                  # [N, n], trainable scale
        H = clean + torch.randn_like(clean) * noise_std if self.training else clean  # eq. 4
        G = torch.softmax(keep_top_k(H, self.k), dim=-1)          # eq. 3
        return G, clean, H, noise_std


class Experts(nn.Module):
    """n feed-forward experts, each one ReLU hidden layer of width h and a linear output
    (the experts of Section 5.1), their weights stacked: W_in [n, d, h], W_out [n, h, d].
    Initialised as nn.Linear is: uniform in +-1/sqrt(fan_in)."""

    def __init__(self, n, d, h):
        super().__init__()
        def uniform(*shape, fan_in):
            return nn.Parameter(torch.empty(*shape).uniform_(-fan_in ** -0.5, fan_in ** -0.5))
        self.W_in, self.b_in = uniform(n, d, h, fan_in=d), uniform(n, h, fan_in=d)
        self.W_out, self.b_out = uniform(n, h, d, fan_in=h), uniform(n, d, fan_in=h)

    def forward(self, x, i):
        """Expert i on x [m, d] -> [m, d]."""
        return torch.relu(x @ self.W_in[i] + self.b_in[i]) @ self.W_out[i] + self.b_out[i]


def dispatch_combine(x, G, experts):
    """Eq. 1, y = sum_i G(x)_i E_i(x), computed sparsely (Section 2): expert i runs only on
    the tokens whose gate G(x)_i is non-zero. Dispatch: gather those rows of x; combine:
    scale the expert's outputs by their gates and add them back at their rows (index_add).
    x [N, d], G [N, n] with k non-zeros a row -> y [N, d]; cost k*N expert rows, not n*N."""
    token, expert = G.nonzero(as_tuple=True)          # the (token, expert) pairs, N*k of them
    order = expert.argsort(stable=True)               # grouped by expert
    token, expert = token[order], expert[order]
    sizes = torch.bincount(expert, minlength=G.shape[1]).tolist()
    y = torch.zeros_like(x)
    for i, rows in enumerate(token.split(sizes)):
        if len(rows):
            y = y.index_add(0, rows, G[rows, i, None] * experts(x[rows], i))
    return y


def cv_squared(v, eps=1e-10):
    """The squared coefficient of variation of v's entries: variance over squared mean."""
    return v.var(unbiased=False) / (v.mean() ** 2 + eps)


def importance(G):
    """Eq. 6: each expert's importance, the sum of its gate values over the batch. G [N, n] -> [n]."""
    return G.sum(0)


def kth_excluding(H, k):
    """kth_excluding(H(x), k, i) for every token and expert i at once [N, n]: the k-th largest
    entry of H(x) leaving out entry i. That is the (k+1)-th largest of the row when i is
    among its top k, and the k-th largest when it is not."""
    top = H.topk(k + 1, dim=-1).values                 # [N, k+1], largest first
    in_top_k = H >= top[:, k - 1:k]
    return torch.where(in_top_k, top[:, k:k + 1], top[:, k - 1:k])


def prob_in_top_k(clean, H, noise_std, k):
    """Eqs. 8-9: P(x, i), the probability that expert i is among x's top k when only its own
    noise is drawn again: Phi((x W_g)_i - kth_excluding(H(x), k, i)) / Softplus((x W_noise)_i))."""
    return torch.special.ndtr((clean - kth_excluding(H, k)) / noise_std)


def load(clean, H, noise_std, k):
    """Eq. 10: the smooth estimate of each expert's load, Load(X)_i = sum over x of P(x, i). [n]"""
    return prob_in_top_k(clean, H, noise_std, k).sum(0)


class MoE(nn.Module):
    """The sparsely-gated mixture-of-experts layer on x [..., d]: n experts of hidden width h,
    noisy top-k gating (eqs. 3-5), sparse dispatch and combine (eq. 1), and in training the
    balancing losses w_importance CV(Importance)^2 (eq. 7) and w_load CV(Load)^2 (eq. 11)
    in self.aux_loss, for the caller to add to its loss. After each call,
    self.tokens_per_expert [n] counts the tokens each expert ran on."""

    def __init__(self, d, n_experts, h, k, w_importance=0.1, w_load=0.1):
        super().__init__()
        self.k, self.w_importance, self.w_load = k, w_importance, w_load
        self.gating = NoisyTopKGating(d, n_experts, k)
        self.experts = Experts(n_experts, d, h)

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])                  # every position is one token
        G, clean, H, noise_std = self.gating(flat)
        self.tokens_per_expert = (G > 0).sum(0)
        self.aux_loss = 0.0
        if self.training:
            self.aux_loss = (self.w_importance * cv_squared(importance(G))                         # eq. 7
                             + self.w_load * cv_squared(load(clean, H, noise_std, self.k)))       # eq. 11
        return dispatch_combine(flat, G, self.experts).reshape(x.shape)


from torch.utils.flop_counter import FlopCounterMode


def ffn_flops(d, h):
    '''Forward FLOPs per token of a feed-forward layer d -> h -> d: two products, 2*d*h each.'''
    return 2 * (2 * d * h)


def moe_flops(d, n, h, k):
    '''Forward FLOPs per token of the MoE layer: k experts, and the gate's x W_g and x W_noise.'''
    return k * ffn_flops(d, h) + 2 * (2 * d * n)


def counted_flops(module, x):
    '''torch's count of the matrix-product FLOPs of one forward pass of module on x.'''
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()
