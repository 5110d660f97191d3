# msgplex: `make run` starts a working system, `make test` runs every test.
GO      ?= go
BIN     := bin/msgplex
PKGS    := ./...
TESTTIMEOUT ?= 14m

.PHONY: all build run test deps vet fmtcheck bench clean

# ./var holds run-time data (mail folders, benchmark corpora with millions
# of files). A go.mod there makes it a module of its own, so `./...` never
# walks it.
VARMOD := var/go.mod
$(VARMOD):
	@mkdir -p var && printf 'module msgplex.var // run-time data, not code\n' > $@

all: build

build: $(VARMOD)
	$(GO) build -o $(BIN) ./cmd/msgplex

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet $(PKGS)

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps build fmtcheck vet
	MSGPLEX_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout $(TESTTIMEOUT) $(PKGS)

run: build
	./scripts/run.sh

bench: deps build
	./scripts/bench.sh
	./scripts/bench-proxy.sh

clean:
	rm -rf bin
