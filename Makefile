# AgCom: `make run` serves on the embedded SQLite default, `make test` runs
# everything CI runs. The Go tests also need PostgreSQL's server binaries and
# redis-server (Debian: postgresql, redis-server): scripts/test-services starts
# throwaway ones for them.

GO      ?= go
# The Go release every target uses, whichever Go is installed: the go command
# fetches it from the module proxy once and keeps it in the module cache.
# go.mod's go line asks for this release at least, so an older `go` run by
# hand stops with a message. .ci/run, the Dockerfile and
# clients/ts/test/agcomd.ts name the same release.
GOTOOLCHAIN := go1.27.3
export GOTOOLCHAIN
# Every build and test uses the same tags and C flags, or go-sqlite3 recompiles.
TAGS    := sqlite_fts5
GOFLAGS := -tags=$(TAGS)
export GOFLAGS
# SQLite's query planner stability guarantee: a prepared statement keeps its
# plan whatever values are bound to it. Without it, SQLite plans a statement
# again whenever a new value is bound to its LIMIT (and in a few other
# places), which is nearly every use. Go's default flags come first.
CGO_CFLAGS ?= -O2 -g
CGO_CFLAGS += -DSQLITE_ENABLE_QPSG
export CGO_CFLAGS

BIN     := bin/agcomd
CODEGEN := github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

.PHONY: all run build generate check-generated vet vulncheck test test-go test-go-all services test-fuzz test-clients bench bench-sqlite bench-postgres bench-quick clean

all: build

## run: build and serve (creates .env with a random SECRET_KEY when missing)
run: .env build
	./$(BIN)

.env:
	@echo "creating .env with a random SECRET_KEY"
	@umask 077; printf 'SECRET_KEY=%s\n' "$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" > .env

## build: compile the server into bin/
build:
	$(GO) build -o $(BIN) ./cmd/agcomd

## generate: regenerate gen/ from openapi.yaml
generate:
	$(GO) generate ./...

## check-generated: fail when gen/ is not what openapi.yaml generates
check-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/oapi-codegen" $(CODEGEN) && \
	(cd "$$tmp" && ./oapi-codegen --config "$(CURDIR)/oapi-codegen.yaml" "$(CURDIR)/openapi.yaml") && \
	if diff -r -q "$$tmp/gen" gen >/dev/null; then echo "gen/ is up to date"; \
	else echo "gen/ is stale: openapi.yaml changed; run 'make generate' and commit gen/" >&2; exit 1; fi

# The release's own gofmt: the one on PATH belongs to the installed Go.
vet:
	@gofmt="$$($(GO) env GOROOT)/bin/gofmt" && unformatted=$$("$$gofmt" -l $$(git ls-files '*.go' | grep -v '^gen/')) || exit 1; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

# govulncheck against a local database: cmd/agcom-vulndb builds it from the
# module golang.org/x/vulndb, which holds the public database's entries (the
# database's own site cannot be reached from here). tools.go pins both that
# module and golang.org/x/vuln in go.mod, so the go command fetches them
# through the module proxy. The database is kept under .cache/vulndb/ for the
# version go.mod names; a new version replaces it.
VULNDB_CACHE := .cache/vulndb
## vulncheck: fail on any known vulnerability that the code can reach
vulncheck:
	@v=$$($(GO) list -m -f '{{.Version}}' golang.org/x/vulndb) && db="$(CURDIR)/$(VULNDB_CACHE)/$$v" && \
	if [ ! -f "$$db/index/modules.json" ]; then rm -rf "$(VULNDB_CACHE)" && $(GO) run ./cmd/agcom-vulndb -out "$$db"; fi && \
	$(GO) run golang.org/x/vuln/cmd/govulncheck -db "file://$$db" ./...

## test: everything CI runs
test: check-generated check-console vet vulncheck test-go test-fuzz bench-quick test-clients test-console

# A throwaway PostgreSQL and redis-server for the Go tests: exports
# AGCOM_TEST_DATABASE_URL, AGCOM_TEST_REDIS_URL and AGCOM_TEST_REQUIRE_SERVICES=1
# to the command it runs, and removes both servers when it ends.
TEST_SERVICES := scripts/test-services

## test-go: the Go suite (the store tests cover both stores), then the API
## tests again on PostgreSQL
test-go:
	$(TEST_SERVICES) $(MAKE) --no-print-directory test-go-all

# test-go's body, under $(TEST_SERVICES) (or with the AGCOM_TEST_* variables
# pointing at servers of your own). The tests package builds Ory Hydra (its
# own module, tools/hydra) once per machine for the identity provider
# tests, and the Versity S3 gateway (tools/versitygw) for the tests of
# attachments in a bucket, which run in the PostgreSQL pass; each takes
# minutes on a fresh machine: hence the longer timeout.
test-go-all:
	@test -n "$${AGCOM_TEST_DATABASE_URL:-}" || { echo "test-go-all needs the AGCOM_TEST_* variables: run 'make test-go'" >&2; exit 2; }
	$(GO) test -count=1 -race -timeout 30m ./...
	AGCOM_TEST_STORE=postgres $(GO) test -count=1 -race -timeout 30m ./tests/

## services: a shell with throwaway PostgreSQL and redis-server, until it exits.
## One package or test on PostgreSQL, without the shell:
##   scripts/test-services env AGCOM_TEST_STORE=postgres go test ./tests/ -run X   (GOFLAGS and CGO_CFLAGS as above)
services:
	$(TEST_SERVICES) $${SHELL:-bash}

# Short fuzz runs beyond the seed corpora (which test-go already runs, on
# both stores). The domain targets need no store; the HTTP target runs on
# SQLite and on PostgreSQL. Go fuzzes one target per package per run, hence
# one line each.
# Budgets are counts of inputs, not durations, so that a run tries as many
# inputs however busy the machine is.
FUZZTIME ?= 100000x
FUZZTIME_HTTP ?= 5000x
test-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzNewMessageValidate$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzReplyValidate$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzNormalizeTags$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzValidHandle$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzCheckText$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzCheckMetadata$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzMatcher$$' -fuzztime=$(FUZZTIME) ./internal/agcom
	$(GO) test -run='^$$' -fuzz='^FuzzHTTP$$' -fuzztime=$(FUZZTIME_HTTP) ./tests
	$(TEST_SERVICES) env AGCOM_TEST_STORE=postgres $(GO) test -run='^$$' -fuzz='^FuzzHTTP$$' -fuzztime=$(FUZZTIME_HTTP) ./tests

# Third-party client and docs checks (clients/ts, Node.js 20 + npm): the
# spectral lint of openapi.yaml, the TypeScript client generated from it
# (typecheck, then its tests against a real agcomd), the official TypeScript
# MCP SDK against agcomd's /mcp, and the docs page in headless Chromium
# (/usr/bin/chromium, or CHROMIUM_PATH). agcomd is built once here for every
# test file.
CLIENTS := clients/ts
## test-clients: contract lint, TypeScript client and MCP SDK against agcomd, docs in a real browser
test-clients: $(CLIENTS)/node_modules/.agcom-npm-ci
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/agcomd" ./cmd/agcomd && \
	cd $(CLIENTS) && AGCOM_BIN="$$tmp/agcomd" npm test

# npm ci when node_modules is missing or older than the lockfile. Install
# scripts are skipped: none of these packages needs one (esbuild's binary comes
# in its platform package; @scarf/scarf's would only send usage analytics).
$(CLIENTS)/node_modules/.agcom-npm-ci: $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# The overseer console (clients/console, Node.js 20 + npm): its TypeScript is
# built into internal/console/assets, which agcomd embeds. The built assets
# are committed, like gen/, so that `make run` needs only Go; check-console
# builds them again into a temp dir and fails when they differ.
CONSOLE := clients/console
.PHONY: console check-console test-console
## console: rebuild internal/console/assets from clients/console
console: $(CONSOLE)/node_modules/.agcom-npm-ci
	cd $(CONSOLE) && npm run build

## check-console: fail when internal/console/assets is not what clients/console builds
check-console: $(CONSOLE)/node_modules/.agcom-npm-ci
	cd $(CONSOLE) && npm run check

## test-console: typecheck the console, then drive it in headless Chromium
## against a real agcomd (screenshots in clients/console/test-artifacts/)
test-console: $(CONSOLE)/node_modules/.agcom-npm-ci
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/agcomd" ./cmd/agcomd && \
	cd $(CONSOLE) && npm run typecheck && AGCOM_BIN="$$tmp/agcomd" npm run test:e2e

$(CONSOLE)/node_modules/.agcom-npm-ci: $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## bench: seed 1,000 agents / 100,000 threads / 1,000,000 messages and
## measure every scenario against a bare net/http baseline, on SQLite, then
## on a throwaway PostgreSQL with fsync on (the data is seeded into SQLite and
## moved with agcomd copy); it ends with the write targets that compare the
## runs (BENCH_FLAGS adds flags)
bench:
	AGCOM_SERVICES_DURABLE=1 $(TEST_SERVICES) sh -c '$(GO) run ./cmd/agcom-bench --store sqlite,postgres --split-cpus --database-url "$$AGCOM_TEST_DATABASE_URL" $(BENCH_FLAGS)'

## bench-sqlite, bench-postgres: one store alone (bench-sqlite needs no PostgreSQL)
bench-sqlite:
	$(GO) run ./cmd/agcom-bench $(BENCH_FLAGS)

bench-postgres:
	AGCOM_SERVICES_DURABLE=1 $(TEST_SERVICES) sh -c '$(GO) run ./cmd/agcom-bench --store postgres --split-cpus --database-url "$$AGCOM_TEST_DATABASE_URL" $(BENCH_FLAGS)'

# The benchmark on small data, 2 s a scenario, on both stores: it runs in
# `make test` so that it cannot rot.
bench-quick:
	$(TEST_SERVICES) sh -c '$(GO) run ./cmd/agcom-bench --quick --store sqlite,postgres --split-cpus --database-url "$$AGCOM_TEST_DATABASE_URL"'

clean:
	rm -rf bin
