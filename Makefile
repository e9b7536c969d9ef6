# Two commands matter (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/conciergerie compilemessages --ignore=.venv >/dev/null

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/conciergerie compilemessages --ignore=.venv >/dev/null

demo: install
	$(BIN)/conciergerie demo

test: install-dev
	bash scripts/test.sh

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/conciergerie

bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data build *.egg-info
