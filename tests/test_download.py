"""The downloader against a local HTTP server: cache, checksum, resume, mirrors."""

import hashlib
from pathlib import Path

import pytest
from fileserver import closed_port_url, serve

from backend.training.download import ChecksumError, DownloadError, download

BODY = bytes(range(256)) * 1000  # 256 kB: several chunks
SHA = hashlib.sha256(BODY).hexdigest()


def test_download_then_cache_hit_makes_no_request(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "sub" / "f.gz"
    with serve({"/f.gz": BODY}) as srv:
        assert download([srv.url + "/f.gz"], dest, SHA, lambda d, t: seen.append((d, t)))
        assert download([srv.url + "/f.gz"], dest, SHA) == dest
    assert srv.requests == [("/f.gz", None)]
    assert dest.read_bytes() == BODY and not (tmp_path / "sub" / "f.gz.part").exists()
    assert seen[-1] == (len(BODY), len(BODY))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_checksum_mismatch_fails_and_keeps_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "f.gz"
    with serve({"/f.gz": BODY[:-1] + b"X"}) as srv, pytest.raises(ChecksumError) as err:
        download([srv.url + "/f.gz"], dest, SHA)
    assert "checksum mismatch" in str(err.value) and "f.gz" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_resumes_with_a_range_request(tmp_path: Path) -> None:
    dest = tmp_path / "f.gz"
    with serve({"/f.gz": BODY}) as srv:
        srv.cut_after["/f.gz"] = 100_000
        download([srv.url + "/f.gz"], dest, SHA)
    assert srv.requests == [("/f.gz", None), ("/f.gz", "bytes=100000-")]
    assert dest.read_bytes() == BODY


def test_partial_file_from_an_earlier_attempt_is_resumed(tmp_path: Path) -> None:
    dest = tmp_path / "f.gz"
    (tmp_path / "f.gz.part").write_bytes(BODY[:200_000])
    with serve({"/f.gz": BODY}) as srv:
        download([srv.url + "/f.gz"], dest, SHA)
    assert srv.requests == [("/f.gz", "bytes=200000-")]
    assert dest.read_bytes() == BODY


def test_server_that_ignores_range_restarts_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "f.gz"
    (tmp_path / "f.gz.part").write_bytes(b"stale bytes from elsewhere")
    with serve({"/f.gz": BODY}) as srv:
        srv.honour_range = False
        download([srv.url + "/f.gz"], dest, SHA)
    assert dest.read_bytes() == BODY


def test_next_mirror_is_tried_and_all_failures_are_reported(tmp_path: Path) -> None:
    dead = closed_port_url()
    with serve({"/f.gz": BODY}) as srv:
        download([dead + "/f.gz", srv.url + "/missing", srv.url + "/f.gz"], tmp_path / "a", SHA)
        with pytest.raises(DownloadError) as err:
            download([dead + "/f.gz", srv.url + "/missing"], tmp_path / "b", SHA)
    assert (tmp_path / "a").read_bytes() == BODY
    msg = str(err.value)
    assert dead in msg and "refused" in msg.lower() and "404" in msg
    assert not (tmp_path / "b").exists()
