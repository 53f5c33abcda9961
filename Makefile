# Everything set-up needs, from a fresh machine with Python 3.11: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
TOOLS := $(VENV)/tools
UV := $(TOOLS)/bin/uv
AF3 := $(VENV)/af3
AF2 := $(VENV)/af2
PYTEST_ARGS ?=

.PHONY: demo test lint test-af3 test-af2 envs locks emulators clean

demo: $(AF3)/.installed
	$(AF3)/bin/python scripts/demo.py

test: lint test-af3 test-af2

lint: $(AF3)/.installed
	$(AF3)/bin/ruff check .
	$(AF3)/bin/ruff format --check .
	$(AF3)/bin/mypy

test-af3: $(AF3)/.installed
	$(AF3)/bin/python -m pytest $(PYTEST_ARGS)

test-af2: $(AF2)/.installed
	$(AF2)/bin/python -m pytest $(PYTEST_ARGS)

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

locks: | $(UV)
	$(UV) pip compile --quiet --python-version 3.11 requirements/airflow3.in -o requirements/airflow3.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements/airflow2.in -o requirements/airflow2.lock

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
