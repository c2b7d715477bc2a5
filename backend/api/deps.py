"""Objects the routes need, taken from the app's state, and the access check."""

import secrets
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.params import Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.config import Settings
from backend.inference import ModelCache
from backend.schemas import MAX_INT
from backend.store import Store
from backend.worker import Worker


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_worker(request: Request) -> Worker | None:
    return request.app.state.worker


def get_model_cache(request: Request) -> ModelCache:
    return request.app.state.models


RunId = Annotated[int, Path(ge=1, le=MAX_INT)]
StudyId = Annotated[int, Path(ge=1, le=MAX_INT)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkerDep = Annotated[Worker | None, Depends(get_worker)]
ModelCacheDep = Annotated[ModelCache, Depends(get_model_cache)]


# auto_error=False: a missing header is our decision (reads may be open), not a 403.
_bearer = HTTPBearer(auto_error=False, description="The server's TRAINBOARD_TOKEN")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


F = TypeVar("F", bound=Callable[..., Any])


def read_only(endpoint: F) -> F:
    """Mark a POST handler that changes nothing (e.g. a prediction) as a read."""
    endpoint.read_only = True  # type: ignore[attr-defined]
    return endpoint


def require_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With a token configured, changes (and, if so configured, reads) need it as a bearer."""
    if settings.token is None:
        return
    reads = request.method in SAFE_METHODS or getattr(request.scope.get("endpoint"),
                                                       "read_only", False)
    if reads and not settings.read_requires_token:
        return
    expected = settings.token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials else b""
    # Constant-time comparison: the time taken says nothing about how much was right.
    if not secrets.compare_digest(given, expected):
        what = "missing" if credentials is None else "wrong"
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"bearer token {what}: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


def reject_unknown_query(request: Request) -> None:
    """A query parameter the operation does not take is a typo to hear about, as an
    unknown body field is (422 naming it), not something to ignore silently."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = {f.alias for f in get_flat_params(dependant)
             if isinstance(f.field_info, Query)}
    unknown = [k for k in request.query_params if k not in known]
    if unknown:
        raise RequestValidationError([{
            "type": "extra_forbidden", "loc": ("query", unknown[0]),
            "msg": "unknown query parameter; " + (f"this operation takes {', '.join(sorted(known))}"
                                                  if known else "this operation takes none"),
            "input": request.query_params[unknown[0]],
        }])
