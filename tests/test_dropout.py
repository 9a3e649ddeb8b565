"""Dropout: the helper module dropout.py against torch's own components."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import dropout

SHAPES = [(7, 13), (4, 3, 8, 8), (1000,)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_same_draws_as_torch_on_cpu(shape, p):
    """On the CPU our mask is drawn exactly as F.dropout's: same seed, same output and gradient."""
    x = torch.randn(shape, requires_grad=True)
    weights = torch.randn(shape)
    torch.manual_seed(11)
    ours = dropout.dropout(x, p, True)
    ours_grad, = torch.autograd.grad((ours * weights).sum(), x)
    torch.manual_seed(11)
    theirs = F.dropout(x, p, True)
    theirs_grad, = torch.autograd.grad((theirs * weights).sum(), x)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    torch.testing.assert_close(ours_grad, theirs_grad, rtol=0, atol=0)


def test_generator_gives_the_same_stream_as_the_global_seed():
    x = torch.randn(5, 17)
    ours = dropout.dropout(x, 0.3, True, generator=torch.Generator().manual_seed(4))
    torch.manual_seed(4)
    torch.testing.assert_close(ours, F.dropout(x, 0.3, True), rtol=0, atol=0)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_statistics(p):
    """Keep rate 1 - p, kept values scaled by exactly 1/(1-p), mean unchanged in expectation."""
    n = 400_000
    x = torch.rand(n, dtype=torch.float64) + 0.5
    out = dropout.dropout(x, p, True)
    kept = out != 0
    se = (p * (1 - p) / n) ** 0.5
    assert abs(kept.double().mean().item() - (1 - p)) < 5 * se
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    change = out - x
    assert abs(change.mean().item()) < 5 * change.std().item() / n ** 0.5


@pytest.mark.parametrize("shape", SHAPES)
def test_eval_and_edge_rates_match_torch(shape):
    x = torch.randn(shape, requires_grad=True)
    torch.testing.assert_close(dropout.dropout(x, 0.5, False), F.dropout(x, 0.5, False))
    torch.testing.assert_close(dropout.dropout(x, 0.0, True), F.dropout(x, 0.0, True))
    ours, theirs = dropout.dropout(x, 1.0, True), F.dropout(x, 1.0, True)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(torch.autograd.grad(ours.sum(), x)[0], torch.autograd.grad(theirs.sum(), x)[0])


@pytest.mark.parametrize("shape", SHAPES)
def test_module_matches_nn_dropout(shape):
    x = torch.randn(shape)
    ours, theirs = dropout.Dropout(0.4), nn.Dropout(0.4)
    torch.manual_seed(2)
    a = ours(x)
    torch.manual_seed(2)
    torch.testing.assert_close(a, theirs(x), rtol=0, atol=0)
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))
    with pytest.raises(ValueError):
        dropout.Dropout(1.5)


@pytest.mark.parametrize("shape", [(50, 30), (512, 784)])
def test_max_norm_matches_renorm(shape):
    W = torch.randn(shape) * torch.linspace(0.02, 0.5, shape[0]).unsqueeze(1)
    ours = dropout.max_norm_(W.clone(), 3.0)
    torch.testing.assert_close(ours, torch.renorm(W, p=2, dim=0, maxnorm=3.0))
    assert ours.norm(dim=1).max() <= 3.0 + 1e-5
    short = W.norm(dim=1) <= 3.0
    assert torch.equal(ours[short], W[short])


def test_mlp_and_mc_probabilities():
    torch.manual_seed(0)
    model = dropout.DropoutMLP((12, 9, 7, 3), p_input=0.2, p_hidden=0.5)
    x = torch.randn(20, 12)
    # eval mode is the plain network (weight scaling built in)
    plain = nn.Sequential(model.layers[0], nn.ReLU(), model.layers[1], nn.ReLU(), model.layers[2])
    torch.testing.assert_close(model.eval()(x), plain(x))
    assert [h.shape for h in model.hidden(x)] == [(20, 9), (20, 7)]
    # the MC passes draw from their own generator, leave the global state alone and restore eval mode
    state = torch.get_rng_state()
    probs = dropout.mc_probabilities(model, x, 5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(state, torch.get_rng_state()) and not model.training
    assert probs.shape == (5, 20, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(5, 20))
    assert not torch.allclose(probs[0], probs[1])
    again = dropout.mc_probabilities(model, x, 5, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(probs, again)
    # with nothing dropped, every sample is the plain network's softmax
    still = dropout.DropoutMLP((12, 9, 3), p_input=0.0, p_hidden=0.0)
    torch.testing.assert_close(dropout.mc_probabilities(still, x, 2)[1], still(x).softmax(-1))
