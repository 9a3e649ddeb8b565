"""Vision Transformer: the helper module of vit.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import transformer


def patchify(x, P):
    """Eq. 1's x_p: images [B, C, H, W] -> flattened patches [B, N, P*P*C], N = HW / P^2, the patch grid
    read row by row, each patch flattened as (channel, row, column)."""
    B, C, H, W = x.shape
    x = x.reshape(B, C, H // P, P, W // P, P)                      # [B, C, H/P, P, W/P, P]
    return x.permute(0, 2, 4, 1, 3, 5).reshape(B, (H // P) * (W // P), C * P * P)


class PatchEmbedding(nn.Module):
    """Eq. 1's x_p^i E: every flattened patch through one linear map E (with a bias) to D dimensions."""

    def __init__(self, P, C, D):
        super().__init__()
        self.P, self.E = P, nn.Linear(P * P * C, D)

    def forward(self, x):
        return self.E(patchify(x, self.P))                          # [B, N, D]


def as_conv(embedding):
    """The same map as a Conv2d(C, D, kernel_size=P, stride=P): kernel d is row d of E's weight
    reshaped to [C, P, P]. Returns the conv with copied weights."""
    P, D = embedding.P, embedding.E.out_features
    C = embedding.E.in_features // (P * P)
    conv = nn.Conv2d(C, D, P, stride=P).to(embedding.E.weight)          # same dtype and device
    with torch.no_grad():
        conv.weight.copy_(embedding.E.weight.view(D, C, P, P))
        conv.bias.copy_(embedding.E.bias)
    return conv


class ViT(nn.Module):
    """Eq. 1-4: patch embedding, class token, learned 1-D position embeddings, L pre-LN encoder
    layers (transformer.EncoderLayer, GELU), LN of the class token's last state, classification head."""

    def __init__(self, image_size=28, P=7, C=1, D=64, L=4, heads=4, d_mlp=128, classes=10,
                 dropout=0.0, head_hidden=64):
        super().__init__()
        self.grid = image_size // P                                          # patches per side
        self.patch_embedding = PatchEmbedding(P, C, D)
        self.x_class = nn.Parameter(torch.zeros(1, 1, D))
        self.E_pos = nn.Parameter(0.02 * torch.randn(1, self.grid ** 2 + 1, D))
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList([transformer.EncoderLayer(D, heads, d_mlp, dropout, norm_first=True,
                                                              activation=nn.GELU) for _ in range(L)])
        self.norm = nn.LayerNorm(D)
        self.head = (nn.Linear(D, classes) if head_hidden is None else
                     nn.Sequential(nn.Linear(D, head_hidden), nn.Tanh(), nn.Linear(head_hidden, classes)))

    def encode(self, x):
        """Images [B, C, H, W] -> y [B, D] (eq. 4)."""
        z = self.patch_embedding(x)                                          # [B, N, D]
        z = torch.cat([self.x_class.expand(len(z), -1, -1), z], 1) + self.E_pos   # eq. 1: [B, N+1, D]
        z = self.drop(z)
        for layer in self.layers:                                            # eq. 2-3
            z = layer(z)
        return self.norm(z[:, 0])

    def forward(self, x):
        return self.head(self.encode(x))

    def attentions(self):
        """Each layer's attention weights [B, heads, N+1, N+1] from the last forward pass, first layer first."""
        return [layer.self_attn.weights for layer in self.layers]


def rollout(attentions, residual=True):
    """Attention rollout: attentions, a list over layers (first first) of weights [B, heads, n, n] ->
    [B, n, n], how much each output token draws on each input token through all the layers.
    residual=False multiplies the raw head-averaged matrices (the shortcut, for comparison)."""
    R = None
    for A in attentions:
        A = A.mean(1)                                                # average the heads
        if residual:
            A = A + torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
            A = A / A.sum(-1, keepdim=True)                          # rows sum to 1 again
        R = A if R is None else A @ R                                # later layers on the left
    return R


def class_token_map(R, grid):
    """Row 0 of a rollout over the patch columns, as the patch grid [B, grid, grid], rescaled to sum to 1."""
    m = R[:, 0, 1:]
    return (m / m.sum(-1, keepdim=True)).view(-1, grid, grid)


def position_similarity(E_pos, grid):
    """E_pos [1, N+1, D] (class token first) -> cosine similarities [grid, grid, grid, grid]:
    entry [i, j, k, l] compares the patch at row i, column j with the patch at row k, column l."""
    p = F.normalize(E_pos[0, 1:], dim=-1)                           # [N, D]
    return (p @ p.T).view(grid, grid, grid, grid)


def random_shift(x, s, generator=None):
    """Move each image [B, C, H, W] by its own random (dy, dx), each in [-s, s] pixels, filling with 0."""
    if s == 0:
        return x
    B, _, H, W = x.shape
    padded = F.pad(x, (s, s, s, s))
    dy, dx = (torch.randint(0, 2 * s + 1, (B,), generator=generator) for _ in range(2))
    out = torch.empty_like(x)
    for a in range(2 * s + 1):
        for b in range(2 * s + 1):
            chosen = ((dy == a) & (dx == b)).to(x.device)
            out[chosen] = padded[chosen, :, a:a + H, b:b + W]
    return out
