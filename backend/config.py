"""The one settings object, read from ``TRAINBOARD_*`` environment variables."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRAINBOARD_", extra="ignore", populate_by_name=True
    )

    # Where runs live. A full SQLAlchemy URL (``DATABASE_URL`` or
    # ``TRAINBOARD_DATABASE_URL``) wins over the plain file path.
    db: Path = REPO_ROOT / "experiments.db"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TRAINBOARD_DATABASE_URL", "DATABASE_URL")
    )
    # Loopback only by default: anyone who can reach the port can queue training.
    host: str = "127.0.0.1"
    port: int = 8000
    # "auto" picks CUDA when torch sees it, else CPU.
    device: str = "auto"
    # Datasets that are downloaded (mnist, fashion-mnist, kmnist) are kept in
    # ``<data_dir>/<dataset>/``; files dropped there by hand are used without a download.
    data_dir: Path = DEFAULT_DATA_DIR
    # Per dataset, base URLs that replace the built-in mirrors, as JSON in the
    # environment: TRAINBOARD_DATASET_MIRRORS='{"mnist": ["http://intranet/mnist/"]}'.
    dataset_mirrors: dict[str, list[str]] = Field(default_factory=dict)
    download_timeout_s: float = Field(default=30.0, gt=0)
    # Where running runs are checkpointed after every epoch so that a restarted server
    # resumes them; by default a ``checkpoints/`` folder next to the database file.
    checkpoint_dir: Path | None = None
    # Start the background trainer with the app. Tests that only exercise the API
    # switch it off so queued runs stay queued.
    worker: bool = True
    # torch intra-op threads for training. 0 (auto): at each run's start, as many as
    # cores other processes leave free (see training/threads.py), at least one.
    torch_threads: int = Field(default=0, ge=0)
    # Seed repeats trained together in one batched pass: at most this many runs and
    # parameters summed over them; 1 turns fusing off.
    max_fused_runs: int = Field(default=20, ge=1)
    max_fused_params: int = Field(default=20_000_000, ge=1)

    # With a token, every request that changes state (launch, cancel, delete, ...) must
    # send ``Authorization: Bearer <token>``; with read_requires_token, reading too.
    token: SecretStr | None = None
    read_requires_token: bool = False
    # Origins allowed to call the API from other sites (JSON list in the environment,
    # e.g. '["http://localhost:3000"]'). Empty: no CORS headers at all.
    cors_origins: list[str] = []

    # Limits on what one request may ask for; past them the API answers 422.
    max_epochs: int = 200
    max_layers: int = 32
    max_width: int = 4096
    max_params: int = 5_000_000
    max_batch_size: int = 8192
    max_queued: int = 500

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.db}"

    @property
    def checkpoints(self) -> Path:
        return self.checkpoint_dir or self.db.parent / "checkpoints"
