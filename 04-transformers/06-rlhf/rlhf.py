"""RLHF: the helper module of rlhf.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import transformer


def features(model, idx):
    """A gpt.GPT without its read-out: idx [B, T] -> the final LayerNorm's states [B, T, d]."""
    x = model.drop(model.wte(idx) + model.wpe[:idx.shape[1]])
    mask = transformer.causal_mask(idx.shape[1], idx.device)
    for layer in model.blocks:
        x = layer(x, mask)
    return model.ln_f(x)


class RewardModel(nn.Module):
    """r(x, y): a copy of the SFT model with a scalar head on the last token's state;
    (score - shift) / scale, where shift and scale are set to normalize the scores of SFT samples."""

    def __init__(self, sft):
        super().__init__()
        self.trunk = copy.deepcopy(sft)
        self.head = nn.Linear(sft.wte.embedding_dim, 1)
        self.register_buffer("shift", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))

    def forward(self, idx):
        """idx [B, T] (prompt and completion) -> r [B]."""
        return (self.head(features(self.trunk, idx)[:, -1]).squeeze(-1) - self.shift) / self.scale


class PolicyWithValue(nn.Module):
    """A copy of the SFT model (the policy) with a value head V(s_t) on every position's state."""

    def __init__(self, sft):
        super().__init__()
        self.lm = copy.deepcopy(sft)
        self.value = nn.Linear(sft.wte.embedding_dim, 1)
        nn.init.zeros_(self.value.weight)
        nn.init.zeros_(self.value.bias)

    def forward(self, idx):
        """idx [B, T] -> next-token logits [B, T, vocab] and values [B, T]."""
        h = features(self.lm, idx)
        return self.lm.head(h), self.value(h).squeeze(-1)


def bradley_terry_loss(r_w, r_l):
    """InstructGPT eq. 1 with K = 2: mean of -log sigmoid(r(x, y_w) - r(x, y_l)) over pairs."""
    return -F.logsigmoid(r_w - r_l).mean()


def token_logprobs(logits, tokens):
    """logits [B, T, V], tokens [B, T] -> log softmax(logits) at the tokens [B, T]."""
    return logits.log_softmax(-1).gather(-1, tokens[..., None]).squeeze(-1)


def kl_per_token(logits_p, logits_q):
    """KL(p || q) over the vocabulary at every position: [..., V] -> [...]."""
    log_p, log_q = logits_p.log_softmax(-1), logits_q.log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def penalized_rewards(score, logp, logp_ref, beta):
    """Ziegler et al. eq. 2 paid per token: r_t = -beta (log pi - log rho) [B, T], plus r(x, y) [B]
    at the last token; the sum over t is R(x, y)."""
    rewards = -beta * (logp - logp_ref)
    rewards[:, -1] += score
    return rewards


def gae(rewards, values, gamma=1.0, lam=0.95):
    """PPO eqs. 11-12: rewards, values [..., T] -> advantages [..., T]; the episode ends after step T - 1."""
    T = rewards.shape[-1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[..., 0])
    for t in reversed(range(T)):
        next_value = values[..., t + 1] if t + 1 < T else torch.zeros_like(running)
        delta = rewards[..., t] + gamma * next_value - values[..., t]          # eq. 12
        running = delta + gamma * lam * running                               # eq. 11, recursively
        advantages[..., t] = running
    return advantages


def ppo_clip_loss(logp, logp_old, advantages, eps=0.2):
    """Minus PPO eq. 7: -mean(min(ratio A, clip(ratio, 1 - eps, 1 + eps) A)), ratio = exp(logp - logp_old)."""
    ratio = (logp - logp_old).exp()
    return -torch.min(ratio * advantages, ratio.clamp(1 - eps, 1 + eps) * advantages).mean()


def ppo_update(policy, optimizer, idx, start, logp_old, advantages, returns, epochs=4, minibatch=32,
               eps=0.2, c1=0.5, clip=1.0):
    """PPO's Algorithm 1, the optimization part: `epochs` passes of minibatches over one batch of rollouts.
    idx [B, start + T] holds prompts and completions; logp_old, advantages, returns are [B, T]."""
    policy.train()
    B = len(idx)
    for _ in range(epochs):
        for b in torch.randperm(B, device=idx.device).split(minibatch):
            logits, values = policy(idx[b, :-1])                  # position start - 1 + t predicts token t
            logp = token_logprobs(logits[:, start - 1:], idx[b, start:])
            loss = ppo_clip_loss(logp, logp_old[b], advantages[b], eps) \
                + c1 * (values[:, start - 1:] - returns[b]).square().mean()        # eq. 9, no entropy term
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), clip)
            optimizer.step()
    return loss.item()


@torch.no_grad()
def rollout(policy, ref, reward_model, prompts, length, beta, gamma=1.0, lam=0.95):
    """Sample `length` tokens after prompts [B, P] from policy.lm; return the sequences [B, P + length] and
    per-token logp_old, advantages (normalized), returns [B, length], with the scores r [B] and the exact KL [B]."""
    P = prompts.shape[1]
    idx = policy.lm.generate(prompts, length)
    logits, values = policy(idx[:, :-1])
    logits, values = logits[:, P - 1:], values[:, P - 1:]
    logits_ref = ref(idx[:, :-1])[:, P - 1:]
    y = idx[:, P:]
    logp, logp_ref = token_logprobs(logits, y), token_logprobs(logits_ref, y)
    score = reward_model(idx)
    advantages = gae(penalized_rewards(score, logp, logp_ref, beta), values, gamma, lam)
    returns = advantages + values
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return dict(idx=idx, logp=logp, advantages=advantages, returns=returns, score=score,
                kl=kl_per_token(logits, logits_ref).sum(-1))
