"""Weight decay: the helper module weight_decay.py against torch's own optimizers and a direct
solve, on more than one shape."""
import pytest
import torch
from torch.testing import assert_close

from dlhistory.topics import weight_decay as wd

SHAPES = [(5,), (7, 3), (4, 3, 2)]


def _run(make, shape, steps=20, l2=0.0, dtype=torch.float32, seed=0):
    """Weights after `steps` updates of make([w]) on random gradients of E_0 = sum(g * w);
    `l2` adds our l2_penalty to the loss."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=gen, dtype=dtype).requires_grad_()
    optimizer = make([w])
    for _ in range(steps):
        loss = (torch.randn(shape, generator=gen, dtype=dtype) * w).sum()
        if l2:
            loss = loss + wd.l2_penalty([w], l2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.detach()


@pytest.mark.parametrize("shape", SHAPES)
def test_l2_penalty_gradient_is_lambda_w(shape):
    w = torch.randn(shape, requires_grad=True)
    loss = wd.l2_penalty([w], 0.3)
    assert_close(loss, 0.15 * (w ** 2).sum())
    loss.backward()
    assert_close(w.grad, 0.3 * w.detach())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_decay_in_update_matches_torch(shape, momentum, nesterov):
    ours = _run(lambda p: wd.SGD(p, lr=0.05, momentum=momentum, weight_decay=0.1, nesterov=nesterov), shape)
    theirs = _run(lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum, weight_decay=0.1, nesterov=nesterov), shape)
    assert_close(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_l2_in_loss_matches_torch_sgd_weight_decay(shape, momentum):
    ours = _run(lambda p: wd.SGD(p, lr=0.05, momentum=momentum), shape, l2=0.1)
    theirs = _run(lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum, weight_decay=0.1), shape)
    assert_close(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES)
def test_l2_in_loss_matches_torch_adam_weight_decay(shape):
    # our l2_penalty through torch's plain Adam is Adam's own L2 rule (Adam itself: the adam topic)
    ours = _run(lambda p: torch.optim.Adam(p, lr=0.01), shape, l2=0.1)
    theirs = _run(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1), shape)
    assert_close(ours, theirs)


@pytest.mark.parametrize("N,p", [(6, 3), (5, 9)])
def test_decay_solution_is_the_minimum_of_the_cost(N, p):
    X, y, u = wd.teacher_student(N, p, sigma2=0.3, draws=2, generator=torch.Generator().manual_seed(0))
    lams = [0.0, 0.1, 2.0]
    w = wd.decay_solution(X, y, lams)
    assert w.shape == (3, 2, N)
    A = X.transpose(1, 2) @ X / N
    c = X.transpose(1, 2) @ y.unsqueeze(-1) / N ** 0.5
    for k, lam in enumerate(lams[1:], 1):
        direct = torch.linalg.solve(A + lam * torch.eye(N, dtype=X.dtype), c).squeeze(-1)
        assert_close(w[k], direct)
        # the gradient of E(w) = 1/2 sum (y - w.x/sqrt N)^2 + lam/2 |w|^2 vanishes there
        wk = w[k].clone().requires_grad_()
        E = 0.5 * ((y - (X @ wk.unsqueeze(-1)).squeeze(-1) / N ** 0.5) ** 2).sum() + wd.l2_penalty([wk], lam)
        E.backward()
        assert_close(wk.grad, torch.zeros_like(wk), atol=1e-9, rtol=0)
    assert_close(w[0], (torch.linalg.pinv(X) @ y.unsqueeze(-1)).squeeze(-1) * N ** 0.5)   # smallest-norm solution
    assert_close(wd.generalization_error(w, u), ((w - u) ** 2).sum(-1) / N)


def test_theory_limits_and_optimum():
    for alpha in (0.5, 2.0):
        assert wd.theory_error(alpha, 1e-8, 0.5) == pytest.approx(wd.theory_error(alpha, 0.0, 0.5), rel=1e-5)
    for alpha, sigma2, u2 in [(1.0, 0.5, 1.0), (0.5, 0.2, 2.0), (3.0, 1.0, 0.5)]:
        opt = wd.optimal_decay(sigma2, u2)
        assert wd.theory_error(alpha, opt, sigma2, u2) == pytest.approx(sigma2 * wd.response_G(alpha, opt))
        assert wd.theory_error(alpha, opt, sigma2, u2) < min(wd.theory_error(alpha, opt * f, sigma2, u2) for f in (0.8, 1.25))
