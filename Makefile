# Quick start: `make demo` and `make test`. Both create .venv when missing and install the package.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Torch is pinned to the release this project is tested with; pip finds it on a local mirror when one exists.
TORCH_SPEC ?= torch==2.14.1
PYTEST_ARGS ?=

.PHONY: demo test test-all lint bench clean-venv

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,realtime,notebooks,launchers]"
	touch $(STAMP)

# The main job (conf/demo.yaml): scene, codec, LM, detection, whistle types, CHAT rehearsal, and a
# report in outputs/demo/<UTC time>/report.md. Options go through DEMO_ARGS, e.g.
#   make demo DEMO_ARGS="--input my_recording.flac"   or   DEMO_ARGS="synth.duration_s=30"
DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/dolphin demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check dolphin tests benchmarks field_tools
	$(BIN)/ruff format --check dolphin tests benchmarks field_tools

bench: $(STAMP)
	$(BIN)/python benchmarks/io_synth.py

clean-venv:
	rm -rf $(VENV)
