package lab

import (
	"fmt"
	"strings"
	"testing"
)

func TestPrefixFrom(t *testing.T) {
	for in, want := range map[string]string{
		"TestRuleset/locked_v6":            "testrulesetlockedv6",
		"":                                 DefaultPrefix,
		"///":                              DefaultPrefix,
		strings.Repeat("Ab9", 20):          strings.Repeat("ab9", 8),
		"TestÜmlaut-Name_With.Punctuation": "testmlautnamewithpunctua",
	} {
		got := PrefixFrom(in)
		if got != want {
			t.Errorf("PrefixFrom(%q) = %q, want %q", in, got, want)
		}
		if err := checkPrefix(got); err != nil {
			t.Errorf("PrefixFrom(%q) = %q is not a valid prefix: %v", in, got, err)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, bad := range []string{"", "Upper", "with-dash", "a/b", strings.Repeat("a", 25)} {
		if checkPrefix(bad) == nil {
			t.Errorf("checkPrefix(%q) accepted a bad prefix", bad)
		}
	}
	if err := checkPrefix("ftlab2"); err != nil {
		t.Errorf("checkPrefix(ftlab2): %v", err)
	}
}

func TestParseNSName(t *testing.T) {
	n := nsName{Prefix: "ftlab", PID: 4242, Tag: "0a1b2c", Role: RoleClient2}
	got, ok := parseNSName(n.String())
	if !ok || got != n {
		t.Fatalf("parseNSName(%q) = %+v, %v; want %+v", n.String(), got, ok, n)
	}
	for _, bad := range []string{
		"", "ftlab", "ftlab-1-0a1b2c", "ftlab-1-0a1b2c-server", "ftlab-01-0a1b2c-client",
		"ftlab-0-0a1b2c-client", "ftlab--1-0a1b2c-client", "ftlab-1-0A1B2C-client",
		"ftlab-1-0a1b2-client", "FT-1-0a1b2c-client", "ftlab-1-0a1b2c-client-x",
		"ftlab-99999999999999999999-0a1b2c-client", "cni-1234-abcd",
		"ftlab-1-0a1b2c-nats", "ftlab-1-0a1b2c-nats0", "ftlab-1-0a1b2c-nats01", "ftlab-1-0a1b2c-nats10",
		"ftlab-1-0a1b2c-nats-1", "ftlab-1-0a1b2c-Core", "ftlab-1-0a1b2c-cores",
	} {
		if n, ok := parseNSName(bad); ok {
			t.Errorf("parseNSName(%q) = %+v, want no match", bad, n)
		}
	}
	for _, role := range []string{RoleCore, NATSRole(1), NATSRole(3), NATSRole(maxNATSNodes)} {
		n := nsName{Prefix: "ftlab", PID: 4242, Tag: "0a1b2c", Role: role}
		if got, ok := parseNSName(n.String()); !ok || got != n {
			t.Errorf("parseNSName(%q) = %+v, %v; want %+v", n.String(), got, ok, n)
		}
	}
	if len(newTag()) != 6 {
		t.Errorf("newTag() = %q, want 6 hex digits", newTag())
	}
}

func FuzzParseNSName(f *testing.F) {
	f.Add("ftlab-4242-0a1b2c-router")
	f.Add("x-1-ffffff-internet")
	f.Add("a--b")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseNSName(s)
		if !ok {
			return
		}
		if n.String() != s {
			t.Fatalf("parseNSName(%q) = %+v, which prints as %q", s, n, n.String())
		}
		if checkNSName(s) != nil {
			t.Fatalf("parsed lab name %q is not a valid namespace name", s)
		}
	})
}

func TestAddressingMatchesDesign(t *testing.T) {
	l := newAddressing()
	if len(l.Peers4) != NumPeers || len(l.Peers6) != NumPeers {
		t.Fatalf("%d IPv4 and %d IPv6 peers, want %d each", len(l.Peers4), len(l.Peers6), NumPeers)
	}
	for i := range NumPeers {
		if want := fmt.Sprintf("198.51.100.%d", i+1); l.Peers4[i].String() != want {
			t.Errorf("Peers4[%d] = %s, want %s", i, l.Peers4[i], want)
		}
		if want := fmt.Sprintf("2001:db8:100::%x", i+1); l.Peers6[i].String() != want {
			t.Errorf("Peers6[%d] = %s, want %s", i, l.Peers6[i], want)
		}
	}
	s := l.String()
	for _, want := range []string{"client (none) (10.0.1.2, fd00:1::2)", "client2 (none) (10.0.2.2, fd00:2::2)",
		"lan0 10.0.1.1 fd00:1::1", "lan1 10.0.2.1 fd00:2::1", "wan0 203.0.113.1 2001:db8:1::1",
		"(203.0.113.2, 2001:db8:1::2", "198.51.100.1–198.51.100.32", "2001:db8:100::1–2001:db8:100::20"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q lacks %q", s, want)
		}
	}
	if fmt.Sprint(l.LANIfs) != "[lan0 lan1]" || fmt.Sprint(l.WANIfs) != "[wan0]" {
		t.Errorf("LANIfs %v, WANIfs %v; want [lan0 lan1], [wan0]", l.LANIfs, l.WANIfs)
	}
}
