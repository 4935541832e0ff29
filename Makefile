# 粵藏 Yuecang: the two commands (make demo, make test) and the helpers around them.
# Everything installs into a local virtualenv (.venv) and node_modules (npm ci);
# nothing to install by hand beyond Python 3.11+ and Node.js 20+.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
export DJANGO_ENV ?= development

.PHONY: demo test bench lint install serve worker clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[whisper-model,dev]'
	touch $@

# Browser code: Mirador, esbuild and axe-core (the accessibility checks of the browser
# tests) from package-lock.json, then one production bundle that Django serves as a
# static file (node_modules/.yuecang/mirador, see STATICFILES_DIRS).
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20 or later) is needed for the IIIF viewer"; exit 1; }
	npm ci --include=dev --no-audit --no-fund
	touch $@

node_modules/.yuecang/mirador/mirador.min.js: node_modules/.installed
	npm run --silent build

install: $(VENV)/.installed node_modules/.yuecang/mirador/mirador.min.js

## make demo: install, build the sample archive, serve it at http://127.0.0.1:$(PORT)
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_sample
	$(PY) manage.py sample_exhibition
	$(PY) manage.py reindex
	$(PY) manage.py demo_accounts
	@echo "Serving http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/, user admin, password yuecang-demo)"
	@mkdir -p var; \
	$(VENV)/bin/celery -A archive worker -B -Q celery,ingest,transcribe,search --concurrency 1 \
	  --loglevel INFO --logfile var/worker.log & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

## make test: the whole suite (SQLite unless DATABASE_URL is set)
test: install
	DJANGO_ENV=test $(VENV)/bin/pytest

## make bench: every benchmark under bench/
# The baselines and load tools the benchmarks compare against (Debian packages).
BENCH_TOOLS := wrk lighttpd nginx sha256sum vips espeak-ng
bench: install
	@missing=""; for t in $(BENCH_TOOLS); do command -v $$t >/dev/null || missing=1; done; \
	  [ -x /usr/lib/iipimage-server/iipsrv.fcgi ] || missing=1; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq wrk lighttpd iipimage-server nginx-light libvips-tools espeak-ng >/dev/null; fi
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

## make lint: ruff (check and format) and Django's checks
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_ENV=test $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf var
