"""Adam: the helper module of adam.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import torch


class Adam(torch.optim.Optimizer):
    """Algorithm 1 of Kingma and Ba: lines (A1)-(A5) of the notebook, elementwise per parameter."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False, bias_correction=True):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled=decoupled, bias_correction=bias_correction))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            alpha, (beta1, beta2), eps, lam = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = theta.grad
                if lam and group["decoupled"]:
                    theta.mul_(1 - alpha * lam)      # AdamW: decay outside the adaptive step
                elif lam:
                    g = g + lam * theta              # L2 in the loss: rescaled by sqrt(v) below
                state = self.state[theta]
                if not state:
                    state.update(t=0, m=torch.zeros_like(theta), v=torch.zeros_like(theta))
                state["t"] += 1
                t, m, v = state["t"], state["m"], state["v"]
                m.mul_(beta1).add_((1 - beta1) * g)          # (A1)
                v.mul_(beta2).add_((1 - beta2) * g * g)      # (A2)
                if group["bias_correction"]:
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)  # (A3), (A4)
                else:
                    m_hat, v_hat = m, v
                theta.sub_(alpha * m_hat / (v_hat.sqrt() + eps))  # (A5)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter 2017), torch.optim.AdamW's defaults."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled=True)


class AdaMax(torch.optim.Optimizer):
    """Algorithm 2 of Kingma and Ba: the infinity-norm variant of Adam."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            alpha, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = theta.grad
                state = self.state[theta]
                if not state:
                    state.update(t=0, m=torch.zeros_like(theta), u=torch.zeros_like(theta))
                state["t"] += 1
                m = state["m"] = beta1 * state["m"] + (1 - beta1) * g            # as (A1)
                u = state["u"] = torch.maximum(beta2 * state["u"], g.abs() + eps)  # the infinity norm
                theta.sub_(alpha / (1 - beta1 ** state["t"]) * m / u)  # only m needs bias correction


from dlhistory.topics.weight_decay import SGD  # heavy-ball momentum and Nesterov, the weight-decay topic's


class AdaGrad(torch.optim.Optimizer):
    """Duchi et al. 2011: divide by the root of the sum of all past squared gradients."""

    def __init__(self, params, lr=1e-2, eps=1e-10):
        super().__init__(params, dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = theta.grad
                state = self.state[theta]
                G = state["G"] = state.get("G", torch.zeros_like(theta)) + g * g
                theta.sub_(group["lr"] * g / (G.sqrt() + group["eps"]))


class RMSProp(torch.optim.Optimizer):
    """Tieleman and Hinton 2012: divide by the root of a running average of squared gradients."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            rho = group["alpha"]
            for theta in group["params"]:
                if theta.grad is None:
                    continue
                g = theta.grad
                state = self.state[theta]
                v = state["v"] = rho * state.get("v", torch.zeros_like(theta)) + (1 - rho) * g * g
                theta.sub_(group["lr"] * g / (v.sqrt() + group["eps"]))
