"""The FastAPI application: API, static dashboard and the training worker's lifetime."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from backend.api import api_router
from backend.api.checks import QueueFull
from backend.config import REPO_ROOT, Settings
from backend.db import make_engine, make_session_factory
from backend.inference import ModelCache
from backend.store import Conflict, Store
from backend.training.architecture import SpecError
from backend.worker import Worker

log = logging.getLogger(__name__)

FRONTEND_DIR = REPO_ROOT / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


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

    app.mount("/", StaticFiles(directory=FRONTEND_DIR, html=True), name="frontend")
    return app


def _add_error_handlers(app: FastAPI) -> None:
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
