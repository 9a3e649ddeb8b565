"""LoRA: the helper module lora.py against torch's own components (F.linear, torch.linalg)."""
import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import gpt, lora

SHAPES = [(4, 16, 24, 2), (3, 64, 48, 8), (2, 7, 5, 1)]          # batch, k (in), d (out), r


def make(k, d, r, alpha=8.0):
    base = torch.nn.Linear(k, d).double()
    W_0, b = base.weight.detach().clone(), base.bias.detach().clone()
    return lora.LoRALinear(base, r, alpha), W_0, b


@pytest.mark.parametrize("batch,k,d,r", SHAPES)
def test_init_equals_frozen_linear(batch, k, d, r):
    torch.manual_seed(0)
    layer, W_0, b = make(k, d, r)
    x = torch.randn(batch, 5, k, dtype=torch.double, requires_grad=True)
    out, ref = layer(x), F.linear(x, W_0, b)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    w = torch.randn_like(out)
    torch.testing.assert_close(torch.autograd.grad((out * w).sum(), x)[0], torch.autograd.grad((ref * w).sum(), x)[0])


@pytest.mark.parametrize("batch,k,d,r", SHAPES)
def test_gradients_reach_only_A_and_B(batch, k, d, r):
    torch.manual_seed(1)
    layer, _, _ = make(k, d, r)
    assert sorted(n for n, p in layer.named_parameters() if p.requires_grad) == ["A", "B"]
    layer(torch.randn(batch, k, dtype=torch.double)).square().sum().backward()
    assert layer.base.weight.grad is None and layer.base.bias.grad is None
    assert layer.B.grad.abs().max() > 0
    torch.testing.assert_close(layer.A.grad, torch.zeros_like(layer.A))   # B = 0: no signal to A yet


@pytest.mark.parametrize("batch,k,d,r", SHAPES)
def test_matches_dense_low_rank_reference(batch, k, d, r):
    torch.manual_seed(2)
    alpha = 4.0
    layer, W_0, b = make(k, d, r, alpha)
    with torch.no_grad():
        layer.B.normal_()
    A, B = (t.detach().clone().requires_grad_() for t in (layer.A, layer.B))
    delta = alpha / r * B @ A
    assert torch.linalg.matrix_rank(delta.detach()) == min(r, k, d)
    x = torch.randn(batch, 3, k, dtype=torch.double)
    out, ref = layer(x), F.linear(x, W_0 + delta, b)
    torch.testing.assert_close(out, ref)
    w = torch.randn_like(out)
    ours = torch.autograd.grad((out * w).sum(), [layer.A, layer.B])
    theirs = torch.autograd.grad((ref * w).sum(), [A, B])
    for g, h in zip(ours, theirs):
        torch.testing.assert_close(g, h)
    # the same gradients from the dense weight's gradient G: dL/dB = s G A^T, dL/dA = s B^T G
    W = (W_0 + delta).detach().requires_grad_()
    G = torch.autograd.grad((F.linear(x, W, b) * w).sum(), W)[0]
    torch.testing.assert_close(ours[1], alpha / r * G @ A.detach().T)
    torch.testing.assert_close(ours[0], alpha / r * B.detach().T @ G)


@pytest.mark.parametrize("batch,k,d,r", SHAPES)
def test_merge_equals_unmerged_and_unmerge_restores(batch, k, d, r):
    torch.manual_seed(3)
    layer, W_0, b = make(k, d, r)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(batch, k, dtype=torch.double)
    unmerged = layer(x)
    layer.merge()
    torch.testing.assert_close(layer.base.weight, W_0 + layer.delta())
    torch.testing.assert_close(layer(x), unmerged)
    layer.merge()                                                  # a second merge does nothing
    torch.testing.assert_close(layer(x), unmerged)
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, W_0)
    torch.testing.assert_close(layer(x), unmerged)


@pytest.mark.parametrize("names,r", [(lora.ATTENTION_QV, 2), (lora.EVERY_LINEAR, 4)])
def test_add_lora_on_gpt(names, r):
    torch.manual_seed(4)
    model = gpt.GPT(11, 2, 2, 16, 8)
    idx = torch.randint(0, 11, (3, 8))
    before = model(idx)
    layers = lora.add_lora(model, names, r, alpha=8)
    assert len(layers) == 2 * len(names)
    torch.testing.assert_close(model(idx), before)
    expected = sum(r * (layer.base.in_features + layer.base.out_features) for layer in layers.values())
    assert lora.trainable_parameters(model) == expected
    assert all(name.endswith((".A", ".B")) for name, p in model.named_parameters() if p.requires_grad)


def test_subspace_similarity_against_projections():
    torch.manual_seed(5)
    for r_1, r_2, k in [(8, 4, 32), (3, 5, 10)]:
        A_1, A_2 = torch.randn(r_1, k, dtype=torch.double), torch.randn(r_2, k, dtype=torch.double)
        phi = lora.subspace_similarity(A_1, A_2)
        assert phi.shape == (r_1, r_2) and phi.min() >= 0 and phi.max() <= 1 + 1e-12
        P = [A.T @ torch.linalg.solve(A @ A.T, A) for A in (A_1, A_2)]       # projections onto the row spaces
        torch.testing.assert_close(phi[-1, -1], torch.trace(P[0] @ P[1]) / min(r_1, r_2))
        # entry (i, j) from the top-i / top-j right-singular vectors, one at a time
        V_1, V_2 = (torch.linalg.svd(A, full_matrices=False).Vh for A in (A_1, A_2))
        for i in range(1, r_1 + 1):
            for j in range(1, r_2 + 1):
                torch.testing.assert_close(phi[i - 1, j - 1], torch.linalg.matrix_norm(V_1[:i] @ V_2[:j].T) ** 2 / min(i, j))
        torch.testing.assert_close(lora.subspace_similarity(A_1, torch.randn(r_1, r_1, dtype=torch.double) @ A_1)[-1, -1],
                                   torch.tensor(1.0, dtype=torch.double))
