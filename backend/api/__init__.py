"""The REST API: one router per resource, all under /api."""

from fastapi import APIRouter, Depends

from backend.api.deps import reject_unknown_query, require_token
from backend.api.responses import problems
from backend.api.routes import catalogue, export, health, predict, runs, studies

# Every route under /api goes through the token check, including routers added later.
api_router = APIRouter(prefix="/api",
                       dependencies=[Depends(require_token), Depends(reject_unknown_query)],
                       responses=problems(400, 401))
api_router.include_router(health.router)
api_router.include_router(catalogue.router)
api_router.include_router(runs.router)
api_router.include_router(studies.router)
api_router.include_router(predict.router)
api_router.include_router(export.router)
