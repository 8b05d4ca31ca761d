# One command to set up and open the course (`make lab`), one to run the tests (`make test`).
# Both call scripts/course.py (standard library only; on Windows, where there is no make, run
# `py scripts\course.py lab` and `py scripts\course.py test`). It creates the virtual
# environment in .venv on first use and installs the kit there: `.[lab]` for the lessons,
# `.[lab,test]` for the tests; nothing is installed system-wide.
# `make lab CPU=1`: PyTorch's CPU-only build (Linux without an NVIDIA GPU: no CUDA download).
# `make lab LANG=ja`: the Japanese edition (notebooks/ja/), JupyterLab in Japanese (日本語版).
PYTHON ?= python3
VENV ?= .venv
RUN = $(PYTHON) scripts/course.py

.PHONY: setup lab test test-fast notebooks

## setup: create .venv and install the kit with JupyterLab (what the lessons need)
setup:
	$(RUN) setup --venv $(VENV) $(if $(CPU),--cpu)

## lab: set up (first time only) and open the course in JupyterLab, rooted at the repository so the
## file browser shows data/ and results/ beside notebooks/
lab:
	$(RUN) lab --venv $(VENV) $(if $(CPU),--cpu) $(if $(and $(filter command line,$(origin LANG)),$(filter ja,$(LANG))),--lang ja)

## test: set up with the test tools (first time only) and run unit tests, nbval notebook checks and
## browser tests
test:
	$(RUN) test --venv $(VENV) $(if $(CPU),--cpu)

## test-fast: the quick tier to run after each change: everything not marked slow (no lesson
## notebooks, no real VGG16, no training runs, no sandboxed classes), at most 3 minutes on 2 cores
test-fast:
	$(RUN) test --fast --venv $(VENV) $(if $(CPU),--cpu)

## notebooks: re-run every lesson notebook in its stored mode and store its outputs (what CI checks)
notebooks:
	$(RUN) notebooks --venv $(VENV) $(if $(CPU),--cpu)
