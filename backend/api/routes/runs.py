from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from backend.api.checks import check_queue_room, checked_runs, parse_ids
from backend.api.deps import RunId, SettingsDep, StoreDep, WorkerDep
from backend.api.responses import problems
from backend.schemas import (
    MAX_INT,
    DatasetName,
    EvaluationPublic,
    MetricsPublic,
    Misclassified,
    RunCreate,
    RunCreated,
    RunPublic,
    RunsPublic,
    RunUpdate,
)
from backend.training.data import LoadContext, image_side, test_images
from backend.training.idx_datasets import DatasetUnavailable

router = APIRouter(prefix="/runs", tags=["runs"], responses=problems(404))

StatusFilter = Literal["queued", "running", "completed", "failed", "cancelled", "diverged"]


def _not_found(run_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(429))
def create_run(body: RunCreate, store: StoreDep, settings: SettingsDep,
               worker: WorkerDep) -> RunCreated:
    """Queue one training run, or one run per seed when ``repeats`` > 1."""
    checked = checked_runs(body, settings)
    check_queue_room(store.count_queued(), len(checked), settings)
    created, _ = store.create_runs(checked)
    if worker:
        worker.notify()
    return RunCreated(**created[0].model_dump(), repeat_ids=[r.id for r in created])


@router.get("")
def list_runs(
    store: StoreDep,
    status: StatusFilter | None = None,
    study_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    dataset: DatasetName | None = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200,
                                   description="text in the name, config, tags or notes")] = None,
    ids: Annotated[str | None, Query(max_length=10_000,
                                     description="comma-separated run ids")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> RunsPublic:
    """Runs, newest first, filtered by status, study, dataset, tag, ids or free text."""
    return store.list_runs(status=status, study_id=study_id, dataset=dataset, tag=tag,
                           q=q.strip() if q else None,
                           ids=parse_ids(ids, "ids") if ids is not None else None,
                           limit=limit, offset=offset)


@router.get("/{run_id}")
def get_run(run_id: RunId, store: StoreDep) -> RunPublic:
    """One run."""
    run = store.get_run(run_id)
    if run is None:
        raise _not_found(run_id)
    return run


@router.patch("/{run_id}")
def update_run(run_id: RunId, body: RunUpdate, store: StoreDep) -> RunPublic:
    """Rename a run or change its tags and notes."""
    run = store.update_run(run_id, body)
    if run is None:
        raise _not_found(run_id)
    return run


@router.get("/{run_id}/evaluation")
def get_evaluation(run_id: RunId, store: StoreDep, settings: SettingsDep) -> EvaluationPublic:
    """The test-split confusion matrix and the surest mistakes, with their pixels."""
    run = store.get_run(run_id)
    if run is None:
        raise _not_found(run_id)
    ev = store.get_evaluation(run_id)
    if ev is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"run {run_id} has no evaluation ({run.status}); "
                            "it is computed when a run completes")
    try:
        pixels = test_images(run.dataset, [m["index"] for m in ev.misclassified],
                             run.config.get("split", "80/20"), LoadContext.from_settings(settings))
    except DatasetUnavailable as exc:
        # The run's dataset files were removed since it trained.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    side = image_side(run.dataset)
    correct = sum(ev.confusion[i][i] for i in range(len(ev.confusion)))
    return EvaluationPublic(
        run_id=run_id, dataset=run.dataset, test_size=ev.test_size,
        accuracy=correct / ev.test_size, confusion=ev.confusion, image_shape=[side, side],
        misclassified=[Misclassified(**m, pixels=p) for m, p in zip(ev.misclassified, pixels,
                                                                    strict=True)],
    )


@router.get("/{run_id}/weights", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def get_weights(run_id: RunId, store: StoreDep) -> Response:
    """The completed run's final state_dict (``torch.load(f, weights_only=True)``)."""
    data = store.get_weights(run_id)
    if data is None:
        if store.get_run(run_id) is None:
            raise _not_found(run_id)
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"run {run_id} has no stored weights; only completed runs keep them")
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="trainboard-run-{run_id}.pt"'})


@router.get("/{run_id}/metrics")
def get_metrics(run_id: RunId, store: StoreDep,
                after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0) -> MetricsPublic:
    """Per-epoch metrics of a run, only those after epoch ``after``."""
    metrics = store.get_metrics(run_id, after)
    if metrics is None:
        raise _not_found(run_id)
    return metrics


@router.post("/{run_id}/cancel", responses=problems(409))
def cancel_run(run_id: RunId, store: StoreDep, worker: WorkerDep) -> RunPublic:
    """Cancel a queued run, or stop a running one within one batch."""
    run = store.cancel(run_id)
    if run is None:
        raise _not_found(run_id)
    if worker:
        worker.request_cancel(run_id)
    return run


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(409))
def delete_run(run_id: RunId, store: StoreDep) -> Response:
    """Delete a finished run and its metrics."""
    if not store.delete_run(run_id):
        raise _not_found(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
