"""A topic's results beside the paper's: recorded into the topic's `results.json`, keyed
by scale, and rendered as a Markdown table in the notebook and in the README.

A row is {"metric": str, "paper": str, "bar": str, "ours": number}: `paper` is the
published number with its setting, `bar` what this scale must show (CURRICULUM.md).
A `smoke` run never writes: tests must leave the repository as they found it.
"""
import datetime
import json
from pathlib import Path

from dlhistory.device import describe
from dlhistory.scale import SCALES, scale as current_scale

FILE = "results.json"


def _format(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|")  # a bare | would split a Markdown table cell
    if isinstance(value, int) or abs(value) >= 1e4:  # counts: 60,000 rather than 6e+04
        return f"{value:,.0f}"
    return f"{value:.4g}"


def load(folder="."):
    file = Path(folder) / FILE
    return json.loads(file.read_text()) if file.exists() else {}


def table(recorded):
    """Markdown: one line per metric, the paper's number, the bar, and ours at each scale run."""
    scales = [s for s in SCALES if s in recorded]
    metrics = []
    for s in scales:
        for row in recorded[s]["rows"]:
            if row["metric"] not in [m["metric"] for m in metrics]:
                metrics.append(row)
    lines = ["| metric | paper | bar | " + " | ".join(f"ours ({s})" for s in scales) + " |",
             "|---|---|---|" + "---|" * len(scales)]
    for m in metrics:
        ours = []
        for s in scales:
            found = [r["ours"] for r in recorded[s]["rows"] if r["metric"] == m["metric"]]
            ours.append(_format(found[0]) if found else "")
        lines.append(f"| {_format(m['metric'])} | {_format(m['paper'])} | {_format(m['bar'])} | " + " | ".join(ours) + " |")
    budgets = [f"{s}: {recorded[s]['budget']} ({recorded[s]['device']})" for s in scales]
    return "\n".join(lines) + "\n\nBudget: " + "; ".join(budgets) + "\n"


def record(rows, budget, folder="."):
    """Record this run's rows under the scale in force and return the topic's table
    (an IPython Markdown object, so a notebook cell shows it rendered)."""
    from IPython.display import Markdown
    for row in rows:
        missing = {"metric", "paper", "bar", "ours"} - set(row)
        if missing:
            raise ValueError(f"result row {row} lacks {', '.join(sorted(missing))}")
    s = current_scale()
    recorded = load(folder)
    recorded[s] = {"rows": rows, "budget": budget, "device": describe(),
                   "date": datetime.date.today().isoformat()}
    if s != "smoke":
        (Path(folder) / FILE).write_text(json.dumps(recorded, indent=1) + "\n")
    return Markdown(table(recorded))


def readme_table(topics):
    """The README's table: every topic with recorded results, paper vs ours by scale.
    `topics` are manifest entries (dlhistory.papers.Topic) in curriculum order."""
    lines = ["| topic | metric | paper | bar | ours (small) | ours (full) |", "|---|---|---|---|---|---|"]
    for topic in topics:
        recorded = load(topic.path)
        seen = []
        for s in ("small", "full"):
            for row in recorded.get(s, {}).get("rows", []):
                if row["metric"] not in seen:
                    seen.append(row["metric"])
                    ours = [next((_format(r["ours"]) for r in recorded.get(t, {}).get("rows", [])
                                  if r["metric"] == row["metric"]), "") for t in ("small", "full")]
                    link = f"[{topic.slug}]({topic.folder}/{topic.slug}.ipynb)"
                    lines.append(f"| {link} | {_format(row['metric'])} | {_format(row['paper'])} | {_format(row['bar'])} | "
                                 + " | ".join(ours) + " |")
    return "\n".join(lines) + "\n"
