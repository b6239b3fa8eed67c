# Tunesmith: `make run` sets everything up and starts the bot; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := libfluidsynth3 ffmpeg fluid-soundfont-gm
# postgresql: the storage tests start a real PostgreSQL server of their own (tests/helpers/postgres.py)
TEST_APT_PACKAGES := chromium postgresql

.PHONY: run test test-scale setup test-setup bench clean system-deps

run: setup
	$(BIN)/tunesmith run

test: test-setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The heaviest scale runs (marked `scale`, left out of `make test`): 200 composes on two shard processes, a local
# Ray cluster and PostgreSQL, with a render replica and a shard killed (about 5 minutes on 2 cores).
test-scale: test-setup
	$(BIN)/python -m pytest -m scale $(PYTEST_ARGS)

bench: setup
	$(BIN)/tunesmith bench

setup: system-deps $(STAMP)

test-setup: setup
	@scripts/ensure-apt.sh $(TEST_APT_PACKAGES)

system-deps:
	@scripts/ensure-apt.sh $(APT_PACKAGES)

# torch is pinned: on the project's machines 2.13.0 is a CPU build on local disk, and an unpinned torch
# would pull a multi-GB CUDA build. Elsewhere set TORCH_INDEX_URL (e.g. PyTorch's CPU index) to choose.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q torch==2.13.0 $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/pip install -q -e '.[test,scale]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
