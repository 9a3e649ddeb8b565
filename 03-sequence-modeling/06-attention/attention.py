"""Attention (Bahdanau): the helper module of attention.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn

from dlhistory.topics import seq2seq
from dlhistory.topics.seq2seq import GRU, PAD


class BidirectionalEncoder(nn.Module):
    """Annotations h_j = [forward h_j; backward h_j] (Section 3.2) of embedded words x [B, S, E], mask [B, S]."""

    def __init__(self, emb, hidden):
        super().__init__()
        self.forward_rnn, self.backward_rnn = GRU(emb, hidden), GRU(emb, hidden)

    def forward(self, x, mask):
        h_forward, _ = self.forward_rnn(x, mask=mask)
        h_backward, _ = self.backward_rnn(x.flip(1), mask=mask.flip(1))   # padding first: the state stays 0
        return torch.cat([h_forward, h_backward.flip(1)], -1)              # [B, S, 2H]


class AttentionEncoderDecoder(seq2seq.EncoderDecoder):
    """RNNsearch: a bidirectional GRU encoder, and a GRU decoder that reads c_i = sum_j alpha_ij h_j (eq. 5),
    alpha_ij = softmax_j(e_ij) (eq. 6), e_ij = v_a^T tanh(W_a s_i-1 + U_a h_j) (appendix A.1.2)."""

    def __init__(self, src_vocab, tgt_vocab, emb=128, hidden=256, out=128, align=None):
        super().__init__(src_vocab, tgt_vocab, emb, hidden, out, context_size=2 * hidden)
        align = align or hidden                                  # n', the alignment model's width
        self.encoder = BidirectionalEncoder(emb, hidden)
        self.V = nn.Linear(hidden, hidden)                       # W_s: s_0 = tanh(W_s backward h_1)
        self.W_a = nn.Linear(hidden, align, bias=False)
        self.U_a = nn.Linear(2 * hidden, align)
        self.v_a = nn.Linear(align, 1, bias=False)
        self.reset_parameters()                                  # the baseline's initialization, new weights included

    def encode(self, src):
        """src [B, S] -> annotations h [B, S, 2n], U_a h [B, S, n'], the mask and the backward state at word 1."""
        mask = src != PAD
        h = self.encoder(self.src_embed(src), mask)
        n = h.shape[-1] // 2
        return {"h": h, "U_a_h": self.U_a(h), "mask": mask, "backward_first": h[:, 0, n:]}

    def init_state(self, enc):
        return torch.tanh(self.V(enc["backward_first"]))

    def context(self, s, enc):
        """c_i and alpha_i from s = s_i-1 [B, n]: eqs. (5) and (6)."""
        e = self.v_a(torch.tanh(self.W_a(s)[:, None] + enc["U_a_h"])).squeeze(-1)   # e_ij [B, S]
        alpha = e.masked_fill(~enc["mask"], float("-inf")).softmax(-1)              # (6)
        return torch.einsum("bs,bsh->bh", alpha, enc["h"]), alpha                    # (5)
