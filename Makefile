# incidentflow — the two commands a newcomer needs are `make dev` and `make test`.
GO ?= go
# Packages whose tests do not link the embedded Temporal server: cheap to run under -race.
RACE_PKGS = ./dsl/... ./store/... ./workflows/... ./activities/... ./channels/... ./oncall/... ./simulation/...

.PHONY: dev build test check lint workflowcheck compose-config record-histories ui-screenshot browser-test bench zoneinfo

## dev: run everything embedded (Temporal, its UI, SQLite, worker, API)
dev:
	$(GO) run ./cmd/incidentflow dev

## build: build bin/incidentflow
build:
	$(GO) build -o bin/incidentflow ./cmd/incidentflow

## test: every check and every test; starts a throwaway PostgreSQL and embedded Temporal itself
test: check
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(GO) test -count=1 -timeout 30m ./...

## record-histories: re-record workflows/testdata/*.json on the embedded server (see README: Replay tests)
record-histories:
	$(GO) test -count=1 -tags record -run TestRecordHistories ./workflows/

## zoneinfo: take the time zone database built into the binary (dsl/zoneinfo.zip) from this Go release
zoneinfo:
	cp "$$($(GO) env GOROOT)/lib/time/zoneinfo.zip" dsl/zoneinfo.zip

## bench: the end-to-end benchmark on an embedded stack, with 10,000 open incidents (see BENCHMARKS.md)
bench:
	$(GO) run ./cmd/incidentflow bench --scale
	$(GO) test -run xxx -bench . -count 10 -benchmem ./dsl/ ./oncall/

## browser-test: the web app's browser suite alone (chromium, node; part of make test), screenshots in web/e2e/screenshots
browser-test:
	$(GO) test -count=1 -v -run TestBrowser ./web/

## ui-screenshot: check an incident's run reads like the process in the Temporal UI (needs chromium and npm)
ui-screenshot:
	scripts/ui-screenshot/run.sh

## check: formatting, vet, determinism of the workflow code, the compose file
check: lint workflowcheck compose-config

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

workflowcheck:
	$(GO) tool workflowcheck -config workflows/workflowcheck.yaml ./workflows/... ./bench/...

# Debian's docker-compose validates the file without a Docker engine. Under CI a
# missing docker-compose is a failure, not a skip.
compose-config:
	@if command -v docker-compose >/dev/null; then \
		INCIDENTFLOW_LINK_SECRET=validation-only docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml: valid"; \
	elif [ "$$CI" = "true" ]; then echo "docker-compose is required under CI (apt-get install docker-compose)"; exit 1; \
	else echo "docker-compose not installed: skipping the compose file check (apt-get install docker-compose)"; fi
