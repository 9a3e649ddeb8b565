"""Layer normalization: the helper module layernorm.py against torch's nn.LayerNorm (forward
and gradients, several shapes), and the LN-LSTM against (L1)-(L3) written with torch's own
F.layer_norm, with the properties of (L1) that a plain LSTM lacks."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import layernorm
from same_as_torch import assert_same_as_torch

# input shape, normalized_shape: [N, H], [T, N, H], [N, C, H, W] over its last two dimensions, one example
SHAPES = [((32, 100), 100), ((7, 4, 16), 16), ((2, 3, 5, 6), (5, 6)), ((1, 9), 9)]


@pytest.mark.parametrize("eps", [1e-5, 1e-2])
@pytest.mark.parametrize("shape,normalized_shape", SHAPES)
def test_layer_norm_matches_torch(shape, normalized_shape, eps):
    torch.manual_seed(0)
    ours = layernorm.LayerNorm(normalized_shape, eps=eps).double()
    theirs = nn.LayerNorm(normalized_shape, eps=eps).double()
    with torch.no_grad():
        ours.gain.normal_(), ours.bias.normal_()
        theirs.weight.copy_(ours.gain), theirs.bias.copy_(ours.bias)
    a = 3 * torch.randn(shape, dtype=torch.double) - 1
    assert_same_as_torch(ours, theirs, [a], [(ours.gain, theirs.weight), (ours.bias, theirs.bias)])


def test_statistics_are_per_example_and_eq_3():
    """With gain 1, bias 0 and eps 0 each example's outputs have mean 0 and variance 1 over its
    units, and an example's output is the same alone as in any batch."""
    torch.manual_seed(0)
    a = 5 * torch.randn(6, 40, dtype=torch.double) + torch.arange(6, dtype=torch.double)[:, None]
    y = layernorm.layer_norm(a, torch.ones(40, dtype=torch.double), torch.zeros(40, dtype=torch.double), eps=0.0)
    torch.testing.assert_close(y.mean(1), torch.zeros(6, dtype=torch.double))
    torch.testing.assert_close(y.var(1, unbiased=False), torch.ones(6, dtype=torch.double))
    norm = layernorm.LayerNorm(40).double()
    torch.testing.assert_close(norm(a)[2:3], norm(a[2:3]))


def reference_ln_lstm(model, x):
    """(L1)-(L3) step by step with torch's F.layer_norm, from a zero state."""
    H = model.hidden_size
    h = c = x.new_zeros(x.shape[1], H)
    outputs = []
    for x_t in x:
        gates = (F.layer_norm(h @ model.W_h.T, (4 * H,), model.ln_h.gain, model.ln_h.bias, model.ln_h.eps)
                 + F.layer_norm(x_t @ model.W_x.T, (4 * H,), model.ln_x.gain, model.ln_x.bias, model.ln_x.eps) + model.b)
        f, i, o, g = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(F.layer_norm(c, (H,), model.ln_c.gain, model.ln_c.bias, model.ln_c.eps))
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def random_ln_lstm(input_size, hidden_size, eps=1e-5):
    model = layernorm.LNLSTM(input_size, hidden_size, eps=eps).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))  # gains, biases and b away from 1 and 0
    return model


@pytest.mark.parametrize("T,N,D,H", [(5, 3, 4, 6), (12, 1, 7, 16), (2, 8, 3, 5)])
def test_ln_lstm_matches_equations_with_torch_layer_norm(T, N, D, H):
    torch.manual_seed(0)
    model = random_ln_lstm(D, H)
    x = torch.randn(T, N, D, dtype=torch.double)
    h, (h_T, c_T) = model(x)
    assert h.shape == (T, N, H) and h_T.shape == c_T.shape == (N, H)
    h_ref, (h_T_ref, c_T_ref) = reference_ln_lstm(model, x)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(c_T, c_T_ref)
    weights = torch.randn(T, N, H, dtype=torch.double)
    grads = torch.autograd.grad((weights * h).sum(), list(model.parameters()))
    grads_ref = torch.autograd.grad((weights * h_ref).sum(), list(model.parameters()))
    for ours, theirs in zip(grads, grads_ref):
        torch.testing.assert_close(ours, theirs)
    # every parameter, the three gains and biases included, receives a gradient (W_h from t = 2 on)
    assert all(g.abs().max() > 0 for g in grads)


def test_ln_lstm_invariances_a_plain_lstm_lacks():
    """(L1) normalizes W_h h and W_x x apart: re-scaling them by different factors, or every
    input sequence by its own factor, leaves the outputs unchanged; nn.LSTM's change."""
    torch.manual_seed(0)
    x = torch.randn(10, 4, 6, dtype=torch.double)
    model, lstm = random_ln_lstm(6, 8, eps=1e-30), nn.LSTM(6, 8).double()
    with torch.no_grad():
        before, before_lstm = model(x)[0], lstm(x)[0]
        model.W_h.mul_(2.5), model.W_x.mul_(0.3)
        lstm.weight_hh_l0.mul_(2.5), lstm.weight_ih_l0.mul_(0.3)
        torch.testing.assert_close(model(x)[0], before)
        assert (lstm(x)[0] - before_lstm).abs().max() > 1e-2
        scaled = x * (0.5 + 2 * torch.rand(1, 4, 1, dtype=torch.double))
        torch.testing.assert_close(model(scaled)[0], model(x)[0])


def test_ln_lstm_state_carries_over():
    """Running a sequence in two halves, passing the state on, gives the same outputs."""
    torch.manual_seed(0)
    model = random_ln_lstm(3, 5)
    x = torch.randn(8, 2, 3, dtype=torch.double)
    whole, _ = model(x)
    first, state = model(x[:4])
    second, _ = model(x[4:], state)
    torch.testing.assert_close(torch.cat([first, second]), whole)
