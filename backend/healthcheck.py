"""``python -m backend.healthcheck``: exit 0 when the server answers ``/api/health``, else 1.

The Docker image's HEALTHCHECK runs this. It reads the same settings as the server, so it
probes the port the server listens on; Python rather than curl, which the slim image lacks.
"""

import json
import logging
import sys
import urllib.request

from backend.config import Settings

log = logging.getLogger("trainboard.healthcheck")

TIMEOUT_S = 4.0


def health_url(settings: Settings) -> str:
    host = settings.host
    # A server listening on every address is reached on loopback from inside its container.
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/api/health"


def check(settings: Settings) -> bool:
    url = health_url(settings)
    request = urllib.request.Request(url)
    if settings.token is not None:
        # Needed when reads are closed too (TRAINBOARD_READ_REQUIRES_TOKEN).
        request.add_header("Authorization", f"Bearer {settings.token.get_secret_value()}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
            body = json.load(resp)
    except (OSError, ValueError) as exc:
        log.error("%s: %s", url, exc)
        return False
    if body.get("status") != "ok":
        log.error("%s answered %s", url, body)
        return False
    return True


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(0 if check(Settings()) else 1)


if __name__ == "__main__":
    main()
