"""The training loop: it learns, logs, evaluates, and resumes from checkpoints exactly."""
import pytest
import torch
from torch import nn

from dlhistory.train import Batches, accuracy, autograd_step, classification_step, fit, last, training_flops


def problem(seed=0):
    torch.manual_seed(seed)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = autograd_step(model, optimizer, lambda m, b: ((m(b[0]).squeeze(1) - b[1]) ** 2).mean())
    return model, optimizer, step, batches


def test_fit_learns_and_records_history():
    model, optimizer, step, batches = problem()
    history = fit(step, batches, steps=200, log_every=10, eval_every=50,
                  evaluate=lambda: {"weight": model.weight[0, 0].item()})
    assert len(history["loss"]) == 20 and history["loss"][-1][0] == 200
    assert last(history, "loss") < 1e-3 < history["loss"][0][1]
    assert [s for s, _ in history["weight"]] == [50, 100, 150, 200]
    assert abs(last(history, "weight") - 1.0) < 0.05


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    model, optimizer, step, batches = problem()
    uninterrupted = fit(step, batches, steps=30, log_every=5)
    expected = model.weight.detach().clone()

    model, optimizer, step, batches = problem()
    calls = [0]

    def crashing_step(batch):
        calls[0] += 1
        if calls[0] == 18:
            raise KeyboardInterrupt
        return step(batch)

    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(crashing_step, batches, steps=30, log_every=5, checkpoint=ckpt, checkpoint_every=5,
            state={"model": model, "optimizer": optimizer})
    assert torch.load(ckpt, weights_only=True)["step"] == 15

    model, optimizer, step, batches = problem()  # a fresh process: new objects
    resumed = fit(step, batches, steps=30, log_every=5, checkpoint=ckpt, checkpoint_every=5,
                  state={"model": model, "optimizer": optimizer})
    torch.testing.assert_close(model.weight.detach(), expected)
    assert resumed == uninterrupted
    assert not list(tmp_path.glob("*.tmp"))


def test_finished_run_returns_at_once(tmp_path):
    model, optimizer, step, batches = problem()
    ckpt = tmp_path / "run.pt"
    history = fit(step, batches, steps=10, checkpoint=ckpt, state={"model": model, "optimizer": optimizer})
    again = fit(lambda b: pytest.fail("no step should run"), batches, steps=10, checkpoint=ckpt,
                state={"model": model, "optimizer": optimizer})
    assert again == history


def test_autograd_step_logs_extra_metrics_and_steps_the_schedule():
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 0.5 ** i)
    x, y = torch.ones(4, 2), torch.zeros(4)

    def loss_fn(m, batch):
        error = (m(batch[0]).squeeze(1) - batch[1])
        return (error ** 2).mean(), {"max error": error.abs().max().item()}

    step = autograd_step(model, optimizer, loss_fn, schedule=schedule)
    metrics = step((x, y))
    assert set(metrics) == {"loss", "max error"}
    step((x, y))
    assert optimizer.param_groups[0]["lr"] == 0.25


def test_accuracy_counts_in_chunks_and_in_eval_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.9))
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2))
        model[0].bias.zero_()
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    y = torch.tensor([0, 1, 1])
    assert accuracy(model, x, y, batch=2) == pytest.approx(200 / 3)  # dropout off: exact answer
    assert not model.training


def noisy_problem():
    """Shuffled mini-batches and dropout: both draw random numbers that a resume must replay."""
    torch.manual_seed(0)
    x, y = torch.randn(60, 4), torch.randint(0, 3, (60,))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, optimizer, classification_step(model, optimizer), Batches(x, y, batch_size=8)


def test_resume_with_shuffling_and_dropout_is_exact(tmp_path):
    model, optimizer, step, batches = noisy_problem()
    uninterrupted = fit(step, batches, steps=40, log_every=5)
    expected = [p.detach().clone() for p in model.parameters()]

    model, optimizer, step, batches = noisy_problem()
    calls = [0]

    def crashing_step(batch):   # dies mid-epoch (8 batches an epoch), after a checkpoint at 20
        calls[0] += 1
        if calls[0] == 23:
            raise KeyboardInterrupt
        return step(batch)

    ckpt = tmp_path / "run.pt"
    state = {"model": model, "optimizer": optimizer}
    with pytest.raises(KeyboardInterrupt):
        fit(crashing_step, batches, steps=40, log_every=5, checkpoint=ckpt, checkpoint_every=10, state=state)
    torch.manual_seed(123)   # whatever the new process's random state, the resume restores it

    model, optimizer, step, batches = noisy_problem()
    resumed = fit(step, batches, steps=40, log_every=5, checkpoint=ckpt, checkpoint_every=10,
                  state={"model": model, "optimizer": optimizer})
    for ours, theirs in zip(model.parameters(), expected):
        torch.testing.assert_close(ours.detach(), theirs, rtol=0, atol=0)
    assert resumed == uninterrupted


def test_fit_counts_training_flops():
    model = nn.Linear(10, 5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = Batches(torch.randn(32, 10), torch.randint(0, 5, (32,)), batch_size=8)
    before = training_flops()
    fit(classification_step(model, optimizer), batches, steps=12)
    # a step: the forward product, 2*8*10*5 FLOPs, and the weight's gradient, as many again
    # (the input needs no gradient)
    assert training_flops() - before == 12 * 2 * (2 * 8 * 10 * 5)


def test_classification_step_reports_loss_and_error():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    step = classification_step(model, torch.optim.SGD(model.parameters(), lr=0.0))
    metrics = step((torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 1])))
    assert metrics["error"] == 50.0
    assert metrics["loss"] == pytest.approx(torch.nn.functional.cross_entropy(torch.tensor([[1.0, 0.0]] * 2),
                                                                             torch.tensor([0, 1])).item())
