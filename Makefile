# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: three on two cores, since tests wait on subprocesses, Spark and HTTP as much as they
# compute. A file's tests stay in one (tests/conftest.py), so its module and session fixtures are shared.
TEST_WORKERS ?= 3

.PHONY: run test lint build validate bench invoke clean lock java wheelhouse

# pyspark goes first, so that its class archive (offline_aws/local_spark.py), which makes every local Spark
# start faster, is written on the other core while pip installs the rest.
$(STAMP): requirements-dev.txt constraints.txt layers/requests/requirements.txt functions/*/requirements.txt | java
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt pyspark
	nice $(BIN)/python -m offline_aws.local_spark --create-class-archive > $(VENV)/class-archive.log 2>&1 & \
	  archive=$$!; $(MAKE) wheelhouse & wheelhouse=$$!; \
	  $(BIN)/pip install --quiet -r requirements-dev.txt; installed=$$?; \
	  wait $$wheelhouse || installed=1; \
	  wait $$archive || echo "No Spark class archive (see $(VENV)/class-archive.log): local Spark starts slower."; \
	  exit $$installed
	touch $(STAMP)

# Wheels of the Lambda code's pinned requirements, so `sam build` in the tests installs offline.
wheelhouse:
	$(BIN)/pip download --quiet --dest .wheelhouse --only-binary=:all: --platform manylinux2014_x86_64 \
	  --python-version 3.11 -r layers/requests/requirements.txt \
	  -r functions/fetch_stock_data/requirements.txt -r functions/fetch_subscription_data/requirements.txt \
	  -r functions/validate_execution_input/requirements.txt

# Spark (the Glue script's local runtime) needs Java 17; install it when missing.
java:
	@if java -version 2>&1 | grep -qE 'version "(17|21)'; then :; else \
	  echo "Java 17 not found: installing openjdk-17-jre-headless"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; \
	fi

## Run both workflows offline, end to end, on the embedded AWS emulation.
run: $(STAMP) java
	$(BIN)/python -m offline_pipeline run $(ARGS)

## Every test: lint, unit, template, Glue on local Spark, the offline tool, the workflows on the emulation.
test: $(STAMP) java lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

build: $(STAMP)
	$(BIN)/sam build

validate: $(STAMP)
	$(BIN)/sam validate --lint

bench: $(STAMP) java
	$(BIN)/python -m bench

## Offline counterpart of `sam local invoke`: make invoke FUNCTION=FetchStockDataFunction EVENT=events/fetch_stock_data.json
invoke: $(STAMP)
	$(BIN)/python -m offline_pipeline invoke $(FUNCTION) --event $(EVENT)

lock: $(STAMP)
	(echo "# Transitive pins (pip freeze of requirements-dev.txt); regenerate with 'make lock'."; $(BIN)/pip freeze) > constraints.txt

clean:
	rm -rf $(VENV) .aws-sam .offline .pytest_cache .ruff_cache .wheelhouse
