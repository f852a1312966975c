package timelock

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

const T = 120 * time.Second

var (
	t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	c1 = netip.MustParseAddr("10.0.1.2")
	c2 = netip.MustParseAddr("fd00:1::2")
	c3 = netip.MustParseAddr("10.0.2.2")
)

// step is one operation at t0+at, with its expected outcome.
type step struct {
	at time.Duration
	op string // evidence, restore, due, expire, len, forget

	addr      netip.Addr
	port      uint16
	network   string
	remaining time.Duration

	want    []netip.Addr // due/expire: clients returned; evidence: none
	wantNew bool         // evidence
	wantLen int          // len
}

func ev(at time.Duration, a netip.Addr, port uint16, isNew bool) step {
	return step{at: at, op: "evidence", addr: a, port: port, wantNew: isNew}
}
func due(at time.Duration, want ...netip.Addr) step { return step{at: at, op: "due", want: want} }
func expire(at time.Duration, want ...netip.Addr) step {
	return step{at: at, op: "expire", want: want}
}
func length(at time.Duration, n int) step { return step{at: at, op: "len", wantLen: n} }
func restore(at time.Duration, a netip.Addr, remaining time.Duration) step {
	return step{at: at, op: "restore", addr: a, remaining: remaining}
}

func TestTransitions(t *testing.T) {
	const ns = time.Nanosecond
	tests := []struct {
		name  string
		lock  time.Duration
		steps []step
	}{
		{"probe exactly once at T/2, then lapse at T", T, []step{
			ev(0, c1, 1214, true),
			due(T/2 - ns),
			due(T/2, c1),
			due(T/2 + ns),
			due(T - ns),
			expire(T - ns),
			length(T-ns, 1),
			expire(T, c1),
			length(T, 0),
			due(2 * T),
			expire(2 * T),
		}},
		{"evidence before T/2 postpones the probe", T, []step{
			ev(0, c1, 1214, true),
			ev(50*time.Second, c1, 1214, false),
			due(T / 2),
			due(50*time.Second + T/2 - ns),
			due(50*time.Second+T/2, c1),
			expire(T),
			expire(50*time.Second+T, c1),
		}},
		{"answered probe re-arms the next probe", T, []step{
			ev(0, c1, 1214, true),
			due(T/2, c1),
			ev(T/2+time.Second, c1, 1214, false), // the pong
			expire(T),
			due(T/2 + time.Second + T/2 - ns),
			due(T/2+time.Second+T/2, c1),
			expire(T/2 + time.Second + T - ns),
			expire(T/2+time.Second+T, c1),
		}},
		{"port-0 client is never probed and lapses at T", T, []step{
			ev(0, c1, 0, true),
			due(T / 2),
			due(T - ns),
			expire(T, c1),
		}},
		{"port learned later makes the client probeable", T, []step{
			ev(0, c1, 0, true),
			ev(10*time.Second, c1, 3456, false),
			due(10*time.Second+T/2, c1),
		}},
		{"port-0 evidence keeps the known port", T, []step{
			ev(0, c1, 3456, true),
			ev(10*time.Second, c1, 0, false),
			due(10*time.Second+T/2, c1),
		}},
		{"lapsed client is not probed when Due runs late", T, []step{
			ev(0, c1, 1214, true),
			due(T),
			expire(T, c1),
		}},
		{"evidence after a lapse is a new client", T, []step{
			ev(0, c1, 1214, true),
			expire(T, c1),
			ev(T+time.Second, c1, 1214, true),
		}},
		{"evidence at exactly T, before Expire, keeps the client", T, []step{
			ev(0, c1, 1214, true),
			ev(T, c1, 1214, false),
			expire(T),
			expire(2*T, c1),
		}},
		{"several clients are probed and lapse in evidence order", T, []step{
			ev(0, c2, 1214, true),
			ev(time.Second, c1, 2000, true),
			ev(2*time.Second, c3, 0, true),
			due(T/2+time.Second, c2, c1),
			expire(T+2*time.Second, c2, c1, c3),
		}},
		{"restore arithmetic: remaining 30s of 120s", T, []step{
			restore(0, c1, 30*time.Second),
			length(0, 1),
			due(T), // port unknown: never probed
			expire(30*time.Second - ns),
			expire(30*time.Second, c1),
		}},
		{"restore with remaining above T counts as T", T, []step{
			restore(0, c1, 10*T),
			expire(T - ns),
			expire(T, c1),
		}},
		{"restore of an element without lifetime is ignored", T, []step{
			restore(0, c1, 0),
			restore(0, c2, -time.Second),
			length(0, 0),
		}},
		{"restore does not move newer evidence back", T, []step{
			ev(0, c1, 1214, true),
			restore(0, c1, time.Second),
			due(T/2, c1),
			expire(T, c1),
		}},
		{"restore newer than the tracked evidence extends the lock", T, []step{
			ev(0, c1, 1214, true),
			restore(100*time.Second, c1, T),
			expire(T),
			due(100*time.Second+T/2, c1),
			expire(100*time.Second+T, c1),
		}},
		{"forget", T, []step{
			ev(0, c1, 1214, true),
			ev(0, c2, 1214, true),
			{at: time.Second, op: "forget", addr: c1},
			length(time.Second, 1),
			due(T/2, c2),
			expire(T, c2),
		}},
		{"time lock 0 tracks nothing", 0, []step{
			ev(0, c1, 1214, false),
			restore(0, c2, time.Minute),
			length(0, 0),
			due(time.Hour),
			expire(time.Hour),
		}},
		{"negative time lock tracks nothing", -time.Second, []step{
			ev(0, c1, 1214, false),
			length(0, 0),
		}},
		{"odd lock duration: probe at floor(T/2)", 3 * ns, []step{
			ev(0, c1, 1, true),
			due(0),
			due(1*ns, c1),
			expire(2 * ns),
			expire(3*ns, c1),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{TimeLock: tc.lock})
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "evidence":
					c, isNew := tr.Evidence(now, s.addr, "fasttrack", s.port, []byte(s.network), "test")
					if isNew != s.wantNew {
						t.Fatalf("step %d: Evidence(%v) isNew = %v, want %v", i, s.addr, isNew, s.wantNew)
					}
					if tr.Enabled() && (c.Addr != s.addr || c.LastEvidence.Before(now) || c.Probed) {
						t.Fatalf("step %d: Evidence returned %+v", i, c)
					}
				case "restore":
					tr.Restore(now, s.addr, s.remaining)
				case "forget":
					if !tr.Forget(s.addr) {
						t.Fatalf("step %d: Forget(%v) = false", i, s.addr)
					}
				case "due":
					var got []netip.Addr
					for _, p := range tr.Due(now, nil) {
						got = append(got, p.Addr)
					}
					if !slices.Equal(got, s.want) {
						t.Fatalf("step %d: Due(+%v) = %v, want %v", i, s.at, got, s.want)
					}
				case "expire":
					var got []netip.Addr
					for _, c := range tr.Expire(now, nil) {
						got = append(got, c.Addr)
						if _, ok := tr.Get(c.Addr); ok {
							t.Fatalf("step %d: expired %v still tracked", i, c.Addr)
						}
					}
					if !slices.Equal(got, s.want) {
						t.Fatalf("step %d: Expire(+%v) = %v, want %v", i, s.at, got, s.want)
					}
				case "len":
					if n := tr.Len(); n != s.wantLen {
						t.Fatalf("step %d: Len = %d, want %d", i, n, s.wantLen)
					}
				default:
					t.Fatalf("bad op %q", s.op)
				}
			}
		})
	}
}

func TestProbeContent(t *testing.T) {
	tr := New(Config{TimeLock: T})
	tr.Evidence(t0, c1, "fasttrack", 1214, []byte("fileshare\x00"), "ping")
	tr.Evidence(t0, c2, "fasttrack", 3000, nil, "http")
	tr.Evidence(t0, c3, "bittorrent", 4000, []byte("bad name\x00"), "dht")
	probes := tr.Due(t0.Add(T/2), nil)
	want := map[netip.Addr]Probe{
		c1: {Addr: c1, Port: 1214, Protocol: "fasttrack", Tag: "fileshare"},
		c2: {Addr: c2, Port: 3000, Protocol: "fasttrack"},
		c3: {Addr: c3, Port: 4000, Protocol: "bittorrent"},
	}
	if len(probes) != len(want) {
		t.Fatalf("got %d probes, want %d", len(probes), len(want))
	}
	for _, p := range probes {
		if p != want[p.Addr] {
			t.Errorf("probe %+v, want %+v", p, want[p.Addr])
		}
		if p.AddrPort() != netip.AddrPortFrom(p.Addr, p.Port) {
			t.Errorf("AddrPort = %v", p.AddrPort())
		}
		c, _ := tr.Get(p.Addr)
		if !c.Probed || !c.ProbedAt.Equal(t0.Add(T/2)) {
			t.Errorf("client %v after probe: Probed %v at %v", p.Addr, c.Probed, c.ProbedAt)
		}
	}
	// Evidence clears the probe mark; without a port it keeps the target.
	c, _ := tr.Evidence(t0.Add(T/2+time.Second), c1, "", 0, nil, "")
	if c.Probed || !c.ProbedAt.IsZero() || c.Tag != "fileshare" || c.Protocol != "fasttrack" || c.Reason != "ping" || c.Port != 1214 {
		t.Errorf("after pong: %+v", c)
	}
}

func TestAnsweredProbesKeepClientLocked(t *testing.T) {
	tr := New(Config{TimeLock: T})
	now := t0
	tr.Evidence(now, c1, "fasttrack", 1214, []byte("KaZaA"), "ping")
	for period := 0; period < 1000; period++ {
		// Nothing happens until the probe is due.
		if p := tr.Due(now.Add(T/2-time.Millisecond), nil); len(p) != 0 {
			t.Fatalf("period %d: early probe", period)
		}
		now = now.Add(T / 2)
		if d := tr.NextEvent(now.Add(-time.Second)); d != time.Second {
			t.Fatalf("period %d: NextEvent = %v, want 1s", period, d)
		}
		probes := tr.Due(now, nil)
		if len(probes) != 1 {
			t.Fatalf("period %d: %d probes, want 1", period, len(probes))
		}
		if gone := tr.Expire(now, nil); len(gone) != 0 {
			t.Fatalf("period %d: client lapsed", period)
		}
		now = now.Add(300 * time.Millisecond) // the pong arrives
		c, isNew := tr.Evidence(now, c1, "fasttrack", 1214, nil, "probe answered")
		if isNew || !c.FirstSeen.Equal(t0) {
			t.Fatalf("period %d: isNew %v FirstSeen %v", period, isNew, c.FirstSeen)
		}
	}
	if tr.Len() != 1 {
		t.Fatalf("Len = %d", tr.Len())
	}
}

func TestRestoreArithmetic(t *testing.T) {
	tr := New(Config{TimeLock: T})
	now := t0
	tr.Restore(now, c1, 30*time.Second)
	tr.Restore(now, netip.MustParseAddr("::ffff:10.0.2.2"), T)
	c, ok := tr.Get(c1)
	if !ok {
		t.Fatal("restored client missing")
	}
	if want := now.Add(-90 * time.Second); !c.LastEvidence.Equal(want) || !c.FirstSeen.Equal(want) {
		t.Errorf("LastEvidence %v FirstSeen %v, want %v", c.LastEvidence, c.FirstSeen, want)
	}
	if want := now.Add(30 * time.Second); !c.Expires.Equal(want) {
		t.Errorf("Expires %v, want %v", c.Expires, want)
	}
	if c.Port != 0 || c.Tag != "" || c.Reason != RestoredReason || c.Probed {
		t.Errorf("restored client %+v", c)
	}
	if c, ok := tr.Get(c3); !ok || !c.LastEvidence.Equal(now) {
		t.Errorf("mapped address: %+v %v", c, ok)
	}
	if d := tr.NextEvent(now); d != 30*time.Second {
		t.Errorf("NextEvent = %v, want 30s", d)
	}
}

func TestNextEvent(t *testing.T) {
	tr := New(Config{TimeLock: T})
	if d := tr.NextEvent(t0); d != MaxWait {
		t.Errorf("empty: %v, want MaxWait", d)
	}
	tr.Evidence(t0, c1, "fasttrack", 1214, nil, "")
	for _, tc := range []struct {
		at, want time.Duration
	}{
		{0, MaxWait}, // probe at 60s = MaxWait
		{10 * time.Second, 50 * time.Second},
		{T/2 - time.Millisecond, time.Millisecond},
		{T / 2, 0},
		{T, 0},
	} {
		if d := tr.NextEvent(t0.Add(tc.at)); d != tc.want {
			t.Errorf("NextEvent(+%v) = %v, want %v", tc.at, d, tc.want)
		}
	}
	tr.Due(t0.Add(T/2), nil)
	if d := tr.NextEvent(t0.Add(T / 2)); d != T/2 {
		t.Errorf("after probe: %v, want expiry in %v", d, T/2)
	}
	short := New(Config{TimeLock: 10 * time.Second})
	short.Evidence(t0, c1, "fasttrack", 0, nil, "") // unprobeable
	if d := short.NextEvent(t0.Add(time.Second)); d != 9*time.Second {
		t.Errorf("port 0: %v, want 9s", d)
	}
	if d := New(Config{}).NextEvent(t0); d != MaxWait {
		t.Errorf("disabled: %v", d)
	}
}

func TestAddressNormalization(t *testing.T) {
	tr := New(Config{TimeLock: T})
	_, isNew := tr.Evidence(t0, netip.MustParseAddr("::ffff:10.0.1.2"), "fasttrack", 1, nil, "")
	if !isNew {
		t.Fatal("first evidence not new")
	}
	if _, isNew := tr.Evidence(t0, c1, "fasttrack", 1, nil, ""); isNew {
		t.Error("10.0.1.2 and ::ffff:10.0.1.2 tracked as two clients")
	}
	if _, isNew := tr.Evidence(t0, netip.MustParseAddr("fe80::1%eth0"), "fasttrack", 1, nil, ""); !isNew {
		t.Error("link-local not new")
	}
	if _, ok := tr.Get(netip.MustParseAddr("fe80::1")); !ok {
		t.Error("zone not dropped")
	}
	if _, isNew := tr.Evidence(t0, netip.Addr{}, "fasttrack", 1, nil, ""); isNew || tr.Len() != 2 {
		t.Error("invalid address tracked")
	}
	if tr.Forget(c2) {
		t.Error("Forget of an unknown client = true")
	}
	got := tr.Clients(nil)
	if len(got) != 2 {
		t.Errorf("Clients = %v", got)
	}
}

func TestClockStepBackKeepsLaterEvidence(t *testing.T) {
	tr := New(Config{TimeLock: T})
	tr.Evidence(t0.Add(time.Minute), c1, "fasttrack", 1, nil, "")
	c, _ := tr.Evidence(t0, c1, "fasttrack", 1, nil, "")
	if !c.LastEvidence.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastEvidence moved back to %v", c.LastEvidence)
	}
}

// model is the obvious O(n) implementation of the same rules; the tracker
// must agree with it under random operations.
type modelClient struct {
	last   time.Time
	port   uint16
	probed bool
}

func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const lock = 10 * time.Second
	tr := New(Config{TimeLock: lock})
	model := map[netip.Addr]*modelClient{}
	addrs := make([]netip.Addr, 40)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})
		if i%2 == 1 {
			addrs[i] = netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i)})
		}
	}
	now := t0
	for i := 0; i < 20000; i++ {
		now = now.Add(time.Duration(rng.IntN(700)) * time.Millisecond)
		a := addrs[rng.IntN(len(addrs))]
		switch op := rng.IntN(10); {
		case op < 4:
			port := uint16(rng.IntN(3)) // 0 = unknown
			tr.Evidence(now, a, "fasttrack", port, nil, "")
			m, ok := model[a]
			if !ok {
				m = &modelClient{}
				model[a] = m
			}
			m.last, m.probed = now, false
			if port != 0 {
				m.port = port
			}
		case op < 5:
			rem := time.Duration(rng.IntN(int(lock/time.Millisecond))+1) * time.Millisecond
			tr.Restore(now, a, rem)
			last := now.Add(-(lock - rem))
			if m, ok := model[a]; !ok {
				model[a] = &modelClient{last: last}
			} else if last.After(m.last) {
				m.last, m.probed = last, false
			}
		case op < 7:
			var want []netip.Addr
			for addr, m := range model {
				if m.port != 0 && !m.probed && !now.Before(m.last.Add(lock/2)) && now.Before(m.last.Add(lock)) {
					want = append(want, addr)
					m.probed = true
				}
			}
			var got []netip.Addr
			for _, p := range tr.Due(now, nil) {
				got = append(got, p.Addr)
			}
			assertSameSet(t, i, "Due", got, want)
		default:
			var want []netip.Addr
			for addr, m := range model {
				if !now.Before(m.last.Add(lock)) {
					want = append(want, addr)
					delete(model, addr)
				}
			}
			var got []netip.Addr
			for _, c := range tr.Expire(now, nil) {
				got = append(got, c.Addr)
			}
			assertSameSet(t, i, "Expire", got, want)
		}
		n6 := 0
		for a := range model {
			if a.Is6() {
				n6++
			}
		}
		if tr.Len() != len(model) || tr.Len6() != n6 {
			t.Fatalf("op %d: Len %d Len6 %d, model %d and %d", i, tr.Len(), tr.Len6(), len(model), n6)
		}
		// NextEvent must never overshoot a deadline of the model.
		next := tr.NextEvent(now)
		for addr, m := range model {
			d := m.last.Add(lock).Sub(now)
			if m.port != 0 && !m.probed {
				d = min(d, m.last.Add(lock/2).Sub(now))
			}
			if max(d, 0) < next {
				t.Fatalf("op %d: NextEvent %v overshoots %v's deadline in %v", i, next, addr, d)
			}
		}
	}
}

func assertSameSet(t *testing.T, op int, what string, got, want []netip.Addr) {
	t.Helper()
	slices.SortFunc(got, netip.Addr.Compare)
	slices.SortFunc(want, netip.Addr.Compare)
	if !slices.Equal(got, want) {
		t.Fatalf("op %d: %s = %v, model says %v", op, what, got, want)
	}
}

func BenchmarkEvidence100k(b *testing.B) {
	const n = 100_000
	tr := New(Config{TimeLock: T})
	addrs := make([]netip.Addr, n)
	now := t0
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tr.Evidence(now, addrs[i], "fasttrack", 1214, []byte("KaZaA"), "ping")
		now = now.Add(time.Microsecond)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	net := []byte("KaZaA")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		tr.Evidence(now, addrs[rng.IntN(n)], "fasttrack", 1214, net, "ping")
	}
	if tr.Len() != n {
		b.Fatal(fmt.Sprint("Len ", tr.Len()))
	}
}

func TestSetProbeTargetMakesRestoredClientProbeable(t *testing.T) {
	const lock = 120 * time.Second
	tr := New(Config{TimeLock: lock})
	now := time.Unix(1_000_000, 0)
	a := netip.MustParseAddr("10.0.1.2")
	tr.Restore(now, a, 100*time.Second) // last evidence 20s ago: probe due at +40s
	if got := tr.Due(now.Add(time.Hour/2), nil); len(got) != 0 {
		t.Fatalf("restored client without port probed: %+v", got)
	}
	if tr.SetProbeTarget(netip.MustParseAddr("10.0.1.9"), "fasttrack", 1214, nil) {
		t.Error("SetProbeTarget on an unknown client reported true")
	}
	if tr.SetProbeTarget(a, "fasttrack", 0, nil) {
		t.Error("SetProbeTarget with port 0 reported true")
	}
	if !tr.SetProbeTarget(a, "fasttrack", 3456, []byte("fileshare")) {
		t.Fatal("SetProbeTarget on a restored client reported false")
	}
	c, _ := tr.Get(a)
	if c.LastEvidence != now.Add(-20*time.Second) || c.Port != 3456 || c.Tag != "fileshare" {
		t.Fatalf("client after SetProbeTarget: %+v", c)
	}
	if got := tr.Due(now.Add(39*time.Second), nil); len(got) != 0 {
		t.Fatalf("probe before T/2: %+v", got)
	}
	got := tr.Due(now.Add(40*time.Second), nil)
	if len(got) != 1 || got[0].Port != 3456 || got[0].Tag != "fileshare" || got[0].Protocol != "fasttrack" {
		t.Fatalf("probe at T/2: %+v", got)
	}
}
