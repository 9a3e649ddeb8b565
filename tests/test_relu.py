"""Rectified linear units: the helper module relu.py against torch's own components."""
import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import relu
from same_as_torch import assert_same_as_torch

SHAPES = [(5,), (32, 100), (4, 3, 8, 8)]


def _inputs(shape):
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 30
    x.view(-1)[:4] = torch.tensor([0.0, -0.0, 25.0, -25.0])   # exact zeros; beyond torch's softplus threshold
    return x


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ours, theirs", [(relu.relu, F.relu), (relu.softplus, F.softplus),
                                          (lambda x: relu.ReLU()(x), F.relu),
                                          (lambda x: relu.Softplus()(x), F.softplus)])
def test_forward_and_gradient_match_torch(shape, ours, theirs):
    assert_same_as_torch(ours, theirs, [_inputs(shape)])


def test_gradient_at_zero_is_torchs():
    for ours, theirs, expected in ((relu.relu, F.relu, 0.0), (relu.softplus, F.softplus, 0.5)):
        a, b = torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
        ours(a).sum().backward()
        theirs(b).sum().backward()
        torch.testing.assert_close(a.grad, b.grad)
        assert a.grad.tolist() == [expected] * 3


def test_float32_extremes():
    x = torch.tensor([-1e4, -100.0, 100.0, 1e4, float("-inf"), float("inf")])
    torch.testing.assert_close(relu.relu(x), F.relu(x))
    torch.testing.assert_close(relu.softplus(x[:4]), F.softplus(x[:4]))


def test_mlp_measures():
    model = relu.MLP([6, 5, 4, 3])
    with torch.no_grad():
        model.layers[0].weight.zero_()
        model.layers[0].bias.copy_(torch.tensor([-1.0, 1.0, -1.0, 1.0, -1.0]))   # units 0, 2, 4 always off
    x = torch.randn(20, 6)
    logits = model(x)
    assert logits.shape == (20, 3) and [h.shape for h in model.hidden] == [(20, 5), (20, 4)]
    assert relu.dead_units(model, x) >= 3 / 9
    zeros = sum((h == 0).sum().item() for h in model.hidden)
    assert relu.sparsity(model, x) == pytest.approx(zeros / (20 * 9))
    torch.testing.assert_close(relu.activation_l1(model.hidden), sum(h.abs().mean() for h in model.hidden))
