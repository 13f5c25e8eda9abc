# Two commands for a new user (see README):  make demo  |  make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: setup demo test test-fast clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[cpu,dev]'
	touch $@

setup: $(VENV)/.installed

# Main job: the pipeline prepare -> train -> evaluate -> export -> register on the embedded default
# (generated shapes, tiny SAM, CPU, MLflow in ./mlflow.db), then a summary of what it produced.
demo: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" DVC_NO_ANALYTICS=1 dvc repro
	$(VENV)/bin/fa summary --cfg params.yaml

# The whole test suite, slow tests included (that is what CI runs).
test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf experiment .pytest_cache
