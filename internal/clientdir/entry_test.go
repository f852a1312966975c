package clientdir

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{"addr=10.0.1.2\n", ""},
		{"addr = 10.0.1.2\r\nfuture_key=whatever\n# comment\n\n", ""},
		{"port=1\n", "no addr"},
		{"addr=10.0.1.2\nport=65536\n", "line 2: port"},
		{"addr=10.0.1.2\nfirst_seen=yesterday\n", "line 2: first_seen"},
		{"addr=10.0.1.2\nexpires=9999-12-31T23:59:59-23:59\n", "out of range"},
		{"addr=10.0.1.256\n", "line 1: addr"},
		{"addr=10.0.1.2\njunk\n", `line 2: "junk" is not key=value`},
		{"addr=10.0.1.2\nreason=" + strings.Repeat("x", 70000) + "\n", "too long"},
	} {
		_, err := ParseEntry([]byte(tc.in))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParseEntry(%.40q) = %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseEntry(%.40q) = %v, want error containing %q", tc.in, err, tc.wantErr)
		}
	}
	e, _ := ParseEntry([]byte("addr=::ffff:10.0.1.2\nreason=a\x01b \n"))
	if e.Addr != netip.MustParseAddr("10.0.1.2") || e.Reason != "a?b" {
		t.Errorf("normalization: %+v", e)
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(string(appendEntry(nil, entry("10.0.1.2", 0, "udp ping")))))
	f.Add([]byte("addr=fd00::1\nport=0\nfirst_seen=2024-05-01T12:00:00.5+02:00\nreason=\xff\x00 x\n"))
	f.Add([]byte("addr=10.0.1.2\nexpires=0001-01-01T00:00:00.5Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry(data)
		if err != nil {
			return
		}
		out := appendEntry(nil, e)
		e2, err := ParseEntry(out)
		if err != nil {
			t.Fatalf("formatted entry does not parse: %v\n%s", err, out)
		}
		tr := func(t time.Time) time.Time { return t.Truncate(time.Second) }
		if e2.Addr != e.Addr || e2.Port != e.Port || e2.Network != e.Network || e2.Reason != e.Reason ||
			!e2.FirstSeen.Equal(tr(e.FirstSeen)) || !e2.LastEvidence.Equal(tr(e.LastEvidence)) || !e2.Expires.Equal(tr(e.Expires)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", e2, e)
		}
	})
}
