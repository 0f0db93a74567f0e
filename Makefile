# cosmic-morph — every target bootstraps .venv itself, so a fresh clone needs only python3 and the package registries.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= cpu
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: run test check nbtest pytest smoke docs docs-check readme bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: the main job — every notebook through papermill on the offline default data (FIRST), cpu profile
## (MPLBACKEND is unset for papermill's kernels: with Agg they keep no figures, and the docs show executed notebooks)
## make run GZ2=DIR [GZ1=DIR]: the Galaxy Zoo models learn real galaxies from a GZ2 download (and GZ1 galaxies)
## [MEMBERS=3]: the GZ 5-class model averages three networks (steadier and a little better, three times its training)
GZ2 ?=
GZ1 ?=
MEMBERS ?=
run: $(STAMP)
	env -u MPLBACKEND $(BIN)/cosmic-morph run --profile $(PROFILE) $(if $(GZ2),--gz2 $(GZ2)) $(if $(GZ1),--gz1 $(GZ1)) \
	  $(if $(MEMBERS),--members $(MEMBERS))

## make test: library/notebook sync, clean notebooks, nbdev-test, pytest, and a papermill smoke run of the pipeline
test: check nbtest pytest smoke

check: $(STAMP)
	$(BIN)/nbdev-export
	@if [ -n "$$(git status --porcelain -- cosmic_morph)" ]; then \
	  echo "nbdev-export changed the library: notebooks and cosmic_morph/ are out of sync"; git status --short -- cosmic_morph; exit 1; fi
	$(BIN)/nbdev-clean
	@if [ -n "$$(git status --porcelain -- nbs)" ]; then \
	  echo "nbdev-clean changed notebooks: run nbdev-clean and commit"; git status --short -- nbs; exit 1; fi

nbtest: $(STAMP)
	$(BIN)/nbdev-test --n-workers 2 --timing

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

## the smoke run of the real-galaxy path needs ../shared/data (never part of the repository); the plain one runs last
## so that it is the newest run the docs read
SHARED_DATA ?= ../shared/data
smoke: $(STAMP)
	rm -rf runs/smoke runs/smoke-gz2
	@if [ -d $(SHARED_DATA)/gz2 ] && [ -d $(SHARED_DATA)/gz1 ]; then \
	  env -u MPLBACKEND $(BIN)/cosmic-morph run --profile smoke --out runs/smoke-gz2 \
	    --gz2 $(SHARED_DATA)/gz2 --gz1 $(SHARED_DATA)/gz1; \
	else echo "smoke: $(SHARED_DATA) not found: the --gz2 smoke run is skipped (real galaxies are not in the repository)"; fi
	env -u MPLBACKEND $(BIN)/cosmic-morph run --profile smoke --out runs/smoke

## make docs: the docs site in _docs/. nbdev-docs (Quarto) where Quarto exists; otherwise MkDocs over the chapters as
## executed by the newest runs/*/ (RUN=runs/ID picks one), the results chapter executed now (tools/build_docs.py)
DOCS_STAMP := $(VENV)/.docs-installed
RUN ?=

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $(DOCS_STAMP)

ifneq ($(shell command -v quarto),)
docs: $(STAMP)
	$(BIN)/nbdev-docs
else
docs: $(DOCS_STAMP)
	$(BIN)/python tools/build_docs.py $(if $(RUN),--run $(RUN))
endif

## make docs-check: every page of _docs/ in headless Chromium (Debian: apt-get install chromium): loads, has a title
## and content, its figures resolve; screenshots into _docs_check/. Not in `make test`: it needs a browser and a build.
docs-check: $(STAMP)
	$(BIN)/python tools/check_docs.py --site _docs

## make readme: README.md from nbs/index.ipynb (the index notebook is the source; tests/test_docs.py checks they agree)
readme:
	$(PYTHON) tools/make_readme.py

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean-venv:
	rm -rf $(VENV)
