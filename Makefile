# mesh-local: everything a fresh Debian machine needs, in order. Run as root there.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CLI := node bin/mesh-local.js
DEMO_DIR := .mesh-local/demo
# Compose v2 plugin when present, else docker-compose v1 (what Debian ships).
COMPOSE = $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

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

test: engine tools build images
	npx tsc -p tsconfig.check.json
	npx vitest run --reporter=default --reporter=json --outputFile=.vitest-results.json; \
	  status=$$?; node scripts/test-summary.mjs .vitest-results.json; exit $$status

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
