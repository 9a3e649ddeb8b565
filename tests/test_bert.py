"""BERT and RoBERTa: the helper module bert.py against torch's own components."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import bert, transformer


def torch_encoder(model):
    """nn.TransformerEncoder (post-LN, GELU, batch first) holding the weights of model's layer stack."""
    twin = nn.TransformerEncoder(transformer.to_torch(model.layers[0]), len(model.layers), enable_nested_tensor=False)
    twin.layers = nn.ModuleList([transformer.to_torch(layer) for layer in model.layers])
    return twin


@pytest.mark.parametrize("B, n, d_model, h, L", [(3, 7, 16, 4, 2), (2, 12, 24, 3, 3)])
def test_encoder_matches_torch(B, n, d_model, h, L):
    torch.manual_seed(0)
    model = bert.Bert(11, d_model, h, 3 * d_model, L, dropout=0.0).double()
    # random LayerNorm affines, so that the check covers them too
    with torch.no_grad():
        for layer in model.layers:
            for norm in layer.norms:
                norm.weight.normal_(1, 0.1)
                norm.bias.normal_(0, 0.1)
    twin = torch_encoder(model)
    ids = torch.randint(5, 11, (B, n))
    ids[0, n // 2:] = bert.PAD
    x = torch.randn(B, n, d_model, dtype=torch.double, requires_grad=True)
    ours = model.encode(x, transformer.padding_mask(ids))
    theirs = twin(x, src_key_padding_mask=ids == bert.PAD)
    torch.testing.assert_close(ours, theirs)
    w = torch.randn_like(ours)
    ours_grads = torch.autograd.grad((ours * w).sum(), [x, model.layers[0].self_attn.W_q.weight, model.layers[-1].ff.W_2.weight])
    theirs_grads = torch.autograd.grad((theirs * w).sum(), [x, twin.layers[0].self_attn.in_proj_weight, twin.layers[-1].linear2.weight])
    torch.testing.assert_close(ours_grads[0], theirs_grads[0])
    torch.testing.assert_close(ours_grads[1], theirs_grads[1][:d_model])             # W_q: the first block of in_proj
    torch.testing.assert_close(ours_grads[2], theirs_grads[2])


@pytest.mark.parametrize("B, n, d_model", [(2, 5, 8), (4, 9, 12)])
def test_embeddings_are_the_sum_then_layernorm(B, n, d_model):
    torch.manual_seed(1)
    emb = bert.Embeddings(20, d_model, max_len=16, dropout=0.0).double()
    ids, segments = torch.randint(0, 20, (B, n)), torch.randint(0, 2, (B, n))
    total = emb.token.weight[ids] + emb.segment.weight[segments] + emb.position.weight[:n][None]
    expected = F.layer_norm(total, (d_model,), emb.norm.weight, emb.norm.bias, emb.norm.eps)
    torch.testing.assert_close(emb(ids, segments), expected)
    # gradients reach each table exactly where it was used
    out = emb(ids, segments)
    grad_tables = torch.autograd.grad((out * torch.randn_like(out)).sum(), [emb.token.weight, emb.segment.weight, emb.position.weight])
    unused = torch.ones(20, dtype=torch.bool)
    unused[ids.flatten()] = False
    assert grad_tables[0][unused].abs().max() == 0
    assert grad_tables[2][n:].abs().max() == 0


@pytest.mark.parametrize("shape, vocab", [((2000, 50), 1000), ((500, 300), 40)])
def test_masking_proportions(shape, vocab):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(len(bert.SPECIALS), vocab, shape)
    ids[:, 0], ids[:, -3:] = bert.CLS, bert.PAD
    inputs, targets = bert.mask_tokens(ids, vocab, generator=g)
    chosen = targets != bert.IGNORE
    ordinary = (ids >= len(bert.SPECIALS)).sum().item()
    n = chosen.sum().item()
    share = n / ordinary
    assert abs(share - 0.15) < 4 * (0.15 * 0.85 / ordinary) ** 0.5 + 1e-9           # 4 standard errors
    masked = (inputs[chosen] == bert.MASK).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    random = 1 - masked - kept
    p_same = 1 / (vocab - len(bert.SPECIALS))                                        # a random draw of the original token
    for observed, expected in [(masked, 0.8), (kept, 0.1 + 0.1 * p_same), (random, 0.1 * (1 - p_same))]:
        assert abs(observed - expected) < 4 * (expected * (1 - expected) / n) ** 0.5, (observed, expected)
    assert not chosen[:, 0].any() and not chosen[:, -3:].any()                       # specials never chosen
    assert torch.equal(inputs[~chosen], ids[~chosen])                                # the rest untouched
    assert torch.equal(targets[chosen], ids[chosen])
    assert (inputs[chosen] >= len(bert.SPECIALS)).logical_or(inputs[chosen] == bert.MASK).all()


@pytest.mark.parametrize("shape, vocab", [((4, 9), 30), ((2, 17), 101)])
def test_mlm_loss_equals_cross_entropy_with_ignore_index(shape, vocab):
    torch.manual_seed(2)
    logits = torch.randn(*shape, vocab, dtype=torch.double, requires_grad=True)
    targets = torch.where(torch.rand(shape) < 0.3, torch.randint(0, vocab, shape), bert.IGNORE)
    targets[0, 0] = 1                                                                  # at least one target
    ours = bert.mlm_loss(logits, targets)
    theirs = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=bert.IGNORE)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(*(torch.autograd.grad(loss, logits)[0] for loss in (ours, theirs)))


def test_pack_and_heads():
    ids, segments = bert.pack([7, 8], [9])
    assert ids == [bert.CLS, 7, 8, bert.SEP, 9, bert.SEP] and segments == [0, 0, 0, 0, 1, 1]
    model = bert.Bert(12, 16, 2, 32, 1, dropout=0.0)
    x, s = bert.pad_batch([bert.pack([5, 6, 7]), bert.pack([5], [6])], 8)
    assert model(x, s).shape == (2, 8, 16) and model.nsp_logits(model(x, s)).shape == (2, 2)
    assert model.mlm_logits(model(x, s)).shape == (2, 8, 12)
    # mean pooling ignores padding: appending padding changes nothing
    head = bert.Classifier(model, 3, "mean").eval()
    short, _ = bert.pad_batch([bert.pack([5, 6, 7])], 5)
    long, _ = bert.pad_batch([bert.pack([5, 6, 7])], 9)
    torch.testing.assert_close(head(short), head(long))
