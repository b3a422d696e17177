# make demo   run the demo stack (stack.yaml) in the foreground; Ctrl-C stops it
#             (installs stackup alone: no test tools)
# make test   lint + test suite
# make soak   5-minute soak run of a detached supervisor (not part of make test)
# make tools  headless chromium, Graphviz and mermaid.js for the tests that draw (CI runs it)
# make recipes  the Next.js + Django + PostgreSQL example (examples/recipes), in the foreground
# make e2e    end-to-end tests of the examples (real PostgreSQL, Django, Next.js)
# Both create .venv on first use and reinstall when pyproject.toml changes.

# Prefer an explicit python3.11 when there is one; override with `make PYTHON=...`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Two stamps: `make demo` needs only stackup itself; `make test` adds pytest and ruff.
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test lint schema soak tools clean recipes recipes-deps e2e

venv: $(STAMP)

# pip is the last thing `python -m venv` creates: if ensurepip failed half-way,
# the next run tries again instead of using a venv without pip.
$(BIN)/pip:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "stackup needs Python >= 3.11 (found $(PYTHON)); run: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || \
	  { echo "venv creation failed (on Debian/Ubuntu: apt install python3.11-venv)" >&2; rm -rf $(VENV); exit 1; }

$(RUN_STAMP): pyproject.toml | $(BIN)/pip
	$(BIN)/pip install -q -e .
	@touch $@

$(STAMP): pyproject.toml | $(BIN)/pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(RUN_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/stackup up

lint: venv
	$(BIN)/ruff check src tests

# pytest exits 5 when it collects no tests: not a failure for this target.
test: venv
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q || [ $$? -eq 5 ]

# The JSON Schema of stack.yaml for editors, committed; a test fails when it is stale.
schema: venv
	$(BIN)/stackup schema > stack.schema.json

# Not part of `make test`: 10 healthy services and a crash loop for 5 minutes under
# `up -d`; reports whether the supervisor's files, threads and memory stay flat.
soak: venv
	$(BIN)/python benchmarks/soak.py --minutes 5

# The tests that check pictures use real renderers: headless chromium (timeline SVG,
# Mermaid), Graphviz `dot`, and mermaid.js from its npm package. Without them those
# tests skip; .ci/run installs them and makes them required.
TOOLS           := .cache/tools
MERMAID_VERSION := 11.17.2

tools: $(TOOLS)/mermaid.min.js
	@if ! command -v chromium >/dev/null || ! command -v dot >/dev/null; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "install chromium and graphviz (apt) as root" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium graphviz fonts-dejavu-core >/dev/null; \
	fi

$(TOOLS)/mermaid.min.js:
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm pack --silent mermaid@$(MERMAID_VERSION) >/dev/null && \
	  tar xzf mermaid-$(MERMAID_VERSION).tgz --strip-components=2 package/dist/mermaid.min.js && \
	  rm mermaid-$(MERMAID_VERSION).tgz

# examples/recipes: its Python packages into the project's venv (again when
# requirements.txt changes), its node_modules by the same script the stack's npm-ci
# task runs (a no-op when up to date), then the stack in the foreground. The stack's
# `python` is the venv's: its bin folder goes first on PATH.
RECIPES := examples/recipes

$(VENV)/.recipes-installed: $(RECIPES)/requirements.txt | $(STAMP)
	$(BIN)/pip install -q -r $<
	@touch $@

recipes-deps: venv $(VENV)/.recipes-installed
	cd $(RECIPES)/web && ../scripts/npm-ci.sh

recipes: recipes-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stackup -f $(RECIPES)/stack.yaml up

# The e2e tests install node packages themselves (the stacks' npm-ci tasks are part
# of what they prove); they need the examples' Python packages in the venv.
e2e: venv $(VENV)/.recipes-installed
	$(BIN)/python -m pytest -q -m e2e tests/e2e || [ $$? -eq 5 ]

# Stops a stack that is still running from .stackup/ before removing it.
clean:
	@if [ -x $(BIN)/stackup ] && [ -d .stackup ]; then $(BIN)/stackup down >/dev/null 2>&1 || true; fi
	rm -rf $(VENV) .stackup .cache .pytest_cache .ruff_cache build dist src/*.egg-info
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
