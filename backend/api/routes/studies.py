from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from backend.api.checks import check_queue_room, checked_runs
from backend.api.deps import SettingsDep, StoreDep, StudyId, WorkerDep
from backend.api.responses import problems
from backend.presets import PRESETS
from backend.schemas import (
    MAX_INT,
    RunCreate,
    StudiesPublic,
    StudyCreate,
    StudyCreated,
    StudyDetail,
    StudyPublic,
    StudyUpdate,
)
from backend.training.architecture import SpecError

router = APIRouter(prefix="/studies", tags=["studies"], responses=problems(404))


def _runs_of(body: StudyCreate) -> tuple[str, list[RunCreate], str]:
    """The study's name, its runs with overrides applied, and where its runs came from."""
    if (body.preset is None) == (body.runs is None):
        raise SpecError(("body",), "give either 'preset' or 'runs', not both or neither")
    if body.preset is not None:
        preset = PRESETS.get(body.preset)
        if preset is None:
            raise SpecError(("body", "preset"),
                            f"unknown preset {body.preset!r}; one of {', '.join(PRESETS)}")
        return body.name or preset.title, list(preset.runs), "preset"
    assert body.runs is not None
    return body.name or f"Study of {len(body.runs)} runs", body.runs, "runs"


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(429))
def create_study(body: StudyCreate, store: StoreDep, settings: SettingsDep,
                 worker: WorkerDep) -> StudyCreated:
    """Queue a preset comparison (optionally shortened) or a list of runs as one study."""
    name, runs, source = _runs_of(body)
    overrides = {k: v for k in ("epochs", "dataset", "split", "seed", "repeats")
                 if (v := getattr(body, k)) is not None}
    runs = [r.model_copy(update=overrides) for r in runs]
    checked = []
    for i, run in enumerate(runs):
        if source == "runs":
            checked += checked_runs(run, settings, ("body", "runs", i))
            continue
        try:
            checked += checked_runs(run, settings)
        except SpecError as exc:
            # The preset's own fields are not in the request: name the override that broke
            # it (a conv preset on 8x8 digits, say) and the preset run that cannot take it.
            field = next((k for k in overrides if exc.loc[1:2] == (k,)), None)
            field = field or ("dataset" if "dataset" in overrides else None)
            loc = ("body", field) if field else ("body", "preset")
            raise SpecError(loc, f"preset run {run.name!r} cannot take this: {exc.msg}") from None
    check_queue_room(store.count_queued(), len(checked), settings)
    _, study = store.create_runs(checked, study_name=name, preset=body.preset)
    assert study is not None
    if worker:
        worker.notify()
    return study


@router.get("")
def list_studies(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> StudiesPublic:
    """Studies, newest first."""
    return store.list_studies(limit=limit, offset=offset)


@router.get("/{study_id}")
def get_study(study_id: StudyId, store: StoreDep) -> StudyDetail:
    """A study with its runs and their metrics."""
    study = store.get_study(study_id)
    if study is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"study {study_id} not found")
    return study


@router.patch("/{study_id}")
def update_study(study_id: StudyId, body: StudyUpdate, store: StoreDep) -> StudyPublic:
    """Rename a study or change its tags and notes."""
    study = store.update_study(study_id, body)
    if study is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"study {study_id} not found")
    return study
