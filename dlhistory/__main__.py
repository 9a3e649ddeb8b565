"""python -m dlhistory list | new SLUG | run TOPIC [--scale S] | run --stale | bench | data [TOPIC ...]
| papers [TOPIC ...] | export [--check] | results [--write]"""
import argparse
import re
import sys

import nbformat

from dlhistory import ROOT, data, download, manifest, results, skeleton
from dlhistory.export import export
from dlhistory.run import execute, stale_reasons
from dlhistory.scale import SCALES, ScaleError, current

SMOKE_BUDGET, SMALL_BUDGET = 30, 600  # seconds on a 2-core CPU (CONTRIBUTING.md, budgets)


def _topics(names):
    return [manifest.topic(n) for n in names] if names else manifest.TOPICS


def _built():
    return [t for t in manifest.TOPICS if t.built]


def cmd_list(args):
    for t in manifest.TOPICS:
        print(f"{'built  ' if t.built else 'planned'}  {t.slug:<13} {t.folder:<52} {t.title}")
        if args.full:
            recorded = "recorded" if "full" in results.load(t.path) else "never recorded"
            print(f"{'':9}{'':14}full scale ({recorded}): {t.full}")


def cmd_new(args):
    topic = manifest.topic(args.slug)
    for path in skeleton.write(topic):
        print(f"wrote {path.relative_to(ROOT)}")
    print(f"next: fill in the notebook, then `python -m dlhistory export {topic.slug}` and "
          f"`python -m dlhistory run {topic.slug} --scale small`")


def _run(topic, scale, timeout):
    if not topic.built:
        raise manifest.UnknownTopic(f"topic {topic.slug!r} is planned but not built yet: {topic.notebook} is missing")
    if scale == "full" and "full" not in results.load(topic.path):
        print(f"note: {topic.slug} has never been run and recorded at full scale; expect: {topic.full}.")
    print(f"running {topic.folder}/{topic.slug}.ipynb at {scale} scale")
    wall = execute(topic, scale, timeout=timeout)
    saved = "not saved (smoke runs never write)" if scale == "smoke" else "saved with its provenance stamp"
    print(f"done in {wall:.1f} s; {saved}")


def cmd_run(args):
    if args.stale:
        if args.topic:
            raise manifest.UnknownTopic("give a topic or --stale, not both")
        stale = [(t, stale_reasons(t)) for t in _built()]
        stale = [(t, why) for t, why in stale if why]
        if not stale:
            print("every committed notebook is fresh")
        for topic, why in stale:
            stamp = nbformat.read(topic.notebook, as_version=4).metadata.get("dlhistory", {})
            print(f"{topic.slug} is stale: {'; '.join(why)}")
            _run(topic, args.scale or stamp.get("scale", "small"), args.timeout)
        return
    if not args.topic:
        raise manifest.UnknownTopic("name a topic to run (`python -m dlhistory list`), or pass --stale")
    _run(manifest.topic(args.topic), args.scale or current(), args.timeout)


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


def cmd_data(args):
    """Fetch every dataset a topic uses at a scale, so that its notebook later runs offline."""
    scale = args.scale or current()
    names = sorted({name for t in (_topics(args.topics) if args.topics else _built()) for name in t.datasets})
    for name in names:
        print(f"{name} ({scale} scale) ...", flush=True)
        data.fetch(name, scale)
    print(f"{len(names)} datasets ready in {data.cache_dir()}" if names else "these topics use no downloaded data")


def cmd_papers(args):
    if download.fetch_papers(_topics(args.topics) if args.topics else _built()):
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
    for t in manifest.TOPICS:
        if t.folder.split("/")[0] != part:
            part = t.folder.split("/")[0]
            lines.append(f"\n**{part}**\n")
        cited = "; ".join(f"[{p.surname} {p.year}]({p.abstract})" for p in t.papers)
        name = f"[{t.title}]({t.folder}/{t.slug}.ipynb)" if t.built else f"{t.title} (planned)"
        lines.append(f"- {name}: {cited}")
    return "\n".join(lines).lstrip("\n") + "\n"


def update_readme(text):
    """Rewrite the README's generated sections (between their marker comments)."""
    built = _built()
    sections = [("topics", topic_index()),
                ("results", results.summary(built) + "\n" + results.readme_table(built))]
    for name, body in sections:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        text = re.sub(f"{start}.*?{end}", lambda _: f"{start}\n{body}{end}", text, flags=re.S)
    return text


def cmd_results(args):
    if not args.write:
        print(results.summary(_built()) + "\n" + results.readme_table(_built()), end="")
        return
    readme = ROOT / "README.md"
    readme.write_text(update_readme(readme.read_text()))
    (ROOT / "RESULTS.md").write_text(results.results_md(_built()))
    print("README.md (topic index, key claims) and RESULTS.md (every row) updated")


def cmd_figures(args):
    from dlhistory import figures
    for path in figures.build():
        print("wrote", path.relative_to(ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlhistory", description="The deep-learning history curriculum.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="the 31 topics and which are built")
    p.add_argument("--full", action="store_true", help="also what each full scale downloads and needs")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("new", help="write a planned topic's skeleton: notebook, results cell, test module")
    p.add_argument("slug", help="the topic's slug, as `list` shows it")
    p.set_defaults(func=cmd_new)
    p = sub.add_parser("run", help="execute a topic's notebook in place at a scale, with a provenance stamp")
    p.add_argument("topic", nargs="?", help="slug (dnn), folder (01-dnn) or path")
    p.add_argument("--scale", choices=SCALES, help="default: DLHISTORY_SCALE, else small "
                                                   "(with --stale: the scale each was committed at)")
    p.add_argument("--stale", action="store_true",
                   help="re-run exactly the notebooks whose code or imported modules changed since their stamp")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: no limit)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("bench", help="time every built notebook at smoke scale against its budget")
    p.add_argument("topics", nargs="*", help="only these topics (default: all built ones)")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("data", help="download and verify the datasets of topics ahead of time")
    p.add_argument("topics", nargs="*", help="only these topics (default: all built ones)")
    p.add_argument("--scale", choices=SCALES, help="default: DLHISTORY_SCALE, else small")
    p.set_defaults(func=cmd_data)
    p = sub.add_parser("papers", help="download the paper PDFs into their topic folders")
    p.add_argument("topics", nargs="*", help="only these topics (default: every built one)")
    p.set_defaults(func=cmd_papers)
    p = sub.add_parser("export", help="write helper modules, Colab badges and setup cells from the notebooks")
    p.add_argument("topics", nargs="*", help="only these topics (default: all built ones)")
    p.add_argument("--check", action="store_true", help="change nothing; fail if anything is out of date")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("results", help="every topic's key claim beside the paper's, with its verdict")
    p.add_argument("--write", action="store_true",
                   help="write them, and the topic index, into README.md, and every row into RESULTS.md")
    p.set_defaults(func=cmd_results)
    p = sub.add_parser("figures", help="draw the README's figures into images/ from the committed results")
    p.set_defaults(func=cmd_figures)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (manifest.UnknownTopic, ScaleError, RuntimeError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
