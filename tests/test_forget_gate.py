"""Learning to forget: the helper module forget_gate.py against torch's nn.LSTMCell and the lstm
topic's cells, forward and gradients, on several shapes; the continual stream against
dlhistory's generator; the test helpers."""
import pytest
import torch
from torch import nn

from dlhistory.data import sequences
from dlhistory.topics import forget_gate, lstm

SHAPES = [(3, 7, 8, 12), (1, 2, 5, 4), (16, 7, 32, 20), (2, 3, 1, 1)]   # batch, inputs, hidden, steps


def unroll(cell, x):
    zero = torch.zeros(x.shape[1], cell.hidden_size, dtype=x.dtype)
    state, states = (zero, zero), []
    for t in range(x.shape[0]):
        state = cell(x[t], state)
        states.append(state)
    return states


@pytest.mark.parametrize("batch,inputs,hidden,steps", SHAPES)
def test_tanh_forget_gate_cell_is_nn_lstmcell(batch, inputs, hidden, steps):
    torch.manual_seed(0)
    ours = forget_gate.ForgetGateCell(inputs, hidden, g=torch.tanh, h=torch.tanh, forget_bias=0.5).double()
    reference = nn.LSTMCell(inputs, hidden).double()
    modern = lstm.LSTMCell(inputs, hidden).double()
    modern.load_state_dict(ours.state_dict())
    with torch.no_grad():
        reference.weight_ih.copy_(ours.W), reference.weight_hh.copy_(ours.U)
        reference.bias_ih.copy_(ours.b), reference.bias_hh.zero_()
    x = torch.randn(steps, batch, inputs, dtype=torch.double)
    for cell in (reference, modern):
        for (h, c), (h_ref, c_ref) in zip(unroll(ours, x), unroll(cell, x)):
            torch.testing.assert_close(h, h_ref)
            torch.testing.assert_close(c, c_ref)
    ours_last, ref_last = unroll(ours, x)[-1], unroll(reference, x)[-1]
    (ours_last[0].sum() + (ours_last[1] ** 2).sum()).backward()
    (ref_last[0].sum() + (ref_last[1] ** 2).sum()).backward()
    torch.testing.assert_close(ours.W.grad, reference.weight_ih.grad)
    torch.testing.assert_close(ours.U.grad, reference.weight_hh.grad)
    torch.testing.assert_close(ours.b.grad, reference.bias_ih.grad)


@pytest.mark.parametrize("batch,inputs,hidden,steps", SHAPES)
def test_open_forget_gate_is_the_1997_cell(batch, inputs, hidden, steps):
    torch.manual_seed(1)
    cell97 = lstm.LSTM1997Cell(inputs, hidden).double()
    ours = forget_gate.ForgetGateCell(inputs, hidden).double()
    with torch.no_grad():
        for mine, theirs in ((ours.W, cell97.W), (ours.U, cell97.U), (ours.b, cell97.b)):
            w_in, w_c, w_out = theirs.chunk(3)
            w_phi = torch.full_like(w_in, 50.0) if mine.ndim == 1 else torch.zeros_like(w_in)
            mine.copy_(torch.cat([w_in, w_phi, w_c, w_out]))
    x = torch.randn(steps, batch, inputs, dtype=torch.double)
    ours_states, states97 = unroll(ours, x), unroll(cell97, x)
    for a, b in zip(ours_states, states97):
        torch.testing.assert_close(a, b)
    (ours_states[-1][0].sum() + ours_states[-1][1].sum()).backward()
    (states97[-1][0].sum() + states97[-1][1].sum()).backward()
    for k, row in ((0, 0), (1, 2), (2, 3)):
        torch.testing.assert_close(ours.U.grad.chunk(4)[row], cell97.U.grad.chunk(3)[k])
        torch.testing.assert_close(ours.W.grad.chunk(4)[row], cell97.W.grad.chunk(3)[k])


def test_closed_forget_gate_forgets():
    """y_phi = 0: the state holds only the current write, s_c(t) = y_in g(net_c)."""
    torch.manual_seed(2)
    cell = forget_gate.ForgetGateCell(3, 4).double()
    with torch.no_grad():
        cell.W[4:8], cell.U[4:8], cell.b[4:8] = 0.0, 0.0, -50.0
    x = torch.randn(2, 3, dtype=torch.double)
    state = (torch.randn(2, 4, dtype=torch.double), 100 * torch.randn(2, 4, dtype=torch.double))
    y_in, y_phi, g_c, y_out = cell.gates(x, state[0])
    torch.testing.assert_close(cell(x, state)[1], y_in * g_c)


def test_run_stream_and_first_error():
    torch.manual_seed(3)
    net = forget_gate.ReberPredictor(forget_gate.ForgetGateCell(7, 4))
    symbols, legal = sequences.reber_stream(30, seed=1)
    errors, largest = forget_gate.run_stream(net, symbols, legal, chunk=7)
    logits, _, cells = net(symbols[None])
    torch.testing.assert_close(errors, forget_gate.wrong(logits, legal[None])[0])
    torch.testing.assert_close(largest, cells[0].abs().amax(-1))
    assert forget_gate.first_error(torch.tensor([False, False, True, False])) == 2
    assert forget_gate.first_error(torch.zeros(5, dtype=torch.bool)) == 5
