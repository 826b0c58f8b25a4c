# The two commands a newcomer types: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
HOST    ?= 127.0.0.1
PORT    ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

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

## test: the whole suite (SQLite and in-process services unless .ci/run switches real ones on)
test: $(STAMP)
	@$(BIN)/pytest

lint: $(STAMP)
	@$(BIN)/ruff check counselor tests bench

clean:
	rm -rf $(VENV) .pytest_cache
