"""BERT and RoBERTa: the helper module of bert.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import transformer

SPECIALS = ["<pad>", "[CLS]", "[SEP]", "[MASK]", "<unk>"]
PAD, CLS, SEP, MASK, UNK = range(len(SPECIALS))
IGNORE = -100                                     # the target of every token that is not predicted


class Vocab:
    """The specials, then `words` in the order given."""

    def __init__(self, words):
        self.itos = SPECIALS + [w for w in words if w not in SPECIALS]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens):
        return [self.stoi.get(t, UNK) for t in tokens]


def pack(a, b=None):
    """Section 3: token ids and segment ids of [CLS] a [SEP] (b [SEP])."""
    ids, segments = [CLS] + a + [SEP], [0] * (len(a) + 2)
    if b is not None:
        ids, segments = ids + b + [SEP], segments + [1] * (len(b) + 1)
    return ids, segments


def pad_batch(packed, max_len):
    """A list of (ids, segments) -> two [n, max_len] tensors, cut at max_len, padded with PAD and segment 0."""
    ids, segments = torch.full((len(packed), max_len), PAD), torch.zeros(len(packed), max_len, dtype=torch.long)
    for i, (a, s) in enumerate(packed):
        ids[i, :min(len(a), max_len)], segments[i, :min(len(s), max_len)] = torch.tensor(a[:max_len]), torch.tensor(s[:max_len])
    return ids, segments


class Embeddings(nn.Module):
    """Eq. (1): LayerNorm(E_token[x_i] + E_segment[s_i] + E_position[i]), then dropout."""

    def __init__(self, vocab, d_model, max_len=128, segments=2, dropout=0.1):
        super().__init__()
        self.token, self.segment = nn.Embedding(vocab, d_model), nn.Embedding(segments, d_model)
        self.position = nn.Embedding(max_len, d_model)
        self.norm, self.drop = nn.LayerNorm(d_model), nn.Dropout(dropout)

    def forward(self, ids, segments):
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.drop(self.norm(self.token(ids) + self.segment(segments) + self.position(positions)))


class Bert(nn.Module):
    """Section 3: embeddings, L post-LN transformer encoder layers with GELU (the transformer topic's
    EncoderLayer); the masked-LM head (tied to the token embeddings) and the next-sentence head on C."""

    def __init__(self, vocab, d_model=128, h=4, d_ff=512, L=2, dropout=0.1, max_len=128):
        super().__init__()
        self.embed = Embeddings(vocab, d_model, max_len, 2, dropout)
        self.layers = nn.ModuleList([transformer.EncoderLayer(d_model, h, d_ff, dropout, norm_first=False,
                                                              activation=nn.GELU) for _ in range(L)])
        self.mlm_transform = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.LayerNorm(d_model))
        self.mlm_bias = nn.Parameter(torch.zeros(vocab))
        self.nsp = nn.Linear(d_model, 2)
        self.apply(self.init_weights)

    @staticmethod
    def init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, x, mask=None):
        """The layer stack alone: x [B, n, d_model], mask [B, 1, 1, n] (True = may attend)."""
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def forward(self, ids, segments=None):
        """ids [B, n] -> the final hidden vectors T_i [B, n, d_model]; T_0 is C, the [CLS] vector."""
        segments = torch.zeros_like(ids) if segments is None else segments
        return self.encode(self.embed(ids, segments), transformer.padding_mask(ids))

    def mlm_logits(self, T):
        """Scores over the vocabulary of hidden vectors T [..., d_model], output matrix tied to E_token."""
        return self.mlm_transform(T) @ self.embed.token.weight.T + self.mlm_bias

    def nsp_logits(self, T):
        """IsNext / NotNext scores from C = T[:, 0]."""
        return self.nsp(T[:, 0])


def mask_tokens(ids, vocab_size, p=0.15, generator=None):
    """Section 3.1 / Appendix A.1: choose each non-special token with probability p; of the chosen,
    80% -> [MASK], 10% -> a random non-special token, 10% unchanged. Returns (inputs, targets),
    targets = the original id where chosen, IGNORE elsewhere."""
    chosen = (torch.rand(ids.shape, generator=generator) < p) & (ids >= len(SPECIALS))
    r = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(len(SPECIALS), vocab_size, ids.shape, generator=generator)
    inputs = torch.where(chosen & (r < 0.8), MASK, ids)
    inputs = torch.where(chosen & (r >= 0.8) & (r < 0.9), random_ids, inputs)
    return inputs, torch.where(chosen, ids, IGNORE)


def mlm_loss(logits, targets):
    """Eq. (3): mean over positions with targets != IGNORE of -log softmax(logits)[target]."""
    keep = targets != IGNORE
    return -logits[keep].log_softmax(-1).gather(-1, targets[keep][:, None]).mean()


def pretraining_loss(model, ids, segments, targets, is_next=None):
    """Eq. (3), plus eq. (4) on C when is_next (1 = B follows A) is given; the head sees masked positions only."""
    T = model(ids, segments)
    keep = targets != IGNORE
    loss = mlm_loss(model.mlm_logits(T[keep]), targets[keep])
    if is_next is not None:
        loss = loss + F.cross_entropy(model.nsp_logits(T), is_next)
    return loss


class Classifier(nn.Module):
    """Section 4.1: logits C W^T (pooling 'cls'), or the same on the mean of T_i over non-padding tokens ('mean')."""

    def __init__(self, bert, classes, pooling="cls"):
        super().__init__()
        self.bert, self.pooling = bert, pooling
        self.W = nn.Linear(bert.embed.token.embedding_dim, classes)
        Bert.init_weights(self.W)

    def features(self, ids, segments=None):
        T = self.bert(ids, segments)
        if self.pooling == "cls":
            return T[:, 0]
        real = (ids != PAD)[..., None].to(T.dtype)
        return (T * real).sum(1) / real.sum(1)

    def forward(self, ids, segments=None):
        return self.W(self.features(ids, segments))


import random

TOPICS = {"farm": "dog cat horse cow farmer", "city": "driver car shop teacher bus",
          "sea": "ship sailor whale boat captain", "music": "singer drum song band guitar"}
VERBS, TRANSITIVE = "run sleep wait fall move stop".split(), "see like follow find".split()
ADJECTIVES, PREPOSITIONS, ADVERBS = "old small red quiet big young happy lazy".split(), "near behind with beside".split(), "today again slowly often".split()
WORDS = ["the", "that", ".", "##s"] + ADJECTIVES + PREPOSITIONS + ADVERBS + " ".join(TOPICS.values()).split() + VERBS + TRANSITIVE


def noun_phrase(rng, topic, plural):
    """the (adjectives) noun (##s): the plural is the noun plus the piece ##s."""
    return ["the"] + rng.sample(ADJECTIVES, rng.choice([0, 0, 1, 2])) + [rng.choice(TOPICS[topic].split())] + ["##s"] * plural


def verb(rng, verbs, plural):
    """A present-tense verb: ##s marks the singular."""
    return [rng.choice(verbs)] + ["##s"] * (not plural)


def agreement_sentence(rng, topic, opposite=False, swapped=False):
    """Subject, attractor (a PP, a relative clause, or none unless `opposite`), main verb agreeing with the
    subject. opposite: the attractor's number is the subject's opposite; swapped: both verbs take the wrong number."""
    subject = rng.random() < 0.5
    attractor = (not subject) if opposite else rng.random() < 0.5
    words = noun_phrase(rng, topic, subject)
    kind = rng.choice(["pp", "rc"] + ([] if opposite else ["none"]))
    if kind == "pp":
        words += [rng.choice(PREPOSITIONS)] + noun_phrase(rng, topic, attractor)
    elif kind == "rc":
        words += ["that"] + noun_phrase(rng, topic, attractor) + verb(rng, TRANSITIVE, attractor != swapped)
    words += verb(rng, VERBS, subject != swapped) + [rng.choice(ADVERBS)] * (rng.random() < 0.5)
    return words + ["."]
