package oneline

import (
	"bytes"
	"testing"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  udp ping to peer ":       "udp ping to peer",
		"a\nb\r\nc\x00d":            "a?b??c?d",
		"réseau\xffünïcode\t":       "réseau?ünïcode?", // a tab is a control character
		"\u0085next line":           "?next line",
		"":                          "",
		"\u00a0 nbsp around \u00a0": "nbsp around",
	} {
		got := Clean([]byte(in))
		if string(got) != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
		if again := Clean(got); !bytes.Equal(again, got) {
			t.Errorf("Clean is not idempotent on %q: %q", got, again)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add([]byte("X-Kazaa header\r\n\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Clean(b)
		if bytes.ContainsAny(got, "\n\r\x00") {
			t.Fatalf("Clean(%q) = %q keeps a line break or NUL", b, got)
		}
		if again := Clean(got); !bytes.Equal(again, got) {
			t.Fatalf("not idempotent: %q → %q → %q", b, got, again)
		}
	})
}
