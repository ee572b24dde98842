# inferstack: the two commands a new user needs are `make demo` and `make test`.
# Everything they need is bootstrapped from the project's own files: a virtual environment at .venv/
# from pyproject.toml (pinned), and Debian packages (prometheus) when running as root.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.inferstack-installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test bench tools lint venv system system-test clean down help

help:
	@echo "make demo   build the demo model, serve it with Triton, load-test it against loadtests/slo.yaml"
	@echo "make test   the whole test suite (what CI runs)"
	@echo "make bench  optimized vs naive serving, side by side"
	@echo "make tools  build the simulated cluster's Go tools (etcd, Kubernetes, kwok) from versions.yaml"
	@echo "make lint   ruff"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "inferstack needs Python 3.11 or newer as '$(PYTHON)' (set PYTHON=... to choose another)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { echo "could not create $(VENV): install python3-venv (apt-get install python3-venv) and retry"; exit 1; }
	@echo "==> installing pinned dependencies into $(VENV) (first run: a few minutes)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -q -e '.[all]'
	@touch $@

system: $(STAMP)
	$(BIN)/python -m inferstack.bootstrap

system-test: $(STAMP)
	$(BIN)/python -m inferstack.bootstrap --for test

demo: system
	$(BIN)/inferstack demo

test: system-test tools
	$(BIN)/python -m pytest

bench: system
	$(BIN)/inferstack bench

tools: $(STAMP)
	$(BIN)/inferstack tools build

lint: $(STAMP)
	$(BIN)/ruff check inferstack tests loadtests
	$(BIN)/ruff format --check inferstack tests loadtests

down:
	-$(BIN)/inferstack down local

clean: down
	rm -rf .inferstack results
