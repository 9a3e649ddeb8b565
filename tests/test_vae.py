"""VAE and VQ-VAE: the helper module vae.py against torch's own components."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence

from dlhistory.topics import vae

SHAPES = [(7, 20), (3, 2), (2, 4, 5)]


def _leaves(*tensors):
    """Two independent copies of each tensor as float64 leaves: one for ours, one for torch's."""
    ours = [t.double().requires_grad_() for t in tensors]
    ref = [t.detach().clone().requires_grad_() for t in ours]
    return ours, ref


def _same_grads(a, b):
    for x, y in zip(a, b):
        torch.testing.assert_close(x.grad, y.grad)


@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_kl(shape):
    g = torch.Generator().manual_seed(0)
    (mu, logvar), (mu2, logvar2) = _leaves(torch.randn(shape, generator=g) * 2, torch.randn(shape, generator=g))
    ours = vae.gaussian_kl(mu, logvar)
    ref = kl_divergence(Normal(mu2, torch.exp(0.5 * logvar2)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(ours, ref)
    ours.sum().backward()
    ref.sum().backward()
    _same_grads((mu, logvar), (mu2, logvar2))


@pytest.mark.parametrize("shape", SHAPES)
def test_bernoulli_log_likelihood(shape):
    g = torch.Generator().manual_seed(1)
    x = torch.bernoulli(torch.rand(shape, generator=g), generator=g).double()
    (logits,), (logits2,) = _leaves(torch.randn(shape, generator=g) * 5)
    ours = vae.bernoulli_log_likelihood(logits, x)
    ref = Bernoulli(logits=logits2).log_prob(x).sum(-1)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours, -F.binary_cross_entropy_with_logits(logits2, x, reduction="none").sum(-1))
    ours.sum().backward()
    ref.sum().backward()
    _same_grads((logits,), (logits2,))


@pytest.mark.parametrize("shape", SHAPES)
def test_reparameterize_matches_rsample(shape):
    g = torch.Generator().manual_seed(2)
    (mu, logvar), (mu2, logvar2) = _leaves(torch.randn(shape, generator=g), torch.randn(shape, generator=g))
    torch.manual_seed(3)
    z = vae.reparameterize(mu, logvar)
    torch.manual_seed(3)
    z_ref = Normal(mu2, torch.exp(0.5 * logvar2)).rsample()
    torch.testing.assert_close(z, z_ref)
    weights = torch.randn(shape, generator=g, dtype=torch.float64)
    (weights * z).sum().backward()
    (weights * z_ref).sum().backward()
    _same_grads((mu, logvar), (mu2, logvar2))


@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_log_density(shape):
    g = torch.Generator().manual_seed(4)
    z, mu, logvar = (torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(vae.gaussian_log_density(z, mu, logvar),
                               Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1))


@pytest.mark.parametrize("x_dim,hidden,z_dim,batch", [(784, 32, 20, 5), (30, 16, 2, 3)])
def test_vae_shapes_and_elbo(x_dim, hidden, z_dim, batch):
    torch.manual_seed(5)
    model = vae.VAE(x_dim, hidden, z_dim).double()
    x = torch.bernoulli(torch.rand(batch, x_dim)).double()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (batch, z_dim)
    assert model.decode(mu).shape == (batch, x_dim)
    torch.manual_seed(6)
    value, rec, kl = vae.elbo(model, x)
    torch.manual_seed(6)
    z = Normal(mu, torch.exp(0.5 * logvar)).rsample()
    ref_rec = Bernoulli(logits=model.decode(z)).log_prob(x).sum(-1)
    ref_kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close((value, rec, kl), (ref_rec - ref_kl, ref_rec, ref_kl))
    # the gradient of the ELBO reaches every parameter of the encoder and the decoder
    value.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_importance_weighted_estimate():
    torch.manual_seed(7)
    model = vae.VAE(12, 8, 3).double()
    x = torch.bernoulli(torch.rand(4, 12)).double()
    torch.manual_seed(8)
    log_w = vae.log_weights(model, x, 6)
    assert log_w.shape == (4, 6)
    # the same weights from torch.distributions
    torch.manual_seed(8)
    mu, logvar = model.encode(x)
    q = Normal(mu[:, None].expand(-1, 6, -1), torch.exp(0.5 * logvar)[:, None].expand(-1, 6, -1))
    z = q.rsample()
    with torch.no_grad():
        ref = (Bernoulli(logits=model.decode(z)).log_prob(x[:, None]).sum(-1)
               + Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1))
    torch.testing.assert_close(log_w, ref)
    torch.testing.assert_close(vae.iw_log_likelihood(log_w), torch.log(ref.exp().mean(-1)))
    # Jensen: log of the mean weight is at least the mean log-weight, sample by sample
    assert (vae.iw_log_likelihood(log_w) >= log_w.mean(-1) - 1e-12).all()


@pytest.mark.parametrize("n,K,D", [(300, 32, 8), (50, 7, 3)])
def test_nearest_code_matches_cdist(n, K, D):
    g = torch.Generator().manual_seed(9)
    z_e, codebook = torch.randn(n, D, generator=g, dtype=torch.float64), torch.randn(K, D, generator=g, dtype=torch.float64)
    assert torch.equal(vae.nearest_code(z_e, codebook), torch.cdist(z_e, codebook).argmin(1))


@pytest.mark.parametrize("n,K,D", [(40, 16, 4), (9, 5, 2)])
def test_quantizer_straight_through_and_losses(n, K, D):
    torch.manual_seed(10)
    for ema in (False, True):
        q = vae.VectorQuantizer(K, D, ema=ema).double().eval()
        z_e = torch.randn(n, D, dtype=torch.float64, requires_grad=True)
        z_q, k, codebook_term, commitment = q(z_e)
        code = q.codebook.detach()[k]
        torch.testing.assert_close(k, torch.cdist(z_e.detach(), q.codebook.detach()).argmin(1))
        torch.testing.assert_close(z_q, code)
        target = torch.randn(n, D, dtype=torch.float64)
        (z_q - target).square().sum().backward(retain_graph=True)
        torch.testing.assert_close(z_e.grad, 2 * (code - target))          # straight through: d/dz_q copied to z_e
        torch.testing.assert_close(codebook_term, F.mse_loss(code, z_e.detach(), reduction="sum") / n)
        torch.testing.assert_close(commitment, F.mse_loss(z_e.detach(), code, reduction="sum") / n)
        # the commitment term pulls only the encoder: its gradient is 2 (z_e - e) / n, and none reaches the codebook
        z_e.grad = None
        if not ema:
            q.codebook.grad = None
        commitment.backward(retain_graph=True)
        torch.testing.assert_close(z_e.grad, 2 * (z_e.detach() - code) / n)
        if not ema:
            assert q.codebook.grad is None
            codebook_term.backward()                                         # and the codebook term only the codes
            expected = torch.zeros_like(q.codebook).index_add_(0, k, 2 * (code - z_e.detach()) / n)
            torch.testing.assert_close(q.codebook.grad, expected)


def test_ema_update():
    torch.manual_seed(11)
    K, D, n = 6, 3, 50
    q = vae.VectorQuantizer(K, D, ema=True, gamma=0.9).double()
    q.init_from(torch.randn(20, D, dtype=torch.float64))
    N0, m0 = q.N.clone(), q.m.clone()
    z_e = torch.randn(n, D, dtype=torch.float64)
    _, k, _, _ = q.train()(z_e)
    counts = torch.bincount(k, minlength=K).double()
    sums = torch.zeros(K, D, dtype=torch.float64).index_add_(0, k, z_e)
    torch.testing.assert_close(q.N, 0.9 * N0 + 0.1 * counts)
    torch.testing.assert_close(q.m, 0.9 * m0 + 0.1 * sums)
    torch.testing.assert_close(q.codebook, q.m / q.N[:, None])
    # gamma = 0 is one k-means step: each used code moves to the mean of its vectors, unused codes stay
    q0 = vae.VectorQuantizer(K, D, ema=True, gamma=0.0).double()
    before = q0.codebook.clone()
    _, k, _, _ = q0.train()(z_e)
    counts = torch.bincount(k, minlength=K).double()
    sums = torch.zeros(K, D, dtype=torch.float64).index_add_(0, k, z_e)
    used = counts > 0
    torch.testing.assert_close(q0.codebook[used], sums[used] / counts[used, None])
    torch.testing.assert_close(q0.codebook[~used], before[~used])


def test_codebook_usage():
    assert vae.codebook_usage(torch.arange(8).repeat(5), 8) == (8, pytest.approx(8.0))
    assert vae.codebook_usage(torch.zeros(10, dtype=torch.long), 8) == (1, pytest.approx(1.0))
    used, perplexity = vae.codebook_usage(torch.tensor([0, 0, 0, 1]), 4)
    assert used == 2 and perplexity == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))


@pytest.mark.parametrize("batch,ema", [(3, True), (2, False)])
def test_vqvae_shapes_and_gradients(batch, ema):
    torch.manual_seed(12)
    model = vae.VQVAE(K=10, D=4, channels=4, ema=ema)
    x = torch.bernoulli(torch.rand(batch, 1, 28, 28))
    logits, k, codebook_term, commitment = model(x)
    assert logits.shape == x.shape and k.shape == (batch, 7, 7)
    loss = -vae.bernoulli_log_likelihood(logits.flatten(1), x.flatten(1)).mean() + 0.25 * commitment
    if not ema:
        loss = loss + codebook_term
    loss.backward()
    # straight-through: the reconstruction's gradient reaches the encoder through the argmin
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    assert (model.quantizer.codebook.grad is not None) == (not ema)
