# The README's commands. Each target installs what it needs first, so a fresh clone works.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export LMS_ENV ?= development
export LMS_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/lms.sqlite3

# Debian packages: fonts for Urdu, Arabic, Bengali and Gurmukhi; the browser the tests drive.
# WeasyPrint draws certificates with Pango; the tests read PDFs with poppler-utils, QR codes
# with zbar-tools, and check catalogues with gettext's msgfmt.
FONT_PACKAGES := fonts-noto-core libpango-1.0-0 libpangoft2-1.0-0
BROWSER_PACKAGES := chromium poppler-utils zbar-tools gettext
# bench/capacity.py drives gunicorn with wrk: a Python load generator cannot keep two workers busy.
BENCH_PACKAGES := wrk

.PHONY: install run test bench i18n translations system-packages browser clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Installs missing Debian packages when it can (root or password-less sudo);
# otherwise it says exactly what to install and stops.
define ensure_debian_packages
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else \
	    echo "Missing Debian packages:$$missing"; echo "Install them with: sudo apt-get install -y$$missing"; exit 1; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q --no-install-recommends $$missing; }; \
	fi
endef

system-packages:
	$(call ensure_debian_packages,$(FONT_PACKAGES))

# The browser tests also play exported SCORM packages in scorm-again, from the npm registry.
SCORM_RUNTIME := tests/e2e/scorm/node_modules/scorm-again/dist/scorm12.min.js

browser: $(SCORM_RUNTIME)
	$(call ensure_debian_packages,$(BROWSER_PACKAGES))

$(SCORM_RUNTIME): tests/e2e/scorm/package-lock.json
	@command -v npm >/dev/null || { echo "Installing Debian packages: npm"; export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends npm; }; }
	cd tests/e2e/scorm && npm ci --no-audit --no-fund --silent
	touch $@

# The interface catalogues: translations/<lang>/LC_MESSAGES/messages.po are the sources;
# the compiled .mo files are built here and never committed.
translations: install
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then $(BIN)/pybabel -q compile -d translations; fi

# Extract every marked string, bring each catalogue up to date, and compile them.
# A new language: .venv/bin/pybabel init -i translations/messages.pot -d translations -l xx
i18n: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file --project "Prevent LMS" \
	  --copyright-holder "Prevent LMS" -o translations/messages.pot .
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
	  $(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching; fi
	$(MAKE) translations

run: install system-packages translations
	@mkdir -p instance
	$(BIN)/lms db upgrade
	$(BIN)/lms demo
	@echo "Serving Prevent LMS on http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	$(BIN)/lms run --host $(HOST) --port $(PORT)

# A learning record store (Ralph) for the xAPI tests, in a virtualenv of its own.
LRS_VENV := tests/lrs/.venv

$(LRS_VENV)/.installed: tests/lrs/requirements.txt
	$(PYTHON) -m venv $(LRS_VENV)
	$(LRS_VENV)/bin/python -m pip install --quiet -r tests/lrs/requirements.txt
	touch $@

# The Open Badges 2.0 validator for the badge tests, in a virtualenv of its own: openbadges
# without its own pins, which no longer run on this Python (see tests/badges/requirements.txt).
BADGES_VENV := tests/badges/.venv

$(BADGES_VENV)/.installed: tests/badges/requirements.txt
	$(PYTHON) -m venv $(BADGES_VENV)
	$(BADGES_VENV)/bin/python -m pip install --quiet -r tests/badges/requirements.txt
	$(BADGES_VENV)/bin/python -m pip install --quiet --no-deps openbadges==1.1.2
	touch $@

test: install system-packages browser translations $(LRS_VENV)/.installed $(BADGES_VENV)/.installed
	$(BIN)/python -m pytest

bench: install
	$(call ensure_debian_packages,$(BENCH_PACKAGES))
	@for script in bench/*.py; do echo "$$script"; $(BIN)/python $$script --quick || exit 1; done

clean:
	rm -rf $(VENV) $(LRS_VENV) $(BADGES_VENV) instance/lms.sqlite3*
