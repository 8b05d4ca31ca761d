# One command to set up and open the course (`make lab`), one to run the tests (`make test`).
# Both create the virtual environment in .venv on first use; nothing is installed system-wide.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup lab test notebooks student-notebooks

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

## setup: create .venv and install the kit with everything its notebooks and tests use
setup: $(VENV)/.installed

## lab: set up (first time only) and open the course in JupyterLab, rooted at the repository so the
## file browser shows data/ and results/ beside notebooks/
lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.root_dir=. \
		notebooks/00_setup_check.ipynb

## test: set up (first time only) and run unit tests, nbval notebook checks and browser tests
test: setup
	$(PY) -m pytest

## notebooks: re-run every lesson notebook in quick mode and store its outputs (what CI checks)
notebooks: setup
	$(PY) scripts/regen_notebooks.py
