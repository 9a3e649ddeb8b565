"""The generated sequence tasks: each has the property its topic's lesson rests on."""
import datetime
import random

import torch

from dlhistory.data import sequences


def test_adding_problem_two_markers_one_per_half_and_the_sum():
    x, y = sequences.adding_problem(500, 40, seed=3)
    assert x.shape == (500, 40, 2) and y.shape == (500,)
    markers = x[..., 1]
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :20].sum(1) == 1).all() and (markers[:, 20:].sum(1) == 1).all()
    torch.testing.assert_close(y, (x[..., 0] * markers).sum(1))
    # predicting the mean scores about 1/6: the baseline without memory
    assert abs(((y - 1) ** 2).mean().item() - 1 / 6) < 0.02
    assert torch.equal(sequences.adding_problem(5, 10, seed=1)[0], sequences.adding_problem(5, 10, seed=1)[0])


def test_embedded_reber_strings_obey_the_grammar():
    rng = random.Random(0)
    for _ in range(200):
        symbols, legal = sequences.embedded_reber(rng)
        assert symbols[0] == "B" and symbols[-1] == "E" and symbols[1] == symbols[-2] in "TP"
        assert symbols[2] == "B" and symbols[-3] == "E"
        for now, allowed in zip(symbols[1:], legal[:-1]):
            assert now in allowed   # every symbol was legal where it stands
        assert legal[-1] == {"B"} and legal[-3] == {symbols[1]}


def test_reber_stream_targets_are_the_legal_next_symbols():
    symbols, legal = sequences.reber_stream(50, seed=1)
    assert symbols.shape[0] == legal.shape[0] and legal.shape[1] == 7
    assert legal[torch.arange(len(symbols) - 1), symbols[1:]].eq(1).all()
    # the long-range dependency: after each inner E exactly one symbol is legal
    assert (legal.sum(1) == 1).any() and (legal.sum(1) <= 2).all()


def test_dates_translate_to_iso():
    pairs = sequences.dates(300, seed=2)
    assert len({source for source, _ in pairs}) > 250
    for source, target in pairs:
        day = datetime.date.fromisoformat(target)
        assert str(day.year) in source and (str(day.day) in source)
    assert sequences.dates(10, seed=5) == sequences.dates(10, seed=5)
