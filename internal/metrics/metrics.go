package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Verdict label values.
const (
	VerdictAccept = "accept"
	VerdictDrop   = "drop"
)

// Metrics holds ftwall's collectors on a private registry. All methods are
// safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	candidates     *prometheus.CounterVec
	verdicts       *prometheus.CounterVec
	verdictDrop    prometheus.Counter // verdicts{verdict="drop"}, resolved once
	verdictAccept  prometheus.Counter
	peersLearned   prometheus.Counter
	clientsLocked  prometheus.Gauge
	probesSent     prometheus.Counter
	probesAnswered prometheus.Counter
	pongsSent      prometheus.Counter
	pongsWithheld  prometheus.Counter
	notSent        *prometheus.CounterVec
	evidenceLost   prometheus.Counter
	overBudget     prometheus.Counter
	forged         *prometheus.CounterVec
	setFull        *prometheus.CounterVec
	bypassed       prometheus.Gauge
	kernelRefresh  prometheus.Counter
	setElements    *prometheus.GaugeVec
	setWrite       prometheus.Histogram
	rules          *ruleCollector
	tableRepairs   prometheus.Counter
	tablePresent   prometheus.Gauge
	buildInfo      *prometheus.GaugeVec
}

// Option configures New.
type Option func(*options)

type options struct {
	queueStats  string
	log         *slog.Logger
	streamStats func() StreamStats
}

// Streams exposes the stream reassembly table's figures, read at every
// scrape (default: all zero).
func Streams(read func() StreamStats) Option { return func(o *options) { o.streamStats = read } }

// QueueStatsFile reads the kernel queue statistics from path instead of
// DefaultQueueStatsFile (for example /proc/PID/net/netfilter/nfnetlink_queue
// of a process in another network namespace).
func QueueStatsFile(path string) Option { return func(o *options) { o.queueStats = path } }

// Logger logs errors that happen while serving a scrape (default: none).
func Logger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// New creates the collectors and registers them on a new private registry.
func New(opts ...Option) *Metrics {
	o := options{queueStats: DefaultQueueStatsFile, streamStats: func() StreamStats { return StreamStats{} }}
	for _, f := range opts {
		f(&o)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: o.log,
		candidates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftwall_candidates_total", Help: "Candidate packets inspected, by protocol and kind.",
		}, []string{"protocol", "kind"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftwall_verdicts_total", Help: "Verdicts on candidate packets.",
		}, []string{"verdict"}),
		peersLearned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_peers_learned_total", Help: "FastTrack peers added to the block set.",
		}),
		clientsLocked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ftwall_clients_locked", Help: "LAN clients under time-lock now.",
		}),
		probesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_probes_sent_total", Help: "Time-lock probes (FastTrack pings) sent to clients.",
		}),
		probesAnswered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_probes_answered_total", Help: "Time-lock probes answered by the client.",
		}),
		pongsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_spoofed_pongs_sent_total", Help: "Spoofed FastTrack pongs sent to clients.",
		}),
		pongsWithheld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_spoofed_pongs_withheld_total", Help: "Spoofed pongs not sent because a client exceeded --pong-rate and --pong-burst.",
		}),
		notSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftwall_packets_not_sent_total",
			Help: "Spoofed replies and UDP time-lock probes dropped instead of sent, by what (reply, probe) and why (busy: the socket buffer is full, e.g. behind an unresolved neighbour; error: any other send error). Sending never waits.",
		}, []string{"what", "reason"}),
		evidenceLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_evidence_lost_total", Help: "Evidence (peers to block, clients to lock) dropped because the control goroutine, the only nftables writer, was too busy to take it; the packet's verdict was still given.",
		}),
		overBudget: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_peers_over_budget_total", Help: "Peers not learned because the LAN client that revealed them had spent its --peer-budget.",
		}),
		forged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftwall_forged_sources_total",
			Help: "Evidence (peers to block, a client to lock) ignored because its source address failed the MAC check against the kernel's neighbour table, by reason: " + ForgedMACMismatch + " (the frame's source MAC is not the one the table holds for the address) or " + ForgedUnresolved + " (the table holds no address for it; ftwall asked the kernel to resolve it).",
		}, []string{"reason"}),
		setFull: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftwall_set_full_total", Help: "Elements not added because their set was full (--max-peers); the kernel keeps those it holds.",
		}, []string{"set"}),
		bypassed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ftwall_failopen_bypassed",
			Help: "Candidates that passed uninspected since start because the queue failed open (estimated every 10 s: packets counted by the queue rules minus packets the readers received; the kernel counts fail-open accepts nowhere).",
		}),
		kernelRefresh: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_locks_kept_by_kernel_total", Help: "Locks found refreshed by the kernel (refused connections, tries towards known peers) when they were due to lapse.",
		}),
		setElements: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ftwall_set_elements", Help: "Elements in each nftables set of the ftwall table.",
		}, []string{"set"}),
		setWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ftwall_set_write_duration_seconds",
			Help:    "Time to write a batch of set elements to the kernel.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 15), // 50µs … 0.8s
		}),
		rules: newRuleCollector(),
		tableRepairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ftwall_table_repairs_total",
			Help: "Times ftwall re-applied table inet ftwall after someone else had removed or changed the table or one of its chains, rules or sets (nft flush ruleset, nft -f of a file that starts with flush ruleset, nft delete …), refilling the peer and lock sets that came back empty from the storefile and the time-lock state.",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ftwall_build_info", Help: "Always 1: the running ftwall's version, the Go version it was built with, and the queue backend in use.",
		}, []string{"version", "goversion", "backend"}),
		tablePresent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ftwall_table_present",
			Help: "1 when table inet ftwall existed at ftwall's last check, 0 when it did not; checked once a second and on every nftables change notification.",
		}),
	}
	for _, v := range []string{VerdictAccept, VerdictDrop} {
		m.verdicts.WithLabelValues(v)
	}
	m.verdictDrop = m.verdicts.WithLabelValues(VerdictDrop)
	m.verdictAccept = m.verdicts.WithLabelValues(VerdictAccept)
	for _, r := range []string{ForgedMACMismatch, ForgedUnresolved} {
		m.forged.WithLabelValues(r)
	}
	m.reg.MustRegister(
		m.candidates, m.verdicts, m.peersLearned, m.clientsLocked,
		m.probesSent, m.probesAnswered, m.pongsSent, m.pongsWithheld, m.notSent, m.evidenceLost, m.overBudget, m.forged, m.setFull, m.bypassed, m.kernelRefresh, m.setElements, m.setWrite, m.tableRepairs, m.tablePresent, m.buildInfo,
		m.rules, newQueueCollector(o.queueStats), newStreamCollector(o.streamStats),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the private registry (to add collectors or gather in tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// collector that fails (for example an unreadable queue statistics file) is
// logged and left out; the other metrics are still served.
func (m *Metrics) Handler() http.Handler {
	opts := promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError}
	if m.log != nil {
		opts.ErrorLog = slogPrintln{m.log}
	}
	return promhttp.HandlerFor(m.reg, opts)
}

type slogPrintln struct{ log *slog.Logger }

func (l slogPrintln) Println(v ...any) {
	l.log.Warn("metrics scrape failed in part", "error", fmt.Sprint(v...))
}

// Candidate counts an inspected candidate packet of a kind. Kinds are a
// small fixed set chosen by the caller (for example "udp-ping", "udp-pong",
// "tcp-http"): each distinct kind is a time series.
func (m *Metrics) Candidate(protocol, kind string) {
	m.candidates.WithLabelValues(protocol, kind).Inc()
}

// Verdict counts a verdict on a candidate packet.
func (m *Metrics) Verdict(drop bool) {
	if drop {
		m.verdictDrop.Inc()
	} else {
		m.verdictAccept.Inc()
	}
}

// Counter is one counter of a labelled family, resolved once so that the
// packet path adds to it without a label lookup.
type Counter interface{ Inc() }

// CandidateCounter is the counter Candidate(protocol, kind) adds to; the
// packet path keeps it instead of looking the labels up per packet.
func (m *Metrics) CandidateCounter(protocol, kind string) Counter {
	return m.candidates.WithLabelValues(protocol, kind)
}

// PeerLearned counts a peer added to the block set.
func (m *Metrics) PeerLearned() { m.peersLearned.Inc() }

// SetClientsLocked sets the number of time-locked clients.
func (m *Metrics) SetClientsLocked(n int) { m.clientsLocked.Set(float64(n)) }

// ProbeSent counts a time-lock probe sent.
func (m *Metrics) ProbeSent() { m.probesSent.Inc() }

// ProbeAnswered counts a probe answered by its client.
func (m *Metrics) ProbeAnswered() { m.probesAnswered.Inc() }

// SpoofedPongSent counts a spoofed pong sent to a client.
func (m *Metrics) SpoofedPongSent() { m.pongsSent.Inc() }

// SpoofedPongWithheld counts a pong the rate limit held back.
func (m *Metrics) SpoofedPongWithheld() { m.pongsWithheld.Inc() }

// NotSent counts a spoofed reply ("reply") or probe ("probe") dropped
// because the socket was busy (busy true) or another send error.
func (m *Metrics) NotSent(what string, busy bool) {
	reason := "error"
	if busy {
		reason = "busy"
	}
	m.notSent.WithLabelValues(what, reason).Inc()
}

// PeerOverBudget counts a peer left out by a client's budget.
func (m *Metrics) PeerOverBudget() { m.overBudget.Inc() }

// Reasons of ftwall_forged_sources_total.
const (
	ForgedMACMismatch = "mac-mismatch"
	ForgedUnresolved  = "unresolved"
)

// ForgedSource counts evidence ignored by the source MAC check, by reason
// (ForgedMACMismatch, ForgedUnresolved).
func (m *Metrics) ForgedSource(reason string) { m.forged.WithLabelValues(reason).Inc() }

// SetFull counts n elements a full set refused.
func (m *Metrics) SetFull(set string, n int) { m.setFull.WithLabelValues(set).Add(float64(n)) }

// SetQueueBypassed sets the fail-open estimate.
func (m *Metrics) SetQueueBypassed(n uint64) { m.bypassed.Set(float64(n)) }

// EvidenceLost counts evidence the control goroutine could not take.
func (m *Metrics) EvidenceLost() { m.evidenceLost.Inc() }

// LockKeptByKernel counts a lock the kernel had refreshed by itself.
func (m *Metrics) LockKeptByKernel() { m.kernelRefresh.Inc() }

// SetSetSize sets the number of elements of an nftables set.
func (m *Metrics) SetSetSize(set string, n int) { m.setElements.WithLabelValues(set).Set(float64(n)) }

// AddSetSize adds n elements (negative: removes) to a set's size.
func (m *Metrics) AddSetSize(set string, n int) { m.setElements.WithLabelValues(set).Add(float64(n)) }

// ObserveSetWrite records how long a set element write took.
func (m *Metrics) ObserveSetWrite(d time.Duration) { m.setWrite.Observe(d.Seconds()) }

// SetRuleCounters replaces the kernel rule counters (rule comment →
// counter) exposed as ftwall_rule_packets_total and ftwall_rule_bytes_total;
// rules missing from the map disappear.
func (m *Metrics) SetRuleCounters(rules map[string]RuleCounter) { m.rules.set(rules) }

// TableRepaired counts a re-application of the table after someone else
// changed it.
func (m *Metrics) TableRepaired() { m.tableRepairs.Inc() }

// SetTablePresent sets whether table inet ftwall exists.
func (m *Metrics) SetTablePresent(present bool) {
	v := 0.0
	if present {
		v = 1
	}
	m.tablePresent.Set(v)
}

// SetBuildInfo sets ftwall_build_info's one series (version, Go version,
// queue backend), replacing any earlier one.
func (m *Metrics) SetBuildInfo(version, goVersion, backend string) {
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, goVersion, backend).Set(1)
}
