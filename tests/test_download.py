"""Downloads land whole and verified, or leave nothing behind."""
import hashlib

import pytest

from dlhistory import download

BODY = b"the quick brown fox " * 1000
SHA = "sha256:" + hashlib.sha256(BODY).hexdigest()


def leftovers(folder):
    return [p.name for p in folder.iterdir()]


def test_good_file_is_written_and_verified(server, tmp_path):
    server.route("/f", (200, BODY))
    download.fetch(server.url("/f"), tmp_path / "f", SHA)
    assert (tmp_path / "f").read_bytes() == BODY
    assert download.matches(tmp_path / "f", SHA)


def test_wrong_checksum_fails_without_retry_and_leaves_nothing(server, tmp_path):
    server.route("/f", (200, BODY + b"tampered"))
    with pytest.raises(download.DownloadError, match="not the expected"):
        download.fetch(server.url("/f"), tmp_path / "f", SHA, backoff=0)
    assert leftovers(tmp_path) == []
    assert server.hits["/f"] == 1


def test_server_error_is_retried_until_success(server, tmp_path):
    server.route("/f", (503, b"busy"), (500, b"oops"), (200, BODY))
    download.fetch(server.url("/f"), tmp_path / "f", SHA, retries=3, backoff=0)
    assert (tmp_path / "f").read_bytes() == BODY
    assert server.hits["/f"] == 3


def test_client_error_is_final(server, tmp_path):
    with pytest.raises(download.DownloadError, match="404"):
        download.fetch(server.url("/missing"), tmp_path / "f", SHA, backoff=0)
    assert server.hits["/missing"] == 1
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_leaves_no_partial_file(server, tmp_path):
    server.route("/f", (200, BODY, 100))  # announces the whole body, sends 100 bytes
    with pytest.raises(download.DownloadError):
        download.fetch(server.url("/f"), tmp_path / "f", SHA, retries=2, backoff=0)
    assert leftovers(tmp_path) == []
    assert server.hits["/f"] == 2


def test_interrupted_then_whole_transfer_succeeds(server, tmp_path):
    server.route("/f", (200, BODY, 100), (200, BODY))
    download.fetch(server.url("/f"), tmp_path / "f", SHA, retries=2, backoff=0)
    assert (tmp_path / "f").read_bytes() == BODY


def test_unreachable_host_is_no_network(tmp_path):
    with pytest.raises(download.NoNetwork, match="cannot reach"):
        download.fetch("http://127.0.0.1:9/f", tmp_path / "f", SHA, retries=1)
    assert leftovers(tmp_path) == []


def test_validator_rejects_and_leaves_nothing(server, tmp_path):
    server.route("/f", (200, BODY))

    def reject(path):
        raise download.DownloadError("not what we wanted")

    with pytest.raises(download.DownloadError, match="not what we wanted"):
        download.fetch(server.url("/f"), tmp_path / "f", validate=reject)
    assert leftovers(tmp_path) == []


def test_md5_checksums_are_supported(tmp_path):
    (tmp_path / "f").write_bytes(BODY)
    assert download.matches(tmp_path / "f", "md5:" + hashlib.md5(BODY).hexdigest())
    with pytest.raises(ValueError):
        download.parse_checksum("crc32:1234")
