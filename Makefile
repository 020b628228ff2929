# docspace-backup-watch: build, test and check. `make help` lists the targets.

SHELL := bash
GO    ?= go
# go.mod's toolchain line names a patched Go; a machine's own may be older.
export GOTOOLCHAIN := auto
BIN   := bin

# The Lambda: linux/arm64 (LAMBDA_GOARCH: the demo and the tests build for
# this machine), static, without the RPC mode. A race-enabled test passes
# LAMBDA_RACE=1 (internal/localrun), so that a data race in bootstrap fails it.
LAMBDA_GOARCH ?= arm64
ifeq ($(LAMBDA_RACE),1)
LAMBDA_BUILD := CGO_ENABLED=1 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags lambda.norpc -race
else
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"
endif

# The pinned tools of tools/go.mod, built once per machine into a directory
# keyed by tools/go.mod and tools/go.sum that every clone shares
# (internal/localrun.ToolsDir computes the same directory).
TOOLS_KEY   := $(shell cat tools/go.mod tools/go.sum | sha256sum | cut -c1-16)
TOOLS_DIR   := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/docspace-backup-watch/tools-$(TOOLS_KEY)
TOOL_PKGS   := honnef.co/go/tools/cmd/staticcheck github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie golang.org/x/vuln/cmd/govulncheck gotest.tools/gotestsum
TOOL_BINS   := $(addprefix $(TOOLS_DIR)/,$(notdir $(TOOL_PKGS)))
STATICCHECK := $(TOOLS_DIR)/staticcheck
GOVULNCHECK := $(TOOLS_DIR)/govulncheck
GOTESTSUM   := $(TOOLS_DIR)/gotestsum

# The race tests, summed up by gotestsum (failures in full, skipped tests and
# why); the events go to $(BIN)/test.json for `make slowest`.
RACE_TESTS = $(GOTESTSUM) --jsonfile $(BIN)/test.json -- -race -count=1 ./...

FUZZ_TIME          ?= 10s
FUZZ_TIME_DOCSPACE ?= 3s
VULNCHECK_TARGET   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
VULN_FIXTURE       := ./functions/healthcheck/testdata/vulnfixture
# How many times `make stress` runs the race tests.
N ?= 10

.PHONY: help all build build-HealthCheckFunction demo check-portal invoke invoke-local portals fakeportal tools tools-dir prereq test fmt vet staticcheck unit slowest stress fuzz lint-template vulndb vulncheck vulncheck-selftest bench clean

## all: the same as make test.
all: test

## help: list the targets and what each does.
help:
	@sed -n 's/^## \([a-zA-Z-]*\): /\1\t/p' $(MAKEFILE_LIST) | expand -t 28

## test: everything CI runs, stopping at the first failure: prereq fmt vet staticcheck unit fuzz lint-template vulncheck-selftest vulncheck slowest.
test: prereq fmt vet staticcheck unit fuzz lint-template vulncheck-selftest vulncheck slowest

## prereq: check moto_server, cfn-lint, make and Go, and say how to install what is missing.
prereq:
	@.ci/prereq test

## fmt: fail when a Go file needs gofmt.
fmt:
	@out=$$(gofmt -l functions pkg internal cmd e2e bench); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## vet: go vet with every analyzer.
vet:
	$(GO) vet ./...

## staticcheck: the pinned staticcheck.
staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

## unit: the race tests of every package (unit, moto, fault, end-to-end) through gotestsum.
unit: tools
	@mkdir -p $(BIN)
	$(RACE_TESTS)

## slowest: the tests of the last `make unit` that took over a second, slowest first.
slowest: $(GOTESTSUM)
	@test -f $(BIN)/test.json || { echo "no $(BIN)/test.json: run make unit first"; exit 1; }
	@echo "Slowest tests of the last make unit:"
	@$(GOTESTSUM) tool slowest --jsonfile $(BIN)/test.json --threshold 1s --num 10

## stress: the race tests N times in a row (make stress N=20), stopping at the first failure.
stress: tools
	@mkdir -p $(BIN); for i in $$(seq 1 $(N)); do \
		echo "stress: run $$i of $(N)"; \
		$(RACE_TESTS) > $(BIN)/stress-last.txt 2>&1 || { cat $(BIN)/stress-last.txt; echo "stress: $$((i-1)) run(s) passed in a row, run $$i FAILED"; exit 1; }; \
	done; echo "stress: all $(N) runs passed in a row"

## fuzz: fuzz the echo portal for FUZZ_TIME (10s), the date parser and the response decoder for FUZZ_TIME_DOCSPACE (3s) each, from the seeds.
# The inputs earlier runs cached are dropped first: replaying them took the
# whole FUZZ_TIME on a machine that had run make test often (872 inputs).
fuzz:
	cache=$$($(GO) env GOCACHE) && module=$$($(GO) list -m) && test -n "$$cache" -a -n "$$module" && rm -rf "$$cache/fuzz/$$module"
	$(GO) test -run '^$$' -fuzz '^FuzzEchoPortal$$' -fuzztime $(FUZZ_TIME) ./functions/healthcheck
	$(GO) test -run '^$$' -fuzz '^FuzzParseTime$$' -fuzztime $(FUZZ_TIME_DOCSPACE) ./pkg/docspace
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeResponse$$' -fuzztime $(FUZZ_TIME_DOCSPACE) ./pkg/docspace

## lint-template: cfn-lint on template.yaml; errors, warnings and infos all fail it.
lint-template:
	cfn-lint --include-checks I -- template.yaml

## vulndb: build the pinned Go vulnerability database, once per machine (tools/vulndb/build.sh).
vulndb:
	@tools/vulndb/build.sh >/dev/null

## vulncheck: the pinned govulncheck, offline, against the pinned database, for the Lambda's target (linux/arm64).
vulncheck: $(GOVULNCHECK)
	@db=$$(tools/vulndb/build.sh) && echo "govulncheck ./... for linux/arm64 against $$db" && \
	$(VULNCHECK_TARGET) $(GOVULNCHECK) -tags lambda.norpc -db "file://$$db" ./...

## vulncheck-selftest: show that vulncheck fails on a reachable vulnerability (a fixture entry marks lambda.Start).
vulncheck-selftest: $(GOVULNCHECK)
	@db=$$(tools/vulndb/build.sh tools/vulndb/testdata/reachable) && \
	$(VULNCHECK_TARGET) $(GOVULNCHECK) -tags lambda.norpc -db "file://$$db" $(VULN_FIXTURE) > "$$db.out" 2>&1; rc=$$?; \
	if [ $$rc -ne 3 ] || ! grep -q 'GO-9999-0001' "$$db.out" || ! grep -q 'calls lambda.Start' "$$db.out"; then \
		cat "$$db.out"; rm -rf "$$db" "$$db.out"; echo "vulncheck-selftest: govulncheck did not fail on the fixture's reachable vulnerability (exit $$rc)"; exit 1; \
	fi; rm -rf "$$db" "$$db.out"; echo "vulncheck-selftest: govulncheck fails (exit 3) on a reachable vulnerability: ok"

## tools: build the pinned staticcheck, emulator, govulncheck and gotestsum (tools/go.mod) into $(TOOLS_DIR), once per machine.
tools: $(TOOL_BINS)

$(TOOL_BINS) &:
	@echo "Building the pinned tools (tools/go.mod) into $(TOOLS_DIR), once for this machine..."
	@mkdir -p $(TOOLS_DIR) && tmp=$$(mktemp -d $(TOOLS_DIR)/build.XXXXXX) && \
	(cd tools && $(GO) build -o $$tmp/ $(TOOL_PKGS)) && mv $$tmp/* $(TOOLS_DIR)/ && rmdir $$tmp || { rm -rf $$tmp; exit 1; }

## tools-dir: print the directory of the pinned tools.
tools-dir:
	@echo $(TOOLS_DIR)

## build: the Lambda's bootstrap for arm64 into bin/arm64 (what `sam build` deploys).
build:
	$(MAKE) --no-print-directory build-HealthCheckFunction ARTIFACTS_DIR=$(BIN)/arm64

## build-HealthCheckFunction: what `sam build` runs (BuildMethod: makefile): bootstrap into $(ARTIFACTS_DIR).
build-HealthCheckFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/healthcheck

## demo: the whole check on this machine (emulator, fake portal, moto_server), no AWS account or Docker.
demo:
	@.ci/prereq demo
	@echo "Building the demo (the first time on a machine Go downloads the toolchain go.mod names and the modules first: a few minutes)..."
	@$(GO) run ./cmd/demo

## check-portal: check a portal once: DOCSPACE_URL=https://... DOCSPACE_API_KEY=sk-... make check-portal [ARGS=-json].
check-portal:
	@$(GO) build -o $(BIN)/check-portal ./cmd/checkportal
	@$(BIN)/check-portal $(ARGS)

## invoke: run bootstrap once under the emulator with an env file: make invoke EVENT=events/scheduled.json ENV=events/env.json.
EVENT ?= events/scheduled.json
ENV   ?= events/env.json
invoke:
	@$(GO) build -o $(BIN)/invoke ./cmd/invoke
	@$(BIN)/invoke -event $(EVENT) -env $(ENV)

## invoke-local: the same against moto_server and the fake portal it starts, no AWS account: make invoke-local [EVENT=...] [SCENARIO=stale].
invoke-local:
	@.ci/prereq demo
	@$(GO) build -o $(BIN)/invoke ./cmd/invoke
	@$(BIN)/invoke -local -event $(EVENT) -env $(ENV) -scenario $${SCENARIO:-healthy}

## portals: build bin/portals, which adds, lists and removes a stack's portals; ARGS runs it: make portals ARGS="-stack NAME list".
portals:
	@$(GO) build -o $(BIN)/portals ./cmd/portals
	@$(if $(ARGS),$(BIN)/portals $(ARGS),echo "built $(BIN)/portals: $(BIN)/portals -stack NAME add|list|remove ...")

## fakeportal: serve the fake portal for manual tests (SCENARIO=inactive make fakeportal) until make stops.
fakeportal:
	@$(GO) build -o $(BIN)/fakeportal ./cmd/fakeportal
	@exec $(BIN)/fakeportal -addr $${FAKE_PORTAL_ADDR:-127.0.0.1:8081} -key $${FAKE_PORTAL_KEY:-sk-local-fake} -scenario $${SCENARIO:-healthy}

## bench: the benchmarks, printed, ending with the one-portal bill, the marginal cost at 1,000 portals and Init against a no-op handler; BENCH_ARGS="-out bench" rewrites bench/RESULTS.md, COST.md and FLEET.md.
bench:
	bench/run $(BENCH_ARGS)

## clean: remove bin/ and .aws-sam/.
clean:
	rm -rf $(BIN) .aws-sam
