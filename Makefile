# Every target loops over the modules of the workspace (go.work): a bare
# `go test ./...` at the root does not see them.
#
#   make fmt lint test    the gates
#   make bench            benchmarks (BENCHTIME=2s make bench)
#   make fuzz             fuzz the event parser (FUZZTIME=5m make fuzz)
#   make chaos            the fault suite against deploy/local (docs/reliability.md)
#   make tidy             go mod tidy in every module
#   make screenshots      docs/monitor-overzicht.png from the dashboard's browser test
#
# Tests save what they produce for people to look at (the dashboard's
# screenshots) under testoutput/_artifacts/.

SHELL      := /bin/bash
MODULES    := $(shell go list -m -f '{{.Dir}}')
FUZZTIME   ?= 30s
BENCHTIME  ?= 1s
# staticcheck 2026.1.x (v0.8.x) understands Go 1.26.
STATICCHECK_VERSION ?= v0.8.2
# govulncheck reports the known vulnerabilities the code reaches, from the
# database at GOVULNDB.
GOVULNCHECK_VERSION ?= v1.10.0
GOVULNDB            ?= https://vuln.go.dev

.PHONY: all fmt lint test bench fuzz chaos tidy screenshots

all: fmt lint test

fmt:
	@gofmt -l -w $(MODULES)

lint:
	@out=$$(gofmt -l $(MODULES)); \
	if [ -n "$$out" ]; then echo "gofmt: these files need 'make fmt':"; echo "$$out"; exit 1; fi
	@failed=""; \
	tool() { if go mod download "$$1@$$3" >/dev/null 2>&1; then echo "go run $$1/cmd/$$2@$$3"; \
		else echo "$$2 $$3 cannot be downloaded: skipped" >&2; fi; }; \
	staticcheck=$$(tool honnef.co/go/tools staticcheck $(STATICCHECK_VERSION)); \
	govulncheck=$$(tool golang.org/x/vuln govulncheck $(GOVULNCHECK_VERSION)); \
	if [ -n "$$govulncheck" ] && ! curl -fsS -o /dev/null --max-time 20 "$(GOVULNDB)/index/db.json.gz" >/dev/null 2>&1; then \
		govulncheck=""; echo "govulncheck: the vulnerability database $(GOVULNDB) cannot be reached: skipped"; \
	fi; \
	for d in $(MODULES); do \
		echo "== $$d"; \
		(cd "$$d" && go vet ./... \
			&& { [ -z "$$staticcheck" ] || $$staticcheck ./...; } \
			&& { [ -z "$$govulncheck" ] || $$govulncheck -db "$(GOVULNDB)" ./...; }) || failed="$$failed $$d"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

# go vet and the race-enabled tests of every module (all modules run, even
# after a failure; the target fails when any did), then a short fuzz run.
test:
	@mkdir -p testoutput; failed=""; \
	for d in $(MODULES); do \
		echo "== $$d"; \
		(cd "$$d" && go vet ./... && go test -race -count=1 -artifacts -outputdir "$(CURDIR)/testoutput" ./...) || failed="$$failed $$d"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10s

bench:
	@set -e; for d in $(MODULES); do \
		echo "== $$d"; (cd "$$d" && go test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./...); \
	done

fuzz:
	cd events && go test -run '^$$' -fuzz '^FuzzParseStructured$$' -fuzztime $(FUZZTIME) .

# The fault suite (build tag stress): deploy/local under a steady load, one
# fault after another, then the table of what was accepted, delivered and
# lost. KETENBUS_CHAOS_FAULTS=regexp runs only the faults it matches.
chaos:
	@mkdir -p testoutput
	cd tools && go test -tags stress -run '^TestChaos$$' -count=1 -timeout 25m -v ./e2e/

screenshots:
	cd tools && KETENBUS_SCREENSHOT_DIR="$(CURDIR)/docs" go test -count=1 -run '^TestDashboardInBrowser$$' ./e2e/dashboard

tidy:
	@set -e; for d in $(MODULES); do echo "== go mod tidy $$d"; (cd "$$d" && go mod tidy); done
