package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func emitAll(e *Events) {
	src := slog.String("src", "10.0.1.2:1214")
	e.UDP(true, src)
	e.UDP(false, src)
	e.TCP(true, src)
	e.TCP(false, src)
	e.ClientAppeared(netip.MustParseAddr("10.0.1.2"), slog.String("reason", "udp ping"))
	e.ClientVanished(netip.MustParseAddr("fd00:1::2"))
	e.PeerLearned(netip.MustParseAddrPort("[2001:db8:100::7]:1214"), slog.String("reason", "ping"))
}

func TestMasking(t *testing.T) {
	all := []string{"u", "U", "t", "T", "c", "c", "p"}
	for _, sel := range []string{"", "u", "U", "t", "T", "c", "p", "uT", "all"} {
		mask, err := ParseLetters(sel)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		log, _, _ := NewLogger(&buf, "json", slog.LevelInfo, false)
		emitAll(New(log, mask))
		var got []string
		for _, m := range jsonLines(t, &buf) {
			got = append(got, m["event"].(string))
		}
		var want []string
		for _, l := range all {
			if mask.Has(Mask(1) << strings.Index(letters, l)) {
				want = append(want, l)
			}
		}
		if strings.Join(got, "") != strings.Join(want, "") {
			t.Errorf("letters %q: events %v, want %v", sel, got, want)
		}
	}
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	log, closer, err := NewLogger(&buf, "json", slog.LevelInfo, false)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	emitAll(New(log, All))
	lines := jsonLines(t, &buf)
	want := []map[string]any{
		{"level": "INFO", "msg": MsgUDPDropped, "event": "u", "src": "10.0.1.2:1214"},
		{"level": "INFO", "msg": MsgUDPAccepted, "event": "U", "src": "10.0.1.2:1214"},
		{"level": "INFO", "msg": MsgTCPDropped, "event": "t", "src": "10.0.1.2:1214"},
		{"level": "INFO", "msg": MsgTCPAccepted, "event": "T", "src": "10.0.1.2:1214"},
		{"level": "INFO", "msg": MsgClientAppeared, "event": "c", "client": "10.0.1.2", "reason": "udp ping"},
		{"level": "INFO", "msg": MsgClientVanished, "event": "c", "client": "fd00:1::2"},
		{"level": "INFO", "msg": MsgPeerLearned, "event": "p", "peer": "[2001:db8:100::7]:1214", "reason": "ping"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		got := lines[i]
		if _, ok := got["time"].(string); !ok {
			t.Errorf("line %d: no time: %v", i, got)
		}
		delete(got, "time")
		if len(got) != len(w) {
			t.Errorf("line %d: keys %v, want %v", i, got, w)
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
	}
}

func TestTextFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	log, _, err := NewLogger(&buf, "", slog.LevelWarn, false)
	if err != nil {
		t.Fatal(err)
	}
	New(log, All).UDP(true) // Info: below the level
	log.Warn("queue full", "queue", 0)
	out := buf.String()
	if strings.Contains(out, MsgUDPDropped) || !strings.Contains(out, "level=WARN msg=\"queue full\" queue=0") {
		t.Errorf("output %q", out)
	}
	if _, _, err := NewLogger(&buf, "xml", slog.LevelInfo, false); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("format xml: %v", err)
	}
}

func TestNilAndDisabledEvents(t *testing.T) {
	var e *Events
	emitAll(e) // must not panic
	if e.Enabled(All) || e.Mask() != 0 {
		t.Error("nil Events enabled")
	}
	emitAll(New(nil, All))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	emitAll(New(log, 0))
	if buf.Len() != 0 {
		t.Errorf("mask 0 logged %q", buf.String())
	}
}

func TestCounterSummary(t *testing.T) {
	var buf bytes.Buffer
	log, _, _ := NewLogger(&buf, "json", slog.LevelInfo, false)
	prev := map[string]Counter{
		"drop peers":    {10, 1000},
		"reject locked": {5, 300},
		"idle":          {7, 700},
		"reset":         {100, 10000},
	}
	cur := map[string]Counter{
		"drop peers":    {15, 1600},
		"reject locked": {5, 300},
		"idle":          {7, 700},
		"reset":         {3, 180},
		"new rule":      {2, 120},
	}
	CounterSummary(context.Background(), log, prev, cur)
	lines := jsonLines(t, &buf)
	if len(lines) != 1 {
		t.Fatalf("%d lines", len(lines))
	}
	m := lines[0]
	if m["msg"] != MsgCounterSummary || m["rules_changed"] != 3.0 {
		t.Errorf("summary %v", m)
	}
	for name, want := range map[string][2]float64{"drop peers": {5, 600}, "reset": {3, 180}, "new rule": {2, 120}} {
		g, ok := m[name].(map[string]any)
		if !ok || g["packets"] != want[0] || g["bytes"] != want[1] {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	for _, name := range []string{"reject locked", "idle"} {
		if _, ok := m[name]; ok {
			t.Errorf("unchanged rule %s logged", name)
		}
	}
	buf.Reset()
	CounterSummary(context.Background(), log, cur, cur)
	if l := jsonLines(t, &buf); len(l) != 0 {
		t.Errorf("no change, yet logged: %v", l)
	}
	CounterSummary(context.Background(), nil, prev, cur) // no logger: nothing, no panic
}

// TestPeerLinesRateLimited: a flood of learned peers logs a burst, then
// LineRate lines per second, and the next line says how many were left out.
func TestPeerLinesRateLimited(t *testing.T) {
	var buf bytes.Buffer
	e := New(slog.New(slog.NewTextHandler(&buf, nil)), Peers)
	now := time.Unix(1000, 0)
	e.now = func() time.Time { return now }
	for i := range 10000 {
		e.PeerLearned(netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 1214))
	}
	if n := bytes.Count(buf.Bytes(), []byte("peer learned")); n != LineBurst {
		t.Fatalf("%d lines for a burst of 10,000, want %d", n, LineBurst)
	}
	now = now.Add(time.Second)
	buf.Reset()
	for range 100 {
		e.PeerLearned(netip.MustParseAddrPort("198.51.100.1:1214"))
	}
	if n := bytes.Count(buf.Bytes(), []byte("peer learned")); n != LineRate {
		t.Fatalf("%d lines a second later, want %d", n, LineRate)
	}
	if !bytes.Contains(buf.Bytes(), []byte("not_logged=9800")) {
		t.Errorf("the first line after the burst does not count the 9,800 left out:\n%s", buf.String())
	}
}
