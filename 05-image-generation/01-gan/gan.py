"""GAN: the helper module of gan.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn


def mlp(
sizes, hidden=nn.ReLU, out=None):
    """A multilayer perceptron with `hidden` units between the Linear layers and `out` (or nothing) at the end."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(hidden())
    if out is not None:
        layers.append(out())
    return nn.Sequential(*layers)


def generator(z_dim, hidden, x_dim, out=None):
    """G: z [B, z_dim] -> x [B, x_dim], rectifier hidden units as in the paper."""
    return mlp((z_dim, *hidden, x_dim), nn.ReLU, out)


def discriminator(x_dim, hidden, dropout=0.0):
    """D's logit: x [B, x_dim] -> a [B, 1]; D(x) = sigmoid(a). Dropout after each hidden layer, as in the paper's D."""
    return mlp((x_dim, *hidden, 1), lambda: nn.Sequential(nn.LeakyReLU(0.2), nn.Dropout(dropout)))


def d_loss(a_real, a_fake):
    """Minus eq. 1's minibatch estimate, from D's logits on data and on G's samples."""
    return F.softplus(-a_real).mean() + F.softplus(a_fake).mean()


def g_loss_minimax(a_fake):
    """Eq. 1's generator term, log(1 - D(G(z))), to be minimized."""
    return -F.softplus(a_fake).mean()


def g_loss_nonsaturating(a_fake):
    """Section 3: minimize -log D(G(z)) instead."""
    return F.softplus(-a_fake).mean()


G_LOSSES = {"minimax": g_loss_minimax, "non-saturating": g_loss_nonsaturating}


def optimal_d(p_data, p_g):
    """Proposition 1: D*_G(x) = p_data(x) / (p_data(x) + p_g(x)); 1/2 where both densities are 0."""
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-30), torch.full_like(total, 0.5))


def algorithm1_step(G, D, opt_G, opt_D, sample_data, sample_z, k=1, g_loss=g_loss_nonsaturating):
    """One iteration of Algorithm 1. sample_data() and sample_z() each return a minibatch of m rows."""
    for _ in range(k):
        x, z = sample_data(), sample_z()
        with torch.no_grad():
            x_fake = G(z)
        loss_D = d_loss(D(x), D(x_fake))
        opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        opt_D.step()
    a_fake = D(G(sample_z()))
    loss_G = g_loss(a_fake)
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(),
            "D(G(z))": torch.sigmoid(a_fake).mean().item()}


def mode_coverage(samples, centres, std, min_share):
    """samples [N, d], centres [K, d] -> (modes covered, share of high-quality samples, share per mode [K])."""
    dist = torch.cdist(samples, centres)                 # [N, K]
    nearest, which = dist.min(1)
    good = nearest < 3 * std
    share = torch.bincount(which[good], minlength=len(centres)).float() / len(samples)
    return int((share >= min_share).sum()), good.float().mean().item(), share
