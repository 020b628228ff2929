# docspace-backup-watch: build, test and check.

SHELL     := bash
GO        ?= go
# Build with the patched toolchain that go.mod's toolchain line names (the
# go command downloads it from the module proxy once per machine); a machine's
# own Go may be older and have known standard-library vulnerabilities.
export GOTOOLCHAIN := auto
BIN       := bin
# The Lambda runs on arm64: a static binary (no cgo), without the RPC mode.
# The demo and the bench build the same way for this machine's architecture
# (internal/localrun sets LAMBDA_GOARCH). The race tests set LAMBDA_RACE=1
# (internal/localrun, in a race-enabled test binary): bootstrap is then built
# with the race detector, cgo on as it needs, and no -trimpath, so that it
# reuses the packages the race tests compiled instead of compiling the
# standard library and the SDK once more, and a data race fails the test.
# They pass their own -gcflags on (LAMBDA_RACE_GCFLAGS) for the same reason.
LAMBDA_GOARCH  ?= arm64
ifeq ($(LAMBDA_RACE),1)
GOFLAGS_LAMBDA := CGO_ENABLED=1 GOOS=linux
LAMBDA_TAGS    := -tags lambda.norpc -race -ldflags=-w $(if $(LAMBDA_RACE_GCFLAGS),-gcflags='$(LAMBDA_RACE_GCFLAGS)')
else
GOFLAGS_LAMBDA := CGO_ENABLED=0 GOOS=linux
LAMBDA_TAGS    := -tags lambda.norpc -trimpath -ldflags="-s -w"
endif
# Compiling is most of a first run's time, and make test keeps every core
# busy with it. Two settings make it cheaper (vet's race build from empty
# caches on two cores: 121 -> 79 CPU-seconds, 64 -> 42 s):
# - the garbage collector waits for 1 GiB of heap per process (GOGC=off,
#   GOMEMLIMIT=1GiB): it took a sixth of the compiler's time, and a third of
#   staticcheck's and govulncheck's (ANALYSIS_ENV);
# - one thread per compiler (GOMAXPROCS=1) and as many compilers at once as
#   there are cores (-p): each compiler's concurrent back end costs more CPU
#   than it saves time when the cores are busy anyway.
# Steps that only compile (vet, the tools, the Lambda build) and the bounded
# fuzzing use both; the race tests run with Go's defaults.
NPROC          := $(shell nproc 2>/dev/null || echo 2)
ANALYSIS_ENV   := GOGC=off GOMEMLIMIT=1GiB
COMPILE_ENV    := $(ANALYSIS_ENV) GOMAXPROCS=1
COMPILE_P      := -p $(NPROC)
# The builds that only tests run (the race build of vet, staticcheck, the
# race tests and their bootstrap; the fuzzing build) carry no DWARF: nobody
# attaches a debugger to them, stack traces and race reports come from the
# symbol tables, and the compiler saves a twelfth of its time (vet's race
# build from empty caches: 89 -> 82 CPU-seconds), the linker a sixth.
NO_DWARF       := -gcflags=all=-dwarf=false
NO_DWARF_LINK  := -ldflags=-w
# The pinned tools, the database builder and the test report (the build for
# this machine without the race detector, once per machine) compile without
# inlining but for the runtime's packages (the allocator and maps that
# staticcheck and govulncheck lean on): 101 -> 67 CPU-seconds for the tools
# from empty caches, for staticcheck and govulncheck together about 4
# CPU-seconds more per run (all without inlining: 10 more). Without
# inlining, DWARF costs nothing more. The same flags for all three
# (tools/vulndb/build.sh's go run too, whoever calls it), so that they share
# one build of the standard library.
TOOLS_GCFLAGS  := -gcflags=all=-l -gcflags=runtime= -gcflags=internal/runtime/...=
VULNDB_BUILD    = GOFLAGS="$$($(GO) env GOFLAGS) $(TOOLS_GCFLAGS)" tools/vulndb/build.sh

# The pinned tools of tools/go.mod (staticcheck, the Lambda Runtime
# Interface Emulator, govulncheck) are built once per machine into a cache directory
# keyed by tools/go.mod and tools/go.sum, which every clone and worktree
# shares (internal/localrun.ToolsDir computes the same directory).
TOOLS_KEY   := $(shell cat tools/go.mod tools/go.sum | sha256sum | cut -c1-16)
TOOLS_DIR   := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/docspace-backup-watch/tools-$(TOOLS_KEY)
STATICCHECK := $(TOOLS_DIR)/staticcheck
RIE         := $(TOOLS_DIR)/aws-lambda-rie
GOVULNCHECK := $(TOOLS_DIR)/govulncheck
# How many times `make stress` runs the suite.
N ?= 10
# The race tests, as JSON events: every package of the module, TEST_P
# packages at once (they mostly wait on moto, the emulator and timeouts, so
# 4 keep two cores busy where Go's default, one per core, leaves them
# idle), the longest first (go test starts packages in the order given, so
# they no longer wait behind the short ones and end the run alone), and the
# vulnerability database's builder (tools/vulndb, a module of its own).
# The go command compiles with COMPILE_ENV and runs each test binary with
# Go's defaults (-exec env -u ...). go vet runs every analyzer in make vet,
# so the tests skip go test's own subset of them (-vet=off), which would
# compute the facts of every dependency once more. Fails when either fails.
TEST_P ?= 4
LONGEST_TESTS := ./functions/healthcheck ./e2e ./cmd/invoke ./cmd/demo
TEST_DEFAULTS := -exec 'env -u GOGC -u GOMEMLIMIT -u GOMAXPROCS'
TEST_FLAGS    := -race -vet=off $(NO_DWARF) $(NO_DWARF_LINK) -count=1
RACE_TESTS = { $(COMPILE_ENV) $(GO) test $(TEST_FLAGS) -p $(TEST_P) $(TEST_DEFAULTS) -json $(LONGEST_TESTS) ./...; main=$$?; \
	(cd tools/vulndb && $(COMPILE_ENV) $(GO) test $(TEST_FLAGS) $(COMPILE_P) $(TEST_DEFAULTS) -json ./...); vulndb=$$?; \
	[ $$main = 0 ] && [ $$vulndb = 0 ]; }

.PHONY: vulndb all build build-HealthCheckFunction fmt test unit vet staticcheck lint-template fuzz vulncheck vulncheck-selftest tools clean demo check-portal fakeportal bench prereq slowest stress tools-dir invoke invoke-local

all: test

## build: the Lambda's bootstrap for arm64 (what `sam build` deploys).
build:
	$(MAKE) --no-print-directory build-HealthCheckFunction ARTIFACTS_DIR=$(BIN)/arm64

## build-HealthCheckFunction: what `sam build` runs for the function
## (BuildMethod: makefile); it writes bootstrap into $(ARTIFACTS_DIR).
build-HealthCheckFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }
	$(COMPILE_ENV) $(GOFLAGS_LAMBDA) GOARCH=$(LAMBDA_GOARCH) $(GO) build $(COMPILE_P) $(LAMBDA_TAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/healthcheck

## demo: the whole check on this machine, no AWS account or Docker needed:
## bootstrap under the Runtime Interface Emulator, a fake portal, moto_server.
demo:
	@.ci/prereq demo
	@echo "Building the demo (the first time on a machine Go downloads the toolchain go.mod names and the modules first: a few minutes)..."
	@$(GO) run ./cmd/demo

## check-portal: build bin/check-portal and check a portal once (ARGS=-json for JSON):
##   DOCSPACE_URL=https://portal.example.com DOCSPACE_API_KEY=sk-... make check-portal
## make reports any failure as status 2; bin/check-portal itself exits 0 healthy, 2 a problem, 1 bad input.
check-portal:
	@$(GO) build -o $(BIN)/check-portal ./cmd/checkportal
	@$(BIN)/check-portal $(ARGS)

## invoke: run bootstrap once under the emulator, without Docker, with the variables
## of an env file as `sam local invoke --env-vars` reads it and your AWS credentials
## (or AWS_ENDPOINT_URL for moto): make invoke EVENT=events/scheduled.json ENV=events/env.json
EVENT ?= events/scheduled.json
ENV   ?= events/env.json
invoke:
	@$(GO) build -o $(BIN)/invoke ./cmd/invoke
	@$(BIN)/invoke -event $(EVENT) -env $(ENV)

## invoke-local: the same against moto_server and the fake portal, no AWS account
## (SCENARIO=stale picks the portal's scenario): make invoke-local [EVENT=...] [SCENARIO=...]
invoke-local:
	@.ci/prereq demo
	@$(GO) build -o $(BIN)/invoke ./cmd/invoke
	@$(BIN)/invoke -local -event $(EVENT) -env $(ENV) -scenario $${SCENARIO:-healthy}

## fakeportal: serve the fake portal for manual tests (SCENARIO=inactive make fakeportal);
## the server runs in make's place, so stopping make stops it.
fakeportal:
	@$(GO) build -o $(BIN)/fakeportal ./cmd/fakeportal
	exec $(BIN)/fakeportal -addr $${FAKE_PORTAL_ADDR:-127.0.0.1:8081} -key $${FAKE_PORTAL_KEY:-sk-local-fake} -scenario $${SCENARIO:-healthy}

## tools: the pinned emulator, staticcheck and govulncheck (tools/go.mod), built once per machine into $(TOOLS_DIR).
tools: $(STATICCHECK) $(RIE) $(GOVULNCHECK)

## tools-dir: print the directory of the pinned tools.
tools-dir:
	@echo $(TOOLS_DIR)

# One go build for the three, so that their shared dependencies (the standard
# library, golang.org/x/tools) compile once and in parallel.
$(STATICCHECK) $(RIE) $(GOVULNCHECK) &:
	@echo "Building the pinned staticcheck, Lambda Runtime Interface Emulator and govulncheck (tools/go.mod) once for this machine into $(TOOLS_DIR): about a minute the first time..."
	@mkdir -p $(TOOLS_DIR) && tmp=$$(mktemp -d $(TOOLS_DIR)/build.XXXXXX) && \
	(cd tools && $(COMPILE_ENV) $(GO) build $(COMPILE_P) $(TOOLS_GCFLAGS) -ldflags='-s -w' -o $$tmp/ honnef.co/go/tools/cmd/staticcheck github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie golang.org/x/vuln/cmd/govulncheck) && \
	mv $$tmp/staticcheck $$tmp/aws-lambda-rie $$tmp/govulncheck $(TOOLS_DIR)/ && rmdir $$tmp || { rm -rf $$tmp; exit 1; }

## prereq: check moto_server, cfn-lint and Go, and say how to install what is missing.
prereq:
	@.ci/prereq test

## test: everything CI runs: the prerequisites, gofmt, vet, staticcheck, race
## tests, fuzzing for a bounded time, template lint, govulncheck; then the
## slowest tests. Lanes keep both cores busy on a first run: the fuzzing (its
## own build, then a bounded time) from the start to the end; vet (the race
## build) beside cfn-lint, the vulnerability database and the pinned tools'
## build (the first two mostly wait while Go downloads its toolchain); then
## the race tests, which mostly wait (on moto, the emulator, timeouts), beside
## staticcheck and govulncheck (two at a time, each target's output together,
## all of them run whatever fails). The output of the fuzzing, staticcheck and
## govulncheck follows the tests'.
test:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory prereq fmt || exit 1; \
	mkdir -p $(BIN); \
	$(MAKE) --no-print-directory fuzz > $(BIN)/fuzz.log 2>&1 & fuzz=$$!; \
	$(MAKE) --no-print-directory lint-template vulndb tools & early=$$!; \
	$(MAKE) --no-print-directory vet; vet=$$?; \
	wait $$early; early=$$?; \
	[ $$vet = 0 ] && [ $$early = 0 ] || { wait $$fuzz; echo "make test: FAILED after $$(( $$(date +%s) - start )) s"; exit 1; }; \
	$(MAKE) --no-print-directory -k -j2 -O staticcheck vulncheck-selftest vulncheck > $(BIN)/checks.log 2>&1 & checks=$$!; \
	$(MAKE) --no-print-directory unit; unit=$$?; \
	wait $$fuzz; fuzz=$$?; wait $$checks; checks=$$?; \
	echo "--- staticcheck and govulncheck (ran beside the race tests):"; cat $(BIN)/checks.log; \
	echo "--- fuzzing (ran beside the race tests):"; cat $(BIN)/fuzz.log; \
	[ $$unit = 0 ] && [ $$fuzz = 0 ] && [ $$checks = 0 ] || { echo "make test: FAILED after $$(( $$(date +%s) - start )) s"; exit 1; }; \
	$(MAKE) --no-print-directory slowest && \
	echo "make test: passed in $$(( $$(date +%s) - start )) s"

fmt:
	@out=$$(gofmt -l functions pkg internal cmd e2e bench tools); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

$(BIN)/testreport: $(wildcard internal/cmd/testreport/*.go)
	@mkdir -p $(BIN) && $(GO) build $(TOOLS_GCFLAGS) -o $@ ./internal/cmd/testreport

## unit: the race tests of every package (unit, moto, fault and end-to-end), reported by internal/cmd/testreport.
unit: $(BIN)/testreport tools
	@echo "Race tests of every package (go test -race ./..., $(TEST_P) packages at once, and tools/vulndb's; the first run on a machine also compiles the race build)..."
	@set -o pipefail; $(RACE_TESTS) | $(BIN)/testreport -slowest 0 -save $(BIN)/test.json

## slowest: the slowest packages and tests of the last `make unit`.
slowest: $(BIN)/testreport
	@test -f $(BIN)/test.json || { echo "no $(BIN)/test.json: run make unit first"; exit 1; }
	@$(BIN)/testreport -only-slowest -slowest 10 < $(BIN)/test.json

## stress: the whole race suite N times in a row (make stress N=20); stops at the first failure.
stress: $(BIN)/testreport tools
	@set -o pipefail; for i in $$(seq 1 $(N)); do \
		echo "stress: run $$i of $(N)"; \
		if ! $(RACE_TESTS) | $(BIN)/testreport -slowest 0 -save $(BIN)/stress-last.json > $(BIN)/stress-last.txt; then \
			cat $(BIN)/stress-last.txt; echo "stress: $$((i-1)) run(s) passed in a row, run $$i FAILED (events in $(BIN)/stress-last.json)"; exit 1; \
		fi; \
	done; echo "stress: all $(N) runs passed in a row"

## vet: go vet (every analyzer) on the race build, which staticcheck and the race tests
## reuse (a fresh machine compiles the dependencies once for all three instead of twice).
vet:
	$(COMPILE_ENV) $(GO) vet $(COMPILE_P) -race $(NO_DWARF) ./...
	cd tools/vulndb && $(COMPILE_ENV) $(GO) vet $(COMPILE_P) -race $(NO_DWARF) ./...

## staticcheck: on the race build too (GOFLAGS=-race reaches the go list it runs), so it
## reuses what vet compiled instead of compiling the dependencies once more.
STATICCHECK_RUN = GOFLAGS="$$($(GO) env GOFLAGS) -race $(NO_DWARF)" $(ANALYSIS_ENV) $(STATICCHECK)
staticcheck: $(STATICCHECK)
	$(STATICCHECK_RUN) ./...
	cd tools/vulndb && $(STATICCHECK_RUN) ./...

## fuzz: the echo portal (no piece of the key in any output) for FUZZ_TIME
## (10 s), the date parser and the response decoder for FUZZ_TIME_DOCSPACE
## (3 s) each, one worker each: make test runs them beside the race tests.
## Their seed corpora run in every `make unit`; `make fuzz FUZZ_TIME=5m` explores longer.
## The fuzzing build instruments every package, the standard library's
## included, so it compiles them all once more: without inlining
## (-gcflags=all=-l) that takes a third less time on a first run (110 -> 72
## CPU-seconds), and the echo fuzz, bound by its local HTTP round trips,
## runs as many inputs a second (155 to 187 with, 167 without). Without
## DWARF too, as the race build; make vet has vetted the code (-vet=off).
FUZZ_TIME ?= 10s
FUZZ_TIME_DOCSPACE ?= 3s
FUZZ_FLAGS := -run '^$$' -parallel 1 -vet=off -gcflags='all=-l -dwarf=false' $(NO_DWARF_LINK) $(COMPILE_P)
fuzz:
	$(COMPILE_ENV) $(GO) test $(FUZZ_FLAGS) -fuzz '^FuzzEchoPortal$$' -fuzztime $(FUZZ_TIME) ./functions/healthcheck
	$(COMPILE_ENV) $(GO) test $(FUZZ_FLAGS) -fuzz '^FuzzParseTime$$' -fuzztime $(FUZZ_TIME_DOCSPACE) ./pkg/docspace
	$(COMPILE_ENV) $(GO) test $(FUZZ_FLAGS) -fuzz '^FuzzDecodeResponse$$' -fuzztime $(FUZZ_TIME_DOCSPACE) ./pkg/docspace

## lint-template: cfn-lint with its informational checks too (errors,
## warnings and infos all fail it).
lint-template:
	cfn-lint --include-checks I -- template.yaml

## vulncheck: govulncheck (pinned in tools/go.mod), offline, against the Go
## vulnerability database built from the golang.org/x/vulndb module pinned in
## tools/vulndb/go.mod (tools/vulndb/build.sh, once per machine: under a
## minute the first time). It fails on any vulnerability the code can reach,
## the standard library's included, for the toolchain go.mod names and the
## Lambda's target (linux/arm64, no cgo, tag lambda.norpc). It type-checks
## every package for that target on the way, which is what the race tests,
## built for this machine, cannot show (TestSAMBuildTarget checks the recipe).
VULNCHECK_TARGET := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
vulncheck: $(GOVULNCHECK)
	@db=$$($(VULNDB_BUILD)) && echo "govulncheck ./... for linux/arm64 against $$db" && $(ANALYSIS_ENV) $(VULNCHECK_TARGET) $(GOVULNCHECK) -tags lambda.norpc -db "file://$$db" ./...

## vulndb: build the pinned vulnerability database once for this machine (make vulncheck does too).
vulndb:
	@$(COMPILE_ENV) $(VULNDB_BUILD) >/dev/null

## vulncheck-selftest: proof that vulncheck fails on a reachable vulnerability:
## govulncheck, with vulncheck's flags and target, against a database of one
## fixture entry marking lambda.Start vulnerable (tools/vulndb/testdata/reachable)
## must exit 3 and name the call, for a program that starts as the function
## does (functions/healthcheck/testdata/vulnfixture). That program rather than
## the function: govulncheck's call graph of the whole function takes 27
## CPU-seconds (once a database entry matches a module it imports), the
## fixture's 6, and which packages vulncheck scans is not what this proves
## (./..., where a package that does not load for the target fails it).
VULN_FIXTURE := ./functions/healthcheck/testdata/vulnfixture
vulncheck-selftest: $(GOVULNCHECK)
	@db=$$($(VULNDB_BUILD) tools/vulndb/testdata/reachable) && \
	$(ANALYSIS_ENV) $(VULNCHECK_TARGET) $(GOVULNCHECK) -tags lambda.norpc -db "file://$$db" $(VULN_FIXTURE) > "$$db.out" 2>&1; rc=$$?; \
	if [ $$rc -ne 3 ] || ! grep -q 'GO-9999-0001' "$$db.out" || ! grep -q 'calls lambda.Start' "$$db.out"; then \
		cat "$$db.out"; rm -rf "$$db" "$$db.out"; echo "vulncheck-selftest: govulncheck did not fail on the fixture's reachable vulnerability (exit $$rc)"; exit 1; \
	fi; rm -rf "$$db" "$$db.out"; echo "vulncheck-selftest: govulncheck fails (exit 3) on a reachable vulnerability: ok"

clean:
	rm -rf $(BIN) .aws-sam

## bench: cold start, footprint, warm overhead, scale and cost figures, printed;
## BENCH_ARGS="-out bench" rewrites bench/RESULTS.md and bench/COST.md.
bench:
	bench/run $(BENCH_ARGS)
