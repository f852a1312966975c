package share

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestKeyRoundTrip(t *testing.T) {
	for _, s := range []string{"198.51.100.7", "2001:db8::1", "2001:db8:100::20", "::ffff:198.51.100.7"} {
		a := netip.MustParseAddr(s)
		k := Key(a)
		if strings.Contains(k, ":") {
			t.Errorf("Key(%s) = %q holds ':'", a, k)
		}
		got, err := ParseKey(k)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", k, err)
		}
		if got != a.Unmap() {
			t.Errorf("ParseKey(Key(%s)) = %s", a, got)
		}
	}
	for _, k := range []string{"", "x", "2001_0db8__1", "198.51.100.007", "fe80__1%eth0", "198.51.100.7.", strings.Repeat("1", 100)} {
		if a, err := ParseKey(k); err == nil {
			t.Errorf("ParseKey(%q) = %s, want an error", k, a)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	stored := time.Unix(1_800_000_000, 0)
	in := Entry{Kind: KindLock, Addr: netip.MustParseAddr("10.0.1.2"), Timeout: 120 * time.Second,
		Protocol: "bittorrent", Reason: "dht get_peers", Gateway: "gw-a", Probe: "proto=bittorrent port=6881"}
	v, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(KindLock, Key(in.Addr), v, stored, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	in.Stored, in.Revision = stored, 7
	if out != in {
		t.Errorf("Decode(Encode(e)) = %+v, want %+v", out, in)
	}
	del, err := Decode(KindPeer, "2001_db8__1", nil, stored, 8, true)
	if err != nil || !del.Deleted || del.Addr != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("deletion: %+v, %v", del, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	key := "198.51.100.7"
	for name, v := range map[string]string{
		"not JSON":          `hello`,
		"wrong version":     `{"v":2,"timeout":60}`,
		"no version":        `{"timeout":60}`,
		"negative timeout":  `{"v":1,"timeout":-1}`,
		"huge timeout":      `{"v":1,"timeout":9999999999999}`,
		"bad protocol":      `{"v":1,"timeout":60,"protocol":"Fast Track"}`,
		"control in reason": "{\"v\":1,\"timeout\":60,\"reason\":\"a\\u0007b\"}",
		"bad gateway":       `{"v":1,"timeout":60,"gateway":"gw a"}`,
		"long probe":        `{"v":1,"timeout":60,"probe":"` + strings.Repeat("p", 300) + `"}`,
		"too large":         `{"v":1,"timeout":60,"reason":"` + strings.Repeat("r", 2000) + `"}`,
		"array":             `[1,2]`,
	} {
		if e, err := Decode(KindPeer, key, []byte(v), time.Now(), 1, false); err == nil {
			t.Errorf("%s: Decode(%q) = %+v, want an error", name, v, e)
		}
	}
}

func TestRemaining(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := Entry{Timeout: time.Hour, Stored: now.Add(-10 * time.Minute)}
	if left, forever := e.Remaining(now, 0); forever || left != 50*time.Minute {
		t.Errorf("Remaining = %v %v, want 50m", left, forever)
	}
	if left, _ := e.Remaining(now, 20*time.Minute); left != 10*time.Minute {
		t.Errorf("bounded by the bucket TTL: %v, want 10m", left)
	}
	if left, _ := e.Remaining(now, 5*time.Minute); left > 0 {
		t.Errorf("older than the TTL: %v, want <= 0", left)
	}
	e.Stored = now.Add(time.Hour) // a server clock ahead of ours
	if left, _ := e.Remaining(now, 0); left != time.Hour {
		t.Errorf("future stored time: %v, want 1h", left)
	}
	e.Timeout = 0
	if _, forever := e.Remaining(now, 0); !forever {
		t.Error("timeout 0 and no TTL: want forever")
	}
	if left, forever := e.Remaining(now, time.Minute); forever || left != time.Minute {
		t.Errorf("timeout 0 with a TTL: %v %v, want the TTL", left, forever)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("198.51.100.7", []byte(`{"v":1,"timeout":60,"protocol":"fasttrack","reason":"ping","gateway":"gw-a"}`), false)
	f.Add("2001_db8__1", []byte(`{"v":1,"timeout":0}`), false)
	f.Add("10.0.1.2", []byte(`{"v":1,"timeout":120,"probe":"proto=fasttrack port=1214 tag=abc"}`), false)
	f.Add("198.51.100.7", []byte(nil), true)
	f.Add("x", []byte(`{`), false)
	f.Fuzz(func(t *testing.T, key string, value []byte, deleted bool) {
		e, err := Decode(KindPeer, key, value, time.Unix(0, 0), 1, deleted)
		if err != nil {
			return
		}
		if !e.Addr.IsValid() || Key(e.Addr) != key {
			t.Fatalf("accepted key %q as %v", key, e.Addr)
		}
		if !deleted {
			if err := e.check(); err != nil {
				t.Fatalf("accepted an entry over the limits: %v", err)
			}
			if _, err := Encode(e); err != nil {
				t.Fatalf("an accepted entry does not encode: %v", err)
			}
		}
	})
}

// FuzzDecodeWire holds the flat reader to encoding/json: whatever it
// accepts, encoding/json reads the same way.
func FuzzDecodeWire(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"timeout":60,"protocol":"fasttrack","reason":"ping","gateway":"gw-a"}`,
		` { "v" : 1 , "timeout" : 0 } `, `{}`, `{"v":1,"timeout":60,"probe":"proto=x port=1"}`,
		`{"V":1}`, `{"v":1.0}`, `{"v":01}`, `{"reason":"a\"b"}`, `{"v":1,"x":[1]}`, `{"v":1}x`, `{"v":-1}`,
		`{"v":1,"v":2}`, `{"timeout":1e3}`, `{"gateway":"\u00e9"}`, `{"v":999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast wire
		var in interner
		if err := decodeFlat(data, &fast, &in); err != nil {
			return
		}
		var slow wire
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("flat reader accepted %q, encoding/json refuses it: %v", data, err)
		}
		if fast != slow {
			t.Fatalf("%q: flat reader %+v, encoding/json %+v", data, fast, slow)
		}
	})
}
