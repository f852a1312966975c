GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# Debian packages the tests, the demo and the benchmarks use (the packaging
# tests: lintian, groff-base and man-db for the manual page, zsh and fish for
# the completion scripts).
DEB_PACKAGES := nftables iproute2 iputils-ping socat netcat-openbsd iperf3 conntrack tcpdump systemd \
	aria2 transmission-cli transmission-daemon qbittorrent-nox opentracker mktorrent \
	lintian groff-base man-db zsh fish nats-server
BIN       := bin/ftwall

# The version is VERSION's; the commit and the time stamp are the checkout's
# (SOURCE_DATE_EPOCH: the last commit's time, so that two builds of one
# commit are byte for byte the same).
VERSION   := $(shell cat VERSION)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo +dirty)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
LDFLAGS   := -s -w -X github.com/ftwall/ftwall/internal/buildinfo.version=$(VERSION) \
	-X github.com/ftwall/ftwall/internal/buildinfo.commit=$(COMMIT)
GOBUILD   := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'
DIST      ?= dist
BUILD     ?= build
ARCHES    ?= amd64 arm64
PKGS      := ./...
# Fuzz budgets are execution counts, not durations: with a duration, Go's fuzz
# coordinator (go1.26) can fail a target with a bare "context deadline exceeded"
# when the deadline races a busy worker (golang/go#75804, fixed in go1.27).
# A count has no deadline to race. FUZZTIME=5m still works for manual runs.
FUZZTIME  ?= 50000x
FUZZMINIMIZE ?= 20000x

.PHONY: all deps build tools test unit fuzz fuzz-long bench microbench demo man gen install uninstall deb release clean vet

all: build

build:
	$(GOBUILD) -o $(BIN) ./cmd/ftwall

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
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./inspect/ ./internal/rawsend/ ./timelock/ ./internal/store/ ./internal/share/

# The benchmark suite P1-P6 in lab namespaces (root); writes BENCHMARKS.md.
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

# Installation paths. make install PREFIX=/usr/local (the default) or
# PREFIX=/usr; DESTDIR stages into another root. The unit is generated
# from contrib/ftwall.service.in and runs $(SBINDIR)/ftwall.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
GEN        ?= $(BUILD)/gen

# The generated files: manual page, completions, the unit for SBINDIR.
gen: build
	@mkdir -p $(GEN)/completions
	$(BIN) man > $(GEN)/ftwall.8
	$(BIN) completion bash > $(GEN)/completions/ftwall
	$(BIN) completion zsh > $(GEN)/completions/_ftwall
	$(BIN) completion fish > $(GEN)/completions/ftwall.fish
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' contrib/ftwall.service.in > $(GEN)/ftwall.service

install: gen
	install -D -m0755 $(BIN) $(DESTDIR)$(SBINDIR)/ftwall
	install -D -m0644 $(GEN)/ftwall.8 $(DESTDIR)$(MANDIR)/man8/ftwall.8
	install -D -m0644 $(GEN)/ftwall.service $(DESTDIR)$(UNITDIR)/ftwall.service
	install -D -m0644 $(GEN)/completions/ftwall $(DESTDIR)$(BASHCOMPDIR)/ftwall
	install -D -m0644 $(GEN)/completions/_ftwall $(DESTDIR)$(ZSHCOMPDIR)/_ftwall
	install -D -m0644 $(GEN)/completions/ftwall.fish $(DESTDIR)$(FISHCOMPDIR)/ftwall.fish
	@# The configuration file is the administrator's: installed once, never overwritten.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml; the new example is $(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml.new"; \
		install -m0644 contrib/ftwall.yaml $(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml.new; \
	else \
		install -D -m0644 contrib/ftwall.yaml $(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml; \
	fi
	install -d -m0750 $(DESTDIR)/var/lib/ftwall
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# Removes what install put there, except the configuration file and the
# storefile (/var/lib/ftwall), which are the administrator's data. It does
# not touch the kernel: stop the service and run ftwall teardown first.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ftwall $(DESTDIR)$(MANDIR)/man8/ftwall.8 $(DESTDIR)$(UNITDIR)/ftwall.service \
		$(DESTDIR)$(BASHCOMPDIR)/ftwall $(DESTDIR)$(ZSHCOMPDIR)/_ftwall $(DESTDIR)$(FISHCOMPDIR)/ftwall.fish \
		$(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml.new
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/ftwall/ftwall.yaml and $(DESTDIR)/var/lib/ftwall (remove them by hand to forget everything)"

# Debian packages for ARCHES, built with nfpm (a Go tool dependency, see
# go.mod), statically linked and reproducible: $(DIST)/ftwall_VERSION_ARCH.deb.
deb: build
	@mkdir -p $(DIST) $(BUILD)/deb
	$(MAKE) -s gen SBINDIR=/usr/sbin GEN=$(BUILD)/deb/gen
	gzip -9n < $(BUILD)/deb/gen/ftwall.8 > $(BUILD)/deb/ftwall.8.gz
	$(GO) run ./internal/tools/debchangelog -version $(VERSION) < CHANGELOG.md | gzip -9n > $(BUILD)/deb/changelog.gz
	@set -e; for arch in $(ARCHES); do \
		mkdir -p $(BUILD)/deb/$$arch; \
		GOOS=linux GOARCH=$$arch $(GOBUILD) -o $(BUILD)/deb/$$arch/ftwall ./cmd/ftwall; \
		BUILD=$(BUILD) VERSION=$(VERSION) ARCH=$$arch $(GO) tool nfpm package --config contrib/debian/nfpm.yaml --packager deb \
			--target $(DIST)/ftwall_$(VERSION)_$$arch.deb; \
	done

# Everything of a release in $(DIST): the .debs, a static tarball per
# architecture (binary, manual page, unit, example configuration,
# completions) and SHA256SUMS.
release: deb
	@set -e; for arch in $(ARCHES); do \
		d=$(BUILD)/tar/ftwall-$(VERSION)-linux-$$arch; rm -rf $$d; mkdir -p $$d/completions; \
		cp $(BUILD)/deb/$$arch/ftwall $$d/; cp $(BUILD)/deb/gen/ftwall.8 $(BUILD)/deb/gen/ftwall.service $$d/; \
		cp contrib/ftwall.yaml README.md CHANGELOG.md $$d/; cp $(BUILD)/deb/gen/completions/* $$d/completions/; \
		tar --sort=name --mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 --numeric-owner \
			-C $(BUILD)/tar -cf - ftwall-$(VERSION)-linux-$$arch | gzip -9n > $(DIST)/ftwall-$(VERSION)-linux-$$arch.tar.gz; \
	done
	cd $(DIST) && sha256sum ftwall_$(VERSION)_*.deb ftwall-$(VERSION)-linux-*.tar.gz > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

clean:
	rm -rf bin $(BUILD) $(DIST) ftwall.8
