"""Checks that need more than one field or the settings: shapes, limits, the queue."""

from backend.config import Settings
from backend.presets import describe
from backend.schemas import MAX_INT, MLPSpec, RunCreate
from backend.training.architecture import SpecError, expand, parameter_count
from backend.training.data import DATASETS

Loc = tuple[str | int, ...]
MAX_SEED = 2**31 - 1


class QueueFull(Exception):
    """More runs queued than the settings allow (HTTP 429)."""


def check_run(cfg: RunCreate, settings: Settings, loc: Loc = ("body",)) -> tuple[str, int]:
    """The run's display name and parameter count, or SpecError naming the bad field."""
    if cfg.epochs > settings.max_epochs:
        raise SpecError((*loc, "epochs"), f"at most {settings.max_epochs} epochs are allowed")
    if cfg.batch_size > settings.max_batch_size:
        raise SpecError((*loc, "batch_size"),
                        f"batch size at most {settings.max_batch_size} is allowed")
    layers = expand(cfg.model)
    if len(layers) > settings.max_layers:
        raise SpecError((*loc, "model"), f"at most {settings.max_layers} layers are allowed "
                        f"(this model has {len(layers)})")
    widths = cfg.model.hidden if isinstance(cfg.model, MLPSpec) else [
        getattr(layer, "out_features", None) or getattr(layer, "out_channels", 0)
        for layer in layers
    ]
    if max(widths, default=0) > settings.max_width:
        raise SpecError((*loc, "model"), f"layer widths at most {settings.max_width} are "
                        f"allowed (got {max(widths)})")
    info = DATASETS[cfg.dataset]
    if cfg.split not in info.splits:
        raise SpecError((*loc, "split"), f"dataset {cfg.dataset!r} has no {cfg.split!r} split; "
                        f"choose {' or '.join(repr(s) for s in info.splits)}")
    try:
        params = parameter_count(cfg.model, info.input_shape, info.num_classes)
    except SpecError as exc:
        raise SpecError((*loc, *exc.loc), exc.msg) from None
    if params > settings.max_params:
        raise SpecError((*loc, "model"), f"{params:,} parameters exceed the limit of "
                        f"{settings.max_params:,}")
    return cfg.name or describe(cfg), params


def check_queue_room(queued: int, adding: int, settings: Settings) -> None:
    if queued + adding > settings.max_queued:
        raise QueueFull(f"the queue holds {queued} runs; at most {settings.max_queued} may wait")


# One export or filter may name this many runs.
MAX_IDS = 1000


def parse_ids(raw: str, field: str) -> list[int]:
    """Comma-separated run ids ("1,2,5"), or SpecError naming the query field."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise SpecError(("query", field), "give at least one run id, e.g. 1,2,3")
    if len(parts) > MAX_IDS:
        raise SpecError(("query", field), f"at most {MAX_IDS} run ids are allowed")
    # Length first: int() of thousands of digits is slow, and refused past 4300.
    bad = [p for p in parts if not p.isdigit() or len(p) > 19 or not 1 <= int(p) <= MAX_INT]
    if bad:
        raise SpecError(("query", field), f"{bad[0]!r} is not a run id (a positive integer)")
    return [int(p) for p in parts]


def checked_runs(cfg: RunCreate, settings: Settings,
                 loc: Loc = ("body",)) -> list[tuple[RunCreate, str, int]]:
    """The request as one checked run per seed (seed, seed+1, ...): config, name, params.

    Each config keeps the name the user gave (so seed repeats still share a group and a
    label); only the run's display name says which seed it is.
    """
    last = cfg.seed + cfg.repeats - 1
    if last > MAX_SEED:
        raise SpecError((*loc, "repeats"), f"{cfg.repeats} repeats from seed {cfg.seed} "
                        f"would reach seed {last}, past the largest seed {MAX_SEED}")
    name, params = check_run(cfg, settings, loc)
    if cfg.repeats == 1:
        return [(cfg, name, params)]
    return [(cfg.model_copy(update={"seed": s, "repeats": 1}), f"{name}, seed {s}", params)
            for s in range(cfg.seed, last + 1)]
