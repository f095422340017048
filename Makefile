# Wage Patrol (治欠巡查). Both targets create or reuse .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= data/demo/server.db
PORT ?= 8000
APP_PORT ?= 8550
DEMO_DEVICE ?= data/demo/phone
CONSOLE_PORT ?= 8551
DEMO_CONSOLE ?= data/demo/console

LOCK := requirements/dev.txt

.PHONY: demo test lint soak venv clean bench lock

venv: $(STAMP)

# Every group, at the versions pinned in the lock; then the project itself, without
# resolving again (pyproject.toml names the groups, requirements/*.txt pins them).
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-pin every group after a change to pyproject.toml's dependencies, with uv from PyPI in
# a venv of its own ($(UV_VENV), outside the repo). server and phone take dev's versions.
UV_VENV ?= /tmp/wp-uv
UV_COMPILE = $(UV_VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --universal \
	--annotation-style line --quiet --custom-compile-command 'make lock'
lock:
	test -x $(UV_VENV)/bin/uv || ($(PY) -m venv $(UV_VENV) && $(UV_VENV)/bin/pip install --quiet uv==0.13.9)
	$(UV_COMPILE) --extra dev -o requirements/dev.txt
	$(UV_COMPILE) --extra server -c requirements/dev.txt -o requirements/server.txt
	$(UV_COMPILE) --extra phone -c requirements/dev.txt -o requirements/phone.txt

# The server in the foreground, the field app and the office console (web mode, no CDN)
# beside it; Ctrl-C stops all three.
demo: $(STAMP)
	test -f $(DEMO_DB) || $(BIN)/sync-server seed-demo --db $(DEMO_DB)
	$(BIN)/sync-server demo-info --db $(DEMO_DB) --port $(PORT)
	@echo "Field app (web, works offline): http://127.0.0.1:$(APP_PORT)/"
	@echo "  log in with server URL http://127.0.0.1:$(PORT) and a field login above (grid1 / demo1234)"
	@echo "  its data folder (one phone): $(DEMO_DEVICE)"
	@echo "Office console: http://127.0.0.1:$(CONSOLE_PORT)/ (office1 or leader1 / demo1234)"
	@trap 'kill $$app $$console 2>/dev/null; wait $$app $$console 2>/dev/null' EXIT INT TERM; \
	FLET_FORCE_WEB_SERVER=1 $(BIN)/field-app --data-dir $(DEMO_DEVICE) ui --host 127.0.0.1 \
		--port $(APP_PORT) & app=$$!; \
	FLET_FORCE_WEB_SERVER=1 $(BIN)/office-console --data-dir $(DEMO_CONSOLE) --host 127.0.0.1 \
		--port $(CONSOLE_PORT) & console=$$!; \
	$(BIN)/sync-server serve --db $(DEMO_DB) --host 127.0.0.1 --port $(PORT) --access-log

# ruff over the whole tree and mypy over what [tool.mypy] names, before the suite.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# --- #18 PostgreSQL ---
# `make pg`: PostgreSQL answers on $(PG_HOST):$(PG_PORT), or Debian's installed cluster is
# started (the tests would start it too; they fail, never skip, without it).
# `make demo-pg`: the demo township seeded once into the database $(PG_DEMO_DB) and served.
.PHONY: pg demo-pg
test: pg
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_USER ?= postgres
PG_DEMO_DB ?= wage_patrol_demo
PG_DEMO_URL ?= postgresql://$(PG_USER)@$(PG_HOST):$(PG_PORT)/$(PG_DEMO_DB)
PG_DEMO_BLOBS ?= data/demo-pg/blobs
pg:
	@pg_isready -q -h $(PG_HOST) -p $(PG_PORT) || { \
	  v=$$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1); \
	  test -n "$$v" || { echo "PostgreSQL is not reachable on $(PG_HOST):$(PG_PORT) and not installed (apt-get install postgresql)" >&2; exit 1; }; \
	  SUDO=""; if [ "$$(id -u)" -ne 0 ] && [ "$$(id -un)" != postgres ] && command -v sudo >/dev/null; then SUDO=sudo; fi; \
	  $$SUDO pg_ctlcluster --skip-systemctl-redirect $$v main start || true; \
	  for i in $$(seq 30); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && break; sleep 1; done; \
	  pg_isready -h $(PG_HOST) -p $(PG_PORT) || { echo "PostgreSQL $$v did not start on $(PG_HOST):$(PG_PORT)" >&2; exit 1; }; }

demo-pg: $(STAMP) pg
	psql -h $(PG_HOST) -p $(PG_PORT) -U $(PG_USER) -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$(PG_DEMO_DB)'" | grep -q 1 \
		|| createdb -h $(PG_HOST) -p $(PG_PORT) -U $(PG_USER) $(PG_DEMO_DB)
	$(BIN)/sync-server seed-demo --db $(PG_DEMO_URL) --blobs $(PG_DEMO_BLOBS)
	$(BIN)/sync-server demo-info --db $(PG_DEMO_URL) --port $(PORT)
	$(BIN)/sync-server serve --db $(PG_DEMO_URL) --blobs $(PG_DEMO_BLOBS) --host 127.0.0.1 \
		--port $(PORT) --access-log

# Benchmarks next to pouchdb-server (installed from npm into $(PEER_WORK), outside
# the repo). BENCH_ARGS=--quick for small sizes. Writes bench/results/latest.json.
PEER_WORK ?= /tmp/wp-peerbench
BENCH_ARGS ?=
bench: $(STAMP)
	PEER_WORK=$(PEER_WORK) $(BIN)/python bench/run.py $(BENCH_ARGS)

# The reliability proofs (tests/reliability, docs/reliability.md) at soak size:
# 30+ server kills, thousands of fuzzed requests, longer hypothesis runs.
soak: $(STAMP)
	WAGE_PATROL_SOAK=1 $(BIN)/python -m pytest tests/reliability -q

clean:
	rm -rf $(VENV) data/demo
