"""The README's figures, drawn from the manifest and the committed `results.json` files, offline:
`python -m dlhistory figures` writes them into images/.

Each PNG carries, as a text chunk, the sha256 of the data it was drawn from; a test recomputes
it from the current results, so a committed figure that no longer matches them fails.
"""
import hashlib
import json
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from dlhistory import ROOT, manifest, results  # noqa: E402

IMAGES = ROOT / "images"
COLOURS = dict(zip(manifest.CONSTRAINTS, plt.get_cmap("tab10").colors))
VERDICT_COLOURS = {results.MET: "tab:green", results.NOT_MET: "tab:red"}
SCALING = re.compile(r"scaling: val loss \(nats/char\) at (\d+) parameters")
LEADING_NUMBER = re.compile(r"\s*(-?\d+(?:\.\d+)?)")


def _number(value):
    """The number a value starts with ('6x' -> 6.0, '0.35 (1.60 vs 1.25)' -> 0.35), or None."""
    found = LEADING_NUMBER.match(str(value))
    return float(found.group(1)) if found else None


def timeline_data():
    """(year, topic slug, constraint) for every paper of the curriculum."""
    by_slug = {t.slug: t for t in manifest.TOPICS}
    return [(p.year, p.slug, by_slug[p.slug].constraint) for p in manifest.PAPERS]


def key_claims_data():
    """(slug, paper's value, ours, verdict, scale) of every topic that has recorded a key claim."""
    rows = []
    for topic in manifest.TOPICS:
        found = results.key_claim(results.load(topic.path)) if topic.built else None
        if found:
            scale, row = found
            rows.append((topic.slug, str(row["paper"]), row["ours"], row["verdict"], scale))
    return rows


def scaling_data():
    """(parameters, validation loss) of the gpt topic's scaling-law runs, largest scale first."""
    topic = manifest.topic("gpt")
    if not topic.built:
        return []
    found = results.key_claim(results.load(topic.path))
    if not found:
        return []
    run = results.load(topic.path)[found[0]]
    points = [(int(m.group(1)), row["ours"]) for row in run["rows"] if (m := SCALING.fullmatch(row["metric"]))]
    return sorted(points)


def power_law(points):
    """Least squares in log-log space: loss = a * N^-alpha -> (a, alpha)."""
    xs, ys = [math.log(n) for n, _ in points], [math.log(loss) for _, loss in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(my - slope * mx), -slope


def digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _save(fig, name, data, folder):
    folder.mkdir(exist_ok=True)
    path = folder / name
    fig.savefig(path, dpi=90, bbox_inches="tight", metadata={"Source": digest(data), "Software": None})
    plt.close(fig)
    return path


def timeline(folder=IMAGES):
    data = timeline_data()
    slugs = list(dict.fromkeys(slug for _, slug, _ in data))       # curriculum order
    fig, ax = plt.subplots(figsize=(9, 7.5))
    for year, slug, constraint in data:
        ax.scatter(year, slugs.index(slug), s=30, color=COLOURS[constraint], zorder=3)
    for constraint in manifest.CONSTRAINTS:
        ax.scatter([], [], color=COLOURS[constraint], label=constraint)
    ax.set_yticks(range(len(slugs)), slugs, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("year of the paper")
    ax.set_ylabel("topic, in curriculum order")
    ax.set_title("The curriculum's 45 papers, coloured by the constraint their topic moved most")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left", title="constraint", title_fontsize=8)
    return _save(fig, "timeline.png", data, folder)


def key_claims(folder=IMAGES):
    data = key_claims_data()
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(data) + 1.2))
    for i, (slug, paper, ours, verdict, scale) in enumerate(data):
        p, o = _number(paper), _number(ours)
        colour = VERDICT_COLOURS.get(verdict, "tab:gray")
        if p and o and p > 0 and o > 0:
            ax.scatter(o / p, i, color=colour, zorder=3)
        else:                                       # the paper's claim is qualitative: no ratio to draw
            ax.annotate(f"qualitative claim, {verdict}", (1, i), ha="center", va="center", fontsize=7, color=colour)
    ax.axvline(1, color="black", lw=0.8)
    ax.set_ylim(len(data) - 0.5, -1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(data)), [f"{slug} ({scale})" for slug, *_, scale in data])
    ax.set_xlabel("ours / the paper's number (each in its own setting; 1 = equal)")
    ax.set_title("Key claims: green met our bar, red not met")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, "key_claims.png", data, folder)


def scaling(folder=IMAGES):
    data = scaling_data()
    if len(data) < 2:
        raise RuntimeError("the gpt topic has recorded no scaling-law rows yet: run it first")
    a, alpha = power_law(data)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ns = [n for n, _ in data]
    ax.scatter(ns, [loss for _, loss in data], color="tab:blue", zorder=3, label="measured (gpt notebook)")
    grid = [min(ns) * (max(ns) / min(ns)) ** (k / 50) for k in range(51)]
    ax.plot(grid, [a * n ** -alpha for n in grid], color="tab:orange", label=f"fit: L = {a:.2f} N^-{alpha:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel("non-embedding parameters N")
    ax.set_ylabel("validation loss (nats/char)")
    ax.set_title("GPT on tiny Shakespeare: loss against model size")
    ax.legend()
    return _save(fig, "scaling.png", data, folder)


FIGURES = {"timeline.png": (timeline, timeline_data), "key_claims.png": (key_claims, key_claims_data),
           "scaling.png": (scaling, scaling_data)}


def build(folder=IMAGES):
    """Draw every figure into `folder`; return their paths."""
    return [draw(folder) for draw, _ in FIGURES.values()]
