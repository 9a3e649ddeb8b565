"""T5: the helper module t5.py against torch's own components and hand-computed values."""
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from dlhistory.topics import t5, transformer
from same_as_torch import assert_same_as_torch


@pytest.mark.parametrize("shape", [(4, 16), (2, 5, 7, 32)])
def test_rms_norm_equals_torch(shape):
    torch.manual_seed(0)
    d = shape[-1]
    ours, theirs = t5.RMSNorm(d, eps=1e-6), nn.RMSNorm(d, eps=1e-6)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(d))
        theirs.weight.copy_(ours.weight)
    assert_same_as_torch(ours, theirs, [torch.randn(*shape)], [(ours.weight, theirs.weight)])


# relative position j - i -> bucket, worked out by hand for 32 buckets and max distance 128:
# bidirectional: 16 per direction, exact below 8, then 8 + floor(8 log(d / 8) / log(16)), at most 15,
# plus 16 for keys after the query; causal: 32 for the past, exact below 16, then
# 16 + floor(16 log(d / 16) / log(8)), at most 31, and every future offset in bucket 0.
BIDIRECTIONAL = {0: 0, -1: 1, -7: 7, -8: 8, -12: 9, -20: 10, -50: 13, -90: 14, -100: 15, -1000: 15,
                 1: 17, 7: 23, 12: 25, 20: 26, 50: 29, 90: 30, 1000: 31}
CAUSAL = {0: 0, -1: 1, -15: 15, -20: 17, -50: 24, -100: 30, -127: 31, -1000: 31, 1: 0, 5: 0, 1000: 0}


@pytest.mark.parametrize("bidirectional, table", [(True, BIDIRECTIONAL), (False, CAUSAL)])
def test_relative_position_bucket_hand_table(bidirectional, table):
    offsets = torch.tensor(list(table))
    buckets = t5.relative_position_bucket(offsets, bidirectional, num_buckets=32, max_distance=128)
    assert buckets.tolist() == list(table.values())


def test_relative_position_bucket_properties():
    d = torch.arange(0, 400)
    for bidirectional in (True, False):
        past = t5.relative_position_bucket(-d, bidirectional)
        assert (past.diff() >= 0).all()                          # farther back: same or later bucket
        assert (past[:8] == d[:8]).all()                         # small offsets exact
        assert past.max() < (16 if bidirectional else 32)
    future = t5.relative_position_bucket(d[1:], True)
    assert (future - 16 == t5.relative_position_bucket(-d[1:], True)).all()   # symmetric, own half
    assert (t5.relative_position_bucket(d, False) == 0).all()    # causal: the future shares bucket 0


def test_relative_position_bias_shape_and_sharing():
    bias = t5.RelativePositionBias(h=3, bidirectional=True)
    b = bias(5, 7)
    assert b.shape == (1, 3, 5, 7)
    assert_close(b[0, :, 1, 3], b[0, :, 2, 4])                   # depends on j - i only
    assert_close(b[0, :, 0, 0], bias.embedding.weight[0])


def test_span_corruption_invariants():
    g = torch.Generator().manual_seed(0)
    sentinels = list(range(1000, 1020))
    lengths = []
    for n in (5, 20, 40, 77):
        for _ in range(50):
            tokens = torch.randint(10, 100, (n,), generator=g).tolist()
            inputs, targets = t5.span_corruption(tokens, sentinels, generator=g)
            assert t5.uncorrupt(inputs, targets, sentinels) == tokens   # they interleave back
            spans = sum(t in sentinels for t in inputs)
            assert targets[0] == sentinels[0] and targets[-1] == sentinels[spans]
            assert [t for t in targets if t in sentinels] == sentinels[:spans + 1]
            noise = len(targets) - spans - 1
            assert noise == min(max(round(n * 0.15), 1), n - 1)
            assert spans == max(round(noise / 3), 1)
            assert len(inputs) == n - noise + spans
            mask = t5.random_spans_noise_mask(n, generator=g)
            assert not mask[0] and len(mask) == n
            lengths += [noise / spans]
    assert 2.5 < sum(lengths[-50:]) / 50 < 3.5                 # mean span length 3 on long sequences


def test_encoder_layer_without_bias_equals_torch():
    """The layer T5 is built from, with bias=None and LayerNorm, is torch's TransformerEncoderLayer."""
    torch.manual_seed(0)
    d, h = 16, 4
    for norm_first in (False, True):
        ours = transformer.EncoderLayer(d, h, 32, dropout=0.0, norm_first=norm_first, norm=nn.LayerNorm)
        theirs = transformer.to_torch(ours)
        for shape in ((2, 5, d), (3, 9, d)):
            assert_same_as_torch(ours, theirs, [torch.randn(shape)], [(ours.ff.W_1.weight, theirs.linear1.weight)])


def test_t5_has_no_absolute_positions():
    """Positions enter only through the relative bias: padding a sentence at its start instead of its
    end moves every token, yet the encoder's outputs for the real tokens do not change (with absolute
    position embeddings they would)."""
    torch.manual_seed(0)
    model = t5.T5(20, d_model=16, h=2, d_ff=32, N=2, dropout=0.0).eval()
    for n, extra in ((5, 3), (8, 1)):
        tokens = torch.randint(4, 20, (1, n))
        pads = torch.zeros(1, extra, dtype=torch.long)
        end = model.encode(torch.cat([tokens, pads], 1))["memory"][:, :n]
        start = model.encode(torch.cat([pads, tokens], 1))["memory"][:, extra:]
        assert_close(end, start)
    logits = model.decode(torch.randint(4, 20, (2, 4)), model.encode(torch.randint(4, 20, (2, 6))))
    assert logits.shape == (2, 4, 20)


def test_step_by_step_decoding_equals_decode():
    """seq2seq's greedy and beam search feed T5 one token at a time through Transformer.step; each step's
    logits are decode's at that position, so search sees what training saw."""
    torch.manual_seed(1)
    model = t5.T5(20, d_model=16, h=2, d_ff=32, N=2, dropout=0.0).eval()
    for B, S, T in ((2, 6, 5), (3, 4, 7)):
        enc = model.encode(torch.randint(4, 20, (B, S)))
        tgt = torch.randint(4, 20, (B, T))
        full, prefix = model.decode(tgt, enc), model.init_state(enc)
        for t in range(T):
            logits, prefix, _ = model.step(tgt[:, t], prefix, enc)
            assert_close(logits, full[:, t])
