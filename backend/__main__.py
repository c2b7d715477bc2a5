"""``python -m backend``: serve the dashboard and train queued runs."""

import argparse
import logging

import uvicorn

from backend.config import Settings
from backend.main import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="trainboard", description=__doc__)
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--db", help="SQLite file for runs (default ./experiments.db)")
    args = parser.parse_args()
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    settings = Settings(**overrides)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One process on purpose: the queue's worker thread lives inside it.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, workers=1)


if __name__ == "__main__":
    main()
