# The two commands of the README:  make reproduce   and   make test
# Both create .venv and install the pinned dependencies on first use, and only then.
# The interpreter is checked first (the pins need Python 3.11): a wrong one fails at once, with
# one line naming the fix, before anything is installed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := mobileone-study
PYTEST_WORKERS ?= 2
IS_311 := -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'
version = $(shell command -v $(1) >/dev/null 2>&1 && $(1) -V 2>&1 || echo not found)

.PHONY: setup reproduce test test-all lock clean-cache help check-python

help:
	@echo "make reproduce   run the whole study on the shipped data (notebooks, figures, tables)"
	@echo "make test        run the test suite (quick; slow tests: make test-all)"

# Checked when make reads this file, so a wrong interpreter stops everything with one line: a
# PYTHON given on the command line (or about to build .venv) must be 3.11, and so must the
# Python of a finished .venv.
ifneq ($(if $(filter file,$(origin PYTHON)),$(wildcard $(PY)),),$(PY))
ifneq ($(shell $(PYTHON) $(IS_311) 2>/dev/null && echo yes),yes)
$(error PYTHON=$(PYTHON) ($(call version,$(PYTHON))): this project needs Python 3.11; run make $(or $(MAKECMDGOALS),test) PYTHON=python3.11 (or conda env create -f environment.yml))
endif
endif
ifneq ($(wildcard $(STAMP)),)
ifneq ($(shell $(PY) $(IS_311) 2>/dev/null && echo yes),yes)
$(error $(VENV) was made by $(call version,$(PY)), but this project needs Python 3.11; run rm -rf $(VENV), then make again)
endif
endif

# A .venv of another Python whose installation never finished (no stamp) is rebuilt.
check-python:
	@if [ -x $(PY) ] && ! $(PY) $(IS_311) 2>/dev/null; then \
	  echo "$(VENV) was made by $$($(PY) -V 2>&1) and never finished installing: rebuilding it with $(PYTHON)"; \
	  rm -rf $(VENV); \
	  $(PYTHON) $(IS_311) 2>/dev/null || { echo "error: PYTHON=$(PYTHON) ($$($(PYTHON) -V 2>&1 || echo not found)): this project needs Python 3.11; run make $(or $(MAKECMDGOALS),test) PYTHON=python3.11" >&2; exit 2; }; fi

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dependencies into $(VENV) (first run only, ~2 minutes) …"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null
	@touch $@

reproduce: check-python $(STAMP)
	$(PY) -m analysis reproduce

test: check-python $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n $(PYTEST_WORKERS)

test-all: check-python $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS)

# Re-pin the environment after changing the direct dependencies in pyproject.toml.
lock: check-python $(STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	@{ sed -n '1,/^# Regenerate/p' requirements.txt; \
	   $(PY) -m pip freeze --all --exclude-editable | grep -v '^pip==' \
	   | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > requirements.txt.new
	@mv requirements.txt.new requirements.txt

clean-cache:
	rm -rf .cache
