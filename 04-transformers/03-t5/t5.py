"""T5: the helper module of t5.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
from torch import nn

from dlhistory.topics import transformer
from dlhistory.topics.seq2seq import PAD


class RMSNorm(nn.Module):
    """Eq. (1), T5's layer norm (Section 2.1): x rescaled by its root mean square, times a learned gain;
    no mean subtracted, no bias."""

    def __init__(self, d_model, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d_model))

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """Eq. (3), Section 2.1: offsets j - i (int tensor) -> bucket ids in [0, num_buckets). Bidirectional:
    half the buckets for keys before the query, half (offset by n) for keys after it; causal: all for the
    past, and every future offset in bucket 0. Within a direction the first n / 2 distances get a bucket
    each; farther ones share log-spaced buckets up to max_distance, and all beyond it the last one."""
    n = num_buckets // 2 if bidirectional else num_buckets
    if bidirectional:
        side, distance = (relative_position > 0).long() * n, relative_position.abs()
    else:
        side, distance = 0, (-relative_position).clamp(min=0)
    exact = n // 2
    log_scale = torch.log(distance.clamp(min=1).float() / exact) / math.log(max_distance / exact)
    far = (exact + (log_scale * (n - exact)).long()).clamp(max=n - 1)
    return side + torch.where(distance < exact, distance, far)


class RelativePositionBias(nn.Module):
    """B of eq. (2): a learned scalar per head and bucket, b [num_buckets, h]; forward(n, m) gives the
    bias of n queries against m keys, [1, h, n, m], added to the attention scores of every layer."""

    def __init__(self, h, bidirectional, num_buckets=32, max_distance=128):
        super().__init__()
        self.bidirectional, self.num_buckets, self.max_distance = bidirectional, num_buckets, max_distance
        self.embedding = nn.Embedding(num_buckets, h)

    def forward(self, n, m):
        position = torch.arange(max(n, m), device=self.embedding.weight.device)
        offset = position[None, :m] - position[:n, None]                      # j - i
        bucket = relative_position_bucket(offset, self.bidirectional, self.num_buckets, self.max_distance)
        return self.embedding(bucket).permute(2, 0, 1)[None]


class T5(nn.Module):
    """The text-to-text encoder-decoder (Section 2.1): transformer layers with RMSNorm (eq. 1) inside the
    residual branches, relative position biases (eqs. 2-3) shared across layers, no absolute positions,
    one embedding for the encoder, the decoder and the output."""

    def __init__(self, vocab, d_model=64, h=4, d_ff=128, N=2, dropout=0.1, num_buckets=32, max_distance=128):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.encoder_bias = RelativePositionBias(h, True, num_buckets, max_distance)
        self.decoder_bias = RelativePositionBias(h, False, num_buckets, max_distance)
        layer = dict(d_model=d_model, h=h, d_ff=d_ff, dropout=dropout, norm_first=True, norm=RMSNorm)
        self.encoder = nn.ModuleList([transformer.EncoderLayer(**layer) for _ in range(N)])
        self.decoder = nn.ModuleList([transformer.DecoderLayer(**layer) for _ in range(N)])
        self.final = nn.ModuleList([RMSNorm(d_model), RMSNorm(d_model)])
        self.drop = nn.Dropout(dropout)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        nn.init.normal_(self.embed.weight)

    def encode(self, src):
        """src [B, S] -> {'memory': [B, S, d_model], 'src': src}, the form transformer.Transformer's decoding uses."""
        x, mask = self.drop(self.embed(src)), transformer.padding_mask(src)
        bias = self.encoder_bias(src.shape[1], src.shape[1])
        for layer in self.encoder:
            x = layer(x, mask, bias)
        return {"memory": self.drop(self.final[0](x)), "src": src}

    def decode(self, tgt_in, enc, last=False):
        """tgt_in [B, T] (starting with <s>) -> logits [B, T, vocab]; [B, 1, vocab], the newest position's, if last."""
        T = tgt_in.shape[1]
        y, bias = self.drop(self.embed(tgt_in)), self.decoder_bias(T, T)
        self_mask, memory_mask = transformer.causal_mask(T, tgt_in.device), transformer.padding_mask(enc["src"])
        for layer in self.decoder:
            y = layer(y, enc["memory"], self_mask, memory_mask, bias)
        return self.drop(self.final[1](y[:, -1:] if last else y)) @ self.embed.weight.T * self.d_model ** -0.5

    loss = transformer.Transformer.loss              # teacher-forced cross-entropy on the target text
    init_state = transformer.Transformer.init_state  # with step: seq2seq's greedy and beam search
    step = transformer.Transformer.step


def random_spans_noise_mask(length, noise_density=0.15, mean_span_length=3.0, generator=None):
    """Which of `length` tokens to drop (list of bool): round(density * length) of them (at least 1, at
    most length - 1), in max(1, round(noise / mean_span_length)) spans, a kept span first."""
    n_noise = min(max(round(length * noise_density), 1), length - 1)
    n_spans = max(round(n_noise / mean_span_length), 1)

    def split(total):                       # total into n_spans random positive parts
        cuts = (torch.randperm(total - 1, generator=generator)[:n_spans - 1] + 1).sort().values.tolist()
        return [b - a for a, b in zip([0] + cuts, cuts + [total])]

    mask = []
    for kept, dropped in zip(split(length - n_noise), split(n_noise)):
        mask += [False] * kept + [True] * dropped
    return mask


def span_corruption(tokens, sentinels, noise_density=0.15, mean_span_length=3.0, generator=None):
    """Eq. (4): (input, target) id lists. The input is `tokens` with each dropped span replaced by the next
    sentinel; the target lists each sentinel followed by its span, then one more sentinel."""
    mask = random_spans_noise_mask(len(tokens), noise_density, mean_span_length, generator)
    inputs, targets, k = [], [], 0
    for i, (token, dropped) in enumerate(zip(tokens, mask)):
        if dropped and not mask[i - 1]:     # a span starts (the first token is never dropped)
            inputs.append(sentinels[k])
            targets.append(sentinels[k])
            k += 1
        (targets if dropped else inputs).append(token)
    return inputs, targets + [sentinels[k]]


def uncorrupt(inputs, targets, sentinels):
    """The inverse of span_corruption: each sentinel of the input replaced by its span from the target."""
    spans, current = {}, None
    for token in targets:
        if token in sentinels:
            current = spans.setdefault(token, [])
        else:
            current.append(token)
    return [t for token in inputs for t in (spans[token] if token in sentinels else [token])]
