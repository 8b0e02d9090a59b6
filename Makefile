# Forecast job gateway. Every tool is pinned in tools/*/go.mod and built into
# .bin/ by `go build` (cached after the first run), so a machine with only Go
# can run every target.

SHELL      := /bin/bash
BIN        := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)
GO         ?= go
FUZZTIME   ?= 1m
BENCHTIME  ?=

PROTOC_PLUGINS := google.golang.org/protobuf/cmd/protoc-gen-go \
                  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
                  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
                  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 \
                  github.com/fullstorydev/grpcurl/cmd/grpcurl

.PHONY: all run run-emulator test generate lint check-generated vet fmt-check tools bench fuzz load clean

all: test

## run: start the gateway on the embedded Forecast emulator (gRPC :9090, REST :8080).
run:
	$(GO) run ./cmd/forecast-gateway $(ARGS)

## run-emulator: start the Forecast emulator alone on 127.0.0.1:4566.
run-emulator:
	$(GO) run ./cmd/forecast-emulator --addr 127.0.0.1:4566 $(ARGS)

## tools: build the pinned buf, protoc plugins and grpcurl into .bin/.
tools: $(BIN)/buf $(BIN)/.protoc-plugins

$(BIN)/buf: tools/buf/go.mod tools/buf/go.sum
	$(GO) build -modfile=tools/buf/go.mod -o $(BIN)/buf github.com/bufbuild/buf/cmd/buf

$(BIN)/.protoc-plugins: tools/protoc/go.mod tools/protoc/go.sum
	$(GO) build -modfile=tools/protoc/go.mod -o $(BIN)/ $(PROTOC_PLUGINS)
	@touch $@

## generate: regenerate gen/ from proto/ (offline, local plugins only).
generate: tools
	buf generate

## lint: buf lint over proto/.
lint: tools
	buf lint

## check-generated: fail when gen/ differs from a fresh generation.
check-generated: tools
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  buf generate --output $$tmp && \
	  if ! diff -r gen $$tmp/gen >/dev/null; then \
	    echo "gen/ is out of date with proto/: run 'make generate' and commit the result" >&2; \
	    diff -r gen $$tmp/gen | head -40 >&2; exit 1; \
	  fi
	@echo "gen/ matches a fresh generation"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out" >&2; exit 1; fi

vet:
	$(GO) vet ./...

## test: lint, generated-code drift, gofmt, vet, then every test with -race.
test: lint check-generated fmt-check vet
	$(GO) test -race -count=1 ./...

## bench: side-by-side benchmarks (not part of test); see BENCHMARKS.md.
bench:
	$(GO) run ./cmd/forecast-bench $(ARGS)
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHTIME) ./internal/... ./server/... ./emulator/...

## fuzz: run every fuzz target for FUZZTIME each (default 1m).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

## load: bounded loopback load test; prints requests, errors, p99, RSS, goroutines.
load:
	$(GO) run ./cmd/forecast-load $(ARGS)

clean:
	rm -rf $(BIN)
