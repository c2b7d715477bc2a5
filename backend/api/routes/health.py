from fastapi import APIRouter

from backend.api.deps import StoreDep, WorkerDep
from backend.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(store: StoreDep, worker: WorkerDep) -> Health:
    """Liveness, the training device and the queue."""
    device = str(worker.device) if worker else "none (worker off)"
    return Health(status="ok", device=device, queued=store.count_queued(),
                  running=store.running_id())
