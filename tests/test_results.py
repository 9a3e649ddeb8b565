import json

import pytest

from dlhistory import results

ROW = dict(metric="accuracy (%)", paper=99.0, paper_setting="LeNet-5, MNIST 60k", ours=93.456789,
           setting="LeNet-5, MNIST 5k", bar=(">=", 90), key=True)


def test_record_writes_by_scale_with_verdicts_and_keeps_other_scales(tmp_path, monkeypatch):
    monkeypatch.setenv("DLHISTORY_SCALE", "full")
    results.record([ROW], budget="1 min", folder=tmp_path)
    monkeypatch.setenv("DLHISTORY_SCALE", "small")
    shown = results.record([dict(ROW, ours=89.0)], budget="2 min", folder=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved) == {"small", "full"}
    assert saved["full"]["rows"][0]["verdict"] == "met" and saved["small"]["rows"][0]["verdict"] == "not met"
    assert saved["small"]["budget"] == "2 min" and saved["small"]["flops"] >= 0 and saved["small"]["wall_s"] > 0
    assert "| **accuracy (%)** (key claim) | 99 | LeNet-5, MNIST 60k | 89 | LeNet-5, MNIST 5k | >= 90 | ❌ **not met** |" \
        in shown.data


def test_smoke_never_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("DLHISTORY_SCALE", "smoke")
    shown = results.record([ROW], budget="1 s", folder=tmp_path)
    assert not (tmp_path / "results.json").exists()
    assert "smoke" in shown.data and "✅ met" in shown.data


@pytest.mark.parametrize("ours, bar, expected", [
    (3, (">=", 3), "met"), (3, (">", 3), "not met"), (1e-7, ("<=", 1e-6), "met"), (2, ("<", 1), "not met"),
    (60000, ("==", 60000), "met"), (5, "reported", "reported")])
def test_bars_are_evaluated(ours, bar, expected):
    assert results.verdict(ours, bar) == expected


@pytest.mark.parametrize("change, message", [
    (dict(bar="≥ 90"), "a bar is"), (dict(setting=""), "both settings"), (dict(paper_setting=""), "both settings"),
    (dict(key=False), "exactly one row")])
def test_bad_rows_are_clear_errors(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        results.record([dict(ROW, **change)], budget="", folder=tmp_path)


def test_rows_need_every_field(tmp_path):
    row = dict(ROW)
    del row["setting"]
    with pytest.raises(ValueError, match="lacks setting"):
        results.record([row], budget="", folder=tmp_path)


def test_a_paper_without_a_number_needs_no_setting(tmp_path):
    results.record([ROW, dict(ROW, metric="gradient error", paper="n/a", paper_setting="", key=False)],
                   budget="", folder=tmp_path)


def test_readme_line_and_summary_show_the_key_claim_with_its_verdict(tmp_path, monkeypatch):
    from dlhistory import manifest
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    good, bad = manifest.Topic("01-p/01-a", "a", "A", "architecture"), manifest.Topic("01-p/02-b", "b", "B", "architecture")
    monkeypatch.setenv("DLHISTORY_SCALE", "small")
    for topic, ours in [(good, 95.0), (bad, 50.0)]:
        topic.path.mkdir(parents=True)
        results.record([ROW | dict(ours=ours), dict(ROW, metric="other", key=False)], budget="", folder=topic.path)
    table = results.readme_table([good, bad])
    assert len(table.splitlines()) == 4  # header, rule, one line per topic
    assert "| [b](01-p/02-b/b.ipynb) | accuracy (%) | 99 (LeNet-5, MNIST 60k) | 50 (LeNet-5, MNIST 5k; small) | ❌" in table
    assert results.summary([good, bad]) == "Of the 2 key claims recorded so far: 1 met; 1 not met (b).\n"
    assert "## [B](01-p/02-b/b.ipynb) (b), small scale" in results.results_md([good, bad])


def test_numbers_are_formatted_for_reading():
    assert [results._format(v) for v in (60000, 93.456789, 4.2e-17, 123456.7, "n/a", "|h| > 1")] == \
        ["60,000", "93.46", "4.2e-17", "123,457", "n/a", "\\|h\\| > 1"]
