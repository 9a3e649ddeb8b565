"""CLIP: the helper module clip.py against torch's own components."""
import math

import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import clip, transformer
from same_as_torch import assert_same_as_torch


@pytest.mark.parametrize("n, d", [(5, 8), (12, 16)])
def test_contrastive_loss_is_two_cross_entropies(n, d):
    """Figure 3's loss equals the mean of F.cross_entropy over rows and over columns, value and gradients."""
    torch.manual_seed(n)
    I_e, T_e = F.normalize(torch.randn(n, d), dim=-1), F.normalize(torch.randn(n, d), dim=-1)
    labels = torch.arange(n)

    def reference(I_e, T_e, t):
        logits = t.exp() * I_e @ T_e.T
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2

    assert_same_as_torch(lambda I_e, T_e, t: clip.contrastive_loss(t.exp() * I_e @ T_e.T), reference,
                         [I_e, T_e, torch.tensor(math.log(1 / 0.07))])


def tiny_clip(vocab_size=20):
    return clip.CLIP(clip.ImageEncoder(width=4), clip.TextEncoder(vocab_size, d_model=16, h=2), d_embed=8)


def test_temperature_init_and_clipping():
    model = tiny_clip()
    torch.testing.assert_close(model.t.exp(), torch.tensor(1 / 0.07))
    with torch.no_grad():
        model.t.fill_(10.0)                      # e^10 ~ 22,026
    model.clip_temperature_()
    torch.testing.assert_close(model.t.exp(), torch.tensor(100.0))
    with torch.no_grad():
        model.t.fill_(1.0)
    model.clip_temperature_()                    # below the ceiling: untouched
    assert model.t.item() == 1.0
    # the forward pass uses e^t as the logit scale
    x, ids = torch.rand(3, 3, 32, 32), torch.tensor([[1, 5, 2], [1, 6, 2], [1, 7, 2]])
    model.eval()
    cos = model.encode_image(x) @ model.encode_text(ids).T
    torch.testing.assert_close(model(x, ids), math.e * cos)


@pytest.mark.parametrize("B, L, d_model, h, N", [(3, 7, 16, 2, 1), (5, 11, 32, 4, 2)])
@pytest.mark.parametrize("causal", [True, False])
def test_text_encoder_layers_match_torch(B, L, d_model, h, N, causal):
    """The text encoder's layer stack, with the causal or the full mask, against nn.TransformerEncoderLayer."""
    torch.manual_seed(L)
    enc = clip.TextEncoder(30, d_model=d_model, h=h, N=N, causal=causal)
    refs = [transformer.to_torch(layer) for layer in enc.layers]
    x = torch.randn(B, L, d_model, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    mask = transformer.causal_mask(L) if causal else None
    y, y_ref = x, x_ref
    for layer, ref in zip(enc.layers, refs):
        y = layer(y, mask)
        y_ref = ref(y_ref, src_mask=None if mask is None else ~mask)   # torch: True = may NOT attend
    torch.testing.assert_close(y, y_ref)
    w = torch.randn_like(y)
    (y * w).sum().backward()
    (y_ref * w).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    for layer, ref in zip(enc.layers, refs):
        torch.testing.assert_close(layer.ff.W_1.weight.grad, ref.linear1.weight.grad)
        torch.testing.assert_close(layer.self_attn.W_o.weight.grad, ref.self_attn.out_proj.weight.grad)
        torch.testing.assert_close(torch.cat([layer.self_attn.W_q.weight.grad, layer.self_attn.W_k.weight.grad,
                                              layer.self_attn.W_v.weight.grad]), ref.self_attn.in_proj_weight.grad)


def test_text_encoder_reads_eos_and_ignores_padding():
    """The feature is taken at [EOS]; under the causal mask, padding after it changes nothing."""
    torch.manual_seed(0)
    enc = clip.TextEncoder(30, d_model=16, h=2, N=2).eval()
    short = torch.tensor([[1, 7, 8, 2]])
    padded = torch.tensor([[1, 7, 8, 2, 0, 0, 0]])
    torch.testing.assert_close(enc(short), enc(padded))
    assert not torch.allclose(enc(short), enc(torch.tensor([[1, 7, 9, 2]])))


def test_shapes_deterministic():
    a, b, c = clip.shapes(64, seed=3), clip.shapes(64, seed=3), clip.shapes(64, seed=4)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a[0], c[0])
    x, colour, shape = a
    assert x.shape == (64, 3, 32, 32) and x.min() >= 0 and x.max() <= 1
    x, colour, shape = clip.shapes(200, seed=5, combos=clip.HELD_OUT)
    assert set(zip(colour.tolist(), shape.tolist())) <= set(clip.HELD_OUT)


def read_shape(fg):
    """Name the shape in a foreground mask [H, W] from its pixels alone: a ring has a hole at the centre
    of its bounding box; otherwise the share of the box it fills: square ~1, circle ~pi/4; a triangle
    (~1/2) is much fuller in its lower half than its upper, a cross (~0.56) is symmetric."""
    rows, cols = fg.any(1).nonzero().flatten(), fg.any(0).nonzero().flatten()
    box = fg[rows.min():rows.max() + 1, cols.min():cols.max() + 1].float()
    h, w = box.shape
    if box[h // 2 - 1:h // 2 + 1, w // 2 - 1:w // 2 + 1].sum() == 0:
        return "ring"
    fill = box.mean().item()
    if fill > 0.9:
        return "square"
    if fill > 0.68:
        return "circle"
    top, bottom = box[:h // 2].mean(), box[h - h // 2:].mean()
    return "triangle" if top < 0.6 * bottom else "cross"


def test_shapes_labels_match_pixels():
    """Colour and shape read back from the pixels agree with the labels on every image."""
    x, colour, shape = clip.shapes(300, seed=7)
    palette = torch.tensor(list(clip.COLOURS.values()))
    for image, c, s in zip(x, colour, shape):
        fg = image.max(0).values > 0.5                                # the background stays under ~0.25
        mean_rgb = image[:, fg].mean(1)
        assert (palette - mean_rgb).norm(dim=1).argmin() == c
        assert read_shape(fg) == clip.SHAPES[s]


def test_zero_shot_classifier_ensembles_in_embedding_space():
    torch.manual_seed(0)
    vocab = clip.Vocab([["a", "photo", "of", "red", "blue", "circle"]], min_freq=1)
    model = tiny_clip(len(vocab))
    names, templates = ["red circle", "blue circle"], ["a {}", "a photo of a {}"]
    w = clip.zero_shot_classifier(model, vocab, names, templates)
    single = [clip.zero_shot_classifier(model, vocab, names, [t]) for t in templates]
    torch.testing.assert_close(w, F.normalize(single[0] + single[1], dim=-1))
    torch.testing.assert_close(w.norm(dim=-1), torch.ones(2))
