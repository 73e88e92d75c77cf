# anya-go: every target installs what it needs first (make setup is idempotent).
SHELL := /bin/bash
ROOT  := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOOLS := $(ROOT)/.tools

# Where the real components live after `make setup`; tests and examples read these.
export ANYA_ONNXRUNTIME_LIB := $(TOOLS)/onnxruntime-1.24.1/libonnxruntime.so.1
export ANYA_BTCD            := $(TOOLS)/bin/btcd
export CGO_ENABLED          := 1

GO_TEST_FLAGS ?= -race -timeout 40m
FUZZTIME      ?= 10s
BENCH         ?= .
BENCHTIME     ?= 1s

.PHONY: all setup demo test lint unit soak bench fuzz models clean

all: test

setup:
	@$(ROOT)/scripts/setup.sh

demo: setup
	go run ./examples/verified-payment

lint: setup
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needs to run on:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(TOOLS)/bin/staticcheck ./...
	@if [ -f bench/go.mod ]; then cd bench && go vet ./... && $(TOOLS)/bin/staticcheck ./...; fi
	@for d in examples/*/; do \
		if ! grep -qs 'run(' $$d*_test.go; then echo "$$d: no test runs the example (unit runs every example through its test)"; exit 1; fi; \
	done

# unit runs every test; `./...` includes examples/*, each run end to end by its own test.
unit: setup
	go test $(GO_TEST_FLAGS) ./...
	cd bench && go test -timeout 10m ./...

test: lint unit

# soak runs the distributed kill test at full size (CI does not): 1,000 verified payments on
# three host processes sharing one JetStream, host 0 killed with SIGKILL 30 times.
SOAK_PAYMENTS ?= 1000
SOAK_KILLS    ?= 30
soak: setup
	go test -race -timeout 90m -run '^TestDistributedKill9$$' -v . -args -dist-payments $(SOAK_PAYMENTS) -dist-kills $(SOAK_KILLS)

# bench runs the SDK's own benchmarks and the side-by-side anchor benchmarks of bench/.
bench: setup
	go test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -cpu 1,2 ./...
	cd bench && go test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -cpu 1,2 ./...

# fuzz runs every fuzz target of the SDK for FUZZTIME each.
fuzz: setup
	@set -e; for pkg in $$(go list ./...); do \
		dir=$$(go list -f '{{.Dir}}' $$pkg); \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "fuzz $$pkg $$f"; go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# models retrains the SDK's own models into models/ (bit-for-bit: `git diff models/` stays empty).
models:
	go run ./cmd/anya model train --out models

clean:
	rm -rf $(TOOLS)
