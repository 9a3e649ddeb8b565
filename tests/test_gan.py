"""GAN: the helper module gan.py against torch's own components."""
import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import gan
from same_as_torch import assert_same_as_torch

SHAPES = [(7, 1), (3, 5), (16,)]


def _logits(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * 4).requires_grad_()


def _check(ours_fn, torch_fn, *shapes):
    assert_same_as_torch(ours_fn, torch_fn, [_logits(s, i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("shape", SHAPES)
def test_d_loss_is_bce(shape):
    bce = F.binary_cross_entropy_with_logits
    _check(gan.d_loss, lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)), shape, shape)
    # the probabilities' formulation of eq. 1
    _check(gan.d_loss, lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
           + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)), shape, (5,))


@pytest.mark.parametrize("shape", SHAPES)
def test_generator_losses(shape):
    _check(gan.g_loss_nonsaturating, lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f)), shape)
    _check(gan.g_loss_minimax, lambda f: torch.log1p(-torch.sigmoid(f)).mean(), shape)
    _check(gan.g_loss_minimax, lambda f: -F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)), shape)


def test_gradient_at_the_logit():
    """Section 3: d/da of the minimax loss is -D, of the non-saturating loss -(1 - D), per sample / n."""
    a = _logits((6, 1), 3)
    gan.g_loss_minimax(a).backward()
    torch.testing.assert_close(a.grad, -torch.sigmoid(a.detach()) / 6)
    a.grad = None
    gan.g_loss_nonsaturating(a).backward()
    torch.testing.assert_close(a.grad, -(1 - torch.sigmoid(a.detach())) / 6)


def test_optimal_d_on_known_densities():
    x = torch.linspace(-4, 4, 101, dtype=torch.float64)
    normal = lambda mu, s: torch.exp(-0.5 * ((x - mu) / s) ** 2) / (s * (2 * torch.pi) ** 0.5)
    p = normal(0.0, 1.0)
    torch.testing.assert_close(gan.optimal_d(p, p), torch.full_like(p, 0.5))
    # two Gaussians of equal width: D* is the logistic function of their log-ratio, 2x here
    torch.testing.assert_close(gan.optimal_d(normal(1.0, 1.0), normal(-1.0, 1.0)), torch.sigmoid(2 * x))
    torch.testing.assert_close(gan.optimal_d(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 2.0, 0.0])),
                               torch.tensor([1.0, 0.0, 0.5]))


def test_optimal_d_maximizes_v():
    """Proposition 1: on a discrete space, D* beats any perturbed D on V(D, G)."""
    g = torch.Generator().manual_seed(0)
    p_data, p_g = torch.rand(20, generator=g), torch.rand(20, generator=g)
    p_data, p_g = p_data / p_data.sum(), p_g / p_g.sum()
    V = lambda d: (p_data * d.log() + p_g * (1 - d).log()).sum()
    d_star = gan.optimal_d(p_data, p_g)
    for _ in range(20):
        other = (d_star + 0.05 * torch.randn(20, generator=g)).clamp(0.01, 0.99)
        assert V(d_star) >= V(other)
    # Theorem 1: at p_g = p_data, V(D*) = -log 4
    torch.testing.assert_close(V(gan.optimal_d(p_data, p_data)), -torch.log(torch.tensor(4.0)))


def test_algorithm1_step_and_mode_coverage():
    torch.manual_seed(0)
    G, D = gan.generator(2, (8,), 2), gan.discriminator(2, (8,))
    opt_G, opt_D = torch.optim.SGD(G.parameters(), 0.1), torch.optim.SGD(D.parameters(), 0.1)
    before = [p.detach().clone() for p in list(G.parameters()) + list(D.parameters())]
    out = gan.algorithm1_step(G, D, opt_G, opt_D, lambda: torch.randn(4, 2), lambda: torch.randn(4, 2), k=2)
    assert set(out) == {"loss_D", "loss_G", "D(G(z))"}
    after = list(G.parameters()) + list(D.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = torch.tensor([[0.0, 0.01], [0.02, 0.0], [10.0, 0.0], [5.0, 5.0]])
    covered, good, share = gan.mode_coverage(samples, centres, std=0.1, min_share=0.3)
    assert covered == 1 and good == 0.75
    torch.testing.assert_close(share, torch.tensor([0.5, 0.25]))
