# docspace-backup-watch: build, test and check.

GO        ?= go
# Build with the patched toolchain that go.mod's toolchain line names (the
# go command downloads it from the module proxy once per machine); a machine's
# own Go may be older and have known standard-library vulnerabilities.
export GOTOOLCHAIN := auto
BIN       := bin
GOFLAGS_LAMBDA := CGO_ENABLED=0 GOOS=linux
LAMBDA_TAGS    := -tags lambda.norpc -trimpath -ldflags="-s -w"
# The Lambda runs on arm64; the demo, tests and bench build the same way for
# this machine's architecture (internal/localrun sets LAMBDA_GOARCH).
LAMBDA_GOARCH  ?= arm64

.PHONY: all build build-HealthCheckFunction fmt test unit vet staticcheck lint-template fuzz tools clean demo check-portal fakeportal bench

all: test

## build: the Lambda's bootstrap for arm64 (what `sam build` deploys).
build:
	$(MAKE) --no-print-directory build-HealthCheckFunction ARTIFACTS_DIR=$(BIN)/arm64

## build-HealthCheckFunction: what `sam build` runs for the function
## (BuildMethod: makefile); it writes bootstrap into $(ARTIFACTS_DIR).
build-HealthCheckFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }
	$(GOFLAGS_LAMBDA) GOARCH=$(LAMBDA_GOARCH) $(GO) build $(LAMBDA_TAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/healthcheck

## demo: the whole check on this machine, no AWS account or Docker needed:
## bootstrap under the Runtime Interface Emulator, a fake portal, moto_server.
demo:
	$(GO) run ./cmd/demo

## check-portal: check a real portal once from the terminal:
##   DOCSPACE_URL=https://portal.example.com DOCSPACE_API_KEY=sk-... make check-portal
check-portal:
	@$(GO) run ./cmd/checkportal

## fakeportal: serve the fake portal for manual tests (SCENARIO=inactive make fakeportal).
fakeportal:
	$(GO) run ./cmd/fakeportal -addr 127.0.0.1:8081 -key $${FAKE_PORTAL_KEY:-sk-local-fake} -scenario $${SCENARIO:-healthy}

## tools: the pinned emulator and staticcheck, from tools/go.mod.
tools:
	cd tools && $(GO) build -o ../$(BIN)/aws-lambda-rie github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
	cd tools && $(GO) build -o ../$(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck

## test: everything CI runs: vet, staticcheck, race tests, fuzzing for a bounded time, template lint.
test: fmt vet staticcheck unit fuzz lint-template

fmt:
	@out=$$(gofmt -l functions pkg internal cmd e2e); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

staticcheck: tools
	$(BIN)/staticcheck ./...

## fuzz: the date parser and the response decoder, 10 s each.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseTime$$' -fuzztime 10s ./pkg/docspace
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeResponse$$' -fuzztime 10s ./pkg/docspace

lint-template:
	cfn-lint template.yaml

clean:
	rm -rf $(BIN) .aws-sam

## bench: cold start, footprint, warm overhead, scale and cost figures (writes bench/RESULTS.md, bench/COST.md).
bench:
	bench/run
