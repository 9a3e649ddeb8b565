"""Generated sequence tasks that are lessons in themselves, seeded and fast: the adding problem
(long time lags), the embedded Reber grammar and its continual stream (learning to forget), and
date-format translation (alignments you can read). They are the same at every scale; a topic
picks the sizes.
"""
import datetime
import random

import torch


def adding_problem(n, T, seed=0):
    """The adding problem in its modern form: a sequence of T (value, marker) pairs, values
    uniform in [0, 1], exactly two markers set to 1 (one in each half of the sequence); the
    target is the sum of the two marked values. Predicting the mean, 1, scores an MSE of
    Var(a + b) = 2/12 = 0.167: the baseline a model without memory cannot beat. (Hochreiter and
    Schmidhuber's experiment 4 used values in [-1, 1] and a scaled target; see the lstm topic.)

    Returns x [n, T, 2] float and y [n] float.
    """
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, T, generator=g)
    half = T // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, T, (n,), generator=g)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), values[rows, first] + values[rows, second]


REBER_SYMBOLS = "BTPSXVE"

# Reber's finite-state grammar: state -> [(symbol, next state)], each branch taken with
# probability 1/2; state 6 emits the final E.
_REBER = {0: [("B", 1)], 1: [("T", 2), ("P", 3)], 2: [("S", 2), ("X", 4)], 3: [("T", 3), ("V", 5)],
          4: [("X", 3), ("S", 6)], 5: [("P", 4), ("V", 6)], 6: [("E", None)]}


def _reber(rng):
    """One Reber string with, for each symbol, the set of symbols the grammar allows next
    (None after the final E: the caller knows what follows)."""
    symbols, legal, state = [], [], 0
    while state is not None:
        symbol, state = rng.choice(_REBER[state])
        symbols.append(symbol)
        legal.append({s for s, _ in _REBER[state]} if state is not None else None)
    return symbols, legal


def embedded_reber(rng):
    """One embedded Reber string, B (T|P) <Reber string> (T|P) E, where the second T or P
    repeats the first: the long-range dependency. Returns (symbols, legal next symbols), a set
    per position; after the final E the set is {B}, the next string of a continual stream."""
    branch = rng.choice("TP")
    inner, inner_legal = _reber(rng)
    symbols = ["B", branch] + inner + [branch, "E"]
    legal = [{"T", "P"}, {"B"}] + inner_legal[:-1] + [{branch}, {"E"}, {"B"}]
    return symbols, legal


def reber_stream(n_strings, seed=0):
    """The continual embedded Reber grammar (Gers, Schmidhuber and Cummins 2000): n_strings
    embedded Reber strings concatenated with no marker between them, so a net that is never
    reset must find the string boundaries itself.

    Returns symbols [L] int64 (indices into REBER_SYMBOLS) and legal [L, 7] float, a multi-hot
    of the symbols allowed to come next at every position: the prediction targets.
    """
    rng = random.Random(seed)
    symbols, keys, sets = [], [], {}   # the grammar allows only a handful of distinct next-symbol sets
    for _ in range(n_strings):
        s, l = embedded_reber(rng)
        symbols += s
        keys += [sets.setdefault(frozenset(allowed), len(sets)) for allowed in l]
    rows = torch.zeros(len(sets), len(REBER_SYMBOLS))
    for allowed, row in sets.items():
        rows[row, [REBER_SYMBOLS.index(c) for c in allowed]] = 1.0
    return torch.tensor([REBER_SYMBOLS.index(c) for c in symbols]), rows[torch.tensor(keys)]


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_FORMATS = [  # how people write a date; each field is spelled out here, no locale involved
    lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}",
    lambda d: f"{_MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    lambda d: f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{_DAYS[d.weekday()][:3]} {_MONTHS[d.month - 1][:3]} {d.day:02d} {d.year}",
    lambda d: f"{d.month}/{d.day}/{d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
]


def dates(n, seed=0, start=1950, end=2050):
    """Date-format translation: n pairs (a date as a person might write it, in one of nine
    formats, the same date in ISO 8601). Character-level, so a translation model's attention
    should move along the source as it writes year, month and day: crisp alignments.

    Returns a list of (source, target) strings, e.g. ("Sunday, 29 November 2026", "2026-11-29").
    """
    rng = random.Random(seed)
    first, days = datetime.date(start, 1, 1), (datetime.date(end, 12, 31) - datetime.date(start, 1, 1)).days
    pairs = []
    for _ in range(n):
        d = first + datetime.timedelta(days=rng.randrange(days + 1))
        pairs.append((rng.choice(_FORMATS)(d), d.isoformat()))
    return pairs
