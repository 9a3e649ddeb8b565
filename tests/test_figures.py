"""The README's figures: drawn offline from the committed results, and the committed PNGs drawn
from the current ones."""
import pytest
from PIL import Image

from dlhistory import figures


def test_power_law_fit_recovers_a_known_exponent():
    points = [(n, 3.0 * n ** -0.07) for n in (1e4, 3e4, 1e5, 1e6)]
    a, alpha = figures.power_law(points)
    assert a == pytest.approx(3.0) and alpha == pytest.approx(0.07)


def test_leading_numbers_of_paper_values():
    assert figures._number("6x") == 6 and figures._number("0.35 (1.60 vs 1.25)") == 0.35
    assert figures._number(8.93) == 8.93 and figures._number("n/a") is None


def test_every_figure_is_rebuilt_offline_small_and_titled(tmp_path):
    paths = figures.build(tmp_path)
    assert sorted(p.name for p in paths) == sorted(figures.FIGURES)
    for path in paths:
        assert path.stat().st_size < 100_000, f"{path.name} is over 100 KB"


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_committed_figures_match_the_current_results(name):
    _, data = figures.FIGURES[name]
    committed = Image.open(figures.IMAGES / name).text.get("Source")
    assert committed == figures.digest(data()), f"images/{name} is out of date: run `python -m dlhistory figures`"
