"""Backpropagation: the helper module of dnn.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn


def sigmoid(net):
    """The forward equation's logistic squashing function."""
    return 1 / (1 + torch.exp(-net))


class MLP(nn.Module):
    """Layered logistic units with hand-computed gradients. sizes: units per layer, input first.
    output: "sigmoid" (the chapter: squared error) or "softmax" (cross-entropy; not in the chapter)."""

    def __init__(self, sizes, output="sigmoid", generator=None):
        super().__init__()
        self.output = output
        # random weights break the symmetry between hidden units; 1/sqrt(fan-in) keeps net inputs sloped
        self.W = nn.ParameterList(
            nn.Parameter(torch.randn(n_out, n_in, generator=generator) / n_in ** 0.5, requires_grad=False)
            for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        self.theta = nn.ParameterList(nn.Parameter(torch.zeros(n_out), requires_grad=False) for n_out in sizes[1:])

    def forward(self, x):
        """The forward equation layer by layer; keeps every layer's output o for the backward pass."""
        self.o = [x]  # o[0]: inputs [B, n_0]; o[l]: layer l's outputs [B, n_l]
        for l, (W, theta) in enumerate(zip(self.W, self.theta)):
            net = self.o[-1] @ W.T + theta
            last = l == len(self.W) - 1
            self.o.append(torch.softmax(net, dim=1) if last and self.output == "softmax" else sigmoid(net))
        return self.o[-1]

    def loss(self, t):
        """The error equation (squared error) or cross-entropy, averaged over the batch."""
        o = self.o[-1]
        if self.output == "softmax":
            return -(t * torch.log(o.clamp_min(1e-12))).sum(1).mean()
        return 0.5 * ((t - o) ** 2).sum(1).mean()

    def backward(self, t):
        """Set each parameter's .grad to d(mean loss)/d(parameter); see generalized_delta_rule."""
        generalized_delta_rule(self, t)


def generalized_delta_rule(net, t):
    """After net(x): set each parameter's .grad to d(mean loss)/d(parameter), layer by layer, top down."""
    o, batch = net.o, t.shape[0]
    y = o[-1]
    delta = (y - t) if net.output == "softmax" else (y - t) * y * (1 - y)   # softmax δ / output δ
    for l in reversed(range(len(net.W))):
        net.W[l].grad = delta.T @ o[l] / batch           # dE/dw_ji = delta_j * o_i, batch mean
        net.theta[l].grad = delta.mean(0)
        if l > 0:
            delta = (delta @ net.W[l]) * o[l] * (1 - o[l])  # hidden δ: send delta back through W


class DeltaRule(torch.optim.Optimizer):
    """The momentum equation: dw(n+1) = -lr * dE/dw + momentum * dw(n); w += dw(n+1)."""

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
    """A training step: forward, hand-written backward, the momentum update. `fit` counts its
    FLOPs; a hand-written loop wraps it in `dlhistory.train.counted`."""
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
