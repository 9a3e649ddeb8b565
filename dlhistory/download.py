"""Every download of the curriculum: files that either land whole and verified, or leave
nothing behind; and the paper PDFs of the manifest.

Used by the data registry and `python -m dlhistory papers`. The body is streamed into a temporary
file beside the destination, hashed on the way, checked, and only then renamed into place
(an atomic step), so an interrupted transfer or a corrupt file never looks like a cached one.
"""
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

USER_AGENT = "dlhistory (the deep-learning history curriculum)"


class DownloadError(RuntimeError):
    """A download failed for good; the message says why and what to do."""


class NoNetwork(DownloadError):
    """The host could not be reached at all: retrying other files is pointless."""


def file_hash(path, algorithm="sha256"):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_checksum(checksum):
    """'sha256:abc…' or 'md5:abc…' (MNIST's training images are published with md5 only)."""
    algorithm, _, digest = checksum.partition(":")
    if algorithm not in ("sha256", "md5") or not digest:
        raise ValueError(f"checksum {checksum!r} must look like 'sha256:<hex>' or 'md5:<hex>'")
    return algorithm, digest.lower()


def matches(path, checksum):
    algorithm, digest = parse_checksum(checksum)
    return file_hash(path, algorithm) == digest


def _transient(error):
    """Worth another try: server errors, timeouts, connections cut mid-transfer."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code == 429
    return isinstance(error, (urllib.error.URLError, http.client.HTTPException, OSError))


def _unreachable(error):
    """The network itself is missing: name resolution or the connection failed (no HTTP answer)."""
    return isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError)


def _fetch_once(url, dest, checksum, timeout, validate):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.new(parse_checksum(checksum)[0]) if checksum else None
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            expected = response.headers.get("Content-Length")
            size = 0
            with tqdm(total=int(expected) if expected else None, unit="B", unit_scale=True, leave=False,
                      desc=dest.name, disable=bool(os.environ.get("TQDM_DISABLE"))) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    size += len(block)
                    bar.update(len(block))
                    if h:
                        h.update(block)
            if expected is not None and size != int(expected):
                raise http.client.IncompleteRead(b"", int(expected) - size)
        if checksum and h.hexdigest() != parse_checksum(checksum)[1]:
            raise DownloadError(f"{url} sent a file whose {checksum.split(':')[0]} is {h.hexdigest()}, "
                                f"not the expected {checksum}: the source changed or the transfer was corrupted")
        if validate:
            validate(Path(tmp))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fetch(url, dest, checksum=None, retries=3, timeout=60, validate=None, backoff=1.0):
    """Download `url` to `dest` (a Path), verified by `checksum` and by `validate(tmp_path)`.

    Transient failures (5xx, timeouts, cut connections) are retried with growing pauses;
    a wrong checksum or a 4xx is final. Raises NoNetwork when the host cannot be reached
    and DownloadError for any other failure; either way no partial file is left.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, retries + 1):
        try:
            return _fetch_once(url, dest, checksum, timeout, validate)
        except DownloadError:
            raise
        except Exception as error:  # noqa: BLE001 - sorted into transient or final below
            last = attempt == retries or not _transient(error)
            if last and _unreachable(error):
                raise NoNetwork(f"cannot reach {url}: {getattr(error, 'reason', error)}") from error
            if last:
                raise DownloadError(f"could not download {url}: {error}") from error
            time.sleep(backoff * attempt)


def _is_pdf(path):
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            raise DownloadError("the server did not send a PDF (it may have sent a login or error page)")


def fetch_papers(topics, out=None):
    """Download the PDFs of `topics` (manifest entries) into their folders; skip those present.
    Returns the number of failures. Without a network it stops at the first unreachable host
    with one message, rather than failing 45 times."""
    out = out or sys.stdout
    failures = 0
    for t in topics:
        for p in t.papers:
            dest = t.path / p.filename
            if dest.exists():
                print(f"present  {t.folder}/{p.filename}", file=out)
                continue
            try:
                fetch(p.url, dest, validate=_is_pdf)
                print(f"fetched  {t.folder}/{p.filename}", file=out)
            except NoNetwork as error:
                print(f"no network: {error}.\nConnect and run `python -m dlhistory papers` again, or download "
                      f"the PDFs by hand from the links in each notebook into its topic folder.", file=out)
                return failures + 1
            except DownloadError as error:
                print(f"FAILED   {t.folder}/{p.filename}: {error}", file=out)
                failures += 1
    return failures
