# make demo   run the demo stack (stack.yaml) in the foreground; Ctrl-C stops it
#             (installs stackup alone: no test tools)
# make test   lint + test suite
# make bench  issue 8's speed table: stackup beside honcho, supervisord, bash (~10 min)
# make bench-profile  where stackup's time goes (importtime, py-spy): docs/benchmarks.md
# make soak   5-minute soak run of a detached supervisor (not part of make test)
# make tools  headless chromium, Graphviz, mermaid.js, nginx and tmux for the tests (CI runs it)
# make medcor the MedCor example platform in the foreground (PROFILES="proxy voice")
# make recipes  the Next.js + Django + PostgreSQL example (examples/recipes), in the foreground
# make e2e    end-to-end tests of the example platforms (not part of make test)
# Both create .venv on first use and reinstall when pyproject.toml changes.

# Prefer an explicit python3.11 when there is one; override with `make PYTHON=...`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Two stamps: `make demo` needs only stackup itself; `make test` adds pytest and ruff.
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test lint schema soak bench bench-profile tools clean medcor recipes recipes-deps e2e

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

# Benchmarks (docs/benchmarks.md): the peers (supervisor, honcho) and py-spy live in the
# bench's own venv, so stackup's .venv keeps exactly its own dependencies; the harness
# runs under that venv's Python and starts .venv/bin/stackup. Not part of `make test`.
BENCH_VENV  := .cache/bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): benchmarks/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -r benchmarks/requirements.txt
	@touch $@

bench: $(RUN_STAMP) $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/bench.py $(BENCH_ARGS)

bench-profile: $(RUN_STAMP) $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/profile_stackup.py $(BENCH_ARGS)

# The examples' Python requirements, into the project's .venv (reinstalled when a
# requirements.txt changes).
EXAMPLE_REQS := $(wildcard examples/*/requirements.txt)
EXAMPLES_STAMP := $(VENV)/.examples-installed

$(EXAMPLES_STAMP): $(EXAMPLE_REQS) | $(STAMP)
	$(BIN)/pip install -q $(addprefix -r ,$(EXAMPLE_REQS))
	@touch $@

# The MedCor platform (examples/medcor/README.md), in the foreground; Ctrl-C stops it.
# `make medcor PROFILES="proxy voice"` adds the nginx proxy and the voice server.
PROFILES ?=
MEDCOR := examples/medcor
medcor: $(EXAMPLES_STAMP)
	@command -v npm >/dev/null || { echo "make medcor: npm not found (apt-get install nodejs npm; node 20)" >&2; exit 1; }
	cd $(MEDCOR)/frontend && { test -d node_modules || npm ci --no-audit --no-fund; }
	@if echo " $(PROFILES) " | grep -q " proxy "; then $(MAKE) --no-print-directory medcor-nginx; fi
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/stackup -f $(MEDCOR)/stack.yaml up $(addprefix --profile ,$(PROFILES))

# nginx from Debian's packages when it is missing (root only; say so loudly otherwise).
.PHONY: medcor-nginx
medcor-nginx:
	@command -v nginx >/dev/null && exit 0; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing nginx (apt-get install nginx-light)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	else \
	  echo "*****************************************************************" >&2; \
	  echo "* nginx is not installed and cannot be installed from here:       *" >&2; \
	  echo "* run  sudo apt-get install nginx-light  (or your system's nginx) *" >&2; \
	  echo "*****************************************************************" >&2; \
	  exit 1; \
	fi

# The tests that check pictures and proxies use real tools: headless chromium (timeline
# SVG, Mermaid, the examples' pages), Graphviz `dot`, mermaid.js from its npm package,
# nginx, tmux (`stackup ui` in a real terminal). Without them those tests skip; .ci/run
# installs them and makes them required.
TOOLS           := .cache/tools
MERMAID_VERSION := 11.17.2

tools: $(TOOLS)/mermaid.min.js
	@if ! command -v chromium >/dev/null || ! command -v dot >/dev/null || ! command -v nginx >/dev/null \
	    || ! command -v tmux >/dev/null; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "install chromium, graphviz, nginx and tmux (apt) as root" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium graphviz fonts-dejavu-core nginx-light tmux >/dev/null; \
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

recipes-deps: $(EXAMPLES_STAMP)
	cd $(RECIPES)/web && ../scripts/npm-ci.sh

recipes: recipes-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/stackup -f $(RECIPES)/stack.yaml up

# End-to-end tests of the example platforms (tests/e2e/): real PostgreSQL, Django,
# Vite/Next.js and nginx. Not part of `make test`; .ci/run runs both.
e2e: $(EXAMPLES_STAMP)
	$(BIN)/python -m pytest -m e2e tests/e2e || [ $$? -eq 5 ]

# Stops a stack that is still running from .stackup/ before removing it.
clean:
	@if [ -x $(BIN)/stackup ] && [ -d .stackup ]; then $(BIN)/stackup down >/dev/null 2>&1 || true; fi
	rm -rf $(VENV) .stackup .cache .pytest_cache .ruff_cache build dist src/*.egg-info
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
