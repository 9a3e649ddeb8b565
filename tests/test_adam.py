"""Adam: the helper module adam.py against torch's own optimizers, step for step."""
import copy

import pytest
import torch

from dlhistory.topics import adam

# ours, torch's: the same hyperparameters, several settings each
PAIRS = {
    "adam": (lambda p: adam.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam betas": (lambda p: adam.Adam(p, lr=0.003, betas=(0.5, 0.9999), eps=1e-6),
                   lambda p: torch.optim.Adam(p, lr=0.003, betas=(0.5, 0.9999), eps=1e-6)),
    "adam l2": (lambda p: adam.Adam(p, lr=0.01, weight_decay=0.1),
                lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "adamw": (lambda p: adam.AdamW(p, lr=0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    "adamw default": (lambda p: adam.AdamW(p), lambda p: torch.optim.AdamW(p)),
    "adamax": (lambda p: adam.AdaMax(p, lr=0.01), lambda p: torch.optim.Adamax(p, lr=0.01)),
    "adamax betas": (lambda p: adam.AdaMax(p, lr=0.002, betas=(0.8, 0.99)),
                     lambda p: torch.optim.Adamax(p, lr=0.002, betas=(0.8, 0.99))),
    "sgd": (lambda p: adam.SGD(p, 0.1), lambda p: torch.optim.SGD(p, 0.1)),
    "sgd momentum": (lambda p: adam.SGD(p, 0.1, momentum=0.9), lambda p: torch.optim.SGD(p, 0.1, momentum=0.9)),
    "sgd nesterov": (lambda p: adam.SGD(p, 0.05, momentum=0.8, nesterov=True),
                     lambda p: torch.optim.SGD(p, 0.05, momentum=0.8, nesterov=True)),
    "adagrad": (lambda p: adam.AdaGrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "rmsprop": (lambda p: adam.RMSProp(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop alpha": (lambda p: adam.RMSProp(p, lr=0.001, alpha=0.9, eps=1e-6),
                      lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-6)),
}
SHAPES = [(5,), (7, 3), (2, 3, 4)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", PAIRS)
def test_step_for_step_on_random_gradients(name, shape, dtype):
    """Equal after every one of 25 steps, gradients at scales 1e-3 to 1e2 per coordinate."""
    ours, theirs = PAIRS[name]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(shape, generator=g, dtype=dtype)
    b = a.clone()
    mine, reference = ours([a]), theirs([b])
    scales = 10.0 ** torch.randint(-3, 3, shape, generator=g).to(dtype)
    for _ in range(25):
        grad = scales * torch.randn(shape, generator=g, dtype=dtype)
        a.grad, b.grad = grad, grad.clone()
        mine.step()
        reference.step()
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", PAIRS)
def test_step_for_step_training_a_network(name):
    """Two copies of a small net, one per optimizer, on the same batches: equal weights throughout,
    with several parameter tensors of different shapes and the gradients that autograd computes."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    twin = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    twin.load_state_dict(net.state_dict())
    ours, theirs = PAIRS[name]
    mine, reference = ours(net.parameters()), theirs(twin.parameters())
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    for i in range(20):
        batch = slice(8 * (i % 8), 8 * (i % 8) + 8)
        for model, optimizer in ((net, mine), (twin, reference)):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        for p, q in zip(net.parameters(), twin.parameters()):
            torch.testing.assert_close(p, q)


def test_without_bias_correction_or_momentum_is_rmsprop():
    """bias_correction=False drops (A3)-(A4): with beta1 = 0 it is RMSProp (rho = beta2)."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(4, 5, generator=g, dtype=torch.float64)
    b = a.clone()
    mine = adam.Adam([a], lr=0.01, betas=(0.0, 0.99), bias_correction=False)
    reference = torch.optim.RMSprop([b], lr=0.01, alpha=0.99)
    for _ in range(20):
        grad = torch.randn(4, 5, generator=g, dtype=torch.float64)
        a.grad, b.grad = grad, grad.clone()
        mine.step()
        reference.step()
    torch.testing.assert_close(a, b)


def test_first_step_sizes():
    """Section 2.1 and 3: with the correction the first step is alpha * sign(g) (for eps << |g|);
    without it, alpha * (1 - beta1) / sqrt(1 - beta2) * sign(g)."""
    for correct, factor in ((True, 1.0), (False, 0.1 / 0.0001 ** 0.5)):
        theta = torch.zeros(3, dtype=torch.float64)
        theta.grad = torch.tensor([2.0, -0.5, 1e-3], dtype=torch.float64)
        adam.Adam([theta], lr=0.01, betas=(0.9, 0.9999), eps=1e-12, bias_correction=correct).step()
        torch.testing.assert_close(theta, -0.01 * factor * theta.grad.sign())


def test_scheduler_and_state_dict_work():
    """They are torch optimizers: a scheduler changes their lr, and a state_dict round trip resumes exactly."""
    w = torch.nn.Parameter(torch.ones(3))
    optimizer = adam.Adam([w], lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (t + 1) ** 0.5)
    for _ in range(3):
        w.grad = torch.ones(3)
        optimizer.step()
        schedule.step()
    assert abs(optimizer.param_groups[0]["lr"] - 0.1 / 2) < 1e-12
    twin = torch.nn.Parameter(w.detach().clone())
    resumed = adam.Adam([twin], lr=0.1)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # as torch.save and torch.load would
    for p, opt in ((w, optimizer), (twin, resumed)):
        p.grad = torch.full((3,), -2.0)
        opt.step()
    torch.testing.assert_close(w, twin)
