"""Backpropagation: the helper module of dnn.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn


def sigmoid(net):
    """Eq. 1's logistic squashing function."""
    return 1 / (1 + torch.exp(-net))


class MLP(nn.Module):
    """A layered network of logistic units whose gradients are computed by hand (eqs. 1-6).

    sizes: units per layer, input first, e.g. [784, 256, 10].
    output: "sigmoid" (the paper: logistic outputs, squared error, eq. 2) or
            "softmax" (softmax outputs, cross-entropy, eq. 6).
    """

    def __init__(self, sizes, output="sigmoid", generator=None):
        super().__init__()
        self.output = output
        # Small random weights break the symmetry between hidden units (the paper's point:
        # units that start equal get equal error signals and stay equal). Scaling by
        # 1/sqrt(fan-in) keeps net inputs near the logistic's sloped middle.
        self.W = nn.ParameterList(
            nn.Parameter(torch.randn(n_out, n_in, generator=generator) / n_in ** 0.5, requires_grad=False)
            for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        self.theta = nn.ParameterList(nn.Parameter(torch.zeros(n_out), requires_grad=False) for n_out in sizes[1:])

    def forward(self, x):
        """Eq. 1 layer by layer; keeps every layer's output o for the backward pass."""
        self.o = [x]  # o[0]: inputs [B, n_0]; o[l]: layer l's outputs [B, n_l]
        last = len(self.W) - 1
        for l, (W, theta) in enumerate(zip(self.W, self.theta)):
            net = self.o[-1] @ W.T + theta
            self.o.append(torch.softmax(net, dim=1) if l == last and self.output == "softmax" else sigmoid(net))
        return self.o[-1]

    def loss(self, t):
        """Eq. 2 (squared error) or cross-entropy, averaged over the batch."""
        o = self.o[-1]
        if self.output == "softmax":
            return -(t * torch.log(o.clamp_min(1e-12))).sum(1).mean()
        return 0.5 * ((t - o) ** 2).sum(1).mean()

    def backward(self, t):
        """Set each parameter's .grad to d(mean loss)/d(parameter), by the generalized delta rule."""
        o, batch = self.o, t.shape[0]
        y = o[-1]
        # Output error signal: eq. 3 (logistic slope y(1-y)) or eq. 6 (softmax + cross-entropy).
        delta = (y - t) if self.output == "softmax" else (y - t) * y * (1 - y)   # [B, n_L]
        for l in reversed(range(len(self.W))):
            self.W[l].grad = delta.T @ o[l] / batch           # dE/dw_ji = delta_j * o_i, batch mean
            self.theta[l].grad = delta.mean(0)
            if l > 0:
                delta = (delta @ self.W[l]) * o[l] * (1 - o[l])  # eq. 4: send delta back through W


class DeltaRule(torch.optim.Optimizer):
    """Eq. 5: dw(n+1) = -lr * dE/dw + momentum * dw(n); w += dw(n+1)."""

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for w in group["params"]:
                previous = self.state[w].get("dw", torch.zeros_like(w))
                dw = -group["lr"] * w.grad + group["momentum"] * previous
                w.add_(dw)
                self.state[w]["dw"] = dw


def delta_rule_step(net, optimizer):
    """A training step for dlhistory.train.fit: forward, hand-written backward, eq. 5."""
    def step(batch):
        x, t = batch
        net(x)
        loss = net.loss(t)
        net.backward(t)
        optimizer.step()
        return {"loss": loss.item()}
    return step


def autograd_gradients(net, x, t):
    """The same network and loss, differentiated by torch.autograd, for comparison."""
    params = [p.detach().clone().requires_grad_() for p in net.parameters()]
    layers = len(params) // 2
    Ws, thetas = params[:layers], params[layers:]
    h = x
    for l, (W, theta) in enumerate(zip(Ws, thetas)):
        net_in = h @ W.T + theta
        h = torch.softmax(net_in, 1) if l == layers - 1 and net.output == "softmax" else torch.sigmoid(net_in)
    loss = -(t * torch.log(h)).sum(1).mean() if net.output == "softmax" else 0.5 * ((t - h) ** 2).sum(1).mean()
    return torch.autograd.grad(loss, params)


def max_gradient_error(net, x, t):
    """Largest absolute difference between our backward pass and autograd's."""
    net(x)
    net.backward(t)
    return max((p.grad - g).abs().max().item() for p, g in zip(net.parameters(), autograd_gradients(net, x, t)))
