"""LSTM: the helper module lstm.py against torch's nn.LSTMCell and nn.LSTM with copied weights,
forward and gradients, on several shapes; the 1997 cell against nn.LSTMCell with its forget
gate pinned open; the truncated gradient's constant error carousel."""
import pytest
import torch
from torch import nn

from dlhistory.topics import lstm

SHAPES = [(3, 2, 5, 7), (1, 4, 16, 3), (8, 1, 64, 20), (2, 7, 3, 1)]   # batch, inputs, hidden, steps


def grads(*tensors):
    return [t.grad for t in tensors]


@pytest.mark.parametrize("batch,inputs,hidden,steps", SHAPES)
def test_cell_matches_nn_lstmcell(batch, inputs, hidden, steps):
    torch.manual_seed(0)
    reference = nn.LSTMCell(inputs, hidden).double()
    ours = lstm.LSTMCell(inputs, hidden).double().copy_from(reference)
    x = torch.randn(batch, inputs, dtype=torch.double, requires_grad=True)
    state = tuple(torch.randn(batch, hidden, dtype=torch.double, requires_grad=True) for _ in range(2))
    x_ref = x.detach().clone().requires_grad_()
    state_ref = tuple(s.detach().clone().requires_grad_() for s in state)
    h, c = ours(x, state)
    h_ref, c_ref = reference(x_ref, state_ref)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(c, c_ref)
    w = torch.randn_like(h)
    ((w * h).sum() + (c ** 2).sum()).backward()
    ((w * h_ref).sum() + (c_ref ** 2).sum()).backward()
    for a, b in zip(grads(x, *state, ours.W, ours.U, ours.b, ours.b),
                    grads(x_ref, *state_ref, reference.weight_ih, reference.weight_hh, reference.bias_ih, reference.bias_hh)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("batch,inputs,hidden,steps", SHAPES)
def test_unrolled_cell_matches_nn_lstm(batch, inputs, hidden, steps):
    torch.manual_seed(1)
    reference = nn.LSTM(inputs, hidden, batch_first=True).double()
    ours = lstm.Recurrent(lstm.LSTMCell(inputs, hidden).double().copy_from(reference))
    x = torch.randn(batch, steps, inputs, dtype=torch.double, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    out, (h, c), cells = ours(x)
    out_ref, (h_ref, c_ref) = reference(x_ref)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(h, h_ref[0])
    torch.testing.assert_close(c, c_ref[0])
    torch.testing.assert_close(cells[:, -1], c)
    w = torch.randn_like(out)
    ((w * out).sum() + c.sum()).backward()
    ((w * out_ref).sum() + c_ref.sum()).backward()
    cell = ours.cell
    for a, b in zip(grads(x, cell.W, cell.U, cell.b),
                    grads(x_ref, reference.weight_ih_l0, reference.weight_hh_l0, reference.bias_hh_l0)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("batch,inputs,hidden,steps", SHAPES)
def test_1997_cell_is_lstmcell_with_forget_gate_open(batch, inputs, hidden, steps):
    torch.manual_seed(2)
    ours = lstm.LSTM1997Cell(inputs, hidden, g=torch.tanh, h=torch.tanh).double()
    twin = lstm.open_forget_gate_twin(ours)
    x = torch.randn(steps, batch, inputs, dtype=torch.double)
    state = state_ref = (torch.zeros(batch, hidden, dtype=torch.double),) * 2
    for t in range(steps):
        state, state_ref = ours(x[t], state), twin(x[t], state_ref)
        torch.testing.assert_close(state, state_ref)
    (state[0].sum() + (state[1] ** 2).sum()).backward()
    (state_ref[0].sum() + (state_ref[1] ** 2).sum()).backward()
    for k, row in ((0, 0), (1, 2), (2, 3)):       # our in, c, out rows are torch's i, g, o
        for a, b in ((ours.W, twin.weight_ih), (ours.U, twin.weight_hh), (ours.b, twin.bias_ih)):
            torch.testing.assert_close(a.grad.chunk(3)[k], b.grad.chunk(4)[row])


def test_paper_squashing_functions():
    x = torch.linspace(-8, 8, 101, dtype=torch.double)
    torch.testing.assert_close(lstm.g(x), 2 * torch.tanh(x / 2))
    torch.testing.assert_close(lstm.h(x), torch.tanh(x / 2))
    assert lstm.g(torch.tensor(50.0)) == 2 and lstm.h(torch.tensor(-50.0)) == -1


def test_truncated_gradient_flows_only_through_the_carousel():
    """With the paper's truncation, d s_c(T) / d x(1) is the first write's derivative, for every T."""
    torch.manual_seed(3)
    cell = lstm.LSTM1997Cell(2, 6, truncated=True).double()
    x = torch.rand(4, 60, 2, dtype=torch.double, requires_grad=True)
    cells = lstm.Recurrent(cell)(x)[2]
    first = torch.autograd.grad(cells[:, 0].sum(), x, retain_graph=True)[0]
    for T in (2, 10, 60):
        later = torch.autograd.grad(cells[:, T - 1].sum(), x, retain_graph=True)[0]
        torch.testing.assert_close(later[:, 0], first[:, 0])
    full = lstm.LSTM1997Cell(2, 6).double()
    full.load_state_dict(cell.state_dict())
    cells = lstm.Recurrent(full)(x)[2]
    later = torch.autograd.grad(cells[:, 59].sum(), x)[0]
    assert not torch.allclose(later[:, 0], first[:, 0])   # the full gradient has more paths


def test_last_step_reads_the_last_output():
    torch.manual_seed(4)
    rnn = nn.RNN(2, 5, batch_first=True)
    model = lstm.LastStep(rnn, 5)
    x = torch.randn(3, 9, 2)
    torch.testing.assert_close(model(x), model.readout(rnn(x)[0][:, -1]).squeeze(-1))
    assert model(x).shape == (3,)
