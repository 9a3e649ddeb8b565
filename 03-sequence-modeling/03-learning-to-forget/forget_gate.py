"""Learning to forget: the helper module of forget_gate.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.data import sequences
from dlhistory.topics import lstm

SYMBOLS = sequences.REBER_SYMBOLS     # "BTPSXVE"


class ForgetGateCell(nn.Module):
    """One time step of memory cells with input, forget and output gates, (F1)-(F3), each cell
    with its own gates, and the 1997 paper's squashing functions g and h by default:

        net_in, net_phi, net_c, net_out = W x(t) + U y_c(t-1) + b             (F1 and the 1997 nets)
        s_c(t) = y_phi s_c(t-1) + y_in g(net_c)                               (F2)
        y_c(t) = y_out h(s_c(t))                                              (F3)

    Rows in torch's order (i, f, g, o), so that with g = h = tanh the parameters load straight
    into the lstm topic's LSTMCell. forget_bias starts the forget gate open."""

    def __init__(self, input_size, hidden_size, g=lstm.g, h=lstm.h, forget_bias=1.0):
        super().__init__()
        self.hidden_size, self.g, self.h = hidden_size, g, h
        self.W = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.U = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(4 * hidden_size))
        for p in self.parameters():   # as lstm.LSTMCell: U(-1/sqrt(H), 1/sqrt(H))
            nn.init.uniform_(p, -hidden_size ** -0.5, hidden_size ** -0.5)
        with torch.no_grad():
            self.b[hidden_size:2 * hidden_size] += forget_bias

    def gates(self, x, y_c):
        """(y_in, y_phi, g(net_c), y_out), each [B, H]."""
        net_in, net_phi, net_c, net_out = (x @ self.W.T + y_c @ self.U.T + self.b).chunk(4, dim=1)
        return torch.sigmoid(net_in), torch.sigmoid(net_phi), self.g(net_c), torch.sigmoid(net_out)   # (F1)

    def forward(self, x, state):
        """state = (y_c(t-1), s_c(t-1)); returns (y_c(t), s_c(t))."""
        y_c, s_c = state
        y_in, y_phi, g_c, y_out = self.gates(x, y_c)
        s_c = y_phi * s_c + y_in * g_c          # (F2): the carousel's weight 1 is now y_phi
        return y_out * self.h(s_c), s_c         # (F3)


class ReberPredictor(nn.Module):
    """Memory cells (any cell with the lstm topic's interface) read the stream one symbol at a
    time, one-hot; 7 outputs, one per symbol, say which symbols may come next (logits: a
    symbol is predicted allowed where its output's sigmoid exceeds 0.5)."""

    def __init__(self, cell):
        super().__init__()
        self.recurrent = lstm.Recurrent(cell)
        self.readout = nn.Linear(cell.hidden_size, len(SYMBOLS))

    def forward(self, symbols, state=None):
        """symbols [B, T] int64 -> logits [B, T, 7], the last state, cell states [B, T, H]."""
        outputs, state, cells = self.recurrent(F.one_hot(symbols, len(SYMBOLS)).float(), state)
        return self.readout(outputs), state, cells


def wrong(logits, legal):
    """[B, T] bool: the prediction at a step is wrong when any output is on the wrong side of 0.5."""
    return ((logits > 0) != (legal > 0.5)).any(-1)


@torch.no_grad()
def run_stream(net, symbols, legal, state=None, chunk=1000):
    """Feed one stream (symbols [L], legal [L, 7]) to `net`, from the zero state (a reset, as in
    the paper's tests) unless `state` is given: returns the errors [L] (bool) and the largest
    |s_c| over the cells at each step [L]."""
    net.eval()
    errors, largest = [], []
    for start in range(0, len(symbols), chunk):
        logits, state, cells = net(symbols[None, start:start + chunk], state)
        errors.append(wrong(logits, legal[None, start:start + chunk])[0])
        largest.append(cells[0].abs().amax(-1))
    return torch.cat(errors), torch.cat(largest)


def first_error(errors):
    """How many symbols were predicted before the first error (all of them if none)."""
    where = errors.nonzero()
    return where[0].item() if len(where) else len(errors)
