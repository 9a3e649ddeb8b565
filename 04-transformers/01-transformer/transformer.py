"""The Transformer: the helper module of transformer.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics.seq2seq import PAD


def scaled_dot_product_attention(Q, K, V, mask=None, bias=None, dropout=0.0, training=False):
    """Eq. 1: softmax(Q K^T / sqrt(d_k)) V. Q [..., n, d_k], K [..., m, d_k], V [..., m, d_v];
    mask [..., n, m] bool (True = may attend), bias [..., n, m] added to the scores.
    Returns the output [..., n, d_v] and the weights [..., n, m]."""
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    weights = scores.softmax(-1)
    return F.dropout(weights, dropout, training) @ V, weights


def causal_mask(n, device=None):
    """[n, n] bool: position i may attend to positions 0..i (the decoder's mask, Section 3.2.3)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def padding_mask(ids):
    """ids [B, m] -> [B, 1, 1, m] bool: every query may attend to every key that is not padding."""
    return (ids != PAD)[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """Section 3.2.2: h heads of eq. 1 on learned projections W^Q, W^K, W^V, concatenated, then W^O."""

    def __init__(self, d_model, h, dropout=0.0, bias=True):
        super().__init__()
        assert d_model % h == 0, "d_model must be a multiple of the number of heads"
        self.h, self.d_k, self.dropout = h, d_model // h, dropout
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(d_model, d_model, bias=bias) for _ in range(4))
        self.weights = None

    def split(self, x):
        """[B, n, d_model] -> [B, h, n, d_k]."""
        return x.view(x.shape[0], x.shape[1], self.h, self.d_k).transpose(1, 2)

    def forward(self, query, key, value, mask=None, bias=None):
        Q, K, V = self.split(self.W_q(query)), self.split(self.W_k(key)), self.split(self.W_v(value))
        out, weights = scaled_dot_product_attention(Q, K, V, mask, bias, self.dropout, self.training)
        self.weights = weights.detach()
        out = out.transpose(1, 2).reshape(query.shape[0], query.shape[1], -1)   # Concat(head_1..head_h)
        return self.W_o(out)


class FeedForward(nn.Module):
    """Eq. 2: W_2 act(W_1 x + b_1) + b_2, position by position (act = ReLU in the paper)."""

    def __init__(self, d_model, d_ff, activation=nn.ReLU):
        super().__init__()
        self.W_1, self.act, self.W_2 = nn.Linear(d_model, d_ff), activation(), nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.W_2(self.act(self.W_1(x)))


def sinusoidal_positions(n, d_model):
    """Section 3.5: [n, d_model], sin on even dimensions and cos on odd ones, wavelengths 2 pi .. 10000 * 2 pi."""
    pos = torch.arange(n, dtype=torch.float)[:, None]
    frequency = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float) / d_model)
    pe = torch.zeros(n, d_model)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * frequency), torch.cos(pos * frequency)
    return pe


class EncoderLayer(nn.Module):
    """Section 3.1: self-attention, then the feed-forward network, each in a residual branch with
    dropout and a LayerNorm, after the sum (post-LN, the paper) or inside the branch (norm_first)."""

    def __init__(self, d_model, h, d_ff, dropout=0.1, norm_first=False, activation=nn.ReLU, norm=nn.LayerNorm):
        super().__init__()
        self.self_attn, self.ff = MultiHeadAttention(d_model, h), FeedForward(d_model, d_ff, activation)
        self.norms = nn.ModuleList([norm(d_model), norm(d_model)])
        self.drop, self.norm_first = nn.Dropout(dropout), norm_first

    def sublayer(self, x, i, f):
        if self.norm_first:
            return x + self.drop(f(self.norms[i](x)))
        return self.norms[i](x + self.drop(f(x)))

    def forward(self, x, mask=None, bias=None):
        x = self.sublayer(x, 0, lambda y: self.self_attn(y, y, y, mask, bias))
        return self.sublayer(x, 1, self.ff)


class DecoderLayer(EncoderLayer):
    """Section 3.1: masked self-attention, attention over the encoder's output, the feed-forward network."""

    def __init__(self, d_model, h, d_ff, dropout=0.1, norm_first=False, activation=nn.ReLU, norm=nn.LayerNorm):
        super().__init__(d_model, h, d_ff, dropout, norm_first, activation, norm)
        self.cross_attn = MultiHeadAttention(d_model, h)
        self.norms.append(norm(d_model))

    def forward(self, y, memory, self_mask=None, memory_mask=None, bias=None):
        y = self.sublayer(y, 0, lambda z: self.self_attn(z, z, z, self_mask, bias))
        y = self.sublayer(y, 2, lambda z: self.cross_attn(z, memory, memory, memory_mask))
        return self.sublayer(y, 1, self.ff)


class Transformer(nn.Module):
    """The encoder-decoder of Section 3 (base: d_model 512, h 8, d_ff 2048, N 6, dropout 0.1)."""

    def __init__(self, src_vocab, tgt_vocab, d_model=512, h=8, d_ff=2048, N=6, dropout=0.1,
                 norm_first=False, max_len=256):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=PAD)
        self.register_buffer("pe", sinusoidal_positions(max_len, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.ModuleList([EncoderLayer(d_model, h, d_ff, dropout, norm_first) for _ in range(N)])
        self.decoder = nn.ModuleList([DecoderLayer(d_model, h, d_ff, dropout, norm_first) for _ in range(N)])
        # pre-LN leaves the last layer's sum un-normalized: one more norm on each side
        self.final = nn.ModuleList([nn.LayerNorm(d_model) if norm_first else nn.Identity() for _ in range(2)])
        self.out = nn.Linear(d_model, tgt_vocab, bias=False)
        self.out.weight = self.tgt_embed.weight                  # Section 3.4: tied
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        nn.init.normal_(self.tgt_embed.weight, std=d_model ** -0.5)   # sqrt(d_model) * embedding has unit scale
        nn.init.normal_(self.src_embed.weight, std=d_model ** -0.5)

    def embed(self, embedding, ids):
        """Section 3.4-3.5: sqrt(d_model) * embedding + positions, then dropout."""
        return self.drop(embedding(ids) * math.sqrt(self.d_model) + self.pe[:ids.shape[1]])

    def encode(self, src):
        """src [B, S] -> {'memory': [B, S, d_model], 'src': src} (tensors, so beam search can repeat them)."""
        x, mask = self.embed(self.src_embed, src), padding_mask(src)
        for layer in self.encoder:
            x = layer(x, mask)
        return {"memory": self.final[0](x), "src": src}

    def decode(self, tgt_in, enc, last=False):
        """tgt_in [B, T] (starting with <s>) -> logits [B, T, tgt_vocab], each position seeing its prefix only;
        with last=True, the newest position's only [B, 1, tgt_vocab] (all search needs)."""
        y = self.embed(self.tgt_embed, tgt_in)
        self_mask, memory_mask = causal_mask(tgt_in.shape[1], tgt_in.device), padding_mask(enc["src"])
        for layer in self.decoder:
            y = layer(y, enc["memory"], self_mask, memory_mask)
        return self.out(self.final[1](y[:, -1:] if last else y))

    def loss(self, src, tgt, smoothing=0.0):
        """Mean cross-entropy per target token (teacher forcing), label-smoothed by `smoothing` (Section 5.4)."""
        logits = self.decode(tgt[:, :-1], self.encode(src))
        return F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD, label_smoothing=smoothing)

    def init_state(self, enc):
        """The decoder's state for seq2seq's greedy and beam search: the tokens fed so far, none yet."""
        return enc["src"].new_zeros(enc["src"].shape[0], 0)

    def step(self, y_prev, prefix, enc):
        """One decoding step: logits [B, V] for the next token, the longer prefix, and the last
        decoder layer's attention over the source, averaged over heads [B, S]."""
        prefix = torch.cat([prefix, y_prev[:, None]], 1)
        logits = self.decode(prefix, enc, last=True)[:, -1]
        return logits, prefix, self.decoder[-1].cross_attn.weights[:, :, -1].mean(1)


def label_smoothed_nll(logits, target, eps):
    """Section 5.4: (1 - eps) * NLL of the target + eps * the mean over the vocabulary of -log p."""
    logp = logits.log_softmax(-1)
    nll = -logp.gather(-1, target[..., None]).squeeze(-1)
    return ((1 - eps) * nll - eps * logp.mean(-1)).mean()


def rate(step, d_model, warmup):
    """Eq. 3 at step >= 1: d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)."""
    return d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


def noam(optimizer, d_model, warmup):
    """Eq. 3 as a scheduler for an optimizer built with lr=1 (step once per update)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: rate(s + 1, d_model, warmup))


TORCH_ACTIVATIONS = {nn.ReLU: "relu", nn.GELU: "gelu"}


def to_torch(module):
    """torch's own module holding the weights of ours (batch_first, no dropout, same dtype), to check one against
    the other: MultiHeadAttention -> nn.MultiheadAttention, EncoderLayer -> nn.TransformerEncoderLayer,
    DecoderLayer -> nn.TransformerDecoderLayer. Later topics check their layers with it too."""
    if isinstance(module, MultiHeadAttention):
        W = (module.W_q, module.W_k, module.W_v)
        twin = nn.MultiheadAttention(module.h * module.d_k, module.h, bias=W[0].bias is not None, batch_first=True)
        twin = twin.to(W[0].weight.dtype)
        with torch.no_grad():                                  # torch stacks W^Q, W^K, W^V in one in_proj
            twin.in_proj_weight.copy_(torch.cat([w.weight for w in W]))
            if W[0].bias is not None:
                twin.in_proj_bias.copy_(torch.cat([w.bias for w in W]))
        twin.out_proj.load_state_dict(module.W_o.state_dict())
        return twin
    if not all(type(norm) is nn.LayerNorm for norm in module.norms):
        raise TypeError("to_torch: torch's layers use nn.LayerNorm only, this layer has another norm")
    decoder = isinstance(module, DecoderLayer)
    ff = module.ff
    twin = (nn.TransformerDecoderLayer if decoder else nn.TransformerEncoderLayer)(
        ff.W_1.in_features, module.self_attn.h, ff.W_1.out_features, dropout=0.0,
        activation=TORCH_ACTIVATIONS[type(ff.act)], layer_norm_eps=module.norms[0].eps, batch_first=True,
        norm_first=module.norm_first).to(ff.W_1.weight.dtype)
    twin.self_attn.load_state_dict(to_torch(module.self_attn).state_dict())
    # ours: norms[0] self-attention, norms[1] feed-forward, norms[2] attention over the memory
    pairs = [(ff.W_1, twin.linear1), (ff.W_2, twin.linear2), (module.norms[0], twin.norm1)]
    if decoder:
        twin.multihead_attn.load_state_dict(to_torch(module.cross_attn).state_dict())
        pairs += [(module.norms[1], twin.norm3), (module.norms[2], twin.norm2)]
    else:
        pairs += [(module.norms[1], twin.norm2)]
    for ours, theirs in pairs:
        theirs.load_state_dict(ours.state_dict())
    return twin
