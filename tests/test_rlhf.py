"""RLHF: the helper module rlhf.py against torch's own components and direct computations."""
import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import gpt, rlhf
from same_as_torch import assert_same_as_torch

SHAPES = [(3, 5), (2, 4, 7)]


@pytest.mark.parametrize("shape", SHAPES)
def test_bradley_terry_equals_bce_with_logits(shape):
    torch.manual_seed(0)
    assert_same_as_torch(rlhf.bradley_terry_loss,
                         lambda r_w, r_l: F.binary_cross_entropy_with_logits(r_w - r_l, torch.ones(shape)),
                         [torch.randn(shape) * 4, torch.randn(shape) * 4])


def gae_direct(rewards, values, gamma, lam):
    """PPO eqs. 11-12 written out: A_t = sum_k (gamma lam)^k delta_{t+k}, V after the last step = 0."""
    T = rewards.shape[-1]
    next_values = torch.cat([values[..., 1:], torch.zeros_like(values[..., :1])], -1)
    delta = rewards + gamma * next_values - values
    out = torch.zeros_like(rewards)
    for t in range(T):
        for k in range(T - t):
            out[..., t] += (gamma * lam) ** k * delta[..., t + k]
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.9, 0.5), (0.99, 1.0), (1.0, 0.0)])
def test_gae_against_definition(shape, gamma, lam):
    torch.manual_seed(1)
    rewards, values = torch.randn(shape), torch.randn(shape)
    torch.testing.assert_close(rlhf.gae(rewards, values, gamma, lam), gae_direct(rewards, values, gamma, lam))


def test_gae_limits():
    torch.manual_seed(2)
    rewards, values = torch.randn(4, 6), torch.randn(4, 6)
    returns = rewards.flip(-1).cumsum(-1).flip(-1)                       # gamma = 1: the sum of future rewards
    torch.testing.assert_close(rlhf.gae(rewards, values, 1.0, 1.0), returns - values)
    next_values = torch.cat([values[:, 1:], torch.zeros(4, 1)], 1)
    torch.testing.assert_close(rlhf.gae(rewards, values, 0.9, 0.0), rewards + 0.9 * next_values - values)


def test_ppo_clip_loss_by_hand():
    # ratios 1.5, 0.5, 0.5, 1.5, 1.1 with advantages +, +, -, -, +; eps = 0.2
    A = torch.tensor([1.0, 2.0, -1.0, -3.0, 0.5])
    ratio = torch.tensor([1.5, 0.5, 0.5, 1.5, 1.1])
    logp_old = torch.randn(5)
    logp = (logp_old + ratio.log()).requires_grad_()
    loss = rlhf.ppo_clip_loss(logp, logp_old, A, eps=0.2)
    chosen = torch.tensor([1.2 * 1, 0.5 * 2, 0.8 * -1, 1.5 * -3, 1.1 * 0.5])  # min(r A, clip(r) A)
    torch.testing.assert_close(loss, -chosen.mean())
    loss.backward()
    clipped = torch.tensor([True, False, True, False, False])
    expected = torch.where(clipped, torch.zeros(5), -ratio * A / 5)          # d(-r A / N) / d log pi = -r A / N
    torch.testing.assert_close(logp.grad, expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_ppo_clip_loss_random(shape):
    torch.manual_seed(3)
    logp_old, A = torch.randn(shape), torch.randn(shape)
    logp = (logp_old + 0.5 * torch.randn(shape)).requires_grad_()
    eps = 0.2
    rlhf.ppo_clip_loss(logp, logp_old, A, eps).backward()
    ratio = (logp - logp_old).exp().detach()
    clipped = ((A > 0) & (ratio > 1 + eps)) | ((A < 0) & (ratio < 1 - eps))
    expected = torch.where(clipped, torch.zeros(shape), -ratio * A / A.numel())
    torch.testing.assert_close(logp.grad, expected)
    # with the ratio inside the clip range (logp = logp_old) the loss is -mean(A)
    torch.testing.assert_close(rlhf.ppo_clip_loss(logp_old, logp_old, A, eps), -A.mean())


@pytest.mark.parametrize("shape", [(4, 5, 7), (2, 3, 6, 11)])
def test_kl_per_token_against_torch(shape):
    torch.manual_seed(4)
    assert_same_as_torch(rlhf.kl_per_token,
                         lambda p, q: F.kl_div(q.log_softmax(-1), p.log_softmax(-1), log_target=True, reduction="none").sum(-1),
                         [torch.randn(shape), torch.randn(shape)])


def test_sampled_log_ratio_estimates_kl():
    torch.manual_seed(5)
    p, q = torch.randn(3, 6), torch.randn(3, 6)
    tokens = torch.distributions.Categorical(logits=p).sample((200_000,))          # [N, 3]
    log_ratio = rlhf.token_logprobs(p.expand(len(tokens), 3, 6), tokens) - rlhf.token_logprobs(q.expand(len(tokens), 3, 6), tokens)
    torch.testing.assert_close(log_ratio.mean(0), rlhf.kl_per_token(p, q), atol=0.02, rtol=0.02)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)])
def test_token_logprobs_against_cross_entropy(shape):
    torch.manual_seed(6)
    logits, tokens = torch.randn(*shape, 9), torch.randint(0, 9, shape)
    ref = -F.cross_entropy(logits.reshape(-1, 9), tokens.reshape(-1), reduction="none").reshape(shape)
    torch.testing.assert_close(rlhf.token_logprobs(logits, tokens), ref)


def test_penalized_rewards_sum_to_eq2():
    torch.manual_seed(7)
    score, logp, logp_ref = torch.randn(4), torch.randn(4, 6), torch.randn(4, 6)
    r = rlhf.penalized_rewards(score, logp, logp_ref, 0.1)
    torch.testing.assert_close(r.sum(-1), score - 0.1 * (logp - logp_ref).sum(-1))
    torch.testing.assert_close(r[:, :-1], -0.1 * (logp - logp_ref)[:, :-1])


@pytest.mark.parametrize("B,T", [(2, 7), (3, 12)])
def test_heads_on_the_gpt_trunk(B, T):
    torch.manual_seed(8)
    model = gpt.GPT(13, 2, 2, 16, 12)
    idx = torch.randint(0, 13, (B, T))
    torch.testing.assert_close(model.head(rlhf.features(model, idx)), model(idx))
    policy = rlhf.PolicyWithValue(model)
    logits, values = policy(idx)
    torch.testing.assert_close(logits, model(idx))
    assert values.shape == (B, T) and torch.all(values == 0)            # the value head starts at zero
    rm = rlhf.RewardModel(model)
    r = rm(idx)
    assert r.shape == (B,)
    torch.testing.assert_close(r, rm.head(rlhf.features(model, idx)[:, -1]).squeeze(-1))
    r.sum().backward()
    assert rm.head.weight.grad is not None and model.wte.weight.grad is None  # the RM trains a copy
