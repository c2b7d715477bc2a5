# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint bench bench-dashboard bench-load

$(PY):
	python3 -m venv $(VENV)

$(VENV)/.app: pyproject.toml | $(PY)
	$(PIP) -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(PY)
	$(PIP) -e '.[test]'
	touch $@

# Debian's Chromium drives the browser tests (Playwright never downloads a browser);
# Debian's docker-compose validates the compose file.
SYSTEM_DEPS := /usr/bin/chromium /usr/bin/docker-compose
$(SYSTEM_DEPS):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null

run: $(VENV)/.app
	$(PY) -m backend

test: $(VENV)/.test $(SYSTEM_DEPS)
	$(PY) -m ruff check backend tests benchmarks
	$(PY) -m pytest

lint: $(VENV)/.test
	$(PY) -m ruff check backend tests benchmarks

bench: $(VENV)/.app
	$(PY) -m benchmarks.trainer

# 200 seeded runs: metrics API latency and the compare view's render time in Chromium.
bench-dashboard: $(VENV)/.test $(SYSTEM_DEPS)
	$(PY) -m benchmarks.dashboard

bench-load: $(VENV)/.test
	$(PY) -m benchmarks.load
