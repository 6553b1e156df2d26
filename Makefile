# mesh-local: everything a fresh Debian machine needs, in order. Run as root there.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CLI := node bin/mesh-local.js
DEMO_DIR := .mesh-local/demo
# The Compose CLI mesh-local runs: MESH_LOCAL_COMPOSE=v1 or v2, else the v2 plugin when present,
# else docker-compose v1. `make engine` installs both (scripts/ensure-compose.sh).
COMPOSE = $(shell case "$$MESH_LOCAL_COMPOSE" in (v1) echo docker-compose ;; (v2) echo "docker compose" ;; \
  (*) docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose ;; esac)
# `make test` runs every test with Compose v2, then this end-to-end file again with v1.
V1_TESTS := test/up.test.ts
V1_RESULTS := .mesh-local/vitest-results-compose-v1.json

.PHONY: help engine tools install build images test demo compose clean

help:
	@echo "make demo     run the mesh and BookInfo (sandbox images when no registry answers)"
	@echo "make test     run every test (starts a Docker Engine when needed)"
	@echo "make images   build the offline sandbox image set"
	@echo "make compose  re-render the reference stacks in compose/"

engine:
	@bash scripts/ensure-docker.sh

tools:
	@bash scripts/ensure-test-tools.sh

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: node_modules/.installed

build: install
	npx tsc -p tsconfig.build.json
	npx tsc -p tsconfig.sandbox.json

# The offline image set: from scratch on a fresh machine, seconds when nothing changed.
images: engine tools build
	$(CLI) images build --set sandbox

# Both Compose CLIs stay working: everything runs with v2 (the default where it is present), and
# the end-to-end tests of $(V1_TESTS) run again with v1. Where Debian has no v1 (13 and later),
# scripts/ensure-compose.sh --expected says so and the second run is left out.
test: engine tools build images
	npx tsc -p tsconfig.check.json
	@rm -f .vitest-results.json $(V1_RESULTS); status=0; \
	  MESH_LOCAL_COMPOSE=v2 npx vitest run --reporter=default --reporter=json --outputFile=.vitest-results.json || status=1; \
	  runs=("every test, Compose v2=.vitest-results.json"); \
	  if bash scripts/ensure-compose.sh --expected | grep -qw v1; then \
	    echo "== $(V1_TESTS) again with Compose v1: MESH_LOCAL_COMPOSE=v1"; \
	    MESH_LOCAL_COMPOSE=v1 npx vitest run $(V1_TESTS) --reporter=default --reporter=json --outputFile=$(V1_RESULTS) || status=1; \
	    runs+=("$(V1_TESTS), Compose v1=$(V1_RESULTS)"); \
	  fi; \
	  node scripts/test-summary.mjs "$${runs[@]}" || status=1; exit $$status

# The main job: the mesh and BookInfo, upstream images when their registry answers, else the
# sandbox set built here; then one request through the gateway.
demo: engine tools build images
	$(CLI) up --images auto --project demo
	$(CLI) bookinfo --images auto --project demo | tee .mesh-local/demo.gateway
	@url=$$(sed -n 's/^GATEWAY_URL=//p' .mesh-local/demo.gateway); \
	  echo; echo "productpage: http://$$url/productpage"; \
	  curl -s -o /dev/null -w "GET /productpage -> HTTP %{http_code}\n" "http://$$url/productpage"; \
	  curl -s "http://$$url/productpage" | grep -o '<title>.*</title>\|Book Reviews' | sort -u; \
	  echo "status: node bin/mesh-local.js status --project demo   remove: node bin/mesh-local.js down --project demo"

# Reference stacks for plain Compose; test/reference-stacks.test.ts fails when they are stale.
compose: build
	$(CLI) render --registry consul --bookinfo -o compose/consul/docker-compose.yaml
	$(CLI) render --registry eureka --bookinfo -o compose/eureka/docker-compose.yaml

clean:
	rm -rf dist .mesh-local .vitest-results.json
