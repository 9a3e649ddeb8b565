"""A topic's results beside the paper's, with a verdict on each: recorded into the topic's
`results.json` (keyed by scale), shown as a table in the notebook, summarised one line per
topic in the README and in full in RESULTS.md.

A row is a dict:
    metric         what is measured, e.g. "MNIST test accuracy (%)"
    paper          the published number (or a short claim, or "n/a")
    paper_setting  the paper's data and model, e.g. "784-800-10 MLP, MNIST 60k (Simard 2003)"
                   ("" only when paper is "n/a")
    ours           our measured number
    setting        our data and model, e.g. "784-256-10 MLP, MNIST 5k subset"
    bar            what this scale must show: (op, value) with op one of >= > <= < ==, which
                   is evaluated against `ours`, or "reported" (no bar: a measurement to read)
    key            True on exactly one row: the paper's key claim
Each row gets a verdict, "met", "not met" or "reported". A row that is not met is shown as
such everywhere, and never fails the run: the notebook's asserts decide what must hold.
A `smoke` run never writes: tests must leave the repository as they found it.
"""
import datetime
import json
import operator
import time
from pathlib import Path

import dlhistory
from dlhistory.device import describe
from dlhistory.scale import SCALES, current

FILE = "results.json"
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
FIELDS = ("metric", "paper", "paper_setting", "ours", "setting", "bar")
MET, NOT_MET, REPORTED = "met", "not met", "reported"


def verdict(ours, bar):
    """Evaluate a bar: (op, value) against ours, or "reported"."""
    if bar == REPORTED:
        return REPORTED
    if not (isinstance(bar, (tuple, list)) and len(bar) == 2 and bar[0] in OPS):
        raise ValueError(f"a bar is (op, value) with op one of {' '.join(OPS)}, or 'reported'; got {bar!r}")
    return MET if OPS[bar[0]](ours, bar[1]) else NOT_MET


def _check(rows):
    for row in rows:
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise ValueError(f"result row {row.get('metric', row)!r} lacks {', '.join(missing)}")
        if not row["setting"] or (not row["paper_setting"] and row["paper"] != "n/a"):
            raise ValueError(f"result row {row['metric']!r}: name both settings, the paper's and ours")
    keys = [row["metric"] for row in rows if row.get("key")]
    if len(keys) != 1:
        raise ValueError(f"mark exactly one row as the key claim (key=True); marked: {keys}")


def _format(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|")  # a bare | would split a Markdown table cell
    if isinstance(value, int) or abs(value) >= 1e4:  # counts: 60,000 rather than 6e+04
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _bar(bar):
    return bar if bar == REPORTED else f"{bar[0]} {_format(bar[1])}"


def _mark(verdict):
    return {MET: "✅ met", NOT_MET: "❌ **not met**", REPORTED: "reported"}[verdict]


def _flops(n):
    return f"{n:.2g} FLOPs" if n else "FLOPs not counted"


def load(folder="."):
    file = Path(folder) / FILE
    return json.loads(file.read_text()) if file.exists() else {}


def table(run):
    """One run's rows as Markdown: the paper's number in its setting, ours in ours, bar, verdict."""
    lines = ["| metric | paper | paper's setting | ours | our setting | bar | verdict |",
             "|---|---|---|---|---|---|---|"]
    for row in run["rows"]:
        metric = f"**{_format(row['metric'])}** (key claim)" if row.get("key") else _format(row["metric"])
        lines.append(f"| {metric} | {_format(row['paper'])} | {_format(row['paper_setting'])} | "
                     f"{_format(row['ours'])} | {_format(row['setting'])} | {_format(_bar(row['bar']))} | "
                     f"{_mark(row['verdict'])} |")
    return "\n".join(lines) + (f"\n\nBudget: {run['budget']}; {run['wall_s']:.0f} s on {run['device']}, "
                               f"{_flops(run['flops'])} of training.\n")


def record(rows, budget, folder="."):
    """Record this run's rows under the scale in force, with their verdicts, the wall time
    since the notebook started, the device and the training FLOPs counted by dlhistory.train;
    return the table (an IPython Markdown object, so that a notebook cell shows it rendered)."""
    from IPython.display import Markdown

    from dlhistory.train import training_flops
    _check(rows)
    rows = [dict(row, bar=list(row["bar"]) if row["bar"] != REPORTED else REPORTED,
                 verdict=verdict(row["ours"], row["bar"]), key=bool(row.get("key"))) for row in rows]
    run = {"rows": rows, "budget": budget, "device": describe(), "date": datetime.date.today().isoformat(),
           "wall_s": round(time.perf_counter() - dlhistory.STARTED, 1), "flops": training_flops()}
    scale = current()
    if scale != "smoke":
        recorded = load(folder)
        recorded[scale] = run
        (Path(folder) / FILE).write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    return Markdown(f"**{scale}** scale\n\n" + table(run))


def key_claim(recorded):
    """(scale, the key row) of the largest scale a topic has recorded, or None."""
    for scale in reversed(SCALES):
        for row in recorded.get(scale, {}).get("rows", []):
            if row.get("key"):
                return scale, row
    return None


def readme_table(topics):
    """The README's table: one line per topic, its key claim: the paper's number in its
    setting, ours in ours, the verdict. `topics` are manifest entries in curriculum order."""
    lines = ["| topic | key claim | paper | ours | verdict |", "|---|---|---|---|---|"]
    for topic in topics:
        found = key_claim(load(topic.path))
        if found is None:
            continue
        scale, row = found
        lines.append(f"| [{topic.slug}]({topic.folder}/{topic.slug}.ipynb) | {_format(row['metric'])} | "
                     f"{_format(row['paper'])} ({_format(row['paper_setting'])}) | "
                     f"{_format(row['ours'])} ({_format(row['setting'])}; {scale}) | {_mark(row['verdict'])} |")
    return "\n".join(lines) + "\n"


def summary(topics):
    """One sentence that counts the key claims by verdict, for the README: what the curriculum
    reproduces is said by the verdicts, never by hand."""
    verdicts = {}
    for topic in topics:
        found = key_claim(load(topic.path))
        if found:
            verdicts.setdefault(found[1]["verdict"], []).append(topic.slug)
    total = sum(map(len, verdicts.values()))
    parts = [f"{len(verdicts.get(v, []))} {v}" + (f" ({', '.join(verdicts[v])})" if v != MET and verdicts.get(v) else "")
             for v in (MET, NOT_MET, REPORTED) if verdicts.get(v)]
    return f"Of the {total} key claims recorded so far: {'; '.join(parts)}.\n"


def results_md(topics):
    """RESULTS.md: every row of every topic at every recorded scale, with the budgets."""
    out = ["# Results\n",
           "Every measurement the committed runs recorded, beside the paper's number, each with both settings,",
           "its bar and its verdict. Generated from each topic's `results.json` by",
           "`python -m dlhistory results --write`; the README shows the key claims.\n"]
    for topic in topics:
        recorded = load(topic.path)
        for scale in SCALES:
            if scale in recorded:
                out.append(f"## [{topic.title}]({topic.folder}/{topic.slug}.ipynb) ({topic.slug}), {scale} scale\n")
                out.append(table(recorded[scale]))
    return "\n".join(out)
