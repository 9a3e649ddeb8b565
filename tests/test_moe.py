"""Mixture of experts: the helper module moe.py against torch's own components and dense references."""
import math

import pytest
import torch
from torch import nn

from dlhistory.topics import moe


def _gating(d, n, k, std=0.5):
    gating = moe.NoisyTopKGating(d, n, k).double()
    nn.init.normal_(gating.W_g, std=std)
    nn.init.normal_(gating.W_noise, std=std)
    return gating


@pytest.mark.parametrize("n, k", [(4, 1), (4, 2), (8, 3), (16, 4)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_top_k_gates_sum_to_one_with_exactly_k_nonzeros(n, k, mode):
    torch.manual_seed(0)
    gating = getattr(_gating(12, n, k), mode)()
    G, clean, H, noise_std = gating(torch.randn(257, 12, dtype=torch.double))
    assert ((G > 0).sum(1) == k).all()
    torch.testing.assert_close(G.sum(1), torch.ones(257, dtype=torch.double))
    # the kept experts are H's top k, and their gates are a softmax over their scores (eqs. 3, 5)
    top = H.topk(k, dim=1)
    torch.testing.assert_close(G.gather(1, top.indices), torch.softmax(top.values, dim=1))
    if mode == "eval":
        torch.testing.assert_close(H, clean)


def test_keep_top_k_keeps_exactly_k_even_with_ties():
    v = torch.zeros(5, 6)
    kept = moe.keep_top_k(v, 2)
    assert (kept.isfinite().sum(1) == 2).all()


def test_noise_scale_is_softplus_of_x_W_noise():
    torch.manual_seed(0)
    gating = _gating(8, 4, 2).train()
    x = torch.randn(10, 8, dtype=torch.double)
    _, clean, H, noise_std = gating(x)
    torch.testing.assert_close(clean, x @ gating.W_g)
    torch.testing.assert_close(noise_std, nn.functional.softplus(x @ gating.W_noise))


@pytest.mark.parametrize("n, d, h", [(4, 16, 32), (8, 24, 8), (1, 5, 7)])
def test_expert_equals_nn_linear_relu_nn_linear(n, d, h):
    torch.manual_seed(0)
    experts = moe.Experts(n, d, h).double()
    x = torch.randn(33, d, dtype=torch.double, requires_grad=True)
    for i in range(n):
        reference = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, d)).double()
        with torch.no_grad():
            reference[0].weight.copy_(experts.W_in[i].T)
            reference[0].bias.copy_(experts.b_in[i])
            reference[2].weight.copy_(experts.W_out[i].T)
            reference[2].bias.copy_(experts.b_out[i])
        ours, theirs = experts(x, i), reference(x)
        torch.testing.assert_close(ours, theirs)
        g_ours = torch.autograd.grad(ours.sin().sum(), (x, experts.W_in, experts.b_in, experts.W_out, experts.b_out))
        g_theirs = torch.autograd.grad(theirs.sin().sum(), (x, reference[0].weight, reference[0].bias,
                                                            reference[2].weight, reference[2].bias))
        torch.testing.assert_close(g_ours[0], g_theirs[0])
        torch.testing.assert_close(g_ours[1][i], g_theirs[1].T)
        torch.testing.assert_close(g_ours[2][i], g_theirs[2])
        torch.testing.assert_close(g_ours[3][i], g_theirs[3].T)
        torch.testing.assert_close(g_ours[4][i], g_theirs[4])


def test_experts_initialised_like_nn_linear():
    torch.manual_seed(0)
    experts = moe.Experts(64, 50, 200)
    assert experts.W_in.abs().max() <= 50 ** -0.5 and experts.W_out.abs().max() <= 200 ** -0.5
    torch.testing.assert_close(experts.W_in.std().item(), 50 ** -0.5 / math.sqrt(3), rtol=0.02, atol=0)


@pytest.mark.parametrize("N, d, n, h, k", [(64, 16, 4, 32, 2), (300, 24, 8, 16, 1), (129, 8, 16, 8, 4), (7, 4, 3, 5, 2)])
def test_sparse_dispatch_combine_equals_dense_reference(N, d, n, h, k):
    torch.manual_seed(0)
    gating, experts = _gating(d, n, k).train(), moe.Experts(n, d, h).double()
    x = torch.randn(N, d, dtype=torch.double, requires_grad=True)
    weights = [x, gating.W_g, gating.W_noise, *experts.parameters()]
    out = []
    for dense in (False, True):
        torch.manual_seed(1)  # the same noise for both
        G = gating(x)[0]
        y = (sum(G[:, i, None] * experts(x, i) for i in range(n)) if dense
             else moe.dispatch_combine(x, G, experts))
        out.append((y, torch.autograd.grad((y * y.detach().cos()).sum(), weights)))
    torch.testing.assert_close(out[0][0], out[1][0])
    for a, b in zip(out[0][1], out[1][1]):
        torch.testing.assert_close(a, b)


def test_dispatch_runs_each_token_through_k_experts_only():
    torch.manual_seed(0)
    d, n, h, k, N = 16, 8, 32, 2, 512
    layer = moe.MoE(d, n, h, k).train()
    flops = moe.counted_flops(layer, torch.randn(N, d))
    assert flops == N * moe.moe_flops(d, n, h, k)
    assert layer.tokens_per_expert.sum() == k * N


def test_importance_and_cv_squared():
    G = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.5, 0.5]])
    torch.testing.assert_close(moe.importance(G), torch.tensor([0.7, 0.8, 0.5]))
    v = torch.tensor([1.0, 2.0, 3.0, 6.0])
    torch.testing.assert_close(moe.cv_squared(v), v.var(unbiased=False) / v.mean() ** 2)
    assert moe.cv_squared(torch.full((5,), 3.0)) == 0


@pytest.mark.parametrize("n, k", [(5, 1), (6, 2), (8, 4)])
def test_kth_excluding(n, k):
    torch.manual_seed(0)
    H = torch.randn(40, n, dtype=torch.double)
    got = moe.kth_excluding(H, k)
    for t in range(len(H)):
        for i in range(n):
            others = torch.cat([H[t, :i], H[t, i + 1:]])
            assert got[t, i] == others.sort(descending=True).values[k - 1]


@pytest.mark.parametrize("n, k", [(4, 2), (8, 1), (6, 3)])
def test_load_estimate_matches_monte_carlo(n, k):
    """P(x, i) of eq. 9 is the chance that expert i is in the top k when its own noise is drawn again."""
    torch.manual_seed(0)
    gating = _gating(10, n, k).train()
    x = torch.randn(4, 10, dtype=torch.double)
    with torch.no_grad():
        _, clean, H, noise_std = gating(x)
        P = moe.prob_in_top_k(clean, H, noise_std, k)
        draws = 40_000
        for t in range(len(x)):
            for i in range(n):
                again = H[t].repeat(draws, 1)
                again[:, i] = clean[t, i] + torch.randn(draws, dtype=torch.double) * noise_std[t, i]
                frequency = (again.topk(k, dim=1).indices == i).any(1).double().mean()
                assert abs(P[t, i] - frequency) < 0.012, (t, i, P[t, i].item(), frequency.item())
        torch.testing.assert_close(moe.load(clean, H, noise_std, k), P.sum(0))


def test_load_estimate_gradient_matches_normal_cdf():
    """eq. 9's gradient through torch.special.ndtr equals the one through torch.distributions.Normal."""
    torch.manual_seed(0)
    for n, k in ((4, 2), (8, 1)):
        gating = _gating(10, n, k).train()
        x = torch.randn(32, 10, dtype=torch.double)
        _, clean, H, noise_std = gating(x)
        ours = moe.load(clean, H, noise_std, k)
        z = (clean - moe.kth_excluding(H, k)) / noise_std
        theirs = torch.distributions.Normal(0.0, 1.0).cdf(z).sum(0)
        torch.testing.assert_close(ours, theirs)
        g1 = torch.autograd.grad(moe.cv_squared(ours), (gating.W_g, gating.W_noise), retain_graph=True)
        g2 = torch.autograd.grad(moe.cv_squared(theirs), (gating.W_g, gating.W_noise))
        for a, b in zip(g1, g2):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("shape, n, h, k", [((3, 5, 16), 4, 32, 2), ((20, 16), 8, 8, 1)])
def test_moe_layer_shapes_losses_and_top1_gate_gradient(shape, n, h, k):
    torch.manual_seed(0)
    layer = moe.MoE(shape[-1], n, h, k).double().train()
    nn.init.normal_(layer.gating.W_g, std=0.5)
    x = torch.randn(*shape, dtype=torch.double)
    y = layer(x)
    assert y.shape == x.shape and layer.aux_loss > 0
    task = torch.autograd.grad(y.square().mean(), layer.gating.W_g, retain_graph=True, allow_unused=True)[0]
    balance = torch.autograd.grad(layer.aux_loss, layer.gating.W_g)[0]
    if k == 1:   # a softmax over one kept score is 1: the task does not reach the gate
        assert task is None or task.abs().max() == 0
    else:
        assert task.abs().max() > 0
    assert balance.abs().max() > 0
    layer.eval()
    layer(x)
    assert layer.aux_loss == 0.0
