"""One plain training loop: mini-batches, progress bar, a history of metrics, evaluation,
the compute it spent, and checkpoints that let an interrupted run resume exactly.

The loop does not decide how a step is taken: `step(batch)` does the forward pass, the
backward pass and the update, and returns its metrics. Classifiers use `classification_step`,
other autograd models `autograd_step`; the backpropagation topic passes its hand-written
update instead.
"""
import itertools
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm


class Batches:
    """Mini-batches of in-memory tensors, reshuffled on every pass: `for x, y in Batches(x, y, batch_size=64)`.

    A DataLoader over a TensorDataset fetches and stacks one example at a time, which costs
    more than the model on small nets; slicing a permutation costs nothing. The order comes
    from the batcher's own generator, seeded from torch's global one when the batcher is made
    (so `seed_everything` fixes it), which lets `fit` replay it exactly when a run resumes.
    The tensors may live on any device; len() is the number of batches per epoch.
    """

    def __init__(self, *tensors, batch_size, shuffle=True, generator=None):
        self.tensors, self.batch_size, self.shuffle = tensors, batch_size, shuffle
        self.generator = generator or torch.Generator().manual_seed(int(torch.randint(2 ** 62, ())))

    def __len__(self):
        return -(-len(self.tensors[0]) // self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for i in range(0, n, self.batch_size):
            index = order[i:i + self.batch_size].to(self.tensors[0].device)
            yield tuple(t[index] for t in self.tensors)


class _Flops:
    """The training compute this process has spent, in floating-point operations of matrix
    products and convolutions as torch.utils.flop_counter counts them (forward and backward)."""
    total = 0


def training_flops():
    """FLOPs spent by the steps of every `fit` (and every `counted` step) in this process so far."""
    return _Flops.total


def counted(step):
    """Wrap a step function so that its compute is tallied: the first call runs under torch's
    FLOP counter, and every call adds that count (steps of one run cost the same)."""
    def wrapped(*args, **kwargs):
        if wrapped.flops is None:
            with FlopCounterMode(display=False) as counter:
                out = step(*args, **kwargs)
            wrapped.flops = counter.get_total_flops()
        else:
            out = step(*args, **kwargs)
        _Flops.total += wrapped.flops
        return out
    wrapped.flops = None
    return wrapped


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


def classification_step(model, optimizer, clip=None, schedule=None):
    """`autograd_step` for a classifier on (x, y) batches: cross-entropy on the logits, and the
    batch's error rate in % as a second metric."""
    def loss_fn(model, batch):
        x, y = batch
        logits = model(x)
        return F.cross_entropy(logits, y), {"error": 100 * (logits.argmax(1) != y).float().mean().item()}
    return autograd_step(model, optimizer, loss_fn, clip=clip, schedule=schedule)


def _batches(data, skip):
    """Cycle through `data` (anything iterable, re-iterated each epoch) forever, after
    skipping `skip` batches, so a resumed run sees the batches it would have seen."""
    stream = itertools.chain.from_iterable(iter(lambda: data, None))
    return itertools.islice(stream, skip, None)


def _rng_state():
    """The random states a resumed run restores to continue as if never stopped: the CPU's
    and each GPU's (dropout, augmentation). The batch order needs none: it is replayed from
    the batcher's own generator (Batches), which a fresh process seeds the same way."""
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def _set_rng_state(rng):
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _save(path, state, step, history, rng):
    """Write the checkpoint atomically: a run killed mid-write keeps the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"step": step, "history": history, "rng": rng,
                "state": {name: obj.state_dict() for name, obj in state.items()}}, tmp)
    os.replace(tmp, path)


def fit(step, data, steps, *, state=None, evaluate=None, eval_every=None, log_every=None,
        checkpoint=None, checkpoint_every=None, desc="train"):
    """Run `steps` updates of `step(batch) -> {metric: float}` over `data`.

    - history: {metric: [(step, value), ...]}; training metrics are averaged over
      `log_every` steps (default: ~100 points per run), `evaluate() -> {metric: float}`
      is called every `eval_every` steps and at the end.
    - checkpoint: a path; the objects in `state` (model, optimizer: anything with
      state_dict) are saved there every `checkpoint_every` steps and at the end, with the
      random states. If the file exists, the run resumes from it (loaded with
      weights_only=True) to the same weights as an uninterrupted run, when `data` draws its
      order from its own generator (Batches does); a finished run returns its history at once.
    - compute: the FLOPs of the first step, times `steps`, are added to `training_flops()`.
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
            _set_rng_state(saved["rng"])
            history, start = saved["history"], saved["step"]
            print(f"resumed from {checkpoint} at step {start} of {steps}")

    step = counted(step)

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
            _save(checkpoint, state, i, history, _rng_state())
    bar.close()
    if step.flops is not None:  # the steps run before a resume cost the same as the ones run now
        _Flops.total += step.flops * start
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
