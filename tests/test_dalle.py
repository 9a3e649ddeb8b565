"""DALL-E and DALL-E 2: the helper module dalle.py against torch's own components."""
import math

import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import dalle, gpt


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("shape,dim", [((4, 6), -1), ((2, 5, 3, 3), 1)])
def test_gumbel_softmax_matches_torch(hard, shape, dim):
    """Same seed, same noise: values and gradients equal F.gumbel_softmax's, soft and hard."""
    logits = torch.randn(shape, requires_grad=True)
    w = torch.randn(shape)
    torch.manual_seed(0)
    ours = dalle.gumbel_softmax(logits, 0.7, hard, dim)
    (g_ours,) = torch.autograd.grad((ours * w).sum(), logits)
    torch.manual_seed(0)
    theirs = F.gumbel_softmax(logits, 0.7, hard, dim=dim)
    (g_theirs,) = torch.autograd.grad((theirs * w).sum(), logits)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(g_ours, g_theirs)


@pytest.mark.parametrize("tau", [1.0, 0.25])
def test_gumbel_softmax_statistics(tau):
    """Over many draws (independent seeds): hard samples are one-hot with argmax frequencies softmax(logits)
    (the Gumbel-max trick), and the soft samples' mean matches torch's within sampling error."""
    logits = torch.tensor([[1.0, 0.0, -1.0, 0.5], [0.0, 0.0, 2.0, -2.0]])
    n = 40_000
    torch.manual_seed(1)
    hard = dalle.gumbel_softmax(logits.expand(n, 2, 4), tau, hard=True)
    assert torch.all(hard.sum(-1) == 1) and torch.all((hard == 0) | (hard == 1))
    torch.testing.assert_close(hard.mean(0), logits.softmax(-1), atol=0.012, rtol=0)
    torch.manual_seed(2)
    soft = dalle.gumbel_softmax(logits.expand(n, 2, 4), tau)
    torch.manual_seed(3)
    soft_torch = F.gumbel_softmax(logits.expand(n, 2, 4), tau)
    torch.testing.assert_close(soft.sum(-1), torch.ones(n, 2))
    torch.testing.assert_close(soft.mean(0), soft_torch.mean(0), atol=0.012, rtol=0)


def test_tau_schedule():
    assert dalle.tau_schedule(0, 100) == 1.0
    assert math.isclose(dalle.tau_schedule(100, 100), 1 / 16)
    assert math.isclose(dalle.tau_schedule(50, 100), 0.25)
    assert math.isclose(dalle.tau_schedule(500, 100), 1 / 16)


@pytest.mark.parametrize("K,B", [(8, 2), (32, 3)])
def test_kl_to_uniform(K, B):
    logits = torch.randn(B, K, 4, 4)
    q = logits.softmax(1).permute(0, 2, 3, 1).reshape(-1, K)
    uniform = torch.full_like(q, 1 / K)
    expected = F.kl_div(uniform.log(), q, reduction="none").sum(1).view(B, 16).sum(1)   # KL(q || uniform)
    torch.testing.assert_close(dalle.kl_to_uniform(logits), expected)


@pytest.mark.parametrize("K,B", [(16, 2), (64, 5)])
def test_dvae_shapes_and_gradients(K, B):
    model = dalle.DiscreteVAE(K=K, D=8, width=8)
    x = torch.rand(B, 3, 32, 32)
    recon, logits = model(x, tau=0.5)
    assert recon.shape == x.shape and logits.shape == (B, K, 8, 8)
    assert recon.min() >= 0 and recon.max() <= 1
    loss, rec, kl = dalle.dvae_loss(model, x, tau=0.5, beta=0.1)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name     # the relaxation reaches the encoder
    tokens = model.tokens(x)
    assert tokens.shape == (B, 64) and tokens.max() < K
    torch.testing.assert_close(model.decode_tokens(tokens),
                               model.decode(F.one_hot(tokens.view(B, 8, 8), K).permute(0, 3, 1, 2).float()))


def test_joint_sequence_and_loss():
    text = torch.tensor([[1, 2, 3], [1, 4, 3]])
    image = torch.tensor([[0, 5, 2, 1], [3, 3, 0, 1]])
    seq = dalle.joint_sequence(text, image, n_text_vocab=6)
    assert seq.tolist() == [[1, 2, 3, 6, 11, 8, 7], [1, 4, 3, 9, 9, 6, 7]]
    model = gpt.GPT(12, 1, 2, 8, 7)
    loss, text_ce, image_ce = dalle.dalle_loss(model, seq, L=3)
    logits = model(seq[:, :-1])
    ce = F.cross_entropy(logits.reshape(-1, 12), seq[:, 1:].reshape(-1), reduction="none").view(2, 6)
    torch.testing.assert_close(text_ce, ce[:, :2].mean())
    torch.testing.assert_close(image_ce, ce[:, 2:].mean())
    torch.testing.assert_close(loss, ce[:, :2].mean() / 8 + 7 * ce[:, 2:].mean() / 8)


@pytest.mark.parametrize("t", [3, 10])
def test_causal_mask_over_joint_sequence(t):
    """The logits at position t are unchanged when any token after t changes; gradients reach none after t."""
    torch.manual_seed(0)
    model = gpt.GPT(20, 2, 2, 16, 16).eval()
    a = torch.randint(20, (3, 16))
    b = a.clone()
    b[:, t + 1:] = torch.randint(20, (3, 15 - t))
    with torch.no_grad():
        torch.testing.assert_close(model(a)[:, :t + 1], model(b)[:, :t + 1])
    emb = model.wte(a).detach().requires_grad_(True)
    x = emb + model.wpe[:16]
    mask = torch.ones(16, 16, dtype=torch.bool).tril()
    for layer in model.blocks:
        x = layer(x, mask)
    x[:, t].sum().backward()
    assert emb.grad[:, t + 1:].abs().max() == 0 and emb.grad[:, :t + 1].abs().max() > 0


def test_sample_image_tokens_in_image_vocabulary():
    torch.manual_seed(0)
    model = gpt.GPT(10 + 6, 1, 2, 8, 3 + 4)
    tokens = dalle.sample_image_tokens(model, torch.tensor([[1, 2, 3], [1, 5, 3]]), n_text_vocab=10, n_tokens=4)
    assert tokens.shape == (2, 4) and tokens.min() >= 0 and tokens.max() < 6
    # temperature 0 is greedy: the cached path must equal full recomputation
    greedy = dalle.sample_image_tokens(model, torch.tensor([[1, 2, 3]]), 10, n_tokens=4, temperature=0)
    seq = torch.tensor([[1, 2, 3]])
    for _ in range(4):
        nxt = model(seq)[:, -1, 10:].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt + 10], 1)
    assert greedy.tolist() == (seq[:, 3:] - 10).tolist()


def test_rerank_selects_best_candidate():
    scores = torch.tensor([[0.1, 0.9, 0.3, 0.95], [0.5, 0.2, 0.7, 0.1], [0.3, 0.3, 0.2, 0.8]])
    assert dalle.rerank(scores, 4).tolist() == [3, 2, 3]
    assert dalle.rerank(scores, 2).tolist() == [1, 0, 0]        # only the first n count; ties go to the first
    assert dalle.rerank(scores, 1).tolist() == [0, 0, 0]
    s = torch.randn(50, 8)
    for n in (1, 3, 8):
        chosen = dalle.rerank(s, n)
        torch.testing.assert_close(s[torch.arange(50), chosen], s[:, :n].max(1).values)


@pytest.mark.parametrize("d,B", [(16, 3), (64, 7)])
def test_prior_shapes_and_gradients(d, B):
    prior = dalle.Prior(d, hidden=32)
    z_t = F.normalize(torch.randn(B, d), dim=-1)
    z_i = prior(z_t)
    assert z_i.shape == (B, d)
    torch.testing.assert_close(z_i.norm(dim=-1), torch.ones(B))
    z_i.sum().backward()
    assert all(p.grad is not None for p in prior.parameters())
