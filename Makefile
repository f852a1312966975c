GO        ?= go
BIN       := bin/ftwall
PKGS      := ./...
FUZZTIME  ?= 3s

.PHONY: all build test unit fuzz fuzz-long bench demo install clean vet

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ftwall

vet:
	$(GO) vet $(PKGS)

# Every test: unit tests always, integration tests when run as root (they skip
# with a message otherwise). -race for the packages with goroutines.
test: build vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

unit:
	$(GO) test -count=1 -short $(PKGS)

# Each fuzz target for FUZZTIME (CI: a few seconds; `make fuzz FUZZTIME=5m` for longer).
fuzz:
	@set -e; for spec in $$($(GO) run ./internal/tools/listfuzz); do \
		pkg=$${spec%%:*}; fn=$${spec##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=5m

clean:
	rm -rf bin
