from fastapi import APIRouter

from backend.api.deps import ModelCacheDep, StoreDep, read_only
from backend.inference import predict as predict_one
from backend.schemas import PredictionsPublic, PredictRequest, RunCreate, RunPrediction
from backend.training.architecture import SpecError
from backend.training.data import DATASETS

router = APIRouter(tags=["predict"])


@router.post("/predict")
@read_only
def predict(body: PredictRequest, store: StoreDep, models: ModelCacheDep) -> PredictionsPublic:
    """Class probabilities of one drawn digit from each completed run asked."""
    out = []
    for i, run_id in enumerate(body.run_ids):
        stamped = store.weights_stamp(run_id)
        if stamped is None:
            run = store.get_run(run_id)
            why = "does not exist" if run is None else (
                f"has no stored weights ({run.status}); only completed runs keep them")
            raise SpecError(("body", "run_ids", i), f"run {run_id} {why}")
        run, stamp = stamped
        expected = DATASETS[run.dataset].input_shape[0]
        if len(body.pixels) != expected:
            raise SpecError(("body", "pixels"), f"run {run_id} was trained on {run.dataset} "
                            f"and takes {expected} pixels, not {len(body.pixels)}")
        model = models.model(run_id, RunCreate.model_validate(run.config), stamp)
        probs = predict_one(model, body.pixels)
        out.append(RunPrediction(run_id=run_id, name=run.name, dataset=run.dataset,
                                 predicted=max(range(len(probs)), key=probs.__getitem__),
                                 probabilities=probs))
    return PredictionsPublic(data=out, count=len(out))
