"""Diffusion: the helper module of diffusion.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import unet
from dlhistory.train import autograd_step, fit


def linear_betas(T=1000, beta_1=1e-4, beta_T=0.02):
    """DDPM's schedule (Section 4): beta_t linear from beta_1 to beta_T. [T] float64."""
    return torch.linspace(beta_1, beta_T, T, dtype=torch.float64)


def cosine_alphas_bar(T=1000, s=0.008):
    """Improved DDPM eq. 17: alpha_bar_t = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi/2), t = 1..T."""
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    return f[1:] / f[0]


def betas_from_alphas_bar(alphas_bar, max_beta=0.999):
    """beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} (alpha_bar_0 = 1), clipped at max_beta as in Improved DDPM."""
    prev = torch.cat([alphas_bar.new_ones(1), alphas_bar[:-1]])
    return (1 - alphas_bar / prev).clamp(max=max_beta)


class Schedule:
    """The tables of one variance schedule; coef(name, t, x) reads one entry per example, shaped to broadcast over x."""

    def __init__(self, betas):
        self.betas = betas.double()
        self.alphas = 1 - self.betas
        self.alphas_bar = torch.cumprod(self.alphas, 0)
        self.alphas_bar_prev = torch.cat([self.alphas_bar.new_ones(1), self.alphas_bar[:-1]])
        self.T = len(betas)

    def coef(self, name, t, x):
        v = getattr(self, name).to(x.device)[t].to(x.dtype)   # [B]
        return v.view(-1, *([1] * (x.dim() - 1)))                # [B, 1, ...]


def q_sample(schedule, x0, t, eps):
    """Eq. 4 through eq. 9's reparameterization: a draw of x_t ~ q(x_t | x_0) for steps t [B] (0-based) and noise eps."""
    ab = schedule.coef("alphas_bar", t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def sinusoidal_embedding(t, dim, max_period=10_000):
    """t [B] -> [B, dim]: sines then cosines of t at dim/2 geometrically spaced frequencies."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)   # omega_i
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    """epsilon_theta(x_t, t, y) on images: Part 1's U-Net, conditioned on t, and on y: a class [B] int64
    (n_classes; index n_classes is the null class) or a vector [B, cond_dim] (the zero vector is null)."""

    def __init__(self, widths=(32, 64), emb_dim=128, n_classes=None, channels=1, cond_dim=None):
        super().__init__()
        self.emb_dim, self.null = emb_dim, n_classes
        self.time = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label = nn.Embedding(n_classes + 1, emb_dim) if n_classes else None
        self.cond = nn.Linear(cond_dim, emb_dim) if cond_dim else None
        self.unet = unet.UNet(channels, channels, widths, pad=True, emb_dim=emb_dim)

    def forward(self, x, t, y=None):
        emb = self.time(sinusoidal_embedding(t, self.emb_dim))      # [B, emb_dim]
        if self.label is not None:
            emb = emb + self.label(y)
        if self.cond is not None:
            emb = emb + self.cond(y)
        return self.unet(x, F.silu(emb))                            # [B, C, H, W]: the predicted noise


def drop_condition(model, y, drop):
    """y with the examples where drop [B] is True replaced by the null condition: the class model.null, or zeros."""
    if y.is_floating_point():
        return y * (~drop).to(y.dtype).view(-1, *([1] * (y.dim() - 1)))
    return torch.where(drop, model.null, y)


class MLPDenoiser(nn.Module):
    """epsilon_theta(x_t, t) for points: an MLP on [x_t, sinusoidal code of t]."""

    def __init__(self, dim=2, hidden=128, emb_dim=32, depth=3):
        super().__init__()
        self.emb_dim, self.null = emb_dim, None
        layers, n = [], dim + emb_dim
        for _ in range(depth):
            layers += [nn.Linear(n, hidden), nn.SiLU()]
            n = hidden
        self.net = nn.Sequential(*layers, nn.Linear(n, dim))

    def forward(self, x, t, y=None):
        return self.net(torch.cat([x, sinusoidal_embedding(t, self.emb_dim)], dim=1))


def simple_loss(model, schedule, x0, y=None, p_uncond=0.0):
    """Eq. 14 on one draw of (t, eps) per example; y dropped to the null class with probability p_uncond."""
    t = torch.randint(0, schedule.T, (len(x0),), device=x0.device)
    eps = torch.randn_like(x0)
    if y is not None and p_uncond > 0:
        y = drop_condition(model, y, torch.rand(len(y), device=y.device) < p_uncond)
    return F.mse_loss(model(q_sample(schedule, x0, t, eps), t, y), eps)


def train(model, schedule, batches, steps, lr=2e-3, ema_decay=0.995, p_uncond=0.1, desc="DDPM"):
    """Algorithm 1 with Adam: eq. 14 on each batch (x0, y) of batches, y dropped to null with probability p_uncond.
    Returns the EMA of the weights (ema <- decay * ema + (1 - decay) * weights after every step), in eval mode,
    and fit's history."""
    ema = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr)
    base = autograd_step(model, opt, lambda m, batch: simple_loss(m, schedule, *batch, p_uncond=p_uncond))

    def step(batch):
        out = base(batch)
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - ema_decay)
        return out
    history = fit(step, batches, steps, desc=desc)
    return ema.eval(), history


def q_posterior(schedule, x0, xt, t):
    """Eqs. 6-7: mean and variance of q(x_{t-1} | x_t, x_0)."""
    ab, ab_prev = schedule.coef("alphas_bar", t, xt), schedule.coef("alphas_bar_prev", t, xt)
    a, b = schedule.coef("alphas", t, xt), schedule.coef("betas", t, xt)
    mean = ab_prev.sqrt() * b / (1 - ab) * x0 + a.sqrt() * (1 - ab_prev) / (1 - ab) * xt
    return mean, (1 - ab_prev) / (1 - ab) * b


def p_mean_var(schedule, xt, t, eps, clip=False):
    """p_theta(x_{t-1} | x_t): eq. 7 at x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), i.e. eq. 11
    (x0_hat clipped to [-1, 1] if clip), with sigma_t^2 = beta_tilde_t."""
    ab = schedule.coef("alphas_bar", t, xt)
    x0_hat = (xt - (1 - ab).sqrt() * eps) / ab.sqrt()
    if clip:
        x0_hat = x0_hat.clamp(-1, 1)
    return q_posterior(schedule, x0_hat, xt, t)


def respace(schedule, K):
    """Improved DDPM Section 4: K evenly spaced steps S of schedule, and the schedule of that shorter chain."""
    S = torch.linspace(0, schedule.T - 1, K).round().long()
    return S, Schedule(betas_from_alphas_bar(schedule.alphas_bar[S], max_beta=1.0))


def guided_eps(model, x, t, y, w):
    """Classifier-free guidance: (1 + w) eps(x, t, y) - w eps(x, t, null); w = 0 is the conditional model."""
    if y is None or w == 0:
        return model(x, t, y)
    null = drop_condition(model, y, torch.ones(len(y), dtype=torch.bool, device=y.device))
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null]))
    e_cond, e_null = both.chunk(2)
    return (1 + w) * e_cond - w * e_null


@torch.no_grad()
def sample(model, schedule, shape, y=None, w=0.0, K=None, clip=False, trajectory=()):
    """Algorithm 2 on K evenly spaced steps (K = None: all T). Returns x_0, and {step: x} at the listed
    0-based steps of the original chain (before the step is taken) if trajectory is given."""
    S, chain = respace(schedule, K or schedule.T)
    x = torch.randn(shape, device=next(model.parameters()).device)     # x_T
    seen = {}
    for k in reversed(range(len(S))):
        if int(S[k]) in trajectory:
            seen[int(S[k])] = x.clone()                                 # x at (0-based) step S_k
        t = S[k].to(x.device).expand(shape[0])
        mean, var = p_mean_var(chain, x, torch.full_like(t, k), guided_eps(model, x, t, y, w), clip)
        x = mean + var.sqrt() * torch.randn_like(x) if k > 0 else mean  # z = 0 at the last step
    return (x, seen) if trajectory else x
