# The one test command is `make test` (DESIGN.md, "Testing and CI"); .ci/run calls it.
#
#   make test            install + start services, go vet, go test -race, stop services
#   make services-up     start services (SERVICES="postgres redis" for a subset)
#   make services-down   stop them
#   make bench           run the benchmarks (no tests)
#   make fmt | vet       gofmt the tree | go vet it
#
# With services up, run single tests by hand with:
#   set -a; . ./.env.services; set +a; go test ./...

SHELL := /bin/bash
GO ?= go
PKGS ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 40m
SERVICES ?=
# Examples that are modules of their own (their frameworks stay out of go.mod).
EXAMPLE_MODULES ?= examples/chi examples/gin

.PHONY: test deps services-up services-down bench fmt vet

deps:
	$(GO) mod download

# Services are always stopped afterwards (EXIT trap, also on Ctrl-C); the exit
# status is go test's, or go vet's when only vet failed.
test: deps
	@trap 'scripts/services.sh down' EXIT; \
	scripts/services.sh up || exit $$?; \
	set -a; . ./.env.services; set +a; \
	vet=0; echo "go vet $(PKGS)"; $(GO) vet $(PKGS) || vet=$$?; \
	tst=0; echo "go test $(TESTFLAGS) $(PKGS)"; $(GO) test $(TESTFLAGS) $(PKGS) || tst=$$?; \
	for m in $(EXAMPLE_MODULES); do echo "go test $$m"; (cd $$m && $(GO) vet ./... && $(GO) test $(TESTFLAGS) ./...) || tst=$${tst/#0/1}; done; \
	if [ $$tst -ne 0 ]; then exit $$tst; fi; exit $$vet

services-up:
	scripts/services.sh up $(SERVICES)

services-down:
	scripts/services.sh down $(SERVICES)

bench: deps
	$(GO) test -run '^$$' -bench . $(PKGS)

fmt:
	$(GO) fmt $(PKGS)

vet:
	$(GO) vet $(PKGS)
