GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# Debian packages the tests, the demo and the benchmarks use.
DEB_PACKAGES := nftables iproute2 iputils-ping socat netcat-openbsd iperf3 conntrack tcpdump systemd \
	aria2 transmission-cli transmission-daemon qbittorrent-nox opentracker mktorrent
BIN       := bin/ftwall
PKGS      := ./...
# Fuzz budgets are execution counts, not durations: with a duration, Go's fuzz
# coordinator (go1.26) can fail a target with a bare "context deadline exceeded"
# when the deadline races a busy worker (golang/go#75804, fixed in go1.27).
# A count has no deadline to race. FUZZTIME=5m still works for manual runs.
FUZZTIME  ?= 50000x
FUZZMINIMIZE ?= 20000x

.PHONY: all deps build tools test unit fuzz fuzz-long bench microbench demo man install clean vet

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ftwall

# Installs the Debian packages above that are missing (as root, with apt-get).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run as root: sudo make $(MAKECMDGOALS))" >&2; exit 1; fi; \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

tools: build
	$(GO) build -o bin/ftsim ./cmd/ftsim
	$(GO) build -o bin/ftwdemo ./cmd/ftwdemo
	$(GO) build -o bin/ftwbench ./cmd/ftwbench

# A throwaway namespace lab: client / router / internet, ftwall run on the
# router, a simulated FastTrack client and ordinary traffic. Needs root; it
# touches nothing outside its own namespaces.
demo: deps tools
	./bin/ftwdemo --ftwall ./bin/ftwall

# Go micro-benchmarks (no privileges).
microbench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./inspect/ ./internal/rawsend/ ./timelock/ ./internal/store/

# The benchmark suite P1-P5 in lab namespaces (root); writes BENCHMARKS.md.
bench: deps tools
	./bin/ftwbench --ftwall ./bin/ftwall --ftsim ./bin/ftsim --out BENCHMARKS.md

vet:
	$(GO) vet $(PKGS)

# Every test: unit tests always, integration tests when run as root (they skip
# with a message otherwise). -race for the packages with goroutines.
test: deps build vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

unit:
	$(GO) test -count=1 -short $(PKGS)

# Each fuzz target for FUZZTIME executions (`make fuzz FUZZTIME=5m` for a longer run).
fuzz:
	@set -e; for spec in $$($(GO) run ./internal/tools/listfuzz); do \
		pkg=$${spec%%:*}; fn=$${spec##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) $$pkg; \
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
