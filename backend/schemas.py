"""Request and response bodies. Bounds live here so bad input is refused with a 422."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
)

from backend.training.data import DATASETS

# SQLite's INTEGER is 64-bit: a larger id or offset would be a driver error, not a 404.
MAX_INT = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_INT)]

DatasetName = Literal[tuple(DATASETS)]  # type: ignore[valid-type]
SplitKind = Literal["80/20", "official"]
Activation = Literal["sigmoid", "relu", "tanh", "leaky_relu", "gelu"]

MAX_TAGS = 20
MAX_NOTES = 10_000


def _unique(tags: list[str]) -> list[str]:
    # A tag given twice is one tag; order is kept as the person typed it.
    return list(dict.fromkeys(tags))


# Commas separate tags in the page's editor, so a tag cannot hold one.
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                      pattern=r"^[^,\x00-\x1f]+$"),
]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Notes = Annotated[str, Field(max_length=MAX_NOTES)]


class _Strict(BaseModel):
    # An unknown field is a typo the user wants to hear about, not silently drop; a
    # wrong type (``"dropout": false``, ``"epochs": "5"``) too, rather than coerce it.
    # Python's JSON parser accepts NaN and Infinity; no field means them.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _as_utc(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d


# Stored as naive UTC; served with its offset ("...Z") so that no client reads it as
# local time and the response is a valid RFC 3339 date-time.
UTCDateTime = Annotated[datetime, AfterValidator(_as_utc)]


# --- layers -----------------------------------------------------------------


class Linear(_Strict):
    type: Literal["linear"]
    # None means "the number of classes", so a spec fits any dataset's output.
    out_features: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class Conv2d(_Strict):
    type: Literal["conv2d"]
    out_channels: int = Field(ge=1, le=4096)
    kernel_size: int = Field(ge=1, le=64)
    stride: int = Field(default=1, ge=1, le=64)
    padding: int = Field(default=0, ge=0, le=64)


class MaxPool2d(_Strict):
    type: Literal["maxpool2d"]
    kernel_size: int = Field(ge=1, le=64)
    stride: Annotated[int, Field(ge=1, le=64)] | None = None


class BatchNorm(_Strict):
    type: Literal["batchnorm"]


class Dropout(_Strict):
    type: Literal["dropout"]
    p: float = Field(default=0.5, ge=0.0, lt=1.0)


class Flatten(_Strict):
    type: Literal["flatten"]


class Reshape(_Strict):
    type: Literal["reshape"]
    shape: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(min_length=1, max_length=3)


class Act(_Strict):
    type: Literal["sigmoid", "relu", "tanh", "gelu"]


class LeakyRelu(_Strict):
    type: Literal["leaky_relu"]
    negative_slope: float = Field(default=0.01, ge=0.0, le=1.0)


class Softmax(_Strict):
    type: Literal["softmax"]
    # Over channels for images, as the notebook's implicit-dim softmax did.
    dim: int = Field(default=1, ge=1, le=3)


Layer = Annotated[
    Linear | Conv2d | MaxPool2d | BatchNorm | Dropout | Flatten | Reshape | Act | LeakyRelu
    | Softmax,
    Field(discriminator="type"),
]


# --- models and optimizers --------------------------------------------------


class LayersSpec(_Strict):
    """Any network as an ordered list of layers."""

    kind: Literal["layers"]
    layers: list[Layer] = Field(min_length=1)


class MLPSpec(_Strict):
    """The notebook's fully connected nets in compact form."""

    kind: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1, le=1_000_000)]] = Field(default=[32, 32])
    activation: Activation = "relu"
    batchnorm: bool = False
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


ModelSpec = Annotated[LayersSpec | MLPSpec, Field(discriminator="kind")]

# The discriminators' values, which pydantic puts in error paths (see main.py).
MODEL_KINDS = frozenset(get_args(m.model_fields["kind"].annotation)[0]
                        for m in (LayersSpec, MLPSpec))
LAYER_TYPES = frozenset(t for m in get_args(get_args(Layer)[0])
                        for t in get_args(m.model_fields["type"].annotation))


class OptimizerSpec(_Strict):
    name: Literal["sgd", "adam", "adamw", "adagrad", "rmsprop"] = "sgd"
    lr: float = Field(default=0.01, gt=0.0, le=10.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0)


# --- runs -------------------------------------------------------------------


class RunCreate(_Strict):
    name: str | None = Field(default=None, max_length=200)
    dataset: DatasetName = "mnist-5k"
    split: SplitKind = Field(
        default="80/20",
        description="'80/20': the notebook's stratified random split of all samples; "
        "'official': the dataset's distributed train/test files (mnist: 60,000/10,000).",
    )
    model: ModelSpec = Field(default_factory=lambda: MLPSpec(kind="mlp"))
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    epochs: int = Field(default=10, ge=1, le=100_000)
    batch_size: int = Field(default=64, ge=1, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # Not stored with a run: the request becomes this many runs, with seeds seed,
    # seed+1, ..., which the worker trains together in one batched pass when it can.
    repeats: int = Field(default=1, ge=1, le=50, description=(
        "train this many seeds (seed, seed+1, ...) as separate runs sharing a group_key"))

    @field_validator("name")
    @classmethod
    def _strip_name(cls, v: str | None) -> str | None:
        return (v.strip() or None) if v is not None else None


NonFinite = Literal["nan", "inf", "-inf"]


def group_key(config: dict[str, Any]) -> str:
    """Equal for runs whose configs differ only by seed, name, tags and notes."""
    try:
        # Through RunCreate so configs stored before a field existed get its default.
        config = RunCreate.model_validate(config).model_dump(mode="json")
    except ValueError:
        pass
    rest = {k: v for k, v in config.items()
            if k not in ("seed", "name", "tags", "notes", "repeats")}
    return hashlib.sha1(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:12]


class EpochMetrics(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    epoch: int
    train_loss: float | None
    train_acc: float | None
    test_loss: float | None
    test_acc: float | None
    seconds: float | None
    # Which of the values above were NaN or infinite (and are null here), and what they were.
    nonfinite: dict[str, NonFinite] = Field(default_factory=dict)

    @field_validator("nonfinite", mode="before")
    @classmethod
    def _none_is_empty(cls, v: dict[str, str] | None) -> dict[str, str]:
        return v or {}


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    study_id: int | None
    status: str
    dataset: str
    config: dict[str, Any]
    param_count: int
    device: str | None
    epochs: int
    epochs_done: int
    train_size: int | None
    test_size: int | None
    created_at: UTCDateTime
    started_at: UTCDateTime | None
    finished_at: UTCDateTime | None
    error: str | None
    # True once a cancel was asked for a running run, until it stops at its next batch.
    cancel_requested: bool = False
    tags: list[str] = []
    notes: str = ""
    # The final weights are stored (completed runs): the digit pad can ask this run.
    has_weights: bool = False
    # What the worker is doing before the first epoch, e.g. "downloading dataset 40%".
    progress_note: str | None = None
    # How the engine trained it, e.g. with its seed repeats in one batched pass.
    engine_note: str | None = None
    final_test_acc: float | None = None
    best_test_acc: float | None = None
    final_train_loss: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def group_key(self) -> str:
        """Equal for runs whose configs differ only by seed and name: one line with a band."""
        return group_key(self.config)


class RunCreated(RunPublic):
    """The first run of the request, and the ids of all it queued (one per seed)."""

    repeat_ids: list[int]


class RunUpdate(_Strict):
    """Fields a person may change on a run; those left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    tags: Tags | None = None
    notes: Notes | None = None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class RunWithMetrics(RunPublic):
    metrics: list[EpochMetrics]


class MetricsPublic(BaseModel):
    run_id: int
    status: str
    data: list[EpochMetrics]
    count: int


# --- studies ----------------------------------------------------------------


class StudyCreate(_Strict):
    """Either a preset (with optional overrides for all its runs) or explicit runs."""

    preset: str | None = Field(default=None, max_length=50)
    name: str | None = Field(default=None, max_length=200)
    runs: list[RunCreate] | None = Field(default=None, min_length=1, max_length=100)
    epochs: int | None = Field(default=None, ge=1, le=100_000)
    dataset: DatasetName | None = None
    split: SplitKind | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    # For every run of the study: that many seeds, each its own run.
    repeats: int | None = Field(default=None, ge=1, le=50)


class StudyUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tags: Tags | None = None
    notes: Notes | None = None


class StudyPublic(BaseModel):
    id: int
    name: str
    preset: str | None
    created_at: UTCDateTime
    tags: list[str] = []
    notes: str = ""
    run_ids: list[int]


class StudiesPublic(BaseModel):
    data: list[StudyPublic]
    count: int


class StudyDetail(BaseModel):
    id: int
    name: str
    preset: str | None
    created_at: UTCDateTime
    tags: list[str] = []
    notes: str = ""
    runs: list[RunWithMetrics]


class StudyCreated(BaseModel):
    id: int
    name: str
    preset: str | None
    created_at: UTCDateTime
    runs: list[RunPublic]


# --- evaluation, weights and the digit pad ---------------------------------


class Misclassified(BaseModel):
    index: int = Field(description="position in the dataset's fixed test split")
    true: int
    predicted: int
    probability: float = Field(description="the model's probability for its wrong answer")
    pixels: list[int] = Field(default=[], description="the digit, row-major, 0-255")


class EvaluationPublic(BaseModel):
    run_id: int
    dataset: str
    test_size: int
    accuracy: float
    # Rows are true labels, columns predicted labels.
    confusion: list[list[int]]
    image_shape: list[int]
    misclassified: list[Misclassified]


class PredictRequest(_Strict):
    run_ids: list[DbId] = Field(min_length=1, max_length=24)
    # 784 values (28x28) for MNIST runs, 64 (8x8) for digits runs; 0 is background.
    pixels: list[float] = Field(min_length=1, max_length=784)

    @field_validator("pixels")
    @classmethod
    def _pixels_in_range(cls, v: list[float]) -> list[float]:
        # One error for the whole image, not one per pixel (a bad canvas is 784 of them).
        bad = [i for i, p in enumerate(v) if not 0.0 <= p <= 1.0]
        if bad:
            raise ValueError(f"pixels must lie in [0, 1]; {len(bad)} do not, the first at "
                             f"index {bad[0]} ({v[bad[0]]})")
        return v


class RunPrediction(BaseModel):
    run_id: int
    name: str
    dataset: str
    predicted: int
    probabilities: list[float]


class PredictionsPublic(BaseModel):
    data: list[RunPrediction]
    count: int


# --- catalogue --------------------------------------------------------------


class PresetPublic(BaseModel):
    key: str
    title: str
    description: str
    epochs: int
    runs: list[RunCreate]


class PresetsPublic(BaseModel):
    data: list[PresetPublic]
    count: int


class DatasetPublic(BaseModel):
    name: str
    title: str
    input_shape: list[int]
    num_classes: int
    splits: list[str]


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    count: int


class Problem(BaseModel):
    """An error that is not about one field: not found, conflict, full queue, no token."""

    detail: str


class Health(BaseModel):
    status: str
    device: str
    queued: int
    running: int | None
