"""VAE and VQ-VAE: the helper module of vae.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class VAE(nn.Module):
    """q_phi(z|x) = N(mu(x), diag(sigma^2(x))) and p_theta(x|z) = Bernoulli(sigmoid(logits(z))), MLPs of one hidden layer."""

    def __init__(self, x_dim=784, hidden=400, z_dim=20):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, z_dim)
        self.logvar = nn.Linear(hidden, z_dim)              # log sigma^2
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))

    def encode(self, x):
        """x [..., x_dim] -> mu, log sigma^2, each [..., z_dim]."""
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        """z [..., z_dim] -> the logits of p(x|z), [..., x_dim]."""
        return self.decoder(z)


def reparameterize(mu, logvar, eps=None):
    """Eq. 4 and 10: z = mu + sigma * eps, eps ~ N(0, I); a differentiable function of mu and log sigma^2."""
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu, logvar):
    """Appendix B: KL(N(mu, sigma^2 I) || N(0, I)) = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2), over the last dim."""
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(-1)


def bernoulli_log_likelihood(logits, x):
    """Appendix C.1: sum_d x_d log y_d + (1 - x_d) log(1 - y_d), y = sigmoid(logits), over the last dim."""
    return (x * logits - F.softplus(logits)).sum(-1)


def elbo(model, x):
    """Eq. 10 with L = 1, per data point: (ELBO, reconstruction term log p(x|z), KL term), each [B]."""
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar)
    rec = bernoulli_log_likelihood(model.decode(z), x)
    kl = gaussian_kl(mu, logvar)
    return rec - kl, rec, kl


def gaussian_log_density(z, mu, logvar):
    """log N(z; mu, diag(sigma^2)), summed over the last dim."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).square() / logvar.exp()).sum(-1)


@torch.no_grad()
def log_weights(model, x, k):
    """log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x) for k samples z_s ~ q(z|x): x [B, x_dim] -> [B, k]."""
    mu, logvar = model.encode(x)
    mu, logvar = mu[:, None].expand(-1, k, -1), logvar[:, None].expand(-1, k, -1)    # [B, k, J]
    z = reparameterize(mu, logvar)
    log_prior = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
    return bernoulli_log_likelihood(model.decode(z), x[:, None]) + log_prior - gaussian_log_density(z, mu, logvar)


def iw_log_likelihood(log_w):
    """log (1/k) sum_s w_s from log-weights [..., k]: a lower bound on log p(x) in expectation, tighter as k grows."""
    return torch.logsumexp(log_w, -1) - math.log(log_w.shape[-1])


def nearest_code(z_e, codebook):
    """Eq. 1 and 2: for each row of z_e [N, D], the index of the nearest codebook row e_j (codebook [K, D]) -> [N]."""
    distance = z_e.square().sum(1, keepdim=True) - 2 * z_e @ codebook.T + codebook.square().sum(1)   # [N, K]
    return distance.argmin(1)


def straight_through(z_e, z_q):
    """Section 3.2: the value of z_q, the gradient of z_e (the decoder's gradient is copied onto the encoder)."""
    return z_e + (z_q - z_e).detach()


def vq_losses(z_e, e):
    """Eq. 3's last two terms, averaged over vectors: codebook ||sg[z_e] - e||^2 and commitment ||z_e - sg[e]||^2."""
    codebook = (z_e.detach() - e).square().sum(-1).mean()
    commitment = (z_e - e.detach()).square().sum(-1).mean()
    return codebook, commitment


def codebook_usage(indices, K):
    """(codes used, perplexity exp(H(p))) of the code frequencies p: perplexity is K for uniform use, 1 for one code."""
    p = torch.bincount(indices.flatten(), minlength=K).float() / indices.numel()
    p = p[p > 0]
    return len(p), torch.exp(-(p * p.log()).sum()).item()


class VectorQuantizer(nn.Module):
    """K codes of dimension D; forward(z_e [N, D]) -> (z_q straight-through [N, D], indices [N], codebook term, commitment)."""

    def __init__(self, K, D, ema=True, gamma=0.99):
        super().__init__()
        self.ema, self.gamma = ema, gamma
        codebook = torch.randn(K, D)
        if ema:
            self.register_buffer("codebook", codebook)
            self.register_buffer("N", torch.ones(K))            # moving average of the counts n_i
            self.register_buffer("m", codebook.clone())         # moving average of the sums of assigned z_e
        else:
            self.codebook = nn.Parameter(codebook)

    @torch.no_grad()
    def init_from(self, z_e):
        """Start the codebook at K randomly chosen rows of z_e [N, D] (N >= K)."""
        chosen = z_e[torch.randperm(len(z_e), device=z_e.device)[:len(self.codebook)]]
        self.codebook.copy_(chosen)
        if self.ema:
            self.N.fill_(1.0)
            self.m.copy_(chosen)

    @torch.no_grad()
    def ema_update(self, z_e, k):
        """Appendix A.1: N_i <- g N_i + (1 - g) n_i, m_i <- g m_i + (1 - g) sum_j z_ij, e_i = m_i / N_i."""
        one_hot = F.one_hot(k, len(self.codebook)).type_as(z_e)                        # [N, K]
        self.N.mul_(self.gamma).add_(one_hot.sum(0), alpha=1 - self.gamma)
        self.m.mul_(self.gamma).add_(one_hot.T @ z_e, alpha=1 - self.gamma)
        alive = self.N > 1e-6                      # a code unused for very long keeps its vector, not 0 / 0
        self.codebook[alive] = self.m[alive] / self.N[alive, None]

    def forward(self, z_e):
        k = nearest_code(z_e.detach(), self.codebook.detach())
        e = self.codebook[k]                                     # z_q(x) of eq. 2, [N, D]
        codebook_term, commitment = vq_losses(z_e, e)
        if self.ema and self.training:
            self.ema_update(z_e.detach(), k)
        return straight_through(z_e, e), k, codebook_term, commitment


class VQVAE(nn.Module):
    """x [B, 1, 28, 28] -> (logits [B, 1, 28, 28], code indices [B, 7, 7], codebook term, commitment)."""

    def __init__(self, K=128, D=16, channels=16, ema=True, gamma=0.99):
        super().__init__()
        c = channels
        self.encoder = nn.Sequential(nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, 2 * c, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(2 * c, D, 1))                                   # -> [B, D, 7, 7]
        self.quantizer = VectorQuantizer(K, D, ema, gamma)
        self.decoder = nn.Sequential(nn.Conv2d(D, 2 * c, 3, 1, 1), nn.ReLU(), nn.ConvTranspose2d(2 * c, c, 4, 2, 1),
                                     nn.ReLU(), nn.ConvTranspose2d(c, 1, 4, 2, 1))           # -> [B, 1, 28, 28]

    def z_e(self, x):
        """The encoder's vectors, one row per grid position: [B * 7 * 7, D]."""
        z = self.encoder(x)
        return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])

    def forward(self, x):
        B = len(x)
        z_q, k, codebook_term, commitment = self.quantizer(self.z_e(x))
        side = int(math.isqrt(len(k) // B))
        logits = self.decoder(z_q.view(B, side, side, -1).permute(0, 3, 1, 2))
        return logits, k.view(B, side, side), codebook_term, commitment
