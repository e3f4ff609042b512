# agent-gateway developer commands. `make dev` runs the stack locally, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# python3.13 (the Lambda runtime) where the machine has it, else python3.
PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two workers (CI has 2 cores); loadfile keeps each test file, and the stacks its
# module fixtures start, on one worker.
PYTEST_ARGS ?= -n 2 --dist loadfile
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv test lint typecheck pytest dev

# Infrastructure tools (SAM CLI, cfn-lint, checkov) live in their own venvs under .tools/,
# so their pins never meet the runtime dependencies (SAM CLI and checkov even pin
# different boto3 versions, hence two venvs). Bump a pin here: the stamp name changes
# and `make tools` reinstalls.
TOOLS := .tools
SAM_TOOLS := aws-sam-cli==1.170.0 cfn-lint==1.58.0
CHECKOV_TOOLS := checkov==3.3.30
TOOLS_STAMP := $(TOOLS)/.installed-$(subst ==,-,$(subst $(eval) ,_,$(SAM_TOOLS) $(CHECKOV_TOOLS)))
SAM := $(TOOLS)/sam/bin/sam
STACK_NAME ?= $(or $(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml 2>/dev/null | head -1),agent-gateway)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11+ found" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create/update .venv with the project and its dev tools

lint: $(STAMP) ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

pytest: $(STAMP) $(TOOLS_STAMP) ## the pytest suite only (infra tests use .tools/)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest ## everything CI runs: ruff, mypy strict, pytest

dev: $(STAMP) ## run the whole stack locally (agw dev; DEV_ARGS="--no-demo --port 3001" ...)
	$(BIN)/agw dev $(DEV_ARGS)

$(TOOLS_STAMP):
	@test -n "$(PYTHON)" || { echo "error: no python3.11+ found" >&2; exit 1; }
	rm -rf $(TOOLS) && mkdir -p $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/python -m pip install --quiet --disable-pip-version-check $(SAM_TOOLS)
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/python -m pip install --quiet --disable-pip-version-check $(CHECKOV_TOOLS)
	@touch $@

.PHONY: tools build deploy layer layer-size push-agents

tools: $(TOOLS_STAMP) ## install SAM CLI, cfn-lint and checkov into .tools/ (pinned)

build: $(TOOLS_STAMP) ## sam build: arm64/python3.13 artifacts into .aws-sam/build, no Docker
	$(SAM) build

deploy: build ## sam deploy --guided (first time; later runs reuse samconfig.toml)
	$(SAM) deploy --guided

layer: $(TOOLS_STAMP) ## build only DependenciesLayer (.aws-sam/build/DependenciesLayer)
	$(SAM) build DependenciesLayer

layer-size: layer ## print the layer's unzipped and zipped size (deflate, as sam deploy zips)
	@$(BIN)/python -c 'import io, pathlib, sys, zipfile; r = pathlib.Path(sys.argv[1]); f = [p for p in r.rglob("*") if p.is_file()]; b = io.BytesIO(); z = zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED); [z.write(p, p.relative_to(r)) for p in f]; z.close(); print(f"{len(f)} files, unzipped {sum(p.stat().st_size for p in f) / 2**20:.1f} MiB, zipped {len(b.getvalue()) / 2**20:.1f} MiB")' .aws-sam/build/DependenciesLayer

push-agents: $(STAMP) ## lint definitions/ and upload them to the deployed stack's bucket
	$(BIN)/agw agents lint definitions/
	@set -e; read -r bucket prefix < <($(BIN)/python -c 'import sys, boto3; s = boto3.client("cloudformation").describe_stacks(StackName=sys.argv[1])["Stacks"][0]; o = {x["OutputKey"]: x["OutputValue"] for x in s.get("Outputs", [])}; print(o["AgentsBucketName"], o["AgentsPrefix"])' "$(STACK_NAME)"); \
		echo "pushing definitions/ to s3://$$bucket/$$prefix (stack $(STACK_NAME))"; \
		$(BIN)/agw agents push definitions/ --bucket "$$bucket" --prefix "$$prefix"

.PHONY: openapi

openapi: $(STAMP) ## regenerate docs/openapi.json from the API handler's routes and models
	$(BIN)/python -c 'import pathlib; from handlers.api import openapi_document; pathlib.Path("docs/openapi.json").write_text(openapi_document() + "\n")'

.PHONY: bench

bench: $(STAMP) $(TOOLS_STAMP) ## every benchmark, one table (also written to .bench/last.md); < 5 min
	$(BIN)/python -m bench $(BENCH_ARGS)

.PHONY: reliability

reliability: $(STAMP) ## the reliability/security suite at full size, a fresh stack per scenario, prints its table (about 13 min)
	$(BIN)/python -m bench.reliability $(RELIABILITY_ARGS)
