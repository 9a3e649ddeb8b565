"""The Transformer: the helper module transformer.py against torch's own components."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from dlhistory.topics import seq2seq, transformer as T


def grads(*tensors):
    return [t.grad.clone() for t in tensors]


@pytest.mark.parametrize("shape", [(2, 5, 7, 8), (3, 1, 4, 6, 16)])
def test_attention_equals_torch(shape):
    *lead, n, m, d = shape
    Q = torch.randn(*lead, n, d, requires_grad=True)
    K, V = torch.randn(*lead, m, d, requires_grad=True), torch.randn(*lead, m, d, requires_grad=True)
    mask = torch.rand(*lead, n, m) > 0.3
    mask[..., 0] = True                                  # every query sees at least one key
    ours, weights = T.scaled_dot_product_attention(Q, K, V, mask)
    theirs = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)
    assert_close(ours, theirs)
    g = torch.randn_like(ours)
    (ours * g).sum().backward()
    mine = grads(Q, K, V)
    for t in (Q, K, V):
        t.grad = None
    (theirs * g).sum().backward()
    for a, b in zip(mine, grads(Q, K, V)):
        assert_close(a, b)
    assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
    assert (weights[~mask] == 0).all()


def test_causal_mask_equals_is_causal():
    Q, K, V = (torch.randn(2, 3, 6, 4) for _ in range(3))
    ours, _ = T.scaled_dot_product_attention(Q, K, V, T.causal_mask(6))
    assert_close(ours, F.scaled_dot_product_attention(Q, K, V, is_causal=True))


@pytest.mark.parametrize("B, n, m, d, h", [(2, 5, 5, 16, 4), (3, 4, 7, 24, 3)])
def test_multi_head_attention_equals_torch(B, n, m, d, h):
    torch.manual_seed(0)
    ours = T.MultiHeadAttention(d, h)
    theirs = T.to_torch(ours)
    query = torch.randn(B, n, d, requires_grad=True)
    memory = torch.randn(B, m, d, requires_grad=True)
    ids = torch.randint(4, 9, (B, m))
    ids[0, -2:] = seq2seq.PAD                             # padded source positions
    out = ours(query, memory, memory, T.padding_mask(ids))
    ref, ref_weights = theirs(query, memory, memory, key_padding_mask=ids == seq2seq.PAD, average_attn_weights=False)
    assert_close(out, ref)
    assert_close(ours.weights, ref_weights)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    mine = grads(query, memory, ours.W_q.weight, ours.W_v.weight)
    query.grad = memory.grad = None
    (ref * g).sum().backward()
    assert_close(mine[0], query.grad)
    assert_close(mine[1], memory.grad)
    assert_close(mine[2], theirs.in_proj_weight.grad[:d])
    assert_close(mine[3], theirs.in_proj_weight.grad[2 * d:])


def test_masked_self_attention_equals_torch():
    torch.manual_seed(1)
    ours = T.MultiHeadAttention(16, 2)
    theirs = T.to_torch(ours)
    x = torch.randn(3, 6, 16)
    ref, _ = theirs(x, x, x, attn_mask=~T.causal_mask(6))  # torch's bool mask: True = may NOT attend
    assert_close(ours(x, x, x, T.causal_mask(6)), ref)


def randomize_norms(layer):
    """LayerNorm starts at gain 1 and bias 0; random values make a mix-up of the norms show."""
    with torch.no_grad():
        for norm in layer.norms:
            norm.weight.normal_(), norm.bias.normal_()
    return layer


def test_to_torch_refuses_other_norms():
    class RMSNorm(nn.LayerNorm):
        pass
    with pytest.raises(TypeError, match="nn.LayerNorm only"):
        T.to_torch(T.EncoderLayer(16, 2, 32, norm=RMSNorm))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", [nn.ReLU, nn.GELU])
def test_encoder_layer_equals_torch(norm_first, activation):
    torch.manual_seed(2)
    ours = randomize_norms(T.EncoderLayer(16, 4, 32, dropout=0.0, norm_first=norm_first, activation=activation))
    theirs = T.to_torch(ours)
    x = torch.randn(2, 5, 16, requires_grad=True)
    ids = torch.tensor([[5, 6, 7, 8, 9], [5, 6, 7, 0, 0]])
    out = ours(x, T.padding_mask(ids))
    ref = theirs(x, src_key_padding_mask=ids == seq2seq.PAD)
    keep = ids != seq2seq.PAD                             # torch may leave padded rows' outputs as they come
    assert_close(out[keep], ref[keep])
    out[keep].sum().backward()
    mine = x.grad.clone()
    x.grad = None
    ref[keep].sum().backward()
    assert_close(mine, x.grad)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_equals_torch(norm_first):
    torch.manual_seed(3)
    ours = randomize_norms(T.DecoderLayer(16, 2, 24, dropout=0.0, norm_first=norm_first))
    theirs = T.to_torch(ours)
    y, memory = torch.randn(3, 4, 16, requires_grad=True), torch.randn(3, 6, 16, requires_grad=True)
    out = ours(y, memory, T.causal_mask(4))
    ref = theirs(y, memory, tgt_mask=~T.causal_mask(4))
    assert_close(out, ref)
    out.pow(2).sum().backward()
    mine = y.grad.clone(), memory.grad.clone()
    y.grad = memory.grad = None
    ref.pow(2).sum().backward()
    assert_close(mine[0], y.grad)
    assert_close(mine[1], memory.grad)


@pytest.mark.parametrize("shape", [(7, 11), (2, 5, 30)])
def test_label_smoothing_equals_torch(shape):
    logits = torch.randn(*shape, requires_grad=True)
    target = torch.randint(shape[-1], shape[:-1])
    ours = T.label_smoothed_nll(logits, target, 0.1)
    theirs = F.cross_entropy(logits.flatten(0, -2), target.flatten(), label_smoothing=0.1)
    assert_close(ours, theirs)
    assert_close(torch.autograd.grad(ours, logits)[0], torch.autograd.grad(theirs, logits)[0])


def test_sinusoidal_positions():
    pe = T.sinusoidal_positions(50, 8)
    assert_close(pe[0], torch.tensor([0.0, 1.0] * 4))
    assert_close(pe[:, 0], torch.sin(torch.arange(50.0)))
    assert_close(pe[:, 7], torch.cos(torch.arange(50.0) / 10000 ** (6 / 8)))
    # Section 3.5: PE[pos + k] is a fixed linear map (a rotation per pair) of PE[pos]
    k, w = 3, 10000.0 ** (-torch.arange(0, 8, 2) / 8)
    c, s = torch.cos(k * w), torch.sin(k * w)
    sin, cos = pe[:-k, 0::2], pe[:-k, 1::2]
    assert_close(pe[k:, 0::2], sin * c + cos * s)
    assert_close(pe[k:, 1::2], cos * c - sin * s)


def test_rate_is_eq3():
    assert T.rate(4000, 512, 4000) == pytest.approx(512 ** -0.5 * 4000 ** -0.5)
    peak = max(range(1, 20000, 7), key=lambda s: T.rate(s, 512, 4000))
    assert abs(peak - 4000) < 7
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = T.noam(opt, 512, 4000)
    assert opt.param_groups[0]["lr"] == pytest.approx(T.rate(1, 512, 4000))
    opt.step(), sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(T.rate(2, 512, 4000))


def test_decoding_is_causal_and_beam_search_runs():
    torch.manual_seed(4)
    model = T.Transformer(20, 30, d_model=16, h=2, d_ff=32, N=2, dropout=0.0).eval()
    src = torch.randint(4, 20, (3, 6))
    src[1, -2:] = seq2seq.PAD
    tgt = torch.randint(4, 30, (3, 5))
    enc = model.encode(src)
    full = model.decode(tgt, enc)
    prefix = model.init_state(enc)
    for t in range(tgt.shape[1]):                        # one token at a time = all at once
        logits, prefix, weights = model.step(tgt[:, t], prefix, enc)
        assert_close(logits, full[:, t])
        assert (weights[1, -2:] == 0).all()              # no attention to source padding
    assert model.out.weight is model.tgt_embed.weight
    greedy = seq2seq.greedy(model, src, max_len=8)[0]
    beam1 = seq2seq.beam_search(model, src, 1, max_len=8)
    def upto_eos(row):
        row = row.tolist()
        return row[:row.index(seq2seq.EOS) + 1] if seq2seq.EOS in row else row
    assert [upto_eos(r) for r in greedy] == [upto_eos(r) for r in beam1]   # a beam of one is greedy
    assert seq2seq.beam_search(model, src, 4, max_len=8).shape[0] == 3
