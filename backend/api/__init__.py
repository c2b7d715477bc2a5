"""The REST API: one router per resource, all under /api."""

from fastapi import APIRouter

from backend.api.routes import catalogue, export, health, predict, runs, studies

api_router = APIRouter(prefix="/api")
api_router.include_router(health.router)
api_router.include_router(catalogue.router)
api_router.include_router(runs.router)
api_router.include_router(studies.router)
api_router.include_router(predict.router)
api_router.include_router(export.router)
