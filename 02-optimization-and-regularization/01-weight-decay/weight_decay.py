"""Weight decay: the helper module of weight_decay.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch


def teacher_student(N, p, sigma2, u2=1.0, draws=1, generator=None):
    """Draw `draws` independent linear teacher-student problems (the paper's model).

    Teacher u ~ N(0, u2 I_N), so |u|^2 / N is u2 on average; inputs x ~ N(0, I_N);
    targets y = u.x / sqrt(N) + noise of variance sigma2.
    Returns X [draws, p, N], y [draws, p], u [draws, N], all float64.
    """
    kw = dict(generator=generator, dtype=torch.float64)
    u = torch.randn(draws, N, **kw) * u2 ** 0.5
    X = torch.randn(draws, p, N, **kw)
    y = (X @ u.unsqueeze(-1)).squeeze(-1) / N ** 0.5 + torch.randn(draws, p, **kw) * sigma2 ** 0.5
    return X, y, u


def decay_solution(X, y, lams):
    """Weights where gradient descent on E(w) (the decay cost) comes to rest, for each lambda.

    X [draws, p, N], y [draws, p], lams: a sequence of decay strengths.
    Returns w [len(lams), draws, N]: w* = (A + lambda I)^-1 X^T y / sqrt(N), A = X^T X / N;
    for lambda = 0 the smallest-norm minimum (directions with a_k = 0 get weight 0).
    """
    N = X.shape[-1]
    a, V = torch.linalg.eigh(X.transpose(1, 2) @ X / N)      # a [draws, N], V [draws, N, N]
    c = (V.transpose(1, 2) @ (X.transpose(1, 2) @ y.unsqueeze(-1))).squeeze(-1) / N ** 0.5
    out = []
    for lam in lams:
        shrink = 1 / (a + lam) if lam > 0 else torch.where(a > 1e-9 * a.amax(-1, keepdim=True), 1 / a, 0.0)
        out.append((V @ (shrink * c).unsqueeze(-1)).squeeze(-1))
    return torch.stack(out)


def generalization_error(w, u):
    """E_g = |w - u|^2 / N: the expected squared error on a fresh input against the teacher's
    noise-free output, for inputs of unit variance. Any leading batch dimensions."""
    return ((w - u) ** 2).mean(-1)


def response_G(alpha, lam):
    """G(alpha, lambda) = lim (1/N) tr (A + lambda I)^-1 for N -> infinity, p = alpha N (theory)."""
    b = 1 - alpha - lam
    return (b + math.sqrt(b * b + 4 * lam)) / (2 * lam)


def theory_error(alpha, lam, sigma2, u2=1.0):
    """The large-N generalization error of the linear student with decay lambda (theory);
    lambda = 0 is the limit (no decay), infinite at alpha = 1."""
    if lam == 0:
        if alpha == 1:
            return math.inf
        return u2 * (1 - alpha) + sigma2 * alpha / (1 - alpha) if alpha < 1 else sigma2 / (alpha - 1)
    G = response_G(alpha, lam)
    dG = -(G * G + G) / (2 * lam * G + alpha - 1 + lam)
    return sigma2 * G + lam * (sigma2 - lam * u2) * dG


def optimal_decay(sigma2, u2=1.0):
    """(optimum): lambda_opt = sigma^2 / u^2, for any N and p."""
    return sigma2 / u2


def l2_penalty(params, lam):
    """The decay term of E(w) as a loss: lambda/2 * sum of squared weights (decay)."""
    return lam / 2 * sum((w ** 2).sum() for w in params)


class SGD(torch.optim.Optimizer):
    """Gradient descent with the paper's weight decay (decay, SGD): each step is
    -lr * (dE_0/dw + weight_decay * w), through a heavy-ball momentum buffer if momentum > 0;
    nesterov=True looks ahead along the buffer, as torch's SGD does (the Adam topic compares it)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, lam, mu = group["lr"], group["weight_decay"], group["momentum"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                d = w.grad + lam * w                     # the gradient of E = E_0 + lambda/2 |w|^2
                if mu > 0:
                    buffer = self.state[w].get("momentum")
                    buffer = d.clone() if buffer is None else buffer.mul_(mu).add_(d)
                    self.state[w]["momentum"] = buffer
                    d = d + mu * buffer if group["nesterov"] else buffer
                w.sub_(lr * d)                           # momentum 0: w <- (1 - lr lambda) w - lr g
