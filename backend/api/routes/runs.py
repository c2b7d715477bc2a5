from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from backend.api.checks import check_queue_room, check_run
from backend.api.deps import SettingsDep, StoreDep, WorkerDep
from backend.schemas import MetricsPublic, RunCreate, RunPublic, RunsPublic

router = APIRouter(prefix="/runs", tags=["runs"])

StatusFilter = Literal["queued", "running", "completed", "failed", "cancelled"]


def _not_found(run_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_run(body: RunCreate, store: StoreDep, settings: SettingsDep,
               worker: WorkerDep) -> RunPublic:
    """Queue one training run."""
    name, params = check_run(body, settings)
    check_queue_room(store.count_queued(), 1, settings)
    (run,), _ = store.create_runs([(body, name, params)])
    if worker:
        worker.notify()
    return run


@router.get("")
def list_runs(
    store: StoreDep,
    status: StatusFilter | None = None,
    study_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RunsPublic:
    """Runs, newest first, filtered by status or study."""
    return store.list_runs(status=status, study_id=study_id, limit=limit, offset=offset)


@router.get("/{run_id}")
def get_run(run_id: int, store: StoreDep) -> RunPublic:
    """One run."""
    run = store.get_run(run_id)
    if run is None:
        raise _not_found(run_id)
    return run


@router.get("/{run_id}/metrics")
def get_metrics(run_id: int, store: StoreDep,
                after: Annotated[int, Query(ge=0)] = 0) -> MetricsPublic:
    """Per-epoch metrics of a run, only those after epoch ``after``."""
    metrics = store.get_metrics(run_id, after)
    if metrics is None:
        raise _not_found(run_id)
    return metrics


@router.post("/{run_id}/cancel")
def cancel_run(run_id: int, store: StoreDep, worker: WorkerDep) -> RunPublic:
    """Cancel a queued run, or stop a running one within one batch."""
    run = store.cancel(run_id)
    if run is None:
        raise _not_found(run_id)
    if worker:
        worker.request_cancel(run_id)
    return run


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_run(run_id: int, store: StoreDep) -> Response:
    """Delete a finished run and its metrics."""
    if not store.delete_run(run_id):
        raise _not_found(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
