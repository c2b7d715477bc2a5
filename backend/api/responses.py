"""Error responses as the OpenAPI schema documents them, so clients (and the fuzz test)
know every status an operation may answer besides 2xx and 422."""

from typing import Any

from backend.schemas import Problem

_WHY = {
    400: "The body cannot be read as JSON (e.g. it is not UTF-8)",
    401: "A token is configured and the request lacks it (WWW-Authenticate: Bearer)",
    404: "No such run or study",
    409: "The run's state does not allow this (e.g. cancel a finished run)",
    429: "The queue is full (settings: max_queued)",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem, "description": _WHY[code]} for code in codes}
