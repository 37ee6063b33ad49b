# Two commands for a newcomer: `make run` and `make test`. Everything else is for maintainers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
# Zero-setup defaults for `make run`; anything already set in the environment wins.
export DEBUG ?= true
export EMAIL_URL ?= filemail://

.PHONY: run test install migrate lint bench clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py seed_demo
	@case "$$EMAIL_URL" in filemail://) echo "Emails are written to var/mail/." ;; *) echo "Emails go where EMAIL_URL says." ;; esac
	@echo "Open http://127.0.0.1:8000 (staff: /admin/)."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Recreates BENCH_DATABASE_URL (name must contain "bench") and flushes BENCH_REDIS_URL; see bench/run.py --help.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache
