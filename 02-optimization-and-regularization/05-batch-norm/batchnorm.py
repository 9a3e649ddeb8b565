"""Batch normalization: the helper module of batchnorm.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch
from torch import nn


class BatchNormTransform(torch.autograd.Function):
    """Algorithm 1 on x [m, d]: each of the d features normalized over the m examples of the
    mini-batch, lines (B1)-(B4); the backward pass is Section 3's chain rule, (G1)-(G6)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        m = x.shape[0]
        mu = x.sum(0) / m                          # (B1) mini-batch mean
        var = ((x - mu) ** 2).sum(0) / m           # (B2) mini-batch variance, divided by m
        x_hat = (x - mu) / torch.sqrt(var + eps)   # (B3) normalize
        y = gamma * x_hat + beta                   # (B4) scale and shift
        ctx.mark_non_differentiable(mu, var)       # returned for the running statistics only
        ctx.save_for_backward(x, gamma, mu, var)
        ctx.eps = eps
        return y, mu, var

    @staticmethod
    def backward(ctx, dl_dy, _, __):
        x, gamma, mu, var = ctx.saved_tensors
        m, inv_std = x.shape[0], 1 / torch.sqrt(var + ctx.eps)
        dl_dx_hat = dl_dy * gamma                                                     # (G1)
        dl_dvar = (dl_dx_hat * (x - mu)).sum(0) * -0.5 * inv_std ** 3                 # (G2)
        dl_dmu = -(dl_dx_hat * inv_std).sum(0) + dl_dvar * (-2 * (x - mu)).sum(0) / m  # (G3)
        dl_dx = dl_dx_hat * inv_std + dl_dvar * 2 * (x - mu) / m + dl_dmu / m         # (G4)
        dl_dgamma = (dl_dy * (x - mu) * inv_std).sum(0)                               # (G5)
        dl_dbeta = dl_dy.sum(0)                                                       # (G6)
        return dl_dx, dl_dgamma, dl_dbeta, None


class BatchNorm(nn.Module):
    """Batch normalization of the C features of x [N, C] or channels of x [N, C, *spatial]
    (Section 3.2: statistics over the batch and all positions, one gamma and beta per channel).
    Training: Algorithm 1, tracking E[x] and Var[x]; eval: Algorithm 2's fixed affine map.
    momentum=None averages all mini-batches equally (Algorithm 2's population statistics);
    a number keeps an exponential moving average instead, torch's default."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0))

    @torch.no_grad()
    def track(self, mu, var, m):
        """E[x] <- average of mu_B, Var[x] <- average of m/(m-1) sigma_B^2 (Algorithm 2)."""
        self.num_batches_tracked += 1
        rate = 1 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
        self.running_mean.lerp_(mu, rate)
        self.running_var.lerp_(var * m / (m - 1), rate)

    def forward(self, x):
        features = x.movedim(1, -1)                       # [N, *spatial, C]
        flat = features.reshape(-1, features.shape[-1])   # [m, C], m = N x positions
        if self.training:
            y, mu, var = BatchNormTransform.apply(flat, self.gamma, self.beta, self.eps)
            self.track(mu, var, flat.shape[0])
        else:  # Algorithm 2, inference: y = gamma / sqrt(Var + eps) x + (beta - gamma E / sqrt(Var + eps))
            scale = self.gamma / torch.sqrt(self.running_var + self.eps)
            y = scale * flat + (self.beta - scale * self.running_mean)
        return y.reshape(features.shape).movedim(-1, 1)


@torch.no_grad()
def population_statistics(model, batches):
    """Algorithm 2, after training: set every BatchNorm's E[x] and Var[x] to the plain average
    over the training mini-batches `batches` (of (x, ...) tuples), the weights left unchanged."""
    norms = [module for module in model.modules() if isinstance(module, BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.momentum = None
        norm.num_batches_tracked.zero_()
    model.train()
    for x, *_ in batches:
        model(x)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.eval()


def sigmoid_mlp(batch_norm, hidden=100, layers=3, inputs=784, classes=10):
    """Section 4.1's net: `layers` fully connected sigmoid layers of `hidden` units, then a linear
    layer for the cross-entropy. With batch_norm each hidden layer is z = g(BN(Wu)) (Section 3.2):
    no bias b, whose role beta takes. Weights Gaussian with std 1/sqrt(fan-in), biases zero."""
    blocks, width = [], inputs
    for _ in range(layers):
        linear = nn.Linear(width, hidden, bias=not batch_norm)
        nn.init.normal_(linear.weight, std=width ** -0.5)
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)
        blocks += [linear, BatchNorm(hidden), nn.Sigmoid()] if batch_norm else [linear, nn.Sigmoid()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, classes))
