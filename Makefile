# Everything set-up needs, from a fresh machine with Python 3.11: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
TOOLS := $(VENV)/tools
UV := $(TOOLS)/bin/uv
AF3 := $(VENV)/af3
AF2 := $(VENV)/af2
BENCH := $(VENV)/bench
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo test lint docs docs-screenshots test-af3 test-af2 system-test reliability bench postgres redis chromium envs locks emulators clean

demo: $(AF3)/.installed
	$(AF3)/bin/python scripts/demo.py

test: lint docs test-af3 test-af2

# The documentation site (Sphinx, MyST Markdown, furo) from docs/ into docs/_build/html: every warning
# is an error, every cross-reference must resolve, then every internal link and anchor is checked.
docs: $(AF3)/.installed
	rm -rf docs/_build/html
	$(AF3)/bin/python -m sphinx -W --keep-going -n -q -b html docs docs/_build/html
	$(AF3)/bin/python docs/check_links.py docs/_build/html

# The docs' pictures of Airflow 3's UI (each connection form, a finished CDAP task's extra link), taken by
# headless Chromium from a running deployment (as the system tests start it) into docs/_static/screenshots/;
# committed, so `make docs` needs no browser. Run it after changing a connection form or a link.
docs-screenshots: $(AF3)/.installed postgres chromium
	$(AF3)/bin/python scripts/docs_screenshots.py

lint: $(AF3)/.installed
	$(AF3)/bin/ruff check .
	$(AF3)/bin/ruff format --check .
	$(AF3)/bin/mypy

test-af3: $(AF3)/.installed
	$(AF3)/bin/python -m pytest $(PYTEST_ARGS)

test-af2: $(AF2)/.installed
	$(AF2)/bin/python -m pytest $(PYTEST_ARGS)

# A real Airflow 3 on PostgreSQL, started and torn down by the tests, twice: LocalExecutor with one
# triggerer, then CeleryExecutor (Redis, two Celery workers) with two triggerers; the example DAGs
# triggered through the REST API, and the UI (connection forms, extra links) driven in headless Chromium.
system-test: $(AF3)/.installed postgres redis chromium
	$(AF3)/bin/python -m pytest tests/system -m live $(PYTEST_ARGS)

# The reliability scenarios (docs/RELIABILITY.md): faults, restarts, kills, hostile input; one table.
reliability: $(AF3)/.installed postgres
	$(AF3)/bin/python -m pytest tests/reliability -m "live or not live" $(PYTEST_ARGS)

# Poll cost, triggers at scale, DAG-parse cost and latency, next to Google's, dbt Cloud's and the http
# provider's (installed only in the bench environment); one table, see docs/PERFORMANCE.md.
bench: $(BENCH)/.installed
	$(BENCH)/bin/python -m benchmarks.run $(BENCH_ARGS)

# Debian packages the system tests need, installed when missing (sudo unless root).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL = echo "Installing Debian's $(1)"; $(SUDO) apt-get update -qq && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null

# Debian's PostgreSQL server, for the system tests (the harness starts its own on loopback).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(call APT_INSTALL,postgresql); }

# Debian's Redis server, the Celery broker of the system tests (the harness starts its own on loopback).
redis:
	@command -v redis-server >/dev/null 2>&1 || { $(call APT_INSTALL,redis-server); }

# Debian's Chromium and its WebDriver, for the system tests' browser test (headless).
chromium:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || \
		{ $(call APT_INSTALL,chromium chromium-driver); }

envs: $(AF3)/.installed $(AF2)/.installed

# The emulators in the foreground, for trying your own DAGs against them.
emulators: $(AF3)/.installed
	$(AF3)/bin/python -m airflow_provider_pipelines.emulators all

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(AF3)/.installed: requirements/airflow3.lock pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(AF3)
	$(UV) pip install --quiet --python $(AF3)/bin/python -r requirements/airflow3.lock
	$(UV) pip install --quiet --python $(AF3)/bin/python --no-deps -e .
	touch $@

$(AF2)/.installed: requirements/airflow2.lock pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(AF2)
	$(UV) pip install --quiet --python $(AF2)/bin/python -r requirements/airflow2.lock
	$(UV) pip install --quiet --python $(AF2)/bin/python --no-deps -e .
	touch $@

$(BENCH)/.installed: requirements/bench.lock pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(BENCH)
	$(UV) pip install --quiet --compile-bytecode --python $(BENCH)/bin/python -r requirements/bench.lock
	$(UV) pip install --quiet --python $(BENCH)/bin/python --no-deps -e .
	touch $@

locks: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 requirements/airflow3.in -o requirements/airflow3.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/airflow2.in -o requirements/airflow2.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/bench.in -o requirements/bench.lock

clean:
	rm -rf $(VENV) .demo .bench .reliability docs/_build .pytest_cache .mypy_cache .ruff_cache
