"""Diffusion: the helper module diffusion.py against torch's own components and the papers' formulas."""
import math

import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import diffusion

SCHEDULES = {
    "linear": lambda: diffusion.Schedule(diffusion.linear_betas()),
    "cosine": lambda: diffusion.Schedule(diffusion.betas_from_alphas_bar(diffusion.cosine_alphas_bar())),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_closed_form_equals_iterated_forward_process(name):
    """Eq. 4 against eq. 2 iterated: mean sqrt(alpha_bar_t) x_0 and variance 1 - alpha_bar_t, exactly on the
    moments and in distribution (torch's Normal and its KL divergence)."""
    sch = SCHEDULES[name]()
    x0 = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    mean, var = x0.clone(), torch.zeros_like(x0)
    for t in range(sch.T):
        mean, var = (1 - sch.betas[t]).sqrt() * mean, (1 - sch.betas[t]) * var + sch.betas[t]
        if t in (0, 9, 499, sch.T - 1):
            ab = sch.alphas_bar[t]
            torch.testing.assert_close(mean, ab.sqrt() * x0)
            torch.testing.assert_close(var, (1 - ab).expand_as(x0))
            closed = torch.distributions.Normal(ab.sqrt() * x0, (1 - ab).sqrt().expand_as(x0))
            chain = torch.distributions.Normal(mean, var.sqrt())
            torch.testing.assert_close(torch.distributions.kl_divergence(chain, closed), torch.zeros_like(x0))


def test_closed_form_sampling_by_monte_carlo():
    """q_sample's draws and a simulated eq. 2 chain agree in mean and variance (statistically)."""
    sch, t = SCHEDULES["linear"](), 199
    g = torch.Generator().manual_seed(0)
    x0 = torch.tensor([2.0, -1.0], dtype=torch.float64).repeat(40_000, 1)
    x = x0.clone()
    for s in range(t + 1):
        x = (1 - sch.betas[s]).sqrt() * x + sch.betas[s].sqrt() * torch.randn(x.shape, generator=g, dtype=x.dtype)
    direct = diffusion.q_sample(sch, x0, torch.full((len(x0),), t),
                                torch.randn(x0.shape, generator=g, dtype=x0.dtype))
    torch.testing.assert_close(x.mean(0), direct.mean(0), atol=0.02, rtol=0)
    torch.testing.assert_close(x.var(0), direct.var(0), atol=0.02, rtol=0)


@pytest.mark.parametrize("shape", [(5, 2), (3, 1, 8, 8), (2, 3, 4, 6)])
def test_q_sample_is_normal_rsample(shape):
    """Eq. 4 with eq. 9's reparameterization: x_t = loc + scale * eps, torch's Normal, forward and gradients."""
    sch = SCHEDULES["cosine"]()
    x0 = torch.randn(shape, requires_grad=True)
    eps = torch.randn(shape)
    t = torch.randint(0, sch.T, (shape[0],))
    ab = sch.alphas_bar[t].float().view(-1, *[1] * (len(shape) - 1))
    x0_ref = x0.detach().clone().requires_grad_()
    normal = torch.distributions.Normal(ab.sqrt() * x0_ref, (1 - ab).sqrt())
    ours, ref = diffusion.q_sample(sch, x0, t, eps), normal.loc + normal.scale * eps
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(normal.log_prob(ours), normal.log_prob(ref))
    ours.square().sum().backward()
    ref.square().sum().backward()
    torch.testing.assert_close(x0.grad, x0_ref.grad)


@pytest.mark.parametrize("dim", [8, 32, 128])
def test_sinusoidal_embedding(dim):
    t = torch.tensor([0, 1, 17, 999])
    emb = diffusion.sinusoidal_embedding(t, dim)
    assert emb.shape == (4, dim)
    half = dim // 2
    expected = torch.tensor([[math.sin(s * 10_000 ** (-i / half)) for i in range(half)]
                             + [math.cos(s * 10_000 ** (-i / half)) for i in range(half)] for s in t.tolist()])
    torch.testing.assert_close(emb, expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(emb[0], torch.cat([torch.zeros(half), torch.ones(half)]))   # t = 0


def test_schedules():
    lin = diffusion.linear_betas()
    assert lin[0].item() == pytest.approx(1e-4) and lin[-1].item() == pytest.approx(0.02) and len(lin) == 1000
    T, s = 1000, 0.008
    ab = diffusion.cosine_alphas_bar(T, s)
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    torch.testing.assert_close(ab, torch.tensor([f(t) / f(0) for t in range(1, T + 1)], dtype=torch.float64))
    for name, make in SCHEDULES.items():
        sch = make()
        assert (sch.alphas_bar[1:] < sch.alphas_bar[:-1]).all(), name          # strictly decreasing
        assert 0 < sch.alphas_bar[-1] < 1e-4 and sch.alphas_bar[0] > 0.999, name
    # betas from alphas_bar give back alphas_bar by the cumulative product (below the clip)
    betas = diffusion.betas_from_alphas_bar(ab)
    torch.testing.assert_close(torch.cumprod(1 - betas, 0)[:-1], ab[:-1])
    assert betas.max().item() == pytest.approx(0.999)


@pytest.mark.parametrize("shape", [(4, 3), (2, 1, 5, 5)])
def test_reverse_mean_is_eq11(shape):
    """p_mean_var's mean (eq. 7 at x0_hat) against eq. 11 as written, and the variance against beta_tilde;
    forward and gradients with respect to eps."""
    sch = SCHEDULES["linear"]()
    xt = torch.randn(shape, dtype=torch.float64)
    eps = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    eps_ref = eps.detach().clone().requires_grad_()
    t = torch.randint(0, sch.T, (shape[0],))
    mean, var = diffusion.p_mean_var(sch, xt, t, eps)
    view = lambda v: v[t].view(-1, *[1] * (len(shape) - 1))
    a, ab, ab_prev, b = view(sch.alphas), view(sch.alphas_bar), view(sch.alphas_bar_prev), view(sch.betas)
    ref = (xt - b / (1 - ab).sqrt() * eps_ref) / a.sqrt()
    torch.testing.assert_close(mean, ref)
    torch.testing.assert_close(var, ((1 - ab_prev) / (1 - ab) * b).expand_as(var))
    mean.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(eps.grad, eps_ref.grad)


def test_posterior_is_bayes():
    """Eqs. 6-7 against Bayes' rule for Gaussians: q(x_{t-1}|x_0) q(x_t|x_{t-1}), as a product of densities in x_{t-1}."""
    sch = SCHEDULES["cosine"]()
    x0, xt, t = torch.tensor([0.7], dtype=torch.float64), torch.tensor([-0.3], dtype=torch.float64), 300
    mean, var = diffusion.q_posterior(sch, x0[None], xt[None], torch.tensor([t]))
    grid = torch.linspace(-4, 4, 20_001, dtype=torch.float64)
    prior = torch.distributions.Normal(sch.alphas_bar[t - 1].sqrt() * x0, (1 - sch.alphas_bar[t - 1]).sqrt())
    step = torch.distributions.Normal(sch.alphas[t].sqrt() * grid, sch.betas[t].sqrt())
    log_p = prior.log_prob(grid) + step.log_prob(xt)
    p = (log_p - log_p.max()).exp()
    p = p / p.sum()
    m = (p * grid).sum()
    torch.testing.assert_close(mean.flatten(), m[None], atol=1e-6, rtol=0)
    torch.testing.assert_close(var.flatten(), ((p * (grid - m) ** 2).sum())[None], atol=1e-6, rtol=1e-4)


def test_respacing_all_steps_is_the_original_chain():
    for name, make in SCHEDULES.items():
        sch = make()
        S, chain = diffusion.respace(sch, sch.T)
        torch.testing.assert_close(S, torch.arange(sch.T))
        torch.testing.assert_close(chain.alphas_bar, sch.alphas_bar)
        torch.testing.assert_close(chain.betas, sch.betas)
        S, chain = diffusion.respace(sch, 50)
        torch.testing.assert_close(chain.alphas_bar, sch.alphas_bar[S])


class _Affine(torch.nn.Module):
    """A stand-in eps_theta: a different linear map per class (null = n_classes)."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.null = n_classes
        self.scale = torch.nn.Parameter(torch.linspace(0.5, 1.5, n_classes + 1))

    def forward(self, x, t, y=None):
        s = self.scale[y] if y is not None else self.scale[-1].expand(len(x))
        return s.view(-1, *[1] * (x.dim() - 1)) * x


def test_guidance():
    model = _Affine()
    x, t, y = torch.randn(6, 2, 3, 3), torch.zeros(6, dtype=torch.long), torch.tensor([0, 1, 2, 0, 1, 2])
    torch.testing.assert_close(diffusion.guided_eps(model, x, t, y, 0.0), model(x, t, y))
    w = 2.0
    expected = (1 + w) * model(x, t, y) - w * model(x, t, torch.full_like(y, 3))
    torch.testing.assert_close(diffusion.guided_eps(model, x, t, y, w), expected)


def test_sampler_recovers_a_gaussian():
    """Algorithm 2 with the exact eps for Gaussian data N(mu, s^2): samples have the data's mean and variance."""
    sch = SCHEDULES["linear"]()
    mu, s2 = torch.tensor([0.5, -1.0]), torch.tensor([0.25, 2.0])

    class Exact(torch.nn.Module):
        null = None

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x, t, y=None):   # E[eps | x_t] for x_0 ~ N(mu, s^2)
            ab = sch.coef("alphas_bar", t, x)
            return (1 - ab).sqrt() * (x - ab.sqrt() * mu) / (ab * s2 + 1 - ab)

    torch.manual_seed(0)
    x = diffusion.sample(Exact(), sch, (10_000, 2))
    torch.testing.assert_close(x.mean(0), mu, atol=0.05, rtol=0)
    torch.testing.assert_close(x.var(0), s2, atol=0.0, rtol=0.08)


@pytest.mark.parametrize("shape", [(4, 1, 16, 16), (2, 1, 8, 8)])
def test_simple_loss_is_mse_of_eps(shape):
    """Eq. 14 against torch's mse_loss on the same draws of t and eps, forward and gradients."""
    model = diffusion.Denoiser(widths=(8, 16), emb_dim=16, n_classes=10)
    sch = SCHEDULES["cosine"]()
    x0, y = torch.randn(shape), torch.randint(0, 10, (shape[0],))
    torch.manual_seed(1)
    ours = diffusion.simple_loss(model, sch, x0, y)
    ours_grads = torch.autograd.grad(ours, list(model.parameters()))
    torch.manual_seed(1)
    t = torch.randint(0, sch.T, (shape[0],))
    eps = torch.randn_like(x0)
    ab = sch.alphas_bar[t].float().view(-1, 1, 1, 1)
    ref = F.mse_loss(model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t, y), eps)
    ref_grads = torch.autograd.grad(ref, list(model.parameters()))
    torch.testing.assert_close(ours, ref)
    for a, b in zip(ours_grads, ref_grads):
        torch.testing.assert_close(a, b)
    assert model(x0, t, y).shape == shape


def test_vector_condition_and_its_null():
    """cond_dim: a [B, d] vector conditions the Denoiser; its null is the zero vector, for dropping and guidance."""
    torch.manual_seed(0)
    model = diffusion.Denoiser(widths=(8, 16), emb_dim=16, channels=3, cond_dim=5)
    for block in [*model.unet.down, *model.unet.up_blocks]:   # a trained-looking hook (it starts at zero)
        torch.nn.init.normal_(block.emb.weight)
    x, t, z = torch.randn(4, 3, 8, 8), torch.tensor([0, 10, 500, 999]), torch.randn(4, 5)
    drop = torch.tensor([True, False, True, False])
    dropped = diffusion.drop_condition(model, z, drop)
    torch.testing.assert_close(dropped[drop], torch.zeros(2, 5))
    torch.testing.assert_close(dropped[~drop], z[~drop])
    labels = torch.tensor([1, 2, 3, 4])
    torch.testing.assert_close(diffusion.drop_condition(_Affine(n_classes=7), labels, drop), torch.tensor([7, 2, 7, 4]))
    assert not torch.allclose(model(x, t, z), model(x, t, dropped))
    w = 1.5
    expected = (1 + w) * model(x, t, z) - w * model(x, t, torch.zeros_like(z))
    torch.testing.assert_close(diffusion.guided_eps(model, x, t, z, w), expected)
    loss = diffusion.simple_loss(model, SCHEDULES["linear"](), x, z, p_uncond=0.5)
    loss.backward()
    assert model.cond.weight.grad.abs().sum() > 0


def test_train_returns_the_moving_average_of_the_weights():
    """decay 0: the EMA is the trained model; decay 1: it never leaves the initial weights; the model does train."""
    sch = SCHEDULES["cosine"]()
    x0, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))
    for decay in (0.0, 1.0):
        torch.manual_seed(0)
        model = diffusion.Denoiser(widths=(8, 16), emb_dim=16, n_classes=3)
        start = [p.detach().clone() for p in model.parameters()]
        batches = [(x0, y)] * 3
        ema, history = diffusion.train(model, sch, iter(batches), steps=3, lr=1e-2, ema_decay=decay, desc=None)
        assert len(history["loss"]) == 3 and not ema.training
        expected = list(model.parameters()) if decay == 0.0 else start
        for a, b in zip(ema.parameters(), expected):
            torch.testing.assert_close(a, b)
        assert any(not torch.equal(p, s) for p, s in zip(model.parameters(), start))
