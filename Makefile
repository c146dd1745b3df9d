# bookmaker: `make book` builds the sample book, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the test suite uses: Chromium (Ace by DAISY), poppler (page renders, pdffonts),
# HarfBuzz subsetting (WeasyPrint font subsetting), qpdf, Ghostscript (CMYK ICC profiles).
SYSTEM_PACKAGES := chromium poppler-utils libharfbuzz-subset0 qpdf ghostscript

.PHONY: book test system-deps node-tools clean

$(BIN)/bookmaker: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

book: $(BIN)/bookmaker
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

test: $(VENV)/.test-extras node-tools
	$(BIN)/python -m pytest

# Needs root (CI runs as root). A user's machine: run it with sudo, or install the packages by hand.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf build dist .pytest_cache
