# The README's commands. Each creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.plait-installed
SOURCES = setup.py pyproject.toml Cargo.toml $(shell find native -name '*.rs' -o -name 'Cargo.toml' 2>/dev/null) \
          $(shell find python -name '*.pyx' -o -name '*.pxd' 2>/dev/null)
DATA   ?= plait-data

.PHONY: run test lint bench install clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet "setuptools>=68" wheel "setuptools-rust>=1.9" "Cython>=3.0"
	$(PY) -m pip install --quiet --no-build-isolation -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/plait serve --data $(DATA)

test: lint
	cargo test --workspace
	$(PY) -m pytest -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/mypy python/plait

bench: $(STAMP)
	$(PY) benches/run.py

clean:
	rm -rf $(VENV) build target python/plait/*.so python/plait/**/*.so
