# Trainboard on a GPU host: `docker compose up` (see README, "GPU host").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that editing the code does not
# download torch again. torch==2.13.0 from PyPI on Linux x86_64 is the CUDA build; it
# brings its own CUDA libraries, so the host needs only the NVIDIA driver and toolkit.
COPY pyproject.toml README.md ./
RUN mkdir backend && touch backend/__init__.py \
    && pip install -e . \
    && rm -rf backend

# Installed in place (-e): the server serves ../frontend next to backend/.
COPY backend ./backend
COPY frontend ./frontend
COPY alembic.ini ./

# Runs and downloaded datasets live in two volumes; made here so they belong to the
# non-root user when Docker first fills the named volumes from the image.
RUN useradd --create-home --uid 1000 trainboard \
    && mkdir -p /var/lib/trainboard/db /var/lib/trainboard/data \
    && chown -R trainboard:trainboard /var/lib/trainboard
USER trainboard

ENV TRAINBOARD_HOST=0.0.0.0 \
    TRAINBOARD_PORT=8000 \
    TRAINBOARD_DB=/var/lib/trainboard/db/experiments.db \
    TRAINBOARD_DATA_DIR=/var/lib/trainboard/data
EXPOSE 8000
VOLUME ["/var/lib/trainboard/db", "/var/lib/trainboard/data"]

# The probe reads the same TRAINBOARD_* settings as the server, so it asks the right port.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "backend.healthcheck"]

# One process on purpose: the training queue's worker thread lives inside it.
CMD ["python", "-m", "backend"]
