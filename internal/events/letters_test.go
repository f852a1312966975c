package events

import (
	"strings"
	"testing"
)

func TestParseLetters(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Mask
		wantErr string
	}{
		{"", 0, ""},
		{"u", UDPDropped, ""},
		{"U", UDPAccepted, ""},
		{"t", TCPDropped, ""},
		{"T", TCPAccepted, ""},
		{"c", Clients, ""},
		{"p", Peers, ""},
		{"uUtTcp", All, ""},
		{"pcpc", Clients | Peers, ""},
		{"all", All, ""},
		{" ALL ", All, ""},
		{"ux", 0, `unknown log letter 'x' in "ux"`},
		{"C", 0, `unknown log letter 'C'`},
		{"u,c", 0, `unknown log letter ','`},
		{"ü", 0, `unknown log letter 'ü'`},
		{"allp", 0, `unknown log letter 'a'`},
	} {
		got, err := ParseLetters(tc.in)
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseLetters(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseLetters(%q) error = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestMaskString(t *testing.T) {
	if s := All.String(); s != "uUtTcp" {
		t.Errorf("All = %q", s)
	}
	if s := (Peers | UDPDropped).String(); s != "up" {
		t.Errorf("%q", s)
	}
	if Mask(0).String() != "" || Mask(0).Has(0) || All.Has(0) {
		t.Error("empty mask")
	}
	if !(Clients | Peers).Has(Clients) || Clients.Has(Clients|Peers) {
		t.Error("Has")
	}
}

func FuzzParseLetters(f *testing.F) {
	for _, s := range []string{"", "uUtTcp", "all", "x", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseLetters(s)
		if err != nil {
			if m != 0 {
				t.Fatalf("error with mask %v", m)
			}
			return
		}
		if m&^All != 0 {
			t.Fatalf("mask %b has unknown bits", m)
		}
		m2, err := ParseLetters(m.String())
		if err != nil || m2 != m {
			t.Fatalf("String %q reparses as %v, %v", m.String(), m2, err)
		}
	})
}
