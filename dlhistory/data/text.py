"""Text corpora: tiny Shakespeare, Multi30k, rt-polarity and the word2vec analogy files from
the registry (their original files), and any corpus that the Hugging Face hub serves through
`datasets` (`hub`). At smoke scale each returns a small generated stand-in.
"""
import gzip
import random

from dlhistory.data.registry import DataUnavailable, check_split, path, resolve_scale

_SMOKE_WORDS = ("the king and queen of my lord shall speak to thee what is this night "
                "come hither good sir love death crown sword heart").split()


def tiny_shakespeare(scale=None):
    """Tiny Shakespeare as one string (1,115,394 characters); at smoke, a generated
    play-like text of about 20,000 characters with speakers, lines and blank lines."""
    if resolve_scale(scale) == "smoke":
        rng = random.Random(0)
        speeches = []
        while sum(map(len, speeches)) < 20_000:
            speaker = rng.choice(["KING", "QUEEN", "HAMLET", "FOOL"])
            lines = [" ".join(rng.choice(_SMOKE_WORDS) for _ in range(rng.randint(4, 9))).capitalize() + rng.choice(".,!?")
                     for _ in range(rng.randint(1, 3))]
            speeches.append(f"{speaker}:\n" + "\n".join(lines) + "\n\n")
        return "".join(speeches)
    return path("tiny-shakespeare").read_text(encoding="utf-8")


_SMOKE_PAIRS = {  # a toy German-English lexicon for the smoke stand-in of Multi30k
    "subject": [("ein mann", "a man"), ("eine frau", "a woman"), ("ein hund", "a dog"), ("ein kind", "a child")],
    "verb": [("läuft", "runs"), ("spielt", "plays"), ("sitzt", "sits"), ("wartet", "waits")],
    "place": [("im park", "in the park"), ("auf der straße", "on the street"), ("am strand", "on the beach"),
              ("vor dem haus", "in front of the house")],
}
MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}


def multi30k(split="train", scale=None):
    """Multi30k task 1 as a list of (german, english) caption pairs: 29,000 / 1,014 / 1,000
    for train / val / test (the 2016 Flickr test set). Raw text: tokenizing is the topic's job.
    At smoke, sentences from a toy grammar of subject, verb and place."""
    check_split(split, tuple(MULTI30K_SPLITS))
    if resolve_scale(scale) == "smoke":
        rng = random.Random({"train": 0, "val": 1, "test": 2}[split])
        pairs = []
        for _ in range({"train": 400, "val": 40, "test": 40}[split]):
            parts = [rng.choice(_SMOKE_PAIRS[k]) for k in ("subject", "verb", "place")]
            pairs.append((" ".join(p[0] for p in parts) + " .", " ".join(p[1] for p in parts) + " ."))
        return pairs
    name = MULTI30K_SPLITS[split]
    sides = []
    for lang in ("de", "en"):
        with gzip.open(path(f"multi30k-{name}.{lang}"), "rt", encoding="utf-8") as f:
            sides.append(f.read().splitlines())
    return list(zip(*sides))


def rt_polarity(scale=None):
    """The sentence polarity dataset v1.0 as a list of (sentence, label), label 1 positive
    and 0 negative, 5,331 of each, in file order (positives first). The files are Latin-1.
    At smoke, short generated reviews whose adjectives carry the label."""
    if resolve_scale(scale) == "smoke":
        rng = random.Random(0)
        good, bad = "great moving funny smart warm".split(), "dull boring flat silly tired".split()
        return [(f"the film is {rng.choice(words)} and {rng.choice(words)} .", label)
                for label, words in [(1, good), (0, bad)] for _ in range(100)]
    return [(line.strip(), label)
            for label, polarity in [(1, "pos"), (0, "neg")]
            for line in path(f"rt-polarity.{polarity}").read_text(encoding="latin-1").splitlines()]


def analogies(kind="words", scale=None):
    """The word2vec analogy test set as {section: [(a, b, c, d), ...]}, lower-cased:
    a is to b as c is to d. `kind` is 'words' (19,544 questions) or 'phrases' (3,218).
    At smoke, a few questions over the smoke corpora's words."""
    check_split(kind, ("words", "phrases"))
    if resolve_scale(scale) == "smoke":
        return {"gender": [("man", "woman", "king", "queen"), ("king", "queen", "man", "woman")],
                "plural": [("dog", "dogs", "child", "children"), ("man", "men", "woman", "women")]}
    sections, current = {}, None
    for line in path(f"analogies-{kind}").read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            current = line[1:].strip()
            sections[current] = []
        elif line.strip():
            sections[current].append(tuple(line.lower().split()))
    return sections


def hub(name, config=None, split="train"):
    """A dataset from the Hugging Face hub through `datasets` (cached in DLHISTORY_DATA/hub):
    the full-scale corpora (SST-2, text8, WikiText, WMT) load this way. Offline, with nothing
    cached, it raises one DataUnavailable that says what to do."""
    import datasets
    from dlhistory.data.registry import cache_dir
    try:
        return datasets.load_dataset(name, config, split=split, cache_dir=str(cache_dir() / "hub"))
    except (ConnectionError, OSError, ValueError) as error:
        raise DataUnavailable(
            f"the Hugging Face dataset {name!r}{f' ({config})' if config else ''} is not cached in "
            f"{cache_dir() / 'hub'} and could not be downloaded ({type(error).__name__}: {error}).\n"
            f"Connect to the internet once and run `python -m dlhistory data <topic> --scale full`, "
            f"or unset HF_HUB_OFFLINE if it is set.") from error
