package cli

import (
	"strings"
	"time"

	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/nft"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
)

// kind is the value type of an option; it selects the urfave/cli flag type
// and how a configuration file value is checked.
type kind int

const (
	kindString kind = iota
	kindList
	kindBool
	kindDuration
	kindUint
	kindInt
)

func (k kind) describe() string {
	switch k {
	case kindList:
		return "a list of strings"
	case kindBool:
		return "true or false"
	case kindDuration:
		return "a duration such as 90s, 2m or 24h"
	case kindUint:
		return "a non-negative integer"
	case kindInt:
		return "an integer"
	}
	return "a string"
}

// option describes one command-line option. The same description builds
// the urfave/cli flag, names the environment variable and checks the
// configuration file entry, so the three sources cannot drift apart.
type option struct {
	name  string
	kind  kind
	usage string // urfave/cli usage; a `WORD` in back quotes is the placeholder
	def   string // default for string options
	defD  time.Duration
	defU  uint
	defI  int
	defL  []string
	// defText replaces the default shown in the help ("" = the value).
	defText string
}

// Option names. They are also the configuration file keys.
const (
	optConfig = "config"

	optLAN          = "lan"
	optWAN          = "wan"
	optAllow        = "allow"
	optPeerTimeout  = "peer-timeout"
	optMaxPeers     = "max-peers"
	optTimeLock     = "timelock"
	optLockAction   = "lock-action"
	optProtocols    = "protocols"
	optQueue        = "queue"
	optQueues       = "queues"
	optBackend      = "backend"
	optReset        = "reset"
	optAllowMissing = "allow-missing-interfaces"
	optCheck        = "check"
	optJSON         = "json"
	optSample       = "sample"

	optPcap = "pcap"

	optDryRun          = "dry-run"
	optNoUDPBlock      = "no-udp-block"
	optPong            = "pong"
	optPongRate        = "pong-rate"
	optPongBurst       = "pong-burst"
	optPeerBudget      = "peer-budget"
	optProtect         = "protect"
	optPeerBudgetRate  = "peer-budget-rate"
	optTeardownOnExit  = "teardown-on-exit"
	optStore           = "store"
	optStoreInterval   = "store-interval"
	optClientDir       = "client-dir"
	optLog             = "log"
	optLogFormat       = "log-format"
	optLogLevel        = "log-level"
	optSyslog          = "syslog"
	optSummaryInterval = "summary-interval"
	optMetricsListen   = "metrics-listen"
	optOwn             = "own"
	optProbeSource     = "probe-source"
	optQueueMaxLen     = "queue-maxlen"

	optShareURL         = "share-url"
	optShareMode        = "share-mode"
	optShareName        = "share-name"
	optShareUser        = "share-user"
	optSharePassword    = "share-password"
	optShareToken       = "share-token"
	optShareNKey        = "share-nkey"
	optShareCreds       = "share-creds"
	optShareTLSCA       = "share-tls-ca"
	optShareTLSCert     = "share-tls-cert"
	optShareTLSKey      = "share-tls-key"
	optSharePeersBucket = "share-peers-bucket"
	optShareLocksBucket = "share-locks-bucket"
	optShareReplicas    = "share-replicas"
	optShareBacklog     = "share-backlog"

	optRunDir  = "run-dir"
	optTimeout = "timeout"
	optReason  = "reason"
	optPardon  = "pardon"
)

// Environment variable prefixes. inspect has its own because its --lan
// takes address prefixes, not interface names.
const (
	envPrefix        = "FTWALL_"
	envPrefixInspect = "FTWALL_INSPECT_"
)

// envName is the environment variable of option name under prefix.
func envName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Defaults.
const (
	defaultPeerTimeout     = 24 * time.Hour
	defaultTimeLock        = 120 * time.Second
	defaultSample          = 10
	defaultPongRate        = service.DefaultPongRate
	defaultPongBurst       = service.DefaultPongBurst
	defaultStoreInterval   = 30 * time.Second
	defaultSummaryInterval = 60 * time.Second
	defaultQueueMaxLen     = queue.DefaultMaxLen
	defaultLogLetters      = "cp"
	defaultPardon          = 24 * time.Hour
)

// runDirOption is where ftwall run keeps its lock file and control socket.
func runDirOption() option {
	return option{name: optRunDir, kind: kindString, defText: "/run/ftwall; in another network namespace /run/ftwall/netns-INODE",
		usage: "run `DIR`ectory of the lock file and the control socket: while ftwall run holds it, it owns the table, and the other commands go through it or refuse"}
}

// rulesetOptions are the options of `setup` that `run` shares.
func rulesetOptions() []option {
	return []option{
		{name: optLAN, kind: kindList, usage: "LAN (inside) interface `IFACE`; repeat or separate with commas"},
		protocolsOption(),
		{name: optWAN, kind: kindList, usage: "WAN (outside) interface `IFACE` the time-lock applies to; repeat or separate with commas (none = every non-LAN interface)"},
		{name: optAllow, kind: kindList, usage: "never block or lock traffic to `CIDR` (an address or address/prefix, IPv4 or IPv6); repeat or separate with commas"},
		{name: optPeerTimeout, kind: kindDuration, defD: defaultPeerTimeout, usage: "keep a learned peer blocked for `DURATION` after the last evidence (0 = forever)"},
		{name: optMaxPeers, kind: kindInt, defI: nft.DefaultMaxPeers, usage: "peers4 and peers6 hold at most `N` peers each; a full set takes no new peer until old ones expire (logged, counted in ftwall_set_full_total)"},
		{name: optTimeLock, kind: kindDuration, defD: defaultTimeLock, usage: "time-lock a peer-to-peer client for `DURATION`: its new outbound TCP connections are refused (0 = no time-lock)"},
		{name: optLockAction, kind: kindString, def: "reject", usage: "`ACTION` for a locked client's new TCP connections: reject (TCP reset) or drop"},
		{name: optQueue, kind: kindUint, defU: 0, usage: "first NFQUEUE `NUMBER` (0-65535)"},
		{name: optQueues, kind: kindUint, defU: 1, usage: "`COUNT` of NFQUEUE queues, one reader each (queue … queue+COUNT-1)"},
		{name: optBackend, kind: kindString, def: "auto", usage: "queue `BACKEND`: auto (probe the kernel), native (nft queue expression) or compat (xtables NFQUEUE target)"},
		{name: optReset, kind: kindBool, usage: "empty the peer and time-lock sets while applying the ruleset (default: keep them)"},
		{name: optAllowMissing, kind: kindBool, usage: "accept --lan and --wan interfaces that do not exist yet (PPP, hot-plugged), with a warning; without it such a name is an error (a typo would protect nothing)"},
		{name: optCheck, kind: kindBool, usage: "validate the options, environment and configuration file, warn about missing interfaces, and exit without touching the kernel (needs no privileges)"},
		runDirOption(),
	}
}

func setupOptions() []option {
	return append(rulesetOptions(),
		option{name: optJSON, kind: kindBool, usage: "print the result as JSON"},
	)
}

func statusOptions() []option {
	return []option{
		runDirOption(),
		{name: optJSON, kind: kindBool, usage: "print the status as JSON (stable field names, for scripts)"},
		{name: optSample, kind: kindInt, defI: defaultSample, usage: "show up to `N` elements of each set (0 = none)"},
	}
}

func inspectOptions() []option {
	return []option{
		{name: optPcap, kind: kindList, usage: "capture `FILE` (pcap or pcapng; - for standard input) to analyse; repeat, separate with commas or give further files as arguments"},
		{name: optLAN, kind: kindList, usage: "address prefix `CIDR` of the LAN side: packets from it are client traffic; repeat or separate with commas", defText: "private, link-local and ULA ranges"},
		{name: optJSON, kind: kindBool, usage: "print the report as JSON"},
		protocolsOption(),
	}
}

// protocolsOption selects the detectors: every built-in one by default.
func protocolsOption() option {
	return option{name: optProtocols, kind: kindList, defText: strings.Join(registry.Names(), ","),
		usage: "detect and stop only these `PROTOCOLS` (" + strings.Join(registry.Names(), ", ") + "); repeat or separate with commas; a protocol left out puts no rule in the kernel"}
}

func runOptions() []option {
	return append(append(rulesetOptions(),
		option{name: optDryRun, kind: kindBool, usage: "classify and log everything but change no set and accept every packet"},
		option{name: optNoUDPBlock, kind: kindBool, usage: "accept FastTrack UDP pings (peers are still learned and clients still locked), like the original 2003 ftwall's -n option"},
		option{name: optPong, kind: kindString, def: "0x29", usage: "`TYPE` of the spoofed reply: 0x29 (node pong) or 0x28 (supernode pong); also 29/28 or node/supernode"},
		option{name: optPongRate, kind: kindInt, defI: defaultPongRate, usage: "at most `N` spoofed pongs per second to one client, sustained"},
		option{name: optPongBurst, kind: kindInt, defI: defaultPongBurst, usage: "a client's ping burst of up to `N` pings is answered in full (giFT sends ~3,000 at once)"},
		option{name: optProtect, kind: kindList, usage: "never block `CIDR` as a peer, besides the gateway's resolvers and default gateways, which are protected anyway (IPv4 also in its NAT64 and 6to4 forms); repeat or separate with commas"},
		option{name: optPeerBudget, kind: kindInt, defI: service.DefaultPeerBudget, usage: "one LAN client can make ftwall learn at most `N` new peers at once; past it ftwall learns nothing more from it until the budget refills (0 = no budget)"},
		option{name: optPeerBudgetRate, kind: kindInt, defI: service.DefaultPeerBudgetRate, usage: "a client's peer budget refills by `N` new peers per second"},
		option{name: optTeardownOnExit, kind: kindBool, usage: "remove the table inet ftwall when run stops (default: keep it, so the kernel keeps blocking)"},
		option{name: optStore, kind: kindString, usage: "storefile `FILE` of learned peers, read at start and written periodically and at exit"},
		option{name: optStoreInterval, kind: kindDuration, defD: defaultStoreInterval, usage: "write learned peers to the storefile every `DURATION`"},
		option{name: optClientDir, kind: kindString, usage: "`DIR`ectory that gets one file per time-locked client, removed when the lock lapses"},
		option{name: optLog, kind: kindString, def: defaultLogLetters, usage: "event `LETTERS` to log: u/U dropped/accepted UDP, t/T dropped/accepted TCP, c clients, p peers; \"all\" for every kind, \"\" for none"},
		option{name: optLogFormat, kind: kindString, def: "text", usage: "log `FORMAT`: text or json"},
		option{name: optLogLevel, kind: kindString, def: "info", usage: "lowest log `LEVEL`: debug, info, warn or error"},
		option{name: optSyslog, kind: kindBool, usage: "log to syslog instead of standard error"},
		option{name: optSummaryInterval, kind: kindDuration, defD: defaultSummaryInterval, usage: "summarise the kernel counters in the log every `DURATION` (0 = never)"},
		option{name: optMetricsListen, kind: kindString, usage: "serve Prometheus metrics on `ADDR` (host:port, e.g. 127.0.0.1:9714; empty = off)"},
		option{name: optOwn, kind: kindList, usage: "extra own `ADDR`ess of the firewall, never blocked as a peer (the interfaces' addresses are always included); repeat or separate with commas"},
		option{name: optProbeSource, kind: kindList, usage: "source `ADDR` of time-lock probes, at most one IPv4 and one IPv6 (default: the address of the LAN interface the client was seen on)"},
		option{name: optQueueMaxLen, kind: kindUint, defU: defaultQueueMaxLen, usage: "kernel queue length in `PACKETS` per queue"},
	), shareOptions()...)
}

// shareOptions share learned peers (and locks) with other gateways through
// NATS JetStream; in the configuration file they may also be written as a
// share: mapping (see configfile.go).
func shareOptions() []option {
	return []option{
		{name: optShareURL, kind: kindList, usage: "share learned peers with other gateways through the NATS JetStream `URL` (nats://HOST:PORT or tls://HOST:PORT); repeat or separate with commas for a cluster (none = no sharing)"},
		{name: optShareMode, kind: kindString, def: string(share.ModePeers), usage: "`MODE` of sharing: peers (publish and apply learned peers), all (also time-locks, for an HA pair on one LAN) or receive (apply what others learned, publish nothing)"},
		{name: optShareName, kind: kindString, defText: "the hostname", usage: "this gateway's `NAME` in what it publishes"},
		{name: optShareUser, kind: kindString, usage: "NATS `USER` (with --share-password; prefer the environment or the configuration file for the password)"},
		{name: optSharePassword, kind: kindString, usage: "NATS `PASSWORD` of --share-user"},
		{name: optShareToken, kind: kindString, usage: "NATS authentication `TOKEN`"},
		{name: optShareNKey, kind: kindString, usage: "NATS nkey seed `FILE`"},
		{name: optShareCreds, kind: kindString, usage: "NATS credentials `FILE` (.creds: user JWT and nkey seed)"},
		{name: optShareTLSCA, kind: kindString, usage: "`FILE` of the CA certificates that signed the NATS servers' certificates"},
		{name: optShareTLSCert, kind: kindString, usage: "client certificate `FILE` for NATS servers that verify clients (with --share-tls-key)"},
		{name: optShareTLSKey, kind: kindString, usage: "private key `FILE` of --share-tls-cert"},
		{name: optSharePeersBucket, kind: kindString, def: share.DefaultPeersBucket, usage: "key-value `BUCKET` of the shared peers"},
		{name: optShareLocksBucket, kind: kindString, def: share.DefaultLocksBucket, usage: "key-value `BUCKET` of the shared time-locks (mode all)"},
		{name: optShareReplicas, kind: kindInt, defI: 1, usage: "servers holding each bucket when this gateway creates it: `N` = 1, 3 or 5 (3 for a cluster of three)"},
		{name: optShareBacklog, kind: kindInt, defI: share.DefaultBacklog, usage: "at most `N` entries wait to be published while the servers are unreachable; past it the oldest are dropped (counted)"},
	}
}

// globalOptions are the application's own options.
func globalOptions() []option {
	return []option{
		{name: optConfig, kind: kindString, usage: "read options from the YAML `FILE` (keys are option names; flags and FTWALL_* variables take precedence)"},
	}
}

// flag builds the urfave/cli flag of o, reading environment variable
// prefix+NAME. Every flag is wrapped by altsrc so the configuration file
// can supply it; a fresh flag is built for every run of the application
// because urfave/cli keeps parse state in its flags.
func (o option) flag(prefix string) cli.Flag {
	envs := []string{envName(prefix, o.name)}
	switch o.kind {
	case kindList:
		f := &cli.StringSliceFlag{Name: o.name, Usage: o.usage, EnvVars: envs, DefaultText: o.defText}
		if len(o.defL) > 0 {
			f.Value = cli.NewStringSlice(o.defL...)
		}
		return altsrc.NewStringSliceFlag(f)
	case kindBool:
		return altsrc.NewBoolFlag(&cli.BoolFlag{Name: o.name, Usage: o.usage, EnvVars: envs, DisableDefaultText: true})
	case kindDuration:
		def := o.defText
		if def == "" {
			def = humanDuration(seconds(o.defD), "0")
		}
		return altsrc.NewDurationFlag(&cli.DurationFlag{Name: o.name, Usage: o.usage, EnvVars: envs, Value: o.defD, DefaultText: def})
	case kindUint:
		return altsrc.NewUintFlag(&cli.UintFlag{Name: o.name, Usage: o.usage, EnvVars: envs, Value: o.defU, DefaultText: o.defText})
	case kindInt:
		return altsrc.NewIntFlag(&cli.IntFlag{Name: o.name, Usage: o.usage, EnvVars: envs, Value: o.defI, DefaultText: o.defText})
	}
	return altsrc.NewStringFlag(&cli.StringFlag{Name: o.name, Usage: o.usage, EnvVars: envs, Value: o.def, DefaultText: o.defText})
}

// flags builds the flags of opts.
func flags(prefix string, opts []option) []cli.Flag {
	out := make([]cli.Flag, 0, len(opts))
	for _, o := range opts {
		out = append(out, o.flag(prefix))
	}
	return out
}

// findOption returns the option called name in opts.
func findOption(opts []option, name string) (option, bool) {
	for _, o := range opts {
		if o.name == name {
			return o, true
		}
	}
	return option{}, false
}
