"""Fetch one file over HTTP into a cache: resumable, checksum-verified, with progress.

The bytes go to ``<dest>.part`` first. A dropped connection leaves that file behind and
the next attempt asks only for the rest (an HTTP Range request); the file is renamed to
``dest`` only once its SHA-256 matches, so a corrupt or foreign file is never kept.
"""

import hashlib
import http.client
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# Bytes received so far and the file's full size when the server said it.
ProgressFn = Callable[[int, int | None], None]

CHUNK = 1 << 16
# Attempts per mirror while each one gets further than the last (a flaky connection).
ATTEMPTS = 3
_CONTENT_RANGE = re.compile(r"bytes (\d+)-")


class DownloadError(OSError):
    """No mirror delivered the file."""


class ChecksumError(DownloadError):
    """The file arrived complete but is not the one expected."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(urls: Sequence[str], dest: Path, sha256: str,
             progress: ProgressFn | None = None, timeout: float = 30.0) -> Path:
    """``dest``, fetched from the first of ``urls`` that delivers the expected bytes.

    An existing ``dest`` is a cache hit and is returned without any request.
    """
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    errors: list[str] = []
    for url in urls:
        try:
            _fetch_with_retries(url, part, progress, timeout)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{url}: {_reason(exc)}")
            log.warning("download of %s failed: %s", url, exc)
            continue
        digest = sha256_of(part)
        if digest != sha256:
            part.unlink()
            errors.append(f"{url}: checksum mismatch (got sha256 {digest[:12]}..., "
                          f"expected {sha256[:12]}...); the file was discarded")
            log.warning("%s: checksum mismatch, discarded", url)
            continue
        part.replace(dest)
        log.info("downloaded %s (%d bytes)", dest, dest.stat().st_size)
        return dest
    raise (ChecksumError if all("checksum" in e for e in errors) else DownloadError)(
        f"could not download {dest.name}: " + "; ".join(errors))


def _reason(exc: Exception) -> str:
    # URLError's text wraps the cause as "<urlopen error ...>"; the cause alone reads better.
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _fetch_with_retries(url: str, part: Path, progress: ProgressFn | None,
                        timeout: float) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        before = part.stat().st_size if part.exists() else 0
        try:
            _fetch(url, part, progress, timeout)
            return
        except (OSError, http.client.HTTPException):
            after = part.stat().st_size if part.exists() else 0
            # Retry only while each attempt gets further: a dead mirror fails fast.
            if attempt == ATTEMPTS or after <= before:
                raise
            log.info("%s: connection dropped at %d bytes; resuming", url, after)


def _fetch(url: str, part: Path, progress: ProgressFn | None, timeout: float) -> None:
    """Append the rest of ``url`` to ``part`` (or start it over if the server won't resume)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Nothing left past our bytes: the part is whole (the checksum will tell).
            return
        raise
    with resp:
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        resumed = resp.status == 206 and match is not None and int(match[1]) == have
        if not resumed:
            have = 0  # the server sent the whole file
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        done = have
        with part.open("ab" if resumed else "wb") as f:
            while chunk := resp.read(CHUNK):
                f.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    if total is not None and done < total:
        raise DownloadError(f"connection closed after {done} of {total} bytes")
