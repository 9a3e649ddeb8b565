import json

import pytest

from dlhistory import results

ROWS = [dict(metric="accuracy (%)", paper="99.0", bar="≥ 90", ours=93.456789)]


def test_record_writes_by_scale_and_keeps_other_scales(tmp_path, monkeypatch):
    monkeypatch.setenv("DLHISTORY_SCALE", "full")
    results.record(ROWS, budget="1 min", folder=tmp_path)
    monkeypatch.setenv("DLHISTORY_SCALE", "small")
    shown = results.record([dict(ROWS[0], ours=91.0)], budget="2 min", folder=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved) == {"small", "full"}
    assert saved["full"]["rows"][0]["ours"] == 93.456789 and saved["small"]["budget"] == "2 min"
    assert "| accuracy (%) | 99.0 | ≥ 90 | 91 | 93.46 |" in shown.data


def test_smoke_never_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("DLHISTORY_SCALE", "smoke")
    shown = results.record(ROWS, budget="1 s", folder=tmp_path)
    assert not (tmp_path / "results.json").exists()
    assert "ours (smoke)" in shown.data


def test_rows_need_every_column(tmp_path):
    with pytest.raises(ValueError, match="lacks bar"):
        results.record([dict(metric="m", paper="p", ours=1)], budget="", folder=tmp_path)


def test_numbers_are_formatted_for_reading():
    assert [results._format(v) for v in (60000, 93.456789, 4.2e-17, 123456.7, "n/a", "|h| > 1")] == \
        ["60,000", "93.46", "4.2e-17", "123,457", "n/a", "\\|h\\| > 1"]
