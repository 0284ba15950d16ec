# ferry build, test and benchmark entry points.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 0

VERSION  ?= 0.1.0-dev
BUILD_ID := $(shell find . -path ./bin -prune -o \( -name '*.go' -o -name go.mod -o -name go.sum \) -print | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12)
LDFLAGS  := -s -w -X github.com/ferry-ml/ferry/internal/buildinfo.Version=$(VERSION) -X github.com/ferry-ml/ferry/internal/buildinfo.BuildID=$(BUILD_ID)
BIN      := bin
# The executors leave out net/http's bundled HTTP/2: they speak HTTP/1.1, on
# their socket and to Docker's, and first contact sends 0.5 MB less
# (testutil.ExecutorTags builds the tests' executors the same way).
EXECUTOR_TAGS := nethttpomithttp2

.PHONY: build test test-deps unit bench lint clean slurm-up slurm-down hdi-up hdi-down

## build: ferry for this machine, ferry-executor for linux/amd64 and linux/arm64 (all static),
## and the executors' zstd and gzip copies that first contact sends
build:
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ferry ./cmd/ferry
	GOOS=linux GOARCH=amd64 go build -trimpath -tags $(EXECUTOR_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/ferry-executor-linux-amd64 ./cmd/ferry-executor
	GOOS=linux GOARCH=arm64 go build -trimpath -tags $(EXECUTOR_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/ferry-executor-linux-arm64 ./cmd/ferry-executor
	go run ./internal/tools/compress-executor $(BIN)/ferry-executor-linux-amd64 $(BIN)/ferry-executor-linux-arm64

## test-deps: install what the tests need (git, sshd, rsync, debootstrap; the test image)
test-deps:
	bash scripts/test-deps.sh

## test: the whole suite on real components, with the race detector (installs what it needs first)
test: test-deps build lint
	FERRY_EXECUTOR_DIR=$(CURDIR)/$(BIN) CGO_ENABLED=1 bash scripts/test.sh

## unit: the fast unit tests only, with the race detector
unit:
	go test -race -count=1 -short ./...

## bench: the side-by-side benchmarks behind BENCHMARKS.md (slow)
bench: test-deps build
	FERRY_EXECUTOR_DIR=$(CURDIR)/$(BIN) bash bench/run.sh

## lint: go vet and gofmt
lint:
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go'; git ls-files -o --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## hdi-up: start a local HDInsight-like head node (sshd + TEST STAND-INS for spark-submit, yarn, hdfs);
## the last line printed is the `ferry compute attach` command for it
hdi-up:
	@bash scripts/hdi-up.sh

## hdi-down: remove the container hdi-up started
hdi-down:
	@bash scripts/hdi-down.sh

## slurm-up: start the test Slurm cluster (slurmctld, c1, c2, login); the last stdout line is its `ferry compute attach` command
slurm-up:
	@bash scripts/slurm-cluster.sh up

## slurm-down: remove the test Slurm cluster
slurm-down:
	@bash scripts/slurm-cluster.sh down

clean:
	rm -rf $(BIN)
