"""LSTM: the helper module of lstm.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn


def g(x):
    """The memory cell's input squashing of the 1997 experiments: a logistic sigmoid stretched
    to [-2, 2], 4 sigma(x) - 2 (= 2 tanh(x/2))."""
    return 4 * torch.sigmoid(x) - 2


def h(x):
    """The memory cell's output squashing of the 1997 experiments: a logistic sigmoid centred
    on [-1, 1], 2 sigma(x) - 1 (= tanh(x/2))."""
    return 2 * torch.sigmoid(x) - 1


class LSTM1997Cell(nn.Module):
    """One time step of `hidden_size` memory cells of Section 4, each with its own input gate
    and output gate (memory cell blocks of size 1), and no forget gate:

        net_in, net_c, net_out = W x(t) + U y_c(t-1) + b       (L1)
        y_in = sigma(net_in),  y_out = sigma(net_out)           (L2)
        s_c(t) = s_c(t-1) + y_in g(net_c)                       (L3, the constant error carousel)
        y_c(t) = y_out h(s_c(t))                                (L4)

    truncated=True is the paper's learning rule (Section 4, Appendix A): the error reaching the
    net inputs is not sent further back in time through y_c(t-1), so it flows back only
    through the carousel s_c. The squashing functions g and h can be swapped (torch.tanh
    for both gives the modern cell with its forget gate held open)."""

    def __init__(self, input_size, hidden_size, g=g, h=h, truncated=False):
        super().__init__()
        self.hidden_size, self.g, self.h, self.truncated = hidden_size, g, h, truncated
        self.W = nn.Parameter(torch.empty(3 * hidden_size, input_size))   # rows: in, c, out
        self.U = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(3 * hidden_size))
        for p in self.parameters():   # torch's recurrent initialization, U(-1/sqrt(H), 1/sqrt(H))
            nn.init.uniform_(p, -hidden_size ** -0.5, hidden_size ** -0.5)

    def gates(self, x, y_c):
        """(y_in, g(net_c), y_out) for input x [B, I] and the cells' previous outputs y_c [B, H]."""
        if self.truncated:
            y_c = y_c.detach()
        net_in, net_c, net_out = (x @ self.W.T + y_c @ self.U.T + self.b).chunk(3, dim=1)   # (L1)
        return torch.sigmoid(net_in), self.g(net_c), torch.sigmoid(net_out)                 # (L2)

    def forward(self, x, state):
        """state = (y_c(t-1), s_c(t-1)), each [B, H]; returns (y_c(t), s_c(t))."""
        y_c, s_c = state
        y_in, g_c, y_out = self.gates(x, y_c)
        s_c = s_c + y_in * g_c                # (L3): the carousel adds, never rescales
        return y_out * self.h(s_c), s_c       # (L4)


class LSTMCell(nn.Module):
    """One time step of the LSTM cell as it is used today, with the forget gate of Gers et al.
    (2000) and tanh squashing, in torch's layout (rows i, f, g, o; one bias):

        i, f, g, o = sigma, sigma, tanh, sigma (W x_t + U h_{t-1} + b)     (M1)
        c_t = f * c_{t-1} + i * g                                          (M2)
        h_t = o * tanh(c_t)                                                (M3)

    forget_bias is added to the forget gate's bias at initialization (0: torch's default)."""

    def __init__(self, input_size, hidden_size, forget_bias=0.0):
        super().__init__()
        self.hidden_size = hidden_size
        self.W = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.U = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(4 * hidden_size))
        for p in self.parameters():
            nn.init.uniform_(p, -hidden_size ** -0.5, hidden_size ** -0.5)
        with torch.no_grad():
            self.b[hidden_size:2 * hidden_size] += forget_bias

    def gates(self, x, h):
        """(i, f, g, o), each [B, H], for input x [B, I] and previous output h [B, H]."""
        i, f, g, o = (x @ self.W.T + h @ self.U.T + self.b).chunk(4, dim=1)   # (M1)
        return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)

    def forward(self, x, state):
        """state = (h_{t-1}, c_{t-1}), each [B, H]; returns (h_t, c_t)."""
        h, c = state
        i, f, g, o = self.gates(x, h)
        c = f * c + i * g                     # (M2)
        return o * torch.tanh(c), c           # (M3)

    @torch.no_grad()
    def copy_from(self, torch_cell):
        """Take the weights of an nn.LSTMCell (or layer 0 of an nn.LSTM): same row order; torch
        keeps two biases, b_ih + b_hh, which only ever appear summed."""
        suffix = "" if isinstance(torch_cell, nn.LSTMCell) else "_l0"
        self.W.copy_(getattr(torch_cell, "weight_ih" + suffix))
        self.U.copy_(getattr(torch_cell, "weight_hh" + suffix))
        self.b.copy_(getattr(torch_cell, "bias_ih" + suffix) + getattr(torch_cell, "bias_hh" + suffix))
        return self


class Recurrent(nn.Module):
    """A cell run over a sequence x [B, T, I] from state zero (or `state`): returns the outputs
    [B, T, H], the last state (y_c, s_c) and the cell states of every step [B, T, H]."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state=None):
        zeros = x.new_zeros(x.shape[0], self.cell.hidden_size)
        state = state if state is not None else (zeros, zeros)
        outputs, cells = [], []
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
            outputs.append(state[0])
            cells.append(state[1])
        return torch.stack(outputs, 1), state, torch.stack(cells, 1)


class LastStep(nn.Module):
    """The adding problem's regressor: a recurrent layer (ours, or nn.RNN / nn.LSTM with
    batch_first=True) and a linear read-out of its output at the last step."""

    def __init__(self, layer, hidden_size):
        super().__init__()
        self.layer, self.readout = layer, nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.readout(self.layer(x)[0][:, -1]).squeeze(-1)


@torch.no_grad()
def open_forget_gate_twin(cell):
    """An nn.LSTMCell that computes what the 1997 `cell` computes when g = h = tanh: its i, g, o
    rows are the cell's in, c, out rows, and its forget gate is pinned open (weights 0, bias
    50: sigmoid(50) is 1 to float64 precision), so that c_t = c_{t-1} + i g, the carousel (L3)."""
    H = cell.hidden_size
    twin = nn.LSTMCell(cell.W.shape[1], H).to(cell.W)
    for ours, theirs in ((cell.W, twin.weight_ih), (cell.U, twin.weight_hh), (cell.b, twin.bias_ih)):
        w_in, w_c, w_out = ours.chunk(3)
        theirs.copy_(torch.cat([w_in, torch.zeros_like(w_in), w_c, w_out]))
    twin.bias_ih[H:2 * H] = 50.0
    twin.bias_hh.zero_()
    return twin
