# Wage Patrol (治欠巡查). Both targets create or reuse .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= data/demo/server.db
PORT ?= 8000

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	test -f $(DEMO_DB) || $(BIN)/sync-server seed-demo --db $(DEMO_DB)
	$(BIN)/sync-server demo-info --db $(DEMO_DB) --port $(PORT)
	$(BIN)/sync-server serve --db $(DEMO_DB) --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data/demo
