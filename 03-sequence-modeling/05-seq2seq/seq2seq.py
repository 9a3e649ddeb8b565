"""Sequence to sequence: the helper module of seq2seq.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import collections
import math
import re

import sacrebleu
import torch
import torch.nn.functional as F
from torch import nn

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


def tokenize(text):
    """Lower-cased words and punctuation marks: 'Two young, White males.' -> ['two', 'young', ',', 'white', 'males', '.']."""
    return re.findall(r"\w+|[^\w\s]", text.lower())


class Vocab:
    """The specials, then every word seen at least min_freq times in `sentences` (lists of tokens), most frequent first."""

    def __init__(self, sentences, min_freq=3):
        counts = collections.Counter(t for s in sentences for t in s)
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        self.itos = SPECIALS + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens):
        return [self.stoi.get(t, UNK) for t in tokens]

    def decode(self, ids):
        """Tokens up to the first </s>, without padding or <s>."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i])
        return out


def pad(seqs):
    """A list of id lists -> [len(seqs), longest] int64, padded at the end with PAD."""
    out = torch.full((len(seqs), max(len(s) for s in seqs)), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class Corpus:
    """(source, target) caption pairs as token ids: src (reversed when `reverse`), tgt = <s> y </s>,
    and ref, the target's tokens joined by spaces (what BLEU compares against)."""

    def __init__(self, pairs, src_vocab, tgt_vocab, reverse=False):
        self.src_vocab, self.tgt_vocab, self.reverse = src_vocab, tgt_vocab, reverse
        self.src, self.tgt, self.ref = [], [], []
        for source, target in pairs:
            ids, words = src_vocab.encode(tokenize(source)), tokenize(target)
            self.src.append(ids[::-1] if reverse else ids)
            self.tgt.append([BOS] + tgt_vocab.encode(words) + [EOS])
            self.ref.append(" ".join(words))


class LengthBatches:
    """Batches (src [B, S], tgt [B, T]) of sentences of similar source length, padded at the end;
    the batches are formed anew (ties broken at random) and shuffled on every pass."""

    def __init__(self, corpus, batch_size, generator=None):
        self.corpus, self.batch_size = corpus, batch_size
        self.generator = generator or torch.Generator().manual_seed(int(torch.randint(2 ** 62, ())))

    def __len__(self):
        return -(-len(self.corpus.src) // self.batch_size)

    def __iter__(self):
        lengths = torch.tensor([len(s) for s in self.corpus.src], dtype=torch.float)
        order = (lengths + torch.rand(len(lengths), generator=self.generator)).argsort()
        chunks = order.split(self.batch_size)
        for k in torch.randperm(len(chunks), generator=self.generator).tolist():
            index = chunks[k].tolist()
            yield pad([self.corpus.src[i] for i in index]), pad([self.corpus.tgt[i] for i in index])


class GRUCell(nn.Module):
    """Cho et al.'s gated recurrent unit, eqs. (5)-(8), with a bias on every product."""

    def __init__(self, input_size, hidden_size, reset_after=False):
        super().__init__()
        self.hidden_size, self.reset_after = hidden_size, reset_after
        self.W = nn.Linear(input_size, 3 * hidden_size)        # [W_r; W_z; W] x
        self.U_rz = nn.Linear(hidden_size, 2 * hidden_size)    # [U_r; U_z] h
        self.U = nn.Linear(hidden_size, hidden_size)           # U in eq. (8)
        bound = hidden_size ** -0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, Wx, h):
        """Wx = self.W(x) [B, 3H], h = h<t-1> [B, H] -> h<t> [B, H]."""
        Wx_r, Wx_z, Wx_h = Wx.chunk(3, -1)
        U_r_h, U_z_h = self.U_rz(h).chunk(2, -1)
        r = torch.sigmoid(Wx_r + U_r_h)                        # (5) reset gate
        z = torch.sigmoid(Wx_z + U_z_h)                        # (6) update gate
        if self.reset_after:                                   # torch / cuDNN: r * (U h + b)
            h_tilde = torch.tanh(Wx_h + r * self.U(h))
        else:                                                  # (8) as printed: U (r * h) + b
            h_tilde = torch.tanh(Wx_h + self.U(r * h))
        return z * h + (1 - z) * h_tilde                       # (7)

    def forward(self, x, h):
        return self.step(self.W(x), h)


class GRU(nn.Module):
    """A GRU layer over x [B, T, input_size]. Where mask [B, T] is False (padding after a sentence's
    end) the state is carried over unchanged, so h_last is each sentence's state after its last word."""

    def __init__(self, input_size, hidden_size, reset_after=False):
        super().__init__()
        self.cell = GRUCell(input_size, hidden_size, reset_after)

    def forward(self, x, h=None, mask=None):
        h = x.new_zeros(x.shape[0], self.cell.hidden_size) if h is None else h
        outputs = []
        for t, Wx_t in enumerate(self.cell.W(x).unbind(1)):   # W x for every step in one product
            h_new = self.cell.step(Wx_t, h)
            h = h_new if mask is None else torch.where(mask[:, t, None], h_new, h)
            outputs.append(h)
        return torch.stack(outputs, 1), h                      # [B, T, H], [B, H]


class EncoderDecoder(nn.Module):
    """Cho et al.'s RNN Encoder-Decoder with GRUs: c = the encoder's last state, h<0> = tanh(V c),
    h<t> = GRU([e(y_t-1); c], h<t-1>), p(y_t | ...) = softmax(W_o tanh(O_h h<t> + O_y e(y_t-1) + O_c c))."""

    def __init__(self, src_vocab, tgt_vocab, emb=128, hidden=256, out=128, context_size=None):
        super().__init__()
        context_size = context_size or hidden              # attention's context is wider (two directions)
        self.src_embed = nn.Embedding(src_vocab, emb, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, emb, padding_idx=PAD)
        self.encoder = GRU(emb, hidden)
        self.V = nn.Linear(context_size, hidden)            # h<0> = tanh(V c)
        self.decoder = GRU(emb + context_size, hidden)
        self.O_h = nn.Linear(hidden, out)
        self.O_y = nn.Linear(emb, out, bias=False)
        self.O_c = nn.Linear(context_size, out, bias=False)
        self.W_o = nn.Linear(out, tgt_vocab)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight uniform in [-0.08, 0.08] (Sutskever et al.), the word embeddings N(0, 1) (torch's default)."""
        for p in self.parameters():
            nn.init.uniform_(p, -0.08, 0.08)
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight)
            embedding.weight.data[PAD] = 0

    def encode(self, src):
        """src [B, S] -> {'c': the encoder's state after each sentence's last word [B, H]}."""
        _, c = self.encoder(self.src_embed(src), mask=src != PAD)
        return {"c": c}

    def init_state(self, enc):
        return torch.tanh(self.V(enc["c"]))

    def context(self, h, enc):
        """The vector the decoder reads at this step, and the weights over the source (None: fixed c)."""
        return enc["c"], None

    def output(self, h, e, c):
        return self.W_o(torch.tanh(self.O_h(h) + self.O_y(e) + self.O_c(c)))   # the deep output g

    def step(self, y_prev, h, enc):
        """One decoder step: y_prev [B] ids, h [B, H] -> logits [B, V], new h, source weights."""
        e = self.tgt_embed(y_prev)
        c, weights = self.context(h, enc)
        h = self.decoder.cell(torch.cat([e, c], -1), h)
        return self.output(h, e, c), h, weights

    def loss(self, src, tgt):
        """Mean cross-entropy per target token, the reference fed in (teacher forcing)."""
        enc = self.encode(src)
        h = self.init_state(enc)
        tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
        e = self.tgt_embed(tgt_in)
        states, contexts = [], []
        for e_t in e.unbind(1):
            c, _ = self.context(h, enc)
            h = self.decoder.cell(torch.cat([e_t, c], -1), h)
            states.append(h), contexts.append(c)
        keep = tgt_out != PAD                               # score real positions only
        logits = self.output(torch.stack(states, 1)[keep], e[keep], torch.stack(contexts, 1)[keep])
        return F.cross_entropy(logits, tgt_out[keep])


@torch.no_grad()
def greedy(model, src, max_len=50):
    """The most probable word at each step: src [B, S] -> ids [B, L], and the decoder's weights over
    the source at each step [B, L, S] (None for a model without attention)."""
    enc = model.encode(src)
    h = model.init_state(enc)
    y = torch.full((src.shape[0],), BOS, dtype=torch.long, device=src.device)
    words, weights, done = [], [], torch.zeros_like(y, dtype=torch.bool)
    for _ in range(max_len):
        logits, h, alpha = model.step(y, h, enc)
        y = logits.argmax(-1)
        words.append(y), weights.append(alpha)
        done |= y == EOS
        if done.all():
            break
    return torch.stack(words, 1), None if weights[0] is None else torch.stack(weights, 1)


@torch.no_grad()
def beam_search(model, src, width, max_len=50):
    """Left-to-right beam search: src [B, S] -> the best-scoring hypothesis of each sentence [B, L]."""
    B = src.shape[0]
    enc = {k: v.repeat_interleave(width, 0) for k, v in model.encode(src).items()}   # beams side by side
    h = model.init_state(enc)
    y = torch.full((B * width,), BOS, dtype=torch.long, device=src.device)
    score = torch.zeros(B, width, device=src.device)
    score[:, 1:] = -math.inf                             # the beams start identical: expand only the first
    complete = torch.zeros(B * width, dtype=torch.bool, device=src.device)
    words = torch.zeros(B * width, 0, dtype=torch.long, device=src.device)
    for _ in range(max_len):
        logits, h, _ = model.step(y, h, enc)
        logp = logits.log_softmax(-1)
        logp[complete] = -math.inf
        logp[complete, EOS] = 0.0                        # a complete hypothesis keeps its score
        V = logp.shape[-1]
        score, best = (score.view(-1, 1) + logp).view(B, width * V).topk(width, -1)
        parent = (torch.arange(B, device=src.device)[:, None] * width + best // V).view(-1)
        y = (best % V).view(-1)
        h, words = h[parent], torch.cat([words[parent], y[:, None]], 1)
        complete = complete[parent] | (y == EOS)
        if complete.all():
            break
    return words.view(B, width, -1)[:, 0]                # topk sorts: beam 0 is the best


def translate(model, corpus, width=1, batch=100, max_len=50):
    """Decode every source sentence of `corpus` (greedy for width 1, else beam search) -> token strings."""
    model.eval()
    where = next(model.parameters()).device
    hypotheses = []
    for i in range(0, len(corpus.src), batch):
        src = pad(corpus.src[i:i + batch]).to(where)
        ids = greedy(model, src, max_len)[0] if width == 1 else beam_search(model, src, width, max_len)
        hypotheses += [" ".join(corpus.tgt_vocab.decode(row.tolist())) for row in ids]
    model.train()
    return hypotheses


def bleu(hypotheses, references):
    """sacrebleu's corpus BLEU of token strings against one reference each, our tokens kept as they are."""
    return sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none", force=True).score


def bleu_by_length(hypotheses, references, lengths, edges):
    """Corpus BLEU within each group of sentences whose length is in [edges[k], edges[k+1]):
    a list of (low, high, number of sentences, BLEU), BLEU nan for an empty group."""
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        index = [i for i, n in enumerate(lengths) if low <= n < high]
        score = bleu([hypotheses[i] for i in index], [references[i] for i in index]) if index else math.nan
        rows.append((low, high, len(index), score))
    return rows


@torch.no_grad()
def mean_loss(model, corpus, batch=200):
    """Teacher-forced cross-entropy per target token over a corpus (its exponential is the perplexity)."""
    model.eval()
    where = next(model.parameters()).device
    total = tokens = 0
    for i in range(0, len(corpus.src), batch):
        src, tgt = pad(corpus.src[i:i + batch]).to(where), pad(corpus.tgt[i:i + batch]).to(where)
        n = (tgt[:, 1:] != PAD).sum().item()
        total, tokens = total + model.loss(src, tgt).item() * n, tokens + n
    model.train()
    return total / tokens
