package metrics

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrape fetches the handler's text exposition and returns sample → value.
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: HTTP %d: %s", rec.Code, rec.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func expect(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("sample %s missing", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

func TestMetricsMove(t *testing.T) {
	m := New(QueueStatsFile(filepath.Join("testdata", "nfnetlink_queue")))
	h := m.Handler()
	expect(t, scrape(t, h), map[string]float64{
		`ftwall_verdicts_total{verdict="accept"}`:            0,
		`ftwall_verdicts_total{verdict="drop"}`:              0,
		`ftwall_peers_learned_total`:                         0,
		`ftwall_clients_locked`:                              0,
		`ftwall_probes_sent_total`:                           0,
		`ftwall_probes_answered_total`:                       0,
		`ftwall_spoofed_pongs_sent_total`:                    0,
		`ftwall_set_write_duration_seconds_count`:            0,
		`ftwall_forged_sources_total{reason="mac-mismatch"}`: 0,
		`ftwall_forged_sources_total{reason="unresolved"}`:   0,
		`ftwall_queue_packets_total{queue="0"}`:              421,
		`ftwall_queue_waiting{queue="0"}`:                    3,
		`ftwall_queue_dropped_total{queue="1"}`:              17,
		`ftwall_queue_user_dropped_total{queue="1"}`:         2,
		`ftwall_queue_packets_total{queue="1"}`:              4294967295,
	})

	for range 3 {
		m.Candidate("fasttrack", "ping")
	}
	m.Candidate("fasttrack", "http-request")
	m.Verdict(true)
	m.Verdict(true)
	m.Verdict(false)
	m.PeerLearned()
	m.SetClientsLocked(7)
	m.SetClientsLocked(5)
	m.ProbeSent()
	m.ProbeSent()
	m.ProbeAnswered()
	m.SpoofedPongSent()
	m.ForgedSource(ForgedMACMismatch)
	m.ForgedSource(ForgedUnresolved)
	m.ForgedSource(ForgedUnresolved)
	m.SetSetSize("peers4", 1000)
	m.SetSetSize("clients6", 2)
	m.ObserveSetWrite(70 * time.Microsecond)
	m.ObserveSetWrite(20 * time.Millisecond)
	m.SetRuleCounters(map[string]RuleCounter{"drop peers": {Packets: 12, Bytes: 3400}, "reject locked": {Packets: 1, Bytes: 60}})

	got := scrape(t, h)
	expect(t, got, map[string]float64{
		`ftwall_candidates_total{kind="ping",protocol="fasttrack"}`:         3,
		`ftwall_candidates_total{kind="http-request",protocol="fasttrack"}`: 1,
		`ftwall_verdicts_total{verdict="drop"}`:                             2,
		`ftwall_verdicts_total{verdict="accept"}`:                           1,
		`ftwall_peers_learned_total`:                                        1,
		`ftwall_clients_locked`:                                             5,
		`ftwall_probes_sent_total`:                                          2,
		`ftwall_probes_answered_total`:                                      1,
		`ftwall_spoofed_pongs_sent_total`:                                   1,
		`ftwall_forged_sources_total{reason="mac-mismatch"}`:                1,
		`ftwall_forged_sources_total{reason="unresolved"}`:                  2,
		`ftwall_set_elements{set="peers4"}`:                                 1000,
		`ftwall_set_elements{set="clients6"}`:                               2,
		`ftwall_set_write_duration_seconds_count`:                           2,
		`ftwall_set_write_duration_seconds_bucket{le="0.0001"}`:             1,
		`ftwall_set_write_duration_seconds_bucket{le="0.0256"}`:             2,
		`ftwall_rule_packets_total{rule="drop peers"}`:                      12,
		`ftwall_rule_bytes_total{rule="drop peers"}`:                        3400,
		`ftwall_rule_packets_total{rule="reject locked"}`:                   1,
		`ftwall_rule_bytes_total{rule="reject locked"}`:                     60,
	})
	if s := got[`ftwall_set_write_duration_seconds_sum`]; s < 0.02 || s > 0.0201 {
		t.Errorf("histogram sum %v", s)
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("go collector missing")
	}

	// Replacing the rule counters drops rules that are gone.
	m.SetRuleCounters(map[string]RuleCounter{"drop peers": {Packets: 20, Bytes: 5000}})
	got = scrape(t, h)
	expect(t, got, map[string]float64{`ftwall_rule_packets_total{rule="drop peers"}`: 20})
	if _, ok := got[`ftwall_rule_packets_total{rule="reject locked"}`]; ok {
		t.Error("removed rule still exposed")
	}
}

func TestPrivateRegistry(t *testing.T) {
	a, b := New(), New() // a global registration would panic here
	a.PeerLearned()
	if v := scrape(t, b.Handler())["ftwall_peers_learned_total"]; v != 0 {
		t.Errorf("second Metrics sees the first's counter: %v", v)
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "ftwall_") {
			t.Errorf("%s registered globally", mf.GetName())
		}
	}
}

func TestQueueStatsMissingOrBroken(t *testing.T) {
	m := New(QueueStatsFile(filepath.Join(t.TempDir(), "absent")))
	got := scrape(t, m.Handler())
	for k := range got {
		if strings.HasPrefix(k, "ftwall_queue_") {
			t.Errorf("queue sample %s without a stats file", k)
		}
	}
	if _, ok := got[`ftwall_verdicts_total{verdict="drop"}`]; !ok {
		t.Error("other metrics missing")
	}

	broken := filepath.Join(t.TempDir(), "broken")
	os.WriteFile(broken, []byte("garbage\n"), 0o600)
	var logBuf bytes.Buffer
	m = New(QueueStatsFile(broken), Logger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	got = scrape(t, m.Handler())
	if _, ok := got[`ftwall_verdicts_total{verdict="drop"}`]; !ok {
		t.Error("a broken queue file hides the other metrics")
	}
	if !strings.Contains(logBuf.String(), "broken") {
		t.Errorf("scrape error not logged: %q", logBuf.String())
	}
}

func TestDefaultQueueStatsFile(t *testing.T) {
	// The host's own file: readable (maybe empty) or absent, never malformed.
	st, err := ReadQueueStats(DefaultQueueStatsFile)
	if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
		t.Skipf("%s is readable by root only; this check runs as root (CI)", DefaultQueueStatsFile)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: %v", DefaultQueueStatsFile, err)
	}
	t.Logf("%d queues on this host", len(st))
}

func TestStreamStatsScraped(t *testing.T) {
	m := New(QueueStatsFile(filepath.Join(t.TempDir(), "none")), Streams(func() StreamStats {
		return StreamStats{Tracked: 7, Evicted: 3, Refused: 5, Rewritten: 2}
	}))
	got := scrape(t, m.Handler())
	for name, want := range map[string]float64{"ftwall_streams_tracked": 7, "ftwall_streams_evicted_total": 3, "ftwall_streams_refused_total": 5, "ftwall_stream_rewrites_total": 2} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

func TestBuildInfo(t *testing.T) {
	m := New(QueueStatsFile(filepath.Join(t.TempDir(), "none")))
	m.SetBuildInfo("0.1.0", "go1.26.8", "native")
	m.SetBuildInfo("0.1.0", "go1.26.8", "compat") // replaces the first
	got := scrape(t, m.Handler())
	if v, ok := got[`ftwall_build_info{backend="compat",goversion="go1.26.8",version="0.1.0"}`]; !ok || v != 1 {
		t.Errorf("build info: %v", got)
	}
	if _, ok := got[`ftwall_build_info{backend="native",goversion="go1.26.8",version="0.1.0"}`]; ok {
		t.Error("the replaced build info is still there")
	}
}
