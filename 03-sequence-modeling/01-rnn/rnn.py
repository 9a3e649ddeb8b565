"""Recurrent networks (RTRL): the helper module of rnn.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
import torch.nn.functional as F
from torch import nn


def init_weights(n_units, n_inputs, runs=1, scale=0.1, generator=None):
    """Weights w_kl of `runs` independent fully recurrent nets, [runs, n, m + n], float64:
    row k feeds unit k from the m input lines (columns 0..m-1) and the n units (m..m+n-1),
    uniform in [-scale, scale]."""
    W = torch.rand(runs, n_units, n_inputs + n_units, dtype=torch.float64, generator=generator)
    return scale * (2 * W - 1)


def network_step(W, x, y):
    """(Z) z(t) = [x(t), y(t)]; (S) s(t) = W z(t), y(t+1) = f(s(t)), f the logistic.
    x [R, m], y [R, n] -> z(t) [R, m + n], y(t+1) [R, n]."""
    z = torch.cat([x, y], -1)
    s = torch.einsum('rkl,rl->rk', W, z)
    return z, torch.sigmoid(s)


def sensitivity_step(W, z, y_next, p):
    """(P): p^k_ij(t+1) = f'(s_k(t)) [sum_{l in U} w_kl p^l_ij(t) + delta_ik z_j(t)], with the
    logistic's f'(s_k(t)) = y_k(t+1) (1 - y_k(t+1)). p [R, n, n, m + n], index (k, i, j)."""
    n = W.shape[1]
    m = z.shape[-1] - n
    recurrent = torch.einsum('rkl,rlij->rkij', W[:, :, m:], p)                      # units only
    direct = torch.eye(n, dtype=W.dtype)[None, :, :, None] * z[:, None, None, :]   # delta_ik z_j(t)
    return (y_next * (1 - y_next))[:, :, None, None] * (recurrent + direct)


def rtrl(W, x, d, mask, alpha=0.0, teacher_forcing=False):
    """Run R nets over a stream with real-time recurrent learning.

    x [T, R, m] inputs (a bias line among them); d, mask [T, R, n]: d[t] is the target of y(t+1),
    the output after reading x[t]; mask[t] marks the units in T(t+1). alpha > 0 changes the weights
    at every step (real time); alpha = 0 only sums. Returns the outputs y(1..T) [T, R, n], the
    summed -dJ/dW [R, n, m + n] (at fixed weights: -dJ_total/dW) and the final weights."""
    R, n = W.shape[:2]
    W = W.clone()
    y = torch.zeros(R, n, dtype=W.dtype)                       # y(t0) = 0
    p = torch.zeros(R, n, n, x.shape[-1] + n, dtype=W.dtype)   # (P) p^k_ij(t0) = 0
    descent, outputs = torch.zeros_like(W), []
    for t in range(x.shape[0]):
        z, y = network_step(W, x[t], y)
        p = sensitivity_step(W, z, y, p)                       # uses the weights of this step
        e = mask[t] * (d[t] - y)                               # (E)
        step = torch.einsum('rk,rkij->rij', e, p)              # (G): -dJ(t+1)/dw_ij
        descent += step
        if alpha:
            W += alpha * step                                  # (ΔW), applied now
        outputs.append(y)
        if teacher_forcing:                                    # (TF): targets replace outputs,
            y = torch.where(mask[t].bool(), d[t], y)
            p = p * (1 - mask[t])[:, :, None, None]            # and depend on no weight
    return torch.stack(outputs), descent, W


def unrolled_loss(W, x, d, mask, teacher_forcing=False):
    """(J): J_total of the nets W [R, n, m + n] over the stream (shapes as in `rtrl`), as one
    autograd graph: its gradient is BPTT's."""
    y = torch.zeros(W.shape[0], W.shape[1], dtype=W.dtype)
    J = 0
    for t in range(x.shape[0]):
        _, y = network_step(W, x[t], y)
        J = J + 0.5 * ((mask[t] * (d[t] - y)) ** 2).sum()
        if teacher_forcing:
            y = torch.where(mask[t].bool(), d[t], y)
    return J


def pipelined_xor(steps, runs=1, delay=2, generator=None):
    """Two random bits and a bias line; unit 0's target at time t is the XOR of the bits of time
    t - delay. Returns x [steps, runs, 3], d and mask [steps, runs, 1] (unit 0 only)."""
    bits = torch.randint(0, 2, (steps, runs, 2), generator=generator).double()
    x = torch.cat([bits, torch.ones(steps, runs, 1, dtype=torch.float64)], -1)
    xor = (bits[..., 0] != bits[..., 1]).double()
    d = torch.zeros(steps, runs, 1, dtype=torch.float64)
    mask = torch.zeros_like(d)
    d[delay - 1:, :, 0] = xor[:steps - delay + 1]   # d[t] is the target of y(t+1): XOR of x(t+1-delay)
    mask[delay - 1:] = 1
    return x, d, mask


def sequence_recognition(steps, runs=1, rate=0.2, generator=None):
    """Two input lines a and b (each on with probability `rate` at a step, never both) and a bias
    line; unit 0 must answer 1 at the step after a b that follows an a with no b in between, else 0:
    it must hold "an a came" for as long as it takes. Shapes as in `pipelined_xor`."""
    u = torch.rand(steps, runs, generator=generator, dtype=torch.float64)
    a, b = (u < rate).double(), ((u >= rate) & (u < 2 * rate)).double()
    x = torch.stack([a, b, torch.ones_like(a)], -1)
    d = torch.zeros(steps, runs, 1, dtype=torch.float64)
    armed = torch.zeros(runs, dtype=torch.bool)      # an a has come since the last b
    for t in range(steps):
        d[t, :, 0] = (b[t].bool() & armed).double()
        armed = (armed | a[t].bool()) & ~b[t].bool()
    return x, d, torch.ones_like(d)


def truncated_bptt(W, x, d, mask, h, alpha, teacher_forcing=False):
    """Train the nets W by truncated BPTT over the stream (shapes as in `rtrl`): chunks of h steps,
    the state carried from chunk to chunk but detached, each chunk's errors back-propagated to its
    start and its summed gradient applied with learning rate alpha. Returns outputs and weights."""
    W = W.clone()
    y = torch.zeros(W.shape[0], W.shape[1], dtype=W.dtype)
    outputs = []
    for start in range(0, x.shape[0], h):
        W_graph, y = W.clone().requires_grad_(), y.detach()
        J = 0
        for t in range(start, min(start + h, x.shape[0])):
            _, y = network_step(W_graph, x[t], y)
            J = J + 0.5 * ((mask[t] * (d[t] - y)) ** 2).sum()
            outputs.append(y.detach())
            if teacher_forcing:
                y = torch.where(mask[t].bool(), d[t], y)
        (gradient,) = torch.autograd.grad(J, W_graph)
        W -= alpha * gradient
    return torch.stack(outputs), W


class ElmanCell(nn.Module):
    """h(t) = tanh(W_ih x(t) + b_ih + W_hh h(t-1) + b_hh), named and initialized as nn.RNNCell
    (uniform in +-1/sqrt(hidden_size))."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        bound = hidden_size ** -0.5
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    def forward(self, x, h):
        return torch.tanh(x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh)


class CharRNN(nn.Module):
    """Next-character model: an embedding, the Elman cell unrolled over time, a linear read-out."""

    def __init__(self, vocab_size, hidden_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden_size)
        self.cell = ElmanCell(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, h=None):
        """idx [B, L] (and the state h [B, H] to start from) -> logits [B, L, V], states [B, L, H]."""
        x = self.embed(idx)
        h = x.new_zeros(idx.shape[0], self.cell.weight_hh.shape[0]) if h is None else h
        states = []
        for t in range(idx.shape[1]):
            h = self.cell(x[:, t], h)
            states.append(h)
        states = torch.stack(states, 1)
        return self.out(states), states


class StreamBatches:
    """Truncated BPTT's batches of a token stream ids [N]: batch_size contiguous rows, read in
    order in windows of `length`, each row continuing the same row of the last batch.
    Iterating yields (inputs [B, length], targets [B, length]); it can be iterated again."""

    def __init__(self, ids, batch_size, length):
        n = (len(ids) - 1) // batch_size
        self.x = ids[:n * batch_size].view(batch_size, n)
        self.y = ids[1:n * batch_size + 1].view(batch_size, n)
        self.length = length

    def __len__(self):
        return self.x.shape[1] // self.length

    def __iter__(self):
        for start in range(0, len(self) * self.length, self.length):
            yield self.x[:, start:start + self.length], self.y[:, start:start + self.length]


def bigram_loss(train_ids, val_ids, vocab_size, smoothing=1.0):
    """Cross-entropy (nats per character) on val_ids of the bigram model P(c' | c) estimated from
    the counts of train_ids with add-`smoothing` smoothing."""
    counts = torch.full((vocab_size, vocab_size), smoothing, dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1, dtype=torch.float64),
                      accumulate=True)
    log_p = (counts / counts.sum(1, keepdim=True)).log()
    return -log_p[val_ids[:-1], val_ids[1:]].mean().item()


def state_jacobians(W_hh, states, activation="tanh"):
    """One-step Jacobians dh(t)/dh(t-1) = diag(f'(a(t))) W_hh from the states h(t) [L, H] of a run:
    tanh' = 1 - h^2, logistic' = h (1 - h). Returns [L, H, H]."""
    slope = 1 - states ** 2 if activation == "tanh" else states * (1 - states)
    return slope[:, :, None] * W_hh[None]


def gradient_norms_by_lag(jacobians):
    """The spectral norms || dh(T)/dh(T-k) ||_2 for k = 1..L: products of the last k Jacobians [L, H, H]."""
    product = torch.eye(jacobians.shape[-1], dtype=jacobians.dtype)
    norms = []
    for jacobian in jacobians.flip(0):
        product = product @ jacobian
        norms.append(torch.linalg.matrix_norm(product, ord=2))
    return torch.stack(norms)
