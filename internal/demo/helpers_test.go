package demo

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/nft"
)

func TestAttemptSummary(t *testing.T) {
	atts := []ftsim.TCPAttempt{
		{Result: ftsim.ResultTimeout}, {Result: ftsim.ResultRefused}, {Result: ftsim.ResultTimeout},
		{Result: ftsim.ResultConnected}, {Result: ftsim.ResultError},
	}
	got := attemptSummary(atts)
	want := "1 refused (TCP reset), 2 no answer within 400ms (dropped), 1 CONNECTED, 1 failed otherwise"
	if got != want {
		t.Errorf("attemptSummary = %q; want %q", got, want)
	}
	if got := attemptSummary(nil); got != "none made" {
		t.Errorf("attemptSummary(nil) = %q", got)
	}
}

func TestSetHelpers(t *testing.T) {
	p4, p6 := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8:100::1")
	c4, c6 := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("fd00:1::2")
	other := netip.MustParseAddr("203.0.113.2")
	c := setContents{
		nft.SetPeers4:  {p4, other},
		nft.SetPeers6:  {p6},
		nft.SetLocked4: {c4, netip.MustParseAddr("10.0.2.2")},
	}
	if !allIn(c, []netip.Addr{p4, p6}, false) {
		t.Error("peers not found")
	}
	if allIn(c, []netip.Addr{c4, c6}, true) {
		t.Error("fd00:1::2 is not locked")
	}
	if m := missing(c, []netip.Addr{c4, c6, p4}, true); len(m) != 2 || m[0] != c6 || m[1] != p4 {
		t.Errorf("missing = %v; want [fd00:1::2 198.51.100.1] (p4 is no locked client)", m)
	}
	got := unexpected(c, []netip.Addr{p4, p6}, []netip.Addr{c4, c6})
	if strings.Join(got, "; ") != "203.0.113.2 in peers4; 10.0.2.2 in locked4" {
		t.Errorf("unexpected = %q", got)
	}
}

func TestDescribeFastTrackDownload(t *testing.T) {
	for _, c := range []struct {
		r       *ftsim.DownloadResult
		stopped bool
		text    string
	}{
		{nil, false, "no download made"},
		{&ftsim.DownloadResult{Result: ftsim.ResultConnected, Status: 200, StatusLine: "HTTP/1.1 200 OK", Bytes: 4096, Intact: true}, false, "GOT THROUGH"},
		{&ftsim.DownloadResult{Result: ftsim.ResultConnected, Status: 503, StatusLine: "HTTP/1.1 503 Busy"}, false, "GOT THROUGH"},
		{&ftsim.DownloadResult{Result: ftsim.ResultRefused}, true, "connect refused"},
		{&ftsim.DownloadResult{Result: ftsim.ResultConnected, Error: "read tcp 1->2: i/o timeout"}, true, "never answered (i/o timeout)"},
	} {
		stopped, text := describeFastTrackDownload(c.r)
		if stopped != c.stopped || !strings.Contains(text, c.text) {
			t.Errorf("%+v: %v %q; want %v and %q", c.r, stopped, text, c.stopped, c.text)
		}
	}
	r := &ftsim.DownloadResult{Request: "GET /.hash=a9993e364706816aba3e25717850c26c9cd0d89d HTTP/1.1"}
	if got := requestText(r); got != "GET /.hash=a9993e36…" {
		t.Errorf("requestText = %q", got)
	}
}

func TestCounterSection(t *testing.T) {
	status := "table inet ftwall: present, queue backend: compat\n\nSET  ELEMENTS\npeers4  3\n\nCOUNTER  PACKETS  BYTES\ndropped to peers  1  60\n"
	if got := counterSection(status); got != "COUNTER  PACKETS  BYTES\ndropped to peers  1  60" {
		t.Errorf("counterSection = %q", got)
	}
	if got := counterSection("table inet ftwall: absent\n"); got != "table inet ftwall: absent" {
		t.Errorf("counterSection without counters = %q", got)
	}
}

func TestSmallFormatters(t *testing.T) {
	if got := sizeText(65536); got != "64 KiB" {
		t.Errorf("sizeText(65536) = %q", got)
	}
	if got := sizeText(4 << 20); got != "4 MiB" {
		t.Errorf("sizeText(4 MiB) = %q", got)
	}
	if got := sizeText(1000); got != "1000 bytes" {
		t.Errorf("sizeText(1000) = %q", got)
	}
	if got := shortErr(errors.New("dial tcp 1.2.3.4:80: connect: connection refused")); got != "connection refused" {
		t.Errorf("shortErr = %q", got)
	}
	if got := shortErr(nil); got != "no error" {
		t.Errorf("shortErr(nil) = %q", got)
	}
	if v4, v6 := countFamilies([]netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2")}); v4 != 2 || v6 != 1 {
		t.Errorf("countFamilies = %d, %d", v4, v6)
	}
	if len(fileBody()) != fileSize || len(dnsQuery()) < 12 {
		t.Error("ordinary payloads have the wrong size")
	}
}

func TestReadyQueues(t *testing.T) {
	text := "    0  17497     0 2  4096     0     0       30  1\n" +
		"    7  1 0 2 4096 0 0 0 1\n" +
		"    3  1 0 0 0 0 0 0 1\n" + // bound, copy mode not set yet
		"bogus line 2\n99999 1 0 2\n"
	got := readyQueues(text)
	if len(got) != 2 || got[0] != 0 || got[1] != 7 {
		t.Errorf("readyQueues = %v; want [0 7]", got)
	}
	if got := readyQueues(""); len(got) != 0 {
		t.Errorf("readyQueues(\"\") = %v", got)
	}
}
