import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from backend.api.checks import parse_ids
from backend.api.deps import StoreDep
from backend.schemas import RunWithMetrics
from backend.training.architecture import SpecError

router = APIRouter(prefix="/export", tags=["export"])

CSV_COLUMNS = ("run_id", "run_name", "group_key", "seed", "dataset", "param_count", "epoch",
               "train_loss", "train_acc", "test_loss", "test_acc", "seconds")


def _csv(runs: list[RunWithMetrics]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in runs:
        for m in run.metrics:
            # An empty cell is a missing (non-finite) value, as the JSON's null is.
            writer.writerow([run.id, run.name, run.group_key, run.config.get("seed"), run.dataset,
                             run.param_count, m.epoch, m.train_loss, m.train_acc, m.test_loss,
                             m.test_acc, m.seconds])
    return buf.getvalue()


@router.get("/metrics", response_class=Response, responses={200: {"content": {
    "text/csv": {}, "application/json": {}}}})
def export_metrics(
    store: StoreDep,
    run_ids: Annotated[str, Query(max_length=10_000, description="comma-separated run ids")],
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """Every epoch of the runs named, as a CSV download or JSON (runs with config and metrics)."""
    ids = parse_ids(run_ids, "run_ids")
    runs = store.runs_with_metrics(ids)
    missing = sorted(set(ids) - {r.id for r in runs})
    if missing:
        raise SpecError(("query", "run_ids"), f"no run with id {', '.join(map(str, missing))}")
    name = f"trainboard-metrics-{'-'.join(map(str, ids[:5]))}{'-etc' if len(ids) > 5 else ''}"
    if format == "csv":
        body, media = _csv(runs), "text/csv; charset=utf-8"
    else:
        body = "[" + ",".join(r.model_dump_json() for r in runs) + "]"
        media = "application/json"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}.{format}"'})
