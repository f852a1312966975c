package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tftwall\nVmPeak:\t 1265000 kB\nVmHWM:\t   34120 kB\nVmRSS:\t   30000 kB\n"
	got, err := ParseVmHWM([]byte(status))
	if err != nil || got != 34120*1024 {
		t.Fatalf("ParseVmHWM = %d, %v; want %d", got, err, 34120*1024)
	}
	for _, bad := range []string{"", "Name: x\n", "VmHWM:\t 12 MB\n", "VmHWM: x kB\n", "VmHWM: 99999999999999999999 kB\n"} {
		if v, err := ParseVmHWM([]byte(bad)); err == nil {
			t.Errorf("ParseVmHWM(%q) = %d; want an error", bad, v)
		}
	}
}

func TestParseIperf3(t *testing.T) {
	ok := `{"start":{},"intervals":[],"end":{"sum_sent":{"bits_per_second":9.5e9},"sum_received":{"bits_per_second":9.41e9}}}`
	if v, err := ParseIperf3([]byte(ok)); err != nil || v != 9.41e9 {
		t.Fatalf("ParseIperf3 = %v, %v; want 9.41e9", v, err)
	}
	for _, c := range []struct{ in, errText string }{
		{`{"error":"unable to connect to server: Connection refused"}`, "Connection refused"},
		{`{"end":{}}`, "no end.sum_received"},
		{`not json`, "not JSON"},
		{`{"end":{"sum_received":{"bits_per_second":-1}}}`, "invalid rate"},
	} {
		_, err := ParseIperf3([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.errText) {
			t.Errorf("ParseIperf3(%q) error %v; want one mentioning %q", c.in, err, c.errText)
		}
	}
}

func TestLogAttr(t *testing.T) {
	log := `time=2026-01-01T00:00:00Z level=INFO msg="ruleset applied" table="inet ftwall" backend=compat
time=2026-01-01T00:00:01Z level=INFO msg="storefile loaded" file=/tmp/x/peers.store peers=1000000 took=1.234s
time=2026-01-01T00:00:01Z level=INFO msg=inspecting queues=0..0
`
	if got := LogAttr(log, "storefile loaded", "peers"); got != "1000000" {
		t.Errorf("peers = %q", got)
	}
	if d, ok := LogDuration(log, "storefile loaded", "took"); !ok || d != 1234*time.Millisecond {
		t.Errorf("took = %v, %v; want 1.234s", d, ok)
	}
	if got := LogAttr(log, "inspecting", "queues"); got != "0..0" {
		t.Errorf("queues = %q", got)
	}
	if got := LogAttr(log, "ruleset applied", "missing"); got != "" {
		t.Errorf("missing attribute = %q; want empty", got)
	}
	if _, ok := LogDuration(log, "inspecting", "queues"); ok {
		t.Error("queues=0..0 parsed as a duration")
	}
	if got := LogAttr(log, "stopped", "peers"); got != "" {
		t.Errorf("absent message gave %q", got)
	}
	// The attribute must come from the message's own line, after msg.
	if got := LogAttr("a=1 msg=x b=2\nmsg=y a=3\n", "y", "a"); got != "3" {
		t.Errorf("LogAttr took %q from the wrong line", got)
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"./bin/ftwall", "run", "--log", "", "--name", "it's here", "a b"})
	want := `./bin/ftwall run --log '' --name 'it'\''s here' 'a b'`
	if got != want {
		t.Errorf("ShellQuote = %s; want %s", got, want)
	}
}

func TestStatusCount(t *testing.T) {
	out := `{"present":true,"backend":"compat","sets":[{"name":"peers4","count":3},{"name":"peers6","count":1000000}]}`
	if n, err := statusCount([]byte(out), "peers6"); err != nil || n != 1000000 {
		t.Errorf("statusCount = %d, %v", n, err)
	}
	if _, err := statusCount([]byte(`{"present":false}`), "peers6"); err == nil {
		t.Error("absent table: want an error")
	}
	if _, err := statusCount([]byte(out), "locked4"); err == nil {
		t.Error("missing set: want an error")
	}
}

func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("VmHWM:\t   34120 kB\n"))
	f.Add([]byte("VmHWM: 1 kB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVmHWM(b)
		if err == nil && v%1024 != 0 {
			t.Errorf("ParseVmHWM(%q) = %d: not whole kB", b, v)
		}
	})
}

func FuzzParseIperf3(f *testing.F) {
	f.Add([]byte(`{"end":{"sum_received":{"bits_per_second":9.41e9}}}`))
	f.Add([]byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseIperf3(b)
		if err == nil && (v < 0 || v != v) {
			t.Errorf("ParseIperf3(%q) = %v", b, v)
		}
	})
}

func FuzzLogAttr(f *testing.F) {
	f.Add("msg=\"storefile loaded\" peers=3 took=1s\n", "storefile loaded", "took")
	f.Add("msg=inspecting", "inspecting", "queues")
	f.Fuzz(func(t *testing.T, log, msg, key string) {
		v := LogAttr(log, msg, key)
		if v != "" && !strings.Contains(log, key+"="+v) {
			t.Errorf("LogAttr returned %q, which is not %s=… in the log", v, key)
		}
		LogDuration(log, msg, key)
	})
}
