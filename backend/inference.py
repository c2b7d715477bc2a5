"""The digit pad's models: completed runs rebuilt from their stored weights, kept warm.

Rebuilding a model costs a database read and a ``torch.load``; a person drawing digits asks
the same few runs again and again, so the most recently used models stay in memory.
"""

import threading
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from backend.schemas import RunCreate
from backend.store import Store
from backend.training.architecture import build_model
from backend.training.data import DATASETS
from backend.training.evaluation import load_weights

# Models are small (the limit is a few million parameters); a dozen fit easily in memory.
CACHE_SIZE = 16


class NoWeights(Exception):
    """The run exists but kept no weights (not completed, or older than this feature)."""


class ModelCache:
    def __init__(self, store: Store, size: int = CACHE_SIZE) -> None:
        self.store = store
        self.size = size
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[int, float], nn.Module] = OrderedDict()

    def model(self, run_id: int, config: RunCreate, stamp: float) -> nn.Module:
        """The run's trained model; ``stamp`` (when the weights were written) keys the cache,
        so a reused run id never answers with another run's weights."""
        key = (run_id, stamp)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        data = self.store.get_weights(run_id)
        if data is None:
            raise NoWeights(f"run {run_id} has no stored weights")
        info = DATASETS[config.dataset]
        model = build_model(config.model, info.input_shape, info.num_classes)
        model.load_state_dict(load_weights(data))
        model.eval()
        with self._lock:
            self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return model

    def __len__(self) -> int:
        return len(self._models)


@torch.no_grad()
def predict(model: nn.Module, pixels: list[float]) -> list[float]:
    """Class probabilities for one flattened image.

    Cached models are put in eval mode once and never switched back, so request threads
    can share one without a lock.
    """
    x = torch.tensor(pixels, dtype=torch.float32).unsqueeze(0)
    out = F.softmax(model(x), dim=1)[0]
    return [round(float(p), 6) for p in out]
