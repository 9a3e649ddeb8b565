"""One plain training loop: progress bar, a history of metrics, evaluation, and
checkpoints that let an interrupted run resume where it stopped.

The loop does not decide how a step is taken: `step(batch)` does the forward pass, the
backward pass and the update, and returns its metrics. Topics that use autograd build it
with `autograd_step`; the backpropagation topic passes its hand-written update instead.
"""
import itertools
import os
from pathlib import Path

import torch
from tqdm.auto import tqdm


def autograd_step(model, optimizer, loss_fn, clip=None, schedule=None):
    """A step function for `fit`: loss, backward, optional gradient clipping, update, and
    optional learning-rate schedule step.

    loss_fn(model, batch) returns the scalar loss, or (loss, {metric: float}) to log more,
    e.g. the error on the batch.
    """
    def step(batch):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        out = loss_fn(model, batch)
        loss, metrics = out if isinstance(out, tuple) else (out, {})
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        return {"loss": loss.item(), **metrics}
    return step


def _batches(data, skip):
    """Cycle through `data` (anything iterable, re-iterated each epoch) forever, after
    skipping `skip` batches, so a resumed run sees the batches it would have seen."""
    stream = itertools.chain.from_iterable(iter(lambda: data, None))
    return itertools.islice(stream, skip, None)


def _save(path, state, step, history):
    """Write the checkpoint atomically: a run killed mid-write keeps the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"step": step, "history": history, "rng": torch.get_rng_state(),
                "state": {name: obj.state_dict() for name, obj in state.items()}}, tmp)
    os.replace(tmp, path)


def fit(step, data, steps, *, state=None, evaluate=None, eval_every=None, log_every=None,
        checkpoint=None, checkpoint_every=None, desc="train"):
    """Run `steps` updates of `step(batch) -> {metric: float}` over `data`.

    - history: {metric: [(step, value), ...]}; training metrics are averaged over
      `log_every` steps (default: ~100 points per run), `evaluate() -> {metric: float}`
      is called every `eval_every` steps and at the end.
    - checkpoint: a path; the objects in `state` (model, optimizer: anything with
      state_dict) are saved there every `checkpoint_every` steps and at the end. If the
      file exists, the run resumes from it (loaded with weights_only=True); a finished
      run resumes at its last step and returns its history at once.
    """
    state = state or {}
    log_every = log_every or max(1, steps // 100)
    history, start = {}, 0
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        checkpoint_every = checkpoint_every or max(1, steps // 10)
        if checkpoint.exists():
            saved = torch.load(checkpoint, weights_only=True)
            for name, obj in state.items():
                obj.load_state_dict(saved["state"][name])
            torch.set_rng_state(saved["rng"])
            history, start = saved["history"], saved["step"]
            print(f"resumed from {checkpoint} at step {start} of {steps}")

    sums, count = {}, 0
    # tqdm.notebook ignores TQDM_DISABLE, so honour it here: the runner sets it, because
    # progress widgets in a saved notebook are only noise.
    bar = tqdm(_batches(data, start), total=steps, initial=start, desc=desc, leave=False,
               disable=bool(os.environ.get("TQDM_DISABLE")))
    for i, batch in zip(range(start + 1, steps + 1), bar):
        for key, value in step(batch).items():
            sums[key] = sums.get(key, 0.0) + value
        count += 1
        if i % log_every == 0 or i == steps:
            for key, total in sums.items():
                history.setdefault(key, []).append((i, total / count))
            bar.set_postfix({key: f"{total / count:.4g}" for key, total in sums.items()})
            sums, count = {}, 0
        if evaluate is not None and ((eval_every and i % eval_every == 0) or i == steps):
            for key, value in evaluate().items():
                history.setdefault(key, []).append((i, value))
        if checkpoint is not None and (i % checkpoint_every == 0 or i == steps):
            _save(checkpoint, state, i, history)
    bar.close()
    return history


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    """Classification accuracy in % of `model` on (x, y), in eval mode, `batch` examples at a
    time (so that big test sets fit in memory), each moved to the model's device."""
    model.eval()
    where = next(model.parameters()).device
    correct = sum((model(x[i:i + batch].to(where)).argmax(1) == y[i:i + batch].to(where)).sum().item()
                  for i in range(0, len(x), batch))
    return 100 * correct / len(x)


def last(history, key):
    """The latest value of a metric in a history."""
    return history[key][-1][1]
