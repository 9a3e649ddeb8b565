"""GELU: the helper module gelu.py against torch's own F.gelu / nn.GELU, values and gradients."""
import math

import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import gelu

SHAPES = [(7,), (4, 5), (2, 3, 6)]
DTYPES = [torch.float32, torch.float64]


def value_and_grad(f, x):
    x = x.clone().requires_grad_()
    y = f(x)
    upstream = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)  # not all ones
    (y * upstream).sum().backward()
    return y.detach(), x.grad


def inputs(shape, dtype):
    g = torch.Generator().manual_seed(0)
    return 3 * torch.randn(shape, generator=g, dtype=dtype)  # reaches the tails, where errors hide


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ours, approximate", [(gelu.gelu, "none"), (gelu.gelu_tanh, "tanh")])
def test_matches_f_gelu(ours, approximate, shape, dtype):
    x = inputs(shape, dtype)
    y, dy = value_and_grad(ours, x)
    y_ref, dy_ref = value_and_grad(lambda x: F.gelu(x, approximate=approximate), x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dy, dy_ref)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", SHAPES)
def test_module_matches_nn_gelu(approximate, shape):
    x = inputs(shape, torch.float32)
    y, dy = value_and_grad(gelu.GELU(approximate), x)
    y_ref, dy_ref = value_and_grad(torch.nn.GELU(approximate), x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dy, dy_ref)


def test_phi_and_derivative():
    """Phi against torch's normal CDF; d/dx x Phi(x) = Phi(x) + x phi(x) against autograd."""
    x = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    torch.testing.assert_close(gelu.Phi(x), torch.distributions.Normal(0.0, 1.0).cdf(x))
    z = x.clone().requires_grad_()
    (dy,) = torch.autograd.grad(gelu.gelu(z).sum(), z)
    density = torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    torch.testing.assert_close(dy, gelu.Phi(x) + x * density)


def test_approximation_errors():
    """Largest errors over [-8, 8]: tanh form (G3) below 1e-3, sigmoid form (G4) below 3e-2, both
    in values and gradients; and (G4) against torch's x * sigmoid(1.702 x) via F.silu."""
    x = torch.linspace(-8, 8, 16001, dtype=torch.float64)
    exact, d_exact = value_and_grad(gelu.gelu, x)
    tanh, d_tanh = value_and_grad(gelu.gelu_tanh, x)
    sig, d_sig = value_and_grad(gelu.gelu_sigmoid, x)
    assert (tanh - exact).abs().max() < 1e-3
    assert (d_tanh - d_exact).abs().max() < 1e-2
    assert 1e-2 < (sig - exact).abs().max() < 3e-2
    assert (d_sig - d_exact).abs().max() < 0.1
    for shape in SHAPES:
        z = inputs(shape, torch.float64)
        y, dy = value_and_grad(gelu.gelu_sigmoid, z)
        y_ref, dy_ref = value_and_grad(lambda z: F.silu(1.702 * z) / 1.702, z)
        torch.testing.assert_close(y, y_ref)
        torch.testing.assert_close(dy, dy_ref)


@pytest.mark.parametrize("shape", [(200_000,), (400, 500)])
def test_stochastic_mask_expectation(shape):
    """(G1): each entry is 0 or x, kept with probability Phi(x); the mean over many draws of one
    x is x Phi(x) within 5 standard errors."""
    g = torch.Generator().manual_seed(0)
    for value in (-1.5, -0.3, 0.4, 2.0):
        x = torch.full(shape, value, dtype=torch.float64)
        out = gelu.stochastic_gelu(x, generator=g)
        assert bool(((out == 0) | (out == x)).all())
        p = gelu.Phi(torch.tensor(value, dtype=torch.float64))
        standard_error = abs(value) * math.sqrt(p * (1 - p) / out.numel())
        assert abs(out.mean() - value * p) < 5 * standard_error
