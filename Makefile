# The README's two commands: `make run` (set up and open qwq-edge) and `make test` (set up
# and run every check). GPU=auto|cpu|cuda|metal picks the llama.cpp backend.
PYTHON ?= python3
VENV ?= .venv
GPU ?= auto
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: run test setup default-model test-models zim lint llama-server

run: setup default-model
	$(BIN)/qwq-edge

test: setup test-models zim llama-server lint
	$(BIN)/pytest

# llama-server, built once from the llama.cpp sources that llama-cpp-python vendors (cached
# outside the checkout): the remote-engine tests run the agent against it.
llama-server: setup
	@$(PY) scripts/build_llama_server.py >/dev/null

# The tests read real ZIM archives; the GPL-3 libzim extra is installed for them only.
zim: setup
	@$(PY) -c "import libzim" 2>/dev/null || $(BIN)/pip install -q --disable-pip-version-check -e ".[zim]"

setup:
	@PYTHON=$(PYTHON) VENV=$(VENV) GPU=$(GPU) bash scripts/setup.sh

# The small Qwen2.5 test model is the default until a real model is configured or pulled.
# The library's embedding model (all-MiniLM-L6-v2, converted to GGUF here) is fetched always.
default-model: setup
	@$(BIN)/qwq-edge model-path >/dev/null 2>&1 || $(PY) scripts/fetch_test_models.py qwen
	@$(PY) scripts/fetch_test_models.py embedding

test-models: setup
	@$(PY) scripts/fetch_test_models.py all

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
