"""Batch normalization: the helper module batchnorm.py against torch's nn.BatchNorm1d/2d, in
training and in eval mode, forward, gradients and running statistics, on several shapes."""
import pytest
import torch
from torch import nn

from dlhistory.topics import batchnorm
from same_as_torch import assert_same_as_torch

# input shape, torch's module: [N, C], [N, C, L] (BatchNorm1d), [N, C, H, W] (BatchNorm2d)
SHAPES = [((60, 7), nn.BatchNorm1d), ((2, 3), nn.BatchNorm1d), ((8, 5, 11), nn.BatchNorm1d),
          ((4, 3, 6, 5), nn.BatchNorm2d), ((1, 6, 3, 4), nn.BatchNorm2d)]


def pair(shape, reference, momentum, eps=1e-5):
    """Ours and torch's, float64, with the same random gamma and beta."""
    channels = shape[1]
    ours = batchnorm.BatchNorm(channels, eps=eps, momentum=momentum).double()
    theirs = reference(channels, eps=eps, momentum=momentum).double()
    with torch.no_grad():
        gamma, beta = torch.randn(channels, dtype=torch.double), torch.randn(channels, dtype=torch.double)
        ours.gamma.copy_(gamma), ours.beta.copy_(beta)
        theirs.weight.copy_(gamma), theirs.bias.copy_(beta)
    return ours, theirs


def forward_backward(ours, theirs, shape):
    """One forward and backward of both on the same input; the outputs and all gradients agree."""
    x = 3 * torch.randn(shape, dtype=torch.double) + 2
    assert_same_as_torch(ours, theirs, [x], [(ours.gamma, theirs.weight), (ours.beta, theirs.bias)])


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("shape,reference", SHAPES)
def test_training_and_eval_match_torch(shape, reference, momentum):
    torch.manual_seed(0)
    ours, theirs = pair(shape, reference, momentum)
    for _ in range(5):  # Algorithm 1 on five mini-batches, updating the running statistics
        forward_backward(ours, theirs, shape)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 5
    ours.eval(), theirs.eval()
    forward_backward(ours, theirs, shape)  # Algorithm 2's inference transform
    torch.testing.assert_close(ours.running_var, theirs.running_var)  # eval does not update them


@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_eps_matches_torch(eps):
    torch.manual_seed(1)
    ours, theirs = pair((16, 4), nn.BatchNorm1d, 0.1, eps)
    forward_backward(ours, theirs, (16, 4))
    ours.eval(), theirs.eval()
    forward_backward(ours, theirs, (16, 4))


def test_float32_matches_torch():
    torch.manual_seed(2)
    ours, theirs = batchnorm.BatchNorm(8), nn.BatchNorm2d(8)
    x = torch.randn(10, 8, 5, 5)
    torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(ours.running_var, theirs.running_var)


def test_population_statistics_are_algorithm_2():
    """momentum=None: E[x] is the mean of the batch means and Var[x] is m/(m-1) times the mean of
    the (biased) batch variances, as in Algorithm 2."""
    torch.manual_seed(3)
    m, bn = 12, batchnorm.BatchNorm(5, momentum=None).double()
    batches = [torch.randn(m, 5, dtype=torch.double) * 2 + 1 for _ in range(7)]
    for x in batches:
        bn(x)
    means = torch.stack([x.mean(0) for x in batches])
    variances = torch.stack([x.var(0, unbiased=False) for x in batches])
    torch.testing.assert_close(bn.running_mean, means.mean(0))
    torch.testing.assert_close(bn.running_var, m / (m - 1) * variances.mean(0))


def test_training_output_is_normalized():
    """Algorithm 1 with gamma = 1, beta = 0: each feature has mean 0 and (biased) variance 1 over the batch."""
    x = torch.randn(200, 6, dtype=torch.double) * 5 - 3
    y = batchnorm.BatchNorm(6, eps=0).double()(x)
    torch.testing.assert_close(y.mean(0), torch.zeros(6, dtype=torch.double))
    torch.testing.assert_close(y.var(0, unbiased=False), torch.ones(6, dtype=torch.double))


def test_hand_written_backward_passes_gradcheck():
    torch.manual_seed(4)
    x = torch.randn(9, 4, dtype=torch.double, requires_grad=True)
    gamma = torch.randn(4, dtype=torch.double, requires_grad=True)
    beta = torch.randn(4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: batchnorm.BatchNormTransform.apply(*a, 1e-5)[0], (x, gamma, beta))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_sigmoid_mlp(batch_norm):
    """Section 4.1's net: 3 x 100 sigmoid; with BN, no bias before BN (beta takes its place, Section 3.2)."""
    model = batchnorm.sigmoid_mlp(batch_norm)
    assert model(torch.rand(60, 784)).shape == (60, 10)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [100, 100, 100, 10]
    assert sum(isinstance(m, batchnorm.BatchNorm) for m in model) == (3 if batch_norm else 0)
    assert all((m.bias is None) == batch_norm for m in linears[:3])
