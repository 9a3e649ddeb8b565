"""python -m dlhistory list | run TOPIC [--scale S] | bench | papers [TOPIC ...] | export [--check] | results [--readme]"""
import argparse
import re
import sys

import nbformat

from dlhistory import ROOT, papers, results
from dlhistory.export import export
from dlhistory.run import execute
from dlhistory.scale import SCALES, ScaleError, scale


def _topics(names):
    return [papers.topic(n) for n in names] if names else papers.TOPICS


def cmd_list(args):
    for t in papers.TOPICS:
        print(f"{'built  ' if t.built else 'planned'}  {t.slug:<13} {t.folder:<52} {t.title}")


def cmd_run(args):
    topic = papers.topic(args.topic)
    args.scale = args.scale or scale()
    if not topic.built:
        raise papers.UnknownTopic(f"topic {topic.slug!r} is planned but not built yet: {topic.notebook} is missing")
    print(f"running {topic.folder}/{topic.slug}.ipynb at {args.scale} scale")
    wall = execute(topic, args.scale, timeout=args.timeout)
    saved = "not saved (smoke runs never write)" if args.scale == "smoke" else "saved with its provenance stamp"
    print(f"done in {wall:.1f} s; {saved}")


SMOKE_BUDGET, SMALL_BUDGET = 30, 600  # seconds on a 2-core CPU (DESIGN.md section 5)


def cmd_bench(args):
    """Time each built notebook at smoke scale now, beside its committed run's wall time."""
    failed = []
    print(f"{'topic':<13} {'smoke (s)':>10} {'committed run':>22}")
    for topic in _topics(args.topics):
        if not topic.built:
            continue
        smoke = execute(topic, "smoke", log=lambda *_: None)
        stamp = nbformat.read(topic.notebook, as_version=4).metadata.get("dlhistory", {})
        committed = f"{stamp.get('wall_s', '?')} s at {stamp.get('scale', '?')}"
        over = [f"smoke over {SMOKE_BUDGET} s"] if smoke > SMOKE_BUDGET else []
        if stamp.get("scale") == "small" and stamp.get("wall_s", 0) > SMALL_BUDGET:
            over.append(f"small over {SMALL_BUDGET} s")
        failed += over
        print(f"{topic.slug:<13} {smoke:>10.1f} {committed:>22}  {'; '.join(over)}")
    if failed:
        sys.exit(1)


def cmd_papers(args):
    failures = papers.fetch_all(_topics(args.topics) if args.topics else [t for t in papers.TOPICS if t.built])
    if failures:
        sys.exit(1)


def cmd_export(args):
    stale = export(_topics(args.topics), check=args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("run `python -m dlhistory export` and commit the result")
        sys.exit(1)


def topic_index():
    """The README's list of topics: a link for each built one, the plan for the rest."""
    lines, part = [], None
    for t in papers.TOPICS:
        if t.folder.split("/")[0] != part:
            part = t.folder.split("/")[0]
            lines.append(f"\n**{part}**\n")
        cited = "; ".join(f"[{p.surname} {p.year}]({p.abstract})" for p in t.papers)
        name = f"[{t.title}]({t.folder}/{t.slug}.ipynb)" if t.built else f"{t.title} (planned)"
        lines.append(f"- {name}: {cited}")
    return "\n".join(lines).lstrip("\n") + "\n"


def update_readme(text):
    """Rewrite the README's generated sections (between their marker comments)."""
    built = [t for t in papers.TOPICS if t.built]
    for name, body in [("topics", topic_index()), ("results", results.readme_table(built))]:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        text = re.sub(f"{start}.*?{end}", lambda _: f"{start}\n{body}{end}", text, flags=re.S)
    return text


def cmd_results(args):
    if not args.readme:
        print(results.readme_table([t for t in papers.TOPICS if t.built]), end="")
        return
    readme = ROOT / "README.md"
    readme.write_text(update_readme(readme.read_text()))
    print("README.md: topic index and results table updated")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlhistory", description="The deep-learning history curriculum.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the 31 topics and which are built").set_defaults(func=cmd_list)
    p = sub.add_parser("run", help="execute a topic's notebook in place at a scale, with a provenance stamp")
    p.add_argument("topic", help="slug (dnn), folder (01-dnn) or path")
    p.add_argument("--scale", choices=SCALES, help="default: DLHISTORY_SCALE, else full with CUDA, small without")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: no limit)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("bench", help="time every built notebook at smoke scale against its budget")
    p.add_argument("topics", nargs="*", help="only these topics (default: all built ones)")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("papers", help="download the paper PDFs into their topic folders")
    p.add_argument("topics", nargs="*", help="only these topics (default: every built one)")
    p.set_defaults(func=cmd_papers)
    p = sub.add_parser("export", help="write helper modules, Colab badges and setup cells from the notebooks")
    p.add_argument("topics", nargs="*", help="only these topics (default: all built ones)")
    p.add_argument("--check", action="store_true", help="change nothing; fail if anything is out of date")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("results", help="the results table of every topic (paper vs ours)")
    p.add_argument("--readme", action="store_true", help="write it, and the topic index, into README.md")
    p.set_defaults(func=cmd_results)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (papers.UnknownTopic, ScaleError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
