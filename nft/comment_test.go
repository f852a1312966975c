package nft

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/nftables/userdata"
)

func TestCommentUserData(t *testing.T) {
	text := "drop-to-peers4: LAN to blocked IPv4 peer, drop [ftwall 0123456789ab]"
	b, err := commentUserData(text)
	if err != nil {
		t.Fatal(err)
	}
	// Same TLV as nft and libnftnl write.
	if want := userdata.AppendString(nil, userdata.TypeComment, text); !bytes.Equal(b, want) {
		t.Errorf("userdata %x, want %x", b, want)
	}
	got, ok := commentFromUserData(b)
	if !ok || got != text {
		t.Errorf("commentFromUserData = %q %v", got, ok)
	}
	// A comment after another TLV is found; truncated data is not.
	other := append([]byte{7, 2, 'x', 'y'}, b...)
	if got, ok := commentFromUserData(other); !ok || got != text {
		t.Errorf("after another TLV: %q %v", got, ok)
	}
	if _, ok := commentFromUserData(b[:len(b)-1]); ok {
		t.Error("truncated userdata accepted")
	}
	if _, ok := commentFromUserData(nil); ok {
		t.Error("empty userdata has a comment")
	}
	if _, err := commentUserData(strings.Repeat("x", maxCommentLen+1)); err == nil {
		t.Error("overlong comment accepted")
	}
	if _, err := commentUserData("a\x00b"); err == nil {
		t.Error("comment with NUL accepted")
	}
}

func TestParseRuleComment(t *testing.T) {
	c := ruleComment{ID: RuleLock4, Description: "new TCP of time-locked IPv4 client to WAN, reject with TCP reset", Fingerprint: "abcdef012345"}
	got, ok := parseRuleComment(c.String())
	if !ok || got != c {
		t.Errorf("round trip %+v %v", got, ok)
	}
	for _, bad := range []string{
		"", "no colon [ftwall x]", ": desc [ftwall x]", "id: desc", "id: desc [ftwall ]",
		"id: desc [ftwall x", "two words: desc [ftwall x]", "id: desc [ftwall a b]",
	} {
		if c, ok := parseRuleComment(bad); ok {
			t.Errorf("parseRuleComment(%q) = %+v", bad, c)
		}
	}
}

func FuzzCommentFromUserData(f *testing.F) {
	good, _ := commentUserData("queue-ping: x [ftwall 1]")
	for _, s := range [][]byte{nil, {0}, {0, 5, 'a'}, good, {1, 0, 0, 1, 0}, {0, 255}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		text, ok := commentFromUserData(b)
		if !ok {
			return
		}
		if len(text) > 255 || strings.IndexByte(text, 0) >= 0 {
			t.Fatalf("comment %q from %x", text, b)
		}
		if c, ok := parseRuleComment(text); ok {
			if c.String() != text {
				t.Fatalf("parsed %q as %+v, which renders as %q", text, c, c.String())
			}
		}
	})
}

func FuzzParseRuleComment(f *testing.F) {
	for _, s := range []string{"queue-ping: FastTrack [ftwall 0123]", "x: [ftwall y]", "", ": [ftwall ]", "a: b [ftwall c] [ftwall d]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseRuleComment(s)
		if !ok {
			return
		}
		if c.ID == "" || c.Fingerprint == "" || c.String() != s {
			t.Fatalf("parseRuleComment(%q) = %+v", s, c)
		}
	})
}
