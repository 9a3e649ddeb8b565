"""GPT-2 and GPT-3: the helper module of gpt.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math
import re
from collections import Counter, defaultdict

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import transformer


def cached_block(layer, x, cache, i):
    """One pre-LN transformer.EncoderLayer on the new positions x [B, n, d] only, with layer i's keys and
    values of the earlier positions in cache[i] = (K, V) [B, h, t, d_k]; appends the new K, V to the cache."""
    attn = layer.self_attn
    h = layer.norms[0](x)
    Q, K, V = attn.split(attn.W_q(h)), attn.split(attn.W_k(h)), attn.split(attn.W_v(h))
    if len(cache) > i:                                     # positions 0..t-1 are cached
        K, V = torch.cat([cache[i][0], K], 2), torch.cat([cache[i][1], V], 2)
        cache[i] = (K, V)
    else:
        cache.append((K, V))
    n, m = Q.shape[2], K.shape[2]
    mask = torch.ones(n, m, dtype=torch.bool, device=x.device).tril(m - n)   # query t+j sees keys 0..t+j
    out, _ = transformer.scaled_dot_product_attention(Q, K, V, mask)
    x = x + layer.drop(attn.W_o(out.transpose(1, 2).reshape(x.shape[0], n, -1)))
    return layer.sublayer(x, 1, layer.ff)


def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    """logits [B, V] -> next tokens [B, 1], drawn from softmax(logits / temperature) restricted to the
    top_k largest logits (all of them if top_k is None); temperature 0 is greedy decoding."""
    if temperature == 0:
        return logits.argmax(-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -math.inf)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)


class GPT(nn.Module):
    """GPT-2's decoder (Section 2.3): token + learned position embeddings, n_layer pre-LN causal blocks
    (transformer.EncoderLayer, norm_first, GELU), a final LayerNorm, read-out tied to the token embedding."""

    def __init__(self, vocab, n_layer, n_head, d_model, block, dropout=0.0):
        super().__init__()
        self.block = block
        self.wte, self.wpe = nn.Embedding(vocab, d_model), nn.Parameter(torch.zeros(block, d_model))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(transformer.EncoderLayer(d_model, n_head, 4 * d_model, dropout, norm_first=True,
                                                             activation=nn.GELU) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)
        self.head.weight = self.wte.weight                           # weight tying: one matrix W_e
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() > 1:                                        # N(0, 0.02^2); residual writers / sqrt(2 n_layer)
                residual = name.endswith(("W_o.weight", "W_2.weight"))
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layer) if residual else 0.02)

    def forward(self, idx, targets=None, cache=None):
        """idx [B, T] -> logits [B, T, vocab] (and the mean cross-entropy against targets [B, T]).
        With cache (a list, [] at first) only idx's positions are computed, after those cached."""
        past = cache[0][0].shape[2] if cache else 0
        x = self.drop(self.wte(idx) + self.wpe[past:past + idx.shape[1]])
        if cache is None:
            mask = transformer.causal_mask(idx.shape[1], idx.device)
            for layer in self.blocks:
                x = layer(x, mask)
        else:
            for i, layer in enumerate(self.blocks):
                x = cached_block(layer, x, cache, i)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None, use_cache=True):
        """Append max_new_tokens sampled tokens to idx [B, T]. With use_cache, one position per step through
        the KV cache while the sequence fits in `block`; beyond it, full recompute on the last `block` tokens."""
        self.eval()
        cache = [] if use_cache and idx.shape[1] + max_new_tokens <= self.block else None
        logits = self(idx[:, -self.block:], cache=cache)[:, -1]
        for _ in range(max_new_tokens):
            nxt = sample_next(logits, temperature, top_k, generator)
            idx = torch.cat([idx, nxt], 1)
            logits = self(nxt if cache is not None else idx[:, -self.block:], cache=cache)[:, -1]
        return idx


PRETOKEN = re.compile(r"""'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def merge(word, pair, new):
    """Replace every occurrence of `pair` in the tuple `word`, left to right, by the token `new`."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


class BPETokenizer:
    """Byte-level BPE (Section 2.2): tokens 0..255 are bytes, token 256 + k is the k-th merge."""

    def __init__(self, merges):
        self.merges, self.rank = merges, {pair: k for k, pair in enumerate(merges)}
        self.vocab = [bytes([b]) for b in range(256)]
        for a, b in merges:
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.cache = {}

    @classmethod
    def train(cls, text, n_merges):
        words = [list(w) for w in Counter(tuple(p.encode("utf-8")) for p in PRETOKEN.findall(text)).items()]
        pairs, where = Counter(), defaultdict(set)          # pair -> count; pair -> the pieces that held it
        for i, (w, c) in enumerate(words):
            for p in zip(w, w[1:]):
                pairs[p] += c
                where[p].add(i)
        merges = []
        for k in range(n_merges):
            best = max(pairs, key=pairs.get, default=None)  # ties: the pair counted first
            if best is None or pairs[best] <= 0:
                break
            merges.append(best)
            for i in where.pop(best):
                w, c = words[i]
                for p in zip(w, w[1:]):
                    pairs[p] -= c
                words[i][0] = w = merge(w, best, 256 + k)
                for p in zip(w, w[1:]):
                    pairs[p] += c
                    where[p].add(i)
            del pairs[best]
        return cls(merges)

    def encode_piece(self, piece):
        if piece not in self.cache:
            w = tuple(piece.encode("utf-8"))
            while len(w) > 1:                                # apply the earliest-learned merge present
                pair = min(zip(w, w[1:]), key=lambda p: self.rank.get(p, math.inf))
                if pair not in self.rank:
                    break
                w = merge(w, pair, 256 + self.rank[pair])
            self.cache[piece] = w
        return self.cache[piece]

    def encode(self, text):
        return [t for piece in PRETOKEN.findall(text) for t in self.encode_piece(piece)]

    def decode(self, ids):
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")


class CharTokenizer:
    """One id per distinct character of `text` (sorted)."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text):
        return [self.stoi[c] for c in text]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def windows(ids, T, stride):
    """ids [N] -> inputs and next-token targets [m, T], one window every `stride` tokens."""
    starts = torch.arange(0, len(ids) - T - 1, stride)
    w = ids[starts[:, None] + torch.arange(T + 1)]
    return w[:, :-1], w[:, 1:]
