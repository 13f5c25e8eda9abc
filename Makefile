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

# Main job: a short fine-tuning of the embedded default (tiny SAM on generated shapes, CPU).
demo: setup
	$(VENV)/bin/fa train --task_name semantic_seg

# The whole test suite, slow tests included (that is what CI runs).
test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf experiment .pytest_cache
