"""GPT-2 and GPT-3: the helper module gpt.py against torch's own components."""
import math

import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import gpt, transformer

SHAPES = [(3, 7, 16, 2), (2, 33, 48, 4)]   # batch, length, d_model, heads


@pytest.mark.parametrize("B, T, d_model, h", SHAPES)
def test_causal_attention_matches_torch(B, T, d_model, h):
    torch.manual_seed(0)
    q, k, v = (torch.randn(B, h, T, d_model // h, dtype=torch.double, requires_grad=True) for _ in range(3))
    ours = transformer.scaled_dot_product_attention(q, k, v, transformer.causal_mask(T))[0]
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(torch.autograd.grad(ours.sin().sum(), (q, k, v)),
                               torch.autograd.grad(theirs.sin().sum(), (q, k, v)))


@pytest.mark.parametrize("B, T, d_model, h", SHAPES)
def test_gpt_block_matches_torch_encoder_layer(B, T, d_model, h):
    torch.manual_seed(0)
    model = gpt.GPT(20, 1, h, d_model, T).double()
    layer = model.blocks[0]
    ref = transformer.to_torch(layer)
    x = torch.randn(B, T, d_model, dtype=torch.double, requires_grad=True)
    future = ~transformer.causal_mask(T)
    torch.testing.assert_close(layer.self_attn(x, x, x, transformer.causal_mask(T)),
                               ref.self_attn(x, x, x, attn_mask=future, need_weights=False)[0])
    ours, theirs = layer(x, transformer.causal_mask(T)), ref(x, src_mask=future, is_causal=True)
    torch.testing.assert_close(ours, theirs)
    g_ours = torch.autograd.grad(ours.sin().sum(), (x, layer.self_attn.W_q.weight, layer.ff.W_1.weight))
    g_theirs = torch.autograd.grad(theirs.sin().sum(), (x, ref.self_attn.in_proj_weight, ref.linear1.weight))
    torch.testing.assert_close(g_ours[0], g_theirs[0])
    torch.testing.assert_close(g_ours[1], g_theirs[1][:d_model])
    torch.testing.assert_close(g_ours[2], g_theirs[2])


def test_tying_init_and_causality():
    torch.manual_seed(0)
    model = gpt.GPT(50, 4, 4, 64, 32)
    assert model.head.weight is model.wte.weight
    assert abs(model.blocks[0].self_attn.W_q.weight.std().item() - 0.02) < 0.002
    assert abs(model.blocks[0].ff.W_2.weight.std().item() - 0.02 / math.sqrt(8)) < 0.001
    idx = torch.randint(0, 50, (2, 32))
    changed = idx.clone()
    changed[:, 20:] = (changed[:, 20:] + 1) % 50
    torch.testing.assert_close(model(idx)[:, :20], model(changed)[:, :20])
    logits, loss = model(idx, idx)
    torch.testing.assert_close(loss, F.cross_entropy(logits.flatten(0, 1), idx.flatten()))


@pytest.mark.parametrize("B, T, chunk", [(2, 24, 1), (3, 17, 5)])
def test_kv_cache_equals_recompute(B, T, chunk):
    torch.manual_seed(0)
    model = gpt.GPT(40, 3, 4, 32, 24).double().eval()
    idx = torch.randint(0, 40, (B, T))
    cache = []
    stepped = torch.cat([model(idx[:, t:t + chunk], cache=cache) for t in range(0, T, chunk)], 1)
    torch.testing.assert_close(stepped, model(idx))
    draws = [model.generate(idx[:, :3], 15, temperature=0.8, top_k=7, generator=torch.Generator().manual_seed(1),
                            use_cache=c) for c in (True, False)]
    assert torch.equal(draws[0], draws[1]) and draws[0].shape == (B, 18)


def test_sampling_temperature_and_top_k():
    logits = torch.randn(3, 30, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    top = logits.topk(4, -1).indices
    draws = torch.cat([gpt.sample_next(logits, 1.0, 4, g) for _ in range(300)], 1)
    assert all(torch.isin(draws[b], top[b]).all() for b in range(3))
    assert torch.equal(gpt.sample_next(logits, 0), logits.argmax(-1, keepdim=True))
    assert torch.equal(gpt.sample_next(logits, 1.0, 1, g), logits.argmax(-1, keepdim=True))


@pytest.mark.parametrize("text", ["the lowest newest", "naïve café — 東京 🙂, it's 2024!\n\n  done\t", ""])
def test_bpe_round_trip(text):
    tok = gpt.BPETokenizer.train("low lower lowest newer newest wider it's 1999 " * 10, 20)
    assert len(tok.vocab) == 256 + len(tok.merges) and tok.merges[0] == (ord("w"), ord("e"))
    assert "".join(gpt.PRETOKEN.findall(text)) == text
    ids = tok.encode(text)
    assert tok.decode(ids) == text and all(0 <= i < len(tok.vocab) for i in ids)
    assert len(tok.encode("lowest")) < len("lowest")


def test_char_tokenizer_and_windows():
    chars = gpt.CharTokenizer("hello world")
    assert chars.decode(chars.encode("low old")) == "low old"
    x, y = gpt.windows(torch.arange(100), 10, 5)
    assert x.shape == y.shape == (18, 10) and torch.equal(x[:, 1:], y[:, :-1])
