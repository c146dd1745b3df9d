# bookmaker: `make book` builds the sample book, `make test` runs the whole suite.
# On a fresh Debian machine both work with nothing run before them: as root with apt-get, the
# system packages they need are installed once; otherwise the missing ones are named with their
# install command, and the tests that need them skip (under CI=true they fail).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Building: HarfBuzz subsetting (WeasyPrint subsets the embedded fonts with it), and the print
# fonts after Charis SIL for other scripts and symbols (layouts/print.css; README "Fonts").
BOOK_PACKAGES := libharfbuzz-subset0 fonts-noto-core fonts-noto-mono fonts-wqy-microhei fonts-droid-fallback fonts-symbola
# Testing, in addition: Chromium (Ace by DAISY, the preview's browser test), poppler (page renders,
# pdffonts), qpdf, Ghostscript (CMYK ICC profiles), calibre (ebook-convert to Kindle's AZW3 and
# ebook-meta: tests/test_calibre.py).
TEST_PACKAGES := $(BOOK_PACKAGES) chromium poppler-utils qpdf ghostscript calibre

.PHONY: book test system-deps node-tools clean

# $(call debian_packages,PACKAGES,STAMP): install the missing ones when root with apt-get, once
# (STAMP is touched when none is missing); otherwise say which are missing and how to install them.
define debian_packages
	@if ! command -v dpkg >/dev/null 2>&1; then \
		echo "note: not a Debian system; install the equivalents of: $(1)"; exit 0; fi; \
	missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq $$missing >/dev/null || exit 1; \
		missing=""; \
	fi; \
	if [ -n "$$missing" ]; then \
		echo "note: missing Debian packages:$$missing (install them: sudo apt-get install$$missing)"; \
	else mkdir -p $(dir $(2)) && touch $(2); fi
endef

$(BIN)/bookmaker: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.book-packages: Makefile
	$(call debian_packages,$(BOOK_PACKAGES),$@)

$(VENV)/.test-packages: Makefile
	$(call debian_packages,$(TEST_PACKAGES),$@)

book: $(VENV)/.book-packages $(BIN)/bookmaker
	$(BIN)/bookmaker build book -o build

$(VENV)/.test-extras: pyproject.toml $(BIN)/bookmaker
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Ace by DAISY from npm; its own browser download cannot work here, it runs Debian's chromium.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the Ace by DAISY test will be skipped (it fails under CI=true)"; fi

node-tools: node_modules/.installed

test: $(VENV)/.test-packages $(VENV)/.test-extras node-tools
	$(BIN)/python -m pytest

# Every system package, checked again now (root with apt-get installs the missing ones).
system-deps:
	$(call debian_packages,$(TEST_PACKAGES),$(VENV)/.test-packages)

clean:
	rm -rf build dist .pytest_cache
