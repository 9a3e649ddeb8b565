"""word2vec: the helper module of word2vec.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math
import re
from collections import Counter

import torch
import torch.nn.functional as F
from torch import nn


def tokenize(text):
    """Lower-cased word tokens, punctuation dropped: "A man's T-shirt." -> ['a', "man's", 't', 'shirt']."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def build_vocab(sentences, min_count=5):
    """Words seen at least min_count times, most frequent first (ties alphabetical), and their
    counts as a float64 tensor [V]."""
    counts = Counter(w for s in sentences for w in s)
    words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    return words, torch.tensor([counts[w] for w in words], dtype=torch.float64)


def encode(sentences, index):
    """The in-vocabulary words of all sentences as one id tensor [n], and the sentence id of
    each [n]: windows must not cross sentences."""
    pairs = [(index[w], j) for j, s in enumerate(sentences) for w in s if w in index]
    ids, sentence = zip(*pairs)
    return torch.tensor(ids), torch.tensor(sentence)


def keep_probability(counts, t):
    """1 - P(w_i) of eq. 5: an occurrence of word w_i is kept with probability min(1, sqrt(t / f(w_i))),
    f the word's frequency counts / counts.sum(). counts [V] -> [V]."""
    f = counts / counts.sum()
    return (t / f).sqrt().clamp(max=1.0)


def subsample(ids, sentence, keep, generator=None):
    """Drop each occurrence of ids [n] with probability 1 - keep[id] (eq. 5), before windows are formed."""
    kept = torch.rand(len(ids), generator=generator, dtype=keep.dtype) < keep[ids]
    return ids[kept], sentence[kept]


def noise_distribution(counts, power=0.75):
    """P_n(w) of eq. 4: the unigram distribution raised to the 3/4 power, renormalized. [V] -> [V]."""
    p = counts ** power
    return p / p.sum()


def skipgram_pairs(ids, sentence, window, generator=None, dynamic=True):
    """(input, output) id pairs of skip-gram (eq. 1): every word with each word at most R positions
    away in the same sentence, R ~ Uniform{1..window} per input word (2013a), or R = window."""
    n = len(ids)
    R = torch.randint(1, window + 1, (n,), generator=generator) if dynamic else torch.full((n,), window)
    inputs, outputs = [], []
    for d in range(1, window + 1):
        i = torch.arange(n - d)
        same = sentence[i] == sentence[i + d]
        right = same & (R[i] >= d)       # input i, output i + d
        left = same & (R[i + d] >= d)    # input i + d, output i
        inputs += [ids[i[right]], ids[i[left] + d]]
        outputs += [ids[i[right] + d], ids[i[left]]]
    return torch.cat(inputs), torch.cat(outputs)


def cbow_windows(ids, sentence, window, generator=None):
    """CBOW examples (2013a, Section 3.1): each word, its context ids [n, 2 * window] and a mask of
    which are real (within R ~ Uniform{1..window}, same sentence). Words with no context are dropped."""
    n = len(ids)
    R = torch.randint(1, window + 1, (n,), generator=generator)
    offsets = torch.tensor([d for d in range(-window, window + 1) if d != 0])
    where = torch.arange(n)[:, None] + offsets                      # [n, 2 * window]
    inside = (where >= 0) & (where < n)
    where = where.clamp(0, n - 1)
    mask = inside & (sentence[where] == sentence[:, None]) & (offsets.abs() <= R[:, None])
    has = mask.any(1)
    return ids[has], ids[where[has]], mask[has]


def sgns_loss(v_in, v_pos, v_neg):
    """Negative of eq. 4 per example: v_in [B, D] input vectors (or CBOW's averages), v_pos [B, D] the
    real output word's output vectors, v_neg [B, k, D] the k noise words' output vectors -> [B]."""
    s_pos = (v_in * v_pos).sum(-1)                          # [B]
    s_neg = torch.einsum("bd,bkd->bk", v_in, v_neg)         # [B, k]
    return -(F.logsigmoid(s_pos) + F.logsigmoid(-s_neg).sum(-1))


class Word2Vec(nn.Module):
    """Input vectors v_in [V, D] and output vectors v'_out [V, D], trained by negative sampling (eq. 4)
    as skip-gram (eq. 1) or CBOW (2013a, Section 3.1)."""

    def __init__(self, vocab_size, dim):
        super().__init__()
        self.v_in = nn.Parameter((torch.rand(vocab_size, dim) - 0.5) / dim)
        self.v_out = nn.Parameter(torch.zeros(vocab_size, dim))

    def skipgram(self, w_in, w_out, noise):
        """w_in [B], w_out [B] word ids, noise [B, k] noise-word ids -> loss [B]."""
        return sgns_loss(self.v_in[w_in], self.v_out[w_out], self.v_out[noise])

    def cbow(self, w_out, context, mask, noise):
        """w_out [B] middle words, context [B, 2c] ids with mask [B, 2c], noise [B, k] -> loss [B]."""
        m = mask.to(self.v_in.dtype)[..., None]
        h = (self.v_in[context] * m).sum(1) / m.sum(1)      # the average of the context's input vectors
        return sgns_loss(h, self.v_out[w_out], self.v_out[noise])


class Epochs:
    """Mini-batches for skip-gram ('sg': (w_in, w_out, noise)) or CBOW ('cbow': (w_out, context, mask,
    noise)) over ids/sentence, a fresh subsample (keep: eq. 5 per word, None for none), windows and
    noise words (k per example from the distribution `noise`) on every pass."""

    def __init__(self, ids, sentence, mode, window, keep, noise, k, batch_size):
        self.ids, self.sentence, self.mode, self.window = ids, sentence, mode, window
        self.keep, self.noise, self.k, self.batch_size = keep, noise, k, batch_size
        self.generator = torch.Generator().manual_seed(int(torch.randint(2 ** 62, ())))
        self.first = self.examples()           # the first pass, built now to know its length
        self.size = len(self.first[0])         # examples in a pass (the next passes differ a little)

    def examples(self):
        ids, sentence = self.ids, self.sentence
        if self.keep is not None:
            ids, sentence = subsample(ids, sentence, self.keep, self.generator)
        make = skipgram_pairs if self.mode == "sg" else cbow_windows
        return make(ids, sentence, self.window, self.generator)

    def __len__(self):
        return math.ceil(self.size / self.batch_size)

    def __iter__(self):
        examples, self.first = self.first or self.examples(), None
        order = torch.randperm(len(examples[0]), generator=self.generator)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            noise = torch.multinomial(self.noise, len(batch) * self.k, replacement=True, generator=self.generator)
            yield tuple(e[batch] for e in examples) + (noise.view(len(batch), self.k),)


@torch.no_grad()
def analogy_predictions(vectors, questions, batch=1024):
    """3CosAdd: for each question (a, b, c, d) of word ids, the word w not in {a, b, c} with the highest
    cosine to v_b - v_a + v_c. vectors [V, D], questions [n, 4] -> predicted ids [n]."""
    E = F.normalize(vectors.float(), dim=1)
    predictions = []
    for q in questions.split(batch):
        a, b, c = q[:, 0], q[:, 1], q[:, 2]
        scores = (E[b] - E[a] + E[c]) @ E.T                 # [batch, V]
        scores.scatter_(1, q[:, :3], -math.inf)             # the question words cannot be the answer
        predictions.append(scores.argmax(1))
    return torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long)


def analogy_accuracy(vectors, questions):
    """% of questions whose 3CosAdd answer is exactly d (nan for no questions)."""
    if len(questions) == 0:
        return math.nan
    return 100 * (analogy_predictions(vectors, questions) == questions[:, 3]).float().mean().item()


@torch.no_grad()
def nearest(vectors, word, words, index, n=6):
    """The n words closest to `word` by cosine, itself excluded."""
    E = F.normalize(vectors.float(), dim=1)
    scores = E @ E[index[word]]
    scores[index[word]] = -math.inf
    return [words[i] for i in scores.topk(n).indices]


def phrase_scores(sentences, delta):
    """eq. 6 for every adjacent bigram: (count(w_i w_j) - delta) / (count(w_i) * count(w_j))."""
    unigrams = Counter(w for s in sentences for w in s)
    bigrams = Counter(pair for s in sentences for pair in zip(s, s[1:]))
    return {(a, b): (n - delta) / (unigrams[a] * unigrams[b]) for (a, b), n in bigrams.items()}


def join_phrases(sentences, scores, threshold):
    """One pass: each bigram scoring above threshold becomes the token 'w_i_w_j', left to right."""
    joined = []
    for s in sentences:
        out, i = [], 0
        while i < len(s):
            if i + 1 < len(s) and scores.get((s[i], s[i + 1]), -math.inf) > threshold:
                out.append(f"{s[i]}_{s[i + 1]}")
                i += 2
            else:
                out.append(s[i])
                i += 1
        joined.append(out)
    return joined
