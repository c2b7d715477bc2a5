"""The FastAPI application: API, static dashboard and the training worker's lifetime."""

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import plotly
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount, Route
from starlette.types import Scope

from backend.api import api_router
from backend.api.checks import QueueFull
from backend.config import REPO_ROOT, Settings
from backend.db import make_engine, make_session_factory
from backend.inference import ModelCache
from backend.schemas import LAYER_TYPES, MODEL_KINDS
from backend.store import Conflict, Store
from backend.training.architecture import SpecError
from backend.worker import Worker

log = logging.getLogger(__name__)

FRONTEND_DIR = REPO_ROOT / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class _Frontend(Mount):
    """The static dashboard at /, for every path except the API's.

    Mounted plainly, it would answer any /api path the API lacks: an unknown path, or a
    method the path does not have (GET /api/predict), would get the file server's 404
    or its "405, Allow: GET, HEAD" instead of the API's own answer.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.url)
        store = Store(engine, make_session_factory(engine))
        store.create_schema()
        worker = Worker(store, settings) if settings.worker else None
        app.state.settings, app.state.store, app.state.worker = settings, store, worker
        app.state.models = ModelCache(store)
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()
            engine.dispose()

    app = FastAPI(
        title="Trainboard",
        description="Launch, watch and compare small neural-network training runs.",
        version="0.1.0",
        lifespan=lifespan,
    )
    _add_error_handlers(app)
    if settings.cors_origins:
        # Off unless configured: other sites' pages cannot call the API from a browser.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["Authorization", "Content-Type"])
    app.include_router(api_router)

    @app.api_route("/vendor/plotly.min.js", methods=["GET", "HEAD"], include_in_schema=False)
    def plotly_js() -> FileResponse:
        # Served from the installed plotly package so the dashboard works offline.
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.router.routes.append(
        _Frontend("/", StaticFiles(directory=FRONTEND_DIR, html=True), name="frontend"))
    return app


def _json_safe(value: Any) -> Any:
    """NaN and infinities as strings, so that echoing them back stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _without_union_tags(loc: list[Any]) -> list[Any]:
    """The error path as the request spells it: pydantic adds a discriminated union's tag
    (``model.mlp.activation``, ``model.layers.layers.0.conv2d.kernel_size``), which is
    not a key of the body and differs from the paths our own shape checks give."""
    def is_tag(i: int) -> bool:
        part = loc[i]
        if i >= 1 and loc[i - 1] == "model":
            return part in MODEL_KINDS
        return (i >= 2 and isinstance(loc[i - 1], int) and loc[i - 2] == "layers"
                and part in LAYER_TYPES)

    return [part for i, part in enumerate(loc) if not is_tag(i)]


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler, except that a NaN among the echoed inputs would make
        # the 422 itself unserialisable (a 500), and paths carry no union tags.
        errors = [{**e, "loc": _without_union_tags(list(e["loc"]))} for e in exc.errors()]
        detail = _json_safe(jsonable_encoder(errors))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(SpecError)
    def _spec_error(_: Request, exc: SpecError) -> JSONResponse:
        # The same shape FastAPI gives field validation errors, so clients parse one format.
        detail = [{"type": "value_error", "loc": list(exc.loc), "msg": exc.msg}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Conflict)
    def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(QueueFull)
    def _queue_full(_: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette names only the first route of the path it tried; list them all.
            allowed = sorted({m for r in app.routes if isinstance(r, Route) and r.methods
                              and r.path_regex.match(request.url.path) for m in r.methods})
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        return await http_exception_handler(request, exc)
