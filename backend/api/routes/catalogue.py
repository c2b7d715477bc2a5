from fastapi import APIRouter

from backend.presets import PRESETS
from backend.schemas import DatasetPublic, DatasetsPublic, PresetPublic, PresetsPublic
from backend.training.data import DATASETS

router = APIRouter(tags=["catalogue"])


@router.get("/presets")
def list_presets() -> PresetsPublic:
    """The notebook's comparisons, each launchable as a study."""
    data = [PresetPublic(key=p.key, title=p.title, description=p.description, epochs=p.epochs,
                         runs=list(p.runs)) for p in PRESETS.values()]
    return PresetsPublic(data=data, count=len(data))


@router.get("/datasets")
def list_datasets() -> DatasetsPublic:
    """Datasets a run can train on."""
    data = [DatasetPublic(name=d.name, title=d.title, input_shape=list(d.input_shape),
                          num_classes=d.num_classes, splits=list(d.splits))
            for d in DATASETS.values()]
    return DatasetsPublic(data=data, count=len(data))
