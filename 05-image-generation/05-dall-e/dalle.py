"""DALL-E and DALL-E 2: the helper module of dalle.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import gpt


def gumbel_softmax(logits, tau=1.0, hard=False, dim=-1):
    """Section 2.1's relaxation (Jang et al. 2017; Maddison et al. 2017): y = softmax((logits + g) / tau),
    g = -log E, E ~ Exp(1) i.i.d. (Gumbel(0, 1) noise). hard=True: the one-hot of argmax y forward, the
    gradient of the soft y backward (straight-through)."""
    g = -torch.empty_like(logits).exponential_().log()
    y = ((logits + g) / tau).softmax(dim)
    if not hard:
        return y
    one_hot = torch.zeros_like(y).scatter_(dim, y.argmax(dim, keepdim=True), 1.0)
    return one_hot - y.detach() + y


def tau_schedule(step, steps, tau_start=1.0, tau_end=1 / 16):
    """The relaxation temperature, annealed geometrically from tau_start to tau_end over `steps` updates."""
    return tau_start * (tau_end / tau_start) ** min(step / steps, 1.0)


def kl_to_uniform(logits, dim=1):
    """KL(q || uniform over the K codes) = sum_k q_k log q_k + log K at each grid cell, summed over the
    cells: logits [B, K, H, W] -> [B]."""
    log_q = logits.log_softmax(dim)
    return ((log_q.exp() * log_q).sum(dim) + math.log(logits.shape[dim])).flatten(1).sum(1)


class DiscreteVAE(nn.Module):
    """Section 2.1 at our scale: images [B, 3, 32, 32] -> logits over K codes on an 8x8 grid; a relaxed
    (or one-hot) code per cell, embedded by the codebook (a 1x1 convolution: sum_k z_k e_k) -> decoder -> image."""

    def __init__(self, K=64, D=32, width=32):
        super().__init__()
        self.K = K
        self.encoder = nn.Sequential(nn.Conv2d(3, width, 4, 2, 1), nn.ReLU(), nn.Conv2d(width, 2 * width, 4, 2, 1),
                                     nn.ReLU(), nn.Conv2d(2 * width, K, 1))                 # -> [B, K, 8, 8]
        self.codebook = nn.Conv2d(K, D, 1, bias=False)                                      # z [K] -> sum_k z_k e_k
        self.decoder = nn.Sequential(nn.Conv2d(D, 2 * width, 3, 1, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(width, 3, 4, 2, 1))                 # -> [B, 3, 32, 32]

    def decode(self, z):
        """z [B, K, 8, 8], one-hot or relaxed -> images in [0, 1]."""
        return torch.sigmoid(self.decoder(self.codebook(z)))

    def forward(self, x, tau, hard=False):
        logits = self.encoder(x)
        return self.decode(gumbel_softmax(logits, tau, hard, dim=1)), logits

    @torch.no_grad()
    def tokens(self, x):
        """The image's tokens: the argmax code at each grid cell, [B, 64] in raster order."""
        return self.encoder(x).argmax(1).flatten(1)

    @torch.no_grad()
    def decode_tokens(self, tokens):
        """Tokens [B, 64] -> images [B, 3, 32, 32] through the one-hot codes."""
        side = math.isqrt(tokens.shape[1])
        z = F.one_hot(tokens.view(-1, side, side), self.K).permute(0, 3, 1, 2).float()
        return self.decode(z)


def dvae_loss(model, x, tau, beta):
    """Minus the relaxed bound per image: squared error plus beta KL(q(z|x) || uniform). Returns (loss, rec, KL)."""
    recon, logits = model(x, tau)
    rec = (recon - x).square().flatten(1).sum(1).mean()
    kl = kl_to_uniform(logits).mean()
    return rec + beta * kl, rec, kl


def joint_sequence(text_ids, image_tokens, n_text_vocab):
    """One stream (Section 2.2): caption ids [B, L], then image tokens [B, N] shifted past the text vocabulary."""
    return torch.cat([text_ids, image_tokens + n_text_vocab], 1)


def dalle_loss(model, seq, L, text_weight=1 / 8):
    """Next-token cross-entropy on seq [B, L + N], the text positions weighted 1/8 and the image positions
    7/8 (Section 2.2). Returns (loss, text CE, image CE)."""
    logits = model(seq[:, :-1])                                                  # [B, L + N - 1, V]
    ce = F.cross_entropy(logits.transpose(1, 2), seq[:, 1:], reduction="none")   # [B, L + N - 1]
    text, image = ce[:, :L - 1].mean(), ce[:, L - 1:].mean()                     # targets s_2..s_L, then z_1..z_N
    return text_weight * text + (1 - text_weight) * image, text, image


@torch.no_grad()
def sample_image_tokens(model, text_ids, n_text_vocab, n_tokens=64, temperature=1.0, generator=None):
    """Draw n_tokens image tokens after each caption text_ids [B, L] -> codebook indices [B, n_tokens]."""
    model.eval()
    cache = []
    logits = model(text_ids, cache=cache)[:, -1, n_text_vocab:]
    out = []
    for _ in range(n_tokens):
        nxt = gpt.sample_next(logits, temperature, generator=generator)       # [B, 1], an image code
        out.append(nxt)
        logits = model(nxt + n_text_vocab, cache=cache)[:, -1, n_text_vocab:]
    return torch.cat(out, 1)


def rerank(scores, n):
    """CLIP reranking: scores [S, N_c] for N_c candidates of each of S captions -> [S], the index of the
    best-scoring candidate among the first n."""
    return scores[:, :n].argmax(1)


class Prior(nn.Module):
    """A deterministic stand-in for unCLIP's prior (Section 2.1 of Ramesh et al. 2022): CLIP text embedding
    z_t [B, d] -> predicted CLIP image embedding z_i [B, d], an MLP whose output is L2-normalized."""

    def __init__(self, d=64, hidden=256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, d))

    def forward(self, z_t):
        return F.normalize(z_t + self.net(z_t), dim=-1)
