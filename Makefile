# The two commands of the README:  make reproduce   and   make test
# Both create .venv and install the pinned dependencies on first use, and only then.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := mobileone-study
PYTEST_WORKERS ?= 2

.PHONY: setup reproduce test test-all lock clean-cache help

help:
	@echo "make reproduce   run the whole study on the shipped data (notebooks, figures, tables)"
	@echo "make test        run the test suite (quick; slow tests: make test-all)"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dependencies into $(VENV) (first run only, ~2 minutes) …"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null
	@touch $@

reproduce: $(STAMP)
	$(PY) -m analysis reproduce

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n $(PYTEST_WORKERS)

test-all: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS)

# Re-pin the environment after changing the direct dependencies in pyproject.toml.
lock: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	@{ sed -n '1,/^# Regenerate/p' requirements.txt; \
	   $(PY) -m pip freeze --all --exclude-editable | grep -v '^pip==' \
	   | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > requirements.txt.new
	@mv requirements.txt.new requirements.txt

clean-cache:
	rm -rf .cache
