# The two commands a newcomer types: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
HOST    ?= 127.0.0.1
PORT    ?= 5000
export FLASK_APP := wsgi

LOCK    := requirements.lock
# pytest-xdist workers for make test: one per core; 0 runs the suite in one process
TEST_JOBS ?= auto

.PHONY: run test lint lock clean bench bench-quick

# bench and bench-quick EMPTY this PostgreSQL database: give them one of their own
BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/counselor_bench

# Every dependency at the version pinned in requirements.lock (make lock renews it), then the
# project itself from this checkout.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -r $(LOCK)
	@$(BIN)/python -m pip install --quiet --no-deps -e '.[test,dev]'
	@touch $(STAMP)

## lock: pin every dependency (with the test and dev extras) anew in requirements.lock
lock: $(STAMP)
	@$(BIN)/pip-compile --quiet --upgrade --extra test --extra dev --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

## run: migrate, load the library, refresh the demo login, and start web + worker + beat on http://$(HOST):$(PORT)
run: $(STAMP)
	@$(BIN)/flask db upgrade
	@$(BIN)/flask library sync
	@$(BIN)/flask demo --reset-password
	@echo ""
	@echo "  Counselor is starting at  http://$(HOST):$(PORT)/"
	@echo "  Sign in with the demo login printed above (a fresh password at every start)."
	@echo "  Stop with Ctrl-C."
	@echo ""
# devrun runs the Procfile's commands through sh, which must find the venv's gunicorn, and
# stops every process it started on Ctrl-C (honcho could leave one running).
# Links shown to the counselor point where make run serves, unless COUNSELOR_BASE_URL says otherwise.
	@PATH="$(abspath $(BIN)):$$PATH" BIND=$(HOST):$(PORT) \
		COUNSELOR_BASE_URL="$${COUNSELOR_BASE_URL:-http://$(HOST):$(PORT)}" \
		$(BIN)/python -m counselor.devrun web worker beat

## test: the whole suite on every core (SQLite and in-process services unless .ci/run switches
## real ones on); each xdist worker has its own database, Redis database, Celery queue and ports
test: $(STAMP)
	@$(BIN)/pytest -n $(TEST_JOBS) --dist worksteal --durations=30

## lint: ruff (lint and format), and the import contracts of pyproject.toml (core imports no feature, features
## are layered, pure modules import no Flask, SQLAlchemy or Celery)
lint: $(STAMP)
	@$(BIN)/ruff check counselor tests bench
	@$(BIN)/ruff format --check counselor tests bench
	@$(BIN)/lint-imports --no-cache

## bench: every benchmark of README's table on a quiet machine (about an hour; wrk and a
## PostgreSQL at BENCH_PG_URL, whose database it empties); prints markdown tables to paste
bench: $(STAMP)
	@$(BIN)/python bench/load.py --pg-url $(BENCH_PG_URL) $(if $(BENCH_REDIS_URL),--redis-url $(BENCH_REDIS_URL))
	@$(BIN)/python bench/cpu_split.py
	@$(BIN)/python bench/pdf.py --render-only --runs 20
	@$(BIN)/python bench/scale.py --pg-url $(BENCH_PG_URL)

## bench-quick: the same, shorter and smaller (rough figures, for development)
bench-quick: $(STAMP)
	@$(BIN)/python bench/load.py --quick --pg-url $(BENCH_PG_URL)
	@$(BIN)/python bench/cpu_split.py --requests 100
	@$(BIN)/python bench/pdf.py --render-only --runs 5
	@$(BIN)/python bench/scale.py --quick --pg-url $(BENCH_PG_URL)

clean:
	rm -rf $(VENV) .pytest_cache
