"""word2vec: the helper module word2vec.py against torch's own components (the negative-sampling
loss, embedding lookups and bags), and the properties of the parts torch has no counterpart for
(subsampling, the unigram^(3/4) noise, windows, 3CosAdd, phrases)."""
import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from dlhistory.topics import word2vec as w2v


def bce_form(v_in, v_pos, v_neg):
    logits = torch.cat([(v_in * v_pos).sum(-1, keepdim=True), (v_neg @ v_in[:, :, None]).squeeze(-1)], 1)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").sum(1)


@pytest.mark.parametrize("B, k, D", [(1, 1, 3), (7, 5, 16), (33, 15, 64)])
def test_sgns_loss_is_bce_with_logits(B, k, D):
    torch.manual_seed(B)
    inputs = [(3 * torch.randn(shape, dtype=torch.float64)).requires_grad_() for shape in ((B, D), (B, D), (B, k, D))]
    ours, theirs = w2v.sgns_loss(*inputs), bce_form(*inputs)
    assert_close(ours, theirs)
    weights = torch.randn(B, dtype=torch.float64)
    for g, h in zip(torch.autograd.grad((ours * weights).sum(), inputs), torch.autograd.grad((theirs * weights).sum(), inputs)):
        assert_close(g, h)


@pytest.mark.parametrize("V, D, B, k, window", [(10, 4, 3, 2, 2), (300, 32, 64, 5, 5)])
def test_lookups_match_embedding_and_embedding_bag(V, D, B, k, window):
    torch.manual_seed(V)
    model = w2v.Word2Vec(V, D).double()
    nn.init.normal_(model.v_out)
    emb_in = nn.Embedding.from_pretrained(model.v_in.detach().clone(), freeze=False)
    emb_out = nn.Embedding.from_pretrained(model.v_out.detach().clone(), freeze=False)
    bag = nn.EmbeddingBag.from_pretrained(model.v_in.detach().clone(), freeze=False, mode="mean")
    w_in, w_out, noise = torch.randint(V, (B,)), torch.randint(V, (B,)), torch.randint(V, (B, k))
    context, mask = torch.randint(V, (B, 2 * window)), torch.rand(B, 2 * window) < 0.6
    mask[:, -1] = True
    # skip-gram: forward and both tables' gradients
    ours = model.skipgram(w_in, w_out, noise)
    theirs = w2v.sgns_loss(emb_in(w_in), emb_out(w_out), emb_out(noise))
    assert_close(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert_close(model.v_in.grad, emb_in.weight.grad)
    assert_close(model.v_out.grad, emb_out.weight.grad)
    # CBOW: the masked mean of the context is EmbeddingBag's mean
    model.zero_grad()
    emb_out.weight.grad = None
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), mask.sum(1).cumsum(0)[:-1]])
    ours = model.cbow(w_out, context, mask, noise)
    theirs = w2v.sgns_loss(bag(context[mask], offsets=offsets), emb_out(w_out), emb_out(noise))
    assert_close(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert_close(model.v_in.grad, bag.weight.grad)
    assert_close(model.v_out.grad, emb_out.weight.grad)


def test_keep_probability_is_eq5_and_subsample_follows_it():
    counts = torch.tensor([50_000.0, 5_000.0, 500.0, 50.0, 5.0], dtype=torch.float64)
    t = 1e-3
    f = counts / counts.sum()
    keep = w2v.keep_probability(counts, t)
    discard = 1 - torch.sqrt(t / f)                              # eq. 5
    assert_close(keep[f > t], 1 - discard[f > t])
    assert (keep[f <= t] == 1).all() and (keep <= 1).all()
    # the kept fraction of each word over many occurrences matches its probability
    ids = torch.arange(5).repeat_interleave(40_000)
    kept, _ = w2v.subsample(ids, torch.zeros_like(ids), keep, torch.Generator().manual_seed(0))
    fraction = torch.bincount(kept, minlength=5) / 40_000
    assert_close(fraction, keep.float(), atol=0.01, rtol=0)


def test_noise_is_unigram_to_the_three_quarters():
    counts = torch.tensor([1000.0, 100.0, 10.0, 1.0], dtype=torch.float64)
    p = w2v.noise_distribution(counts)
    assert_close(p, counts ** 0.75 / (counts ** 0.75).sum())
    draws = torch.multinomial(p.float(), 400_000, replacement=True, generator=torch.Generator().manual_seed(0))
    frequency = torch.bincount(draws, minlength=4) / 400_000
    assert_close(frequency, p.float(), atol=0.003, rtol=0)
    unigram = counts / counts.sum()
    assert (frequency - unigram.float()).abs().max() > 0.05    # far from the plain unigram distribution


def brute_pairs(ids, sentence, window):
    n = len(ids)
    return Counter((ids[i].item(), ids[j].item(), abs(i - j)) for i in range(n) for j in range(n)
                   if i != j and abs(i - j) <= window and sentence[i] == sentence[j])


def test_skipgram_pairs_full_window_and_dynamic_window():
    torch.manual_seed(0)
    sentence = torch.tensor([0] * 7 + [1] * 3 + [2] * 1 + [3] * 9)
    ids = torch.arange(len(sentence))                             # unique ids recover positions
    w_in, w_out = w2v.skipgram_pairs(ids, sentence, 3, dynamic=False)
    got = Counter((a.item(), b.item(), abs(a.item() - b.item())) for a, b in zip(w_in, w_out))
    assert got == brute_pairs(ids, sentence, 3)
    # dynamic window: a subset of the full one, distance d used with probability (c - d + 1) / c
    long_ids = torch.arange(20_000)
    w_in, w_out = w2v.skipgram_pairs(long_ids, torch.zeros_like(long_ids), 4, torch.Generator().manual_seed(1))
    distance = (w_in - w_out).abs()
    assert distance.min() >= 1 and distance.max() <= 4
    share = torch.bincount(distance, minlength=5)[1:] / (2 * 20_000)
    assert_close(share, torch.tensor([4, 3, 2, 1]) / 4.0, atol=0.015, rtol=0)


def test_cbow_windows_stay_in_sentence_and_window():
    sentence = torch.tensor([0] * 5 + [1] * 1 + [2] * 6)
    ids = torch.arange(len(sentence))
    middle, context, mask = w2v.cbow_windows(ids, sentence, 2, torch.Generator().manual_seed(0))
    assert 5 not in middle.tolist()                               # a one-word sentence has no context
    for m, c, k in zip(middle, context, mask):
        for word in c[k]:
            assert sentence[word] == sentence[m] and 1 <= abs(word - m) <= 2


def test_3cosadd_hand_made_and_against_a_loop():
    vectors = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [-1.0, 0.2, -0.5]])
    questions = torch.tensor([[0, 1, 2, 3], [2, 3, 0, 1], [0, 2, 1, 3]])
    assert w2v.analogy_accuracy(vectors, questions) == 100
    torch.manual_seed(0)
    vectors, questions = torch.randn(50, 8), torch.randint(50, (40, 4))
    E = F.normalize(vectors, dim=1)
    expected = []
    for a, b, c, _ in questions.tolist():
        scores = {w: torch.dot(E[w], E[b] - E[a] + E[c]).item() for w in range(50) if w not in (a, b, c)}
        expected.append(max(scores, key=scores.get))
    assert w2v.analogy_predictions(vectors, questions, batch=7).tolist() == expected
    assert math.isnan(w2v.analogy_accuracy(vectors, questions[:0]))


def test_phrase_score_eq6_and_joining():
    sentences = [["new", "york", "is", "big"], ["new", "york", "new", "ideas"], ["big", "new", "york"]]
    scores = w2v.phrase_scores(sentences, delta=1)
    assert scores["new", "york"] == pytest.approx((3 - 1) / (4 * 3))          # count 3, counts 4 and 3
    assert scores["is", "big"] == pytest.approx((1 - 1) / (1 * 2))
    joined = w2v.join_phrases(sentences, scores, threshold=0.1)
    assert joined == [["new_york", "is", "big"], ["new_york", "new", "ideas"], ["big", "new_york"]]


def test_epochs_batches():
    torch.manual_seed(0)
    ids, sentence = torch.randint(30, (500,)), torch.arange(500) // 10
    counts = torch.bincount(ids, minlength=30).double() + 1
    for mode in ("sg", "cbow"):
        epochs = w2v.Epochs(ids, sentence, mode, 3, w2v.keep_probability(counts, 0.05).float(),
                            w2v.noise_distribution(counts).float(), 4, 64)
        batches = list(epochs)
        assert len(batches) == len(epochs) and sum(len(b[0]) for b in batches) == epochs.size
        noise = batches[0][-1]
        assert noise.shape == (64, 4) and 0 <= noise.min() and noise.max() < 30
        assert len(list(epochs)) > 0                               # a second pass is drawn afresh
