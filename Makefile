# Two commands do all the set-up on a fresh machine:
#   make chat   installs what is missing, indexes the demo corpus and starts the web UI
#   make test   installs what is missing and runs lint, tests, the smoke eval and real-news samples
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.byline-installed
DEV_STAMP := $(VENV)/.byline-dev-installed
# What the chat page needs (the embedded model and its runtime), and on top of it what the
# tests, the evals and the benchmarks need.
EXTRAS     ?= local
DEV_EXTRAS ?= local,dev,bench

.PHONY: install install-dev browser chat test lint format eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned, so pip takes the CPU build on disk and never a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[$(EXTRAS)]'
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -e '.[$(DEV_EXTRAS)]'
	touch $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

# The browser tests drive Debian's Chromium (never a browser build downloaded by a test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || \
	  echo "chromium missing and not root: browser tests will be skipped"; }

chat: $(STAMP)
	$(BIN)/byline chat --demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check rag ui evals tests
	$(BIN)/ruff format --check rag ui evals tests

format: $(DEV_STAMP)
	$(BIN)/ruff format rag ui evals tests
	$(BIN)/ruff check --fix rag ui evals tests

# Lint, the tests (the real embedder and the embedded chat model included), the smoke eval with
# the embedded model gated by evals/thresholds.toml and by the regression band against
# evals/baselines/smoke.json, and, where ../shared/data is present, the
# real-news suites: MultiHop-RAG retrieval (gated) and a 20-query answer sample (gated), and a
# 20-question RealTime QA answer sample over those questions' own articles (gated).
test: $(DEV_STAMP) browser lint
	$(BIN)/python -m pytest
	$(BIN)/byline eval --suite smoke --check --baseline evals/baselines/smoke.json --no-progress
	@if [ -d ../shared/data/multihop-rag-subset ]; then \
	  $(BIN)/byline eval --suite multihop-rag --retrieval-only --check --no-progress && \
	  $(BIN)/byline eval --suite multihop-rag --limit 20 --sample 0 --check \
	    --section multihop-rag-answers --no-progress; \
	else echo "../shared/data/multihop-rag-subset not found: MultiHop-RAG suites skipped"; fi
	@if [ -d ../shared/data/realtimeqa ]; then \
	  $(BIN)/byline eval --suite realtimeqa --sample-corpus --limit 20 --sample 1 --check \
	    --no-progress; \
	else echo "../shared/data/realtimeqa not found: RealTime QA sample skipped"; fi

eval: $(DEV_STAMP)
	$(BIN)/byline eval --suite smoke

bench: $(DEV_STAMP)
	$(BIN)/python -m evals.bench_ingest

clean:
	rm -rf $(VENV) .byline .pytest_cache .ruff_cache
