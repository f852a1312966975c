GO        ?= go
BIN       := bin/ftwall
PKGS      := ./...
FUZZTIME  ?= 3s

.PHONY: all build tools test unit fuzz fuzz-long bench microbench demo man install clean vet

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ftwall

tools: build
	$(GO) build -o bin/ftsim ./cmd/ftsim
	$(GO) build -o bin/ftwdemo ./cmd/ftwdemo
	$(GO) build -o bin/ftwbench ./cmd/ftwbench

# A throwaway namespace lab: client / router / internet, ftwall run on the
# router, a simulated FastTrack client and ordinary traffic. Needs root; it
# touches nothing outside its own namespaces.
demo: tools
	./bin/ftwdemo --ftwall ./bin/ftwall

# Go micro-benchmarks (no privileges).
microbench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./inspect/ ./internal/rawsend/ ./timelock/ ./internal/store/

# The benchmark suite P1-P5 in lab namespaces (root); writes BENCHMARKS.md.
bench: tools
	./bin/ftwbench --ftwall ./bin/ftwall --ftsim ./bin/ftsim --out BENCHMARKS.md

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
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s $$pkg; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=5m

man: build
	$(BIN) man > ftwall.8

PREFIX ?= /usr
install: build man
	install -D -m0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/ftwall
	install -D -m0644 ftwall.8 $(DESTDIR)$(PREFIX)/share/man/man8/ftwall.8
	install -D -m0644 contrib/ftwall.service $(DESTDIR)/lib/systemd/system/ftwall.service
	install -D -m0644 contrib/ftwall.yaml $(DESTDIR)/etc/ftwall/ftwall.yaml.example

clean:
	rm -rf bin ftwall.8
