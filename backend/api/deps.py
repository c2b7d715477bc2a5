"""Objects the routes need, taken from the app's state."""

from typing import Annotated

from fastapi import Depends, Request

from backend.config import Settings
from backend.inference import ModelCache
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


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkerDep = Annotated[Worker | None, Depends(get_worker)]
ModelCacheDep = Annotated[ModelCache, Depends(get_model_cache)]
