"""Recurrent networks (RTRL): the helper module rnn.py against torch: the Elman cell against
nn.RNNCell with copied weights (forward and gradients, several shapes), RTRL's gradient against
BPTT by autograd (with and without teacher forcing), and properties of the rest."""
import math

import pytest
import torch
from torch import nn

from dlhistory.topics import rnn


@pytest.mark.parametrize("batch, inputs, hidden", [(4, 3, 5), (1, 7, 2), (16, 10, 32)])
def test_elman_cell_matches_rnn_cell(batch, inputs, hidden):
    torch.manual_seed(batch)
    ours, theirs = rnn.ElmanCell(inputs, hidden).double(), nn.RNNCell(inputs, hidden).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(batch, inputs, dtype=torch.double, requires_grad=True)
    h = torch.randn(batch, hidden, dtype=torch.double, requires_grad=True)
    weights = torch.randn(batch, hidden, dtype=torch.double)
    y_ours, y_theirs = ours(x, h), theirs(x, h)
    torch.testing.assert_close(y_ours, y_theirs)
    g_ours = torch.autograd.grad((weights * y_ours).sum(), [x, h, *ours.parameters()])
    g_theirs = torch.autograd.grad((weights * y_theirs).sum(), [x, h, *theirs.parameters()])
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("batch, steps, vocab, hidden", [(3, 5, 11, 8), (1, 1, 4, 3)])
def test_char_rnn_matches_nn_rnn(batch, steps, vocab, hidden):
    """The unrolled Elman net equals nn.RNN (tanh) with the same weights over a sequence."""
    torch.manual_seed(0)
    model = rnn.CharRNN(vocab, hidden).double()
    reference = nn.RNN(hidden, hidden, batch_first=True).double()
    cell = model.cell
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(cell, name))
    idx = torch.randint(0, vocab, (batch, steps))
    h0 = torch.randn(batch, hidden, dtype=torch.double)
    _, states = model(idx, h0)
    expected, _ = reference(model.embed(idx), h0[None])
    torch.testing.assert_close(states, expected)
    (states ** 2).sum().backward()
    grad_ours = cell.weight_hh.grad.clone()
    model.zero_grad()
    expected, _ = reference(model.embed(idx), h0[None])
    (expected ** 2).sum().backward()
    torch.testing.assert_close(grad_ours, reference.weight_hh_l0.grad)


@pytest.mark.parametrize("teacher_forcing", [False, True])
@pytest.mark.parametrize("n_units, n_inputs, steps, runs", [(1, 2, 4, 1), (3, 3, 15, 2), (6, 2, 25, 3)])
def test_rtrl_gradient_equals_bptt(n_units, n_inputs, steps, runs, teacher_forcing):
    g = torch.Generator().manual_seed(n_units)
    W = rnn.init_weights(n_units, n_inputs, runs, scale=1.0, generator=g)
    x = torch.randint(0, 2, (steps, runs, n_inputs), generator=g).double()
    x[..., -1] = 1
    d = torch.rand(steps, runs, n_units, generator=g, dtype=torch.double)
    mask = (torch.rand(steps, runs, n_units, generator=g) < 0.5).double()
    outputs, descent, W_after = rnn.rtrl(W, x, d, mask, teacher_forcing=teacher_forcing)
    W_graph = W.clone().requires_grad_()
    (gradient,) = torch.autograd.grad(rnn.unrolled_loss(W_graph, x, d, mask, teacher_forcing), W_graph)
    torch.testing.assert_close(-descent, gradient, rtol=0, atol=1e-10)
    torch.testing.assert_close(W_after, W)          # alpha = 0 leaves the weights alone
    assert outputs.shape == (steps, runs, n_units)


def test_rtrl_real_time_step_is_gradient_step():
    """One step of real-time learning changes the weights by alpha times -dJ/dW."""
    g = torch.Generator().manual_seed(0)
    W = rnn.init_weights(3, 2, 2, scale=1.0, generator=g)
    x, d = torch.rand(1, 2, 2, generator=g, dtype=torch.double), torch.rand(1, 2, 3, generator=g, dtype=torch.double)
    mask = torch.ones_like(d)
    _, descent, W_after = rnn.rtrl(W, x, d, mask, alpha=0.5)
    torch.testing.assert_close(W_after, W + 0.5 * descent)


def test_truncated_bptt_with_whole_stream_is_one_gradient_step():
    """With h covering the stream, truncated BPTT takes exactly one full-gradient step."""
    g = torch.Generator().manual_seed(1)
    x, d, mask = rnn.pipelined_xor(12, 2, generator=g)
    W = rnn.init_weights(1, 3, 2, scale=1.0, generator=g)
    _, W_after = rnn.truncated_bptt(W, x, d, mask, h=12, alpha=0.3)
    _, descent, _ = rnn.rtrl(W, x, d, mask)
    torch.testing.assert_close(W_after, W + 0.3 * descent)


def test_tasks():
    g = torch.Generator().manual_seed(0)
    x, d, mask = rnn.pipelined_xor(50, 3, delay=2, generator=g)
    assert x.shape == (50, 3, 3) and (x[..., 2] == 1).all()
    # d[t] is the target of y(t+1): the XOR of the bits of x(t + 1 - delay) = x(t - 1)
    torch.testing.assert_close(d[1:, :, 0], (x[:-1, :, 0] != x[:-1, :, 1]).double())
    assert (mask[0] == 0).all() and (mask[1:] == 1).all()
    x, d, _ = rnn.sequence_recognition(2000, 2, generator=g)
    a, b = x[..., 0].bool(), x[..., 1].bool()
    assert not (a & b).any() and (x[..., 2] == 1).all()
    assert (d[..., 0].bool() <= b).all()              # a 1 only on a b
    for r in range(2):                                # and exactly when an a came since the last b
        armed = False
        for t in range(2000):
            assert d[t, r, 0] == float(b[t, r].item() and armed)
            armed = (armed or a[t, r].item()) and not b[t, r].item()


def test_bigram_loss_and_batches():
    ids = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    # a deterministic alternation: with smoothing -> 0 the loss -> 0
    assert rnn.bigram_loss(ids, ids, 2, smoothing=1e-9) < 1e-6
    # add-one: P(1 | 0) = (4 + 1) / (4 + 2) on the four 0->1 pairs, P(0 | 1) = (3 + 1) / (3 + 2) on the three 1->0
    expected = -(4 * math.log(5 / 6) + 3 * math.log(4 / 5)) / 7
    assert abs(rnn.bigram_loss(ids, ids, 2) - expected) < 1e-12
    stream = torch.arange(41)
    batches = list(rnn.StreamBatches(stream, batch_size=2, length=5))
    assert len(batches) == 4
    (x0, y0), (x1, _) = batches[0], batches[1]
    torch.testing.assert_close(y0, x0 + 1)
    torch.testing.assert_close(x1[:, 0], x0[:, -1] + 1)   # each row continues where it left off


@pytest.mark.parametrize("hidden, steps, activation", [(5, 6, "tanh"), (3, 9, "logistic")])
def test_gradient_norms_by_lag_match_autograd(hidden, steps, activation):
    torch.manual_seed(hidden)
    W_hh, W_ih = torch.randn(hidden, hidden, dtype=torch.double), torch.randn(hidden, 2, dtype=torch.double)
    xs, h0 = torch.randn(steps, 2, dtype=torch.double), torch.rand(hidden, dtype=torch.double)
    f = torch.tanh if activation == "tanh" else torch.sigmoid

    def run(h, start=0):
        states = []
        for x in xs[start:]:
            h = f(W_hh @ h + W_ih @ x)
            states.append(h)
        return torch.stack(states)

    states = run(h0)
    norms = rnn.gradient_norms_by_lag(rnn.state_jacobians(W_hh, states, activation))
    for k in (1, steps // 2, steps):
        start_state = h0 if k == steps else states[steps - k - 1]
        jacobian = torch.autograd.functional.jacobian(lambda h: run(h, steps - k)[-1], start_state)
        torch.testing.assert_close(norms[k - 1], torch.linalg.matrix_norm(jacobian, ord=2))
