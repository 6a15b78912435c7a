# SuperPayment: `make run` starts the product, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
LAUNCH := $(PY) -m superpayment.launcher

.PHONY: run test bench torture manage lint format lock clean help widget

help:
	@echo "make run    start the product (embedded PostgreSQL + Redis unless DATABASE_URL/REDIS_URL)"
	@echo "make test   run the whole test suite against real servers"
	@echo "make bench  run the benchmarks and print their figures"
	@echo "make lint   ruff check + ruff format --check"

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "SuperPayment needs Python 3.11 or newer; set PYTHON=python3.12 (for example)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@touch $@

$(VENV)/.runtime: $(VENV)/.python-ok requirements/base.txt
	$(PIP) install -r requirements/base.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.txt
	$(PIP) install -r requirements/dev.txt
	@touch $@

# widget.js: minified and content-hashed into widget/dist/ (pure Python, no npm).
widget: $(VENV)/.runtime
	$(PY) -m widget.build

run: $(VENV)/.runtime widget
	$(LAUNCH) run

test: $(VENV)/.dev widget
	$(LAUNCH) with-services test -- $(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev widget
	$(LAUNCH) with-services bench -- $(PY) -m bench $(BENCH_ARGS)

# Checkout torture: concurrent shoppers for TORTURE_SECONDS (default 120), then the invariants.
torture: $(VENV)/.dev widget
	$(LAUNCH) with-services bench -- $(PY) -m bench.torture

# Django management commands against the servers of a running `make run`: make manage ARGS=...
manage: $(VENV)/.runtime
	$(PY) manage.py $(ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-resolve the pins in requirements/*.in into the full locks.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -r requirements/base.in
	{ echo "# Runtime lock: every package the product runs with, pinned. Regenerate with 'make lock'."; \
	  .lock-venv/bin/pip freeze --exclude pip; } > requirements/base.txt
	.lock-venv/bin/pip install -q -r requirements/dev.in
	{ echo "# Development lock: runtime (base.txt) plus test and lint tooling, pinned. Regenerate with 'make lock'."; \
	  echo "-r base.txt"; .lock-venv/bin/pip freeze --exclude pip | grep -vxFf requirements/base.txt; } > requirements/dev.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .var/test .var/bench
