"""The manifest, the PDF downloader and the command line."""
import os
import re
import subprocess
import sys

import pytest

from dlhistory import ROOT, download, manifest

PDF = b"%PDF-1.4\n" + b"0" * 2000


def test_manifest_has_31_topics_and_45_papers_with_unique_names():
    assert len(manifest.TOPICS) == 31 and len(manifest.PAPERS) == 45
    slugs = [t.slug for t in manifest.TOPICS]
    assert len(set(slugs)) == 31 and len({t.folder for t in manifest.TOPICS}) == 31
    assert len({p.filename for p in manifest.PAPERS}) == 45
    assert {p.slug for p in manifest.PAPERS} == set(slugs)  # every paper has a topic and vice versa
    for t in manifest.TOPICS:
        assert re.fullmatch(r"0[1-5]-[a-z-]+/0[1-8]-[a-z0-9-]+", t.folder), t.folder
        assert t.constraint in manifest.CONSTRAINTS, t.slug
    for p in manifest.PAPERS:
        assert p.url.startswith("http") and 1980 < p.year < 2030 and p.filename.endswith(".pdf")
        assert p.abstract.startswith("https://arxiv.org/abs/") == ("arxiv.org" in p.url)


def test_manifest_matches_the_folders_on_disk():
    on_disk = {f"{part.name}/{folder.name}" for part in ROOT.glob("0[1-5]-*") for folder in part.glob("0*-*")}
    assert on_disk <= {t.folder for t in manifest.TOPICS}, "a topic folder is missing from the manifest"
    for t in manifest.TOPICS:
        if t.built:
            assert t.module.exists() and (t.path / "results.json").exists(), t.folder
        else:
            assert not t.path.exists() or not any(t.path.glob("*.ipynb")), t.folder


def test_topic_lookup_by_slug_folder_and_path():
    dnn = manifest.topic("dnn")
    assert manifest.topic("01-dnn") == manifest.topic("01-deep-neural-networks/01-dnn/") == dnn
    assert manifest.topic(dnn.notebook) == dnn
    with pytest.raises(manifest.UnknownTopic, match="Did you mean alexnet"):
        manifest.topic("alexnt")


@pytest.fixture
def one_topic(tmp_path, monkeypatch, server):
    """A manifest of one topic with two papers, served from 127.0.0.1, in a temporary root."""
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    topic = manifest.Topic("01-part/01-toy", "toy", "Toy", "architecture")
    good = manifest.Paper("toy", "A Good Paper", "A. Author", 2000, "Venue", server.url("/good.pdf"))
    bad = manifest.Paper("toy", "Not A Paper", "B. Author", 2001, "Venue", server.url("/login"))
    monkeypatch.setattr(manifest, "PAPERS", [good, bad])
    server.route("/good.pdf", (200, PDF))
    server.route("/login", (200, b"<html>please log in</html>"))
    topic.path.mkdir(parents=True)
    return topic, good, bad


def test_fetch_downloads_checks_pdfs_and_skips_present_ones(one_topic, server):
    topic, good, bad = one_topic
    lines = []
    out = type("Out", (), {"write": lambda self, s: lines.append(s)})()
    assert download.fetch_papers([topic], out=out) == 1
    assert (topic.path / good.filename).read_bytes() == PDF
    assert not (topic.path / bad.filename).exists()
    assert any("FAILED" in line and "did not send a PDF" in line for line in lines)
    assert sorted(p.name for p in topic.path.iterdir()) == [good.filename]  # no partial files
    download.fetch_papers([topic], out=out)
    assert server.hits["/good.pdf"] == 1 and any(line.startswith("present") for line in lines)


def test_fetch_without_network_stops_with_one_message(one_topic, monkeypatch, capsys):
    topic, good, _ = one_topic
    offline = manifest.Paper("toy", "Far Away", "C. Author", 2002, "Venue", "http://127.0.0.1:9/far.pdf")
    monkeypatch.setattr(manifest, "PAPERS", [offline, good])
    assert download.fetch_papers([topic]) == 1
    out = capsys.readouterr().out
    assert out.count("no network") == 1 and "fetched" not in out
    assert list(topic.path.iterdir()) == []


def cli(*args, scale="smoke"):
    env = dict(os.environ, DLHISTORY_SCALE=scale)
    return subprocess.run([sys.executable, "-m", "dlhistory", *args], capture_output=True, text=True, cwd=ROOT, env=env)


def test_cli_errors_are_one_clear_message_and_non_zero():
    bad_topic = cli("run", "no-such-topic")
    assert bad_topic.returncode == 2 and "unknown topic 'no-such-topic'" in bad_topic.stderr
    assert "Traceback" not in bad_topic.stderr
    bad_scale = cli("run", "dnn", "--scale", "huge")
    assert bad_scale.returncode == 2 and "invalid choice: 'huge'" in bad_scale.stderr
    bad_environment = cli("run", "dnn", scale="huge")
    assert bad_environment.returncode == 2 and "Traceback" not in bad_environment.stderr
    assert "unknown scale 'huge': use one of smoke, small, full" in bad_environment.stderr


def test_cli_lists_every_topic():
    listing = cli("list")
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 31
    assert "built" in listing.stdout.splitlines()[0]


def test_cli_data_offline_is_one_clear_error(tmp_path):
    env = dict(os.environ, DLHISTORY_SCALE="small", DLHISTORY_DATA=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "dlhistory", "data", "dnn"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "mnist/mnist_5k.csv.gz" in done.stderr and "DLHISTORY_DATA" in done.stderr


def test_cli_new_never_overwrites_a_built_topic():
    done = cli("new", "dnn")
    assert done.returncode == 2 and "exists already" in done.stderr


def test_cli_list_full_says_what_each_full_scale_needs():
    listing = cli("list", "--full")
    assert listing.returncode == 0 and "GPU memory" in listing.stdout
